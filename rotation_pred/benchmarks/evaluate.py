"""Evaluate a pretrained backbone: extract its features once (:mod:`.extraction`), run the
protocols asked for on them (:mod:`.protocols`), and return the numbers as result rows.

The same functions serve ``tools/benchmarks/evaluate.py`` (any config: ImageNet, VOC07,
Fashion-MNIST) and the Fashion-MNIST zoo (:mod:`.zoo`).

Image sets (:func:`image_sets`): ``train`` (the protocols' training images: the first
``train_samples`` of the config's train split, or all), ``svm`` (the SVMs' training
images: the first ``svm_samples``) and ``test`` (the test split, or with ``split='val'``
the validation images held out of the train split, :func:`~.loading.validation_indices`),
all read with the config's test pipeline. With several processes every process extracts
its share; rank 0 alone runs the protocols and returns rows (the others return none).
"""
import copy
from typing import Callable, Dict, List, Optional, Sequence

import torch
from mmengine.config import Config

from .checkpoint import has_prefix, read_state_dict
from .extraction import SHARD_SIZE, extract
from .loading import (all_levels, build_eval_dataset, build_eval_loader, build_model,
                      rotation_accuracy, validation_indices)
from .protocols import Options, get_protocols, pooling_for

#: Measures of a model (not of its features) that ``--protocols`` accepts too.
MODEL_MEASURES = ('rotation_accuracy', )


def level_names(cfg: Config) -> List[str]:
    """The names of the feature levels the model of ``cfg`` returns: the config's
    ``feature_names`` for a model with a neck, else ``block1``, ``block2``... one per
    backbone level."""
    if has_neck(cfg):
        if not cfg.get('feature_names'):
            raise ValueError('the model has a neck: name its outputs in the config, '
                             "feature_names = ['feat5'] for example")
        return list(cfg.feature_names)
    return [f'block{i + 1}' for i in all_levels(cfg.model.backbone)]


def has_neck(cfg: Config) -> bool:
    return cfg.model.get('neck') is not None


def image_sets(cfg: Config, split: str = 'test', train_samples: Optional[int] = None,
               svm_samples: Optional[int] = None, test_samples: Optional[int] = None
               ) -> Dict[str, object]:
    """``{'train', 'svm', 'test'}`` data sets of ``cfg`` (see the module docstring)."""
    if split == 'val':
        val = list(validation_indices(cfg, max(train_samples or 0, svm_samples or 0)))
        test = build_eval_dataset(cfg, 'train', val[:test_samples] if test_samples else val)
    elif split == 'test':
        test = build_eval_dataset(cfg, 'test', test_samples)
    else:
        raise ValueError(f"split {split!r}: use 'test' or 'val'")
    return dict(train=build_eval_dataset(cfg, 'train', train_samples),
                svm=build_eval_dataset(cfg, 'train', svm_samples or train_samples), test=test)


def load_model(cfg: Config, checkpoint: Optional[str], seed: int = 0,
               backbone_only: bool = False):
    """``(model, whole)``: the config's model on the evaluation device returning every
    level (every backbone level, or the neck's outputs), with the backbone of
    ``checkpoint`` (any algorithm's whole model, or a backbone-only file; strict) or a
    random initialisation drawn with ``seed``. ``whole``: the head was loaded too (the
    checkpoint holds the config's whole model), or the model is random.
    ``backbone_only``: load the backbone alone even when the checkpoint has a head (a
    classifier's backbone evaluated in another algorithm's config)."""
    cfg = copy.deepcopy(cfg)
    if cfg.get('data_preprocessor') is not None:
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    levels = None if has_neck(cfg) else all_levels(cfg.model.backbone)
    whole = checkpoint is None or (not backbone_only and cfg.model.get('head') is not None
                                   and has_prefix(read_state_dict(checkpoint), 'head.'))
    model = build_model(cfg, checkpoint, levels, seed=seed, backbone_only=not whole)
    device = torch.device('cuda', torch.cuda.current_device()) \
        if torch.cuda.is_available() else torch.device('cpu')
    return model.to(device), whole


def evaluate_features(model, sets: Dict[str, object], protocols: Sequence[str],
                      row: Callable, cache_dir: str, names: Sequence[str],
                      checkpoint: Optional[str] = None, seed: Optional[int] = None,
                      options: Optional[Options] = None, neck: bool = False,
                      levels: Optional[Sequence[str]] = None, dtype: str = 'float32',
                      model_cfg=None, shard_size: int = SHARD_SIZE,
                      batch_size: int = 256, num_workers: int = 0,
                      label: str = 'features') -> List[Dict]:
    """Result rows of the feature ``protocols`` (names) of ``model`` at ``levels``
    (names; default all of ``names``), extracting each image set once per pooling.

    Args:
        sets: ``{'train', 'svm', 'test'}`` data sets (:func:`image_sets`).
        row: ``row(protocol, level, setting, metric, value)`` makes one result row
            (:func:`~.rows.row_maker`).
        checkpoint, seed: where the weights came from (the cache key).
        neck: the model has a neck: every protocol reads its outputs.
        batch_size, num_workers: of the extraction's data loaders.
    """
    options = options or Options()
    chosen = get_protocols(protocols)
    unknown = sorted(set(levels or ()) - set(names))
    if unknown:
        raise ValueError(f'unknown levels {unknown}; the levels are {list(names)}')
    features = {}
    for protocol in chosen:
        pooling = pooling_for(protocol, neck, options.max_dims)
        for part in (protocol.train_images, 'test'):
            if (part, pooling) not in features:
                features[part, pooling] = extract(
                    model, sets[part], cache_dir, checkpoint, seed, pooling, dtype,
                    model_cfg, batch_size, num_workers, shard_size,
                    label=f'{label} ({part}, {pooling})')
    from mmengine.dist import get_rank
    if get_rank() != 0:
        return []
    rows = []
    for index, name in enumerate(names):
        if levels and name not in levels:
            continue
        state = {}
        for protocol in chosen:
            pooling = pooling_for(protocol, neck, options.max_dims)
            train, test = features[protocol.train_images, pooling], features['test', pooling]
            state.update(map_shape=train.map_shape(index), level=index,
                         train_folder=getattr(train, 'folder', None))
            for setting, metric, value in protocol.run(
                    train.level(index), train.labels, test.level(index), test.labels,
                    options, state):
                rows.append(row(protocol.name, name, setting, metric, value))
    return rows


def model_measures(model, measures: Sequence[str], test_set, row: Callable,
                   whole: bool) -> List[Dict]:
    """Rows of the model measures (:data:`MODEL_MEASURES`) on ``test_set``; ValueError
    when the model cannot give one (a backbone-only checkpoint has no RotNet head)."""
    rows = []
    if 'rotation_accuracy' in measures:
        if not whole or not hasattr(model, 'rotated_samples'):
            raise ValueError('rotation_accuracy needs a RotationPred model with its head: '
                             'give the whole pretraining checkpoint and its config')
        loader = build_eval_loader(None, None, dataset=test_set)
        rows.append(row('rotation_accuracy', None, '', 'top1',
                        rotation_accuracy(model, loader)))
    return rows
