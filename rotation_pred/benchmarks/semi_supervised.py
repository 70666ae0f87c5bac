"""The two command lines around the semi-supervised fine-tuning grid
(``tools/benchmarks/classification/semi_supervised/dist_train_semi.sh``):

* :func:`subsets_main`, ``semi_supervised/make_subsets.py``: the class-balanced 1% and
  10% label lists the grid trains on;
* :func:`summarize_main`, ``semi_supervised/summarize_grid.py``: the runs of the grid
  (each ``train_linear.py``'s ``results.json``) as one table and ``grid.json``.
"""
import argparse
import glob
import json
import os.path as osp
from typing import List, Tuple

from ..datasets.class_balanced import class_balanced_subset
from .tables import markdown_table

TOOLS = 'tools/benchmarks/classification/semi_supervised'


# ------------------------------------------------------------------ make_subsets.py

def read_meta(path: str) -> Tuple[List[str], List[int]]:
    """Lines and integer labels of a meta list; raises naming the file and line."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'meta list not found: {path}')
    lines, labels = [], []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or not parts[1].lstrip('-').isdigit():
                raise ValueError(f'{path}:{number}: expected "relative/path label", got '
                                 f'{line.strip()!r}')
            lines.append(line.rstrip('\n'))
            labels.append(int(parts[1]))
    return lines, labels


def subset_name(fraction: float) -> str:
    """The file name of the subset list of ``fraction``: ``train_1percent.txt`` for 0.01."""
    return f'train_{fraction * 100:g}percent.txt'


def subsets_main(argv=None) -> None:
    """Write class-balanced subsets of an ImageNet-style meta list (1% and 10% of the labels).

        python tools/benchmarks/classification/semi_supervised/make_subsets.py DATA_ROOT \\
            [--ann-file meta/train.txt] [--fractions 0.01,0.1] [--seed 0]

    Reads DATA_ROOT/meta/train.txt ("relative/path label" per line) and writes, next to
    it, train_1percent.txt and train_10percent.txt in the same format: every class gets
    round(fraction * N / classes) images drawn at random with the seed (all of a smaller
    class), lines in the original order. ``argv``: the command line (default:
    ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(prog=f'{TOOLS}/make_subsets.py',
                                     description=subsets_main.__doc__.split('\n\n')[0])
    parser.add_argument('data_root', help='e.g. data/imagenet')
    parser.add_argument('--ann-file', default='meta/train.txt', help='relative to DATA_ROOT')
    parser.add_argument('--fractions', default='0.01,0.1')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    source = osp.join(args.data_root, args.ann_file)
    lines, labels = read_meta(source)
    for fraction in (float(v) for v in args.fractions.split(',')):
        chosen = class_balanced_subset(labels, fraction, args.seed)
        out = osp.join(osp.dirname(source), subset_name(fraction))
        with open(out, 'w') as f:
            f.writelines(lines[i] + '\n' for i in chosen)
        print(f'{out}: {len(chosen)} of {len(lines)} images, '
              f'{len(set(labels[i] for i in chosen))} classes (seed {args.seed})')


# ---------------------------------------------------------------- summarize_grid.py

def percent(value) -> str:
    """A top-k accuracy (%) with two decimals; ``-`` when the run did not measure it."""
    return '-' if value is None else f'{value:.2f}'


def grid_table(name: str, runs: list) -> str:
    """``| Model | lr | head lr mult | Top-1 | Top-5 |``, one line per run (dicts with
    ``lr``, ``head_lr_mult``, ``top1``, ``top5``); the best top-1 is marked with *."""
    best = max(r['top1'] for r in runs)
    body = [[name, f'{r["lr"]:g}', f'{r["head_lr_mult"]:g}',
             percent(r['top1']) + (' *' if r['top1'] == best else ''), percent(r['top5'])]
            for r in runs]
    return markdown_table(['Model', 'lr', 'head lr mult', 'Top-1', 'Top-5'], body)


def summarize_main(argv=None) -> None:
    """Collect the runs of a semi-supervised learning-rate grid into one table.

        python tools/benchmarks/classification/semi_supervised/summarize_grid.py \\
            WORK_DIR [--name NAME]

    Reads WORK_DIR/lr*_head*/results.json (written by train_linear.py), writes
    WORK_DIR/grid.json (every run and the best by top-1) and prints the table.
    ``argv``: the command line (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(prog=f'{TOOLS}/summarize_grid.py',
                                     description=summarize_main.__doc__.split('\n\n')[0])
    parser.add_argument('work_dir')
    parser.add_argument('--name', help='model name in the table')
    args = parser.parse_args(argv)
    runs = []
    for path in sorted(glob.glob(osp.join(args.work_dir, 'lr*_head*', 'results.json'))):
        with open(path) as f:
            result = json.load(f)
        runs.append(dict(lr=result['lr'], head_lr_mult=result['head_lr_mult'],
                         top1=result['top1'], top5=result['top5'],
                         run=osp.basename(osp.dirname(path))))
    if not runs:
        raise SystemExit(f'no lr*_head*/results.json under {args.work_dir}')
    runs.sort(key=lambda r: (r['lr'], r['head_lr_mult']))
    best = max(runs, key=lambda r: r['top1'])
    name = args.name or result.get('model', '')
    out = osp.join(args.work_dir, 'grid.json')
    with open(out, 'w') as f:
        json.dump(dict(protocol='semi-supervised fine-tuning', model=name,
                       config=result['config'], train_samples=result['train_samples'],
                       test_samples=result['test_samples'], runs=runs, best=best), f,
                  indent=2)
    print(f'\nFine-tuning grid, top-1/top-5 (%) on {result["test_samples"]} test images, '
          f'{result["train_samples"]} labelled train images (* best top-1):\n')
    print(grid_table(name, runs))
    print(f'\nresults: {out}', flush=True)
