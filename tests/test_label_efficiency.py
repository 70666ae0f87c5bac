"""The label-efficiency curve (the paper's Fig. 5b): K labelled images per class, drawn
class-balanced from the train images outside the validation split, the same images for
every method at a seed; every K trained for the same number of steps."""
import json
import re

import numpy as np
import pytest
import torch

from conftest import run_tool
from rotation_pred.benchmarks import label_efficiency as le
from rotation_pred.benchmarks.frozen_heads import build_head, train_head
from rotation_pred.benchmarks.rows import read_rows
from rotation_pred.datasets.class_balanced import k_per_class

VALIDATION = range(50000, 60000)


@pytest.fixture(scope='module')
def train_labels(fashion_mnist_root):
    """The classes of the 60,000 Fashion-MNIST train images."""
    return le.train_labels(le._rotnet_cfg())


def class_counts(labels, subset):
    return np.bincount(labels[subset], minlength=10)


@pytest.mark.parametrize('k', [1, 20, 100, 1000])
def test_k_per_class_is_class_balanced_and_outside_the_validation_split(train_labels, k):
    subset = le.labelled_subset(train_labels, k, seed=0, validation=VALIDATION)
    assert (class_counts(train_labels, subset) == k).all()
    assert len(np.unique(subset)) == len(subset) == 10 * k
    assert subset.max() < VALIDATION.start


def test_all_labels_is_every_train_image_outside_the_validation_split(train_labels):
    subset = le.labelled_subset(train_labels, 'all', seed=0, validation=VALIDATION)
    assert subset.tolist() == list(range(VALIDATION.start))


def test_a_seed_gives_the_same_images_every_time_and_nested_across_k(train_labels):
    small = le.labelled_subset(train_labels, 20, seed=3, validation=VALIDATION)
    again = le.labelled_subset(train_labels, 20, seed=3, validation=VALIDATION)
    large = le.labelled_subset(train_labels, 100, seed=3, validation=VALIDATION)
    other_seed = le.labelled_subset(train_labels, 20, seed=4, validation=VALIDATION)
    assert small.tolist() == again.tolist()
    assert set(small) <= set(large)
    assert len(set(small) & set(other_seed)) < len(small) // 2


def test_k_larger_than_a_class_is_refused_naming_the_class_and_its_count(train_labels):
    counts = class_counts(train_labels, np.arange(VALIDATION.start))
    smallest = int(np.argmin(counts))
    k = int(counts.min()) + 1
    with pytest.raises(ValueError) as error:
        le.labelled_subset(train_labels, k, seed=0, validation=VALIDATION)
    message = str(error.value)
    assert f'class {smallest} has {counts.min():,} images outside the validation split' \
        in message and f'K={k}' in message


@pytest.mark.parametrize('bad', [0, -3, 2.5, True, 'some'])
def test_a_bad_k_is_refused(bad):
    with pytest.raises(ValueError, match='k must be a positive int'):
        k_per_class([0, 1, 0, 1], bad, seed=0)


def test_k_per_class_draws_only_from_its_pool():
    labels = np.array([0, 1] * 10)
    pool = np.arange(12)
    for seed in range(5):
        subset = k_per_class(labels, 3, seed, pool=pool)
        assert set(subset) <= set(pool) and (np.bincount(labels[subset]) == 3).all()


def test_every_k_trains_the_head_for_the_same_number_of_steps():
    """Steps, not epochs: 20 or 200 images, the head takes the same 12 SGD steps."""
    generator = torch.Generator().manual_seed(0)
    for images in (20, 200):
        maps = torch.randn(images, 8, 4, 4, generator=generator)
        labels = torch.arange(images) % 10
        head = build_head('conv', (8, 4, 4), 10, conv_width=8, seed=0)
        steps_seen = []
        head.register_forward_pre_hook(lambda module, args: steps_seen.append(1)
                                       if module.training else None)
        history = train_head(head, maps, labels, steps=12, lr=0.05, milestones=[6, 9],
                             batch_size=16)
        assert len(steps_seen) == 12
        assert [h['step'] for h in history] == [6, 9, 12]
        assert [h['lr'] for h in history] == pytest.approx([0.05, 0.01, 0.002])


def test_train_head_takes_epochs_or_steps_not_both():
    head = build_head('conv', (8, 4, 4), 10, conv_width=8)
    maps, labels = torch.randn(4, 8, 4, 4), torch.arange(4)
    with pytest.raises(ValueError, match='exactly one'):
        train_head(head, maps, labels, epochs=1, steps=1)
    with pytest.raises(ValueError, match='exactly one'):
        train_head(head, maps, labels)


def test_a_labelled_index_file_outside_the_data_set_is_refused(tmp_path):
    index_file = tmp_path / 'labelled.json'
    index_file.write_text(json.dumps([0, 5, 99]))
    with pytest.raises(ValueError, match=f'{index_file}.*outside the 10 images'):
        le.IndexFileSubset(list(range(10)), str(index_file))


def test_the_curve_end_to_end_two_k_one_seed(tmp_path):
    """Every method at K=2 and K=5 (seed 0, 3 steps, 60 validation images), the conv
    head with two candidate learning rates: one row per method, candidate and K, the
    same labelled images for every method; the figure and the table; a rerun with
    --skip-done measures nothing again; on test, --choose-on-val runs the candidate
    with the best validation top-1."""
    rows_file, figure = tmp_path / 'rows.jsonl', tmp_path / 'curve.png'
    table = tmp_path / 'table.md'
    common = ['tools/zoo/label_efficiency.py', '--seeds', '0', '--steps', '3',
              '--eval-images', '60', '--rows', str(rows_file),
              '--work-root', str(tmp_path / 'work')]
    command = common + ['--ks', '2', '5', '--split', 'val', '--lr', 'conv=0.1,0.001',
                        '--figure', str(figure), '--table', str(table), '--skip-done']
    run_tool(*command, timeout=1200)
    rows = read_rows(str(rows_file))
    expected = [(m, f'k={k} lr={lr:g}' + (' w=1' if m == 's4l' else ''))
                for k in (2, 5) for m in le.METHODS
                for lr in ((0.1, 0.001) if m == 'conv' else (le.DEFAULT_LR[m], ))]
    assert sorted((r['protocol'], r['setting']) for r in rows) == sorted(
        (le.ROW_NAMES[m][1], setting) for m, setting in expected)
    for row in rows:
        assert row['split'] == 'val' and row['metric'] == 'top1'
        assert 0 <= row['value'] <= 100
        assert row['provenance']['settings']['steps'] == 3
    for k in (2, 5):
        at_k = [r for r in rows if le.k_of(r['setting']) == str(k)]
        assert len({r['provenance']['subset']['sha256'] for r in at_k}) == 1
        assert {r['provenance']['subset']['images'] for r in at_k} == {10 * k}
    assert figure.read_bytes()[:4] == b'\x89PNG' and figure.stat().st_size > 1000
    text = table.read_text()
    assert 'K=2' in text and 'K=5' in text
    assert all(le.TITLES[m] in text for m in le.METHODS)

    again = run_tool(*command, timeout=600)
    assert again.stdout.count('measured already') == 2 * (len(le.METHODS) + 1)
    assert len(read_rows(str(rows_file))) == len(rows)

    conv_val = {lr: [r['value'] for r in rows if r['protocol'] == 'conv' and
                     r['setting'].endswith(f'lr={lr:g}')] for lr in (0.1, 0.001)}
    best = max(conv_val, key=lambda lr: (sum(conv_val[lr]), lr == 0.1))
    test = run_tool(*common, '--ks', '2', '--methods', 'conv', '--lr', 'conv=0.1,0.001',
                    '--split', 'test', '--choose-on-val', timeout=600)
    assert f'conv: chosen on val: lr {best}' in test.stdout
    tested = [r for r in read_rows(str(rows_file)) if r['split'] == 'test']
    assert [r['setting'] for r in tested] == [f'k=2 lr={best:g}']


def test_several_candidates_on_test_are_refused_without_choosing_on_val():
    proc = run_tool('tools/zoo/label_efficiency.py', '--lr', 'scratch=0.01,0.05',
                    '--split', 'test', check=False)
    assert proc.returncode == 2 and 'never on test' in proc.stderr


def test_choose_on_val_takes_the_best_mean_over_the_validation_rows():
    def row(lr, value, split='val', steps=100):
        settings = dict(steps=steps, lr=lr)
        return dict(model='random', seed=0, protocol='fine_tune', level=None,
                    setting=f'k=20 lr={lr:g}', split=split, metric='top1', value=value,
                    provenance=dict(settings=settings))
    grid = [dict(steps=100, lr=0.01), dict(steps=100, lr=0.05)]
    rows = [row(0.01, 70.0), row(0.01, 74.0), row(0.05, 71.0), row(0.05, 99.0, 'test'),
            row(0.05, 99.0, steps=50)]
    assert le.choose_on_val(rows, 'scratch', grid)['lr'] == 0.01
    with pytest.raises(ValueError, match='no validation rows of finetune'):
        le.choose_on_val(rows, 'finetune', grid)


def test_drawing_without_rows_of_the_split_says_so(tmp_path):
    rows = [dict(model='rotnet', seed=0, protocol='conv', level='block2', setting='k=2',
                 split='val', metric='top1', value=50.0, provenance={})]
    with pytest.raises(ValueError, match='no label-efficiency rows on the test split'):
        le.draw_figure(rows, str(tmp_path / 'x.png'), 'test')


def test_unknown_method_in_a_per_method_setting_is_named():
    proc = run_tool('tools/zoo/label_efficiency.py', '--steps', 'convv=10', '--no-run',
                    '--table', '-', check=False)
    assert proc.returncode == 2 and "--steps 'convv=10'" in proc.stderr


def test_the_validation_table_marks_the_chosen_candidate():
    def row(lr, value, seed):
        return dict(model='random', seed=seed, protocol='fine_tune', level=None,
                    setting=f'k=100 lr={lr:g}', split='val', metric='top1', value=value,
                    provenance=dict(settings=dict(steps=500, lr=lr)))
    rows = [row(0.01, 80.0, 0), row(0.01, 82.0, 1), row(0.05, 83.0, 0), row(0.05, 83.4, 1)]
    table = re.sub(' +', ' ', le.render_val_table(rows))  # cells without padding
    assert '| **83.20 ± 0.28 (2)** |' in table and '| 81.00 ± 1.41 (2) |' in table
    assert table.index('lr=0.01') < table.index('lr=0.05')
