"""Backbone weights for the benchmarks: read them and check that they fit a backbone.

MMEngine's ``init_cfg=dict(type='Pretrained')`` loads non-strictly (a wrong checkpoint
only logs missing keys), so the benchmark tools call :func:`check_backbone_fits` first.
"""
from collections import OrderedDict
from typing import Mapping

import torch

from ..converters import BACKBONE, ROTATION_HEAD, backbone_state_dict


def read_backbone_weights(path: str) -> OrderedDict:
    """The backbone state dict in ``path``: a backbone-only checkpoint (from
    ``tools/model_converters/extract_backbone_weights.py``) or a RotationPred checkpoint.
    Loads with ``weights_only=True``."""
    import rotation_pred  # noqa: F401  (allowlist of the types mmengine writes)
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f'backbone checkpoint not found: {path}')
    except Exception as e:
        raise ValueError(f'{path}: cannot be loaded as a checkpoint: {e}') from e
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, Mapping) \
        else None
    if not isinstance(state, Mapping) or not state:
        raise ValueError(f'{path}: not a checkpoint (no state_dict of tensors)')
    if ROTATION_HEAD in state or any(k.startswith(BACKBONE) for k in state):
        return backbone_state_dict(checkpoint, path)
    return OrderedDict(state)


def check_backbone_fits(backbone: torch.nn.Module, state_dict: Mapping, source: str) -> None:
    """Raise ValueError naming ``source`` unless ``state_dict`` has exactly the keys and
    shapes of ``backbone``'s state dict."""
    own = backbone.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    wrong = [f'{k} {tuple(state_dict[k].shape)} vs {tuple(v.shape)}'
             for k, v in own.items() if k in state_dict and state_dict[k].shape != v.shape]
    if missing or unexpected or wrong:
        raise ValueError(
            f'{source} does not fit the config\'s backbone {type(backbone).__name__}: '
            f'{len(missing)} missing keys (e.g. {missing[:3]}), {len(unexpected)} unexpected '
            f'keys (e.g. {unexpected[:3]}), {len(wrong)} shape mismatches '
            f'(e.g. {wrong[:2]}). Was it pretrained with another backbone or depth?')
