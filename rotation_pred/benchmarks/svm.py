"""Linear SVMs on frozen features: the VOC07 SVM protocol (one SVM per class).

Targets are (N, C) arrays in {1, -1, 0}: positive, negative, "difficult" (VOC: the
image has objects of the class, all marked difficult). As in the reference benchmark,
difficult images are negatives when the SVMs are trained and cross-validated, and are
left out of the AP at test. Features are L2-normalised; each class gets a ``LinearSVC``
(squared hinge, L2, dual, class weight {1: 2, -1: 1}) whose cost is chosen among the
reference's 19 costs by 3-fold cross-validated AP (unshuffled stratified folds) on the
train set; the mAP is measured on the test set.
The fits run in joblib threads on every core (liblinear releases the GIL, so threads
need no copies of the features and no worker start-up).
"""
import contextlib
import warnings
from typing import Dict, Sequence

import numpy as np
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from .progress import Progress

#: The reference's cost list: its "1,10,100" argument plus 0.5^k for k = 4..19.
COSTS = (1.0, 10.0, 100.0) + tuple(0.5 ** k for k in range(4, 20))
CLASS_WEIGHT = {1: 2, -1: 1}


def l2_normalize(features: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Rows of (N, D) divided by their L2 norm (+ ``eps``), as float32."""
    features = np.asarray(features, dtype=np.float32)
    return features / (np.linalg.norm(features, axis=1, keepdims=True) + eps)


def one_vs_rest_targets(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Class indices (N,) -> (N, C) targets: 1 for the image's class, -1 elsewhere."""
    labels = np.asarray(labels)
    targets = -np.ones((len(labels), num_classes), dtype=np.int8)
    targets[np.arange(len(labels)), labels] = 1
    return targets


def average_precision(scores: np.ndarray, targets: np.ndarray,
                      eleven_point: bool = False) -> float:
    """AP of scores (N,) against targets (N,) in {1, -1, 0}; 0 is ignored.

    Default: the area under the precision-recall curve after making precision
    monotonically decreasing (every recall step counts), as in the reference SVM
    benchmark. ``eleven_point=True``: the VOC2007 devkit's mean of the best precision
    at recall >= 0, 0.1, ..., 1.
    """
    scores, targets = np.asarray(scores, dtype=np.float64), np.asarray(targets)
    keep = targets != 0
    positive = targets[keep] > 0
    if not positive.any():
        raise ValueError('average_precision: no positive target')
    order = np.argsort(-scores[keep], kind='stable')
    tp = np.cumsum(positive[order])
    fp = np.cumsum(~positive[order])
    recall = tp / positive.sum()
    precision = tp / (tp + fp)
    if eleven_point:
        return float(np.mean([precision[recall >= r].max() if (recall >= r).any() else 0.0
                              for r in np.linspace(0, 1, 11)]))
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(steps * envelope))


def make_svm(cost: float, max_iter: int = 2000) -> LinearSVC:
    """The reference's SVM: squared hinge, L2 penalty, dual, class weight {1: 2, -1: 1}."""
    return LinearSVC(C=cost, class_weight=CLASS_WEIGHT, loss='squared_hinge', penalty='l2',
                     dual=True, max_iter=max_iter, tol=1e-4, intercept_scaling=1.0)


def difficult_as_negative(targets: np.ndarray) -> np.ndarray:
    """Training targets of the full protocol: difficult (0) becomes negative (-1)."""
    return np.where(np.asarray(targets) == 0, -1, targets).astype(np.int8)


def fit_svm(features: np.ndarray, targets: np.ndarray, cost: float) -> LinearSVC:
    """An SVM on the rows whose target (N,) is 1 or -1 (0 rows are left out: the
    images a low-shot sample did not draw)."""
    keep = targets != 0
    return make_svm(cost).fit(features[keep], targets[keep])


@contextlib.contextmanager
def parallel_fits(n_jobs: int, label: str = '[svm] fits', progress: bool = True):
    """``run(calls) -> [results]``: the joblib ``delayed`` calls of SVM fits run in
    threads, in order, with a progress line (done / total, ETA) on stderr about every
    tenth of them. liblinear stopping at max_iter=2000 (part of the protocol) is not
    reported; the filter is set here, once, because ``warnings.catch_warnings`` is not
    thread-safe."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ConvergenceWarning)
        with Parallel(n_jobs=n_jobs, prefer='threads', return_as='generator') as parallel:
            def run(calls):
                calls = list(calls)
                results = parallel(calls)
                if progress:
                    results = Progress(results, label, unit='fits', total=len(calls))
                return list(results)
            yield run


def cross_validated_ap(features: np.ndarray, targets: np.ndarray, cost: float,
                       folds: int = 3) -> float:
    """Mean AP over ``folds`` stratified folds, in data set order (no shuffling, as
    the reference's ``cross_val_score(cv=3)``), of the rows whose target is 1 or -1."""
    keep = np.flatnonzero(targets != 0)
    labels = targets[keep]
    splitter = StratifiedKFold(n_splits=folds)
    aps = []
    for train, held_out in splitter.split(keep, labels):
        svm = fit_svm(features[keep[train]], labels[train], cost)
        aps.append(average_precision(svm.decision_function(features[keep[held_out]]),
                                     labels[held_out]))
    return float(np.mean(aps))


def _test_ap(train_x, train_t, test_x, test_t, cost, eleven_point):
    svm = fit_svm(train_x, train_t, cost)
    return average_precision(svm.decision_function(test_x), test_t, eleven_point)


def svm_map(train_x: np.ndarray, train_t: np.ndarray, test_x: np.ndarray,
            test_t: np.ndarray, costs: Sequence[float] = COSTS, folds: int = 3,
            n_jobs: int = -1, eleven_point: bool = False) -> Dict:
    """The full SVM protocol on L2-normalised features.

    Args:
        train_x, test_x: (N, D) and (M, D) features (normalised here).
        train_t, test_t: (N, C) and (M, C) targets in {1, -1, 0}; 0 (difficult) is a
            negative in training and left out at test.
        costs: the SVM costs tried for each class (default: the reference's 19).
        folds: cross-validation folds that choose each class's cost.
        n_jobs: joblib threads (-1: every core).

    Returns:
        ``dict(mAP=%, ap=[% per class], cost=[chosen per class],
        cv_ap=[[% per cost] per class])``.
    """
    train_x, test_x = l2_normalize(train_x), l2_normalize(test_x)
    train_t = difficult_as_negative(train_t)
    classes = range(train_t.shape[1])
    with parallel_fits(n_jobs, f'[svm] {len(costs)} costs x {len(classes)} classes, '
                       f'{folds}-fold cross-validation') as parallel:
        cv = parallel(delayed(cross_validated_ap)(train_x, train_t[:, c], cost, folds)
                      for c in classes for cost in costs)
        cv = np.asarray(cv).reshape(len(classes), len(costs))
        chosen = [costs[i] for i in cv.argmax(axis=1)]
        aps = parallel(delayed(_test_ap)(train_x, train_t[:, c], test_x, test_t[:, c],
                                         chosen[c], eleven_point) for c in classes)
    return dict(mAP=100 * float(np.mean(aps)), ap=[100 * a for a in aps], cost=chosen,
                cv_ap=(100 * cv).tolist())
