"""Subsets of a labelled data set by image index: a class-balanced fraction
(semi-supervised protocols), or the indices a caller lists."""
from typing import Sequence

import numpy as np
from mmpretrain.registry import DATASETS
from torch.utils.data import Dataset

from .class_balanced import class_balanced_subset


class IndexSubset(Dataset):
    """The images ``indices`` of ``dataset`` (a config or a built MMPretrain data set),
    in that order; ``dataset`` and ``indices`` stay attributes (``LabelledUnlabelled``
    with ``unlabelled='rest'`` takes the images of ``dataset`` left out)."""

    def __init__(self, dataset, indices: Sequence[int] = ()):
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> dict:
        return self.dataset[int(self.indices[index])]


@DATASETS.register_module()
class ClassBalancedSubset(IndexSubset):
    """``fraction`` of ``dataset``, the same number of images per class, drawn with
    ``seed``. ``dataset`` is a config or a built MMPretrain data set."""

    def __init__(self, dataset, fraction: float, seed: int = 0):
        if not 0 < fraction <= 1:
            raise ValueError(f'ClassBalancedSubset: fraction={fraction} is not in (0, 1]')
        super().__init__(dataset)
        self.indices = class_balanced_subset(self.dataset.get_gt_labels(), fraction, seed)
