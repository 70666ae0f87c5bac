"""Frozen features extracted once: a disk cache in front of
:func:`~.features.extract_features`, so that protocols sharing features, and a rerun of
an evaluation that was interrupted, do not run the backbone again.

An extraction is named by a key, the sha256 of what determines its result
(:func:`key_parts`):

* the weights: the sha256 of the checkpoint file's bytes, or ``random-seed-S`` for a
  backbone initialised at random with seed S;
* the model: its class, its module tree (``repr``), its data preprocessor (mean, std,
  channel conversion), the feature levels (``out_indices``) and, when given, the hash of
  its config;
* the images: the data set's type, the base name of its data root, its split, annotation
  file and prefixes (relative to the root), the index list (its sha256) and its size;
  and the sha256 of its pipeline (the transforms' ``repr``);
* the pooling: ``max_dims`` or global average pooling (``gap``);
* :data:`FORMAT`, the version of this file layout.

``CACHE/<key>.npz`` holds ``level0``, ``level1``... (N, D) float32 and ``labels`` (N,)
int64; ``CACHE/<key>.json`` the key's parts, in words. Both are written to a temporary
file and renamed into place, so a run killed while writing leaves no partial file: a
file that is there is complete, and a rerun loads it instead of extracting again.
"""
import hashlib
import json
import os
import os.path as osp
import re
import sys
import time
from typing import Dict, Optional, Tuple

import numpy as np

from .atomic import write_atomically
from .features import extract_features
from .progress import Progress
from .results import file_sha256

#: The version of the cache layout and of what a key covers; a change makes new keys.
FORMAT = 1


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def weights_identity(checkpoint: Optional[str], seed: Optional[int]) -> str:
    """``sha256:<hex>`` of the checkpoint file, or ``random-seed-S`` without one (then
    ``seed`` is required: ValueError otherwise)."""
    if checkpoint is not None:
        return 'sha256:' + file_sha256(checkpoint)
    if seed is None:
        raise ValueError('feature cache: a randomly initialised model needs its seed '
                         '(pass seed=S, or the checkpoint it was loaded from)')
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


def _plain(value):
    """A config (mmengine ConfigDict) as plain dicts and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _under_root(path, root: Optional[str]):
    if not path:
        return path
    return osp.relpath(path, root) if root and osp.isabs(path) else osp.basename(path)


def split_identity(dataset) -> Dict:
    """Which images, read how: see the module docstring. Paths are kept relative to the
    data root (and the root as its base name), so that keys name no machine path."""
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


def key_parts(model, loader, checkpoint: Optional[str] = None, seed: Optional[int] = None,
              max_dims: int = 9216, gap: bool = False, model_cfg=None) -> Dict:
    """Everything the key of an extraction covers (see the module docstring)."""
    return dict(format=FORMAT, weights=weights_identity(checkpoint, seed),
                model=model_identity(model, model_cfg),
                images=split_identity(loader.dataset),
                pooling=dict(gap=bool(gap), max_dims=None if gap else int(max_dims)))


def cache_key(parts: Dict) -> str:
    """24 hex digits of the sha256 of ``parts`` (as sorted JSON)."""
    return _sha256_text(json.dumps(parts, sort_keys=True))[:24]


def save_features(path: str, features: Dict[int, np.ndarray], labels: np.ndarray) -> None:
    """Write ``{level: (N, D)}`` and labels (N,) to the ``.npz`` file ``path``, atomically."""
    arrays = {f'level{level}': np.asarray(x) for level, x in features.items()}
    arrays['labels'] = np.asarray(labels)
    write_atomically(path, lambda f: np.savez(f, **arrays))


def load_features(path: str) -> Tuple[Dict[int, np.ndarray], np.ndarray]:
    """``({level: (N, D)}, labels (N,))`` from a file :func:`save_features` wrote. Raises
    ValueError naming ``path`` when it cannot be read as one."""
    try:
        with np.load(path) as data:
            levels = sorted(int(name[5:]) for name in data.files if name.startswith('level'))
            features = {level: data[f'level{level}'] for level in levels}
            labels = data['labels']
    except Exception as e:  # zipfile, pickle and key errors of a damaged file
        raise ValueError(f'{path}: not a readable feature cache file ({e}); delete it to '
                         'extract the features again') from e
    return features, labels


def cached_features(model, loader, cache_dir: str, checkpoint: Optional[str] = None,
                    seed: Optional[int] = None, max_dims: int = 9216, gap: bool = False,
                    model_cfg=None, progress: bool = True,
                    label: str = 'extracting features'
                    ) -> Tuple[Dict[int, np.ndarray], np.ndarray]:
    """What ``extract_features(model, loader, max_dims, gap)`` returns,
    ``({level: (N, D) float32}, labels (N,) int64)``, read from ``cache_dir`` when this
    extraction (see :func:`key_parts`) was stored there before, else extracted and
    stored (``<key>.npz`` and ``<key>.json``, atomically).

    Args:
        model: the model whose backbone gives the features (``extract_feat``).
        loader: the data loader; its ``dataset`` identifies the images.
        checkpoint: the file the weights were loaded from; None for a random
            initialisation, which ``seed`` then names.
        model_cfg: the model's config, made part of the key when given.
        progress: print a progress line with the time left while extracting, and a
            line when the features come from the cache (to stderr).
        label: the start of the progress line.
    """
    parts = key_parts(model, loader, checkpoint, seed, max_dims, gap, model_cfg)
    key = cache_key(parts)
    path = osp.join(cache_dir, f'{key}.npz')
    if osp.isfile(path):
        if progress:
            print(f'{label}: loaded from the cache, {path}', file=sys.stderr, flush=True)
        return load_features(path)
    start = time.monotonic()
    source = Progress(loader, label) if progress else loader
    features, labels = extract_features(model, source, max_dims, gap)
    os.makedirs(cache_dir, exist_ok=True)
    described = dict(parts, key=key, seconds=round(time.monotonic() - start, 1),
                     shapes={f'level{k}': list(v.shape) for k, v in features.items()})
    write_atomically(osp.join(cache_dir, f'{key}.json'),
                      lambda f: f.write(json.dumps(described, indent=1).encode()))
    save_features(path, features, labels)
    return features, labels


def feature_reader(model, checkpoint: Optional[str], cache_dir: Optional[str],
                   seed: Optional[int], max_dims: int = 9216, model_cfg=None,
                   label: str = 'extracting features'):
    """``features(loader, gap=False) -> ({level: (N, D)}, labels (N,))`` of ``model``
    (loaded from ``checkpoint``, or drawn with ``seed`` when it is None): through
    :func:`cached_features` when ``cache_dir`` is set (its progress line starts with
    ``label`` and the number of images), else extracted each time."""
    def features(loader, gap: bool = False):
        if cache_dir is None:
            return extract_features(model, loader, max_dims, gap)
        return cached_features(model, loader, cache_dir, checkpoint=checkpoint, seed=seed,
                               max_dims=max_dims, gap=gap, model_cfg=model_cfg,
                               label=f'{label} of {len(loader.dataset)} images')
    return features
