"""Small image-classification data sets in their original on-disk formats.

MMPretrain's own MNIST/CIFAR classes check upstream md5 sums (Debian re-compresses the
Fashion-MNIST files) and pick the test files from ``test_mode``, not ``split``; these
read the files as they are and choose the split from ``split``.
"""
import gzip
import os.path as osp
import pickle
from typing import List

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.datasets.categories import (  # (sic: upstream spelling)
    CIFAR10_CATEGORIES, FASHIONMNIST_CATEGORITES)
from mmpretrain.registry import DATASETS

_IDX_MAGIC = {2049: 1, 2051: 3}  # labels: 1 dimension, images: 3 dimensions


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (``.gz`` or plain) of unsigned bytes into an array."""
    opener = gzip.open if path.endswith('.gz') else open
    try:
        with opener(path, 'rb') as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f'cannot read IDX file {path}: {e}') from e
    magic = int.from_bytes(data[0:4], 'big')
    if magic not in _IDX_MAGIC:
        raise ValueError(f'{path} is not an IDX file of unsigned bytes (magic {magic})')
    ndim = _IDX_MAGIC[magic]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f'{path} is truncated: header says {shape}, '
                         f'found {body.size} bytes of data')
    return body.reshape(shape)


def _find(data_root: str, name: str, hint: str) -> str:
    if not osp.isdir(data_root):
        raise FileNotFoundError(f'data_root {data_root!r} does not exist. {hint}')
    for candidate in (name, name + '.gz'):
        if osp.isfile(osp.join(data_root, candidate)):
            return osp.join(data_root, candidate)
    raise FileNotFoundError(f'{name}[.gz] not found in data_root {data_root!r}. {hint}')


class _SplitDataset(BaseDataset):
    """A data set whose files per split are listed in ``FILES``; ``HINT`` says where
    to get them."""
    FILES: dict = {}
    HINT = ''

    def __init__(self, data_root: str, split: str = 'train', **kwargs):
        if split not in self.FILES:
            raise ValueError(f'unknown split={split!r} for {type(self).__name__}: '
                             f'expected one of {list(self.FILES)}')
        self.split = split
        super().__init__(ann_file='', data_root=data_root, **kwargs)


@DATASETS.register_module()
class FashionMNISTIdx(_SplitDataset):
    """Fashion-MNIST from its four IDX files (``.gz`` or extracted) in ``data_root``.

    Each sample is a 28x28 uint8 grayscale image and its class. ``split`` is
    ``'train'`` (60,000 images) or ``'test'`` (10,000 images).
    """
    METAINFO = {'classes': FASHIONMNIST_CATEGORITES}
    FILES = {'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
             'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}
    HINT = ('On Debian: apt-get install dataset-fashion-mnist '
            '(files in /usr/share/datasets/fashion-mnist).')

    def load_data_list(self) -> List[dict]:
        img_file, label_file = (_find(self.data_root, f, self.HINT)
                                for f in self.FILES[self.split])
        images, labels = read_idx(img_file), read_idx(label_file)
        if images.ndim != 3 or len(images) != len(labels):
            raise ValueError(f'{img_file} and {label_file} do not match: '
                             f'{images.shape} images, {labels.shape} labels')
        return [dict(img=img, gt_label=int(label)) for img, label in zip(images, labels)]


@DATASETS.register_module()
class CIFAR10Batches(_SplitDataset):
    """CIFAR-10 from the python batches (``data_batch_1..5``, ``test_batch``).

    ``data_root`` is the folder that holds the batches or the
    ``cifar-10-batches-py`` folder. Images are 32x32 RGB uint8 (H, W, 3).
    """
    METAINFO = {'classes': CIFAR10_CATEGORIES}
    FILES = {'train': [f'data_batch_{i}' for i in range(1, 6)], 'test': ['test_batch']}
    HINT = ('Unpack cifar-10-python.tar.gz from '
            'https://www.cs.toronto.edu/~kriz/cifar.html into it.')

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        nested = osp.join(root, 'cifar-10-batches-py')
        if osp.isdir(nested):
            root = nested
        data_list = []
        for name in self.FILES[self.split]:
            path = _find(root, name, self.HINT)
            try:
                with open(path, 'rb') as f:
                    batch = _load_cifar_batch(f)
                images = np.asarray(batch[b'data'], dtype=np.uint8).reshape(-1, 3, 32, 32)
                labels = batch[b'labels']
            except Exception as e:
                raise ValueError(f'{path} is not a CIFAR-10 python batch: {e}') from e
            data_list += [dict(img=img.transpose(1, 2, 0), gt_label=int(label))
                          for img, label in zip(images, labels)]
        return data_list


class _BatchUnpickler(pickle.Unpickler):
    """A CIFAR batch is a dict of bytes, lists and numpy arrays; refuse anything else."""
    ALLOWED = {('numpy', 'ndarray'), ('numpy', 'dtype'),
               ('numpy.core.multiarray', '_reconstruct'),
               ('numpy._core.multiarray', '_reconstruct')}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f'refusing to load {module}.{name}')


def _load_cifar_batch(f) -> dict:
    return _BatchUnpickler(f, encoding='bytes').load()
