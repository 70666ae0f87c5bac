"""Turn a RotationPred checkpoint into a backbone-only checkpoint."""
from collections import OrderedDict
from typing import Mapping

import torch

BACKBONE = 'backbone.'
ROTATION_HEAD = 'head.fc.weight'


def backbone_state_dict(checkpoint: Mapping, source: str = 'checkpoint') -> OrderedDict:
    """The backbone weights of a RotationPred checkpoint, without the ``backbone.``
    prefix; raises ValueError naming ``source`` when it is not such a checkpoint."""
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, Mapping) \
        else None
    if not isinstance(state, Mapping) or not state:
        raise ValueError(f'{source}: not a checkpoint (no state_dict of tensors)')
    if ROTATION_HEAD not in state:
        some = ', '.join(list(state)[:3])
        raise ValueError(f'{source}: not a RotationPred checkpoint: it has no '
                         f'{ROTATION_HEAD!r} (keys start with: {some})')
    backbone = OrderedDict((k[len(BACKBONE):], v) for k, v in state.items()
                           if k.startswith(BACKBONE))
    if not backbone:
        raise ValueError(f'{source}: RotationPred checkpoint without backbone weights '
                         f'(no key starts with {BACKBONE!r})')
    return backbone


def extract_backbone(src: str, dst: str) -> int:
    """Write the backbone of RotationPred checkpoint ``src`` to ``dst``; returns the
    number of tensors written. Loads with ``weights_only=True``."""
    import rotation_pred  # noqa: F401  (allowlist of the types mmengine writes)
    try:
        checkpoint = torch.load(src, map_location='cpu', weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:
        raise ValueError(f'{src}: cannot be loaded as a checkpoint: {e}') from e
    backbone = backbone_state_dict(checkpoint, src)
    meta = dict(checkpoint.get('meta', {}) or {})
    torch.save(dict(state_dict=backbone,
                    meta=dict(source=str(src), epoch=meta.get('epoch'),
                              iter=meta.get('iter'))), dst)
    return len(backbone)
