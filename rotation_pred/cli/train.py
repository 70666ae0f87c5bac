"""``tools/train.py``: train a model from a config with MMEngine's Runner.

The command line of MMPretrain 1.2.0's ``tools/train.py``, flag for flag and with the
same meaning: ``--work-dir``, ``--resume [CKPT]``, ``--amp``, ``--no-validate``,
``--auto-scale-lr``, ``--no-pin-memory``, ``--no-persistent-workers``, ``--cfg-options``,
``--launcher``, ``--local-rank``. Differences: ``--amp`` picks the precision from the
device and also runs on CPUs (``MixedPrecisionOptimWrapper``); persistent workers are
only the default for dataloaders with workers; ``--work-dir`` wins over
``--cfg-options work_dir=...``; errors name the option at fault. At the start of
training one log line gives the world size, the images per GPU, the global batch, the
rotated samples per step and the learning rate in force
(``rotation_pred/tools_support.py``).
"""
import argparse
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

# importing rotation_pred registers the plugin and applies the stack fixes
from rotation_pred import tools_support
from rotation_pred.compat import finish_distributed
from rotation_pred.tools_support import (BatchSummaryHook, add_launcher_args,
                                         parse_launcher_args, set_dataloader_defaults,
                                         silence_cpu_pin_memory_warning)


def make_parser() -> argparse.ArgumentParser:
    """The argument parser (MMPretrain's flags)."""
    parser = argparse.ArgumentParser(prog='tools/train.py',
                                     description='Train a model')
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
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the learning rate by the actual global batch over the config\'s '
        'auto_scale_lr.base_batch_size (linear scaling rule)')
    parser.add_argument('--no-pin-memory', action='store_true',
                        help='disable pin_memory in the dataloaders (default: on)')
    parser.add_argument(
        '--no-persistent-workers', action='store_true',
        help='disable persistent_workers in the dataloaders (default: on where '
        'num_workers > 0)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value')
    return add_launcher_args(parser)


def parse_args(argv=None) -> argparse.Namespace:
    """Parse ``argv`` (default: the command line); sets ``LOCAL_RANK`` if unset."""
    return parse_launcher_args(make_parser(), argv)


def apply_amp(cfg: Config) -> None:
    """``--amp``: our MixedPrecisionOptimWrapper, which also runs on CPUs (mmengine's
    AmpOptimWrapper asserts a GPU) and picks bf16 / fp16 + loss scaling / fp32 from the
    device (rotation_pred/mixed_precision.py)."""
    wrapper = cfg.optim_wrapper
    kind = wrapper.get('type', 'OptimWrapper')
    if kind not in ('OptimWrapper', 'AmpOptimWrapper', 'MixedPrecisionOptimWrapper'):
        raise ValueError(f'--amp: optim_wrapper.type={kind!r} is not an OptimWrapper; '
                         'set mixed precision in the config instead')
    wrapper.type = 'MixedPrecisionOptimWrapper'
    if wrapper.get('dtype') in (None, 'float32'):
        wrapper.dtype = 'auto'
    wrapper.setdefault('loss_scale', 'dynamic')


def apply_resume(cfg: Config, resume) -> None:
    """``--resume``: ``'auto'`` (the latest checkpoint of the work dir) or a path."""
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'--resume checkpoint not found: {resume}')
        cfg.resume = True
        cfg.load_from = resume


def apply_auto_scale_lr(cfg: Config) -> None:
    """``--auto-scale-lr``: enable the config's ``auto_scale_lr``; mmengine then scales
    the lr by world size x batch size / base_batch_size."""
    scale = cfg.get('auto_scale_lr', None)
    if not scale or scale.get('base_batch_size', None) is None:
        raise ValueError(
            '--auto-scale-lr: the config sets no auto_scale_lr = dict(base_batch_size=N) '
            '(the global batch its lr was tuned for); add it to the config or pass '
            '--cfg-options auto_scale_lr.base_batch_size=N')
    base = scale['base_batch_size']
    if not isinstance(base, int) or isinstance(base, bool) or base <= 0:
        raise ValueError(f'--auto-scale-lr: auto_scale_lr.base_batch_size must be a '
                         f'positive integer, got {base!r}')
    scale.enable = True


def apply_no_validate(cfg: Config) -> None:
    """``--no-validate``: no validation loop, dataloader or evaluator."""
    cfg.val_cfg = None
    cfg.val_dataloader = None
    cfg.val_evaluator = None


def build_config(args) -> Config:
    """The config the runner gets: the file, then ``--cfg-options``, then the flags."""
    cfg = tools_support.build_config(args)
    if args.no_validate:
        apply_no_validate(cfg)
    if args.amp:
        apply_amp(cfg)
    apply_resume(cfg, args.resume)
    if args.auto_scale_lr:
        apply_auto_scale_lr(cfg)
    set_dataloader_defaults(cfg, pin_memory=not args.no_pin_memory,
                            persistent_workers=not args.no_persistent_workers)
    return cfg


def build_runner(cfg: Config) -> Runner:
    """The runner (``runner_type`` from the registry when the config names one), with
    the start-of-training batch / lr log line."""
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    runner.register_hook(BatchSummaryHook())
    return runner


def main(argv=None) -> None:
    """Train as the command line ``argv`` (default: ``sys.argv[1:]``) says."""
    silence_cpu_pin_memory_warning()
    build_runner(build_config(parse_args(argv))).train()
    finish_distributed()
