"""Weighted k-nearest-neighbour classification of frozen features.

Features are L2-normalised, so the dot product is the cosine similarity. Each of the k
most similar training images votes for its class with weight exp(similarity / T).
"""
from typing import Dict, Sequence

import torch
import torch.nn.functional as F

from ..evaluation.topk import topk_hits

KNN_KS = (10, 20, 100, 200)


@torch.no_grad()
def knn_scores(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
               ks: Sequence[int] = KNN_KS, temperature: float = 0.07,
               num_classes: int = None, chunk: int = 1024) -> Dict[int, torch.Tensor]:
    """Class votes ``{k: (M, num_classes)}`` of the test features.

    Args:
        train_x: (N, D) training features; train_y: (N,) their classes.
        test_x: (M, D) features to classify (same device as ``train_x``).
        ks: neighbour counts, each <= N.
        temperature: T of the vote weights exp(cos / T).
        chunk: test rows per similarity block (memory: chunk x N).
    """
    if max(ks) > len(train_x):
        raise ValueError(f'k-NN: k={max(ks)} is larger than the {len(train_x)} training '
                         'samples')
    num_classes = num_classes or int(train_y.max()) + 1
    train_x, test_x = F.normalize(train_x.float(), dim=1), F.normalize(test_x.float(), dim=1)
    votes = {k: [] for k in ks}
    for start in range(0, len(test_x), chunk):
        similarity = test_x[start:start + chunk] @ train_x.T
        top_sim, top_idx = similarity.topk(max(ks), dim=1)
        weights = (top_sim / temperature).exp()
        neighbour_y = train_y[top_idx]
        for k in ks:
            block = torch.zeros(len(top_sim), num_classes, device=train_x.device)
            votes[k].append(block.scatter_add_(1, neighbour_y[:, :k], weights[:, :k]))
    return {k: torch.cat(v) for k, v in votes.items()}


def knn_accuracy(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
                 test_y: torch.Tensor, ks: Sequence[int] = KNN_KS,
                 temperature: float = 0.07, topk: Sequence[int] = (1, 5),
                 **kwargs) -> Dict[int, Dict[int, float]]:
    """Top-k accuracy (%) of the weighted k-NN classifier: ``{k: {topk: accuracy}}``."""
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    scores = knn_scores(train_x, train_y, test_x, ks, temperature, num_classes, **kwargs)
    test_y = test_y.to(train_x.device)
    return {k: {t: float(hit.float().mean() * 100)
                for t, hit in topk_hits(s, test_y, topk).items()}
            for k, s in scores.items()}
