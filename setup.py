"""rotation_pred: RotNet (rotation prediction) for the OpenMMLab pretraining stack."""
from setuptools import find_packages, setup

# Versions that work together on Python 3.11 with torch 2.14.1 (see rotation_pred/compat.py).
STACK = [
    'torch==2.14.1',
    'torchvision==0.29.1',
    'mmengine==0.10.7',
    'mmcv-lite==2.1.0',  # or full mmcv 2.1.0 with compiled ops (README, "Install")
    'mmpretrain==1.2.0',
    'mmdet==3.3.0',
    'mmsegmentation==1.2.2',
    'setuptools<82',  # mmengine 0.10.7 imports pkg_resources (removed in setuptools 82)
    'ftfy',  # imported by mmsegmentation, not declared by it
    'regex',  # imported by mmsegmentation, not declared by it
    'pycocotools>=2.0.9',  # first release built for numpy 2
    'scikit-learn>=1.3',
    'matplotlib>=3.7',
    'numpy>=1.24',
    'opencv-python-headless>=4.8',
]

setup(
    name='rotation_pred',
    version='0.1.0',
    description='RotNet (Gidaris et al., ICLR 2018) for MMPretrain',
    long_description=open('README.md').read() if __import__('os').path.exists('README.md')
    else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['rotation_pred', 'rotation_pred.*']),
    python_requires='>=3.10',
    install_requires=STACK,
    extras_require={'tests': ['pytest>=7', 'scipy>=1.10']},
)
