"""Build models and evaluation data loaders from a pretraining config."""
import copy
from typing import Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from mmpretrain.registry import MODELS

from .pretrained import check_backbone_fits, read_backbone_weights


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
    ``backbone_only``: load just the backbone, from any checkpoint whose backbone
    fits (a supervised classifier, a converted backbone)."""
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model_cfg = copy.deepcopy(cfg.model)
    if levels is not None:
        model_cfg.backbone.out_indices = tuple(levels)
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    model.init_weights()
    if checkpoint is not None and backbone_only:
        weights = read_backbone_weights(checkpoint)
        check_backbone_fits(model.backbone, weights, checkpoint)
        model.backbone.load_state_dict(weights)
    elif checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.eval()


def build_eval_loader(cfg: Config, split: str, num_samples: Optional[int] = None,
                      batch_size: int = 256):
    """A deterministic loader over the config's train or test data, with the test
    pipeline (no augmentation); ``num_samples`` keeps the first samples only."""
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    test_loader = cfg.test_dataloader
    source = cfg.train_dataloader if split == 'train' else test_loader
    dataset = copy.deepcopy(source.dataset)
    dataset.pipeline = copy.deepcopy(test_loader.dataset.pipeline)
    if num_samples is not None:
        dataset.indices = num_samples
    loader = dict(batch_size=batch_size, num_workers=test_loader.get('num_workers', 0),
                  sampler=dict(type='DefaultSampler', shuffle=False),
                  collate_fn=dict(type='default_collate'), dataset=dataset)
    return Runner.build_dataloader(loader)


@torch.no_grad()
def rotation_accuracy(model, dataloader) -> float:
    """Share (%) of rotated copies of the loader's images whose rotation is right."""
    right = total = 0
    for data in dataloader:
        data = model.data_preprocessor(data, training=False)
        for sample in model.predict(data['inputs']):
            scores = sample.rotation_scores
            right += int((scores.argmax(1) == torch.arange(len(scores))).sum())
            total += len(scores)
    return 100.0 * right / max(total, 1)
