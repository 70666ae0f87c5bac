"""OpenMMLab's mim command on this package (docs/mim.md): the install puts the model
index, configs and tools into rotation_pred/.mim (setup.py), `mim search rotation_pred`
lists the model zoo from there, and `mim train` / `mim test rotation_pred CONFIG` run
tools/train.py and tools/test.py through it.

mim finds an editable install (tools/install.sh) only with the repository root ahead of
site-packages on the Python path (docs/mim.md, "Editable installs"): every command here
runs with PYTHONPATH set to it, as the docs say."""
import os
import re
import subprocess
import sys

import pytest
import yaml

from conftest import FMNIST_CONFIG, REPO, run_tool

MIM = os.path.join(os.path.dirname(sys.executable), 'mim')
MIM_FOLDER = os.path.join(REPO, 'rotation_pred', '.mim')
# What setup.py puts into rotation_pred/.mim (its MIM_FILES).
MIM_FILES = ('model-index.yml', 'README.md', 'docs', 'configs', 'tools', 'zoo')
# 2 training iterations of 32 images, 32 validation and 32 test images, without the
# online k-NN hook of the config (a forward pass over 3,000 images at start and end).
TINY = ['train_dataloader.dataset.indices=64', 'train_dataloader.batch_size=32',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'val_dataloader.dataset.indices=32', 'test_dataloader.dataset.indices=32',
        'default_hooks.logger.interval=1', 'custom_hooks=[]']


def mim(*args, timeout=300):
    """Run the venv's ``mim`` with ``args`` (repository root on PYTHONPATH); return its
    output, stdout then stderr. A missing mim is a failed install, not a skip."""
    assert os.path.isfile(MIM), f'{MIM} is missing: tools/install.sh installs openmim'
    path = os.pathsep.join(p for p in (REPO, os.environ.get('PYTHONPATH')) if p)
    proc = run_tool(MIM, *args, env={'PYTHONPATH': path}, timeout=timeout)
    return proc.stdout + proc.stderr


def index_models():
    """The models of model-index.yml's metafiles (their YAML entries)."""
    with open(os.path.join(REPO, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    models = []
    for path in imports:
        with open(os.path.join(REPO, path)) as f:
            meta = yaml.safe_load(f)
        models += [dict(m, README=c['README']) for m in meta['Models']
                   for c in meta['Collections'] if c['Name'] == m['In Collection']]
    return models


def shown_metrics(model):
    """The metrics mim search shows for a model entry: ``dataset/metric_name`` (lower
    case, spaces as _) -> value; a later result's metric replaces an earlier one of the
    same key, as in mim's search.convert2df."""
    metrics = {}
    for result in model.get('Results') or []:
        for name, value in result['Metrics'].items():
            metrics[f"{result['Dataset']}/{'_'.join(name.split())}".lower()] = value
    return metrics


def test_the_install_links_the_mim_files_into_the_package():
    """The editable install made rotation_pred/.mim: links to the checkout's files, under
    which every path the model index names (Import, Config, Weights, README) exists."""
    for name in MIM_FILES:
        target = os.path.join(MIM_FOLDER, name)
        assert os.path.islink(target), f'{target} is not a link: run tools/install.sh'
        assert os.path.samefile(target, os.path.join(REPO, name)), target
    with open(os.path.join(MIM_FOLDER, 'model-index.yml')) as f:
        for path in yaml.safe_load(f)['Import']:
            assert os.path.isfile(os.path.join(MIM_FOLDER, path)), path
    for model in index_models():
        for key in ('Config', 'Weights', 'README'):
            if key in model:
                assert os.path.isfile(os.path.join(MIM_FOLDER, model[key])), model[key]


def test_a_wheel_build_copies_the_mim_files_and_leaves_the_links(tmp_path):
    """setup.py's build_py (what `pip install .` and `python -m build` run) copies the
    files into the built package, without caches and zoo/results; the checkout's
    links stay."""
    build = tmp_path / 'build'
    subprocess.run([sys.executable, 'setup.py', '-q', 'build_py', '--build-lib', str(build)],
                   cwd=REPO, check=True, capture_output=True, timeout=300)
    copied = build / 'rotation_pred' / '.mim'
    for name in MIM_FILES:
        assert (copied / name).exists() and not (copied / name).is_symlink(), name
    assert (copied / 'tools' / 'train.py').read_bytes() == \
        open(os.path.join(REPO, 'tools', 'train.py'), 'rb').read()
    assert not (copied / 'zoo' / 'results').exists()
    assert not list(copied.rglob('__pycache__'))
    assert os.path.islink(os.path.join(MIM_FOLDER, 'configs'))


def test_mim_list_and_search_show_the_zoo():
    """`mim list` names the package; `mim search rotation_pred` lists every model of the
    metafiles with its metrics, config and weights."""
    listed = mim('list')
    assert re.search(r'^rotation-pred\s+0\.1\.0\s', listed, re.M), listed
    out = mim('search', 'rotation_pred', '--display-width', '1000')
    blocks = {}
    for block in out.split('config id: ')[1:]:
        name, *lines = block.splitlines()
        blocks[name.strip()] = dict(line.split(None, 1) for line in lines
                                    if len(line.split(None, 1)) == 2)
    models = index_models()
    assert sorted(blocks) == sorted(m['Name'] for m in models), out
    for model in models:
        shown = blocks[model['Name']]
        metrics = shown_metrics(model)
        assert metrics, f'{model["Name"]} has no metric in its metafile'
        for key, value in metrics.items():
            assert key in shown, (model['Name'], key, shown)
            assert shown[key].strip() == str(value), (model['Name'], key, shown[key])
        assert shown['config'].strip() == model['Config']
        assert shown['weight'].strip() == model['Weights']


@pytest.fixture(scope='module')
def mim_trained(tmp_path_factory, fashion_mnist_root):
    """`mim train rotation_pred CONFIG` (the bare config name, found under .mim/configs)
    for 2 iterations (on the CPU here; the GPU where there is one): (work dir, output)."""
    work_dir = tmp_path_factory.mktemp('mim_train')
    out = mim('train', 'rotation_pred', os.path.basename(FMNIST_CONFIG),
              '--work-dir', str(work_dir), '--cfg-options', *TINY)
    return work_dir, out


def test_mim_train_runs_our_train_tool_and_writes_a_checkpoint(mim_trained):
    work_dir, out = mim_trained
    assert os.path.join('rotation_pred', '.mim', 'tools', 'train.py') in out, out
    assert '--launcher none' in out
    assert re.search(r'Epoch\(train\) \[1\]\[2/2\]', out), out
    assert (work_dir / 'epoch_1.pth').is_file(), sorted(os.listdir(work_dir))


def test_mim_test_prints_the_rotation_accuracy(mim_trained, tmp_path):
    work_dir, _ = mim_trained
    out = mim('test', 'rotation_pred', FMNIST_CONFIG, '--checkpoint',
              str(work_dir / 'epoch_1.pth'), '--work-dir', str(tmp_path),
              '--cfg-options', 'test_dataloader.dataset.indices=32')
    assert os.path.join('rotation_pred', '.mim', 'tools', 'test.py') in out, out
    accuracy = re.search(r'Epoch\(test\).*rotation/accuracy: (\d+\.\d+)', out)
    assert accuracy and 0 <= float(accuracy.group(1)) <= 100, out
