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
    A batch is scored on the device of its scores and reaches the host as one tensor.

    Args:
        topk: the k of the top-k accuracies.
    """
    default_prefix = 'multi-level'

    def __init__(self, topk: Sequence[int] = (1, ), **kwargs):
        super().__init__(**kwargs)
        self.topk = tuple(topk)

    def batch_hits(self, data_samples: Sequence[dict]) -> torch.Tensor:
        """(N, L * T) bool on the device of the scores, for N samples, L levels (in the
        order of the first sample's ``level_scores``) and T = len(topk): column
        ``l * T + t`` says whether level l has the label among its topk[t] best scores."""
        names = list(data_samples[0]['level_scores'])
        first = data_samples[0]['level_scores'][names[0]]
        labels = torch.cat([torch.as_tensor(sample['gt_label']).view(1)
                            for sample in data_samples]).to(first.device)
        columns = []
        for name in names:
            scores = torch.stack([sample['level_scores'][name].view(-1)
                                  for sample in data_samples])  # (N, classes)
            hits = topk_hits(scores, labels, self.topk)
            columns.extend(hits[k] for k in self.topk)
        return torch.stack(columns, dim=1)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'level_scores' not in sample:
                raise KeyError('MultiLevelAccuracy needs level_scores in the predictions: '
                               'use it with head MultiLevelLinearHead')
        if not data_samples:
            return
        names = list(data_samples[0]['level_scores'])
        width = len(self.topk)
        for row in self.batch_hits(data_samples).tolist():
            self.results.append({
                name: {k: row[i * width + t] for t, k in enumerate(self.topk)}
                for i, name in enumerate(names)})

    def compute_metrics(self, results: List[Dict[str, Dict[int, bool]]]) -> dict:
        metrics = {}
        for name in results[0]:
            for k in self.topk:
                hits = sum(r[name][k] for r in results)
                metrics[f'{name}_top{k}'] = 100.0 * hits / len(results)
        return metrics
