"""Result rows (rotation_pred.benchmarks.rows, .provenance): one flat schema, checked field by field,
in JSON Lines files written atomically, each row carrying a provenance that names no
directory of the machine that wrote it."""
import hashlib
import json
import os
import subprocess
import sys

import pytest

from rotation_pred import fileio
from rotation_pred.benchmarks.provenance import git_commit, provenance, repo_path
from rotation_pred.benchmarks.rows import (FIELDS, append_rows, make_row, read_rows, select,
                                           update_rows, write_rows)
from conftest import FMNIST_CONFIG, REPO

GOOD = dict(model='rotnet', seed=0, protocol='linear_probe', level='block2',
            setting='train=10000', split='val', metric='top1', value=88.5,
            provenance={'config': 'configs/x.py'})


def row(**changes):
    return make_row(**dict(GOOD, **changes))


def test_a_row_has_exactly_the_schema_fields_in_order():
    made = row(value=88)
    assert tuple(made) == FIELDS
    assert made['value'] == 88.0 and isinstance(made['value'], float)
    assert row(seed=None, level=None, setting='')['level'] is None


@pytest.mark.parametrize('field, bad', [
    ('model', ''), ('model', 3), ('seed', 1.5), ('seed', True), ('seed', '0'),
    ('protocol', 'lienar_probe'), ('level', ''), ('level', 2), ('setting', None),
    ('split', 'train'), ('metric', ''), ('value', float('nan')), ('value', 'high'),
    ('value', True), ('value', float('inf')), ('provenance', None)])
def test_a_bad_field_is_refused_by_name(field, bad):
    with pytest.raises(ValueError, match=f'result row: {field} must be'):
        row(**{field: bad})


def test_rows_written_read_back_equal_and_a_malformed_line_is_named(tmp_path):
    path = str(tmp_path / 'sub' / 'rows.jsonl')
    rows = [row(), row(seed=1, value=89.25)]
    write_rows(path, rows)
    assert read_rows(path) == rows
    append_rows(path, [row(split='test')])
    assert [r['split'] for r in read_rows(path)] == ['val', 'val', 'test']
    assert os.listdir(tmp_path / 'sub') == ['rows.jsonl']  # no temporary file left
    with open(path, 'a') as f:
        f.write('\n{"model": "rotnet"\n')
    with pytest.raises(ValueError, match=f'{path}:5: not a JSON line'):
        read_rows(path)
    bad = dict(row(), value='x')
    with open(path, 'w') as f:
        f.write(json.dumps(row()) + '\n' + json.dumps(bad) + '\n')
    with pytest.raises(ValueError, match=f'{path}:2: result row: value must be'):
        read_rows(path)
    extra = dict(row(), note='hi')
    with open(path, 'w') as f:
        f.write(json.dumps(extra) + '\n')
    with pytest.raises(ValueError, match=rf"{path}:1: .*unknown fields: \['note'\]"):
        read_rows(path)


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = str(tmp_path / 'rows.jsonl')
    write_rows(path, [row()])
    before = open(path).read()

    def fail(src, dst):
        raise OSError('disk gone')
    monkeypatch.setattr(fileio.os, 'replace', fail)
    with pytest.raises(OSError):
        write_rows(path, [row(value=1.0)])
    assert open(path).read() == before
    assert os.listdir(tmp_path) == ['rows.jsonl']
    with pytest.raises(ValueError, match='result row: split'):  # checked before writing
        append_rows(path, [row(), dict(row(), split='train')])
    assert open(path).read() == before


def test_a_rerun_replaces_the_rows_it_measures_again(tmp_path):
    path = str(tmp_path / 'rows.jsonl')
    update_rows(path, [row(level='block1', value=1.0), row(level='block2', value=2.0)])
    merged = update_rows(path, [row(level='block2', value=3.0), row(seed=1, value=4.0)])
    assert [(r['level'], r['seed'], r['value']) for r in merged] == [
        ('block1', 0, 1.0), ('block2', 0, 3.0), ('block2', 1, 4.0)]
    assert read_rows(path) == merged


def test_select_keeps_the_rows_equal_on_every_given_field():
    rows = [row(), row(split='test'), row(protocol='knn', setting='k=20')]
    assert select(rows, split='val') == [rows[0], rows[2]]
    assert select(rows, split='val', protocol='knn') == [rows[2]]
    assert select(rows) == rows
    with pytest.raises(ValueError, match=r"select: unknown fields \['splits'\]"):
        select(rows, splits='val')


def test_provenance_names_files_relative_to_the_repository_with_the_checkpoint_hash(
        tmp_path, monkeypatch):
    checkpoint = tmp_path / 'weights.pth'
    checkpoint.write_bytes(os.urandom(3 * 2**20 + 5))  # several 1 MiB chunks
    monkeypatch.setattr(sys, 'argv', [os.path.join(REPO, 'tools', 'x.py'),
                                      f'a.b={os.path.join(REPO, "configs", "c.py")}',
                                      str(checkpoint), '--n', '3'])
    found = provenance(FMNIST_CONFIG, str(checkpoint))
    assert set(found) == {'config', 'checkpoint', 'checkpoint_sha256', 'git_commit',
                          'versions', 'device', 'device_name', 'threads', 'command', 'time'}
    assert found['config'] == 'configs/rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'
    assert found['checkpoint'] == 'weights.pth (outside the repository)'
    assert found['checkpoint_sha256'] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert found['command'].endswith(' tools/x.py a.b=configs/c.py weights.pth --n 3')
    assert found['device'] == 'cpu' and found['device_name'] and found['threads'] >= 1
    assert {'python', 'torch', 'mmengine', 'mmpretrain', 'numpy'} <= set(found['versions'])
    assert found['time'].endswith('+00:00')
    text = json.dumps(found)
    assert REPO not in text and str(tmp_path) not in text
    none = provenance(None, None, command='python tools/x.py')
    assert (none['config'], none['checkpoint'], none['checkpoint_sha256'],
            none['command']) == (None, None, None, 'python tools/x.py')


def test_paths_inside_the_repository_are_relative_whatever_the_working_directory(
        tmp_path, monkeypatch):
    monkeypatch.chdir(os.path.join(REPO, 'configs'))
    assert repo_path('_base_/default_runtime.py') == 'configs/_base_/default_runtime.py'
    assert repo_path(REPO) == '.'
    assert repo_path(str(tmp_path / 'a.pth')) == 'a.pth (outside the repository)'


def test_the_git_commit_is_marked_dirty_by_uncommitted_changes(tmp_path):
    assert git_commit(str(tmp_path)) is None  # not a git checkout
    git = ['git', '-c', 'user.name=t', '-c', 'user.email=t@t', '-C', str(tmp_path)]
    subprocess.run(git + ['init', '-q'], check=True)
    (tmp_path / 'a.txt').write_text('a')
    subprocess.run(git + ['add', 'a.txt'], check=True)
    subprocess.run(git + ['commit', '-q', '-m', 'a'], check=True)
    head = subprocess.run(git + ['rev-parse', 'HEAD'], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert git_commit(str(tmp_path)) == head
    (tmp_path / 'a.txt').write_text('b')
    assert git_commit(str(tmp_path)) == head + '-dirty'


def test_reading_the_versions_imports_no_package():
    out = subprocess.run(
        [sys.executable, '-c', 'import sys\n'
         'from rotation_pred.benchmarks.provenance import versions\n'
         'before = set(sys.modules)\n'
         'v = versions()\n'
         "assert 'scikit-learn' in v and 'torch' in v, v\n"
         "print(sorted(m.split('.')[0] for m in set(sys.modules) - before\n"
         "             if m.split('.')[0] in ('sklearn', 'torch', 'mmcv', 'mmpretrain')))"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == '[]'


def _add_rows_one_by_one(path, model, count):
    for i in range(count):
        update_rows(path, [row(model=model, setting=f'k={i}')])


def test_evaluations_side_by_side_lose_no_rows(tmp_path):
    """Two processes adding rows to one file in turn (under its lock): every row stays."""
    import multiprocessing
    path = str(tmp_path / 'rows.jsonl')
    context = multiprocessing.get_context('fork')
    workers = [context.Process(target=_add_rows_one_by_one, args=(path, model, 40))
               for model in ('a', 'b')]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    rows = read_rows(path)
    assert sorted((r['model'], r['setting']) for r in rows) == sorted(
        (m, f'k={i}') for m in ('a', 'b') for i in range(40))
