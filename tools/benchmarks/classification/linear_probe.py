"""Linear probe of every feature level of a pretrained backbone, against the same
backbone randomly initialised; also reports the rotation accuracy on the scored images.

    python tools/benchmarks/classification/linear_probe.py CONFIG CHECKPOINT \
        [--train-samples 10000] [--split test|val] [--work-dir DIR]

Features of each level are average-pooled to at most --max-dims values, normalised
with the train-set statistics and classified by one linear layer (SGD, 30 epochs).
The classifiers train on the first --train-samples images of the train split and are
scored on the test split, or with ``--split val`` on a validation set held out of the
train split: its last 10,000 images (Fashion-MNIST: 50,000-59,999), disjoint from the
pretraining images (the config's train indices) and from the probe's training images.

The work dir gets linear_probe.json and rows.jsonl: one row per number
(rotation_pred.benchmarks.results; model --model-name, default the config's name, and
'random' for the baseline; seed: the one the checkpoint records, 0 for the baseline),
rows of a rerun replacing those it measures again. --cache-dir keeps the extracted
features there and reuses them (rotation_pred.benchmarks.feature_cache).
"""
import argparse
import json
import os
import os.path as osp
import time

from mmengine.config import Config
from mmengine.logging import MMLogger

import rotation_pred  # noqa: F401
from rotation_pred.benchmarks.checkpoint import checkpoint_seed
from rotation_pred.benchmarks.feature_cache import feature_reader
from rotation_pred.benchmarks.linear_probe import linear_probe_accuracy
from rotation_pred.benchmarks.loading import (all_levels, build_eval_loader, build_model,
                                              rotation_accuracy, validation_indices)
from rotation_pred.benchmarks.results import provenance, row_maker, update_rows
from rotation_pred.benchmarks.tables import markdown_table

RANDOM_SEED = 0  # the random baseline's initialisation


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='the pretraining config')
    parser.add_argument('checkpoint', help='RotationPred checkpoint to evaluate')
    parser.add_argument('--train-samples', type=int, default=10000,
                        help='train images used to fit the classifier (first N)')
    parser.add_argument('--test-samples', type=int, default=None,
                        help='images to score, the first of the --split set (default: '
                        'all of it)')
    parser.add_argument('--split', choices=['test', 'val'], default='test',
                        help='score on the test split, or on the validation images held '
                        'out of the train split (its last 10,000)')
    parser.add_argument('--max-dims', type=int, default=2500,
                        help='pooled feature size per level')
    parser.add_argument('--epochs', type=int, default=30)
    parser.add_argument('--no-random-baseline', action='store_true')
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--model-name', default=None,
                        help='the model named in rows.jsonl (default: the config\'s name)')
    parser.add_argument('--cache-dir', default=None,
                        help='keep extracted features there and reuse them (default: '
                        'extract every time)')
    return parser.parse_args()


def evaluate(cfg, checkpoint, args, train_loader, test_loader):
    levels = all_levels(cfg.model.backbone)
    model = build_model(cfg, checkpoint, levels, seed=RANDOM_SEED)
    features = feature_reader(model, checkpoint, args.cache_dir, RANDOM_SEED, args.max_dims,
                              cfg.model)
    train_feats, train_y = features(train_loader)
    test_feats, test_y = features(test_loader)
    row = {'rotation_accuracy': rotation_accuracy(model, test_loader)}
    for level in sorted(train_feats):
        row[f'block{level + 1}'] = linear_probe_accuracy(
            train_feats[level], train_y, test_feats[level], test_y, epochs=args.epochs)
        print(f'  level {level + 1}: {train_feats[level].shape[1]} dims, '
              f'top-1 {row[f"block{level + 1}"]:.2f}', flush=True)
    return row


def result_rows(name, checkpoint, row, args, train_samples):
    """The numbers of ``row`` (one run of :func:`evaluate`) as result rows."""
    seed = RANDOM_SEED if checkpoint is None else checkpoint_seed(checkpoint)
    make = row_maker(name, seed, args.split, provenance(args.config, checkpoint))
    return [make('rotation_accuracy', None, '', 'top1', row['rotation_accuracy'])] + \
        [make('linear_probe', level, f'train={train_samples}', 'top1', value)
         for level, value in row.items() if level != 'rotation_accuracy']


def main():
    args = parse_args()
    MMLogger.get_instance('linear_probe', log_level='WARNING')  # no weight-init listings
    cfg = Config.fromfile(args.config)
    work_dir = args.work_dir or osp.join('work_dirs', 'linear_probe',
                                         osp.splitext(osp.basename(args.config))[0])
    os.makedirs(work_dir, exist_ok=True)
    if args.split == 'val':
        val = validation_indices(cfg, args.train_samples)
        scored = list(val)[:args.test_samples] if args.test_samples is not None else list(val)
        test_loader = build_eval_loader(cfg, 'train', scored)
        described = (f'val images (train images {scored[0]}-{scored[-1]}, held out of '
                     'pretraining and probe training)')
    else:
        test_loader = build_eval_loader(cfg, 'test', args.test_samples)
        described = 'test images'
    train_loader = build_eval_loader(cfg, 'train', args.train_samples)
    runs = [('RotNet', args.checkpoint)]
    if not args.no_random_baseline:
        runs.append(('random init', None))
    model_name = args.model_name or osp.splitext(osp.basename(args.config))[0]
    results, rows = {}, []
    for name, checkpoint in runs:
        start = time.time()
        print(f'[linear probe] {name}: {checkpoint or "random initialisation"}', flush=True)
        results[name] = evaluate(cfg, checkpoint, args, train_loader, test_loader)
        rows += result_rows(model_name if checkpoint else 'random', checkpoint,
                            results[name], args, len(train_loader.dataset))
        print(f'[linear probe] {name} done in {time.time() - start:.0f} s', flush=True)
    summary = dict(config=args.config, checkpoint=args.checkpoint, split=args.split,
                   train_samples=len(train_loader.dataset),
                   test_samples=len(test_loader.dataset), max_dims=args.max_dims,
                   epochs=args.epochs, results=results)
    if args.split == 'val':
        summary['val_images'] = [scored[0], scored[-1]]
    out = osp.join(work_dir, 'linear_probe.json')
    with open(out, 'w') as f:
        json.dump(summary, f, indent=2)
    update_rows(osp.join(work_dir, 'rows.jsonl'), rows)
    columns = list(next(iter(results.values())))
    print(f'\nLinear probe on {summary["train_samples"]} train / '
          f'{summary["test_samples"]} {described} (top-1 %; rotation accuracy on the '
          f'{args.split} set)\n')
    print(markdown_table(['features'] + columns,
                         [[name] + [f'{row[c]:.2f}' for c in columns]
                          for name, row in results.items()]))
    print(f'\nresults: {out} and {osp.join(work_dir, "rows.jsonl")}')


if __name__ == '__main__':
    main()
