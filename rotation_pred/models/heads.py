"""The K-way rotation classifier: global average pooling, then one linear layer."""
from typing import Dict, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


@MODELS.register_module()
class RotationHead(BaseModule):
    """Predict which of ``num_classes`` rotations a sample shows.

    Args:
        in_channels: channels of the last backbone feature map.
        num_classes: size of the rotation set (4 in the paper).
    """

    def __init__(self, in_channels: int, num_classes: int = 4,
                 init_cfg=dict(type='Normal', std=0.01, layer='Linear')):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Last feature map (M, C, H, W) or (M, C) -> rotation logits (M, K)."""
        x = feats[-1]
        if x.dim() == 4:
            x = x.mean(dim=(2, 3))
        return self.fc(x)

    def loss(self, feats: Sequence[torch.Tensor],
             labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Mean cross-entropy over the M samples, and the rotation accuracy in %.
        Both in fp32, also when the network runs under mixed precision (autocast)."""
        logits = self(feats).float()
        with torch.no_grad():
            accuracy = (logits.argmax(dim=1) == labels).float().mean() * 100
        return dict(loss=F.cross_entropy(logits, labels), rotation_accuracy=accuracy)
