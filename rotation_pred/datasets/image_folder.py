"""Every image file under a folder, without labels: RotNet pretraining on your own images.

A folder of JPEGs from a microscope, a satellite or a factory line needs no meta file:
``ImageFolderUnlabeled`` lists the image files under ``data_root`` (any depth), sorted,
and holds out a stable share of them for validation, chosen by a hash of each file's
relative path (adding files never moves the others between the splits).

Bad files: by default the first image that the loading transforms (``LoadImageFromFile``,
``CheckImage``) refuse stops the run with a ``BadImageError`` (a ``ValueError``) naming
the file. With ``skip_bad_images=True`` the sample of a bad file is the next good file
in the list instead; the list and its indices never change, so the sampler's order (and
a resumed run) stays exactly the same.
"""
import hashlib
import logging
import os
import os.path as osp
import re
from typing import List, Optional, Tuple

from mmcv.transforms import LoadImageFromFile
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS
from torch.utils.data import get_worker_info

from .transforms import CheckImage

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
SPLITS = ('all', 'train', 'val')
# The transforms whose failure means the file is at fault (not the pipeline).
FILE_TRANSFORMS = (LoadImageFromFile, CheckImage)
EXAMPLES = 3  # skipped files named in the log
_LISTED_FOLDERS = set()  # folders whose listing this process has logged


class BadImageError(ValueError):
    """An image file that the loading transforms cannot use.

    Attributes:
        path (str): the file.
        reason (str): why, in one line.
    """

    def __init__(self, path: str, reason: str):
        super().__init__(f'bad image {path}: {reason} (skip_bad_images=True on the '
                         'dataset skips such files)')
        self.path = path
        self.reason = reason


def is_image_file(name: str) -> bool:
    """Whether the file name ``name`` (str, no folder) is an image by its extension, in
    any letter case; hidden files (``.DS_Store``, ``._photo.jpg``) are not."""
    return not name.startswith('.') and name.lower().endswith(IMAGE_EXTENSIONS)


def list_folder(root: str) -> Tuple[List[str], List[str]]:
    """The files under the folder ``root``, at any depth.

    Hidden folders (``.git``, ``.ipynb_checkpoints``) are not entered; a folder reached
    twice through symbolic links is listed once.

    Returns:
        (images, others): two sorted lists of relative POSIX paths (str), the image
        files (``is_image_file``) and every other file.
    """
    images, others = [], []
    seen = set()
    for folder, subfolders, names in os.walk(root, followlinks=True):
        real = osp.realpath(folder)
        if real in seen:
            subfolders[:] = []
            continue
        seen.add(real)
        subfolders[:] = [d for d in subfolders if not d.startswith('.')]
        relative = osp.relpath(folder, root)
        for name in names:
            path = name if relative == '.' else osp.join(relative, name)
            path = path.replace(os.sep, '/')
            (images if is_image_file(name) else others).append(path)
    return sorted(images), sorted(others)


def held_out_score(relative_path: str) -> float:
    """A stable number in [0, 1) for a relative path (str): the first 8 bytes of its
    SHA-1, so it is the same on every machine and in every Python process."""
    digest = hashlib.sha1(relative_path.encode('utf-8')).digest()
    return int.from_bytes(digest[:8], 'big') / 2.0**64


def split_files(files: List[str], split: str, val_fraction: float) -> List[str]:
    """The files (relative paths, order kept) of ``split``.

    'val' holds the files whose ``held_out_score`` is below ``val_fraction``, and at
    least one (the lowest score) when ``val_fraction > 0``; 'train' holds the others;
    'all' every file.
    """
    if split == 'all':
        return list(files)
    held = {f for f in files if held_out_score(f) < val_fraction}
    if not held and val_fraction > 0 and files:
        held = {min(files, key=held_out_score)}
    return [f for f in files if (f in held) == (split == 'val')]


def _one_line(error: Exception) -> str:
    """``error`` as one line of text (OpenCV messages span several)."""
    return re.sub(r'\s+', ' ', f'{type(error).__name__}: {error}').strip()


def _file_problem(path: str) -> Optional[str]:
    """What is wrong with the file ``path`` itself (gone, unreadable, 0 bytes), or None
    when it has bytes to decode."""
    try:
        size = osp.getsize(path)
    except OSError as e:
        return f'cannot read the file ({e.strerror})'
    return 'empty file (0 bytes)' if size == 0 else None


def _describe_others(count: int, examples: List[str]) -> str:
    """Log text for ``count`` skipped non-image files, naming ``examples``."""
    if count == 0:
        return 'no other files'
    named = ', '.join(examples[:EXAMPLES]) + (', ...' if count > EXAMPLES else '')
    return (f'skipped {count} file(s) that are not images by extension '
            f'({"/".join(e[1:] for e in IMAGE_EXTENSIONS)}, any case): {named}')


@DATASETS.register_module()
class ImageFolderUnlabeled(BaseDataset):
    """The image files under ``data_root`` (any depth), sorted by relative path, as
    samples ``dict(img_path=...)`` without labels.

    Files are images by extension (``IMAGE_EXTENSIONS``, any letter case); other files
    are skipped and counted, and the count is logged once per folder with a few
    examples. Hidden files and folders are left out.

    Args:
        data_root: the folder of images.
        split: 'all' (every image), 'train' (all but the held-out share) or 'val' (the
            held-out share). For validation on another folder, point the validation
            data set's ``data_root`` there with ``split='all'``.
        val_fraction: the held-out share, in [0, 1): the files whose stable hash of
            the relative path falls below it (``held_out_score``), at least one.
        skip_bad_images: False: a file that ``LoadImageFromFile`` or ``CheckImage``
            refuses (empty, corrupt, too small) raises ``BadImageError`` naming it.
            True: it is logged once (per process or data-loader worker) and counted in
            ``bad_images``, and its index serves the next good file (index + 1, + 2, ...
            modulo the length): the indices of the good files never change.
        **kwargs: ``pipeline``, ``indices``, ``test_mode``, ... of ``BaseDataset``.
    """

    def __init__(self, data_root: str, split: str = 'all', val_fraction: float = 0.01,
                 skip_bad_images: bool = False, **kwargs):
        if split not in SPLITS:
            raise ValueError(f'ImageFolderUnlabeled: unknown split={split!r}, expected '
                             f'one of {list(SPLITS)}')
        if not 0 <= val_fraction < 1:
            raise ValueError(f'ImageFolderUnlabeled: val_fraction={val_fraction} is not '
                             'in [0, 1)')
        if split == 'val' and val_fraction == 0:
            raise ValueError("ImageFolderUnlabeled: split='val' needs val_fraction > 0")
        self.split = split
        self.val_fraction = val_fraction
        self.skip_bad_images = skip_bad_images
        self.skipped_files: List[str] = []  # non-image files under data_root
        self.bad_images = {}  # path -> reason: bad files this process skipped
        self._bad_indices = set()
        super().__init__(ann_file='', data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        """The samples ``dict(img_path=str)`` of ``split``, sorted by relative path."""
        root = self.data_root
        if not root or not osp.isdir(root):
            raise FileNotFoundError(
                f'ImageFolderUnlabeled: data_root {root!r} is not a folder (set '
                'train_dataloader.dataset.data_root and val_dataloader.dataset.data_root '
                'to your image folder)')
        images, others = list_folder(root)
        self.skipped_files = others
        if not images:
            raise ValueError(f'ImageFolderUnlabeled: no image file under {root!r} '
                             f'({_describe_others(len(others), others)})')
        self._log_listing(root, images, others)
        chosen = split_files(images, self.split, self.val_fraction)
        if not chosen:
            raise ValueError(f'ImageFolderUnlabeled: split={self.split!r} of {root!r} is '
                             f'empty ({len(images)} image(s), val_fraction='
                             f'{self.val_fraction}): add images or lower val_fraction')
        if self.split != 'all':
            print_log(f'ImageFolderUnlabeled: split={self.split!r}: {len(chosen)} of '
                      f'{len(images)} images under {root} (val_fraction='
                      f'{self.val_fraction}, by a hash of the relative path)',
                      logger='current')
        return [dict(img_path=osp.join(root, *f.split('/'))) for f in chosen]

    @staticmethod
    def _log_listing(root: str, images: List[str], others: List[str]) -> None:
        """Log the folder's image count and its skipped files, once per process."""
        key = osp.realpath(root)
        if key in _LISTED_FOLDERS:
            return
        _LISTED_FOLDERS.add(key)
        print_log(f'ImageFolderUnlabeled: {len(images)} images under {root}; '
                  f'{_describe_others(len(others), others)}', logger='current')

    def prepare_data(self, idx: int) -> Optional[dict]:
        """The sample ``idx`` through the pipeline; raises ``BadImageError`` when a
        loading transform refuses the file (other errors pass unchanged)."""
        results = self.get_data_info(idx)
        path = results['img_path']
        for transform in self.pipeline.transforms:
            try:
                results = transform(results)
            except Exception as error:
                if not isinstance(transform, FILE_TRANSFORMS):
                    raise
                problem = _file_problem(path)
                if problem is not None:  # says it all: no decoder traceback
                    raise BadImageError(path, problem) from None
                reason = f'{type(transform).__name__} failed: {_one_line(error)}'
                raise BadImageError(path, reason) from error
            if results is None:
                return None
        return results

    def __getitem__(self, idx: int) -> dict:
        """The sample ``idx``; with ``skip_bad_images`` the first good one of the
        indices idx, idx + 1, ... (modulo the length)."""
        if not self.skip_bad_images:
            return super().__getitem__(idx)
        if not self._fully_initialized:
            self.full_init()
        size = len(self)
        tries = min(size, self.max_refetch + 1)
        for step in range(tries):
            index = (idx + step) % size
            if index in self._bad_indices:
                continue
            try:
                data = self.prepare_data(index)
            except BadImageError as error:
                self._note_bad(index, error)
                continue
            if data is not None:
                return data
        raise ValueError(f'ImageFolderUnlabeled: no usable image among the {tries} '
                         f'indices from {idx} on under {self.data_root!r} '
                         f'(skip_bad_images=True); bad so far: {self._last_bad()}')

    def _note_bad(self, index: int, error: BadImageError) -> None:
        """Remember the bad file at ``index`` and log it (the first time only)."""
        self._bad_indices.add(index)
        if error.path in self.bad_images:
            return
        self.bad_images[error.path] = error.reason
        where = ' in this data-loader worker' if get_worker_info() is not None else ''
        print_log(f'ImageFolderUnlabeled: skipped bad image {error.path}: {error.reason} '
                  f'({len(self.bad_images)} bad image(s) skipped so far{where}; its index '
                  f'{index} serves the next good image)', logger='current',
                  level=logging.WARNING)

    def _last_bad(self) -> str:
        """The last bad file and its reason, for an error message."""
        if not self.bad_images:
            return 'none (the pipeline returned no sample)'
        path = next(reversed(self.bad_images))
        return f'{len(self.bad_images)}, the last {path}: {self.bad_images[path]}'
