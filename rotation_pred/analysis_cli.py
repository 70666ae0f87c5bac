"""The command lines of ``tools/analysis_tools/``: the figures of a checkpoint
(:func:`draw_figures_main`, ``draw_figures.py``) and the per-epoch online k-NN curves of
a pretraining run (:func:`plot_online_knn_main`, ``plot_online_knn.py``). The data they
draw comes from :mod:`rotation_pred.analysis`; matplotlib (Agg backend, files only) is
imported when a figure is drawn."""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger

from .analysis import (KNN, TRAIN, VAL, attention_map, curves_table, filter_grid,
                       first_conv, per_epoch, read_runs, upsample_to)
from .benchmarks.loading import all_levels, build_eval_loader, build_model
from .fileio import read_scalars
from .rotations import rotate_batch


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (writes files, needs no display)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def description(function) -> str:
    """The first paragraph of ``function``'s docstring: its command's ``--help`` text."""
    return function.__doc__.split('\n\n')[0]


# ------------------------------------------------------------------- draw_figures.py

@torch.no_grad()
def draw_attention(model, images, p, path):
    """images: (N, C, S, S) normalised. One row per (image, rotation), one column
    for the input and one per feature level."""
    plt = pyplot()
    samples, labels = rotate_batch(images, model.rotations, 'all')
    feats = model.backbone(samples)
    size = samples.shape[-1]
    maps = [upsample_to(attention_map(f, p), size) for f in feats]
    rows, cols = len(samples), 1 + len(maps)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.6 * rows), squeeze=False)
    for r in range(rows):
        shown = samples[r].permute(1, 2, 0).float()
        shown = (shown - shown.min()) / (shown.max() - shown.min()).clamp_min(1e-12)
        axes[r][0].imshow(shown.squeeze(-1).numpy(), cmap='gray')
        axes[r][0].set_ylabel(f'{model.rotations[int(labels[r])]} deg', fontsize=7)
        for c, m in enumerate(maps, start=1):
            axes[r][c].imshow(m[r].numpy(), cmap='jet', vmin=0, vmax=1)
            if r == 0:
                axes[r][c].set_title(f'level {c}', fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f'attention: sum over channels of |activation|^{p:g}', fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def draw_filters(model, path):
    """The first-layer filters of ``model`` as one grid image."""
    plt = pyplot()
    grid = filter_grid(first_conv(model).weight, columns=12)
    fig, ax = plt.subplots(figsize=(8, 8 * grid.shape[0] / grid.shape[1] + 0.5))
    ax.imshow(grid.squeeze(-1).numpy(), cmap='gray' if grid.shape[-1] == 1 else None)
    ax.set_axis_off()
    ax.set_title('first-layer filters', fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def draw_curves(rows, path):
    """Loss and rotation accuracy over the iterations of a run's scalar ``rows``; the
    test-set accuracy of each validation as a point."""
    plt = pyplot()
    train = [r for r in rows if 'loss' in r]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax1.plot([r['iter'] for r in train], [r['loss'] for r in train])
    ax1.set_xlabel('iteration')
    ax1.set_ylabel('rotation loss (cross-entropy)')
    ax2.plot([r['iter'] for r in train], [r['rotation_accuracy'] for r in train],
             label='train batch')
    val = [r for r in rows if 'rotation/accuracy' in r]
    if val:
        per_epoch_iters = len(train) and train[-1]['iter'] / max(1, train[-1]['epoch'])
        ax2.plot([r['step'] * per_epoch_iters for r in val],
                 [r['rotation/accuracy'] for r in val], 'o', label='test set')
    ax2.set_xlabel('iteration')
    ax2.set_ylabel('rotation accuracy (%)')
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def draw_figures_main(argv=None) -> None:
    """Figures of a RotationPred checkpoint (works for the NIN and for ResNet-50):

      attention.png  conv-layer attention (sum over channels of |activation|^p, paper
                     Fig. 3) of a few test images in each of their rotations, per
                     block/stage;
      filters.png    first-layer filters (paper Fig. 4);
      curves.png     loss and rotation accuracy over training, from the work dir's
                     scalars.json (--work-dir).

        python tools/analysis_tools/draw_figures.py CONFIG CHECKPOINT --out-dir DIR \\
            [--work-dir TRAIN_WORK_DIR] [--num-images 4] [--p 2]

    ``argv``: the command line (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(prog='tools/analysis_tools/draw_figures.py',
                                     description=description(draw_figures_main))
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--work-dir', help='training work dir, for curves.png')
    parser.add_argument('--num-images', type=int, default=3)
    parser.add_argument('--p', type=float, default=2.0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value')
    args = parser.parse_args(argv)
    MMLogger.get_instance('draw_figures', log_level='WARNING')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    os.makedirs(args.out_dir, exist_ok=True)
    model = build_model(cfg, args.checkpoint, all_levels(cfg.model.backbone))
    data = next(iter(build_eval_loader(cfg, 'test', args.num_images, args.num_images)))
    images = model.data_preprocessor(data, training=False)['inputs']
    draw_attention(model, images, args.p, osp.join(args.out_dir, 'attention.png'))
    draw_filters(model, osp.join(args.out_dir, 'filters.png'))
    written = ['attention.png', 'filters.png']
    if args.work_dir:
        draw_curves(read_scalars(args.work_dir, last_run=True),
                    osp.join(args.out_dir, 'curves.png'))
        written.append('curves.png')
    print(f'wrote {", ".join(written)} to {args.out_dir}')


# ---------------------------------------------------------------- plot_online_knn.py

def draw_knn_curves(curves, path: str, title: str) -> None:
    """One axis, x = epoch, y = accuracy (%); a curve per non-empty entry of
    :func:`rotation_pred.analysis.per_epoch`'s ``curves``."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator
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


def plot_online_knn_main(argv=None) -> None:
    """Plot the online k-NN top-1 and the rotation accuracy per epoch of a pretraining run.

    Reads the run's ``WORK_DIR/<timestamp>/vis_data/scalars.json`` (every timestamp
    folder, oldest first, so a resumed run is read whole; a later value of an epoch
    replaces an earlier one) as written by MMEngine's ``LocalVisBackend``:

      knn/top1           OnlineKNNHook (rotation_pred/hooks/online_knn.py), step = epoch
                         (MMEngine's default: LoggerHook(log_metric_by_epoch=True))
      rotation/accuracy  validation (held-out images), step = epoch
      rotation_accuracy  training batches, logged every few iterations with their
                         epoch; plotted as the mean of the epoch's logged values

        python tools/analysis_tools/plot_online_knn.py WORK_DIR --out knn.png

    It also prints the numbers as a table (one row per epoch). ``argv``: the command
    line (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(prog='tools/analysis_tools/plot_online_knn.py',
                                     description=description(plot_online_knn_main))
    parser.add_argument('work_dir', help='the --work-dir of the training run')
    parser.add_argument('--out', required=True, help='the figure to write (.png, .pdf)')
    parser.add_argument('--title', help='figure title (default: the work dir name)')
    args = parser.parse_args(argv)
    curves = per_epoch(read_runs(args.work_dir))
    if not curves[KNN]:
        raise SystemExit(f'no {KNN} in the scalars.json of {args.work_dir!r}: train with '
                         'OnlineKNNHook (e.g. configs/_base_/online_knn_fashion-mnist.py '
                         'in the config\'s _base_)')
    draw_knn_curves(curves, args.out, args.title or osp.basename(osp.normpath(args.work_dir)))
    print(curves_table(curves))
    print(f'wrote {args.out}')
