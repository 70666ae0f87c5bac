"""Train a model from a config with MMEngine's Runner (OpenMMLab command line)."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import rotation_pred  # noqa: F401  (registers the plugin, applies the stack fixes)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest checkpoint in the '
        'work dir when no path is given')
    parser.add_argument(
        '--amp', action='store_true',
        help='automatic mixed precision, dtype chosen from the device and logged: '
        'bfloat16 where the device has native bf16 (Ampere+ GPUs, CPUs with '
        'AVX512-BF16/AMX), float16 with dynamic loss scaling on other GPUs, fp32 on '
        'other CPUs (MixedPrecisionOptimWrapper, dtype=auto)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args) -> Config:
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        # mmengine's AmpOptimWrapper asserts a GPU; ours also runs on the CPU and picks
        # bf16 / fp16 + loss scaling / fp32 from the device (rotation_pred/mixed_precision.py)
        wrapper = cfg.optim_wrapper
        kind = wrapper.get('type', 'OptimWrapper')
        if kind not in ('OptimWrapper', 'AmpOptimWrapper', 'MixedPrecisionOptimWrapper'):
            raise ValueError(f'--amp: optim_wrapper.type={kind!r} is not an OptimWrapper; '
                             'set mixed precision in the config instead')
        wrapper.type = 'MixedPrecisionOptimWrapper'
        if wrapper.get('dtype') in (None, 'float32'):
            wrapper.dtype = 'auto'
        wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main():
    runner = Runner.from_cfg(build_config(parse_args()))
    runner.train()


if __name__ == '__main__':
    main()
