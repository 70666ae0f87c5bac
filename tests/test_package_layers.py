"""Training imports only what training needs: `import rotation_pred` (what every
training process runs through `custom_imports`) loads no scikit-learn and none of the
SVM protocols; the benchmark tools import those themselves."""
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
from mmpretrain.registry import METRICS, MODELS
assert MODELS.get('RotationPred') is not None and METRICS.get('RotationAccuracy') is not None
loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'
                or m.startswith(('rotation_pred.evaluation.svm',
                                 'rotation_pred.evaluation.low_shot')))
print('LOADED', loaded)
"""


def test_importing_the_package_loads_no_scikit_learn():
    out = subprocess.run([sys.executable, '-c', WITHOUT_DETECTION], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'LOADED []' in out.stdout, out.stdout[-2000:]


def test_the_svm_protocol_is_still_importable_by_the_tools():
    out = subprocess.run([sys.executable, '-c', 'import sys\n'
                          'from rotation_pred.evaluation.svm import svm_map\n'
                          "assert 'sklearn' in sys.modules"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
