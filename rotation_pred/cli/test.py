"""``tools/test.py``: evaluate a checkpoint on the config's test set with MMEngine's
Runner.

The command line of MMPretrain 1.2.0's ``tools/test.py`` with the same meaning:
``--work-dir``, ``--out FILE`` with ``--out-item pred`` (the default: the raw
predictions, pickled by mmengine's ``DumpResults``, so FILE ends in .pkl/.pickle) or
``--out-item metrics`` (the metrics dict, as .json/.yaml/.pkl), ``--cfg-options``,
``--amp`` (``test_cfg.fp16``), ``--show``/``--show-dir``/``--interval``/``--wait-time``
(the config's VisualizationHook), ``--no-pin-memory``, ``--tta``, ``--launcher``.
One addition: ``--out metrics.json`` (a .json or .yaml file, which MMPretrain's tool
refuses without ``--out-item metrics``) writes the metrics, with a warning.
"""
import argparse
import logging
import os.path as osp
from copy import deepcopy

import mmengine
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.evaluator import DumpResults
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

# importing rotation_pred registers the plugin and applies the stack fixes
from rotation_pred import tools_support
from rotation_pred.compat import finish_distributed
from rotation_pred.tools_support import (add_launcher_args, parse_launcher_args,
                                         set_dataloader_defaults,
                                         silence_cpu_pin_memory_warning)

PICKLE = ('.pkl', '.pickle')
METRIC_FORMATS = ('.json', '.yaml', '.yml') + PICKLE


def make_parser() -> argparse.ArgumentParser:
    """The argument parser (MMPretrain's flags)."""
    parser = argparse.ArgumentParser(prog='tools/test.py',
                                     description='Test (evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the evaluation results')
    parser.add_argument(
        '--out', help='output file: the predictions (.pkl) or, with --out-item '
        'metrics, the metrics (.json/.yaml/.pkl)')
    parser.add_argument('--out-item', choices=['metrics', 'pred'],
                        help='what --out holds: pred (default) or metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision test (test_cfg.fp16=True)')
    parser.add_argument('--show-dir', help='save the visualised images in this dir')
    parser.add_argument('--show', action='store_true',
                        help='display the predictions in a window')
    parser.add_argument('--interval', type=int, default=1,
                        help='visualise every INTERVAL-th sample')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each --show window stays up')
    parser.add_argument('--no-pin-memory', action='store_true',
                        help='disable pin_memory in the test dataloader (default: on)')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation: the config\'s tta_model and '
                        'tta_pipeline, else flip TTA averaging the class scores')
    return add_launcher_args(parser)


def parse_args(argv=None) -> argparse.Namespace:
    """Parse ``argv`` (default: the command line); sets ``LOCAL_RANK`` if unset."""
    return parse_launcher_args(make_parser(), argv)


def out_item(args) -> str:
    """What ``--out`` receives, ``'pred'`` or ``'metrics'``, or None without --out;
    refuses combinations that cannot be written, naming the option."""
    if args.out is None:
        if args.out_item is not None:
            raise ValueError(f'--out-item {args.out_item} needs --out FILE')
        return None
    suffix = osp.splitext(args.out)[1].lower()
    if args.out_item == 'metrics':
        if suffix not in METRIC_FORMATS:
            raise ValueError(f'--out {args.out} --out-item metrics: the file must end '
                             f'in one of {", ".join(METRIC_FORMATS)}')
        return 'metrics'
    if suffix in PICKLE:
        return 'pred'
    if args.out_item is None and suffix in METRIC_FORMATS:
        print_log(f'--out {args.out} without --out-item: writing the metrics (a .json '
                  "or .yaml file); MMPretrain's tools/test.py would refuse it (its "
                  '--out holds the predictions, in a .pkl file): pass --out-item metrics',
                  logger='current', level=logging.WARNING)
        return 'metrics'
    raise ValueError(f'--out {args.out}: the predictions are pickled (mmengine '
                     'DumpResults): give a .pkl or .pickle file, or pass '
                     '--out-item metrics')


def apply_visualization(cfg: Config, args) -> None:
    """``--show`` / ``--show-dir``: turn on the config's VisualizationHook."""
    hook = cfg.get('default_hooks', {}).get('visualization', None)
    if hook is None:
        raise ValueError('--show/--show-dir: the config has no '
                         'default_hooks.visualization (set '
                         "visualization=dict(type='VisualizationHook'))")
    hook.enable = True
    hook.show = args.show
    hook.wait_time = args.wait_time
    hook.out_dir = args.show_dir
    hook.interval = args.interval


def apply_tta(cfg: Config) -> None:
    """``--tta``: wrap the model in the config's ``tta_model`` (default: averaged class
    scores) over ``tta_pipeline`` (default: the test pipeline with and without a
    horizontal flip), as MMPretrain's tool does. Refused for RotationPred: a flip turns
    a 90-degree rotation into a 270-degree one, so flipped scores would not average."""
    if cfg.model.get('type') in ('RotationPred', 'mmpretrain.RotationPred'):
        raise ValueError('--tta: flip test-time augmentation does not apply to '
                         'RotationPred (a horizontal flip swaps the 90 and 270 degree '
                         'labels)')
    if 'tta_model' not in cfg:
        cfg.tta_model = dict(type='mmpretrain.AverageClsScoreTTA')
    if 'tta_pipeline' not in cfg:
        test_pipeline = cfg.test_dataloader.dataset.pipeline
        cfg.tta_pipeline = deepcopy(test_pipeline)
        cfg.tta_pipeline[-1] = dict(
            type='TestTimeAug',
            transforms=[[dict(type='RandomFlip', prob=1.),
                         dict(type='RandomFlip', prob=0.)],
                        [test_pipeline[-1]]])
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def build_config(args) -> Config:
    """The config the runner gets: the file, then ``--cfg-options``, then the flags."""
    cfg = tools_support.build_config(args)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: {args.checkpoint}')
    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg = cfg.get('test_cfg', None) or ConfigDict()
        cfg.test_cfg.fp16 = True
    if args.show or args.show_dir is not None:
        apply_visualization(cfg, args)
    if args.tta:
        apply_tta(cfg)
    set_dataloader_defaults(cfg, ['test_dataloader'], pin_memory=not args.no_pin_memory,
                            persistent_workers=None)
    return cfg


def main(argv=None) -> None:
    """Test as the command line ``argv`` (default: ``sys.argv[1:]``) says."""
    silence_cpu_pin_memory_warning()
    args = parse_args(argv)
    item = out_item(args)
    cfg = build_config(args)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    if item == 'pred':
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    metrics = runner.test()
    if item == 'metrics':
        mmengine.dump(metrics, args.out)
    finish_distributed()
