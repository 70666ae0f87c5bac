"""The package has two layers: `import rotation_pred` (what every training process runs
through `custom_imports`) loads what training and testing need through the registries,
and neither scikit-learn nor `rotation_pred.benchmarks`, the benchmark layer the tools
import themselves. And the repository names no directory of the machine it was made on."""
import os
import re
import subprocess
import sys


from conftest import REPO

# mmpretrain imports mmdet when it is installed, and mmdet imports scikit-learn; an
# install without the detection benchmarks has no mmdet. The check blocks mmdet and
# mmseg to see what this package itself loads.
WITHOUT_DETECTION = """
import sys
class NoDetection:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('mmdet', 'mmseg'):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, NoDetection())
import rotation_pred
from mmpretrain.registry import DATASETS, METRICS, MODELS
assert MODELS.get('RotationPred') is not None and METRICS.get('RotationAccuracy') is not None
assert MODELS.get('MultiLevelLinearHead') is not None
assert METRICS.get('MultiLevelAccuracy') is not None
assert DATASETS.get('VOC07Classification') is not None
assert DATASETS.get('ClassBalancedSubset') is not None
loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'
                or m.startswith('rotation_pred.benchmarks'))
print('LOADED', loaded)
"""


def test_importing_the_package_loads_neither_scikit_learn_nor_the_benchmarks():
    out = subprocess.run([sys.executable, '-c', WITHOUT_DETECTION], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'LOADED []' in out.stdout, out.stdout[-2000:]


def test_the_svm_protocol_is_still_importable_by_the_tools():
    out = subprocess.run([sys.executable, '-c', 'import sys\n'
                          'from rotation_pred.benchmarks.svm import svm_map\n'
                          "assert 'sklearn' in sys.modules"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]


def test_the_evaluation_package_keeps_only_what_training_needs():
    modules = sorted(f for f in os.listdir(os.path.join(REPO, 'rotation_pred', 'evaluation'))
                     if f.endswith('.py'))
    assert modules == ['__init__.py', 'knn.py', 'multi_level_metric.py',
                       'rotation_metric.py', 'topk.py', 'voc.py']


# A directory of some machine: a path from the root into work, root, home, tmp, mnt or
# scratch (not part of a longer path or name, such as work_dirs/ or ./tmp/).
ABSOLUTE_PATH = re.compile(r'(?<![\w.])/(work|root|home|tmp|mnt|scratch)/')
# The one system path allowed: where the Debian package dataset-fashion-mnist installs.
ALLOWED = ('/usr/share/datasets/fashion-mnist', )


def absolute_paths(files):
    """``file:line: text`` of every line of the text ``files`` (paths relative to the
    repository) naming an absolute machine path; binary files are skipped."""
    found = []
    for name in files:
        with open(os.path.join(REPO, name), 'rb') as f:
            data = f.read()
        if b'\0' in data:
            continue
        try:
            text = data.decode('utf-8')
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for allowed in ALLOWED:
                line = line.replace(allowed, '')
            if ABSOLUTE_PATH.search(line):
                found.append(f'{name}:{number}: {line.strip()[:160]}')
    return found


#: Never part of the repository (.gitignore): scanned neither with nor without git.
UNTRACKED = ('.git', '.venv', 'work_dirs', 'data')


def tracked_files():
    """The repository's files: ``git ls-files`` in a git checkout, else every file under
    the root outside :data:`UNTRACKED` (an unpacked source archive is checked too)."""
    if os.path.isdir(os.path.join(REPO, '.git')):
        out = subprocess.run(['git', 'ls-files', '-z'], cwd=REPO, capture_output=True,
                             check=True)
        names = [n for n in out.stdout.decode().split('\0') if n]
    else:
        names = []
        for root, dirs, files in os.walk(REPO):
            dirs[:] = [d for d in dirs if os.path.relpath(os.path.join(root, d), REPO)
                       not in UNTRACKED and d != '__pycache__' and not d.endswith('.egg-info')]
            names += [os.path.relpath(os.path.join(root, f), REPO) for f in files]
    return [n for n in names if not n.startswith('.venv/')
            and os.path.isfile(os.path.join(REPO, n))]


def test_no_tracked_file_names_a_directory_of_this_machine():
    found = absolute_paths(tracked_files())
    assert not found, ('absolute paths of a machine (write them relative to the '
                       'repository, or name the source):\n' + '\n'.join(found))


def test_the_path_scan_finds_a_planted_path_and_allows_the_debian_data(tmp_path):
    shared = '/' + 'work/shared/reference/protocols.md'  # split: this file is scanned too
    planted = tmp_path / 'planted.md'
    planted.write_text('data: /usr/share/datasets/fashion-mnist/train\n'
                       'work dir: work_dirs/zoo/epoch_4.pth\n'
                       f'see `{shared}`\n')
    (tmp_path / 'weights.pth').write_bytes(b'\0/' + b'home/someone/')
    assert absolute_paths([str(planted), str(tmp_path / 'weights.pth')]) == [
        f'{planted}:3: see `{shared}`']


def test_importing_the_plugin_loads_no_detection_segmentation_or_sklearn_code():
    """With the detection and segmentation extras installed, `import rotation_pred`
    (every training process) leaves mmdet, mmseg and scikit-learn unloaded (compat fix
    10), and the import-time benchmark reports it; the C4 detection configs still get
    ResLayerExtraNorm through their custom_imports."""
    from rotation_pred.benchmarks.import_time import measure
    result = measure(repeats=1)
    assert result['loaded'] == []
    assert set(result['medians']) == {'extras installed', 'mmdet and mmseg blocked'}
    assert result['ratio'] > 0
    out = subprocess.run([sys.executable, '-c',
                          'import rotation_pred, importlib\n'
                          "importlib.import_module('mmpretrain.models.utils."
                          "res_layer_extra_norm')\n"
                          'from mmdet.registry import MODELS\n'
                          "assert MODELS.get('ResLayerExtraNorm') is not None"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
