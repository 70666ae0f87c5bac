"""``tools/benchmarks/evaluate.py``: evaluate a checkpoint with the frozen-feature
protocols, in one or several processes.

    python tools/benchmarks/evaluate.py CONFIG CHECKPOINT --protocols knn svm ... \\
        [--work-dir DIR] [--launcher pytorch] [options]

CONFIG: a pretraining config (every backbone level is evaluated, pooled as each protocol
asks) or a benchmark config with a neck (its outputs are the features, named by its
``feature_names``). CHECKPOINT: a whole model of any algorithm or a backbone-only file.
Features are extracted once per image set and pooling into DIR/feature_cache (or
--cache-dir), shared by the protocols and by later runs; result rows go to
DIR/rows.jsonl (rows of a rerun replace those they measure again), and the tables are
printed.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence

from .protocols import PROTOCOLS, Options
from .evaluate import MODEL_MEASURES

NAMES = tuple(PROTOCOLS) + MODEL_MEASURES


def _numbers(kind):
    def parse(text: str):
        try:
            values = tuple(kind(v) for v in text.split(',') if v.strip())
        except ValueError:
            values = ()
        if not values:
            raise argparse.ArgumentTypeError(f'{text!r} is not a comma-separated list of '
                                             f'{kind.__name__} values')
        return values
    return parse


def _low_shot_cost(text: str):
    if text == 'cv':
        return text
    try:
        cost = float(text)
    except ValueError:
        cost = -1.0
    if not 0 < cost < float('inf'):
        raise argparse.ArgumentTypeError(f"--low-shot-cost must be 'cv' or a positive "
                                         f'number, not {text!r}')
    return cost


def _protocol(text: str) -> str:
    if text not in NAMES:
        raise argparse.ArgumentTypeError(f'unknown protocol {text!r}; the protocols are: '
                                         f'{", ".join(NAMES)}')
    return text


def build_parser() -> argparse.ArgumentParser:
    from ..tools_support import add_launcher_args
    defaults = Options()
    parser = argparse.ArgumentParser(
        prog='tools/benchmarks/evaluate.py', description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('config', help='pretraining or benchmark config')
    parser.add_argument('checkpoint', help='a whole model of any algorithm, or a '
                        'backbone-only file')
    parser.add_argument('--protocols', nargs='+', type=_protocol, required=True,
                        metavar='NAME', help=f'any of: {", ".join(NAMES)}')
    parser.add_argument('--work-dir', help='rows and feature cache go there (default: '
                        'work_dirs/benchmarks/<config name>)')
    parser.add_argument('--cache-dir', help='feature cache (default: WORK_DIR/feature_cache)')
    parser.add_argument('--rows', help='result rows file (default: WORK_DIR/rows.jsonl)')
    parser.add_argument('--name', help='model name in the rows (default: the checkpoint '
                        "file's name)")
    parser.add_argument('--seed', type=int, help='seed of the evaluated model, recorded in '
                        'the rows (default: the one the checkpoint records)')
    parser.add_argument('--random-baseline', action='store_true',
                        help="also evaluate the config's model randomly initialised "
                        '(model "random", seed --random-seed)')
    parser.add_argument('--random-seed', type=int, default=0)
    parser.add_argument('--split', choices=('test', 'val'), default='test',
                        help='score on the test split, or on the validation images held '
                        'out of the train split (its last 10,000)')
    parser.add_argument('--train-samples', type=int, help='training images of the '
                        'protocols: the first N of the train split (default: all)')
    parser.add_argument('--svm-samples', type=int, help='training images of svm and '
                        'low_shot (default: --train-samples)')
    parser.add_argument('--test-samples', type=int, help='scored images: the first N of '
                        '--split (default: all)')
    parser.add_argument('--levels', type=_numbers(str), help='comma-separated level names '
                        '(default: all)')
    parser.add_argument('--max-dims', type=int, default=defaults.max_dims,
                        help='values per image of budget-pooled features')
    parser.add_argument('--dtype', choices=('float32', 'float16'), default='float32',
                        help='stored feature type')
    parser.add_argument('--shard-size', type=int, default=50000, help='images per shard')
    parser.add_argument('--batch-size', type=int, default=256,
                        help='images per extraction batch and process')
    parser.add_argument('--epochs', type=int, default=defaults.epochs, help='linear_probe')
    parser.add_argument('--knn-k', type=_numbers(int), default=defaults.knn_ks, help='knn')
    parser.add_argument('--temperature', type=float, default=defaults.temperature,
                        help='knn')
    parser.add_argument('--knn-topk', type=_numbers(int), default=defaults.knn_topk,
                        help='knn')
    parser.add_argument('--costs', type=_numbers(float), default=defaults.svm_costs,
                        help='svm: costs tried per class')
    parser.add_argument('--folds', type=int, default=defaults.folds, help='svm')
    parser.add_argument('--low-shot-k', type=_numbers(int), default=defaults.low_shot_ks,
                        help='low_shot: positives per class')
    parser.add_argument('--low-shot-samples', type=int, default=defaults.low_shot_samples)
    parser.add_argument('--low-shot-cost', type=_low_shot_cost, default='cv',
                        help="low_shot: 'cv' (each class's cross-validated svm cost) or C")
    parser.add_argument('--low-shot-seed', type=int, default=0)
    parser.add_argument('--nonlinear-epochs', type=int, default=defaults.nonlinear_epochs,
                        help='nonlinear head (the paper: 50)')
    parser.add_argument('--conv-epochs', type=int, default=defaults.conv_epochs,
                        help='conv head (the paper: 100)')
    parser.add_argument('--eleven-point', action='store_true',
                        help='VOC2007 11-point AP (svm, low_shot)')
    parser.add_argument('--n-jobs', type=int, default=-1, help='svm fits in parallel')
    parser.add_argument('--cfg-options', nargs='+', action=_dict_action(),
                        help='override settings of the config, key=value')
    add_launcher_args(parser)
    return parser


def _dict_action():
    from mmengine.config import DictAction
    return DictAction


def options_of(args) -> Options:
    return Options(max_dims=args.max_dims, epochs=args.epochs, knn_ks=args.knn_k,
                   temperature=args.temperature, knn_topk=args.knn_topk,
                   svm_costs=args.costs, folds=args.folds, low_shot_ks=args.low_shot_k,
                   low_shot_samples=args.low_shot_samples,
                   low_shot_cost=args.low_shot_cost, low_shot_seed=args.low_shot_seed,
                   eleven_point=args.eleven_point, n_jobs=args.n_jobs,
                   nonlinear_epochs=args.nonlinear_epochs, conv_epochs=args.conv_epochs)


def print_tables(rows: List[dict], sets: dict, stream=sys.stdout) -> None:
    """The rows as markdown tables: rotation accuracy with the linear probe of every
    level, a line per model; then one table per other protocol, a line per model, level
    and metric, a column per setting."""
    from .render import probe_summary_table, render_table
    probe = [r for r in rows if r['protocol'] in ('linear_probe', 'rotation_accuracy')]
    if probe:
        titles = {r['model']: 'random init' if r['model'] == 'random' else 'RotNet'
                  for r in probe if r['protocol'] == 'rotation_accuracy'}
        print(f'\nLinear probe on {len(sets["train"])} train / {len(sets["test"])} '
              f'{rows[0]["split"]} images (top-1 %; rotation accuracy on the '
              f'{rows[0]["split"]} images)\n\n{probe_summary_table(probe, titles)}',
              file=stream, flush=True)
    for protocol in dict.fromkeys(r['protocol'] for r in rows):
        if protocol not in ('linear_probe', 'rotation_accuracy'):
            part = [r for r in rows if r['protocol'] == protocol]
            table = render_table(part, column='setting', by=('model', 'level', 'metric'))
            print(f'\n{protocol}\n\n{table}', file=stream, flush=True)


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    """Run the command line ``argv``; returns the rows it wrote (none on ranks > 0)."""
    from ..tools_support import parse_launcher_args
    args = parse_launcher_args(build_parser(), argv)
    from mmengine.config import Config
    from mmengine.dist import get_rank, init_dist
    from mmengine.logging import MMLogger

    import rotation_pred  # noqa: F401  (registers the plugin, applies the stack fixes)
    from ..compat import finish_distributed
    from .checkpoint import checkpoint_seed
    from .evaluate import (evaluate_features, has_neck, image_sets, level_names, load_model,
                           model_measures)
    from .provenance import provenance
    from .rows import row_maker, update_rows
    if not osp.isfile(args.config):
        raise SystemExit(f'config file not found: {args.config}')
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint file not found: {args.checkpoint}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.launcher != 'none':
        init_dist(args.launcher)
    MMLogger.get_instance('evaluate', log_level='WARNING')
    work_dir = args.work_dir or osp.join('work_dirs', 'benchmarks',
                                         osp.splitext(osp.basename(args.config))[0])
    cache_dir = args.cache_dir or osp.join(work_dir, 'feature_cache')
    rows_file = args.rows or osp.join(work_dir, 'rows.jsonl')
    sets = image_sets(cfg, args.split, args.train_samples, args.svm_samples,
                      args.test_samples)
    features = [p for p in args.protocols if p in PROTOCOLS]
    measures = [p for p in args.protocols if p in MODEL_MEASURES]
    runs = [(args.name or osp.splitext(osp.basename(args.checkpoint))[0], args.checkpoint)]
    if args.random_baseline:
        runs.append(('random', None))
    rows = []
    for name, checkpoint in runs:
        model, whole = load_model(cfg, checkpoint, seed=args.random_seed)
        seed = args.random_seed if checkpoint is None else \
            args.seed if args.seed is not None else checkpoint_seed(checkpoint)
        row = row_maker(name, seed, args.split, provenance(args.config, checkpoint))
        if get_rank() == 0:
            rows += model_measures(model, measures, sets['test'], row, whole)
        rows += evaluate_features(model, sets, features, row, cache_dir, level_names(cfg),
                                  checkpoint, args.random_seed if checkpoint is None
                                  else None, options_of(args), has_neck(cfg), args.levels,
                                  args.dtype, cfg.model, args.shard_size, args.batch_size,
                                  cfg.test_dataloader.get('num_workers', 0), label=name)
    if get_rank() == 0:
        os.makedirs(work_dir, exist_ok=True)
        update_rows(rows_file, rows)
        print_tables(rows, sets)
        print(f'\nrows: {rows_file}', flush=True)
    finish_distributed()
    return rows

