"""Where a benchmark number comes from: the config, the checkpoint and its sha256, the
code (git commit), the installed versions, the device and the command line.

Result rows are committed, so no provenance names a directory of the machine that wrote
it: paths are relative to the repository, and a path outside it is kept as its base name
marked ``(outside the repository)``.
"""
import datetime
import os
import os.path as osp
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from typing import Dict, Optional, Sequence

from ..fileio import REPO_ROOT, file_sha256

#: The distributions whose versions :func:`provenance` records (those installed).
DISTRIBUTIONS = ('torch', 'torchvision', 'mmengine', 'mmcv', 'mmpretrain', 'rotation_pred',
                 'numpy', 'scikit-learn')
OUTSIDE = '(outside the repository)'


def repo_path(path: Optional[str], repo: str = REPO_ROOT) -> Optional[str]:
    """``path`` (absolute, or relative to the working directory) relative to ``repo``,
    with ``/`` separators; a path outside ``repo`` becomes ``'NAME (outside the
    repository)'``. None stays None."""
    if path is None:
        return None
    absolute = osp.abspath(path)  # symbolic links kept: .venv/bin/python stays inside
    for root in dict.fromkeys((osp.abspath(repo), osp.realpath(repo))):
        if absolute == root or absolute.startswith(root + os.sep):
            return osp.relpath(absolute, root).replace(os.sep, '/')
    return f'{osp.basename(absolute)} {OUTSIDE}'


def _command_word(word: str, repo: str) -> str:
    """One word of a command line without machine paths: an absolute path (alone or
    after ``=``, as in ``--cfg-options a=/x/y``) relative to ``repo``, or its base name
    when outside it."""
    name, eq, value = word.rpartition('=') if '=' in word else ('', '', word)
    if not osp.isabs(value):
        return word
    relative = repo_path(value, repo)
    if relative.endswith(OUTSIDE):
        relative = osp.basename(value)
    return name + eq + relative


def command_line(argv: Optional[Sequence[str]] = None, repo: str = REPO_ROOT) -> str:
    """The command that ran, ``shlex``-quoted: ``[sys.executable] + sys.argv`` by default,
    each absolute path made relative to ``repo`` (or cut to its base name)."""
    words = [sys.executable] + list(sys.argv) if argv is None else list(argv)
    return shlex.join(_command_word(w, repo) for w in words)


def git_commit(repo: str = REPO_ROOT) -> Optional[str]:
    """``git rev-parse HEAD`` of ``repo``, plus ``-dirty`` when ``git status --porcelain``
    lists anything; None when ``repo`` is no git checkout (or git is missing)."""
    try:
        head = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=repo, capture_output=True,
                              text=True, timeout=60)
        if head.returncode != 0:
            return None
        status = subprocess.run(['git', 'status', '--porcelain'], cwd=repo,
                                capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    dirty = status.returncode != 0 or bool(status.stdout.strip())
    return head.stdout.strip() + ('-dirty' if dirty else '')


def versions() -> Dict[str, str]:
    """``{name: version}`` of Python and of the installed :data:`DISTRIBUTIONS`, read from
    the installed metadata (nothing is imported; MMCV may be installed as mmcv-lite)."""
    found = {'python': platform.python_version()}
    for name in DISTRIBUTIONS:
        for candidate in (name, 'mmcv-lite') if name == 'mmcv' else (name, ):
            try:
                found[name] = metadata.version(candidate)
                break
            except metadata.PackageNotFoundError:
                continue
    return found


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo, else ``platform.processor()``."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def provenance(config: Optional[str], checkpoint: Optional[str],
               command: Optional[str] = None, device: str = 'cpu',
               repo: str = REPO_ROOT) -> Dict:
    """Where a result comes from: a dict with

    * ``config``, ``checkpoint``: paths relative to ``repo`` (see :func:`repo_path`);
      ``checkpoint_sha256``: the checkpoint file's sha256 (None without a checkpoint);
    * ``git_commit``: see :func:`git_commit`; ``versions``: see :func:`versions`;
    * ``device``: ``'cpu'`` or ``'cuda'`` (where the model ran: the benchmark tools
      run it on the CPU unless they say otherwise), ``device_name``: the CPU model or
      the GPU's name, ``threads``: ``torch.get_num_threads()``;
    * ``command``: the command line (default: :func:`command_line`), ``time``: now, UTC,
      ISO 8601.
    """
    import torch
    device = getattr(device, 'type', str(device)).split(':')[0]
    if device not in ('cpu', 'cuda'):
        raise ValueError(f'provenance: device must be cpu or cuda, not {device!r}')
    return dict(
        config=repo_path(config, repo),
        checkpoint=repo_path(checkpoint, repo),
        checkpoint_sha256=None if checkpoint is None else file_sha256(checkpoint),
        git_commit=git_commit(repo),
        versions=versions(),
        device=device,
        device_name=torch.cuda.get_device_name() if device == 'cuda' else cpu_name(),
        threads=torch.get_num_threads(),
        command=command_line(repo=repo) if command is None else command,
        time=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'))
