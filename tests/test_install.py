"""The install metadata (setup.py), the mmcv check and the set-up scripts: fast, no network."""
import ast
import os
import re
import subprocess
import sys
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from conftest import REPO

TESTED = {'torch': '2.14.1', 'torchvision': '0.29.1'}
OPTIONAL = {'mmdet', 'mmsegmentation', 'scikit-learn', 'matplotlib', 'mmcv-lite', 'mmcv'}
FEATURE_EXTRAS = ('detection', 'segmentation', 'benchmarks', 'export', 'tensorboard')


@pytest.fixture(scope='module')
def dist():
    """setup.py's Distribution, read by running setup.py up to (not including) any command."""
    import setuptools  # noqa: F401  (makes distutils.core setuptools' own)
    from distutils.core import run_setup
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        return run_setup(os.path.join(REPO, 'setup.py'), stop_after='init')
    finally:
        os.chdir(cwd)


def requirements(reqs) -> dict:
    return {canonicalize_name(r.name): r for r in map(Requirement, reqs)}


def bound(req: Requirement, operator: str) -> Version:
    (spec, ) = [s for s in req.specifier if s.operator == operator]
    return Version(spec.version)


def test_torch_and_torchvision_are_ranges_with_the_tested_pair(dist):
    core = requirements(dist.install_requires)
    for name, tested in TESTED.items():
        req = core[name]
        assert not any(s.operator in ('==', '===') for s in req.specifier), req
        bound(req, '>='), bound(req, '<')  # a lower and an upper bound
        assert req.specifier.contains(tested), (req, tested)
    # torchvision 0.N pairs with torch 2.(N - 15): the two ranges cover the same releases.
    torch, vision = core['torch'], core['torchvision']
    for operator in ('>=', '<'):
        t, v = bound(torch, operator), bound(vision, operator)
        assert (t.major, t.minor) == (2, v.minor - 15), (torch, vision)


def test_openmmlab_pins_and_core_without_optional_packages(dist):
    core = requirements(dist.install_requires)
    assert str(core['mmengine'].specifier) == '==0.10.7'
    assert str(core['mmpretrain'].specifier) == '==1.2.0'
    assert not OPTIONAL & set(core), sorted(OPTIONAL & set(core))


def test_extras(dist):
    extras = {name: requirements(reqs) for name, reqs in dist.extras_require.items()}
    assert set(extras) == set(FEATURE_EXTRAS) | {'all', 'docs', 'tests'}
    assert {'mmdet', 'pycocotools'} <= set(extras['detection'])
    assert str(extras['detection']['mmdet'].specifier) == '==3.3.0'
    assert {'mmsegmentation', 'ftfy', 'regex'} <= set(extras['segmentation'])
    assert str(extras['segmentation']['mmsegmentation'].specifier) == '==1.2.2'
    assert {'scikit-learn', 'matplotlib'} <= set(extras['benchmarks'])
    assert 'timm' in extras['export']
    assert 'tensorboard' in extras['tensorboard']
    assert {'pytest', 'scipy'} <= set(extras['tests'])
    for name in FEATURE_EXTRAS:  # `all` and `tests`: every feature extra, same specifiers
        assert set(dist.extras_require[name]) <= set(dist.extras_require['all']), name
        assert set(dist.extras_require[name]) <= set(dist.extras_require['tests']), name


def _top_level_imports(paths):
    modules = set()
    for path in paths:
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split('.')[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split('.')[0])
    return modules


def _closure(names):
    """The distributions ``names`` pull in (by the installed metadata)."""
    seen, todo = set(), [canonicalize_name(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for req in map(Requirement, reqs):
            if req.marker is None or req.marker.evaluate({'extra': ''}):
                todo.append(canonicalize_name(req.name))
    return seen


def test_tests_extra_brings_what_the_suite_imports(dist):
    """Each third-party module that tests/ and rotation_pred/ import comes with the core
    install plus the `tests` extra (or with what those pull in), or is mmcv."""
    paths = []
    for folder in ('tests', 'rotation_pred'):
        for root, _, files in os.walk(os.path.join(REPO, folder)):
            paths += [os.path.join(root, f) for f in files if f.endswith('.py')]
    provided = _closure(list(requirements(dist.install_requires))
                        + list(requirements(dist.extras_require['tests'])))
    by_module = metadata.packages_distributions()
    missing = {}
    for module in sorted(_top_level_imports(paths)):
        dists = {canonicalize_name(d) for d in by_module.get(module, [])}
        if not dists or module in ('mmcv', 'rotation_pred') or dists & provided:
            continue  # stdlib or local, mmcv (checked at import), this package, provided
        missing[module] = sorted(dists)
    assert not missing, f'imported but not installed by setup.py core + tests: {missing}'


BLOCKED = ('mmdet', 'mmseg', 'sklearn', 'pycocotools', 'ftfy', 'timm', 'tensorboard')
# A module set to None in sys.modules is what Python treats as absent: `import` raises
# ModuleNotFoundError and importlib.util.find_spec returns None (a meta_path finder that
# raises would also break torch's own find_spec probes).
IMPORT_WITHOUT_EXTRAS = f"""
import sys
for name in {BLOCKED!r}:
    sys.modules[name] = None
import rotation_pred
from mmpretrain.registry import MODELS
assert MODELS.get('RotationPred') is rotation_pred.RotationPred
loaded = sorted(m for m in sys.modules
                if m.split('.')[0] in {BLOCKED!r} and sys.modules[m] is not None)
assert not loaded, loaded
print('ok')
"""


def test_import_without_optional_packages():
    """The core install is enough for `import rotation_pred`: with mmdet, mmseg,
    scikit-learn and the other extras' modules made absent, RotationPred registers."""
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    proc = subprocess.run([sys.executable, '-c', IMPORT_WITHOUT_EXTRAS], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.strip().endswith('ok')


# --- the mmcv check (rotation_pred.compat.check_mmcv), with the metadata faked ------------
@pytest.fixture
def fake_mmcv(monkeypatch):
    """fake_mmcv(versions, importable): pretend that these mmcv distributions are installed
    ({name: version}) and that a module mmcv is (or is not) found; returns compat."""
    import importlib.util

    from rotation_pred import compat
    real_find_spec = importlib.util.find_spec

    def fake(versions: dict, importable: bool = True):
        def version(name):
            if name in versions:
                return versions[name]
            raise metadata.PackageNotFoundError(name)

        def find_spec(name, *args, **kwargs):
            if name == 'mmcv' and not importable:
                return None
            return real_find_spec(name, *args, **kwargs)

        monkeypatch.setattr(metadata, 'version', version)
        monkeypatch.setattr(importlib.util, 'find_spec', find_spec)
        return compat
    return fake


def test_mmcv_missing_names_both_ways_to_install(fake_mmcv):
    compat = fake_mmcv({}, importable=False)
    with pytest.raises(compat.MMCVNotInstalled) as error:
        compat.check_mmcv()
    message = str(error.value)
    assert isinstance(error.value, ImportError)
    assert 'no mmcv is installed' in message
    assert 'pip install mmcv-lite==2.1.0' in message
    assert 'bash tools/build_mmcv.sh' in message


@pytest.mark.parametrize('versions', [{'mmcv-lite': '2.1.0'}, {'mmcv': '2.1.0'}])
def test_mmcv_lite_or_full_mmcv_is_enough(fake_mmcv, versions, recwarn):
    fake_mmcv(versions).check_mmcv()
    assert not [w for w in recwarn if 'mmcv' in str(w.message)]


def test_mmcv_without_metadata_but_importable_is_accepted(fake_mmcv):
    fake_mmcv({}, importable=True).check_mmcv()  # e.g. a source checkout on PYTHONPATH


@pytest.mark.parametrize('versions', [{'mmcv': '1.7.2'}, {'mmcv-full': '1.7.2'},
                                      {'mmcv-lite': '2.4.0'}])
def test_mmcv_out_of_range(fake_mmcv, versions):
    compat = fake_mmcv(versions)
    with pytest.raises(compat.MMCVNotInstalled) as error:
        compat.check_mmcv()
    (name, version), = versions.items()
    assert f'{name} {version} is installed' in str(error.value)
    assert f'pip uninstall -y {name}' in str(error.value)


def test_both_mmcv_and_mmcv_lite_warn(fake_mmcv):
    compat = fake_mmcv({'mmcv': '2.1.0', 'mmcv-lite': '2.1.0'})
    with pytest.warns(UserWarning, match='both mmcv 2.1.0 and mmcv-lite 2.1.0'):
        compat.check_mmcv()


# --- the scripts -------------------------------------------------------------------------
@pytest.mark.parametrize('script', ['tools/install.sh', 'tools/build_mmcv.sh',
                                    'tools/run_tests.sh'])
def test_scripts_parse(script):
    subprocess.run(['bash', '-n', os.path.join(REPO, script)], check=True)


def test_build_mmcv_arguments():
    script = os.path.join(REPO, 'tools', 'build_mmcv.sh')
    usage = subprocess.run(['bash', script, '--help'], capture_output=True, text=True)
    assert usage.returncode == 0 and '--prepare-only' in usage.stdout
    for args, error in ((['--bogus'], 'unknown argument'), (['--jobs', '0'], '--jobs'),
                        (['--wheel', '/nonexistent.whl'], 'no such file'),
                        (['--python'], 'needs a value')):
        proc = subprocess.run(['bash', script, *args], capture_output=True, text=True)
        assert proc.returncode != 0 and error in proc.stderr, (args, proc.stderr)


def test_install_script_reads_the_torch_range_of_setup_py(dist):
    """tools/install.sh finds torch's and torchvision's requirement in setup.py with this
    pattern and installs the tested pair, which must be inside the ranges."""
    with open(os.path.join(REPO, 'setup.py'), encoding='utf-8') as f:
        source = f.read()
    core = requirements(dist.install_requires)
    for name in TESTED:
        found = Requirement(re.search(r"'(%s[<>=!~][^']*)'" % name, source).group(1))
        assert found.specifier == core[name].specifier
    with open(os.path.join(REPO, 'tools', 'install.sh'), encoding='utf-8') as f:
        script = f.read()
    assert "'(%s[<>=!~][^']*)'" in script
    for name, tested in TESTED.items():
        assert f'{name}=={tested}' in script
