"""The one renderer of result rows (rotation_pred.benchmarks.render): cells are
mean ± sample std (n) over seeds, and the best level is chosen on val, reported on test."""
import re

import pytest

from rotation_pred.benchmarks.best_level import best_level_rows, choose_levels
from rotation_pred.benchmarks.render import format_cell, render_table, best_level_table
from rotation_pred.benchmarks.rows import make_row


def r(model, level, seed, value, split='test', protocol='linear_probe', setting='',
      metric='top1'):
    return make_row(model=model, seed=seed, protocol=protocol, level=level,
                    setting=setting, split=split, metric=metric, value=value,
                    provenance={})


def lines(table):
    """The table's lines without the padding of its cells."""
    return [re.sub(' +', ' ', line) for line in table.splitlines()]


def test_a_cell_is_the_mean_and_sample_std_over_seeds_or_the_single_value():
    assert format_cell([1.0, 2.0, 3.0]) == '2.00 ± 1.00 (3)'  # ddof=1: sqrt(2 / 2)
    assert format_cell([80.0, 81.0]) == '80.50 ± 0.71 (2)'  # sqrt(0.5) = 0.7071
    assert format_cell([88.125]) == '88.12'
    assert format_cell([2.0, 4.0], digits=1) == '3.0 ± 1.4 (2)'


def test_a_table_has_a_line_per_model_and_a_column_per_level():
    rows = [r('rotnet', 'block1', 0, 80.0), r('rotnet', 'block1', 1, 82.0),
            r('rotnet', 'block1', 2, 84.0), r('rotnet', 'block2', 0, 90.0),
            r('random', 'block1', 0, 70.0), r('random', 'block1', 1, 71.0)]
    table = render_table(rows, column='level', titles={'rotnet': 'RotNet'})
    assert lines(table) == [
        '| Model | block1 | block2 |',
        lines(table)[1],
        '| RotNet | 82.00 ± 2.00 (3) | 90.00 |',
        '| random | 70.50 ± 0.71 (2) | — |']
    chosen = render_table(rows, column='level', columns=['block2', 'block1'],
                          headers=['', 'b2', 'b1'])
    assert lines(chosen)[0] == '| | b2 | b1 |'
    assert lines(chosen)[2] == '| rotnet | 90.00 | 82.00 ± 2.00 (3) |'


def test_lines_can_be_model_and_level_with_settings_as_columns():
    rows = [r('rotnet', 'block1', s, v, protocol='knn', setting=k)
            for s, v, k in ((0, 60.0, 'k=10'), (1, 62.0, 'k=10'), (0, 70.0, 'k=20'))]
    rows.append(r('rotnet', 'block2', 0, 75.0, protocol='knn', setting='k=20'))
    table = render_table(rows, column='setting', by=('model', 'level'))
    assert lines(table)[0] == '| Model | Level | k=10 | k=20 |'
    assert lines(table)[2:] == ['| rotnet | block1 | 61.00 ± 1.41 (2) | 70.00 |',
                                '| rotnet | block2 | — | 75.00 |']


def test_a_cell_mixing_splits_or_repeating_a_seed_is_refused():
    mixed = [r('rotnet', 'block1', 0, 80.0), r('rotnet', 'block1', 1, 81.0, split='val')]
    with pytest.raises(ValueError, match="mixes splits 'test', 'val'; select one first"):
        render_table(mixed)
    repeated = [r('rotnet', 'block1', 0, 80.0), r('rotnet', 'block1', 0, 81.0)]
    with pytest.raises(ValueError, match='has seed 0 more than once'):
        render_table(repeated)


# Val prefers block2, test would prefer block1: the choice must follow val.
VAL_TEST = [r('rotnet', 'block1', 0, 80.0, 'val'), r('rotnet', 'block1', 1, 81.0, 'val'),
            r('rotnet', 'block2', 0, 83.0, 'val'), r('rotnet', 'block2', 1, 79.0, 'val'),
            r('rotnet', 'block1', 0, 90.0), r('rotnet', 'block1', 1, 91.0),
            r('rotnet', 'block2', 0, 85.0), r('rotnet', 'block2', 1, 86.0),
            r('random', 'block1', 0, 70.0, 'val'), r('random', 'block2', 0, 60.0, 'val'),
            r('random', 'block1', 0, 65.0), r('random', 'block2', 0, 66.0)]


def test_the_best_level_is_chosen_on_val_even_when_test_would_choose_another():
    # rotnet on val: block1 80.5, block2 81.0 (mean over seeds) -> block2, though
    # block1 is better on test; random: block1 on val, though block2 on test.
    assert choose_levels(VAL_TEST) == {'rotnet': 'block2', 'random': 'block1'}
    assert choose_levels(VAL_TEST, split='test') == {'rotnet': 'block1', 'random': 'block2'}
    choices, reported = best_level_rows(VAL_TEST)
    assert [(x['model'], x['level'], x['split'], x['value']) for x in reported] == [
        ('rotnet', 'block2', 'test', 85.0), ('rotnet', 'block2', 'test', 86.0),
        ('random', 'block1', 'test', 65.0)]
    assert lines(best_level_table(VAL_TEST))[0] == '| Model | Level (chosen on val) | test |'
    assert lines(best_level_table(VAL_TEST))[2:] == ['| rotnet | block2 | 85.50 ± 0.71 (2) |',
                                                     '| random | block1 | 65.00 |']


def test_a_level_is_never_chosen_without_val_rows_or_across_protocols():
    test_only = [x for x in VAL_TEST if x['split'] == 'test']
    with pytest.raises(ValueError, match='no rows on the val split'):
        best_level_rows(test_only)
    no_val = [x for x in VAL_TEST if not (x['model'] == 'random' and x['split'] == 'val')]
    with pytest.raises(ValueError, match=r"\['random'\] have test rows but no val rows"):
        best_level_rows(no_val)
    unreported = [x for x in VAL_TEST if not (x['level'] == 'block2' and x['split'] == 'test')]
    with pytest.raises(ValueError, match='rotnet has no test rows at block2'):
        best_level_rows(unreported)
    mixed = VAL_TEST + [r('rotnet', 'block1', 0, 50.0, 'val', protocol='knn')]
    with pytest.raises(ValueError, match='mix protocols'):
        choose_levels(mixed)
