"""Train a classifier on a pretrained backbone, test it, and report the result.

Serves the multi-level linear, the pooled linear and the semi-supervised fine-tuning
benchmarks: the config decides (frozen or not, one head or one per level).

    python tools/benchmarks/classification/train_linear.py CONFIG --backbone WEIGHTS \\
        [--work-dir DIR] [--launcher pytorch] [--cfg-options k=v ...]

WEIGHTS is a backbone-only checkpoint (tools/model_converters/extract_backbone_weights.py)
or a whole pretrained model of any algorithm; its backbone is loaded strictly by
rotation_pred.benchmarks.checkpoint.load_backbone (which logs "loaded N of M backbone
tensors from WEIGHTS"), and runner.train() then initialises everything else. Writes
DIR/results.json and DIR/rows.jsonl, result rows (rotation_pred.benchmarks.rows; rows
of a rerun replacing those it measures again): protocol 'multi_level_linear' with one
row per level, or for one head 'linear_probe' (frozen backbone) or 'fine_tune', level
none; metrics 'top1' and 'top5', split 'test', setting '', model --name, seed --seed
(the pretrained model's; default: the seed WEIGHTS records, else none), provenance:
CONFIG and WEIGHTS. Prints the table; all of this on rank 0.
Normally started by dist_train_linear.sh (or semi_supervised/dist_train_semi.sh).
"""
import argparse
import json
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.dist import get_rank
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from .. import tools_support
from ..tools_support import add_launcher_args, parse_launcher_args
from .checkpoint import checkpoint_seed, load_backbone
from .provenance import provenance
from .render import render_table
from .rows import row_maker, update_rows


def parse_args(argv=None) -> argparse.Namespace:
    """Parse ``argv`` (default: the command line); sets ``LOCAL_RANK`` if unset."""
    parser = argparse.ArgumentParser(
        prog='tools/benchmarks/classification/train_linear.py',
        description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='benchmark config')
    parser.add_argument('--backbone', required=True, help='pretrained backbone weights')
    parser.add_argument('--name', help='model name in the table and the rows (default: '
                        'the file name)')
    parser.add_argument('--seed', type=int, default=None,
                        help='seed of the pretrained model, recorded in the rows (default: '
                        'the one WEIGHTS records, else none); not a training seed')
    parser.add_argument('--work-dir', help='where logs, checkpoints and results go')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value')
    return parse_launcher_args(add_launcher_args(parser), argv)


def single_process(launcher: str) -> str:
    """One process needs no process group: run it as a plain job (MMEngine then turns
    SyncBN layers into BN, which CPU processes need)."""
    return 'none' if int(os.environ.get('WORLD_SIZE', '1')) == 1 else launcher


def build_config(args) -> Config:
    """The config of ``args`` (:func:`rotation_pred.tools_support.build_config`, default
    work dir ``work_dirs/benchmarks/<config name>``), launched as one plain process when
    there is one (:func:`single_process`), without the backbone's init_cfg."""
    cfg = tools_support.build_config(args, work_root=osp.join('work_dirs', 'benchmarks'))
    cfg.launcher = single_process(args.launcher)
    # the backbone is loaded by load_backbone, strictly; no init_cfg may overwrite it
    cfg.model.backbone.init_cfg = None
    return cfg


def load_pretrained_backbone(runner: Runner, path: str) -> str:
    """Load the backbone of checkpoint ``path`` into the runner's model (strict; ValueError
    naming ``path`` when it does not fit) and mark it initialised, so that
    ``runner.train()`` initialises the neck and head but leaves the backbone alone."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    report = load_backbone(model.backbone, path, logger=runner.logger)
    model.backbone._is_init = True
    return report


def summarize(metrics: dict, frozen: bool) -> dict:
    """Test metrics -> ``dict(protocol, levels={level: {top1, top5}})`` or
    ``dict(protocol, top1, top5)``; ``frozen``: whether the backbone was frozen."""
    levels = {}
    for key, value in metrics.items():
        if key.startswith('multi-level/'):
            level, k = key.split('/', 1)[1].rsplit('_top', 1)
            levels.setdefault(level, {})[f'top{k}'] = value
    if levels:
        return dict(protocol='multi-level linear', levels=levels)
    return dict(protocol='linear' if frozen else 'fine-tuning',
                top1=metrics.get('accuracy/top1'),
                top5=metrics.get('accuracy/top5'))


def head_lr_mult(cfg: Config) -> float:
    """The lr multiplier of the head (``paramwise_cfg.custom_keys['head']``), else 1."""
    keys = cfg.optim_wrapper.get('paramwise_cfg', {}).get('custom_keys', {})
    return float(keys.get('head', {}).get('lr_mult', 1.0))


def result_rows(result: dict, name: str, seed, source: dict) -> list:
    """The numbers of ``result`` (:func:`summarize`, plus the backbone's ``frozen``
    state) as result rows, split 'test', setting '': per level for the multi-level
    protocol, else one 'linear_probe' or 'fine_tune' row per metric (level None). A
    metric the test did not measure (None) gets no row."""
    make = row_maker(name, seed, 'test', source)
    if 'levels' in result:
        return [make('multi_level_linear', level, '', metric, value)
                for level, values in result['levels'].items()
                for metric, value in values.items() if value is not None]
    protocol = 'linear_probe' if result['frozen'] else 'fine_tune'
    return [make(protocol, None, '', metric, result[metric]) for metric in ('top1', 'top5')
            if result[metric] is not None]


def result_table(rows: list) -> str:
    """``| Model | Metric | feat1 | ... |`` of multi-level rows, ``| Model | top1 | top5 |``
    of a single head's."""
    if any(r['level'] is not None for r in rows):
        return render_table(rows, column='level', by=('model', 'metric'))
    return render_table(rows, column='metric', by=('model', ))


def main(argv=None) -> None:
    """Train, test and report as the command line ``argv`` (default: ``sys.argv[1:]``)
    says."""
    args = parse_args(argv)
    cfg = build_config(args)
    runner = Runner.from_cfg(cfg)
    load_pretrained_backbone(runner, args.backbone)
    runner.train()
    metrics = runner.test()
    if get_rank() != 0:
        return
    name = args.name or osp.splitext(osp.basename(args.backbone))[0]
    frozen = cfg.model.backbone.get('frozen_stages', -1) > 0
    result = dict(summarize(metrics, frozen), config=args.config, backbone=args.backbone,
                  model=name, metrics=metrics,
                  train_samples=len(runner.train_dataloader.dataset),
                  test_samples=len(runner.test_dataloader.dataset),
                  epochs=cfg.train_cfg.get('max_epochs'),
                  lr=cfg.optim_wrapper.optimizer.lr, head_lr_mult=head_lr_mult(cfg))
    out = osp.join(cfg.work_dir, 'results.json')
    with open(out, 'w') as f:
        json.dump(result, f, indent=2)
    seed = args.seed if args.seed is not None else checkpoint_seed(args.backbone)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    rows = result_rows(dict(result, frozen=frozen), name, seed,
                       provenance(args.config, args.backbone, device=device))
    rows_file = osp.join(cfg.work_dir, 'rows.jsonl')
    update_rows(rows_file, rows)
    print(f'\n{result["protocol"]} evaluation, accuracy (%) on {result["test_samples"]} '
          f'test images after {result["epochs"]} epochs on {result["train_samples"]}:\n')
    print(result_table(rows))
    print(f'\nresults: {out} and {rows_file}', flush=True)

