"""A class-balanced fraction of a labelled data set (semi-supervised protocols)."""
from mmpretrain.registry import DATASETS
from torch.utils.data import Dataset

from .class_balanced import class_balanced_subset


@DATASETS.register_module()
class ClassBalancedSubset(Dataset):
    """``fraction`` of ``dataset``, the same number of images per class, drawn with
    ``seed``. ``dataset`` is a config or a built MMPretrain data set."""

    def __init__(self, dataset, fraction: float, seed: int = 0):
        if not 0 < fraction <= 1:
            raise ValueError(f'ClassBalancedSubset: fraction={fraction} is not in (0, 1]')
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.indices = class_balanced_subset(self.dataset.get_gt_labels(), fraction, seed)

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> dict:
        return self.dataset[int(self.indices[index])]
