import hashlib
import importlib.util
import os
import shlex
import stat
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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


def load_tool(path: str, name: str):
    """The repository tool ``path`` (relative to the repository) as a module ``name``."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def fashion_mnist_root():
    if not os.path.isdir(FASHION_MNIST):
        raise RuntimeError(f'{FASHION_MNIST} is missing: the test command installs the '
                           'Debian package dataset-fashion-mnist (tools/install.sh)')
    return FASHION_MNIST
