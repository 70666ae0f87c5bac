"""Top-k accuracy of every level of a multi-level linear evaluation."""
from typing import Dict, List, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS

from .topk import topk_hits


@METRICS.register_module()
class MultiLevelAccuracy(BaseMetric):
    """Top-k accuracy (%) per level, from the ``level_scores`` that
    :class:`~rotation_pred.models.MultiLevelLinearHead` puts on each sample.

    Keys: ``multi-level/<level>_top<k>`` (e.g. ``multi-level/feat5_top1``). Only the
    hits are kept per sample, not the scores, so memory stays small on large test sets.

    Args:
        topk: the k of the top-k accuracies.
    """
    default_prefix = 'multi-level'

    def __init__(self, topk: Sequence[int] = (1, ), **kwargs):
        super().__init__(**kwargs)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'level_scores' not in sample:
                raise KeyError('MultiLevelAccuracy needs level_scores in the predictions: '
                               'use it with head MultiLevelLinearHead')
            label = torch.as_tensor(sample['gt_label']).view(1).cpu()
            self.results.append({
                name: {k: bool(hit[0]) for k, hit in
                       topk_hits(scores.view(1, -1).cpu(), label, self.topk).items()}
                for name, scores in sample['level_scores'].items()})

    def compute_metrics(self, results: List[Dict[str, Dict[int, bool]]]) -> dict:
        metrics = {}
        for name in results[0]:
            for k in self.topk:
                hits = sum(r[name][k] for r in results)
                metrics[f'{name}_top{k}'] = 100.0 * hits / len(results)
        return metrics
