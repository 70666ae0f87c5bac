"""Exact resume in the middle of an epoch.

MMEngine's ``EpochBasedTrainLoop`` resumed from a checkpoint written at iteration N
inside epoch e (``meta = dict(epoch=e, iter=N)``) trains epoch e again from its first
batch: the batches already seen are trained twice, the epoch ends N - e * len(loader)
iterations late and every iteration-based schedule is shifted.

:class:`ResumableEpochBasedTrainLoop` instead draws the first
``k = N - e * len(dataloader)`` batches of epoch e from a fresh iterator of the data
loader and drops them, then trains batch k onward. Drawing them through the data loader
(rather than cutting the sampler's index list) spends the sampler order (MMEngine's
``DefaultSampler`` shuffles with ``seed + epoch``, the epoch being set by
``DistSamplerSeedHook`` before the epoch) and every random draw of data loading exactly
as the uninterrupted run did. Skipping costs the loading of k batches, not their
training.

Random number generators: the loop keeps, in the message hub (saved in every
checkpoint), the Python, numpy, torch CPU and CUDA generator states at the start of the
current epoch and after the last trained iteration. On resume it restores the first
before it builds the data loader iterator (the workers' base seed is drawn from it),
skips the k batches, then restores the second: the next batch and the next training
step draw the same numbers as in the uninterrupted run (random rotations, dropout,
random transforms in the main process or in non-persistent workers). Persistent
workers (``persistent_workers=True`` with ``num_workers > 0``) keep generator states
that no checkpoint holds: with them, random transforms after a resume differ. With
several processes the checkpoint holds rank 0's states, which are every rank's with the
default shared seed (``randomness.diff_rank_seed=False``); with per-rank seeds they are
not restored.

So ``--resume`` from a checkpoint written mid-epoch by
:class:`~.preemption.PreemptionHook` ends with the weights of an uninterrupted run, bit
for bit on the CPU (tests/test_preemption.py). A checkpoint at an epoch boundary
(k = 0) resumes as before, with the generator states of the moment it was written.
The loop adds no state in ``__init__`` (so that a stock loop already built can be
switched to it).
"""
from typing import Iterator, Optional

from mmengine.dist import get_world_size
from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.registry import LOOPS

from .rng import capture_rng_state, restore_rng_state

# message hub keys of the generator states
EPOCH_START_RNG = 'rng_state_epoch_start'
LAST_ITER_RNG = 'rng_state_last_iter'


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` that resumes in the middle of an epoch where the
    checkpoint was written (see the module docstring). Same arguments."""

    def run_epoch(self) -> None:
        """Iterate one epoch; the first one after a resume starts at the batch where
        the checkpoint was written."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        skip = self._batches_to_skip()
        for idx, data_batch in self._batches(skip):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def _batches(self, skip: int) -> Iterator:
        """``enumerate(self.dataloader)``, where the first ``skip`` batches are drawn
        but not given out; generator states as described in the module docstring."""
        hub = self.runner.message_hub
        resuming = not getattr(self, '_started', False) and self._iter > 0
        self._started = True
        if resuming and skip:
            self._restore(EPOCH_START_RNG)
        elif resuming:
            self._restore(LAST_ITER_RNG)
        if not skip:
            hub.update_info(EPOCH_START_RNG, capture_rng_state())
        batches = iter(self.dataloader)
        for _ in range(skip):
            next(batches)
        if skip:
            self._restore(LAST_ITER_RNG)
            self.runner.logger.info(f'Resumed in the middle of epoch {self._epoch + 1}: '
                                    f'skipped its first {skip} batches (already trained)')
        return enumerate(batches, start=skip)

    def _batches_to_skip(self) -> int:
        """The batches of the current epoch that were trained before the checkpoint
        this run resumed from (0 but for the first epoch after a mid-epoch resume)."""
        if getattr(self, '_started', False):
            return 0
        done = self._iter - self._epoch * len(self.dataloader)
        if not 0 <= done <= len(self.dataloader):
            self.runner.logger.warning(
                f'iteration {self._iter} is not in epoch {self._epoch + 1} of '
                f'{len(self.dataloader)} batches (did the data loader change?): the '
                'epoch restarts from its first batch')
            return 0
        return done

    def _restore(self, key: str) -> Optional[dict]:
        """Restore the generator states the checkpoint keeps under ``key``; none in a
        checkpoint of another loop, and none with ``randomness.diff_rank_seed`` in a
        run of several processes (the checkpoint holds the states of rank 0 only; with
        the default, shared seed all ranks have the same states): the states are then
        left as they are."""
        state = self.runner.message_hub.get_info(key)
        randomness = self.runner.cfg.get('randomness', None) or {}
        if get_world_size() > 1 and randomness.get('diff_rank_seed', False):
            self.runner.logger.warning('diff_rank_seed: the random number generators '
                                       'of each rank are not restored on resume')
            return None
        if state is not None:
            restore_rng_state(state)
        return state

    def run_iter(self, idx, data_batch) -> None:
        """``EpochBasedTrainLoop.run_iter``, keeping the generator states after the
        training step, before the ``after_train_iter`` hooks that may write a
        checkpoint (the body is MMEngine's, with one line added in its middle)."""
        self.runner.call_hook('before_train_iter', batch_idx=idx, data_batch=data_batch)
        outputs = self.runner.model.train_step(data_batch,
                                               optim_wrapper=self.runner.optim_wrapper)
        self.runner.message_hub.update_info(LAST_ITER_RNG, capture_rng_state())
        self.runner.call_hook('after_train_iter', batch_idx=idx, data_batch=data_batch,
                              outputs=outputs)
        self._iter += 1
