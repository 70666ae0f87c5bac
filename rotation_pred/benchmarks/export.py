"""Export a RotationPred ResNet-50 backbone to torchvision's and timm's ``resnet50``.

MMPretrain's ``ResNet`` (and :class:`~rotation_pred.models.backbones.ResNetWithStem`,
which keeps its names) with the default ``style='pytorch'`` stem and BatchNorm names its
tensors as torchvision and timm do: ``conv1.weight``, ``bn1.*``,
``layer1.0.conv1.weight`` ... ``layerN.0.downsample.0/1.*``. So the export keeps the
names and checks, against the target model built here, that every tensor of its body is
there with its shape and nothing else is; the classifier ``fc`` (the target's 1000-class
head, which a rotation model does not have) is left out. A checkpoint of another
backbone (ResNet-18, a NIN, a deep stem, GroupNorm) is refused naming its file and the
keys that do not fit.

The checkpoint is read by :mod:`.checkpoint` (``torch.load(weights_only=True)``): a
whole model of any algorithm (keys under ``backbone.``) or a backbone-only file.
"""
import argparse
import os
import os.path as osp
from collections import OrderedDict
from typing import Mapping, Tuple

import torch

from .checkpoint import check_backbone_fits, read_backbone_weights

#: The libraries a backbone can be exported to.
TARGETS = ('torchvision', 'timm')
#: The tensors of the target's classifier, which the export leaves out.
HEAD = ('fc.weight', 'fc.bias')
TIMM_MISSING = ('exporting to timm needs the timm package: pip install timm '
                "(or pip install 'rotation_pred[export]')")


def build_resnet50(target: str) -> torch.nn.Module:
    """A randomly initialised ``resnet50`` of ``target`` (``torchvision`` or ``timm``),
    1000-class head included. Raises ImportError saying how to install timm when it is
    absent, ValueError for another target."""
    if target == 'torchvision':
        import torchvision
        return torchvision.models.resnet50(weights=None)
    if target == 'timm':
        try:
            import timm
        except ImportError as e:
            raise ImportError(TIMM_MISSING) from e
        return timm.create_model('resnet50', pretrained=False)
    raise ValueError(f'unknown export target {target!r}: one of {", ".join(TARGETS)}')


def check_fits_body(model: torch.nn.Module, weights: Mapping[str, torch.Tensor],
                    source: str) -> None:
    """Raise ValueError naming ``source`` unless ``weights`` has exactly the tensors
    (names and shapes) of ``model`` less its classifier ``fc`` (see
    :func:`~.checkpoint.check_backbone_fits`). ``model`` is left as it was."""
    head = model.fc
    model.fc = torch.nn.Identity()
    try:
        check_backbone_fits(model, weights, source)
    finally:
        model.fc = head


def convert(path: str, target: str) -> Tuple['OrderedDict[str, torch.Tensor]', str]:
    """The backbone of RotationPred ResNet-50 checkpoint ``path`` as a state dict
    ``{name: tensor}`` of ``target``'s ``resnet50`` (every tensor but ``fc``;
    contiguous, on the CPU), and the report
    ``loaded N of M tensors into TARGET resnet50 (missing: fc.weight, fc.bias)`` of a
    trial load into that model.

    Raises what :func:`~.checkpoint.read_backbone_weights` raises, ValueError naming
    ``path`` when its backbone is not a ResNet-50 of those names and shapes, and
    ImportError when timm is asked for and absent."""
    model = build_resnet50(target)
    weights = read_backbone_weights(path)
    check_fits_body(model, weights, f'{path} (for {target} resnet50)')
    state = OrderedDict((name, tensor.contiguous()) for name, tensor in weights.items())
    result = model.load_state_dict(state, strict=False)
    if result.unexpected_keys or sorted(result.missing_keys) != sorted(HEAD):
        raise ValueError(f'{path}: loading into {target} resnet50 left out '
                         f'{result.missing_keys} and did not use {result.unexpected_keys}')
    total = len(model.state_dict())
    report = (f'loaded {len(state)} of {total} tensors into {target} resnet50 '
              f'(missing: {", ".join(result.missing_keys)})')
    return state, report


def export(path: str, out: str, target: str) -> str:
    """Write the ``target`` state dict of checkpoint ``path`` (see :func:`convert`) to
    ``out`` as a plain ``{name: tensor}`` file, for ``model.load_state_dict(
    torch.load(out, weights_only=True), strict=False)``; returns the load report."""
    state, report = convert(path, target)
    torch.save(state, out)
    return report


def export_command(target: str, description: str, argv=None) -> None:
    """The command line of tools/model_converters/to_<target>.py: ``CHECKPOINT OUT``;
    prints the load report, or exits with ``error: ...`` naming what does not fit."""
    parser = argparse.ArgumentParser(prog=f'tools/model_converters/to_{target}.py',
                                     description=description)
    parser.add_argument('checkpoint', help='RotationPred ResNet-50 checkpoint')
    parser.add_argument('output', help=f'where to write the {target} state dict')
    args = parser.parse_args(argv)
    os.makedirs(osp.dirname(osp.abspath(args.output)), exist_ok=True)
    try:
        report = export(args.checkpoint, args.output, target)
    except (FileNotFoundError, ValueError, ImportError) as e:
        raise SystemExit(f'error: {e}')
    print(report)
    print(f'wrote {args.output}')
