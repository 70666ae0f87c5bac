"""Train the paper's classifiers (:mod:`rotation_pred.models.frozen_heads`) on frozen
feature maps, in plain torch, and measure them: the training loop of the ``nonlinear``
and ``conv`` protocols (:mod:`.protocols`).

The maps come as (N, C*H*W) rows (a :class:`~.extraction.FeatureSet` level extracted
with pooling ``'none'``, memory-mapped or not, float32 or float16) or as (N, C, H, W);
each mini-batch is read, cast to float32 and reshaped to (B, C, H, W) on its own, so the
whole set never needs to be in memory as float32 at once.

The optimiser and schedule are the paper code's for these heads: SGD with Nesterov
momentum 0.9, weight decay 5e-4, batch 128, cross-entropy, lr 0.1 multiplied by 0.2 at
fixed epochs (:data:`SCHEDULES`); a shorter run moves those epochs in proportion
(:func:`milestones_for`). A head can also train for a fixed number of steps whatever the
number of images (:func:`train_head` with ``steps``), the lr then falling at steps in the
same proportions.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

#: Per head: (the paper code's epochs, the epochs after which the lr is multiplied by
#: 0.2). Non-linear: lr 0.1 / 0.02 / 0.004 / 0.0008 up to epochs 20 / 40 / 45 / 50;
#: conv: up to epochs 35 / 70 / 85 / 100.
SCHEDULES: Dict[str, Tuple[int, Tuple[int, ...]]] = {
    'nonlinear': (50, (20, 40, 45)),
    'conv': (100, (35, 70, 85)),
}


def milestones_for(kind: str, epochs: int) -> List[int]:
    """The lr steps of head ``kind`` (``'nonlinear'`` or ``'conv'``) for a run of
    ``epochs`` epochs: the paper's epochs scaled by ``epochs`` / the paper's epochs and
    rounded half up, at least 1 (the paper's own with its number of epochs)."""
    paper_epochs, milestones = SCHEDULES[kind]
    return [max(1, (2 * m * epochs + paper_epochs) // (2 * paper_epochs))
            for m in milestones]


def build_head(kind: str, map_shape: Sequence[int], num_classes: int,
               conv_width: int = 192, seed: int = 0):
    """A freshly initialised head ``kind`` (``'nonlinear'``: :class:`NonLinearClsHead`
    with min(20 x classes, 2048) hidden units; ``'conv'``: :class:`ConvClsHead`
    ``conv_width`` wide) for (C, H, W) = ``map_shape`` maps, its weights drawn from
    ``seed`` (the global random state is left as it was)."""
    from mmengine.model import initialize

    from ..models.frozen_heads import ConvClsHead, NonLinearClsHead
    channels, height, width = (int(s) for s in map_shape)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == 'nonlinear':
            head = NonLinearClsHead(num_classes, channels, (height, width))
        elif kind == 'conv':
            head = ConvClsHead(num_classes, channels, mid_channels=conv_width)
        else:
            raise ValueError(f"head {kind!r}: use 'nonlinear' or 'conv'")
        initialize(head, head.init_cfg)
    return head


def _batch(maps, rows: np.ndarray, map_shape: Optional[Sequence[int]],
           device) -> torch.Tensor:
    """Rows ``rows`` (sorted) of ``maps`` as a float32 (B, C, H, W) tensor on ``device``."""
    if isinstance(maps, torch.Tensor):
        batch = maps[torch.from_numpy(rows)]
    else:
        batch = torch.from_numpy(np.ascontiguousarray(maps[rows]))
    batch = batch.to(device=device, dtype=torch.float32)
    if map_shape is not None:
        batch = batch.reshape(len(rows), *map_shape)
    if batch.dim() != 4:
        raise ValueError(f'the heads take (N, C, H, W) maps; got rows of shape '
                         f'{tuple(batch.shape[1:])} (give map_shape=(C, H, W) for flat '
                         'rows)')
    return batch


def _step_batches(num_images: int, batch_size: int, steps: int, rng):
    """``steps`` arrays of ``batch_size`` image indices (sorted), read in turn from a
    stream of random orders of the ``num_images`` images, one order after another (an
    image repeats within a batch only when ``num_images < batch_size``)."""
    stream = np.zeros(0, dtype=np.int64)
    for _ in range(steps):
        while len(stream) < batch_size:
            stream = np.concatenate([stream, rng.permutation(num_images)])
        yield np.sort(stream[:batch_size])
        stream = stream[batch_size:]


def train_head(head: torch.nn.Module, train_maps, train_y, epochs: Optional[int] = None,
               lr: float = 0.1, milestones: Sequence[int] = (), gamma: float = 0.2,
               map_shape: Optional[Sequence[int]] = None, batch_size: int = 128,
               momentum: float = 0.9, weight_decay: float = 5e-4, nesterov: bool = True,
               device='cpu', seed: int = 0, steps: Optional[int] = None
               ) -> List[Dict[str, float]]:
    """Train ``head`` in place on frozen maps, for ``epochs`` passes over the images or
    for ``steps`` SGD steps (exactly one of the two), and return its history.

    By epochs: one ``{'epoch', 'lr', 'loss'}`` per epoch (the lr of that epoch, the mean
    cross-entropy of its batches). By steps: one ``{'step', 'lr', 'loss'}`` per stretch
    of steps at one lr (``step``: the last step of the stretch, counted from 1).

    Args:
        head: a head whose ``head((x, ))`` gives (B, num_classes) scores for (B, C, H, W)
            maps ``x``; it is moved to ``device`` and left there, in train mode.
        train_maps: (N, C*H*W) rows with ``map_shape``, or (N, C, H, W) maps; numpy
            (memory maps too) or a torch tensor.
        train_y: (N,) class indices.
        epochs: passes over the N images, each in a new random order drawn from ``seed``.
        steps: instead of ``epochs``, this many steps of exactly ``batch_size`` images,
            read from one random order of the N images after another, drawn from
            ``seed`` (:func:`_step_batches`): the same number of steps whatever N, as
            when an "epoch" is a fixed number of samples.
        lr, milestones, gamma: epoch (or step) e, counted from 0, runs at ``lr`` x
            ``gamma`` ** (the number of ``milestones`` <= e): the lr is multiplied by
            ``gamma`` after each epoch (or step) listed (:func:`milestones_for`, which
            scales the paper's schedule to a number of epochs or of steps alike).
        batch_size, momentum, weight_decay, nesterov: of the SGD steps. By epochs, a
            last batch of a single image is left out of its epoch (BatchNorm cannot
            train on one).
    """
    labels = torch.as_tensor(np.asarray(train_y), dtype=torch.long)
    if labels.dim() != 1 or len(labels) != len(train_maps):
        raise ValueError(f'train_head needs (N,) class labels for the {len(train_maps)} '
                         f'maps; got shape {tuple(labels.shape)}')
    if (epochs is None) == (steps is None):
        raise ValueError(f'train_head: give epochs or steps, exactly one (got '
                         f'epochs={epochs!r}, steps={steps!r})')
    if steps is not None and (isinstance(steps, bool) or
                              not isinstance(steps, (int, np.integer)) or steps < 1):
        raise ValueError(f'train_head: steps must be a positive int, not {steps!r}')
    if steps is not None and batch_size < 2:
        raise ValueError(f'train_head: batch_size {batch_size}: BatchNorm needs batches of '
                         'at least 2 images')
    head.to(device).train()
    optimizer = torch.optim.SGD(head.parameters(), lr=lr, momentum=momentum,
                                weight_decay=weight_decay, nesterov=nesterov)
    order_rng = np.random.default_rng(seed)
    if steps is not None:
        return _train_steps(head, optimizer, train_maps, labels, steps, lr, milestones,
                            gamma, map_shape, batch_size, device, order_rng)
    history = []
    for epoch in range(epochs):
        order = order_rng.permutation(len(labels))
        total, count = 0.0, 0
        epoch_lr = lr * gamma ** sum(epoch >= m for m in milestones)
        for group in optimizer.param_groups:
            group['lr'] = epoch_lr
        for start in range(0, len(order), batch_size):
            rows = np.sort(order[start:start + batch_size])
            if len(rows) < 2:
                continue
            total += _sgd_step(head, optimizer, train_maps, labels, rows, map_shape,
                               device) * len(rows)
            count += len(rows)
        history.append(dict(epoch=epoch, lr=epoch_lr, loss=total / max(count, 1)))
    return history


def _sgd_step(head, optimizer, train_maps, labels: torch.Tensor, rows: np.ndarray,
              map_shape: Optional[Sequence[int]], device) -> float:
    """One SGD step of ``head`` on the maps ``rows``; returns their mean cross-entropy."""
    x = _batch(train_maps, rows, map_shape, device)
    loss = F.cross_entropy(head((x, )), labels[rows].to(device))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def _train_steps(head, optimizer, train_maps, labels: torch.Tensor, steps: int, lr: float,
                 milestones: Sequence[int], gamma: float,
                 map_shape: Optional[Sequence[int]], batch_size: int, device,
                 rng) -> List[Dict[str, float]]:
    """The loop of :func:`train_head` by steps; returns one ``{'step', 'lr', 'loss'}``
    per stretch of steps at one lr."""
    history, total, count = [], 0.0, 0
    for step, rows in enumerate(_step_batches(len(labels), batch_size, steps, rng)):
        step_lr = lr * gamma ** sum(step >= m for m in milestones)
        if not history or history[-1]['lr'] != step_lr:
            if count:
                history[-1]['loss'] = total / count
            history.append(dict(step=step + 1, lr=step_lr, loss=float('nan')))
            total, count = 0.0, 0
            for group in optimizer.param_groups:
                group['lr'] = step_lr
        total += _sgd_step(head, optimizer, train_maps, labels, rows, map_shape,
                           device) * len(rows)
        count += len(rows)
        history[-1]['step'] = step + 1
    history[-1]['loss'] = total / count
    return history


@torch.no_grad()
def head_predictions(head: torch.nn.Module, maps, map_shape: Optional[Sequence[int]] = None,
                     batch_size: int = 512) -> np.ndarray:
    """(N,) predicted classes of ``head`` (in eval mode: BatchNorm with its running
    statistics, so each image's class does not depend on the others) for ``maps``
    ((N, C*H*W) rows with ``map_shape``, or (N, C, H, W)), on the head's device."""
    device = next(head.parameters()).device
    head.eval()
    predicted = []
    for start in range(0, len(maps), batch_size):
        rows = np.arange(start, min(start + batch_size, len(maps)))
        predicted.append(head((_batch(maps, rows, map_shape, device), )).argmax(1).cpu())
    return torch.cat(predicted).numpy() if predicted else np.zeros(0, dtype=np.int64)


def head_accuracy(head: torch.nn.Module, maps, labels, map_shape: Optional[Sequence[int]]
                  = None, batch_size: int = 512) -> float:
    """Top-1 accuracy (%) of ``head`` on ``maps`` and (N,) ``labels``, in eval mode
    (:func:`head_predictions`)."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        raise ValueError('head_accuracy: no images')
    predicted = head_predictions(head, maps, map_shape, batch_size)
    return float((predicted == labels).mean() * 100)
