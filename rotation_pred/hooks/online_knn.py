"""Online k-NN: how good the features are, measured while the pretraining runs.

Rotation accuracy saturates within a few epochs and then says little about the
features. Every ``interval`` epochs (and after the last one) :class:`OnlineKNNHook`
classifies a fixed labelled subset with a weighted k-nearest-neighbour vote on the
frozen backbone features and logs the top-1 accuracy (%) as ``knn/top1``.

Protocol (:func:`rotation_pred.evaluation.knn.knn_accuracy`, the offline benchmark's
too; Wu et al. 2018): the unrotated images go through the backbone in eval mode; the
feature map of backbone level ``level`` is globally average-pooled to (N, C) and
L2-normalised; each query image's ``k`` most cosine-similar memory-bank images vote for
their class with weight exp(similarity / ``temperature``); the class with the largest
vote is the prediction.

The training run is not changed by the hook: it evaluates under ``torch.no_grad`` with
every module in eval mode (BatchNorm statistics are read, not updated), puts back each
module's ``training`` flag, and saves and restores the Python, numpy, torch CPU and
CUDA random number generators around everything it does (a random transform in its
pipeline draws from them). The weights after training are bit-identical with and without
it (tests/test_online_knn.py).

With several processes, rank 0 alone builds the subset, evaluates and logs; the other
ranks go on and wait for it at the next gradient all-reduce (the backbone is called
directly, so no collective runs during the evaluation). Only epoch-based training loops
call the hook.
"""
import time
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.dataset import default_collate
from mmengine.dist import is_main_process
from mmengine.hooks import Hook, LoggerHook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import DATASETS, HOOKS

from ..engine.rng import preserved_rng
from ..evaluation.knn import knn_accuracy

KNN_TAG = 'knn/top1'  # the scalar's name in the message hub and every vis backend


@contextmanager
def frozen(model: torch.nn.Module) -> Iterator[None]:
    """Every module in eval mode and no gradients inside; on leaving, each module's
    ``training`` flag is put back as it was (frozen stages stay frozen)."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for module, mode in modes:
            module.training = mode


@torch.no_grad()
def pooled_features(model, dataset, indices: Sequence[int], level: int,
                    batch_size: int) -> torch.Tensor:
    """(len(indices), C) float32 features: backbone output ``level`` of the unrotated
    images ``dataset[i]``, globally average-pooled, on the model's device."""
    chunks = []
    for start in range(0, len(indices), batch_size):
        batch = default_collate([dataset[i] for i in indices[start:start + batch_size]])
        inputs = model.data_preprocessor(batch, False)['inputs']
        levels = model.extract_feat(inputs)
        if not -len(levels) <= level < len(levels):
            raise ValueError(f'OnlineKNNHook: level={level} is not among the '
                             f'{len(levels)} backbone outputs (out_indices)')
        fmap = levels[level].float()
        chunks.append(fmap.mean(dim=(2, 3)) if fmap.dim() == 4 else fmap.flatten(1))
    return torch.cat(chunks)


def _check_range(name: str, value) -> Tuple[int, int]:
    """``(start, stop)`` of the option ``name`` (a half-open range of indices)."""
    try:
        start, stop = (int(v) for v in value)
    except (TypeError, ValueError):
        start = stop = -1
    if not 0 <= start < stop:
        raise ValueError(f'OnlineKNNHook: {name}={value!r} must be (start, stop), '
                         'the dataset indices start..stop-1, with 0 <= start < stop')
    return start, stop


@HOOKS.register_module()
class OnlineKNNHook(Hook):
    """Log the weighted k-NN top-1 (%) of the frozen features every ``interval`` epochs.

    Args:
        dataset: config (or built data set) of the labelled images, with a test
            pipeline that ends in ``PackInputs``; indices below count in it.
        bank_range: ``(start, stop)``: images start..stop-1 are the memory bank whose
            labels vote.
        query_range: ``(start, stop)``: images start..stop-1 are classified; must not
            overlap ``bank_range``.
        interval: evaluate after every ``interval``-th epoch and after the last one.
        at_start: also evaluate once before the first iteration (logged as epoch 0:
            the features of the initial weights, the point the curve starts from); not
            when a run is resumed.
        k: neighbours that vote (default 20). temperature: T of the vote weights
            exp(cos / T) (default 0.07). level: which backbone output (an index into
            its ``out_indices``; default -1, the last). batch_size: images per forward.

    Logs ``knn/top1`` to the message hub, to every vis backend of the visualizer (at
    the step the ``LoggerHook`` gives validation metrics: the epoch by default) and one
    line to the text log. A data set without ``gt_label`` turns the hook off, said once.
    """
    priority = 'NORMAL'  # before the CheckpointHook (VERY_LOW) of the same epoch

    def __init__(self, dataset, bank_range: Sequence[int], query_range: Sequence[int],
                 interval: int = 1, k: int = 20, temperature: float = 0.07,
                 level: int = -1, batch_size: int = 256, at_start: bool = False):
        self.bank_range = _check_range('bank_range', bank_range)
        self.query_range = _check_range('query_range', query_range)
        if (self.bank_range[0] < self.query_range[1]
                and self.query_range[0] < self.bank_range[1]):
            raise ValueError(f'OnlineKNNHook: bank_range={tuple(bank_range)} and '
                             f'query_range={tuple(query_range)} overlap (a query would '
                             'find itself in the bank)')
        bank_size = self.bank_range[1] - self.bank_range[0]
        if not (isinstance(k, int) and 1 <= k <= bank_size):
            raise ValueError(f'OnlineKNNHook: k={k!r} must be an integer in '
                             f'1..{bank_size} (the bank_range size)')
        if not (isinstance(interval, int) and interval >= 1):
            raise ValueError(f'OnlineKNNHook: interval={interval!r} must be an integer >= 1')
        if not temperature > 0:
            raise ValueError(f'OnlineKNNHook: temperature={temperature!r} must be > 0')
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f'OnlineKNNHook: batch_size={batch_size!r} must be an '
                             'integer >= 1')
        self.dataset_cfg = dataset
        self.interval, self.k, self.temperature = interval, k, float(temperature)
        self.level, self.batch_size = int(level), batch_size
        self.at_start = bool(at_start)
        self.dataset = None
        self.bank_y: Optional[torch.Tensor] = None
        self.query_y: Optional[torch.Tensor] = None

    def before_train(self, runner) -> None:
        """Rank 0 builds the data set and reads the labels of both subsets."""
        if not is_main_process():
            return
        with preserved_rng():
            dataset = (DATASETS.build(self.dataset_cfg)
                       if isinstance(self.dataset_cfg, dict) else self.dataset_cfg)
            for name, (_, stop) in (('bank_range', self.bank_range),
                                    ('query_range', self.query_range)):
                if stop > len(dataset):
                    raise ValueError(f'OnlineKNNHook: {name} ends at {stop} but the '
                                     f'data set has {len(dataset)} images')
            bank_y, query_y = (self._labels(dataset, r)
                               for r in (self.bank_range, self.query_range))
        if bank_y is None or query_y is None:
            runner.logger.warning(
                f'OnlineKNNHook: the data set ({type(dataset).__name__}) has no class '
                'labels (gt_label), so the online k-NN is off for this run')
            return
        self.dataset, self.bank_y, self.query_y = dataset, bank_y, query_y
        if self.at_start and runner.iter == 0:  # not on resume: epoch 0 is logged
            self._evaluate_and_log(runner, epoch=0)

    @staticmethod
    def _labels(dataset, index_range: Tuple[int, int]) -> Optional[torch.Tensor]:
        """(stop - start,) int64 classes of the range, or None if one has no label."""
        labels: List[int] = []
        for i in range(*index_range):
            if hasattr(dataset, 'get_data_info'):  # an MMEngine data set: no pipeline
                label = dataset.get_data_info(i).get('gt_label')
            else:  # a wrapper such as ClassBalancedSubset: the packed sample's label
                label = dataset[i]['data_samples'].get('gt_label')
            if label is None or int(label) < 0:
                return None
            labels.append(int(label))
        return torch.tensor(labels, dtype=torch.int64)

    def after_train_epoch(self, runner) -> None:
        if self.dataset is None or not is_main_process():
            return
        if not (self.every_n_epochs(runner, self.interval)
                or self.is_last_train_epoch(runner)):
            return
        # epochs done: runner.epoch counts up after this hook
        self._evaluate_and_log(runner, epoch=runner.epoch + 1)

    def _evaluate_and_log(self, runner, epoch: int) -> None:
        started = time.perf_counter()
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        with preserved_rng(), frozen(model):
            top1 = self.evaluate(model)
        self._log(runner, top1, time.perf_counter() - started, epoch)

    def evaluate(self, model) -> float:
        """k-NN top-1 (%) of ``model``'s features (call it with the model frozen)."""
        bank_x, query_x = (pooled_features(model, self.dataset, range(*r), self.level,
                                           self.batch_size)
                           for r in (self.bank_range, self.query_range))
        accuracy = knn_accuracy(bank_x, self.bank_y, query_x, self.query_y, (self.k, ),
                                self.temperature, (1, ))
        return accuracy[self.k][1]

    def _log(self, runner, top1: float, seconds: float, epoch: int) -> None:
        """``knn/top1`` after ``epoch`` epochs to the message hub, the vis backends and
        the text log."""
        logger_hook = next((h for h in runner.hooks if isinstance(h, LoggerHook)), None)
        by_epoch = logger_hook is None or logger_hook.log_metric_by_epoch
        runner.message_hub.update_scalar(KNN_TAG, top1)
        runner.visualizer.add_scalars(
            {KNN_TAG: top1}, step=epoch if by_epoch else runner.iter,
            file_path=None if logger_hook is None else logger_hook.json_log_path)
        bank, queries = (r[1] - r[0] for r in (self.bank_range, self.query_range))
        runner.logger.info(
            f'Epoch(knn) [{epoch}]  {KNN_TAG}: {top1:.2f}  (weighted k-NN, k={self.k}, '
            f'T={self.temperature:g}, backbone level {self.level}, {bank} bank / '
            f'{queries} query images, {seconds:.1f} s)')
