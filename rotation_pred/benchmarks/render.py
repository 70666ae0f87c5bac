"""Markdown tables of result rows (see :mod:`.results`), the one renderer of them.

A table has one line per model (or per model and level, or any fields the caller
names) and one column per value of a field the caller picks (the level, the setting...).
Each cell aggregates the rows of that line and column over their seeds:
``mean ± std (n)`` with the sample standard deviation (ddof=1), or the value alone when
there is one seed. A cell only ever aggregates seeds: its rows must agree on every
other field of what they measure, else the table is refused (select first).
"""
import statistics
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .best_level import best_level_rows
from .rows import IDENTITY
from .tables import markdown_table

MISSING = '—'
HEADERS = {'model': 'Model', 'level': 'Level', 'setting': 'Setting', 'split': 'Split',
           'protocol': 'Protocol', 'metric': 'Metric', 'seed': 'Seed'}


def summarise(values: Sequence[float]) -> Tuple[float, Optional[float], int]:
    """``(mean, sample std or None for one value, n)`` of ``values``."""
    values = list(values)
    if not values:
        raise ValueError('summarise: no values')
    std = statistics.stdev(values) if len(values) > 1 else None
    return statistics.fmean(values), std, len(values)


def format_cell(values: Sequence[float], digits: int = 2) -> str:
    """``'mean ± std (n)'`` of ``values``, or the single value; ``digits`` decimals."""
    mean, std, n = summarise(values)
    if std is None:
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} ± {std:.{digits}f} ({n})'


def _label(value) -> str:
    return MISSING if value is None else str(value)


def group_cells(rows: Iterable[Dict], column: str, by: Sequence[str] = ('model', )
                ) -> Dict[tuple, Dict[object, List[Dict]]]:
    """``{line (values of by): {column value: [rows]}}``, in the order of first
    appearance. Raises ValueError when a cell's rows differ in any field of
    :data:`~.results.IDENTITY` but the seed, or repeat a seed."""
    cells: Dict[tuple, Dict[object, List[Dict]]] = {}
    for r in rows:
        cells.setdefault(tuple(r[f] for f in by), {}).setdefault(r[column], []).append(r)
    for line, columns in cells.items():
        for value, cell in columns.items():
            where = f'{dict(zip(by, line))}, {column}={value!r}'
            for field in IDENTITY:
                seen = sorted({repr(r[field]) for r in cell})
                if field != 'seed' and len(seen) > 1:
                    raise ValueError(f'table: the cell of {where} mixes {field}s '
                                     f'{", ".join(seen)}; select one first')
            seeds = [r['seed'] for r in cell]
            repeated = sorted({repr(s) for s in seeds if seeds.count(s) > 1})
            if repeated:
                raise ValueError(f'table: the cell of {where} has seed {", ".join(repeated)} '
                                 'more than once; a cell aggregates distinct seeds')
    return cells


def render_table(rows: Iterable[Dict], column: str = 'level',
                 by: Sequence[str] = ('model', ), columns: Optional[Sequence] = None,
                 titles: Optional[Mapping[str, str]] = None,
                 headers: Optional[Sequence[str]] = None, digits: int = 2) -> str:
    """A markdown table of ``rows``: one line per distinct value of the fields ``by``,
    one column per value of the field ``column`` (``columns``: which and in what order;
    default all, in order of appearance); each cell is :func:`format_cell` of the cell's
    values over its seeds, or ``—`` when it has none.

    ``titles`` renames models (``{'rotnet': 'RotNet'}``); ``headers`` replaces the
    header (``by`` names, then ``columns``)."""
    cells = group_cells(rows, column, by)
    if columns is None:
        columns = list(dict.fromkeys(v for line in cells.values() for v in line))
    titles = titles or {}
    body = []
    for line, line_cells in cells.items():
        names = [titles.get(v, v) if f == 'model' else v for f, v in zip(by, line)]
        body.append([_label(v) for v in names] +
                    [format_cell([r['value'] for r in line_cells[c]], digits)
                     if c in line_cells else MISSING for c in columns])
    header = list(headers) if headers is not None else \
        [HEADERS.get(f, f) for f in by] + [_label(c) for c in columns]
    if len(header) != len(by) + len(columns):
        raise ValueError(f'table: {len(header)} headers for {len(by) + len(columns)} '
                         'columns')
    return markdown_table(header, body)


def best_level_table(rows: Iterable[Dict], titles: Optional[Mapping[str, str]] = None,
                     choose_on: str = 'val', report_on: str = 'test',
                     digits: int = 2) -> str:
    """``| Model | Level (chosen on val) | test |``: each model's level chosen by its mean
    over seeds on ``choose_on`` (see :func:`~.best_level.best_level_rows`), and that
    level's ``report_on`` numbers as ``mean ± std (n)``."""
    choices, reported = best_level_rows(rows, choose_on, report_on)
    cells = group_cells(reported, 'level', ('model', ))
    titles = titles or {}
    body = [[titles.get(model, model), level,
             format_cell([r['value'] for r in cells[(model, )][level]], digits)]
            for model, level in choices.items()]
    return markdown_table(['Model', f'Level (chosen on {choose_on})', report_on], body)


def probe_summary_table(rows: Iterable[Dict], titles: Optional[Mapping[str, str]] = None,
                        accuracy_header: str = 'rotation accuracy', digits: int = 2) -> str:
    """``| features | rotation accuracy | block1 | ... |``: one line per model, its
    rotation accuracy and the linear probe of every level (mean ± std over seeds when a
    cell has several)."""
    rows = list(rows)
    levels = list(dict.fromkeys(r['level'] for r in rows if r['protocol'] == 'linear_probe'))
    titles = titles or {}
    body = []
    for model in dict.fromkeys(r['model'] for r in rows):
        mine = [r for r in rows if r['model'] == model]
        values = [[r['value'] for r in mine if r['protocol'] == 'rotation_accuracy']] + \
            [[r['value'] for r in mine if r['protocol'] == 'linear_probe' and
              r['level'] == level] for level in levels]
        body.append([titles.get(model, model)] +
                    [format_cell(v, digits) if v else MISSING for v in values])
    return markdown_table(['features', accuracy_header] + levels, body)
