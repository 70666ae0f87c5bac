"""VOC07 SVM and low-shot SVM mAP of extracted features (extract_features.py output).

    python tools/benchmarks/classification/svm_voc07/eval_svm.py FEATURE_DIR \
        [--levels feat1,feat5] [--costs C1,C2,...] [--no-low-shot] [--k 1,2,4,...] \
        [--samples 5] [--low-shot-cost 10] [--n-jobs -1] [--name NAME] [--out results.json]

Labels (N, C) in {1, -1, 0} are used as they are (VOC07: 0 = difficult: a negative in
training, left out at test, as in the reference); class indices (N,) become
one-vs-rest targets (Fashion-MNIST). Full protocol: one SVM per class, cost among the
reference's 19 (1, 10, 100, 0.5^4 ... 0.5^19) by 3-fold cross-validated AP, mAP on the
test split. Low-shot: k
positives and (C-1)k negatives per class, 5 samples per k, mean/std/min/max mAP at a
cost fixed in advance (no choice on the test set). Writes the JSON results and prints
the tables.
"""
import argparse
import json
import os.path as osp
import time

import numpy as np

from rotation_pred.benchmarks.low_shot import LOW_SHOT_COST, LOW_SHOT_KS, low_shot_svm_map
from rotation_pred.benchmarks.reports import low_shot_stats_table, svm_table
from rotation_pred.benchmarks.svm import COSTS, one_vs_rest_targets, svm_map


def numbers(text, kind=float):
    return [kind(v) for v in text.split(',') if v.strip()]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('feature_dir', help='folder with {train,test}_<level>.npy')
    parser.add_argument('--levels', help='comma-separated levels (default: all)')
    parser.add_argument('--costs', default=','.join(map(str, COSTS)),
                        help='SVM costs to choose from (per class, by cross-validation)')
    parser.add_argument('--low-shot-cost', type=float, default=LOW_SHOT_COST,
                        help='SVM cost of the low-shot runs, fixed in advance')
    parser.add_argument('--folds', type=int, default=3, help='cross-validation folds')
    parser.add_argument('--no-full', action='store_true', help='skip the full SVM')
    parser.add_argument('--no-low-shot', action='store_true', help='skip the low-shot SVMs')
    parser.add_argument('--k', default=','.join(map(str, LOW_SHOT_KS)),
                        help='low-shot positives per class')
    parser.add_argument('--samples', type=int, default=5, help='low-shot samples per k')
    parser.add_argument('--eleven-point', action='store_true',
                        help="VOC2007 devkit 11-point AP instead of the reference's AP")
    parser.add_argument('--n-jobs', type=int, default=-1, help='joblib workers (-1: all)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the low-shot samples')
    parser.add_argument('--name', help='model name in the table')
    parser.add_argument('--out', help='results JSON (default: FEATURE_DIR/../svm.json)')
    return parser.parse_args()


def load_split(feature_dir: str, split: str, level: str):
    path = osp.join(feature_dir, f'{split}_{level}.npy')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found: run extract_features.py first')
    return np.load(path)


def load_targets(feature_dir: str):
    """Train and test targets (N, C) in {1, -1, 0}."""
    train = np.load(osp.join(feature_dir, 'train_labels.npy'))
    test = np.load(osp.join(feature_dir, 'test_labels.npy'))
    if train.ndim == 1:
        num_classes = int(max(train.max(), test.max())) + 1
        return one_vs_rest_targets(train, num_classes), one_vs_rest_targets(test, num_classes)
    return train.astype(np.int8), test.astype(np.int8)


def main():
    args = parse_args()
    with open(osp.join(args.feature_dir, 'meta.json')) as f:
        meta = json.load(f)
    levels = args.levels.split(',') if args.levels else meta['names']
    costs = numbers(args.costs)
    train_t, test_t = load_targets(args.feature_dir)
    results = {}
    for level in levels:
        train_x, test_x = (load_split(args.feature_dir, s, level) for s in ('train', 'test'))
        results[level] = {}
        if not args.no_full:
            start = time.time()
            results[level]['svm'] = svm_map(train_x, train_t, test_x, test_t, costs,
                                            args.folds, args.n_jobs, args.eleven_point)
            print(f'[svm] {level} ({train_x.shape[1]} dims): mAP '
                  f'{results[level]["svm"]["mAP"]:.2f} ({time.time() - start:.0f} s)',
                  flush=True)
        if not args.no_low_shot:
            start = time.time()
            results[level]['low_shot'] = low_shot_svm_map(
                train_x, train_t, test_x, test_t, numbers(args.k, int), args.samples,
                args.low_shot_cost, args.n_jobs, args.seed, args.eleven_point)
            means = ' / '.join(f'{r["mean"]:.2f}' for r in results[level]['low_shot'].values())
            print(f'[low-shot] {level}: {means} ({time.time() - start:.0f} s)', flush=True)
    name = args.name or osp.basename(osp.dirname(osp.abspath(args.feature_dir)))
    out = args.out or osp.join(osp.dirname(osp.abspath(args.feature_dir)), 'svm.json')
    summary = dict(protocol='SVM', model=name, feature_dir=args.feature_dir, costs=costs,
                   folds=args.folds, low_shot_samples=args.samples,
                   ap='11-point' if args.eleven_point else 'area (monotone precision)',
                   train_samples=len(train_t), test_samples=len(test_t),
                   num_classes=train_t.shape[1], levels=results)
    with open(out, 'w') as f:
        json.dump(summary, f, indent=2)
    print(f'\nSVM mAP (%) on {len(test_t)} test images, SVMs trained on {len(train_t)} '
          f'images ({train_t.shape[1]} classes); low-shot: mean over {args.samples} '
          'samples\n')
    print(svm_table(name, results))
    if not args.no_low_shot:
        print(f'\nLow-shot mAP over the samples, at cost {args.low_shot_cost:g}:\n')
        print(low_shot_stats_table(results))
    print(f'\nresults: {out}', flush=True)


if __name__ == '__main__':
    main()
