"""Rotation accuracy of RotationPred's predictions."""
from typing import List, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS


def right_copies(scores: torch.Tensor) -> torch.Tensor:
    """For the rotation scores (N, K, K) of N images: (N,) how many of each image's K
    rotated copies are predicted right, on the device of ``scores``. Row k of an image
    holds the scores of its copy turned by the k-th rotation: its right answer is k."""
    truth = torch.arange(scores.shape[1], device=scores.device)
    return (scores.argmax(dim=2) == truth).sum(dim=1)


@METRICS.register_module()
class RotationAccuracy(BaseMetric):
    """Share (%) of rotated copies whose rotation is predicted right.

    Reads ``rotation_scores`` (K, K) of each image: row k holds the scores of the
    copy turned by the k-th rotation, so the right answer of row k is k. A batch is
    scored on its device and reaches the host as one (N,) tensor; one result per
    image is kept (MMEngine's distributed collection counts results per image).
    """
    default_prefix = 'rotation'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        if not data_samples:
            return
        scores = torch.stack([sample['rotation_scores'] for sample in data_samples])
        copies = scores.shape[1]
        self.results.extend((right, copies) for right in right_copies(scores).tolist())

    def compute_metrics(self, results: List[tuple]) -> dict:
        right = sum(r for r, _ in results)
        total = sum(n for _, n in results)
        return dict(accuracy=100.0 * right / max(total, 1))
