"""Build models and evaluation data loaders from a pretraining config."""
import copy
import numbers
from typing import Optional, Sequence, Union

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmpretrain.registry import DATASETS, MODELS

from .checkpoint import load_backbone


def all_levels(backbone_cfg: dict) -> Sequence[int]:
    """Every feature level the backbone can return: each NIN block, each ResNet stage."""
    if 'num_blocks' in backbone_cfg:
        return tuple(range(backbone_cfg['num_blocks']))
    if backbone_cfg.get('type', '').endswith('ResNet'):
        return (0, 1, 2, 3)
    raise ValueError(f'do not know the feature levels of backbone {backbone_cfg["type"]}: '
                     'pass them with --levels')


def build_model(cfg: Config, checkpoint: Optional[str] = None,
                levels: Optional[Sequence[int]] = None, seed: int = 0,
                backbone_only: bool = False) -> torch.nn.Module:
    """The config's model with the backbone returning ``levels``; weights from
    ``checkpoint`` (strict), or a random initialisation drawn with ``seed``.
    ``backbone_only``: load just the backbone (:func:`~.checkpoint.load_backbone`,
    strict), from any checkpoint whose backbone fits: a whole model of any algorithm
    (a supervised classifier, SimCLR...) or a backbone-only checkpoint."""
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model_cfg = copy.deepcopy(cfg.model)
    if levels is not None:
        model_cfg.backbone.out_indices = tuple(levels)
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    model.init_weights()
    if checkpoint is not None and backbone_only:
        load_backbone(model.backbone, checkpoint, logger='current')
    elif checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.eval()


def build_eval_dataset(cfg: Config, split: str,
                       num_samples: Union[int, Sequence[int], None] = None):
    """The config's train or test data set, built with the test pipeline (no
    augmentation); ``num_samples``: an int keeps the first samples only, a sequence of
    indices keeps those samples, in that order."""
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    source = cfg.train_dataloader if split == 'train' else cfg.test_dataloader
    dataset = copy.deepcopy(source.dataset)
    dataset.pipeline = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    if num_samples is not None:
        dataset.indices = int(num_samples) if isinstance(num_samples, numbers.Integral) \
            else [int(i) for i in num_samples]
    return DATASETS.build(dataset)


def build_eval_loader(cfg: Optional[Config], split: Optional[str],
                      num_samples: Union[int, Sequence[int], None] = None,
                      batch_size: int = 256, dataset=None, num_workers: int = 0):
    """A loader over every image of ``dataset`` (or of :func:`build_eval_dataset` of
    ``cfg``, ``split`` and ``num_samples``), in order, in this process alone: no
    distributed sampler, so one rank can run it while the others wait."""
    from mmengine.dataset import default_collate
    if dataset is None:
        dataset = build_eval_dataset(cfg, split, num_samples)
        num_workers = cfg.test_dataloader.get('num_workers', 0)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size,
                                       sampler=range(len(dataset)), num_workers=num_workers,
                                       collate_fn=default_collate)


def _chosen(indices, size: int) -> set:
    """The positions that mmengine's ``indices`` keeps from a data set of ``size``
    samples: all (None), the first (int >= 0) or last (int < 0) ones, or those listed."""
    if indices is None:
        return set(range(size))
    if isinstance(indices, int):
        return set(range(size)[:indices] if indices >= 0 else range(size)[indices:])
    return {int(i) for i in indices}


def validation_indices(cfg: Config, probe_train_samples: int,
                       num_images: int = 10000) -> range:
    """A validation set held out of the config's train split: its last ``num_images``
    images (Fashion-MNIST: train images 50,000-59,999). Raises ValueError when they
    overlap the pretraining images (the config's ``train_dataloader.dataset.indices``)
    or the probe's training images (the first ``probe_train_samples``)."""
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    source = cfg.train_dataloader.dataset
    size = len(DATASETS.build(dict(copy.deepcopy(source), indices=None, pipeline=[],
                                     serialize_data=False)))
    if num_images >= size:
        raise ValueError(f'validation: the train split has {size} images, fewer than the '
                         f'{num_images} validation images plus any training image')
    val = range(size - num_images, size)
    if _chosen(source.get('indices'), size) & set(val):
        raise ValueError(f'validation: train images {val.start}-{val.stop - 1} overlap the '
                         f'pretraining images (train_dataloader.dataset.indices='
                         f'{source.get("indices")!r} of {size})')
    if probe_train_samples > val.start:
        raise ValueError(f'validation: --train-samples {probe_train_samples} overlaps the '
                         f'validation images, train images {val.start}-{val.stop - 1}; '
                         f'use at most {val.start}')
    return val


@torch.no_grad()
def rotation_accuracy(model, dataloader) -> float:
    """Share (%) of rotated copies of the loader's images whose rotation is right."""
    right = total = 0
    for data in dataloader:
        data = model.data_preprocessor(data, training=False)
        for sample in model.predict(data['inputs']):
            scores = sample.rotation_scores
            truth = torch.arange(len(scores), device=scores.device)
            right += int((scores.argmax(1) == truth).sum())
            total += len(scores)
    return 100.0 * right / max(total, 1)
