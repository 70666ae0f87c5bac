"""The main job, tools/run_main.sh (install check, RotNet pretraining on Fashion-MNIST,
linear probe of every block against the same network randomly initialised), end to end
on a small setting, and the arguments its settings turn into."""
import os
import re

from conftest import fake_venv, python_venv, run_tool
from rotation_pred.benchmarks.provenance import repo_path
from rotation_pred.benchmarks.rows import read_rows

# 80 steps of 32 images (128 rotated samples), validation on 512 test images, a probe on
# 500 train / 500 test images: one to two minutes on 2 CPU cores.
SMALL = dict(MAIN_TRAIN_IMAGES='1280', MAIN_EPOCHS='2', MAIN_VAL_IMAGES='512',
             MAIN_PROBE_TRAIN='500', MAIN_PROBE_TEST='500', MAIN_PROBE_EPOCHS='10')
COLUMNS = ['features', 'rotation accuracy', 'block1', 'block2', 'block3']


def printed_table(out):
    """The probe's caption and its markdown table as rows of cells."""
    caption = re.search(r'^Linear probe on .*$', out, re.M).group(0)
    lines = [line for line in out[out.index(caption):].splitlines() if line.startswith('|')]
    rows = [[cell.strip() for cell in line.strip('|').split('|')] for line in lines]
    return caption, rows[0], rows[2:]  # rows[1] is the |---| rule


def test_main_job_prints_rotnet_and_random_init_for_every_block(fashion_mnist_root, tmp_path):
    work = tmp_path / 'main'
    proc = run_tool('bash', 'tools/run_main.sh', '--cfg-options', 'train_dataloader.batch_size=32',
                    env=dict(SMALL, WORK_DIR=str(work),
                             VENV=python_venv(str(tmp_path / 'venv'))))
    out = proc.stdout
    # The settings reached the pretraining: 1280 images / 32 = 40 steps per epoch, 2 epochs.
    log = (work / 'train.log').read_text()
    assert 'Epoch(train) [2][40/40]' in log and 'Epoch(train) [3]' not in log
    assert '[main] 2/2 linear probe of' in out
    assert out.rstrip().endswith(f'rows: {work / "linear_probe" / "rows.jsonl"}')
    assert (work / 'linear_probe' / 'rows.jsonl').is_file()
    caption, header, rows = printed_table(out)
    assert caption.startswith('Linear probe on 500 train / 500 test images')
    assert header == COLUMNS
    assert [row[0] for row in rows] == ['RotNet', 'random init']
    printed = {row[0]: dict(zip(COLUMNS[1:], map(float, row[1:]))) for row in rows}
    for name, row in printed.items():
        assert all(0 <= v <= 100 for v in row.values()), (name, row)
        # Ten classes (chance 10%): even random features are linearly separable to ~75%.
        assert all(row[f'block{b}'] > 50 for b in (1, 2, 3)), (name, row)
    # Four rotations: chance is 25%. 80 steps teach RotNet (87% here); the random network
    # stays at chance.
    assert printed['RotNet']['rotation accuracy'] > 50
    assert printed['random init']['rotation accuracy'] < 35
    rows = read_rows(str(work / 'linear_probe' / 'rows.jsonl'))
    assert {(r['split'], r['setting']) for r in rows} == {('test', 'train=500'), ('test', '')}
    assert {r['provenance']['checkpoint'] for r in rows if r['model'] != 'random'} == {
        repo_path(str(work / 'epoch_2.pth'))}
    titles = {'random': 'random init'}
    assert {titles.get(r['model'], 'RotNet'): None for r in rows} == dict.fromkeys(printed)
    for r in rows:
        column = r['level'] or 'rotation accuracy'
        assert round(r['value'], 2) == printed[titles.get(r['model'], 'RotNet')][column]


def stub_python(folder):
    """A VENV whose python writes its arguments to ``calls`` and, as tools/train.py, the
    last_checkpoint file of its work dir."""
    calls = os.path.join(folder, 'calls')
    script = f'''printf '%s\\n' "$*" >> {calls}
if [ "$1" = tools/train.py ]; then
    work_dir=$(printf '%s\\n' "$@" | grep -x -A1 -e --work-dir | tail -1)
    echo "$work_dir/epoch_9.pth" > "$work_dir/last_checkpoint"
fi
'''
    fake_venv(folder, script)
    return calls


def test_main_job_runs_the_full_setting_unless_told_otherwise(fashion_mnist_root, tmp_path):
    config = 'configs/rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'
    probe = ('tools/benchmarks/evaluate.py {config} {checkpoint} --protocols rotation_accuracy '
             'linear_probe --random-baseline --max-dims 2500 --train-samples {train} --name '
             'rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist --work-dir {work}/linear_probe')
    work = str(tmp_path / 'work')
    calls = stub_python(str(tmp_path / 'full'))
    run_tool('bash', 'tools/run_main.sh', '--amp',
             env=dict(VENV=str(tmp_path / 'full'), WORK_DIR=work))
    with open(calls) as f:
        assert f.read().splitlines() == [
            f'tools/train.py {config} --work-dir {work} --amp',
            probe.format(config=config, checkpoint=f'{work}/epoch_9.pth', train=10000,
                         work=work)]
    calls = stub_python(str(tmp_path / 'small'))
    run_tool('bash', 'tools/run_main.sh', '--amp',
             env=dict(SMALL, VENV=str(tmp_path / 'small'), WORK_DIR=work))
    with open(calls) as f:
        assert f.read().splitlines() == [
            f'tools/train.py {config} --work-dir {work} --cfg-options '
            'train_dataloader.dataset.indices=1280 train_cfg.max_epochs=2 '
            'val_dataloader.dataset.indices=512 --amp',
            probe.format(config=config, checkpoint=f'{work}/epoch_9.pth', train=500,
                         work=work) + ' --test-samples 500 --epochs 10']
