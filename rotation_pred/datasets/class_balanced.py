"""Class-balanced labelled subsets: a fraction of every class (1% / 10% of ImageNet) for
semi-supervised fine-tuning, or K images of every class (label-efficiency curves)."""
from typing import Optional, Sequence

import numpy as np


def class_balanced_subset(labels: Sequence[int], fraction: float, seed: int = 0
                          ) -> np.ndarray:
    """Indices (sorted) of a subset with the same number of images in every class.

    Each class gets ``max(1, round(fraction * N / num_classes))`` images drawn without
    replacement (all of them if the class has fewer), using ``seed``; so ``fraction``
    of N images in total when no class is short.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f'fraction must be in (0, 1], got {fraction}')
    labels = np.asarray(labels)
    classes = np.unique(labels)
    per_class = max(1, int(round(fraction * len(labels) / len(classes))))
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(labels == c),
                         min(per_class, int((labels == c).sum())), replace=False)
              for c in classes]
    return np.sort(np.concatenate(chosen))


def k_per_class(labels: Sequence[int], k, seed: int, pool: Optional[Sequence[int]] = None,
                where: Optional[str] = None) -> np.ndarray:
    """Indices (sorted, int64) of ``k`` images of every class, drawn with ``seed`` from
    the indices ``pool`` of ``labels`` (default: all of them).

    ``k='all'`` (or None) gives the whole pool, sorted. Otherwise each class of
    ``labels`` (in increasing order) gets a random order of its images in the pool, drawn
    with ``seed`` whatever ``k``, and its first ``k`` are kept: for one seed and one pool
    the subsets of every ``k`` are nested, and the same call gives the same images.

    Raises ValueError when ``k`` is not a positive int, ``'all'`` or None, when ``pool``
    names an index outside ``labels`` or twice, and, naming the class and its count,
    when a class has fewer than ``k`` images in the pool (``where`` says what the pool
    is, e.g. ``'outside the validation split'``; default ``'in the pool'``).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f'k_per_class needs (N,) class labels, got shape {labels.shape}')
    pool = np.arange(len(labels)) if pool is None else np.asarray(pool, dtype=np.int64)
    if pool.ndim != 1 or (len(pool) and (pool.min() < 0 or pool.max() >= len(labels))):
        raise ValueError(f'k_per_class: the pool must list indices of the {len(labels)} '
                         'labels')
    if len(np.unique(pool)) != len(pool):
        raise ValueError('k_per_class: the pool lists an index more than once')
    if k is None or (isinstance(k, str) and k == 'all'):
        return np.sort(pool).astype(np.int64)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k_per_class: k must be a positive int, 'all' or None, not {k!r}")
    where = where or 'in the pool'
    pool = np.sort(pool)
    pool_labels = labels[pool]
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):
        members = pool[pool_labels == c]
        if len(members) < k:
            raise ValueError(f'class {c} has {len(members):,} images {where}, fewer than '
                             f'K={k}')
        chosen.append(rng.permutation(members)[:k])
    return np.sort(np.concatenate(chosen)).astype(np.int64)
