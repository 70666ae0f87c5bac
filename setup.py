"""rotation_pred: RotNet (rotation prediction) for the OpenMMLab pretraining stack.

Tested together: Python 3.11, torch 2.14.1, torchvision 0.29.1 (README, "Install").
"""
import os

from setuptools import find_packages, setup

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
# Everything the test suite (tests/) needs: it runs the code of every extra (detection,
# segmentation, benchmarks, the timm export, the TensorBoard logs).
EXTRAS['tests'] = ['pytest>=7', 'scipy>=1.10'] + EXTRAS['all']


def long_description() -> str:
    path = os.path.join(HERE, 'README.md')
    if not os.path.exists(path):
        return ''
    with open(path, encoding='utf-8') as f:
        return f.read()


setup(
    name='rotation_pred',
    version='0.1.0',
    description='RotNet (Gidaris et al., ICLR 2018) for MMPretrain',
    long_description=long_description(),
    long_description_content_type='text/markdown',
    packages=find_packages(where=HERE, include=['rotation_pred', 'rotation_pred.*']),
    python_requires='>=3.10',
    install_requires=CORE,
    extras_require=EXTRAS,
)
