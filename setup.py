"""rotation_pred: RotNet (rotation prediction) for the OpenMMLab pretraining stack.

Tested together: Python 3.11, torch 2.14.1, torchvision 0.29.1 (README, "Install").
"""
import os
import shutil
import sys
import warnings

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))

# torch and torchvision: ranges, so that `pip install -e .` keeps the user's own torch.
# Lower bound 2.4: rotation_pred/compat.py allowlists checkpoint types with
# torch.serialization.add_safe_globals and rotation_pred/mixed_precision.py calls
# torch.is_autocast_enabled('cpu') / torch.get_autocast_dtype('cpu'), all new in torch 2.4
# (which is also built against numpy 2). Upper bound: 2.14 is the newest minor release the
# stack fixes in rotation_pred/compat.py were written and tested against; they patch
# internals of torch, mmengine and torchvision, so a newer minor release is let in only
# after it is tested. torchvision 0.N pairs with torch 2.(N-15); the ranges match.
# tools/install.sh reads these two lines.
TORCH = [
    'torch>=2.4,<2.15',
    'torchvision>=0.19,<0.30',
]

# mmcv 2.1.0 is deliberately NOT declared: it is either mmcv-lite (pure Python) or a full
# mmcv with compiled ops built for the user's torch (tools/build_mmcv.sh), and both install
# the same `mmcv` package. Declaring either one would make pip replace or flag the other.
# mmpretrain/mmdet/mmsegmentation do not declare mmcv either (only their mminstall.txt
# does), so `pip check` stays clean with either one. `import rotation_pred` checks that one
# is there (rotation_pred.compat.check_mmcv) and says how to install it.
CORE = TORCH + [
    'mmengine==0.10.7',
    'mmpretrain==1.2.0',
    'setuptools<82',  # mmengine 0.10.7 imports pkg_resources (removed in setuptools 82)
    'numpy>=1.24',
    'opencv-python-headless>=4.8',
]

EXTRAS = {
    # transfer benchmarks on detection (tools/benchmarks/mmdetection)
    'detection': [
        'mmdet==3.3.0',
        'pycocotools>=2.0.9',  # first release built for numpy 2
    ],
    # transfer benchmarks on segmentation (tools/benchmarks/mmsegmentation)
    'segmentation': [
        'mmsegmentation==1.2.2',
        'ftfy',  # imported by mmsegmentation, not declared by it
        'regex',  # imported by mmsegmentation, not declared by it
    ],
    # classification benchmarks (rotation_pred.benchmarks: SVM, low-shot) and figures
    'benchmarks': [
        'scikit-learn>=1.3',
        'matplotlib>=3.7',
    ],
    # exporting weights to other libraries
    'export': ['timm>=1.0'],
    # mmengine's TensorboardVisBackend (vis_backends in a config)
    'tensorboard': ['tensorboard>=2.16'],
}
EXTRAS['all'] = sorted({req for reqs in EXTRAS.values() for req in reqs})
# the documentation site (mkdocs.yml): mkdocs build --strict, mkdocs serve
EXTRAS['docs'] = ['mkdocs>=1.6,<2', 'mkdocs-material>=9.5,<10']
# Everything the test suite (tests/) needs: it runs the code of every extra (detection,
# segmentation, benchmarks, the timm export, the TensorBoard logs) and builds the docs.
EXTRAS['tests'] = ['pytest>=7', 'scipy>=1.10'] + EXTRAS['all'] + EXTRAS['docs']


def long_description() -> str:
    path = os.path.join(HERE, 'README.md')
    if not os.path.exists(path):
        return ''
    with open(path, encoding='utf-8') as f:
        return f.read()


# OpenMMLab's `mim` (docs/mim.md) reads a package's model index, configs and tools from
# the `.mim` folder of the installed package: `mim search` loads .mim/model-index.yml (its
# Import, Config, Weights and README paths are relative to it), `mim train`/`mim test`
# run .mim/tools/train.py / test.py and find bare config names under the package.
MIM_FILES = ('model-index.yml', 'README.md', 'docs', 'configs', 'tools', 'zoo')
MIM_FOLDER = os.path.join('rotation_pred', '.mim')


def ignore_in_copies(folder, names):
    """What a copy leaves out: Python caches, and zoo/results (the raw result rows; mim
    reads the metafiles and weights only)."""
    skip = {name for name in names if name == '__pycache__' or name.endswith('.pyc')}
    if os.path.abspath(folder) == os.path.join(HERE, 'zoo'):
        skip.add('results')
    return skip


def fill_mim_folder(folder: str, link: bool) -> None:
    """Put MIM_FILES into ``folder`` as relative symbolic links (``link``) or as copies;
    copies also where links cannot be made (Windows without the privilege). Items
    missing from the source tree are skipped."""
    os.makedirs(folder, exist_ok=True)
    for name in MIM_FILES:
        source = os.path.join(HERE, name)
        target = os.path.join(folder, name)
        if not os.path.exists(source):
            continue
        if os.path.islink(target) or os.path.isfile(target):
            os.remove(target)
        elif os.path.isdir(target):
            shutil.rmtree(target)
        if link:
            try:
                os.symlink(os.path.relpath(source, folder), target)
                continue
            except OSError as error:
                warnings.warn(f'cannot link {target} ({error}); copying {name} instead')
        if os.path.isdir(source):
            shutil.copytree(source, target, ignore=ignore_in_copies)
        else:
            shutil.copyfile(source, target)


class BuildPyWithMim(build_py):
    """build_py that also copies MIM_FILES into the built package (a wheel:
    `pip install .`, `python -m build`; MANIFEST.in brings them into a source archive).
    An editable build leaves this to the links below."""

    def run(self):
        super().run()
        if not getattr(self, 'editable_mode', False):
            fill_mim_folder(os.path.join(self.build_lib, MIM_FOLDER), link=False)


# An editable install (`pip install -e .`: the PEP 660 command editable_wheel, or the
# legacy develop) links rotation_pred/.mim/* to the checkout, which keeps them current.
if {'editable_wheel', 'develop'} & set(sys.argv[1:]):
    fill_mim_folder(os.path.join(HERE, MIM_FOLDER), link=True)

setup(
    name='rotation_pred',
    version='0.1.0',
    description='RotNet (Gidaris et al., ICLR 2018) for MMPretrain',
    license='Apache-2.0',
    long_description=long_description(),
    long_description_content_type='text/markdown',
    packages=find_packages(where=HERE, include=['rotation_pred', 'rotation_pred.*']),
    python_requires='>=3.10',
    install_requires=CORE,
    extras_require=EXTRAS,
    cmdclass={'build_py': BuildPyWithMim},
)
