"""The best feature level of each model: chosen on the validation split, reported on
the test split, so that no test number takes part in the choice.

The rows (see :mod:`.results`) must measure one thing at several levels: one protocol,
setting and metric, any models, levels, seeds and both splits. A level's score is the
mean of its values over the seeds.
"""
import statistics
from typing import Dict, Iterable, List, Tuple

#: What the rows of one choice must share.
SHARED = ('protocol', 'setting', 'metric')


def _check_one_measure(rows: List[Dict]) -> None:
    for field in SHARED:
        values = sorted({repr(r[field]) for r in rows})
        if len(values) > 1:
            raise ValueError(f'best level: the rows mix {field}s {", ".join(values)}; '
                             f'select one {field} first')
    without = sorted({r['model'] for r in rows if r['level'] is None})
    if without:
        raise ValueError(f'best level: rows of {without} have no level')


def level_means(rows: Iterable[Dict], split: str) -> Dict[str, Dict[str, float]]:
    """``{model: {level: mean over seeds}}`` of the rows of ``split``, models and levels
    in the order they first appear."""
    values: Dict[str, Dict[str, list]] = {}
    for r in rows:
        if r['split'] == split:
            values.setdefault(r['model'], {}).setdefault(r['level'], []).append(r['value'])
    return {model: {level: statistics.fmean(v) for level, v in levels.items()}
            for model, levels in values.items()}


def choose_levels(rows: Iterable[Dict], split: str = 'val',
                  higher_is_better: bool = True) -> Dict[str, str]:
    """``{model: level}``: each model's level with the best mean over seeds on ``split``
    (the first of equal ones). Raises ValueError when the rows measure more than one
    thing (:data:`SHARED`), lack a level, or have nothing on ``split``."""
    rows = list(rows)
    _check_one_measure(rows)
    means = level_means(rows, split)
    if not means:
        raise ValueError(f'best level: no rows on the {split} split to choose levels on')
    pick = max if higher_is_better else min
    return {model: pick(levels, key=levels.get) for model, levels in means.items()}


def best_level_rows(rows: Iterable[Dict], choose_on: str = 'val', report_on: str = 'test',
                    higher_is_better: bool = True) -> Tuple[Dict[str, str], List[Dict]]:
    """Choose each model's level on ``choose_on`` (:func:`choose_levels`) and return
    ``(choices {model: level}, the rows of report_on at the chosen levels)``.

    Every model of the ``report_on`` rows needs rows on ``choose_on``, and every chosen
    level rows on ``report_on``: ValueError naming the model otherwise (a level is never
    chosen on the numbers it reports)."""
    rows = list(rows)
    choices = choose_levels(rows, choose_on, higher_is_better)
    reported = [r for r in rows if r['split'] == report_on]
    unchosen = sorted({r['model'] for r in reported} - set(choices))
    if unchosen:
        raise ValueError(f'best level: {unchosen} have {report_on} rows but no '
                         f'{choose_on} rows to choose their level on')
    kept = [r for r in reported if r['level'] == choices[r['model']]]
    for model, level in choices.items():
        if not any(r['model'] == model for r in kept):
            raise ValueError(f'best level: {model} has no {report_on} rows at {level}, '
                             f'the level chosen on {choose_on}')
    return choices, kept
