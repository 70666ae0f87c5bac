"""Figures of a RotationPred checkpoint (works for the NIN and for ResNet-50):

  attention.png  conv-layer attention (sum over channels of |activation|^p, paper Fig. 3)
                 of a few test images in each of their rotations, per block/stage;
  filters.png    first-layer filters (paper Fig. 4);
  curves.png     loss and rotation accuracy over training, from the work dir's
                 scalars.json (--work-dir).

    python tools/analysis_tools/draw_figures.py CONFIG CHECKPOINT --out-dir DIR \
        [--work-dir TRAIN_WORK_DIR] [--num-images 4] [--p 2]
"""
import argparse
import glob
import json
import os
import os.path as osp

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402

import rotation_pred  # noqa: F401,E402
from rotation_pred.analysis import attention_map, filter_grid, upsample_to  # noqa: E402
from rotation_pred.benchmarks.loading import (all_levels, build_eval_loader,  # noqa: E402
                                              build_model)
from rotation_pred.rotations import rotate_batch  # noqa: E402


def first_conv(model) -> torch.nn.Conv2d:
    return next(m for m in model.backbone.modules() if isinstance(m, torch.nn.Conv2d))


@torch.no_grad()
def draw_attention(model, images, p, path):
    """images: (N, C, S, S) normalised. One row per (image, rotation), one column
    for the input and one per feature level."""
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
    grid = filter_grid(first_conv(model).weight, columns=12)
    fig, ax = plt.subplots(figsize=(8, 8 * grid.shape[0] / grid.shape[1] + 0.5))
    ax.imshow(grid.squeeze(-1).numpy(), cmap='gray' if grid.shape[-1] == 1 else None)
    ax.set_axis_off()
    ax.set_title('first-layer filters', fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def read_scalars(work_dir):
    paths = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not paths:
        raise FileNotFoundError(f'no */vis_data/scalars.json under --work-dir {work_dir}')
    with open(paths[-1]) as f:
        return [json.loads(line) for line in f]


def draw_curves(rows, path):
    train = [r for r in rows if 'loss' in r]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax1.plot([r['iter'] for r in train], [r['loss'] for r in train])
    ax1.set_xlabel('iteration')
    ax1.set_ylabel('rotation loss (cross-entropy)')
    ax2.plot([r['iter'] for r in train], [r['rotation_accuracy'] for r in train],
             label='train batch')
    val = [r for r in rows if 'rotation/accuracy' in r]
    if val:
        per_epoch = len(train) and train[-1]['iter'] / max(1, train[-1]['epoch'])
        ax2.plot([r['step'] * per_epoch for r in val], [r['rotation/accuracy'] for r in val],
                 'o', label='test set')
    ax2.set_xlabel('iteration')
    ax2.set_ylabel('rotation accuracy (%)')
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--work-dir', help='training work dir, for curves.png')
    parser.add_argument('--num-images', type=int, default=3)
    parser.add_argument('--p', type=float, default=2.0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value')
    args = parser.parse_args()
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
        draw_curves(read_scalars(args.work_dir), osp.join(args.out_dir, 'curves.png'))
        written.append('curves.png')
    print(f'wrote {", ".join(written)} to {args.out_dir}')


if __name__ == '__main__':
    main()
