"""RotNet (rotation prediction) for MMPretrain. Importing it registers everything."""
from . import compat

compat.apply()

from .datasets import *  # noqa: E402,F401,F403
from .evaluation import *  # noqa: E402,F401,F403
from .engine import (AtomicCheckpointHook, PreemptionHook,  # noqa: E402,F401
                     ResumableEpochBasedTrainLoop)
from .hooks import OnlineKNNHook  # noqa: E402,F401
from .mixed_precision import MixedPrecisionOptimWrapper  # noqa: E402,F401
from .models import *  # noqa: E402,F401,F403
from .rotations import (FOUR_ROTATIONS, PAPER_ROTATION_SETS,  # noqa: E402,F401
                        rotate_batch)

__version__ = '0.1.0'
