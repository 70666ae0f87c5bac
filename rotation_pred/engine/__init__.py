"""Preemption-safe training: atomic checkpoints, a signal hook that saves and exits with
status 75, and a training loop that resumes in the middle of an epoch exactly.
Importing it registers them in MMPretrain's ``HOOKS`` and ``LOOPS``."""
from .checkpointing import AtomicCheckpointHook
from .loops import ResumableEpochBasedTrainLoop
from .preemption import EXIT_PREEMPTED, PreemptionHook

__all__ = ['AtomicCheckpointHook', 'EXIT_PREEMPTED', 'PreemptionHook',
           'ResumableEpochBasedTrainLoop']
