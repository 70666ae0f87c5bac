import hashlib
import os
import shlex
import stat
import subprocess
import sys

import pytest

from rotation_pred.fileio import REPO_ROOT, read_scalars

REPO = REPO_ROOT
FASHION_MNIST = '/usr/share/datasets/fashion-mnist'
FMNIST_CONFIG = os.path.join(REPO, 'configs',
                             'rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py')


def run_tool(*args, env=None, timeout=900, check=True):
    """Run a repository tool with this interpreter; return the finished process."""
    full_env = dict(os.environ, PYTHON=sys.executable, PYTHONUNBUFFERED='1',
                    OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))
    full_env.update(env or {})
    cmd = list(args)
    if cmd[0].endswith('.py'):
        cmd = [sys.executable] + cmd
    proc = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}')
    return proc


def train_tool(config, work_dir, *flags, options=(), **kwargs):
    """``tools/train.py CONFIG --work-dir WORK_DIR FLAGS... --cfg-options OPTIONS...``
    (no ``--cfg-options`` without ``options``) through :func:`run_tool`, which gets
    ``kwargs`` (env, timeout, check)."""
    cmd = ['tools/train.py', str(config), '--work-dir', str(work_dir), *flags]
    if options:
        cmd += ['--cfg-options', *options]
    return run_tool(*cmd, **kwargs)


def logged(work_dir, key, **options):
    """The values of ``key`` in the rows of the work dir's ``scalars.json``, in order;
    ``options`` as for :func:`rotation_pred.fileio.read_scalars` (one run by default)."""
    return [row[key] for row in read_scalars(str(work_dir), **options) if key in row]


#: The exit status of a run stopped by the hook of :func:`interrupting_config`.
INTERRUPTED = 17
INTERRUPT_HOOK = """
import os
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class InterruptAfterEpoch(Hook):
    priority = 'LOWEST'  # after the checkpoint of the epoch is written

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:  # runner.epoch counts finished epochs after this hook
            os._exit(%d)  # as abrupt as a pre-empted job
""" % INTERRUPTED


def interrupting_config(folder, epoch: int, base: str = FMNIST_CONFIG) -> str:
    """Write ``folder/interrupted.py``, the config ``base`` plus a hook that ends the
    process at once with status :data:`INTERRUPTED` after epoch ``epoch`` and its
    checkpoint; return its path. The hook's module is written to ``folder``, which the
    run needs on its ``PYTHONPATH`` (``env={'PYTHONPATH': str(folder)}``)."""
    with open(os.path.join(folder, 'interrupt_hook.py'), 'w') as f:
        f.write(INTERRUPT_HOOK)
    config = os.path.join(folder, 'interrupted.py')
    with open(config, 'w') as f:
        f.write(f'_base_ = {base!r}\n'
                "custom_imports = dict(imports=['rotation_pred', 'interrupt_hook'])\n"
                f'custom_hooks = [dict(type="InterruptAfterEpoch", epoch={epoch})]\n')
    return config


def tiny_rotnet(width=12, rotations=(0, 90, 180, 270), feeding='all', num_classes=None,
                channels_last=False, in_channels=1, out_indices=None, seed=0):
    """A RotationPred with a 3-block NIN of ``width`` channels on ``in_channels``-channel
    images (Fashion-MNIST pixel statistics), built and initialised after
    ``torch.manual_seed(seed)``; ``out_indices`` None keeps the backbone's default."""
    import torch
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    torch.manual_seed(seed)
    backbone = dict(type='NetworkInNetwork', num_blocks=3, width=width,
                    in_channels=in_channels)
    if out_indices is not None:
        backbone['out_indices'] = out_indices
    model = MODELS.build(dict(
        type='RotationPred', rotations=rotations, feeding=feeding,
        channels_last=channels_last,
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[72.94] * in_channels,
                               std=[90.02] * in_channels),
        backbone=backbone,
        head=dict(type='RotationHead', in_channels=width,
                  num_classes=num_classes or len(rotations))))
    model.init_weights()
    return model


def stamp_installed(venv: str) -> None:
    """Write the install stamp tools/install.sh leaves in ``venv`` (the sha256 of setup.py
    and tools/install.sh, one after the other), so that it installs nothing there."""
    digest = hashlib.sha256()
    for name in ('setup.py', os.path.join('tools', 'install.sh')):
        with open(os.path.join(REPO, name), 'rb') as f:
            digest.update(f.read())
    with open(os.path.join(venv, '.rotation_pred-setup'), 'w') as f:
        f.write(digest.hexdigest() + '\n')


def fake_venv(folder: str, script: str) -> str:
    """A VENV for tools/run_main.sh whose ``bin/python`` is the bash ``script`` (it gets
    the arguments as ``"$@"``), stamped as installed so that tools/install.sh installs
    nothing. ``python_venv`` makes one that runs a real interpreter."""
    os.makedirs(os.path.join(folder, 'bin'))
    wrapper = os.path.join(folder, 'bin', 'python')
    with open(wrapper, 'w') as f:
        f.write(f'#!/usr/bin/env bash\n{script}\n')
    os.chmod(wrapper, os.stat(wrapper).st_mode | stat.S_IEXEC)
    stamp_installed(folder)
    return folder


def python_venv(folder: str, python: str = sys.executable) -> str:
    """A :func:`fake_venv` whose ``bin/python`` runs ``python``."""
    return fake_venv(folder, f'exec {shlex.quote(python)} "$@"')


@pytest.fixture(scope='session')
def fashion_mnist_root():
    if not os.path.isdir(FASHION_MNIST):
        raise RuntimeError(f'{FASHION_MNIST} is missing: the test command installs the '
                           'Debian package dataset-fashion-mnist (tools/install.sh)')
    return FASHION_MNIST
