from .backbones.nin import NetworkInNetwork
from .backbones.resnet_with_stem import ResNetWithStem
from .heads import RotationHead
from .multi_level_head import MultiLevelLinearHead
from .necks import MultiLevelAvgPool
from .rotation_pred import RotationPred

__all__ = ['MultiLevelAvgPool', 'MultiLevelLinearHead', 'NetworkInNetwork', 'ResNetWithStem',
           'RotationHead', 'RotationPred']
