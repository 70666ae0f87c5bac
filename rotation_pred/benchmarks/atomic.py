"""Files replaced whole or not at all, for results and caches that a run killed half way
must not leave half written."""
import os
import os.path as osp


def write_atomically(path: str, write, binary: bool = True) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it over
    ``path`` (atomic on one file system): a reader, or a run killed half way, sees the old
    file or the new one, never a part. The temporary file is removed if ``write`` fails."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp-{os.getpid()}'
    try:
        with open(tmp, 'wb' if binary else 'w') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
