"""Weighted k-NN accuracy of extracted (global-average-pooled) features.

    python tools/benchmarks/classification/knn/eval_knn.py FEATURE_DIR \
        [--levels feat5] [--k 10,20,100,200] [--temperature 0.07] [--name NAME] [--out F] \
        [--rows F] [--seed S]

Cosine similarity to every training image; the k nearest vote for their class with
weight exp(cos / T). Top-1 and top-5 accuracy (%) on the test split, per level and k.
Runs on the GPU when there is one. Writes the JSON results (--out, default
FEATURE_DIR/../knn.json) and result rows (rotation_pred.benchmarks.results; --rows,
default rows.jsonl beside the JSON file, rows of a rerun replacing those it measures
again): protocol 'knn', level the feature name, setting 'k=K', split 'test', metrics
'top1' and 'top5', model --name, seed --seed (default: the seed the backbone file
records, else none), provenance: the config and backbone that FEATURE_DIR/meta.json
names (extract_features.py). Prints the table.
"""
import argparse
import json
import os.path as osp

import numpy as np
import torch

from rotation_pred.benchmarks.checkpoint import checkpoint_seed
from rotation_pred.benchmarks.knn import KNN_KS, knn_accuracy
from rotation_pred.benchmarks.render import render_table
from rotation_pred.benchmarks.results import provenance, row_maker, update_rows


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('feature_dir', help='folder with {train,test}_<level>.npy')
    parser.add_argument('--levels', help='comma-separated levels (default: all)')
    parser.add_argument('--k', default=','.join(map(str, KNN_KS)), help='neighbour counts')
    parser.add_argument('--temperature', type=float, default=0.07)
    parser.add_argument('--chunk', type=int, default=1024, help='test rows per block')
    parser.add_argument('--name', help='model name in the table and the rows')
    parser.add_argument('--out', help='results JSON (default: FEATURE_DIR/../knn.json)')
    parser.add_argument('--rows', help='result rows file (default: rows.jsonl beside the '
                        'results JSON)')
    parser.add_argument('--seed', type=int, default=None,
                        help='seed of the evaluated model, recorded in the rows (default: '
                        'the one the backbone file records, else none)')
    return parser.parse_args()


def load(feature_dir: str, name: str, device) -> torch.Tensor:
    path = osp.join(feature_dir, f'{name}.npy')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found: run extract_features.py first')
    return torch.from_numpy(np.load(path)).to(device)


def sources(meta: dict):
    """``(config, checkpoint)`` of the features, from the ``meta.json`` of
    extract_features.py: its ``config`` (None if missing) and its ``backbone`` when that
    file exists (else None: the rows then carry no checkpoint hash)."""
    backbone = meta.get('backbone')
    return meta.get('config'), backbone if backbone and osp.isfile(backbone) else None


def result_rows(results: dict, name: str, seed, source: dict) -> list:
    """``{level: {k: {topk: accuracy}}}`` (from knn_accuracy) -> one result row per
    level, k and top-k: protocol 'knn', setting 'k=K', metric 'topT', split 'test'."""
    make = row_maker(name, seed, 'test', source)
    return [make('knn', level, f'k={k}', f'top{t}', value)
            for level, per_k in results.items() for k, per_t in per_k.items()
            for t, value in per_t.items()]


def main():
    args = parse_args()
    with open(osp.join(args.feature_dir, 'meta.json')) as f:
        meta = json.load(f)
    levels = args.levels.split(',') if args.levels else meta['names']
    ks = [int(k) for k in args.k.split(',')]
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    train_y, test_y = (load(args.feature_dir, f'{s}_labels', device).long()
                       for s in ('train', 'test'))
    if train_y.dim() != 1:
        raise ValueError(f'{args.feature_dir}: k-NN needs one class per image, the labels '
                         f'have shape {tuple(train_y.shape)}')
    results = {}
    for level in levels:
        train_x, test_x = (load(args.feature_dir, f'{s}_{level}', device)
                           for s in ('train', 'test'))
        results[level] = knn_accuracy(train_x, train_y, test_x, test_y, ks,
                                      args.temperature, chunk=args.chunk)
    name = args.name or osp.basename(osp.dirname(osp.abspath(args.feature_dir)))
    out = args.out or osp.join(osp.dirname(osp.abspath(args.feature_dir)), 'knn.json')
    rows_file = args.rows or osp.join(osp.dirname(osp.abspath(out)), 'rows.jsonl')
    with open(out, 'w') as f:
        json.dump(dict(protocol='k-NN', model=name, feature_dir=args.feature_dir,
                       temperature=args.temperature, train_samples=len(train_y),
                       test_samples=len(test_y), levels=results), f, indent=2)
    config, checkpoint = sources(meta)
    seed = args.seed if args.seed is not None or checkpoint is None \
        else checkpoint_seed(checkpoint)
    rows = result_rows(results, name, seed, provenance(config, checkpoint, device=device))
    update_rows(rows_file, rows)
    print(f'\nk-NN accuracy (%), {len(train_y)} train -> {len(test_y)} test images, '
          f'T={args.temperature}\n')
    print(render_table(rows, column='setting', by=('model', 'level', 'metric')))
    print(f'\nresults: {out} and {rows_file}', flush=True)


if __name__ == '__main__':
    main()
