"""Low-shot SVMs: k positives per class, several independent samples.

For each class, a sample keeps k positive and (C - 1) * k negative training images
(drawn at random; difficult and unsampled images are ignored), so every class sees
the same number of images as a k-shot multi-class problem. For each k, the SVM cost
with the best test mAP averaged over the samples is kept (as in the reference), and
the mean, std, min and max over the samples at that cost are reported.
"""
from typing import Dict, Sequence

import numpy as np
from joblib import Parallel, delayed

from .svm import COSTS, average_precision, fit_svm, l2_normalize

LOW_SHOT_KS = (1, 2, 4, 8, 16, 32, 64, 96)


def sample_low_shot(targets: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """(N, C) targets in {1, -1, 0} -> (N, C) targets with, in each column, k random
    positives, (C - 1) * k random negatives and 0 (ignored) everywhere else."""
    num_classes = targets.shape[1]
    sampled = np.zeros_like(targets)
    for c in range(num_classes):
        for value, count in ((1, k), (-1, (num_classes - 1) * k)):
            pool = np.flatnonzero(targets[:, c] == value)
            if len(pool) < count:
                kind = 'positive' if value == 1 else 'negative'
                raise ValueError(f'low-shot k={k}: class {c} has {len(pool)} {kind} '
                                 f'training images, {count} are needed')
            sampled[rng.choice(pool, count, replace=False), c] = value
    return sampled


def _sample_class_aps(train_x, sampled_t, test_x, test_t, costs, eleven_point):
    """Test AP of one class for each cost."""
    return [average_precision(fit_svm(train_x, sampled_t, cost).decision_function(test_x),
                              test_t, eleven_point) for cost in costs]


def summarize_samples(maps: np.ndarray, costs: Sequence[float]) -> Dict:
    """(samples, costs) mAPs -> the cost with the best mean, and mean/std/min/max there."""
    best = int(np.argmax(maps.mean(axis=0)))
    at_best = maps[:, best]
    return dict(cost=costs[best], mean=float(at_best.mean()), std=float(at_best.std()),
                min=float(at_best.min()), max=float(at_best.max()))


def low_shot_svm_map(train_x: np.ndarray, train_t: np.ndarray, test_x: np.ndarray,
                     test_t: np.ndarray, ks: Sequence[int] = LOW_SHOT_KS,
                     num_samples: int = 5, costs: Sequence[float] = COSTS,
                     n_jobs: int = -1, seed: int = 0, eleven_point: bool = False) -> Dict:
    """Low-shot SVM mAP (%) for every k.

    Args:
        train_x, test_x: (N, D) and (M, D) features (L2-normalised here).
        train_t, test_t: (N, C) and (M, C) targets in {1, -1, 0}.
        ks: positives per class; num_samples: independent samples per k.

    Returns:
        ``{k: dict(cost, mean, std, min, max, maps=[[% per cost] per sample])}``.
    """
    train_x, test_x = l2_normalize(train_x), l2_normalize(test_x)
    num_classes = train_t.shape[1]
    samples = {(k, s): sample_low_shot(train_t, k, np.random.default_rng([seed, s, k]))
               for k in ks for s in range(num_samples)}
    aps = Parallel(n_jobs=n_jobs)(
        delayed(_sample_class_aps)(train_x, samples[k, s][:, c], test_x, test_t[:, c],
                                   costs, eleven_point)
        for k in ks for s in range(num_samples) for c in range(num_classes))
    aps = 100 * np.asarray(aps).reshape(len(ks), num_samples, num_classes, len(costs))
    results = {}
    for i, k in enumerate(ks):
        maps = aps[i].mean(axis=1)  # (samples, costs)
        results[k] = dict(summarize_samples(maps, costs), maps=maps.tolist())
    return results
