"""Draw the zoo's figures into docs/figures/ from the zoo's RotNet runs and result rows.

    python tools/zoo/make_figures.py

rotation_vs_probe.png: rotation accuracy and linear-probe accuracy (test) after each
pretraining epoch (paper Fig. 5a), mean over the seeds with a band of one standard
deviation, from the rows of zoo/results/rows.jsonl (tools/zoo/evaluate.py --protocols
per_epoch); then curves.png, attention.png and filters.png of the seed-0 checkpoint
(tools/analysis_tools/draw_figures.py).
"""
import os
import os.path as osp
import statistics
import subprocess
import sys

from . import zoo
from .rows import read_rows, select

OUT = 'docs/figures'


def epoch_curves(rows):
    """``{curve: (epochs, means, stds)}`` of RotNet's per-epoch rows on the test split:
    'rotation accuracy' and 'linear probe blockN', over the seeds."""
    values = {}
    for r in select(rows, model='rotnet', split='test'):
        if 'epoch=' not in r['setting']:
            continue
        epoch = int(r['setting'].rsplit('epoch=', 1)[1])
        name = ('rotation accuracy' if r['protocol'] == 'rotation_accuracy'
                else f'linear probe {r["level"]}')
        values.setdefault(name, {}).setdefault(epoch, []).append(r['value'])
    curves = {}
    for name, per_epoch in sorted(values.items()):
        epochs = sorted(per_epoch)
        curves[name] = (epochs, [statistics.fmean(per_epoch[e]) for e in epochs],
                        [statistics.stdev(per_epoch[e]) if len(per_epoch[e]) > 1 else 0.0
                         for e in epochs])
    return curves


def rotation_vs_probe(curves, path):
    """Draw ``curves`` (:func:`epoch_curves`) into the PNG file ``path``: rotation
    accuracy on the left axis, the linear probes on the right, one std bands."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax1 = plt.subplots(figsize=(5.5, 3.5))
    ax2 = ax1.twinx()
    for name, (epochs, means, stds) in curves.items():
        rotation = name == 'rotation accuracy'
        ax = ax1 if rotation else ax2
        line, = ax.plot(epochs, means, 'o-' if rotation else 's--',
                        color='tab:red' if rotation else None, label=f'{name} (test)')
        ax.fill_between(epochs, [m - s for m, s in zip(means, stds)],
                        [m + s for m, s in zip(means, stds)], color=line.get_color(),
                        alpha=0.2)
        ax1.set_xticks(epochs)
    ax1.set_xlabel('pretraining epoch')
    ax1.set_ylabel('rotation accuracy (%)', color='tab:red')
    ax2.set_ylabel('linear-probe top-1 (%)')
    lines, more = ax1.get_legend_handles_labels(), ax2.get_legend_handles_labels()
    ax1.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc='lower right')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    os.makedirs(OUT, exist_ok=True)
    curves = epoch_curves(read_rows(zoo.ROWS))
    if not curves:
        raise SystemExit('no per-epoch rows in zoo/results/rows.jsonl: run '
                         'tools/zoo/evaluate.py --protocols per_epoch --seed S first')
    rotation_vs_probe(curves, osp.join(OUT, 'rotation_vs_probe.png'))
    subprocess.run([sys.executable, 'tools/analysis_tools/draw_figures.py', zoo.ROTNET_CONFIG,
                    zoo.final_checkpoint('rotnet'), '--out-dir', OUT, '--work-dir',
                    zoo.work_dir('rotnet'), '--num-images', '3'], check=True)
    print(f'figures in {OUT}')

