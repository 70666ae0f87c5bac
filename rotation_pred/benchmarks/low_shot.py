"""Low-shot SVMs: k positives per class, several independent samples.

For each class, a sample keeps k positive and (C - 1) * k negative training images
(drawn at random; difficult and unsampled images are ignored), so every class sees
the same number of images as a k-shot multi-class problem. The mean, std, min and max
of the mAP over the samples are reported for each k.

The SVM cost of each class is given (deviation from the reference, whose scripts keep
the cost with the best test mAP and so tune on the test set): the benchmark tools pass
the cost that the full SVM protocol's 3-fold cross-validation chose for that class on
the whole training set (:func:`.svm.svm_map`), so no test image takes part in it.
"""
from typing import Dict, Sequence, Union

import numpy as np
from joblib import delayed

from .svm import average_precision, fit_svm, l2_normalize, parallel_fits

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


def _sample_class_ap(train_x, sampled_t, test_x, test_t, cost, eleven_point):
    """Test AP of one class trained on one low-shot sample."""
    return average_precision(fit_svm(train_x, sampled_t, cost).decision_function(test_x),
                             test_t, eleven_point)


def summarize_samples(maps: np.ndarray) -> Dict:
    """(samples,) mAPs -> their mean, std, min and max."""
    return dict(mean=float(maps.mean()), std=float(maps.std()), min=float(maps.min()),
                max=float(maps.max()))


def low_shot_svm_map(train_x: np.ndarray, train_t: np.ndarray, test_x: np.ndarray,
                     test_t: np.ndarray, ks: Sequence[int] = LOW_SHOT_KS,
                     num_samples: int = 5, cost: Union[float, Sequence[float]] = 1.0,
                     n_jobs: int = -1, seed: int = 0, eleven_point: bool = False) -> Dict:
    """Low-shot SVM mAP (%) for every k.

    Args:
        train_x, test_x: (N, D) and (M, D) features (L2-normalised here).
        train_t, test_t: (N, C) and (M, C) targets in {1, -1, 0}.
        ks: positives per class; num_samples: independent samples per k.
        cost: the SVM cost of every class, or one per class (C,), chosen without
            the test images (the tools: the full protocol's cross-validated costs).

    Returns:
        ``{k: dict(cost=[per class], mean, std, min, max, maps=[% per sample])}``.
    """
    train_x, test_x = l2_normalize(train_x), l2_normalize(test_x)
    num_classes = train_t.shape[1]
    costs = np.asarray(cost, dtype=float).reshape(-1)
    if costs.size == 1:
        costs = np.repeat(costs, num_classes)
    if costs.shape != (num_classes, ):
        raise ValueError(f'low-shot: cost must be one number or one per class '
                         f'({num_classes}), not {cost!r}')
    costs = costs.tolist()
    samples = {(k, s): sample_low_shot(train_t, k, np.random.default_rng([seed, s, k]))
               for k in ks for s in range(num_samples)}
    with parallel_fits(n_jobs, f'[low-shot] {len(ks)} k x {num_samples} samples x '
                       f'{num_classes} classes') as parallel:
        aps = parallel(
            delayed(_sample_class_ap)(train_x, samples[k, s][:, c], test_x, test_t[:, c],
                                      costs[c], eleven_point)
            for k in ks for s in range(num_samples) for c in range(num_classes))
    aps = 100 * np.asarray(aps).reshape(len(ks), num_samples, num_classes)
    results = {}
    for i, k in enumerate(ks):
        maps = aps[i].mean(axis=1)  # (samples,)
        results[k] = dict(summarize_samples(maps), cost=costs, maps=maps.tolist())
    return results
