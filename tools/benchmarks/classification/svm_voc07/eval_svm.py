"""VOC07 SVM and low-shot SVM mAP of extracted features (extract_features.py output).

    python tools/benchmarks/classification/svm_voc07/eval_svm.py FEATURE_DIR \
        [--levels feat1,feat5] [--costs C1,C2,...] [--no-low-shot] [--k 1,2,4,...] \
        [--samples 5] [--low-shot-cost cv|C] [--n-jobs -1] [--name NAME] \
        [--out results.json] [--rows rows.jsonl] [--model-seed S]

Labels (N, C) in {1, -1, 0} are used as they are (VOC07: 0 = difficult: a negative in
training, left out at test, as in the reference); class indices (N,) become
one-vs-rest targets (Fashion-MNIST). Full protocol: one SVM per class, cost among the
reference's 19 (1, 10, 100, 0.5^4 ... 0.5^19) by 3-fold cross-validated AP, mAP on the
test split. Low-shot: k positives and (C-1)k negatives per class, 5 samples per k,
mean/std/min/max mAP. The low-shot SVM of each class uses the cost that the full
protocol's cross-validation chose for that class at that level (--low-shot-cost cv, the
default), or one cost given for every class (--low-shot-cost C). Deviation from the
reference: its scripts keep, for each k, the cost with the best test mAP, which tunes
on the test set; here no test image takes part in choosing the cost. With --no-full,
the cross-validated costs do not exist: give a fixed --low-shot-cost (the tool stops
with an error otherwise, rather than running the full protocol's cross-validation
anyway).

Writes the JSON results (--out, default FEATURE_DIR/../svm.json) and result rows
(rotation_pred.benchmarks.results; --rows, default rows.jsonl beside the JSON file,
rows of a rerun replacing those it measures again): protocol 'svm', setting
'train=N' (N training images), and protocol 'low_shot', setting 'k=K' (value: the mean
over the samples); level the feature name, split 'test', metric 'mAP', model --name,
seed --model-seed (the evaluated model's; default: the seed the backbone file records,
else none; --seed is the seed of the low-shot samples), provenance: the config and
backbone that FEATURE_DIR/meta.json names. Prints the tables.
"""
import argparse
import json
import os.path as osp
import time

import numpy as np

from rotation_pred.benchmarks.checkpoint import checkpoint_seed
from rotation_pred.benchmarks.low_shot import LOW_SHOT_KS, low_shot_svm_map
from rotation_pred.benchmarks.render import render_table
from rotation_pred.benchmarks.results import provenance, row_maker, update_rows
from rotation_pred.benchmarks.svm import COSTS, one_vs_rest_targets, svm_map
from rotation_pred.benchmarks.tables import markdown_table

CROSS_VALIDATED = 'cv'


def numbers(text, kind=float):
    return [kind(v) for v in text.split(',') if v.strip()]


def low_shot_cost(text: str):
    """``--low-shot-cost``: ``'cv'``, or a positive number (returned as a float)."""
    if text == CROSS_VALIDATED:
        return text
    try:
        cost = float(text)
    except ValueError:
        cost = None
    if cost is None or not cost > 0 or not np.isfinite(cost):
        raise argparse.ArgumentTypeError(
            f"--low-shot-cost must be '{CROSS_VALIDATED}' or a positive number, not {text!r}")
    return cost


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('feature_dir', help='folder with {train,test}_<level>.npy')
    parser.add_argument('--levels', help='comma-separated levels (default: all)')
    parser.add_argument('--costs', default=','.join(map(str, COSTS)),
                        help='SVM costs to choose from (per class, by cross-validation)')
    parser.add_argument('--low-shot-cost', type=low_shot_cost, default=CROSS_VALIDATED,
                        help="SVM cost of the low-shot runs: 'cv' (default), each class's "
                        'cost chosen by the full SVM\'s cross-validation, or one number '
                        'for every class')
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
    parser.add_argument('--name', help='model name in the table and the rows')
    parser.add_argument('--out', help='results JSON (default: FEATURE_DIR/../svm.json)')
    parser.add_argument('--rows', help='result rows file (default: rows.jsonl beside the '
                        'results JSON)')
    parser.add_argument('--model-seed', type=int, default=None,
                        help='seed of the evaluated model, recorded in the rows (default: '
                        'the one the backbone file records, else none)')
    args = parser.parse_args()
    if args.no_full and not args.no_low_shot and args.low_shot_cost == CROSS_VALIDATED:
        parser.error("--no-full with --low-shot-cost cv: the low-shot costs are the full "
                     "SVM's cross-validated ones; give a fixed --low-shot-cost C, or drop "
                     '--no-full')
    return args


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


def sources(meta: dict):
    """``(config, checkpoint)`` of the features, from the ``meta.json`` of
    extract_features.py: its ``config`` (None if missing) and its ``backbone`` when that
    file exists (else None: the rows then carry no checkpoint hash)."""
    backbone = meta.get('backbone')
    return meta.get('config'), backbone if backbone and osp.isfile(backbone) else None


def evaluate_level(level, train_x, train_t, test_x, test_t, args) -> dict:
    """``dict(svm=svm_map(...), low_shot=low_shot_svm_map(...))`` of one level, each
    left out when skipped; the low-shot cost is ``args.low_shot_cost`` or, for 'cv',
    the full SVM's chosen cost of each class."""
    result = {}
    if not args.no_full:
        start = time.time()
        result['svm'] = svm_map(train_x, train_t, test_x, test_t, numbers(args.costs),
                                args.folds, args.n_jobs, args.eleven_point)
        print(f'[svm] {level} ({train_x.shape[1]} dims): mAP {result["svm"]["mAP"]:.2f} '
              f'({time.time() - start:.0f} s)', flush=True)
    if not args.no_low_shot:
        start = time.time()
        cost = result['svm']['cost'] if args.low_shot_cost == CROSS_VALIDATED \
            else args.low_shot_cost
        result['low_shot'] = low_shot_svm_map(
            train_x, train_t, test_x, test_t, numbers(args.k, int), args.samples, cost,
            args.n_jobs, args.seed, args.eleven_point)
        means = ' / '.join(f'{r["mean"]:.2f}' for r in result['low_shot'].values())
        print(f'[low-shot] {level}: {means} ({time.time() - start:.0f} s)', flush=True)
    return result


def result_rows(results: dict, train_samples: int, name: str, seed, source: dict) -> list:
    """``{level: dict(svm, low_shot)}`` -> result rows (metric 'mAP', split 'test'):
    protocol 'svm', setting 'train=N', and protocol 'low_shot', setting 'k=K' with the
    mean over the samples."""
    make = row_maker(name, seed, 'test', source)
    rows = []
    for level, result in results.items():
        if 'svm' in result:
            rows.append(make('svm', level, f'train={train_samples}', 'mAP',
                             result['svm']['mAP']))
        for k, stats in result.get('low_shot', {}).items():
            rows.append(make('low_shot', level, f'k={k}', 'mAP', stats['mean']))
    return rows


def svm_table(rows: list) -> str:
    """``| Model | Level | SVM | k=1 | ... |`` of the result rows: the full SVM's mAP and
    the low-shot means, one line per model and level."""
    columns = list(dict.fromkeys(r['setting'] for r in rows))
    full = {r['setting'] for r in rows if r['protocol'] == 'svm'}
    headers = ['Model', 'Level'] + ['SVM' if c in full else c for c in columns]
    return render_table(rows, column='setting', by=('model', 'level'), columns=columns,
                        headers=headers)


def low_shot_stats_table(results: dict) -> str:
    """mean / std / min / max of the low-shot mAP over the samples, per level and k."""
    body = [[level, str(k)] + [f'{stats[s]:.2f}' for s in ('mean', 'std', 'min', 'max')]
            for level, result in results.items()
            for k, stats in result.get('low_shot', {}).items()]
    return markdown_table(['Level', 'k', 'mean', 'std', 'min', 'max'], body)


def main():
    args = parse_args()
    with open(osp.join(args.feature_dir, 'meta.json')) as f:
        meta = json.load(f)
    levels = args.levels.split(',') if args.levels else meta['names']
    train_t, test_t = load_targets(args.feature_dir)
    results = {}
    for level in levels:
        train_x, test_x = (load_split(args.feature_dir, s, level) for s in ('train', 'test'))
        results[level] = evaluate_level(level, train_x, train_t, test_x, test_t, args)
    name = args.name or osp.basename(osp.dirname(osp.abspath(args.feature_dir)))
    out = args.out or osp.join(osp.dirname(osp.abspath(args.feature_dir)), 'svm.json')
    rows_file = args.rows or osp.join(osp.dirname(osp.abspath(out)), 'rows.jsonl')
    summary = dict(protocol='SVM', model=name, feature_dir=args.feature_dir,
                   costs=numbers(args.costs), folds=args.folds,
                   low_shot_samples=args.samples, low_shot_seed=args.seed,
                   low_shot_cost=args.low_shot_cost,
                   ap='11-point' if args.eleven_point else 'area (monotone precision)',
                   train_samples=len(train_t), test_samples=len(test_t),
                   num_classes=train_t.shape[1], levels=results)
    with open(out, 'w') as f:
        json.dump(summary, f, indent=2)
    config, checkpoint = sources(meta)
    seed = args.model_seed if args.model_seed is not None or checkpoint is None \
        else checkpoint_seed(checkpoint)
    rows = result_rows(results, len(train_t), name, seed, provenance(config, checkpoint))
    update_rows(rows_file, rows)
    print(f'\nSVM mAP (%) on {len(test_t)} test images, SVMs trained on {len(train_t)} '
          f'images ({train_t.shape[1]} classes); low-shot: mean over {args.samples} '
          'samples\n')
    print(svm_table(rows))
    if not args.no_low_shot:
        cost = "each class's cross-validated cost" if args.low_shot_cost == CROSS_VALIDATED \
            else f'cost {args.low_shot_cost:g}'
        print(f'\nLow-shot mAP over the samples, at {cost}:\n')
        print(low_shot_stats_table(results))
    print(f'\nresults: {out} and {rows_file}', flush=True)


if __name__ == '__main__':
    main()
