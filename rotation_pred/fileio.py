"""Files of the project: the repository root, files replaced whole or not at all,
file hashes, and the scalar logs of training runs. Standard library only.

Atomic writes: a file is written under a temporary name in its own folder
(:func:`temporary_path`: ``.<name>.<pid>.tmp``, a hidden name that no pattern such as
``epoch_*.pth`` or ``*.jsonl`` matches), flushed to the disk, renamed over its final
name with ``os.replace`` (atomic on a POSIX file system) and the folder entry is flushed
too (:func:`publish`). A reader, or a run killed at any moment, sees the old file or the
new one, never a part of one; :func:`is_temporary` recognises what a killed write left.
"""
import glob
import hashlib
import json
import os
import os.path as osp
from typing import Callable, Dict, List

#: The root of the repository this package sits in (the folder above ``rotation_pred``).
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

TEMPORARY_SUFFIX = '.tmp'
_CHUNK = 1 << 20
_SHA256: Dict[tuple, str] = {}


def temporary_path(path: str) -> str:
    """Where ``path`` is written before it is renamed: a hidden file of the same folder
    (a rename is only atomic within one file system), unique to this process."""
    folder, name = osp.split(path)
    return osp.join(folder, f'.{name}.{os.getpid()}{TEMPORARY_SUFFIX}')


def is_temporary(name: str) -> bool:
    """Whether the file name ``name`` is one that :func:`temporary_path` gives
    (``.<name>.<pid>.tmp``)."""
    if not (name.startswith('.') and name.endswith(TEMPORARY_SUFFIX)):
        return False
    stem = name[1:-len(TEMPORARY_SUFFIX)]
    return '.' in stem and stem.rsplit('.', 1)[1].isdigit()


def _fsync(path: str) -> None:
    """Flush a file or a folder (its list of names) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(temporary: str, path: str) -> None:
    """Make the complete file ``temporary`` appear as ``path`` in one step: its data on
    the disk first, then the rename, then the folder entry on the disk."""
    _fsync(temporary)
    os.replace(temporary, path)
    _fsync(osp.dirname(path) or '.')


def write_atomically(path: str, write: Callable, binary: bool = True) -> None:
    """Call ``write(file)`` on an open temporary file beside ``path`` (binary, or text
    with ``binary=False``), then :func:`publish` it as ``path``. The folder is created
    if missing; the temporary file is removed if ``write`` or the rename fails."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    temporary = temporary_path(path)
    try:
        with open(temporary, 'wb' if binary else 'w') as f:
            write(f)
        publish(temporary, path)
    except BaseException:
        if osp.exists(temporary):
            os.remove(temporary)
        raise


def file_sha256(path: str) -> str:
    """The sha256 (hex) of the bytes of file ``path``, read in 1 MiB chunks; remembered
    per (path, size, mtime) for the process, so that a checkpoint named by many result
    rows and cache keys is read once."""
    stat = os.stat(path)
    key = (osp.abspath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA256:
        digest = hashlib.sha256()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(_CHUNK), b''):
                digest.update(chunk)
        _SHA256[key] = digest.hexdigest()
    return _SHA256[key]


def scalar_files(work_dir: str) -> List[str]:
    """The scalar logs MMEngine wrote in ``work_dir``, one per run (a resumed run adds
    one): ``work_dir/<timestamp>/vis_data/scalars.json``, oldest first. Raises
    FileNotFoundError naming ``work_dir`` when there is none."""
    paths = sorted(glob.glob(osp.join(glob.escape(work_dir), '*', 'vis_data',
                                      'scalars.json')))
    if not paths:
        raise FileNotFoundError(f'no <timestamp>/vis_data/scalars.json under {work_dir!r}: '
                                'is it the --work-dir of a training run?')
    return paths


def _scalar_rows(path: str) -> List[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_scalars(path: str, last_run: bool = False, all_runs: bool = False) -> List[dict]:
    """The rows (one dict per logged step) of a training run's ``scalars.json``.

    ``path`` is the file itself or a work dir. A work dir must hold exactly one run
    (ValueError naming the folder and its runs otherwise), unless ``last_run`` (the
    newest run's rows) or ``all_runs`` (every run's rows, oldest run first, as a run
    and its resumptions logged them) is set. See :func:`scalar_files`."""
    if last_run and all_runs:
        raise ValueError('read_scalars: last_run and all_runs exclude each other')
    if osp.isfile(path):
        return _scalar_rows(path)
    paths = scalar_files(path)
    if all_runs:
        return [row for run in paths for row in _scalar_rows(run)]
    if len(paths) > 1 and not last_run:
        runs = ', '.join(osp.relpath(p, path) for p in paths)
        raise ValueError(f'{len(paths)} runs under {path!r} ({runs}): one was expected '
                         '(read the newest with last_run=True, or all with all_runs=True)')
    return _scalar_rows(paths[-1])
