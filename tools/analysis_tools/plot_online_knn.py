"""Plot the online k-NN top-1 and the rotation accuracy per epoch of a pretraining run.

Reads the run's ``WORK_DIR/<timestamp>/vis_data/scalars.json`` (every timestamp folder,
oldest first, so a resumed run is read whole; a later value of an epoch replaces an
earlier one) as written by MMEngine's ``LocalVisBackend``:

  knn/top1           OnlineKNNHook (rotation_pred/hooks/online_knn.py), step = epoch
                     (MMEngine's default: LoggerHook(log_metric_by_epoch=True))
  rotation/accuracy  validation (held-out images), step = epoch
  rotation_accuracy  training batches, logged every few iterations with their epoch;
                     plotted as the mean of the epoch's logged values

    python tools/analysis_tools/plot_online_knn.py WORK_DIR --out knn.png

It also prints the numbers as a table (one row per epoch).
"""
import argparse
import glob
import json
import os.path as osp
from collections import defaultdict
from typing import Dict, List

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

KNN, VAL, TRAIN = 'knn/top1', 'rotation/accuracy', 'rotation_accuracy'


def read_runs(work_dir: str) -> List[List[dict]]:
    """The rows of each ``WORK_DIR/*/vis_data/scalars.json``, oldest run first."""
    paths = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not paths:
        raise FileNotFoundError(f'no <timestamp>/vis_data/scalars.json under WORK_DIR '
                                f'{work_dir!r}: is it the --work-dir of a training run?')
    runs = []
    for path in paths:
        with open(path) as f:
            runs.append([json.loads(line) for line in f if line.strip()])
    return runs


def per_epoch(runs: List[List[dict]]) -> Dict[str, Dict[int, float]]:
    """``{name: {epoch: value}}`` for the k-NN top-1, the validation and the training
    rotation accuracy (all in %, as logged); a later run's epoch replaces an earlier's."""
    curves = {KNN: {}, VAL: {}, TRAIN: {}}
    for rows in runs:
        train = defaultdict(list)
        for row in rows:
            for name in (KNN, VAL):
                if name in row:
                    curves[name][int(row['step'])] = float(row[name])
            if TRAIN in row and 'epoch' in row:
                train[int(row['epoch'])].append(float(row[TRAIN]))
        curves[TRAIN].update({epoch: sum(v) / len(v) for epoch, v in train.items()})
    return curves


def draw(curves: Dict[str, Dict[int, float]], path: str, title: str) -> None:
    """One axis, x = epoch, y = accuracy (%); a curve per non-empty entry."""
    labels = {KNN: 'k-NN top-1 (frozen features)',
              TRAIN: 'rotation accuracy (training batches)',
              VAL: 'rotation accuracy (validation)'}
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, style in ((KNN, 'o-'), (TRAIN, 's--'), (VAL, '^:')):
        points = sorted(curves[name].items())
        if points:
            ax.plot([e for e, _ in points], [v for _, v in points], style,
                    label=labels[name])
    ax.set_xlabel('epoch')
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel('accuracy (%)')
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def table(curves: Dict[str, Dict[int, float]]) -> str:
    """The curves as text, one row per epoch ('-' where a value was not logged)."""
    epochs = sorted(set().union(*(c.keys() for c in curves.values())))
    lines = [f'{"epoch":>5}  {"knn/top1":>8}  {"rot.acc train":>13}  {"rot.acc val":>11}']
    for epoch in epochs:
        cells = [curves[n].get(epoch) for n in (KNN, TRAIN, VAL)]
        text = ['-' if v is None else f'{v:.2f}' for v in cells]
        lines.append(f'{epoch:>5}  {text[0]:>8}  {text[1]:>13}  {text[2]:>11}')
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work_dir', help='the --work-dir of the training run')
    parser.add_argument('--out', required=True, help='the figure to write (.png, .pdf)')
    parser.add_argument('--title', help='figure title (default: the work dir name)')
    args = parser.parse_args()
    curves = per_epoch(read_runs(args.work_dir))
    if not curves[KNN]:
        raise SystemExit(f'no {KNN} in the scalars.json of {args.work_dir!r}: train with '
                         'OnlineKNNHook (e.g. configs/_base_/online_knn_fashion-mnist.py '
                         'in the config\'s _base_)')
    draw(curves, args.out, args.title or osp.basename(osp.normpath(args.work_dir)))
    print(table(curves))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
