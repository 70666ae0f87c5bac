"""Rotation accuracy of RotationPred's predictions."""
from typing import List, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS


@METRICS.register_module()
class RotationAccuracy(BaseMetric):
    """Share (%) of rotated copies whose rotation is predicted right.

    Reads ``rotation_scores`` (K, K) of each image: row k holds the scores of the
    copy turned by the k-th rotation, so the right answer of row k is k.
    """
    default_prefix = 'rotation'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            scores = sample['rotation_scores']
            right = scores.argmax(dim=1) == torch.arange(len(scores), device=scores.device)
            self.results.append((int(right.sum()), len(scores)))

    def compute_metrics(self, results: List[tuple]) -> dict:
        right = sum(r for r, _ in results)
        total = sum(n for _, n in results)
        return dict(accuracy=100.0 * right / max(total, 1))
