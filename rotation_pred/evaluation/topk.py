"""Top-k hits of class scores: the one piece of top-k maths shared by the multi-level
head, its metric and the k-NN benchmark."""
from typing import Dict, Sequence

import torch


def topk_hits(scores: torch.Tensor, labels: torch.Tensor,
              topk: Sequence[int] = (1, )) -> Dict[int, torch.Tensor]:
    """For scores (N, K) and labels (N,): ``{k: (N,) bool}``, whether the label is among
    the ``k`` best scores (``k`` is capped at K)."""
    largest = min(max(topk), scores.shape[1])
    best = scores.topk(largest, dim=1).indices
    hits = best == labels.view(-1, 1)
    return {k: hits[:, :min(k, scores.shape[1])].any(dim=1) for k in topk}
