"""Weighted k-nearest-neighbour classification of frozen features (Wu et al. 2018): the
one k-NN of the project, used by the online hook during pretraining and by the offline
benchmarks.

Features are L2-normalised, so the dot product is the cosine similarity. Each of the k
most similar memory-bank images votes for its class with weight exp(similarity / T).

The vote streams: queries go in blocks of ``query_chunk`` rows and, for each block, the
bank goes in blocks of ``bank_chunk`` rows, keeping a running top-max(ks) per query. The
extra memory is one fp32 similarity block (query_chunk x bank_chunk), one normalised fp32
copy of a bank block (bank_chunk x D) and the running top (query_chunk x max(ks)), plus
the (M, C) votes returned; neither the whole normalised bank nor an M x N similarity
matrix is ever held. The bank may be a torch tensor (fp16 or fp32, on any device) or a
numpy array (``np.memmap`` included), read block by block.
"""
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from .topk import topk_hits

KNN_KS = (10, 20, 100, 200)

Array = Union[torch.Tensor, np.ndarray]


def _normalised_rows(x: Array, start: int, stop: int,
                     device: torch.device) -> torch.Tensor:
    """Rows start..stop-1 of (N, D) ``x``, L2-normalised, as an fp32 tensor on
    ``device``: one (stop - start, D) fp32 block (a numpy array is read block by block,
    a memmap reads only those rows)."""
    if isinstance(x, torch.Tensor):
        block = x[start:stop]
    else:
        block = torch.from_numpy(np.array(x[start:stop]))
    converted = block.to(device=device, dtype=torch.float32)
    if converted is block:  # fp32 already there: the caller's memory, not to be written
        return F.normalize(converted, dim=1)
    # in place, the same arithmetic as F.normalize: x / max(||x||, 1e-12)
    return converted.div_(converted.norm(dim=1, keepdim=True).clamp_min_(1e-12))


def _labels(y: Array, device: torch.device) -> torch.Tensor:
    """(N,) int64 class indices on ``device``."""
    if not isinstance(y, torch.Tensor):
        y = torch.from_numpy(np.asarray(y))
    return y.to(device=device, dtype=torch.int64)


def _check_ks(ks: Sequence[int], bank_size: int) -> Sequence[int]:
    ks = tuple(ks)
    if not ks:
        raise ValueError('k-NN: ks is empty (give at least one neighbour count)')
    for k in ks:
        if not (isinstance(k, (int, np.integer)) and k >= 1):
            raise ValueError(f'k-NN: k={k!r} must be an integer >= 1')
    if max(ks) > bank_size:
        raise ValueError(f'k-NN: k={max(ks)} is larger than the {bank_size} training '
                         'samples (the memory bank)')
    return tuple(int(k) for k in ks)


@torch.no_grad()
def knn_votes(bank_x: Array, bank_y: Array, query_x: Array, ks: Sequence[int] = KNN_KS,
              temperature: float = 0.07, num_classes: Optional[int] = None,
              query_chunk: int = 1024, bank_chunk: int = 65536,
              device: Union[str, torch.device, None] = None) -> Dict[int, torch.Tensor]:
    """Class votes ``{k: (M, num_classes) float32}`` of the queries: each of a query's
    ``k`` most cosine-similar bank images adds exp(similarity / ``temperature``) to its
    class.

    Args:
        bank_x: (N, D) memory-bank features, torch (fp16/fp32) or numpy (memmap too).
        bank_y: (N,) their classes.
        query_x: (M, D) features to classify, torch or numpy.
        ks: neighbour counts, each in 1..N; one top-max(ks) serves them all.
        temperature: T of the vote weights exp(cos / T).
        num_classes: C (default: the largest class of ``bank_y`` + 1).
        query_chunk: query rows per block.
        bank_chunk: bank rows per block; the similarity block is
            query_chunk x bank_chunk fp32.
        device: where the maths runs (default: the device of ``bank_x``, cpu for numpy);
            the votes are returned there.
    """
    if query_chunk < 1 or bank_chunk < 1:
        raise ValueError(f'k-NN: query_chunk={query_chunk} and bank_chunk={bank_chunk} '
                         'must be >= 1')
    bank_size, num_queries = len(bank_x), len(query_x)
    ks = _check_ks(ks, bank_size)
    largest = max(ks)
    if device is None:
        device = bank_x.device if isinstance(bank_x, torch.Tensor) else 'cpu'
    device = torch.device(device)
    bank_y = _labels(bank_y, device)
    if len(bank_y) != bank_size:
        raise ValueError(f'k-NN: {len(bank_y)} bank labels for {bank_size} bank features')
    num_classes = num_classes or int(bank_y.max()) + 1
    votes = {k: torch.zeros(num_queries, num_classes, device=device) for k in ks}
    for q_start in range(0, num_queries, query_chunk):
        q_stop = min(q_start + query_chunk, num_queries)
        query = _normalised_rows(query_x, q_start, q_stop, device)
        top_sim = top_idx = None  # the running (rows, <= largest) best of the bank so far
        for b_start in range(0, bank_size, bank_chunk):
            bank = _normalised_rows(bank_x, b_start, b_start + bank_chunk, device)
            sim, idx = (query @ bank.T).topk(min(largest, len(bank)), dim=1)
            idx += b_start
            if top_sim is not None:
                sim, idx = torch.cat([top_sim, sim], 1), torch.cat([top_idx, idx], 1)
                sim, order = sim.topk(min(largest, sim.shape[1]), dim=1)
                idx = idx.gather(1, order)
            top_sim, top_idx = sim, idx
            del bank
        weights = (top_sim / temperature).exp()
        neighbour_y = bank_y[top_idx]
        for k in ks:
            votes[k][q_start:q_stop].scatter_add_(1, neighbour_y[:, :k], weights[:, :k])
    return votes


def knn_accuracy(bank_x: Array, bank_y: Array, query_x: Array, query_y: Array,
                 ks: Sequence[int] = KNN_KS, temperature: float = 0.07,
                 topk: Sequence[int] = (1, 5), **chunks) -> Dict[int, Dict[int, float]]:
    """Top-t accuracy (%) of the weighted k-NN classifier: ``{k: {t: accuracy}}``, the
    share of the M queries whose class ``query_y`` (M,) is among the t classes with the
    most votes (:func:`knn_votes`; ``chunks``: its query_chunk, bank_chunk, device)."""
    if len(query_x) == 0:
        raise ValueError('k-NN: no query features to classify')
    bank_labels = _labels(bank_y, torch.device('cpu'))
    query_labels = _labels(query_y, torch.device('cpu'))
    num_classes = int(max(bank_labels.max(), query_labels.max())) + 1
    votes = knn_votes(bank_x, bank_labels, query_x, ks, temperature, num_classes, **chunks)
    result = {}
    for k, scores in votes.items():
        hits = topk_hits(scores, query_labels.to(scores.device), topk)
        result[k] = {t: 100.0 * int(hit.sum()) / len(hit) for t, hit in hits.items()}
    return result
