"""The paper's two classifiers on frozen feature maps (its Table 3 and Fig. 5b), as
MMPretrain classification heads.

* :class:`NonLinearClsHead` ("non-linear"): the (N, C, H, W) maps flattened to
  (N, C*H*W), then Linear (no bias) + BN + ReLU twice, to ``mid_channels`` units
  (min(20 x classes, 2048) unless given), then Linear to the class scores.
* :class:`ConvClsHead` ("conv"): one more NIN block on the maps (3x3 conv, then two 1x1
  convs, each without bias + BN + ReLU, ``mid_channels`` wide, 192 as in the paper),
  global average pooling, Linear to the class scores.

Both read the last of the tuple of feature maps a backbone returns (``feats[-1]``), so
they go in an ``ImageClassifier`` config without a neck, behind a frozen backbone
(``frozen_stages`` covering every block or stage), and ``loss`` / ``predict`` are
MMPretrain's. By default (``init_cfg``) their weights start as the paper's code starts
them (:data:`PAPER_INIT`).
"""
import copy
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS

from .backbones.nin import conv_bn_relu


def nonlinear_width(num_classes: int) -> int:
    """Hidden units of the non-linear head: min(20 x ``num_classes``, 2048)."""
    return min(20 * num_classes, 2048)


#: The paper code's initialisation, as an ``init_cfg``: conv weights ~ N(0, sqrt(2 / (k_h *
#: k_w * out_channels))) and linear weights ~ N(0, sqrt(2 / out_features)) (Kaiming, fan
#: out, ReLU gain), their biases 0; normalisation weights 1 and biases 0.
PAPER_INIT = [
    dict(type='Kaiming', layer=['Conv2d', 'Linear'], mode='fan_out', nonlinearity='relu',
         distribution='normal', bias=0),
    dict(type='Constant', layer='_BatchNorm', val=1, bias=0),
]


class _FrozenMapHead(ClsHead):
    """What both heads share: the last feature map, checked against the channels the
    head was built for, and the paper's initialisation (:data:`PAPER_INIT`) unless an
    ``init_cfg`` is given."""

    def __init__(self, num_classes: int, in_channels: int, init_cfg=PAPER_INIT, **kwargs):
        super().__init__(init_cfg=copy.deepcopy(init_cfg), **kwargs)
        if num_classes <= 0 or in_channels <= 0:
            raise ValueError(f'{type(self).__name__}: num_classes={num_classes} and '
                             f'in_channels={in_channels} must be positive')
        self.num_classes = num_classes
        self.in_channels = in_channels

    def _last_map(self, feats: Sequence[torch.Tensor], size=None) -> torch.Tensor:
        """``feats[-1]``, an (N, C, H, W) map with C = ``in_channels`` (and (H, W) =
        ``size`` when given); ValueError naming the shape otherwise."""
        x = feats[-1]
        wanted = (self.in_channels, ) + (tuple(size) if size is not None else ())
        if x.dim() != 4 or tuple(x.shape[1:1 + len(wanted)]) != wanted:
            shape = 'C, H, W' if size is None else ', '.join(map(str, wanted))
            raise ValueError(f'{type(self).__name__} takes feature maps of shape (N, '
                             f'{shape}) with C={self.in_channels}; got '
                             f'{tuple(x.shape)}')
        return x

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Feature maps (the last one (N, C, H, W)) -> class scores (N, num_classes)."""
        return self.fc(self.pre_logits(feats))


@MODELS.register_module()
class NonLinearClsHead(_FrozenMapHead):
    """The paper's "non-linear" classifier on frozen (C, H, W) maps.

    (N, C, H, W) -> flatten (N, C*H*W) -> Linear(C*H*W, m, no bias) -> BN -> ReLU ->
    Linear(m, m, no bias) -> BN -> ReLU -> Linear(m, num_classes) -> (N, num_classes).

    Args:
        num_classes: classes to score.
        in_channels: C of the maps.
        map_size: (H, W) of the maps, or one int for square maps (7 for NIN block 2 on
            28x28 images and for ResNet-50 stage 4 on 224x224 images, 8 for NIN
            block 2 on 32x32 images).
        mid_channels: m, the hidden units; None: min(20 x num_classes, 2048).
        norm_cfg: the normalisation after each hidden layer (``BN1d``, or ``SyncBN``).
        **kwargs: of :class:`mmpretrain.models.heads.ClsHead` (loss, topk, cal_acc,
            init_cfg).
    """

    def __init__(self, num_classes: int, in_channels: int,
                 map_size: Union[int, Sequence[int]], mid_channels: Optional[int] = None,
                 norm_cfg: dict = dict(type='BN1d'), **kwargs):
        super().__init__(num_classes, in_channels, **kwargs)
        size = (map_size, map_size) if isinstance(map_size, int) else tuple(map_size)
        if len(size) != 2 or min(size) <= 0:
            raise ValueError(f'NonLinearClsHead: map_size={map_size!r} is not a '
                             'positive (H, W)')
        self.map_size = size
        self.mid_channels = mid_channels or nonlinear_width(num_classes)
        in_features = in_channels * size[0] * size[1]
        layers = []
        for width_in in (in_features, self.mid_channels):
            layers += [nn.Linear(width_in, self.mid_channels, bias=False),
                       build_norm_layer(norm_cfg, self.mid_channels)[1],
                       nn.ReLU(inplace=True)]
        self.hidden = nn.Sequential(*layers)
        self.fc = nn.Linear(self.mid_channels, num_classes)

    def pre_logits(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Feature maps (the last one (N, C, H, W)) -> hidden units (N, m)."""
        return self.hidden(self._last_map(feats, self.map_size).flatten(1))


@MODELS.register_module()
class ConvClsHead(_FrozenMapHead):
    """The paper's "conv" classifier on frozen maps: one more NIN block, then a linear
    layer.

    (N, C, H, W) -> conv 3x3 (C -> m) -> conv 1x1 (m -> m) -> conv 1x1 (m -> m), each
    without bias + BN + ReLU, "same" padding -> global average pooling (N, m) ->
    Linear(m, num_classes) -> (N, num_classes). Any H, W.

    Args:
        num_classes: classes to score.
        in_channels: C of the maps.
        mid_channels: m, the block's width (192 in the paper).
        norm_cfg: the normalisation after each conv (``BN``, or ``SyncBN``).
        **kwargs: of :class:`mmpretrain.models.heads.ClsHead` (loss, topk, cal_acc,
            init_cfg).
    """

    def __init__(self, num_classes: int, in_channels: int, mid_channels: int = 192,
                 norm_cfg: dict = dict(type='BN'), **kwargs):
        super().__init__(num_classes, in_channels, **kwargs)
        self.mid_channels = mid_channels
        widths = (in_channels, mid_channels, mid_channels, mid_channels)
        self.block = nn.Sequential(*[
            conv_bn_relu(c_in, c_out, kernel, norm_cfg)
            for c_in, c_out, kernel in zip(widths[:-1], widths[1:], (3, 1, 1))])
        self.fc = nn.Linear(mid_channels, num_classes)

    def pre_logits(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Feature maps (the last one (N, C, H, W)) -> the block's pooled output (N, m)."""
        return self.block(self._last_map(feats)).mean(dim=(2, 3))
