"""Training hooks, registered in MMPretrain's ``HOOKS`` on ``import rotation_pred``."""
from .online_knn import OnlineKNNHook

__all__ = ['OnlineKNNHook']
