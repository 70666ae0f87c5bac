from .backbones.nin import NetworkInNetwork
from .heads import RotationHead
from .rotation_pred import RotationPred

__all__ = ['NetworkInNetwork', 'RotationHead', 'RotationPred']
