"""Frozen features, extracted once: the one feature extractor of every protocol and tool.

:func:`extract` runs the frozen model over a data set and stores, for every feature level
the model returns, the pooled (N, D) features and the labels, in shards on disk;
:class:`FeatureSet` reads them back, memory-mapped, in data set order.

* **Levels.** ``model.extract_feat`` gives one map per backbone level (``out_indices``)
  or, when the model has a neck, the neck's outputs; all levels come out of one pass.
* **Pooling** (:func:`pool`): ``'gap'`` global average pooling to (N, C);
  ``'budget:D'`` average pooling of (N, C, H, W) to the largest s x s grid with
  C*s*s <= D, flattened; ``'none'`` the maps as they are, flattened to (N, C*H*W)
  (:meth:`FeatureSet.map_shape` gives (C, H, W) back); ``'neck'`` the model's outputs
  as they are (already flat).
* **Storage**: float32 or float16 (``dtype``).
* **Distributed**: each process extracts its contiguous share of the images and writes
  its own shards; nothing gathers the features in one process. Shards of at most
  ``shard_size`` images are named by the image range they hold, so a reader finds the
  data set order from the names alone.
* **Cache and resume**: the folder is ``CACHE/<key>``, the key the sha256 of what
  determines the features (:func:`key_parts`: the weights' sha256 or random seed, the
  model, the images and their pipeline, the pooling, the dtype). Every shard is written
  into a temporary folder and renamed into place with a manifest of its files' sizes and
  sha256, so a shard that is there is whole; an extraction that was stopped extracts only
  the shards that are missing. A shard whose files do not match its manifest (truncated,
  damaged) is named, removed and extracted again, never read. ``index.json``, written
  last, lists the shards of a finished extraction.

Layout of ``CACHE/<key>/``::

    key.json                           what the key covers, in words
    shard-000000000-000050000/         images [0, 50000)
        level0.npy level1.npy ...      (n, D) features of each level
        labels.npy                     (n,) classes, or (n, C) targets
        manifest.json                  sizes and sha256 of the files above
    index.json                         the shards, in order; written last
"""
import hashlib
import json
import math
import os
import os.path as osp
import re
import shutil
import sys
import time
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import default_collate

from ..fileio import file_sha256, temporary_path, write_atomically
from .progress import Progress

#: The version of the layout and of what a key covers; a change makes new keys.
FORMAT = 2
#: Images per shard at most (a shard of 50,000 ImageNet images at 2,048 fp16 is 205 MB).
SHARD_SIZE = 50000
DTYPES = ('float32', 'float16')
SHARD_NAME = re.compile(r'^shard-(\d{9})-(\d{9})$')


class CorruptShardError(ValueError):
    """A shard whose files do not match its manifest, or cannot be read."""


# ----------------------------------------------------------------------------- pooling
def check_pooling(pooling: str) -> str:
    """``pooling`` if it is ``'gap'``, ``'none'``, ``'neck'`` or ``'budget:D'`` (D > 0),
    else ValueError naming the accepted forms."""
    if pooling in ('gap', 'none', 'neck') or re.fullmatch(r'budget:[1-9]\d*', pooling or ''):
        return pooling
    raise ValueError(f"pooling {pooling!r}: use 'gap', 'none', 'neck' or 'budget:D' (at "
                     'most D values per image, e.g. budget:9216)')


def pool(feature_map: torch.Tensor, pooling: str) -> torch.Tensor:
    """(N, C, H, W) or (N, D) -> (N, D') as ``pooling`` says (see the module docstring);
    (N, D) inputs pass through."""
    if feature_map.dim() == 2 or pooling in ('neck', 'none'):
        return feature_map.flatten(1)
    if pooling == 'gap':
        return feature_map.mean(dim=(2, 3))
    budget = int(pooling.split(':')[1])
    channels, height = feature_map.shape[1], feature_map.shape[2]
    side = max(1, min(height, math.isqrt(max(1, budget // channels))))
    return F.adaptive_avg_pool2d(feature_map, side).flatten(1)


# --------------------------------------------------------------------------------- key
def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value):
    """A config (mmengine ConfigDict) as plain dicts and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def weights_identity(checkpoint: Optional[str], seed: Optional[int]) -> str:
    """``sha256:<hex>`` of the checkpoint file, or ``random-seed-S`` without one (then
    ``seed`` is required: ValueError otherwise)."""
    if checkpoint is not None:
        return 'sha256:' + file_sha256(checkpoint)
    if seed is None:
        raise ValueError('features of a randomly initialised model need its seed (pass '
                         'seed=S, or the checkpoint it was loaded from)')
    return f'random-seed-{int(seed)}'


def model_identity(model, model_cfg=None) -> Dict:
    """What of ``model`` besides its weights shapes its features: class, module tree,
    data preprocessor, levels, and the sha256 of ``model_cfg`` (a dict) when given."""
    preprocessor = model.data_preprocessor
    buffers = {name: buf.flatten().tolist() for name, buf in preprocessor.named_buffers()}
    return dict(
        type=type(model).__name__,
        modules=_sha256_text(repr(model)),
        preprocessor=dict(type=type(preprocessor).__name__, buffers=buffers,
                          channel_conversion=bool(getattr(preprocessor,
                                                          '_channel_conversion', False))),
        levels=list(getattr(model.backbone, 'out_indices', []) or []),
        config=None if model_cfg is None else
        _sha256_text(json.dumps(_plain(model_cfg), sort_keys=True, default=repr)))


def _under_root(path, root: Optional[str]):
    if not path:
        return path
    return osp.relpath(path, root) if root and osp.isabs(path) else osp.basename(path)


def images_identity(dataset) -> Dict:
    """Which images, read how: the data set's type, the base name of its root, its split,
    annotation file and prefixes (relative to the root), its index list (sha256), its size
    and the sha256 of its pipeline. Keys name no machine path."""
    root = getattr(dataset, 'data_root', None) or None
    indices = getattr(dataset, '_indices', None)
    if indices is not None and not isinstance(indices, int):
        listed = [int(i) for i in indices]
        indices = dict(count=len(listed), sha256=_sha256_text(json.dumps(listed)))
    prefixes = getattr(dataset, 'data_prefix', None) or {}
    pipeline = re.sub(r' at 0x[0-9a-fA-F]+', '', repr(getattr(dataset, 'pipeline', None)))
    return dict(type=type(dataset).__name__,
                data_root=osp.basename(osp.normpath(root)) if root else None,
                split=getattr(dataset, 'split', None),
                ann_file=_under_root(getattr(dataset, 'ann_file', None), root),
                data_prefix={k: _under_root(v, root) for k, v in sorted(prefixes.items())},
                indices=indices, size=len(dataset), pipeline=_sha256_text(pipeline))


def key_parts(model, dataset, checkpoint: Optional[str] = None, seed: Optional[int] = None,
              pooling: str = 'gap', dtype: str = 'float32', model_cfg=None) -> Dict:
    """Everything the key of an extraction covers (see the module docstring)."""
    return dict(format=FORMAT, weights=weights_identity(checkpoint, seed),
                model=model_identity(model, model_cfg), images=images_identity(dataset),
                pooling=check_pooling(pooling), dtype=dtype)


def cache_key(parts: Dict) -> str:
    """24 hex digits of the sha256 of ``parts`` (as sorted JSON)."""
    return _sha256_text(json.dumps(parts, sort_keys=True))[:24]


# ------------------------------------------------------------------------------ shards
def shard_ranges(num_images: int, rank: int = 0, world_size: int = 1,
                 shard_size: int = SHARD_SIZE) -> List[range]:
    """The image ranges process ``rank`` of ``world_size`` extracts: its contiguous share
    of ``range(num_images)`` (the first ``num_images % world_size`` shares one longer),
    cut into shards of at most ``shard_size`` images."""
    share, extra = divmod(num_images, world_size)
    start = rank * share + min(rank, extra)
    stop = start + share + (rank < extra)
    return [range(s, min(s + shard_size, stop)) for s in range(start, stop, shard_size)]


def shard_name(images: range) -> str:
    return f'shard-{images.start:09d}-{images.stop:09d}'


def _file_entry(path: str) -> Dict:
    array = np.load(path, mmap_mode='r')
    return dict(bytes=osp.getsize(path), sha256=file_sha256(path),
                shape=list(array.shape), dtype=str(array.dtype))


def check_shard(folder: str, verify_hash: bool = True) -> Dict:
    """The manifest of shard ``folder`` once every file it lists is there with its size
    (and sha256 when ``verify_hash``), and the feature and label files agree on their
    row count; CorruptShardError naming the folder or file at fault otherwise."""
    manifest_path = osp.join(folder, 'manifest.json')
    try:
        with open(manifest_path) as f:
            manifest = json.load(f)
        files = manifest['files']
    except (OSError, ValueError, KeyError) as e:
        raise CorruptShardError(f'{folder}: no readable manifest.json ({e})') from e
    for name, entry in files.items():
        path = osp.join(folder, name)
        size = osp.getsize(path) if osp.isfile(path) else None
        if size != entry['bytes']:
            raise CorruptShardError(f'{path}: {size} bytes, the manifest says '
                                    f'{entry["bytes"]} (truncated or missing)')
        if verify_hash and file_sha256(path) != entry['sha256']:
            raise CorruptShardError(f'{path}: its sha256 differs from the manifest\'s '
                                    '(the file is damaged)')
    rows = {name: entry['shape'][0] for name, entry in files.items()}
    if len(set(rows.values())) != 1:
        listed = ', '.join(f'{osp.join(folder, n)} has {r} rows' for n, r in rows.items())
        raise CorruptShardError(f'features and labels of different lengths: {listed}')
    return manifest


def _write_shard(folder: str, images: range, levels: Dict[int, np.ndarray],
                 labels: np.ndarray, map_shapes: Optional[Dict[int, list]] = None) -> None:
    """Write one shard: files into a temporary folder beside ``folder``, then the
    manifest, then one rename (a shard that is there is whole)."""
    temporary = temporary_path(folder)
    shutil.rmtree(temporary, ignore_errors=True)
    os.makedirs(temporary)
    arrays = {f'level{level}.npy': x for level, x in levels.items()}
    arrays['labels.npy'] = labels
    for name, array in arrays.items():
        with open(osp.join(temporary, name), 'wb') as f:
            np.save(f, array)
            f.flush()
            os.fsync(f.fileno())
    manifest = dict(start=images.start, stop=images.stop,
                    files={name: _file_entry(osp.join(temporary, name)) for name in arrays},
                    map_shapes={str(k): v for k, v in (map_shapes or {}).items()})
    write_atomically(osp.join(temporary, 'manifest.json'),
                     lambda f: f.write(json.dumps(manifest, indent=1)), binary=False)
    shutil.rmtree(folder, ignore_errors=True)
    os.rename(temporary, folder)


def dataset_labels(dataset, images: range) -> np.ndarray:
    """Labels of ``images``: (n,) int64 classes, or (n, C) int8 targets for a data set
    whose ``get_gt_labels`` gives a 2-D array (VOC07: 1 present, -1 absent, 0 difficult)."""
    if hasattr(dataset, 'get_gt_labels'):
        labels = np.asarray(dataset.get_gt_labels())
        if len(labels) == len(dataset):
            labels = labels[images.start:images.stop]
            return labels.astype(np.int8 if labels.ndim == 2 else np.int64)
    return np.asarray([int(np.asarray(dataset.get_data_info(i)['gt_label']).reshape(-1)[0])
                       for i in images], dtype=np.int64)


@torch.no_grad()
def extract_range(model, dataset, images: range, pooling: str, dtype: str,
                  batch_size: int = 256, num_workers: int = 0,
                  progress: Optional[str] = None,
                  map_shapes: Optional[Dict[int, list]] = None) -> Dict[int, np.ndarray]:
    """``{level: (len(images), D)}`` features of ``images`` of ``dataset``: each batch
    through ``model.data_preprocessor`` and ``model.extract_feat`` (eval mode, no
    gradients), pooled (:func:`pool`) and cast to ``dtype``. ``progress``: the start of a
    progress line with the time left (to stderr), or None for none. ``map_shapes``: a
    dict that gets each level's (C, H, W) before pooling."""
    model.eval()
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=images,
                                         num_workers=num_workers,
                                         collate_fn=default_collate)
    if progress:
        loader = Progress(loader, progress)
    parts: Dict[int, list] = {}
    for data in loader:
        data = model.data_preprocessor(data, training=False)
        for level, fmap in enumerate(model.extract_feat(data['inputs'])):
            if map_shapes is not None:
                map_shapes[level] = list(fmap.shape[1:])
            parts.setdefault(level, []).append(
                pool(fmap, pooling).float().cpu().numpy().astype(dtype, copy=False))
    return {level: np.concatenate(x) for level, x in parts.items()}


def _dist_info():
    from mmengine.dist import get_dist_info
    return get_dist_info()


def _barrier():
    from mmengine.dist import barrier
    barrier()


def extract(model, dataset, cache_dir: str, checkpoint: Optional[str] = None,
            seed: Optional[int] = None, pooling: str = 'gap', dtype: str = 'float32',
            model_cfg=None, batch_size: int = 256, num_workers: int = 0,
            shard_size: int = SHARD_SIZE, label: str = 'features',
            progress: bool = True) -> 'FeatureSet':
    """The features of every level of ``model`` on every image of ``dataset``, from the
    cache ``cache_dir`` or extracted into it (see the module docstring); with several
    processes (an initialised ``torch.distributed``) each extracts its share and every
    process returns the whole :class:`FeatureSet` once all shards are written.

    Args:
        model: the model whose ``extract_feat`` gives the features, on its device.
        dataset: a built data set with the evaluation pipeline (no augmentation).
        checkpoint: the file the weights came from; None for a random initialisation,
            which ``seed`` names.
        pooling: ``'gap'``, ``'budget:D'`` or ``'neck'`` (:func:`pool`).
        dtype: ``'float32'`` or ``'float16'``, the stored features' type.
        model_cfg: the model's config, made part of the key when given.
        shard_size: images per shard at most.
        label: what the progress lines call this extraction.
    """
    if dtype not in DTYPES:
        raise ValueError(f'feature dtype {dtype!r}: use one of {", ".join(DTYPES)}')
    if len(dataset) == 0:
        raise ValueError(f'{label}: the data set has no images')
    parts = key_parts(model, dataset, checkpoint, seed, pooling, dtype, model_cfg)
    folder = osp.join(cache_dir, cache_key(parts))
    rank, world_size = _dist_info()
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if progress and rank == 0 \
        else (lambda text: None)
    if osp.isfile(osp.join(folder, 'index.json')):
        try:
            features = FeatureSet(folder)
            say(f'{label}: {len(features)} images from the cache, {folder}')
            return features
        except CorruptShardError as e:
            say(f'{label}: {e}; extracting what is missing again')
    if rank == 0:
        os.makedirs(folder, exist_ok=True)
        described = dict(parts, key=osp.basename(folder))
        write_atomically(osp.join(folder, 'key.json'),
                         lambda f: f.write(json.dumps(described, indent=1)), binary=False)
    _barrier()
    start = time.monotonic()
    for images in shard_ranges(len(dataset), rank, world_size, shard_size):
        path = osp.join(folder, shard_name(images))
        if osp.isdir(path):
            try:
                check_shard(path)
                continue
            except CorruptShardError as e:
                print(f'{label}: {e}; extracting it again', file=sys.stderr, flush=True)
        shapes = {}
        levels = extract_range(model, dataset, images, pooling, dtype, batch_size,
                               num_workers, progress=f'{label} {images.start}-'
                               f'{images.stop - 1} of {len(dataset)} images'
                               if progress else None, map_shapes=shapes)
        _write_shard(path, images, levels, dataset_labels(dataset, images), shapes)
    _barrier()
    if rank == 0:
        shards = [shard_name(r) for p in range(world_size)
                  for r in shard_ranges(len(dataset), p, world_size, shard_size)]
        index = dict(num_images=len(dataset), shards=shards, world_size=world_size,
                     seconds=round(time.monotonic() - start, 1))
        write_atomically(osp.join(folder, 'index.json'),
                         lambda f: f.write(json.dumps(index, indent=1)), binary=False)
    _barrier()
    return FeatureSet(folder, verify_hash=rank == 0)  # rank 0 runs the protocols


# ------------------------------------------------------------------------------ reader
class FeatureSet:
    """The features and labels of a finished extraction, in data set order.

    ``levels``: the level indices; ``labels``: (N,) classes or (N, C) targets;
    :meth:`level` gives (N, D) features of one level (memory-mapped when the extraction
    has one shard, else the shards' memory maps joined in order); :meth:`level_shards`
    the per-shard memory maps, for streaming. Opening checks every shard against its
    manifest (CorruptShardError naming the file at fault) and that the shards cover
    ``0..N-1`` in order."""

    def __init__(self, folder: str, verify_hash: bool = True):
        self.folder = folder
        index_path = osp.join(folder, 'index.json')
        try:
            with open(index_path) as f:
                index = json.load(f)
        except (OSError, ValueError) as e:
            raise CorruptShardError(f'{index_path}: not a finished extraction ({e})') from e
        self.shards = [osp.join(folder, name) for name in index['shards']]
        expected = 0
        self.manifests = []
        for path in self.shards:
            manifest = check_shard(path, verify_hash)
            if manifest['start'] != expected:
                raise CorruptShardError(f'{path}: starts at image {manifest["start"]}, '
                                        f'expected {expected}')
            expected = manifest['stop']
            self.manifests.append(manifest)
        if expected != index['num_images']:
            raise CorruptShardError(f'{folder}: the shards hold {expected} images, '
                                    f'index.json says {index["num_images"]}')
        names = set(self.manifests[0]['files'])
        self.levels = sorted(int(n[5:-4]) for n in names if n.startswith('level'))
        self.labels = np.concatenate([np.load(osp.join(p, 'labels.npy')) for p in self.shards])

    def __len__(self) -> int:
        return len(self.labels)

    def level_shards(self, level: int) -> List[np.ndarray]:
        """The (n_i, D) memory maps of ``level``, one per shard, in data set order."""
        if level not in self.levels:
            raise KeyError(f'{self.folder}: no level {level} (levels {self.levels})')
        return [np.load(osp.join(p, f'level{level}.npy'), mmap_mode='r')
                for p in self.shards]

    def map_shape(self, level: int) -> Optional[tuple]:
        """(C, H, W) of ``level``'s maps before pooling (None when the model gave flat
        features)."""
        shape = self.manifests[0].get('map_shapes', {}).get(str(level))
        return tuple(shape) if shape and len(shape) == 3 else None

    def level(self, level: int) -> np.ndarray:
        """(N, D) features of ``level`` in data set order."""
        parts = self.level_shards(level)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
