"""Per-level average pooling of frozen feature maps (multi-level evaluation)."""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


@MODELS.register_module()
class MultiLevelAvgPool(BaseModule):
    """Average-pool each feature map with its own window, then flatten it.

    Args:
        pools: one ``(kernel, stride, padding)`` per input level, in the backbone's
            ``out_indices`` order; ``None`` for a level keeps its map as it is.
            For ResNet-50 at 224x224 see
            :data:`rotation_pred.benchmarks.multi_level.RESNET50_LEVELS`.

    Input: a tuple of L maps (N, C_l, H_l, W_l). Output: a tuple of L tensors
    (N, C_l * h_l * w_l), h_l and w_l being the pooled sides.
    """

    def __init__(self, pools: Sequence, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.pools = nn.ModuleList(
            nn.Identity() if p is None else nn.AvgPool2d(*_kernel_stride_padding(p))
            for p in pools)

    def forward(self, feats: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        if len(feats) != len(self.pools):
            raise ValueError(f'MultiLevelAvgPool has {len(self.pools)} pools but got '
                             f'{len(feats)} feature maps: make neck.pools match '
                             'backbone.out_indices')
        return tuple(pool(x).flatten(1) for pool, x in zip(self.pools, feats))


def _kernel_stride_padding(pool) -> Tuple[int, int, int]:
    values = tuple(int(v) for v in pool)
    if len(values) != 3:
        raise ValueError(f'MultiLevelAvgPool: a pool is (kernel, stride, padding), got {pool}')
    return values
