"""Rotation sets of the paper and the exact rotation of a batch of images.

Label convention: label ``k`` of a rotation set means "turned by ``rotations[k]``
degrees counter-clockwise", as ``numpy.rot90(img, 1)`` turns an image for 90 degrees:
the top row becomes the left column. With the default set ``(0, 90, 180, 270)``,
label 1 is a quarter turn counter-clockwise and label 3 a quarter turn clockwise.

Multiples of 90 degrees are flips and transposes (``torch.rot90``): no pixel value
changes. Odd multiples of 45 degrees cannot be exact; they are sampled bilinearly and
every copy of the set is cut to the largest centred square that lies inside the turned
frame, so no copy has empty corners and all copies have the same size.
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

FOUR_ROTATIONS = (0, 90, 180, 270)
#: The rotation sets of the paper's Table 2.
PAPER_ROTATION_SETS = (
    FOUR_ROTATIONS,
    (0, 180),
    (90, 270),
    (0, 45, 90, 135, 180, 225, 270, 315),
)
FEEDING_MODES = ('all', 'random')


def check_rotation_set(rotations: Sequence[int]) -> Tuple[int, ...]:
    """Return ``rotations`` as a tuple of ints, or raise naming the bad setting.

    A rotation set is two or more distinct multiples of 45 in [0, 360).
    """
    try:
        angles = tuple(int(a) for a in rotations)
        valid = all(float(a) == b for a, b in zip(rotations, angles))
    except (TypeError, ValueError):
        valid = False
    if (not valid or len(angles) < 2 or len(set(angles)) != len(angles)
            or any(a % 45 or not 0 <= a < 360 for a in angles)):
        raise ValueError(
            f'unknown rotation set rotations={rotations!r}: expected two or more '
            f'distinct multiples of 45 degrees in [0, 360), for example one of the '
            f"paper's sets {list(PAPER_ROTATION_SETS)}")
    return angles


def check_feeding(feeding: str) -> str:
    """Return ``feeding`` if it is a known feeding mode, else raise naming it."""
    if feeding not in FEEDING_MODES:
        raise ValueError(f'unknown feeding={feeding!r}: expected one of '
                         f'{FEEDING_MODES} (all rotations of each image in the '
                         'batch, or one random rotation per image)')
    return feeding


def output_size(size: int, rotations: Sequence[int]) -> int:
    """Side of the rotated copies made from ``size`` x ``size`` images.

    ``size`` itself for multiples of 90 degrees. With 45-degree steps: the largest
    side ``s <= size / sqrt(2)`` with ``size - s`` even, so that the multiples of 90
    are still exact integer crops.
    """
    if all(a % 90 == 0 for a in rotations):
        return size
    side = math.floor(size / math.sqrt(2))
    return side - (size - side) % 2


def _check_shape(images: torch.Tensor, rotations: Sequence[int]) -> None:
    if images.dim() != 4:
        raise ValueError('rotations need a batch of images of shape (N, C, H, W), '
                         f'got shape {tuple(images.shape)}')
    height, width = images.shape[-2:]
    needs_square = any(a % 180 for a in rotations)
    if needs_square and height != width:
        raise ValueError(
            f'rotations={tuple(rotations)} need square images, got {height}x{width}: '
            'end the data pipeline with a square crop (e.g. RandomResizedCrop(scale=224) '
            'or CenterCrop(crop_size=224))')
    if output_size(height, rotations) < 2:
        raise ValueError(f'images of {height}x{width} are too small for '
                         f'rotations={tuple(rotations)}')


def _rotate_45(images: torch.Tensor, angle: int, side: int) -> torch.Tensor:
    """Turn square images by an odd multiple of 45 degrees counter-clockwise
    (bilinear) and keep the centred ``side`` x ``side`` square: (N,C,S,S) -> (N,C,side,side).
    """
    size = images.shape[-1]
    half = (size - 1) / 2
    offsets = torch.arange(side, dtype=torch.float64) - (side - 1) / 2
    ys, xs = torch.meshgrid(offsets, offsets, indexing='ij')
    # Output pixel (x, y) (y down) shows the source pixel that the turn brings there.
    # An image turned counter-clockwise on screen maps source (u, v) to
    # (u cos t + v sin t, -u sin t + v cos t); invert that map.
    theta = math.radians(angle)
    cos, sin = math.cos(theta), math.sin(theta)
    src_x = xs * cos - ys * sin
    src_y = xs * sin + ys * cos
    grid = torch.stack((src_x / half, src_y / half), dim=-1)
    grid = grid.to(images.device, torch.float32).expand(images.shape[0], -1, -1, -1)
    return F.grid_sample(images.float(), grid, mode='bilinear', padding_mode='zeros',
                         align_corners=True).to(images.dtype)


def rotate(images: torch.Tensor, angle: int, side: Optional[int] = None) -> torch.Tensor:
    """Turn a batch (N, C, H, W) by ``angle`` degrees counter-clockwise.

    Multiples of 90 are exact (``torch.rot90``); they turn non-square images too.
    Odd multiples of 45 need square images. ``side`` (default: the whole turned image)
    crops the centred ``side`` x ``side`` square of the result.
    """
    if angle % 90 == 0:
        turned = torch.rot90(images, angle // 90, dims=(-2, -1))
        height, width = turned.shape[-2:]
        if side is None or side == height == width:
            return turned
        top, left = (height - side) // 2, (width - side) // 2
        return turned[..., top:top + side, left:left + side]
    return _rotate_45(images, angle, images.shape[-1] if side is None else side)


def rotate_batch(images: torch.Tensor,
                 rotations: Sequence[int] = FOUR_ROTATIONS,
                 feeding: str = 'all',
                 generator: Optional[torch.Generator] = None
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Make the rotated training samples of a batch, on the batch's device.

    Args:
        images: (N, C, H, W) batch; H == W unless every angle is 0 or 180.
        rotations: the rotation set (K angles); label k is ``rotations[k]``.
        feeding: ``'all'``: every image in all K rotations, image-major, so sample
            ``i * K + k`` is image ``i`` turned by ``rotations[k]``;
            ``'random'``: one rotation per image, drawn uniformly.

    Returns:
        ``(samples, labels)``: (N*K, C, h, w) and (N*K,) int64 for ``'all'``,
        (N, C, h, w) and (N,) for ``'random'``; ``h = output_size(H, rotations)``.
    """
    rotations = check_rotation_set(rotations)
    check_feeding(feeding)
    _check_shape(images, rotations)
    num = images.shape[0]
    side = output_size(images.shape[-1], rotations) if images.shape[-1] == images.shape[-2] \
        else None
    if feeding == 'all':
        copies = [rotate(images, angle, side) for angle in rotations]
        samples = torch.stack(copies, dim=1).flatten(0, 1)
        labels = torch.arange(len(rotations), device=images.device).repeat(num)
        return samples, labels
    labels = torch.randint(len(rotations), (num, ), generator=generator,
                           device='cpu').to(images.device)
    height, width = (side, side) if side is not None else images.shape[-2:]
    samples = images.new_empty(num, images.shape[1], height, width)
    for k, angle in enumerate(rotations):
        chosen = (labels == k).nonzero(as_tuple=True)[0]
        if chosen.numel():
            samples[chosen] = rotate(images[chosen], angle, side)
    return samples, labels
