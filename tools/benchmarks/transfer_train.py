"""Fine-tune a detector or segmentor from a RotationPred backbone, then evaluate it.

    python tools/benchmarks/transfer_train.py CONFIG [--work-dir DIR] [--launcher pytorch]
        --cfg-options model.backbone.init_cfg.checkpoint=BACKBONE.pth [...]

CONFIG is one of configs/benchmarks/mmdetection|mmsegmentation/; BACKBONE.pth comes from
tools/model_converters/extract_backbone_weights.py. The launchers in
tools/benchmarks/mmdetection/ and mmsegmentation/ set the checkpoint options. Training
validates as the config says; the final model is then tested on the config's test set
and the test metrics are written to WORK_DIR/test_metrics.json.
"""
import argparse
import json
import os
import os.path as osp
from typing import Iterator, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process
from mmengine.runner import Runner

import rotation_pred  # noqa: F401  (applies the stack fixes, mmcv ops included)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='benchmark config file')
    parser.add_argument('--work-dir', help='where logs, checkpoints and metrics go')
    parser.add_argument('--resume', action='store_true',
                        help='resume from the latest checkpoint in the work dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def pretrained_inits(cfg, path: str = '') -> Iterator[Tuple[str, dict]]:
    """(option path, init_cfg) of every ``Pretrained`` init_cfg under ``cfg``."""
    if isinstance(cfg, dict):
        init = cfg.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            yield f'{path}.init_cfg', init
        for key, value in cfg.items():
            if key != 'init_cfg':
                yield from pretrained_inits(value, f'{path}.{key}' if path else key)
    elif isinstance(cfg, (list, tuple)):
        for i, value in enumerate(cfg):
            yield from pretrained_inits(value, f'{path}.{i}')


def check_pretrained(cfg: Config, config_file: str) -> None:
    """Refuse to start when a ``Pretrained`` checkpoint is unset or missing, or is not a
    backbone-only checkpoint (its keys would then match nothing and mmengine would
    silently keep the random initialisation)."""
    inits = list(pretrained_inits(cfg.model, 'model'))
    if not inits:
        raise SystemExit(f'error: {config_file}: no Pretrained init_cfg in the model')
    for option, init in inits:
        checkpoint = init.get('checkpoint')
        if not checkpoint:
            raise SystemExit(
                f'error: {config_file}: {option}.checkpoint is not set; pass the '
                'converted RotationPred backbone with --cfg-options '
                f'{option}.checkpoint=BACKBONE.pth (the launchers do this)')
        if '://' in checkpoint:
            continue
        if not osp.isfile(checkpoint):
            raise SystemExit(f'error: {option}.checkpoint: file not found: {checkpoint}')
        state = torch.load(checkpoint, map_location='cpu', weights_only=True, mmap=True)
        state = state.get('state_dict', state)
        if any(k.startswith('backbone.') for k in state):
            raise SystemExit(
                f'error: {option}.checkpoint={checkpoint} holds a whole model '
                "(keys start with 'backbone.'); convert it first with "
                'tools/model_converters/extract_backbone_weights.py')


def build_config(args) -> Config:
    if not osp.isfile(args.config):
        raise SystemExit(f'error: config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs/benchmarks',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.resume = args.resume
    check_pretrained(cfg, args.config)
    return cfg


def main():
    args = parse_args()
    runner = Runner.from_cfg(build_config(args))
    runner.train()
    metrics = runner.test()
    if not metrics:
        raise SystemExit(f'error: {args.config}: the test gave no metrics (see the log '
                         f'in {runner.work_dir})')
    if is_main_process():
        with open(osp.join(runner.work_dir, 'test_metrics.json'), 'w') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=1)


if __name__ == '__main__':
    main()
