"""Pretrained backbone weights for the benchmarks: the one place that reads them.

A benchmark needs the backbone of a pretrained model and nothing else, so any checkpoint
whose backbone fits will do, whatever algorithm trained it and whatever its head:

* a whole model saved by MMEngine (RotationPred, SimCLR, MoCo, BYOL, a supervised
  MMPretrain classifier...): the keys under ``backbone.`` are taken, the rest (neck,
  head, momentum encoder) is dropped;
* a backbone-only checkpoint (``tools/model_converters/extract_backbone_weights.py``
  writes one): no key has the prefix, and none names another part of a model;
* either one as it is, or inside a ``state_dict`` entry (MMEngine's layout).

Files are read with ``torch.load(weights_only=True)``: tensors and the few plain types
MMEngine writes (allowlisted by :mod:`rotation_pred.compat`), never arbitrary objects.
:func:`load_backbone` then loads strictly: MMEngine's ``init_cfg=dict(type='Pretrained')``
only logs keys that do not match, which would leave a random backbone behind a
benchmark number.
"""
from collections import OrderedDict
from typing import Mapping, Sequence

import torch

BACKBONE = 'backbone.'

#: Top-level names of the other parts of a whole model (MMPretrain and MMSelfSup
#: algorithms, DistributedDataParallel's ``module.``). A file with keys under one of these
#: and none under the backbone prefix is a model of another layout, not a backbone.
MODEL_PARTS = ('head.', 'heads.', 'neck.', 'necks.', 'data_preprocessor.',
               'target_generator.', 'momentum_encoder.', 'module.', 'teacher.', 'student.')

#: How many key names an error message lists before it only counts the rest.
LISTED = 10


def _listed(names: Sequence[str]) -> str:
    """``a, b, c`` for up to :data:`LISTED` names, else the first ones and a count."""
    shown = ', '.join(names[:LISTED])
    more = len(names) - LISTED
    return f'{shown} and {more} more' if more > 0 else shown


def load_checkpoint_file(path: str):
    """What ``torch.load(path, weights_only=True)`` gives, on the CPU.

    Raises FileNotFoundError when ``path`` does not exist, ValueError naming ``path``
    when it cannot be read that way (not a checkpoint, corrupt, or pickling objects that
    are not allowlisted)."""
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f'checkpoint file not found: {path}') from None
    except Exception as e:  # torch raises many types for a file that is no checkpoint
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ValueError(f'{path}: cannot be loaded as a checkpoint with '
                         f'torch.load(weights_only=True): {reason}') from e


def tensors_of(checkpoint, path: str) -> 'OrderedDict[str, torch.Tensor]':
    """The tensors ``{name: tensor}`` of a loaded checkpoint, in file order: those of its
    ``state_dict`` entry when it has one, else those at its top level. Raises ValueError
    naming ``path`` (where it was read from) when there are none."""
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f'{path}: not a checkpoint: it holds a {type(checkpoint).__name__}, '
                         'not a mapping of names to tensors')
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, Mapping):
        raise ValueError(f'{path}: not a checkpoint: its state_dict is a '
                         f'{type(state).__name__}, not a mapping of names to tensors')
    tensors = OrderedDict((k, v) for k, v in state.items()
                          if isinstance(k, str) and isinstance(v, torch.Tensor))
    if not tensors:
        keys = ', '.join(map(str, list(state)[:LISTED])) or 'none'
        raise ValueError(f'{path}: not a checkpoint: no tensors in it (its keys: {keys})')
    return tensors


def read_state_dict(path: str) -> 'OrderedDict[str, torch.Tensor]':
    """The tensors of checkpoint file ``path`` (:func:`load_checkpoint_file`, then
    :func:`tensors_of`)."""
    return tensors_of(load_checkpoint_file(path), path)


def has_prefix(state: Mapping[str, torch.Tensor], prefix: str = BACKBONE) -> bool:
    """Whether some key of ``state`` starts with ``prefix`` (a whole model's checkpoint)."""
    return any(k.startswith(prefix) for k in state)


def backbone_of(state: Mapping[str, torch.Tensor], path: str, prefix: str = BACKBONE
                ) -> 'OrderedDict[str, torch.Tensor]':
    """The backbone part of the tensors ``state`` read from ``path``, names without
    ``prefix``: the keys under ``prefix`` of a whole model of any algorithm, or every
    tensor of a backbone-only checkpoint. Raises ValueError naming ``path`` when no key
    starts with ``prefix`` and some key names another part of a model
    (:data:`MODEL_PARTS`): it is then neither kind."""
    if prefix and has_prefix(state, prefix):
        return OrderedDict((k[len(prefix):], v) for k, v in state.items()
                           if k.startswith(prefix))
    parts = sorted({k.split('.', 1)[0] + '.' for k in state if k.startswith(MODEL_PARTS)})
    if prefix and parts:
        raise ValueError(
            f'{path}: no backbone weights: no key starts with {prefix!r}, and it is no '
            f'backbone-only checkpoint either, since it has the model parts {parts} '
            f'(keys start with: {", ".join(list(state)[:3])})')
    return OrderedDict(state)


def read_backbone_weights(path: str, prefix: str = BACKBONE) -> 'OrderedDict[str, torch.Tensor]':
    """The backbone state dict ``{name: tensor}`` in checkpoint file ``path``, names
    without ``prefix``: a whole model of any algorithm (its keys under ``prefix``), or a
    backbone-only checkpoint (all its tensors), each bare or in a ``state_dict`` entry.

    Raises FileNotFoundError, or ValueError naming ``path`` when it cannot be loaded with
    ``weights_only=True``, holds no tensors, or has no key under ``prefix`` while naming
    other parts of a model (see :func:`backbone_of`)."""
    return backbone_of(read_state_dict(path), path, prefix)


def check_backbone_fits(backbone: torch.nn.Module, state_dict: Mapping[str, torch.Tensor],
                        source: str, allow_unexpected: bool = False) -> None:
    """Raise ValueError naming ``source`` unless ``state_dict`` has exactly the keys and
    shapes of ``backbone.state_dict()``. The message lists the missing keys, the shape
    mismatches and the unexpected keys (each list: all of them up to :data:`LISTED`,
    else the first ones and a count). ``allow_unexpected``: only ask that every tensor of
    ``backbone`` is there with its shape (a module that takes part of a backbone, such as
    the res5 head of a C4 detector)."""
    own = backbone.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [] if allow_unexpected else [k for k in state_dict if k not in own]
    wrong = [f'{k} {tuple(state_dict[k].shape)} in the file, {tuple(v.shape)} in the model'
             for k, v in own.items() if k in state_dict and state_dict[k].shape != v.shape]
    if not (missing or unexpected or wrong):
        return
    problems = []
    if missing:
        problems.append(f'{len(missing)} missing keys: {_listed(missing)}')
    if wrong:
        problems.append(f'{len(wrong)} shape mismatches: {_listed(wrong)}')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected keys: {_listed(unexpected)}')
    raise ValueError(f'{source} does not fit the backbone {type(backbone).__name__} '
                     f'({len(own)} tensors): {"; ".join(problems)}. Was it pretrained '
                     'with another backbone, depth or width?')


def load_backbone(backbone: torch.nn.Module, path: str, prefix: str = BACKBONE,
                  logger=None) -> str:
    """Load the backbone weights of checkpoint ``path`` (see :func:`read_backbone_weights`)
    into the module ``backbone``, strictly; returns the report
    ``loaded N of M backbone tensors from PATH``, also logged to ``logger`` (an MMEngine
    logger, a logger name or ``'current'``) when one is given.

    Raises ValueError naming ``path`` when its backbone does not fit ``backbone`` (see
    :func:`check_backbone_fits`); the module is then left unchanged."""
    weights = read_backbone_weights(path, prefix)
    check_backbone_fits(backbone, weights, path)
    backbone.load_state_dict(weights, strict=True)
    report = (f'loaded {len(weights)} of {len(backbone.state_dict())} backbone tensors '
              f'from {path}')
    if logger is not None:
        from mmengine.logging import print_log
        print_log(report, logger=logger)
    return report


def checkpoint_seed(path: str):
    """The random seed the run that wrote checkpoint file ``path`` trained with (MMEngine
    stores it as ``meta['seed']``), or None when the file records none."""
    checkpoint = load_checkpoint_file(path)
    meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
    seed = meta.get('seed') if isinstance(meta, Mapping) else None
    return None if seed is None else int(seed)


def require_seed(path: str, seed: int) -> str:
    """``path`` when its checkpoint records ``seed`` or no seed; ValueError naming the
    file when it records another (rows written from it would carry the wrong seed)."""
    recorded = checkpoint_seed(path)
    if recorded is not None and recorded != seed:
        raise ValueError(f'{path} was trained with seed {recorded}, not seed {seed}')
    return path


def extract_backbone(src: str, dst: str, prefix: str = BACKBONE) -> int:
    """Write the backbone weights of checkpoint ``src`` (a whole model of any algorithm,
    or already backbone-only; see :func:`read_backbone_weights`) to ``dst`` as
    ``dict(state_dict={name: tensor}, meta=dict(source, epoch, iter, seed))``: the file
    MMPretrain, MMDetection and MMSegmentation configs load with
    ``init_cfg=dict(type='Pretrained', checkpoint=...)``, keeping the seed the
    pretraining recorded. Returns the number of tensors written; raises what the reader
    raises, naming ``src``."""
    checkpoint = load_checkpoint_file(src)
    backbone = backbone_of(tensors_of(checkpoint, src), src, prefix)
    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), dict) else {}
    torch.save(dict(state_dict=backbone,
                    meta=dict(source=str(src), epoch=meta.get('epoch'),
                              iter=meta.get('iter'), seed=meta.get('seed'))), dst)
    return len(backbone)
