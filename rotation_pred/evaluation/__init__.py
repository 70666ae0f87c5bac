from .rotation_metric import RotationAccuracy

__all__ = ['RotationAccuracy']
