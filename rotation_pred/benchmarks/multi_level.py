"""Multi-level linear evaluation: the pooling of each feature level.

A frozen backbone gives one feature map per level; each is average-pooled with its own
``AvgPool2d(kernel, stride, padding)`` and flattened, so that every level ends up with
roughly 9,000 values, then normalised (BatchNorm without affine) and classified by its
own linear layer.
"""
from typing import Dict, Sequence, Tuple

#: ResNet-50 at 224x224: (name, channels, map side, (kernel, stride, padding)) per level.
#: feat1 is the stem (after conv1 + BN + ReLU, before the max-pool), feat2-5 the stages.
RESNET50_LEVELS = (
    ('feat1', 64, 112, (10, 10, 4)),
    ('feat2', 256, 56, (16, 8, 0)),
    ('feat3', 512, 28, (13, 5, 0)),
    ('feat4', 1024, 14, (8, 3, 0)),
    ('feat5', 2048, 7, (6, 1, 0)),
)


def pooled_side(side: int, kernel: int, stride: int, padding: int) -> int:
    """Output side of ``AvgPool2d(kernel, stride, padding)`` on a ``side`` x ``side`` map."""
    out = (side + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise ValueError(f'AvgPool2d(kernel={kernel}, stride={stride}, padding={padding}) '
                         f'does not fit a {side}x{side} feature map')
    return out


def pooled_dim(channels: int, side: int, pool: Sequence[int]) -> int:
    """Length of the flattened pooled features: ``channels * pooled_side**2``."""
    return channels * pooled_side(side, *pool) ** 2


def level_table_dims(levels: Sequence[Tuple[str, int, int, Sequence[int]]]
                     ) -> Dict[str, int]:
    """``{name: pooled dimension}`` of a table like :data:`RESNET50_LEVELS`."""
    return {name: pooled_dim(c, side, pool) for name, c, side, pool in levels}
