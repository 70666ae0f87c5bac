"""Fine-tune a detector or segmentor from a RotationPred backbone, then evaluate it.

    python tools/benchmarks/transfer_train.py CONFIG [--work-dir DIR] [--launcher pytorch]
        --cfg-options model.backbone.init_cfg.checkpoint=BACKBONE.pth [...]

CONFIG is one of configs/benchmarks/mmdetection|mmsegmentation/; BACKBONE.pth comes from
tools/model_converters/extract_backbone_weights.py, or is a whole pretrained model of any
algorithm (its keys under ``backbone.`` are then taken). The launchers in
tools/benchmarks/mmdetection/ and mmsegmentation/ set the checkpoint options. Every
checkpoint is read once by rotation_pred.benchmarks.checkpoint before training, and
every module it initialises must find all its tensors in it, with their shapes
(MMEngine's Pretrained init would only log the missing ones and keep a random backbone):
a backbone that does not fit the config's (a ResNet-18 for a ResNet-50 detector) is
refused naming the file, the missing keys and the shape mismatches. Training validates
as the config says; the final model is then tested on the config's test set and the
test metrics are written to WORK_DIR/test_metrics.json.
"""
import argparse
import json
import os.path as osp
from typing import Dict, Iterator, Mapping, Optional, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from .. import tools_support  # importing the package applies the stack fixes (mmcv ops)
from ..tools_support import add_launcher_args, parse_launcher_args
from .checkpoint import (BACKBONE, backbone_of, check_backbone_fits, has_prefix,
                         read_backbone_weights, read_state_dict)


def parse_args(argv=None) -> argparse.Namespace:
    """Parse ``argv`` (default: the command line); sets ``LOCAL_RANK`` if unset."""
    parser = argparse.ArgumentParser(prog='tools/benchmarks/transfer_train.py',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='benchmark config file')
    parser.add_argument('--work-dir', help='where logs, checkpoints and metrics go')
    parser.add_argument('--resume', action='store_true',
                        help='resume from the latest checkpoint in the work dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value')
    return parse_launcher_args(add_launcher_args(parser), argv)


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


States = Dict[str, Mapping[str, torch.Tensor]]


def check_pretrained(cfg: Config, config_file: str) -> States:
    """Refuse to start when a ``Pretrained`` checkpoint is unset or missing, or holds no
    backbone weights (read by :mod:`rotation_pred.benchmarks.checkpoint`). A whole
    model's checkpoint (keys under ``backbone.``, any algorithm) gets
    ``prefix='backbone.'`` on its init_cfg, so that MMEngine loads its backbone part
    (without it, no key would match and the random initialisation would stay).

    Returns ``{path: {name: tensor}}``, the tensors of each local checkpoint file, each
    file read once (the C4 detector's backbone and res5 head share one), for
    :func:`check_pretrained_fits`."""
    inits = list(pretrained_inits(cfg.model, 'model'))
    if not inits:
        raise SystemExit(f'error: {config_file}: no Pretrained init_cfg in the model')
    states = {}
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
        try:  # a clear error now rather than a random backbone later
            if checkpoint not in states:
                states[checkpoint] = read_state_dict(checkpoint)
            backbone_of(states[checkpoint], checkpoint)
        except ValueError as e:
            raise SystemExit(f'error: {option}.checkpoint: {e}')
        if has_prefix(states[checkpoint], BACKBONE):
            init['prefix'] = BACKBONE
    return states


def module_at(model: torch.nn.Module, option: str) -> torch.nn.Module:
    """The submodule an init_cfg option belongs to: ``model.roi_head.shared_head.init_cfg``
    -> ``model.roi_head.shared_head``."""
    module = model
    for name in option.split('.')[1:-1]:
        module = module[int(name)] if name.isdigit() else getattr(module, name)
    return module


def check_shared_parts(module: torch.nn.Module, weights: dict, checkpoint: str) -> None:
    """For a module that takes part of a backbone (the res5 head of a C4 detector takes
    ``layer4``, and has a norm of its own): each child whose name the checkpoint has
    must fit exactly, and there must be one. Raises ValueError naming ``checkpoint``."""
    parts = [(name, child) for name, child in module.named_children()
             if any(k.startswith(f'{name}.') for k in weights)]
    if not parts:
        children = ', '.join(name for name, _ in module.named_children())
        raise ValueError(f'{checkpoint} has none of the parts of {type(module).__name__} '
                         f'({children})')
    for name, child in parts:
        part = {k[len(name) + 1:]: v for k, v in weights.items() if k.startswith(f'{name}.')}
        check_backbone_fits(child, part, f'{checkpoint} ({name}.*)')


def check_pretrained_fits(model: torch.nn.Module, cfg: Config,
                          states: Optional[States] = None) -> None:
    """Refuse to train when a module with a ``Pretrained`` init_cfg would not find its
    tensors, with their shapes, in its checkpoint's backbone weights: all of them for
    the backbone (which may use fewer stages than the checkpoint has: C4 uses three),
    those of the parts it shares with the checkpoint for another module (see
    :func:`check_shared_parts`). ``states``: the tensors of the checkpoint files that
    :func:`check_pretrained` read (a file not in it is read here)."""
    for option, init in pretrained_inits(cfg.model, 'model'):
        checkpoint = init['checkpoint']
        if '://' in checkpoint:
            continue
        prefix = init.get('prefix', BACKBONE)
        module = module_at(model, option)
        try:
            if states is not None and checkpoint in states:
                weights = backbone_of(states[checkpoint], checkpoint, prefix)
            else:
                weights = read_backbone_weights(checkpoint, prefix)
            if option == 'model.backbone.init_cfg':
                check_backbone_fits(module, weights, checkpoint, allow_unexpected=True)
            else:
                check_shared_parts(module, weights, checkpoint)
        except ValueError as e:
            raise SystemExit(f'error: {option}.checkpoint: {e}')


def build_config(args) -> Tuple[Config, States]:
    """The config of ``args`` with its options merged, and the checkpoint files it
    loads, read and checked (see :func:`check_pretrained`)."""
    try:
        cfg = tools_support.build_config(args, work_root='./work_dirs/benchmarks')
    except FileNotFoundError as e:
        raise SystemExit(f'error: {e}')
    cfg.resume = args.resume
    return cfg, check_pretrained(cfg, args.config)


def main(argv=None):
    """Fine-tune and test as the command line ``argv`` (default: ``sys.argv[1:]``)
    says; refuse, before training, checkpoints that do not fit the model."""
    args = parse_args(argv)
    cfg, states = build_config(args)
    runner = Runner.from_cfg(cfg)
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    check_pretrained_fits(model, cfg, states)
    del states  # the checks are done: MMEngine's Pretrained init loads the files
    runner.train()
    metrics = runner.test()
    if not metrics:
        raise SystemExit(f'error: {args.config}: the test gave no metrics (see the log '
                         f'in {runner.work_dir})')
    if is_main_process():
        with open(osp.join(runner.work_dir, 'test_metrics.json'), 'w') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=1)

