"""Class-balanced labelled subsets (1% / 10% of ImageNet) for semi-supervised fine-tuning."""
from typing import Sequence

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
