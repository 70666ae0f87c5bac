from .idx_datasets import CIFAR10Batches, FashionMNISTIdx, read_idx
from .transforms import CheckImage

__all__ = ['CIFAR10Batches', 'CheckImage', 'FashionMNISTIdx', 'read_idx']
