"""Extract the backbone of a pretrained checkpoint, for MMPretrain, MMDetection and
MMSegmentation configs that load it with init_cfg=dict(type='Pretrained', checkpoint=OUT).

    python tools/model_converters/extract_backbone_weights.py CHECKPOINT OUT [--prefix P]

CHECKPOINT is a whole model of any algorithm (RotationPred from tools/train.py, SimCLR,
MoCo, a supervised classifier...): its keys under the prefix (default ``backbone.``) are
written, without the prefix; a backbone-only checkpoint is written as it is. Read by
rotation_pred.benchmarks.checkpoint, with torch.load(weights_only=True).
"""
import argparse
import os
import os.path as osp

from rotation_pred.benchmarks.checkpoint import BACKBONE
from rotation_pred.benchmarks.converters import extract_backbone


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help='pretrained checkpoint (e.g. from tools/train.py)')
    parser.add_argument('output', help='where to write the backbone-only checkpoint')
    parser.add_argument('--prefix', default=BACKBONE,
                        help=f'name prefix of the backbone keys (default {BACKBONE!r})')
    args = parser.parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    os.makedirs(osp.dirname(osp.abspath(args.output)), exist_ok=True)
    try:
        count = extract_backbone(args.checkpoint, args.output, args.prefix)
    except ValueError as e:
        raise SystemExit(f'error: {e}')
    print(f'wrote {count} backbone tensors to {args.output}')


if __name__ == '__main__':
    main()
