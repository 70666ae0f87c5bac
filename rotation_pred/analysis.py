"""What the figures show, as data: attention maps and filter grids (the paper's figures,
as tensors) and the per-epoch curves of a pretraining run. No plotting here: the figures
are drawn by :mod:`rotation_pred.analysis_cli` (``tools/analysis_tools/``)."""
from collections import defaultdict
from typing import Dict, List

import torch
import torch.nn.functional as F

from .fileio import read_scalars, scalar_files

#: The scalars of a pretraining run :func:`per_epoch` reads: the online k-NN top-1
#: (OnlineKNNHook), the validation and the training-batch rotation accuracy.
KNN, VAL, TRAIN = 'knn/top1', 'rotation/accuracy', 'rotation_accuracy'


def attention_map(feature_map: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """Spatial attention of a conv layer (paper Fig. 3): sum over channels of
    |activation|^p, scaled to [0, 1] per image. (N, C, H, W) -> (N, H, W)."""
    energy = feature_map.abs().pow(p).sum(dim=1)
    flat = energy.flatten(1)
    low, high = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    return ((flat - low) / (high - low).clamp_min(1e-12)).view_as(energy)


def upsample_to(maps: torch.Tensor, size: int) -> torch.Tensor:
    """(N, h, w) maps -> (N, size, size), bilinear, for overlaying on the input."""
    return F.interpolate(maps[:, None], size=(size, size), mode='bilinear',
                         align_corners=False)[:, 0]


def filter_grid(weight: torch.Tensor, columns: int = 8, pad: int = 1) -> torch.Tensor:
    """First-layer filters (O, C, k, k) -> one image (rows*(k+pad), cols*(k+pad), C'),
    each filter scaled to [0, 1] on its own; C' is 3 for RGB filters, else 1
    (the mean over input channels)."""
    out_channels, in_channels, k, _ = weight.shape
    w = weight.detach().float()
    if in_channels != 3:
        w = w.mean(dim=1, keepdim=True)
    flat = w.flatten(1)
    low, high = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    w = ((flat - low) / (high - low).clamp_min(1e-12)).view_as(w)
    rows = (out_channels + columns - 1) // columns
    cell = k + pad
    grid = torch.ones(rows * cell - pad, columns * cell - pad, w.shape[1])
    for i in range(out_channels):
        r, c = divmod(i, columns)
        grid[r * cell:r * cell + k, c * cell:c * cell + k] = w[i].permute(1, 2, 0)
    return grid


def first_conv(model) -> torch.nn.Conv2d:
    """The first convolution of ``model.backbone``, whose filters :func:`filter_grid`
    shows."""
    return next(m for m in model.backbone.modules() if isinstance(m, torch.nn.Conv2d))


def read_runs(work_dir: str) -> List[List[dict]]:
    """The rows of each ``WORK_DIR/*/vis_data/scalars.json``, oldest run first."""
    return [read_scalars(path) for path in scalar_files(work_dir)]


def per_epoch(runs: List[List[dict]]) -> Dict[str, Dict[int, float]]:
    """``{name: {epoch: value}}`` for the k-NN top-1, the validation and the training
    rotation accuracy (all in %, as logged); a later run's epoch replaces an earlier's.
    The training accuracy of an epoch is the mean of its logged values."""
    curves = {KNN: {}, VAL: {}, TRAIN: {}}
    for rows in runs:
        train = defaultdict(list)
        for row in rows:
            for name in (KNN, VAL):
                if name in row:
                    curves[name][int(row['step'])] = float(row[name])
            if TRAIN in row and 'epoch' in row:
                train[int(row['epoch'])].append(float(row[TRAIN]))
        curves[TRAIN].update({epoch: sum(v) / len(v) for epoch, v in train.items()})
    return curves


def curves_table(curves: Dict[str, Dict[int, float]]) -> str:
    """The curves of :func:`per_epoch` as text, one row per epoch ('-' where a value was
    not logged)."""
    epochs = sorted(set().union(*(c.keys() for c in curves.values())))
    lines = [f'{"epoch":>5}  {"knn/top1":>8}  {"rot.acc train":>13}  {"rot.acc val":>11}']
    for epoch in epochs:
        cells = [curves[n].get(epoch) for n in (KNN, TRAIN, VAL)]
        text = ['-' if v is None else f'{v:.2f}' for v in cells]
        lines.append(f'{epoch:>5}  {text[0]:>8}  {text[1]:>13}  {text[2]:>11}')
    return '\n'.join(lines)
