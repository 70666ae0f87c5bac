from .knn import knn_accuracy, knn_scores
from .low_shot import low_shot_svm_map, sample_low_shot
from .multi_level import RESNET50_LEVELS, per_level_accuracy, pooled_dim
from .multi_level_metric import MultiLevelAccuracy
from .rotation_metric import RotationAccuracy
from .subsets import class_balanced_subset
from .svm import average_precision, l2_normalize, one_vs_rest_targets, svm_map
from .voc import VOC_CLASSES, VOC07Classification, read_voc07

__all__ = ['MultiLevelAccuracy', 'RESNET50_LEVELS', 'RotationAccuracy', 'VOC07Classification',
           'VOC_CLASSES', 'average_precision', 'class_balanced_subset', 'knn_accuracy',
           'knn_scores', 'l2_normalize', 'low_shot_svm_map', 'one_vs_rest_targets',
           'per_level_accuracy', 'pooled_dim', 'read_voc07', 'sample_low_shot', 'svm_map']
