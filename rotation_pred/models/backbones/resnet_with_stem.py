"""MMPretrain's ResNet, able to return the stem output as well as the four stages."""
from typing import Sequence, Tuple

import torch
from mmpretrain.models.backbones import ResNet
from mmpretrain.registry import MODELS


@MODELS.register_module()
class ResNetWithStem(ResNet):
    """ResNet whose ``out_indices`` count the stem as level 0.

    Level 0 is the stem output (conv1 + norm + ReLU, before the max-pool: 64 channels at
    1/2 resolution, 112x112 for a 224x224 input); levels 1-4 are ``layer1``-``layer4``
    (for ResNet-50: 256@56, 512@28, 1024@14, 2048@7). MMPretrain's own ``ResNet`` numbers
    only the stages 0-3, so ``ResNetWithStem(out_indices=(1, 2, 3, 4))`` returns what
    ``ResNet(out_indices=(0, 1, 2, 3))`` returns. The weights are named as in ``ResNet``,
    so its checkpoints load unchanged; ``frozen_stages`` and ``norm_eval`` work as there
    (``frozen_stages=4`` freezes the stem and all stages).

    Args:
        depth: 18, 34, 50, 101 or 152.
        out_indices: levels to return, each in 0..4 (0 = stem); returned in this order.
        **kwargs: any other argument of :class:`mmpretrain.models.ResNet`.
    """

    def __init__(self, depth: int, out_indices: Sequence[int] = (0, 1, 2, 3, 4), **kwargs):
        levels = tuple(int(i) for i in out_indices)
        if not levels or any(i < 0 or i > 4 for i in levels) or len(set(levels)) != len(levels):
            raise ValueError(f'ResNetWithStem: out_indices={tuple(out_indices)} must be '
                             'distinct levels in 0..4 (0 = stem, 1-4 = stages)')
        if kwargs.get('num_stages', 4) != 4:
            raise ValueError('ResNetWithStem needs num_stages=4')
        super().__init__(depth, out_indices=(3, ), **kwargs)
        self.out_indices = levels

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(N, 3, H, W) -> the feature maps of ``out_indices``, in that order."""
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        levels = {0: x}
        x = self.maxpool(x)
        for i, layer_name in enumerate(self.res_layers[:max(self.out_indices)], start=1):
            x = getattr(self, layer_name)(x)
            levels[i] = x
        return tuple(levels[i] for i in self.out_indices)
