"""Shared pieces of the command-line tools (``tools/train.py``, ``tools/test.py``,
``tools/benchmarks/*``): the launcher flags, the config with ``--cfg-options`` and the work
dir, MMPretrain's dataloader defaults (pin memory, persistent workers, collate function)
and the start-of-training log line that states the batch and learning rate a run really
uses."""
import argparse
import os
import os.path as osp
import warnings
from typing import List, Optional, Sequence

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

DATALOADER_FIELDS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def add_launcher_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add MMPretrain's launcher flags to ``parser`` and return it: ``--launcher`` (one of
    :data:`LAUNCHERS`, default ``none``) and ``--local_rank`` / ``--local-rank`` (default
    0, as ``torch.distributed.launch`` passes it). Parse with
    :func:`parse_launcher_args`."""
    parser.add_argument('--launcher', choices=list(LAUNCHERS), default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def parse_launcher_args(parser: argparse.ArgumentParser,
                        argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """``parser.parse_args(argv)`` (default: the command line) for a parser with
    :func:`add_launcher_args`; sets ``LOCAL_RANK`` in the environment from
    ``--local-rank`` where the launcher has not set it."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args, work_root: str = './work_dirs') -> Config:
    """The config a tool's command line ``args`` names, before the tool's own flags:
    the file ``args.config`` (FileNotFoundError naming it when missing) with
    ``launcher=args.launcher`` and ``args.cfg_options`` merged; its ``work_dir`` is
    ``args.work_dir``, else the config's own, else ``work_root/<config file name>``."""
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join(work_root, osp.splitext(osp.basename(args.config))[0])
    return cfg


def set_dataloader_defaults(cfg: Config, fields: Sequence[str] = DATALOADER_FIELDS,
                            pin_memory: bool = True,
                            persistent_workers: Optional[bool] = True) -> None:
    """Give each dataloader of ``fields`` in ``cfg`` MMPretrain's tools' defaults.

    As MMPretrain 1.2.0's ``tools/train.py`` / ``tools/test.py``: ``pin_memory=True``,
    ``persistent_workers=True`` and ``collate_fn=default_collate`` where the config sets
    none of them; ``pin_memory=False`` (``--no-pin-memory``) and
    ``persistent_workers=False`` (``--no-persistent-workers``) override the config;
    ``persistent_workers=None`` leaves the config's setting (MMPretrain's test tool).
    One difference: the persistent-workers default only applies to dataloaders with
    ``num_workers > 0`` (PyTorch refuses it otherwise; MMPretrain's tool then stops with
    ``persistent_workers option needs num_workers > 0``). A config that asks for
    persistent workers without workers is refused with the option named.
    Missing (or ``None``) dataloaders, as after ``--no-validate``, are skipped.
    """
    for field in fields:
        loader = cfg.get(field, None)
        if loader is None:
            continue
        loader.setdefault('collate_fn', dict(type='default_collate'))
        loader.setdefault('pin_memory', True)
        if not pin_memory:
            loader['pin_memory'] = False
        workers = loader.get('num_workers', 0)
        if persistent_workers and workers > 0:
            loader.setdefault('persistent_workers', True)
        elif persistent_workers is False:
            loader['persistent_workers'] = False
        if loader.get('persistent_workers', False) and workers <= 0:
            raise ValueError(
                f'{field}.persistent_workers=True needs {field}.num_workers > 0 '
                f'(it is {workers}): set {field}.persistent_workers=False or pass '
                '--no-persistent-workers')


def silence_cpu_pin_memory_warning() -> None:
    """Without an accelerator PyTorch ignores ``pin_memory=True`` (the tools' default)
    and warns about it for every dataloader; silence that one warning."""
    warnings.filterwarnings(
        'ignore', message="'pin_memory' argument is set as true but no accelerator",
        category=UserWarning)


def unwrapped(model):
    """The model inside a DDP / FSDP wrapper, or the model itself."""
    return model.module if is_model_wrapper(model) else model


def rotations_per_image(model) -> int:
    """How many rotated samples each image of a batch gives: ``len(rotations)`` for a
    RotationPred fed with ``feeding='all'``, else 1 (``'random'`` feeding, any other
    model)."""
    from .models import RotationPred
    model = unwrapped(model)
    if isinstance(model, RotationPred) and model.feeding == 'all':
        return len(model.rotations)
    return 1


def base_lrs(optim_wrapper) -> List[float]:
    """The base learning rate of every parameter group (after ``auto_scale_lr``):
    ``initial_lr`` where a parameter scheduler has stored it (a warm-up lowers ``lr``
    itself at step 0), else ``lr``. Covers ``OptimWrapperDict`` too."""
    wrappers = getattr(optim_wrapper, 'optim_wrappers', None)
    wrappers = list(wrappers.values()) if wrappers else [optim_wrapper]
    return [float(group.get('initial_lr', group['lr']))
            for wrapper in wrappers for group in wrapper.optimizer.param_groups]


def config_lr(cfg: Config) -> Optional[float]:
    """``optim_wrapper.optimizer.lr`` of the config, or None where it sets none."""
    optimizer = (cfg.get('optim_wrapper', None) or {}).get('optimizer', None) or {}
    lr = optimizer.get('lr', None)
    return None if lr is None else float(lr)


def batch_summary(world_size: int, images_per_gpu: int, rotations: int,
                  lrs: Sequence[float], cfg_lr: Optional[float] = None,
                  base_batch_size: Optional[int] = None) -> str:
    """The start-of-training log line: world size, images per GPU, global batch,
    (rotated) samples per step and the learning rate in force.

    ``rotations`` is :func:`rotations_per_image`; ``lrs`` the base lr of each
    parameter group (:func:`base_lrs`); ``cfg_lr`` the config's lr; ``base_batch_size``
    the ``auto_scale_lr`` batch size when the scaling is enabled, else None.
    """
    global_batch = world_size * images_per_gpu
    samples = global_batch * rotations
    copies = (f' ({rotations} rotated copies per image)' if rotations > 1 else '')
    line = (f'Batch and lr: world_size={world_size} images_per_gpu={images_per_gpu} '
            f'global_batch={global_batch} samples_per_step={samples}{copies} '
            f'lr={lrs[0]:g}')
    if len(set(lrs)) > 1:
        line += f' (param groups: {", ".join(f"{lr:g}" for lr in lrs)})'
    config = '' if cfg_lr is None else f'config lr {cfg_lr:g}'
    if base_batch_size is not None:
        line += (f'; auto_scale_lr on: {config or "config lr"} x {global_batch}/'
                 f'{base_batch_size} (global batch / base_batch_size)')
    else:
        line += f'; auto_scale_lr off{f" ({config})" if config else ""}'
    return line


class BatchSummaryHook(Hook):
    """Logs :func:`batch_summary` once, on rank 0, before the first training step
    (after ``auto_scale_lr`` has scaled the optimizer and the schedulers are built)."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        if runner.rank != 0:
            return
        loader = runner.train_dataloader
        images_per_gpu = getattr(loader, 'batch_size', None)
        if images_per_gpu is None:  # a custom batch sampler: read the config
            images_per_gpu = runner.cfg.train_dataloader.batch_size
        scale = runner.auto_scale_lr or {}
        base_batch_size = scale.get('base_batch_size') if scale.get('enable') else None
        runner.logger.info(batch_summary(
            runner.world_size, images_per_gpu, rotations_per_image(runner.model),
            base_lrs(runner.optim_wrapper), config_lr(runner.cfg), base_batch_size))
