from .idx_datasets import CIFAR10Batches, FashionMNISTIdx, read_idx
from .subset import ClassBalancedSubset
from .transforms import CheckImage

__all__ = ['CIFAR10Batches', 'CheckImage', 'ClassBalancedSubset', 'FashionMNISTIdx', 'read_idx']
