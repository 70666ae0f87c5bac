"""Markdown tables of the benchmark results, in the layouts of the model-zoo tables.

Each function takes the results one benchmark tool writes to its JSON file and returns
the table as a string; the first column names the pretrained model.
"""
from typing import Dict, Mapping, Sequence

from .tables import markdown_table

MODEL = 'Self-Supervised Config'


def _pct(value) -> str:
    return '-' if value is None else f'{value:.2f}'


def multi_level_table(model: str, top1: Mapping[str, float]) -> str:
    """``| model | feat1 | ... |``: top-1 (%) of each level's linear classifier."""
    return markdown_table([MODEL] + list(top1), [[model] + [_pct(v) for v in top1.values()]])


def linear_table(model: str, top1: float, top5: float = None) -> str:
    """``| model | Top-1 | Top-5 |`` of a single linear (or fine-tuned) classifier."""
    return markdown_table([MODEL, 'Top-1', 'Top-5'], [[model, _pct(top1), _pct(top5)]])


def svm_table(model: str, levels: Mapping[str, Dict]) -> str:
    """Per level: VOC07 SVM mAP and low-shot mean mAP for each k; then the model-zoo row
    (best layer by SVM mAP, its SVM mAP and its low-shot means)."""
    low = {name: {int(k): s for k, s in r.get('low_shot', {}).items()}
           for name, r in levels.items()}
    ks = sorted({k for per_k in low.values() for k in per_k})
    header = ['Layer', 'SVM'] + [f'k={k}' for k in ks]
    rows = {name: [name, _pct(r.get('svm', {}).get('mAP'))] +
            [_pct(low[name].get(k, {}).get('mean')) for k in ks]
            for name, r in levels.items()}
    table = markdown_table(header, list(rows.values()))
    with_svm = {n: r['svm']['mAP'] for n, r in levels.items() if 'svm' in r}
    if not with_svm:
        return table
    best = max(with_svm, key=with_svm.get)
    return table + '\n\n' + markdown_table([MODEL, 'Best Layer'] + header[1:],
                                           [[model] + rows[best]])


def low_shot_stats_table(levels: Mapping[str, Dict]) -> str:
    """mean / std / min / max over the samples, per level and k."""
    rows = [[name, str(k), _pct(s['mean']), _pct(s['std']), _pct(s['min']), _pct(s['max']),
             f'{s["cost"]:g}'] for name, r in levels.items()
            for k, s in r.get('low_shot', {}).items()]
    return markdown_table(['Layer', 'k', 'mean', 'std', 'min', 'max', 'cost'], rows)


def knn_table(model: str, accuracy: Mapping, topk: Sequence[int] = (1, 5)) -> str:
    """``| model | Top-k | k=10 | k=20 | ... |``: weighted k-NN accuracy (%)."""
    ks = list(accuracy)
    rows = [[model, f'Top-{t}'] + [_pct(accuracy[k].get(t, accuracy[k].get(str(t))))
                                   for k in ks] for t in topk]
    return markdown_table([MODEL, 'Metric'] + [f'k={k}' for k in ks], rows)


def grid_table(model: str, runs: Sequence[Dict]) -> str:
    """One row per (lr, head lr multiplier) run; the best top-1 is marked with *."""
    best = max((r['top1'] for r in runs), default=None)
    rows = [[model, f'{r["lr"]:g}', f'{r["head_lr_mult"]:g}',
             _pct(r['top1']) + (' *' if r['top1'] == best else ''), _pct(r.get('top5'))]
            for r in runs]
    return markdown_table([MODEL, 'lr', 'head lr mult', 'Top-1', 'Top-5'], rows)
