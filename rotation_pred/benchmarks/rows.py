"""Benchmark results as rows of one schema, in JSON Lines files.

A row is one number: a flat dict with exactly the fields :data:`FIELDS`, in that order:

=============  ==============================================================
``model``      str: the evaluated model (a zoo key such as ``'rotnet'``)
``seed``       int or None: the seed of this replicate (pretraining, or the
               initialisation of a random backbone)
``protocol``   one of :data:`PROTOCOLS`
``level``      str or None: the feature level (``'block1'``), None for the
               whole model (rotation accuracy, fine-tuning)
``setting``    str: the protocol's varying parameter (``'k=20'``,
               ``'train=10000'``), ``''`` for none
``split``      ``'val'`` or ``'test'``: where the number was measured
``metric``     str: ``'top1'``, ``'mAP'``...
``value``      float, finite
``provenance`` dict: where the number comes from (:func:`.provenance.provenance`)
=============  ==============================================================

Rows live in JSON Lines files (one row a line): :func:`write_rows` replaces a file
atomically, :func:`append_rows` adds to one, :func:`update_rows` replaces the rows that
measure the same thing again, :func:`read_rows` reads one back, checking every line.
"""
import contextlib
import fcntl
import json
import math
import numbers
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional

from ..fileio import write_atomically

#: The fields of a row, in the order they are written.
FIELDS = ('model', 'seed', 'protocol', 'level', 'setting', 'split', 'metric', 'value',
          'provenance')
#: The fields that say what a row measures: two rows equal on these measure the same
#: thing (a rerun), whatever their value and provenance.
IDENTITY = FIELDS[:7]
#: The protocol names of the rows: the protocols over features
#: (:mod:`rotation_pred.benchmarks.protocols`) and the measures that train or test a model
#: (``s4l``: S4L-Rotation trained on labelled and unlabelled images).
PROTOCOLS = ('linear_probe', 'knn', 'svm', 'low_shot', 'nonlinear', 'conv',
             'rotation_accuracy', 'multi_level_linear', 'fine_tune', 's4l')
SPLITS = ('val', 'test')


def _text(field: str, value, allow_none: bool = False, allow_empty: bool = False):
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or (not value and not allow_empty):
        kind = ('a string' if allow_empty else 'a non-empty string') + \
            (' or None' if allow_none else '')
        raise ValueError(f'result row: {field} must be {kind}, not {value!r}')
    return value


def make_row(model: str, seed: Optional[int], protocol: str, level: Optional[str],
             setting: str, split: str, metric: str, value: float,
             provenance: Dict) -> Dict:
    """A result row (fields :data:`FIELDS`, in order), checked; ``value`` as a float.

    Raises ValueError naming the field at fault: ``model``/``metric`` not a non-empty
    string, ``seed`` not an int or None, ``protocol`` not in :data:`PROTOCOLS`, ``level``
    not a non-empty string or None, ``setting`` not a string, ``split`` not in
    :data:`SPLITS`, ``value`` not a finite number, ``provenance`` not a dict."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValueError(f'result row: seed must be an int or None, not {seed!r}')
    if protocol not in PROTOCOLS:
        raise ValueError(f'result row: protocol must be one of {list(PROTOCOLS)}, '
                         f'not {protocol!r}')
    if split not in SPLITS:
        raise ValueError(f'result row: split must be one of {list(SPLITS)}, not {split!r}')
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not math.isfinite(value):
        raise ValueError(f'result row: value must be a finite number, not {value!r}')
    if not isinstance(provenance, dict):
        raise ValueError(f'result row: provenance must be a dict, not '
                         f'{type(provenance).__name__}')
    return dict(model=_text('model', model), seed=None if seed is None else int(seed),
                protocol=protocol, level=_text('level', level, allow_none=True),
                setting=_text('setting', setting, allow_empty=True), split=split,
                metric=_text('metric', metric), value=float(value), provenance=provenance)


def row_maker(model: str, seed: Optional[int], split: str, source: Dict):
    """``row(protocol, level, setting, metric, value, split=None) -> row``: result rows
    of ``model`` measured with ``seed`` on ``split`` (unless a row names another), all
    with the provenance ``source`` (see :func:`.provenance.provenance`)."""
    default_split = split

    def row(protocol: str, level: Optional[str], setting: str, metric: str, value: float,
            split: Optional[str] = None) -> Dict:
        return make_row(model=model, seed=seed, protocol=protocol, level=level,
                        setting=setting, split=split or default_split, metric=metric,
                        value=value, provenance=source)
    return row


def check_row(row) -> Dict:
    """``row`` (a dict read back) checked as :func:`make_row` checks one; it must have
    exactly the fields :data:`FIELDS` (ValueError naming the missing or extra ones)."""
    if not isinstance(row, dict):
        raise ValueError(f'result row: a JSON object is needed, not {type(row).__name__}')
    missing = [f for f in FIELDS if f not in row]
    extra = [f for f in row if f not in FIELDS]
    if missing or extra:
        raise ValueError(f'result row: fields missing: {missing}, unknown fields: {extra} '
                         f'(a row has exactly {list(FIELDS)})')
    return make_row(**row)


def _dump(rows: Iterable[Dict]) -> str:
    return ''.join(json.dumps(check_row(r), sort_keys=False) + '\n' for r in rows)


def write_rows(path: str, rows: Iterable[Dict]) -> None:
    """Write ``rows`` to the JSON Lines file ``path``, replacing it atomically: they go to
    a temporary file beside it, renamed over ``path`` once complete (a reader, or a run
    killed half way, never sees half a file). Every row is checked first."""
    text = _dump(rows)
    write_atomically(path, lambda f: f.write(text), binary=False)


def append_rows(path: str, rows: Iterable[Dict]) -> None:
    """Add ``rows`` at the end of the JSON Lines file ``path`` (created if missing);
    every row is checked before anything is written."""
    text = _dump(rows)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'a') as f:
        f.write(text)


def read_rows(path: str) -> List[Dict]:
    """The rows of the JSON Lines file ``path`` (blank lines skipped). Raises ValueError
    naming ``path`` and the line number for a line that is not JSON or not a valid row."""
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(check_row(json.loads(line)))
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}:{number}: not a JSON line: {e}') from None
            except ValueError as e:
                raise ValueError(f'{path}:{number}: {e}') from None
    return rows


def identity(row: Dict) -> tuple:
    """The :data:`IDENTITY` fields of ``row``: what it measures."""
    return tuple(row[f] for f in IDENTITY)


@contextlib.contextmanager
def locked(path: str):
    """Hold an exclusive lock on ``path + '.lock'`` (POSIX ``flock``): evaluations
    running side by side update one rows file in turn, and none loses another's rows."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path + '.lock', 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def update_rows(path: str, rows: Iterable[Dict]) -> List[Dict]:
    """Add ``rows`` to the JSON Lines file ``path``, dropping the rows already there that
    measure the same thing (same :func:`identity`: a rerun replaces its old numbers);
    rewrites the file atomically, under :func:`locked`, and returns all its rows."""
    rows = [check_row(r) for r in rows]
    new = {identity(r) for r in rows}
    with locked(path):
        old = read_rows(path) if osp.isfile(path) else []
        merged = [r for r in old if identity(r) not in new] + rows
        write_rows(path, merged)
    return merged


def select(rows: Iterable[Dict], **field_equals) -> List[Dict]:
    """The rows whose fields equal the given values, e.g.
    ``select(rows, protocol='knn', split='val')``. Raises ValueError for a name that is
    not a field of the schema (a misspelt field would select nothing)."""
    unknown = [f for f in field_equals if f not in FIELDS]
    if unknown:
        raise ValueError(f'select: unknown fields {unknown}; fields: {list(FIELDS)}')
    return [r for r in rows if all(r[f] == v for f, v in field_equals.items())]
