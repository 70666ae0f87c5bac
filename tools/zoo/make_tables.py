"""Rebuild the README's model-zoo tables and zoo/metafile.yml from zoo/results/*.json
and, for the tables over seeds, from the result rows in zoo/results/rows.jsonl.

    python tools/zoo/make_tables.py [--readme README.md] [--check]

Each table lives in README.md between `<!-- zoo:NAME -->` and `<!-- /zoo:NAME -->`.
--check exits with status 1 if the README or metafile is not up to date.
"""
import argparse
import json
import os.path as osp
import re
import sys

import yaml

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import zoo_models as zoo  # noqa: E402

from rotation_pred.benchmarks.render import (best_level_table,  # noqa: E402
                                             render_table)
from rotation_pred.benchmarks.results import read_rows, select  # noqa: E402
from rotation_pred.benchmarks.tables import markdown_table  # noqa: E402

LOW_SHOT_KS = ('1', '2', '4', '8', '16', '32', '64', '96')
KNN_KS = ('10', '20', '100', '200')


def load_results(folder):
    results = {}
    for key in zoo.MODELS:
        path = osp.join(folder, f'{key}.json')
        if osp.isfile(path):
            with open(path) as f:
                results[key] = json.load(f)
    return results


def fmt(value):
    return '—' if value is None else f'{value:.2f}'


def blocks(row, protocol):
    return sorted(row.get(protocol, {}), key=lambda b: int(b[5:]))


def probe_table(results, keys):
    keys = [k for k in keys if k in results and 'probe' in results[k]]
    depth = max((len(results[k]['probe']) for k in keys), default=0)
    header = ['Model', 'Rotation acc.'] + [f'block{i + 1}' for i in range(depth)] + ['best']
    rows = []
    for k in keys:
        probe = results[k]['probe']
        cells = [fmt(probe.get(f'block{i + 1}')) for i in range(depth)]
        rows.append([results[k]['title'], fmt(results[k].get('rotation_accuracy'))] + cells +
                    [fmt(max(probe.values()))])
    return markdown_table(header, rows)


def gap_closed(results):
    """Share of the random->supervised gap of the best-block probe closed by RotNet."""
    best = {k: max(results[k]['probe'].values()) for k in zoo.BASELINES
            if k in results and 'probe' in results[k]}
    if len(best) < 3:
        return None
    return 100 * (best['rotnet'] - best['random']) / (best['supervised'] - best['random'])


def svm_table(results):
    header = ['Model', 'Features', 'SVM'] + [f'k={k}' for k in LOW_SHOT_KS]
    rows = []
    for k in zoo.BASELINES:
        for b in blocks(results.get(k, {}), 'svm'):
            low = results[k].get('lowshot', {}).get(b, {})
            rows.append([results[k]['title'], b, fmt(results[k]['svm'][b]['mAP'])] +
                        [fmt(low.get(s, {}).get('mean')) for s in LOW_SHOT_KS])
    return markdown_table(header, rows)


def knn_table(results):
    header = ['Model', 'Features (GAP)'] + [f'k={k}' for k in KNN_KS]
    rows = [[results[k]['title'], b] + [fmt(results[k]['knn'][b].get(n)) for n in KNN_KS]
            for k in zoo.BASELINES for b in blocks(results.get(k, {}), 'knn')]
    return markdown_table(header, rows)


def semisup_table(results):
    rows = [[results[k]['title'], fmt(results[k]['semisup'].get('1pct')),
             fmt(results[k]['semisup'].get('10pct'))]
            for k in zoo.BASELINES if 'semisup' in results.get(k, {})]
    return markdown_table(['Initialisation', '1% labels (600)', '10% labels (6,000)'], rows)


def epochs_table(results):
    rows = results.get('rotnet', {}).get('epochs', [])
    depth = max((len(r['probe']) for r in rows), default=0)
    return markdown_table(
        ['Epoch', 'Rotation acc.'] + [f'probe block{i + 1}' for i in range(depth)],
        [[str(r['epoch']), fmt(r['rotation_accuracy'])] +
         [fmt(r['probe'].get(f'block{i + 1}')) for i in range(depth)] for r in rows])


def metafile(results):
    models = []
    for key, row in results.items():
        title, config, kind = zoo.MODELS[key]
        if config is None:
            continue
        metrics = {f'Linear probe top-1 ({b})': round(v, 2)
                   for b, v in row.get('probe', {}).items()}
        if row.get('rotation_accuracy') is not None:
            metrics['Rotation accuracy'] = round(row['rotation_accuracy'], 2)
        models.append({
            'Name': osp.splitext(osp.basename(config))[0],
            'In Collection': 'RotationPred' if kind == 'rotation' else 'Baselines',
            'Metadata': {'Training Data': 'Fashion-MNIST', 'Architecture': ['NetworkInNetwork']},
            'Results': [{'Task': 'Linear probe (frozen features)', 'Dataset': 'Fashion-MNIST',
                         'Metrics': metrics}],
            'Config': config,
            'Weights': f'{zoo.work_dir(key)}/ (rebuilt by tools/zoo/pretrain_all.sh)',
        })
    return yaml.safe_dump({
        'Collections': [{'Name': 'RotationPred', 'Paper': {
            'Title': 'Unsupervised Representation Learning by Predicting Image Rotations',
            'URL': 'https://arxiv.org/abs/1803.07728'}}, {'Name': 'Baselines'}],
        'Models': models}, sort_keys=False, allow_unicode=True)


def seeds_section(rows):
    """The linear probe over pretraining seeds: every block on the test split as
    mean ± std (n seeds), then the block chosen on the validation split and its test
    number, from the rows of tools/zoo/evaluate.py --seed S [--split val]."""
    probe = select(rows, protocol='linear_probe')
    test = select(probe, split='test')
    if not test:
        return 'No rows yet: run tools/zoo/evaluate.py --seed S for several seeds.'
    titles = {key: zoo.MODELS[key][0] for key in zoo.MODELS}
    order = [k for k in zoo.MODELS if any(r['model'] == k for r in test)]
    test = sorted(test, key=lambda r: order.index(r['model']))
    levels = sorted({r['level'] for r in test}, key=lambda b: int(b[5:]))
    body = render_table(test, column='level', columns=levels, titles=titles,
                        headers=['Model'] + [f'{b} (test)' for b in levels])
    chosen = [r for r in probe if r['model'] in {k for k in order
                                                  if select(probe, model=k, split='val')}]
    if chosen:
        body += '\n\n' + best_level_table(sorted(chosen, key=lambda r: order.index(
            r['model'])), titles=titles)
    return body


def replace_section(text, name, body):
    pattern = re.compile(rf'(<!-- zoo:{name} -->\n).*?(<!-- /zoo:{name} -->)', re.S)
    if not pattern.search(text):
        raise SystemExit(f'README has no <!-- zoo:{name} --> ... <!-- /zoo:{name} --> section')
    return pattern.sub(lambda m: m.group(1) + body + '\n' + m.group(2), text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--readme', default='README.md')
    parser.add_argument('--results', default=zoo.RESULTS, help='folder of result files')
    parser.add_argument('--check', action='store_true')
    args = parser.parse_args()
    results = load_results(args.results)
    rows_path = osp.join(args.results, 'rows.jsonl')
    rows = read_rows(rows_path) if osp.isfile(rows_path) else []
    gap = gap_closed(results)
    sections = {
        'baselines': probe_table(results, zoo.BASELINES) +
        (f'\n\nBest-block probe: RotNet closes **{gap:.1f}%** of the gap between the '
         'random and the supervised backbone.' if gap is not None else ''),
        'svm': svm_table(results),
        'knn': knn_table(results),
        'semisup': semisup_table(results),
        'ablations': probe_table(results, zoo.ABLATIONS),
        'epochs': epochs_table(results),
    }
    if rows:
        sections['seeds'] = seeds_section(rows)
    with open(args.readme) as f:
        old = f.read()
    new = old
    for name, body in sections.items():
        new = replace_section(new, name, body)
    meta_path = osp.join(osp.dirname(osp.abspath(args.results)), 'metafile.yml')
    meta = metafile(results)
    old_meta = open(meta_path).read() if osp.isfile(meta_path) else ''
    if args.check:
        stale = [p for p, a, b in ((args.readme, old, new), (meta_path, old_meta, meta)) if a != b]
        if stale:
            raise SystemExit(f'out of date: {stale}; run python tools/zoo/make_tables.py')
        print('tables and metafile are up to date')
        return
    with open(args.readme, 'w') as f:
        f.write(new)
    with open(meta_path, 'w') as f:
        f.write(meta)
    print(f'rebuilt {len(sections)} tables in {args.readme} and {meta_path} '
          f'from {len(results)} result files')


if __name__ == '__main__':
    main()
