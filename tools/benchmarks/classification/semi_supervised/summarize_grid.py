"""Collect the runs of a semi-supervised learning-rate grid into one table.

    python tools/benchmarks/classification/semi_supervised/summarize_grid.py WORK_DIR \
        [--name NAME]

Reads WORK_DIR/lr*_head*/results.json (written by train_linear.py), writes
WORK_DIR/grid.json (every run and the best by top-1) and prints the table.
"""
import argparse
import glob
import json
import os.path as osp

from rotation_pred.benchmarks.tables import markdown_table


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work_dir')
    parser.add_argument('--name', help='model name in the table')
    args = parser.parse_args()
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


if __name__ == '__main__':
    main()
