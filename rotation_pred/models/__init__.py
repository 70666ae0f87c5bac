from .backbones.nin import NetworkInNetwork
from .backbones.resnet_with_stem import ResNetWithStem
from .frozen_heads import ConvClsHead, NonLinearClsHead  # noqa: F401
from .heads import RotationHead
from .multi_level_head import MultiLevelLinearHead
from .necks import MultiLevelAvgPool
from .rotation_pred import RotationPred
from .s4l_rotation import S4LRotation

__all__ = ['MultiLevelAvgPool', 'MultiLevelLinearHead', 'NetworkInNetwork', 'ResNetWithStem',
           'RotationHead', 'RotationPred', 'S4LRotation']
