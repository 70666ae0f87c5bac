"""What training and testing need from the evaluation side: the registered metrics and
the VOC07 data set. Importing the package (every training process does, through
``custom_imports``) loads no scikit-learn; the SVM protocols (``svm``, ``low_shot``)
and the other benchmark maths are imported from their modules by the tools."""
from .multi_level_metric import MultiLevelAccuracy
from .rotation_metric import RotationAccuracy
from .voc import VOC_CLASSES, VOC07Classification, read_voc07

__all__ = ['MultiLevelAccuracy', 'RotationAccuracy', 'VOC07Classification', 'VOC_CLASSES',
           'read_voc07']
