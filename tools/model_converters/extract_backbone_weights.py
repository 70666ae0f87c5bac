"""Extract the backbone of a RotationPred checkpoint, for MMPretrain, MMDetection and
MMSegmentation configs that load it with init_cfg=dict(type='Pretrained', checkpoint=OUT).

    python tools/model_converters/extract_backbone_weights.py CHECKPOINT OUT
"""
import argparse
import os
import os.path as osp

from rotation_pred.converters import extract_backbone


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help='RotationPred checkpoint (from tools/train.py)')
    parser.add_argument('output', help='where to write the backbone-only checkpoint')
    args = parser.parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    os.makedirs(osp.dirname(osp.abspath(args.output)), exist_ok=True)
    try:
        count = extract_backbone(args.checkpoint, args.output)
    except ValueError as e:
        raise SystemExit(f'error: {e}')
    print(f'wrote {count} backbone tensors to {args.output}')


if __name__ == '__main__':
    main()
