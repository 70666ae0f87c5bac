from .idx_datasets import CIFAR10Batches, FashionMNISTIdx, read_idx
from .image_folder import BadImageError, ImageFolderUnlabeled
from .labelled_unlabelled import LabelledUnlabelled, labelled_unlabelled_collate
from .subset import ClassBalancedSubset
from .transforms import CheckImage

__all__ = ['BadImageError', 'CIFAR10Batches', 'CheckImage', 'ClassBalancedSubset',
           'FashionMNISTIdx', 'ImageFolderUnlabeled', 'LabelledUnlabelled',
           'labelled_unlabelled_collate', 'read_idx']
