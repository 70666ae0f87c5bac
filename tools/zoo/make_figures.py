"""Draw the zoo's figures into docs/figures/ from the zoo's RotNet run and results.

    python tools/zoo/make_figures.py

rotation_vs_probe.png: rotation accuracy and linear-probe accuracy of each epoch's
checkpoint (paper Fig. 5a), from zoo/results/rotnet.json; then curves.png,
attention.png and filters.png of the final checkpoint (tools/analysis_tools/draw_figures.py).
"""
import json
import os
import os.path as osp
import subprocess
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import zoo_models as zoo  # noqa: E402

OUT = 'docs/figures'


def rotation_vs_probe(rows, path):
    epochs = [r['epoch'] for r in rows]
    fig, ax1 = plt.subplots(figsize=(5.5, 3.5))
    ax1.plot(epochs, [r['rotation_accuracy'] for r in rows], 'o-', color='tab:red',
             label='rotation accuracy (test)')
    ax1.set_xlabel('pretraining epoch')
    ax1.set_ylabel('rotation accuracy (%)', color='tab:red')
    ax2 = ax1.twinx()
    for block in sorted(rows[0]['probe']):
        ax2.plot(epochs, [r['probe'][block] for r in rows], 's--',
                 label=f'linear probe {block}')
    ax2.set_ylabel('linear-probe top-1 (%)')
    lines = ax1.get_legend_handles_labels()
    more = ax2.get_legend_handles_labels()
    ax1.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc='lower right')
    ax1.set_xticks(epochs)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(osp.join(zoo.RESULTS, 'rotnet.json')) as f:
        rows = json.load(f)['epochs']
    rotation_vs_probe(rows, osp.join(OUT, 'rotation_vs_probe.png'))
    subprocess.run([sys.executable, 'tools/analysis_tools/draw_figures.py', zoo.ROTNET_CONFIG,
                    zoo.final_checkpoint('rotnet'), '--out-dir', OUT, '--work-dir',
                    zoo.work_dir('rotnet'), '--num-images', '3'], check=True)
    print(f'figures in {OUT}')


if __name__ == '__main__':
    main()
