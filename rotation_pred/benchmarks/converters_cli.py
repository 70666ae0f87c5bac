"""The command lines of ``tools/model_converters/``: :func:`extract_main`
(``extract_backbone_weights.py``, :func:`.checkpoint.extract_backbone`),
:func:`to_torchvision_main` and :func:`to_timm_main` (``to_torchvision.py``,
``to_timm.py``, :func:`.export.export_command`)."""
import argparse
import os
import os.path as osp

from .checkpoint import BACKBONE, extract_backbone
from .export import export_command


def description(function) -> str:
    """The first paragraph of ``function``'s docstring: its command's ``--help`` text."""
    return function.__doc__.split('\n\n')[0]


def extract_main(argv=None) -> None:
    """Extract the backbone of a pretrained checkpoint, for MMPretrain, MMDetection and
    MMSegmentation configs that load it with init_cfg=dict(type='Pretrained', checkpoint=OUT).

        python tools/model_converters/extract_backbone_weights.py CHECKPOINT OUT [--prefix P]

    CHECKPOINT is a whole model of any algorithm (RotationPred from tools/train.py,
    SimCLR, MoCo, a supervised classifier...): its keys under the prefix (default
    ``backbone.``) are written, without the prefix; a backbone-only checkpoint is written
    as it is. Read by :mod:`rotation_pred.benchmarks.checkpoint`, with
    ``torch.load(weights_only=True)``. ``argv``: the command line (default:
    ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(
        prog='tools/model_converters/extract_backbone_weights.py',
        description=description(extract_main))
    parser.add_argument('checkpoint', help='pretrained checkpoint (e.g. from tools/train.py)')
    parser.add_argument('output', help='where to write the backbone-only checkpoint')
    parser.add_argument('--prefix', default=BACKBONE,
                        help=f'name prefix of the backbone keys (default {BACKBONE!r})')
    args = parser.parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    os.makedirs(osp.dirname(osp.abspath(args.output)), exist_ok=True)
    try:
        count = extract_backbone(args.checkpoint, args.output, args.prefix)
    except ValueError as e:
        raise SystemExit(f'error: {e}')
    print(f'wrote {count} backbone tensors to {args.output}')


def to_torchvision_main(argv=None) -> None:
    """Export the backbone of a RotationPred ResNet-50 checkpoint to torchvision's resnet50.

        python tools/model_converters/to_torchvision.py CHECKPOINT OUT

    CHECKPOINT is a whole RotationPred model (tools/train.py) or a backbone-only file
    (extract_backbone_weights.py). OUT is a plain state dict of every backbone tensor,
    named as torchvision names them; the 1000-class ``fc`` is left out, so load it with
    ``resnet50().load_state_dict(torch.load(OUT, weights_only=True), strict=False)``, or
    set ``model.fc = torch.nn.Identity()`` and load strictly. A checkpoint whose backbone
    is not a ResNet-50 (ResNet-18, NIN...) is refused with the keys that do not fit.
    ``argv``: the command line (default: ``sys.argv[1:]``).
    """
    export_command('torchvision', description(to_torchvision_main), argv)


def to_timm_main(argv=None) -> None:
    """Export the backbone of a RotationPred ResNet-50 checkpoint to timm's resnet50.

        python tools/model_converters/to_timm.py CHECKPOINT OUT

    CHECKPOINT is a whole RotationPred model (tools/train.py) or a backbone-only file
    (extract_backbone_weights.py). OUT is a plain state dict of every backbone tensor,
    named as timm names them; the 1000-class ``fc`` is left out, so load it with
    ``timm.create_model('resnet50', num_classes=0, checkpoint_path=OUT)`` (no
    classifier), or ``load_state_dict(..., strict=False)`` into a model that has one.
    Needs timm (``pip install timm``, or the extra ``rotation_pred[export]``). A
    checkpoint whose backbone is not a ResNet-50 (ResNet-18, NIN...) is refused with the
    keys that do not fit. ``argv``: the command line (default: ``sys.argv[1:]``).
    """
    export_command('timm', description(to_timm_main), argv)
