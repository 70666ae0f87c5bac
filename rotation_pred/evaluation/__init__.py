"""What training and testing need from the evaluation side, through the registries: the
metrics (``RotationAccuracy``, ``MultiLevelAccuracy``) and the VOC07 data set. Importing
the package (every training process does, through ``custom_imports``) loads no
scikit-learn and nothing of :mod:`rotation_pred.benchmarks`, the benchmark-only layer
that the tools import module by module."""
from .multi_level_metric import MultiLevelAccuracy
from .rotation_metric import RotationAccuracy
from .voc import VOC_CLASSES, VOC07Classification, read_voc07

__all__ = ['MultiLevelAccuracy', 'RotationAccuracy', 'VOC07Classification', 'VOC_CLASSES',
           'read_voc07']
