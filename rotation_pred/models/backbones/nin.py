"""The Network-In-Network of the paper's CIFAR-10 experiments."""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS


def conv_bn_relu(in_channels: int, out_channels: int, kernel: int,
                 norm_cfg: dict) -> nn.Sequential:
    """Conv (no bias, "same" padding) + normalisation + ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
        build_norm_layer(norm_cfg, out_channels)[1], nn.ReLU(inplace=True))


@MODELS.register_module()
class NetworkInNetwork(BaseBackbone):
    """NIN with ``num_blocks`` blocks of three conv layers each.

    Block 1: 5x5 -> w, 1x1 -> 5w/6, 1x1 -> w/2, max-pool 3x3/2.
    Block 2: 5x5 -> w, 1x1 -> w, 1x1 -> w, avg-pool 3x3/2.
    Blocks 3+: 3x3 -> w, 1x1 -> w, 1x1 -> w.  (w = ``width``, 192 in the paper.)
    A 32x32 input gives 16x16 after block 1 and 8x8 after each later block.

    Args:
        num_blocks: 3 to 5 in the paper (any >= 2 works).
        width: channels w of the conv layers.
        in_channels: 3 for RGB, 1 for grayscale.
        out_indices: blocks (0-based) whose outputs ``forward`` returns.
        frozen_stages: the first ``frozen_stages`` blocks get no gradient and keep
            their BatchNorm statistics (for linear evaluation).
        norm_cfg: the normalisation layer, ``dict(type='BN')`` or ``dict(type='SyncBN')``.
    """

    def __init__(self, num_blocks: int = 4, width: int = 192, in_channels: int = 3,
                 out_indices: Sequence[int] = (-1, ), frozen_stages: int = 0,
                 norm_cfg: dict = dict(type='BN'), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if num_blocks < 2:
            raise ValueError(f'NetworkInNetwork needs num_blocks >= 2, got {num_blocks}')
        self.out_indices = tuple(i % num_blocks for i in out_indices)
        self.frozen_stages = frozen_stages
        mid, narrow = width * 5 // 6, width // 2

        def block(channels, kernel, pool=None):
            layers = [conv_bn_relu(c_in, c_out, k, norm_cfg) for c_in, c_out, k in
                      zip(channels[:-1], channels[1:], (kernel, 1, 1))]
            return nn.Sequential(*layers, *([pool] if pool is not None else []))

        blocks = [block((in_channels, width, mid, narrow), 5, nn.MaxPool2d(3, 2, 1)),
                  block((narrow, width, width, width), 5, nn.AvgPool2d(3, 2, 1))]
        blocks += [block((width, ) * 4, 3) for _ in range(num_blocks - 2)]
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = [narrow] + [width] * (num_blocks - 1)

    def init_weights(self) -> None:
        super().init_weights()
        if self.init_cfg is not None:
            return
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, 0.0, (2.0 / fan_out) ** 0.5)
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(N, C, H, W) -> the outputs of the blocks in ``out_indices``."""
        outs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True):
        super().train(mode)
        for block in self.blocks[:self.frozen_stages]:
            block.eval()
            for p in block.parameters():
                p.requires_grad = False
        return self
