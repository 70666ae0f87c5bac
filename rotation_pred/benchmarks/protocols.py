"""The frozen-feature protocols, by name: one vocabulary for the command lines, the result
rows, the tables and the docs.

=============  ======================================================  =====================
name           what it measures (metric)                               features it reads
=============  ======================================================  =====================
linear_probe   one linear layer on standardised features, SGD          pooled to a budget
               (``top1``, setting ``train=N``)
knn            weighted k-NN, cosine, vote exp(cos / T)                global average pooled
               (``top1``/``top5``, setting ``k=K``)
svm            one-vs-rest linear SVMs, each class's cost by 3-fold    pooled to a budget
               cross-validated AP (``mAP``, setting ``train=N``)
low_shot       the SVMs on k positives per class, mean over samples    pooled to a budget
               (``mAP``, setting ``k=K``)
nonlinear      the paper's "non-linear" head (two hidden FC layers     the maps as they are
               of 200 with BN, ReLU) trained on frozen maps (``top1``)
conv           the paper's "conv" head (one more NIN block, global     the maps as they are
               average pooling, linear) on frozen maps (``top1``)
=============  ======================================================  =====================

A model with a neck gives its neck's outputs to every protocol (pooling ``'neck'``).
The result rows use these names and a few more for measures that are not protocols over
features (:data:`rotation_pred.benchmarks.rows.PROTOCOLS`): ``rotation_accuracy`` (the
RotNet head on rotated copies), ``multi_level_linear`` and ``fine_tune`` (training through
MMEngine, configs under ``configs/benchmarks``).

Each protocol is ``run(train_x, train_y, test_x, test_y, options, state) -> [(setting,
metric, value)]`` on one level: ``(N, D)`` and ``(M, D)`` features, labels ``(N,)``
classes or ``(N, C)`` targets in {1, -1, 0}; ``state`` is shared by the protocols of one
level (the low-shot SVMs use the costs the full SVMs chose; the heads read the maps'
``map_shape`` and keep what they trained beside the training features, ``train_folder``
and ``level``, so that a second split scores the same heads without training them).
"""
import hashlib
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..evaluation.knn import KNN_KS, knn_accuracy
from .low_shot import LOW_SHOT_KS, low_shot_svm_map
from .svm import COSTS, one_vs_rest_targets, svm_map
from ..fileio import write_atomically
@dataclass
class Options:
    """The settings of every protocol (defaults: the reference protocols)."""
    max_dims: int = 9216  # budget pooling: values per image at most
    epochs: int = 30  # linear_probe
    knn_ks: Sequence[int] = KNN_KS
    temperature: float = 0.07
    knn_topk: Sequence[int] = (1, 5)
    svm_costs: Sequence[float] = COSTS
    folds: int = 3
    low_shot_ks: Sequence[int] = LOW_SHOT_KS
    low_shot_samples: int = 5
    low_shot_cost: Union[str, float] = 'cv'  # 'cv': each class's cross-validated cost
    low_shot_seed: int = 0
    eleven_point: bool = False
    n_jobs: int = -1
    nonlinear_epochs: int = 10  # nonlinear head (the paper's code: 50)
    conv_epochs: int = 10  # conv head (the paper's code: 100)
    conv_width: int = 192  # conv head's NIN block width (the paper's code: 192)
    head_batch_size: int = 128  # nonlinear and conv heads
    head_seed: int = 0  # nonlinear and conv heads: initialisation and batch order
    head_device: Optional[str] = None  # nonlinear and conv heads; None: cuda if available


Result = List[Tuple[str, str, float]]


@dataclass(frozen=True)
class Protocol:
    """A protocol over features: its name, the pooling it reads (``'gap'``,
    ``'budget'`` or ``'none'``), which training images it fits on (``'train'`` or
    ``'svm'``), and its function."""
    name: str
    pooling: str
    train_images: str
    run: Callable[..., Result] = field(compare=False)
    description: str = ''


def targets_of(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(N, C) targets in {1, -1, 0}: 2-D labels as they are, classes one-vs-rest."""
    return labels.astype(np.int8) if labels.ndim == 2 else \
        one_vs_rest_targets(labels, num_classes)


def _classes(train_y: np.ndarray, test_y: np.ndarray) -> np.ndarray:
    if train_y.ndim != 1:
        raise ValueError(f'this protocol needs one class per image; the labels have shape '
                         f'{train_y.shape}')
    return int(max(train_y.max(), test_y.max())) + 1


def run_linear_probe(train_x, train_y, test_x, test_y, options: Options, state) -> Result:
    from .linear_probe import linear_probe_accuracy
    _classes(train_y, test_y)
    top1 = linear_probe_accuracy(np.array(train_x, dtype=np.float32), train_y,
                                 np.array(test_x, dtype=np.float32), test_y,
                                 epochs=options.epochs)
    return [(f'train={len(train_y)}', 'top1', top1)]


def run_knn(train_x, train_y, test_x, test_y, options: Options, state) -> Result:
    import torch
    _classes(train_y, test_y)
    accuracy = knn_accuracy(train_x, train_y, test_x, test_y, ks=options.knn_ks,
                            temperature=options.temperature, topk=options.knn_topk,
                            device='cuda' if torch.cuda.is_available() else 'cpu')
    return [(f'k={k}', f'top{t}', value) for k, per_t in accuracy.items()
            for t, value in per_t.items()]


def _svm(train_x, train_y, test_x, test_y, options: Options, state) -> Dict:
    if 'svm' not in state:
        num_classes = train_y.shape[1] if train_y.ndim == 2 else _classes(train_y, test_y)
        state['targets'] = (targets_of(train_y, num_classes), targets_of(test_y, num_classes))
        state['svm'] = svm_map(np.asarray(train_x, dtype=np.float32), state['targets'][0],
                               np.asarray(test_x, dtype=np.float32), state['targets'][1],
                               options.svm_costs, options.folds, options.n_jobs,
                               options.eleven_point)
    return state['svm']


def run_svm(train_x, train_y, test_x, test_y, options: Options, state) -> Result:
    return [(f'train={len(train_y)}', 'mAP',
             _svm(train_x, train_y, test_x, test_y, options, state)['mAP'])]


def run_low_shot(train_x, train_y, test_x, test_y, options: Options, state) -> Result:
    if options.low_shot_cost == 'cv':
        cost = _svm(train_x, train_y, test_x, test_y, options, state)['cost']
    else:
        cost = float(options.low_shot_cost)
        num_classes = train_y.shape[1] if train_y.ndim == 2 else _classes(train_y, test_y)
        state.setdefault('targets', (targets_of(train_y, num_classes),
                                     targets_of(test_y, num_classes)))
    train_t, test_t = state['targets']
    low = low_shot_svm_map(np.asarray(train_x, dtype=np.float32), train_t,
                           np.asarray(test_x, dtype=np.float32), test_t,
                           ks=options.low_shot_ks, num_samples=options.low_shot_samples,
                           cost=cost, n_jobs=options.n_jobs, seed=options.low_shot_seed,
                           eleven_point=options.eleven_point)
    state['low_shot'] = low
    return [(f'k={k}', 'mAP', stats['mean']) for k, stats in low.items()]


def _run_head(kind: str, epochs: int, train_x, train_y, test_x, test_y, options: Options,
              state) -> Result:
    """Train head ``kind`` on the (N, C*H*W) maps of shape ``state['map_shape']`` and
    give its test top-1 (%)."""
    import torch

    from .frozen_heads import build_head, head_accuracy, milestones_for, train_head
    num_classes = _classes(train_y, test_y)
    map_shape = state.get('map_shape')
    if map_shape is None or len(map_shape) != 3:
        raise ValueError(f'the {kind} protocol trains on feature maps: it needs their '
                         f"(C, H, W) in state['map_shape'] (got {map_shape!r}); features "
                         "extracted with pooling 'none' from a model without a neck")
    if train_x.shape[1] != int(np.prod(map_shape)):
        raise ValueError(f'{kind}: the features have {train_x.shape[1]} values per image, '
                         f'maps of shape {tuple(map_shape)} have {int(np.prod(map_shape))}')
    device = options.head_device or ('cuda' if torch.cuda.is_available() else 'cpu')
    head = build_head(kind, map_shape, num_classes, options.conv_width, options.head_seed)
    training = dict(kind=kind, map_shape=[int(s) for s in map_shape], classes=num_classes,
                    epochs=epochs, milestones=milestones_for(kind, epochs),
                    width=options.conv_width if kind == 'conv' else None,
                    batch_size=options.head_batch_size, seed=options.head_seed)
    saved = trained_head_file(state, training)
    if saved is not None and osp.isfile(saved):
        head.load_state_dict(torch.load(saved, map_location='cpu', weights_only=True))
        head.to(device)
    else:
        train_head(head, train_x, train_y, epochs, milestones=training['milestones'],
                   map_shape=map_shape, batch_size=options.head_batch_size, device=device,
                   seed=options.head_seed)
        if saved is not None:
            write_atomically(saved, lambda f: torch.save(head.state_dict(), f))
    top1 = head_accuracy(head, test_x, test_y, map_shape)
    return [(f'train={len(train_y)}', 'top1', top1)]


def trained_head_file(state, training: Dict) -> Optional[str]:
    """Where the head trained as ``training`` says on the training features of
    ``state`` is kept: ``<training features' folder>/heads/<kind>-level<L>-<key>.pt``,
    ``key`` a hash of ``training``, so that scoring the same head on the validation
    and on the test split trains it once. None when the features have no folder."""
    folder = state.get('train_folder')
    if folder is None:
        return None
    key = hashlib.sha256(json.dumps(training, sort_keys=True).encode()).hexdigest()[:16]
    return osp.join(folder, 'heads', f'{training["kind"]}-level{state["level"]}-{key}.pt')


def run_nonlinear(train_x, train_y, test_x, test_y, options: Options, state) -> Result:
    return _run_head('nonlinear', options.nonlinear_epochs, train_x, train_y, test_x,
                     test_y, options, state)


def run_conv(train_x, train_y, test_x, test_y, options: Options, state) -> Result:
    return _run_head('conv', options.conv_epochs, train_x, train_y, test_x, test_y,
                     options, state)


PROTOCOLS: Dict[str, Protocol] = {p.name: p for p in (
    Protocol('linear_probe', 'budget', 'train', run_linear_probe,
             'linear classifier on standardised, budget-pooled features (top-1 %)'),
    Protocol('knn', 'gap', 'train', run_knn,
             'weighted k-NN on global-average-pooled features (top-1/5 %)'),
    Protocol('svm', 'budget', 'svm', run_svm,
             'one-vs-rest linear SVMs, costs by cross-validation (mAP %)'),
    Protocol('low_shot', 'budget', 'svm', run_low_shot,
             'the SVMs on k positives per class (mAP %, mean over samples)'),
    Protocol('nonlinear', 'none', 'train', run_nonlinear,
             "the paper's non-linear classifier (2 hidden layers with BN) on the frozen "
             'maps (top-1 %)'),
    Protocol('conv', 'none', 'train', run_conv,
             "the paper's conv classifier (one more NIN block, global average pooling, "
             'linear) on the frozen maps (top-1 %)'),
)}


def get_protocols(names: Optional[Sequence[str]]) -> List[Protocol]:
    """The protocols called ``names`` (all, when None), in the order given; ValueError
    naming the unknown ones and listing the known names."""
    if names is None:
        return list(PROTOCOLS.values())
    unknown = [n for n in names if n not in PROTOCOLS]
    if unknown:
        raise ValueError(f'unknown protocol {", ".join(map(repr, unknown))}; the protocols '
                         f'are: {", ".join(PROTOCOLS)}')
    return [PROTOCOLS[n] for n in dict.fromkeys(names)]


def pooling_for(protocol: Protocol, has_neck: bool, max_dims: int) -> str:
    """The pooling ``protocol`` reads: the neck's outputs when the model has a neck,
    else the protocol's own (``budget:max_dims``, ``gap``, or ``none`` for the maps
    themselves)."""
    if has_neck:
        return 'neck'
    if protocol.pooling == 'none':
        return 'none'
    return f'budget:{max_dims}' if protocol.pooling == 'budget' else protocol.pooling
