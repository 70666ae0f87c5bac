"""Preemption: on SIGTERM or SIGUSR1, save at the next iteration and exit with status 75.

A cluster announces the end of a job with a signal: SLURM sends SIGTERM when it preempts
or cancels a job (and SIGKILL ``KillWait`` seconds later, 30 by default), and the
signal chosen with ``--signal=USR1@<seconds>`` that long before the time limit.
:class:`PreemptionHook` makes that signal end the run cleanly:

1. the signal handler only records the signal (an attribute assignment: safe whatever
   the process is doing, a checkpoint write included);
2. after the current training iteration (``after_train_iter``, after every other hook
   of that iteration, the iteration-based parameter schedulers included), the processes
   agree to stop (below), the checkpoint hook writes ``iter_<N>.pth`` atomically (N:
   the iterations done) and points ``last_checkpoint`` at it, all processes wait until
   it is on the disk, the log says so;
3. every process exits with status :data:`EXIT_PREEMPTED` = 75 (``EX_TEMPFAIL`` of
   sysexits.h: a temporary failure, to retry). ``tools/slurm_train.sh`` requeues the job
   on that status and the requeued job resumes (``--resume``) from ``iter_<N>.pth``;
   :class:`~.loops.ResumableEpochBasedTrainLoop` continues the epoch at batch N.

Several processes: a signal may reach some ranks only, or reach them in different
iterations. After every iteration each rank contributes its flag to an all-reduce
(``max``) of one integer, when a process group exists, so all ranks stop after the same
iteration and take part in the same checkpoint; rank 0 writes it. This is one tiny
collective per iteration; the loss logging already synchronises with the device every
iteration. The ranks then meet at a barrier, so no rank exits (which makes ``srun
--kill-on-bad-exit`` kill the others) before rank 0 has finished writing.

Before the run the hook also switches a stock ``EpochBasedTrainLoop`` to
:class:`~.loops.ResumableEpochBasedTrainLoop` and a stock ``CheckpointHook`` to
:class:`~.checkpointing.AtomicCheckpointHook` (``make_resumable=True``), so configs
that name the stock types (most do) are preemption-safe too; both subclasses only add
methods. A signal during validation is acted on after the next training iteration; a
signal after the last one ends nothing (the run is about to finish).

Data loader workers forked after the hook is set up inherit its handler (they record
the signal and go on instead of dying, which would stop the main process with an
error); with the ``spawn`` start method they would not. If the environment variable
:data:`MARKER_ENV` names a file, rank 0 writes the checkpoint path into it before
exiting (``tools/slurm_train.sh`` reads it in case ``srun`` reports another status).
"""
import os
import signal
from typing import Iterable, List, Optional, Union

import torch
from mmengine.dist import all_reduce, barrier, is_distributed, is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import BaseLoop, EpochBasedTrainLoop
from mmpretrain.registry import HOOKS

from .checkpointing import (AtomicCheckpointHook, point_last_checkpoint,
                            save_checkpoint_atomically)
from .loops import ResumableEpochBasedTrainLoop

EXIT_PREEMPTED = 75  # EX_TEMPFAIL: saved, exited early, resume to go on
MARKER_ENV = 'ROTATION_PRED_PREEMPTED_MARKER'
DEFAULT_SIGNALS = ('SIGTERM', 'SIGUSR1')


def signal_number(sig: Union[str, int]) -> signal.Signals:
    """``'SIGTERM'``, ``'TERM'`` or 15 -> ``signal.SIGTERM``."""
    if isinstance(sig, str):
        name = sig.upper()
        return signal.Signals[name if name.startswith('SIG') else f'SIG{name}']
    return signal.Signals(sig)


def agree_to_stop(requested: bool) -> bool:
    """Whether any process asked to stop: ``requested`` itself without a process
    group, else the ``max`` over all ranks (every rank must call it at the same
    point, as ``after_train_iter`` is)."""
    if not is_distributed():
        return requested
    flag = torch.tensor([int(requested)], dtype=torch.int32)
    all_reduce(flag, op='max')  # on the backend's device (CUDA for NCCL)
    return bool(flag.item())


def make_resumable(runner) -> List[str]:
    """Switch the built stock training loop and checkpoint hooks of ``runner`` to
    their preemption-safe subclasses; returns what was switched.

    ``__class__`` is reassigned on the built objects: the subclasses add methods only,
    and the objects keep their state (options, dataloader, counters). Only objects
    whose type is exactly the stock one are switched; the loop only once built (a
    test or validation run has none)."""
    switched = []
    loop = getattr(runner, '_train_loop', None)  # the property would build it
    if isinstance(loop, BaseLoop) and type(loop) is EpochBasedTrainLoop:
        loop.__class__ = ResumableEpochBasedTrainLoop
        switched.append('EpochBasedTrainLoop -> ResumableEpochBasedTrainLoop')
    for hook in runner.hooks:
        if type(hook) is CheckpointHook:
            hook.__class__ = AtomicCheckpointHook
            switched.append('CheckpointHook -> AtomicCheckpointHook')
    return switched


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Save and exit with :data:`EXIT_PREEMPTED` after the iteration during which one
    of ``signals`` arrived (see the module docstring).

    Args:
        signals: the signals that end the run (names or numbers).
        exit_code: the exit status after the checkpoint is written.
        make_resumable: switch a stock ``EpochBasedTrainLoop`` / ``CheckpointHook`` to
            the resumable loop / atomic checkpoint hook before the run.
    """

    priority = 'LOWEST'  # after the schedulers and the checkpoint hook of the iteration

    def __init__(self, signals: Iterable[Union[str, int]] = DEFAULT_SIGNALS,
                 exit_code: int = EXIT_PREEMPTED, make_resumable: bool = True) -> None:
        self.signals = [signal_number(s) for s in signals]
        self.exit_code = exit_code
        self.make_resumable = make_resumable
        self.received: Optional[int] = None
        self._previous_handlers = {}

    def before_run(self, runner) -> None:
        """Switch the stock loop and checkpoint hook to the preemption-safe ones."""
        if self.make_resumable:
            for change in make_resumable(runner):
                runner.logger.info(f'PreemptionHook: {change}')

    def before_train(self, runner) -> None:
        """Catch the signals from now on (training only: a test run keeps the default
        actions, as nothing would act on the flag)."""
        if not self.signals:
            return
        self.install()
        names = ', '.join(s.name for s in self.signals)
        runner.logger.info(f'PreemptionHook: on {names}, save after the current '
                           f'iteration and exit with status {self.exit_code}')

    def after_train(self, runner) -> None:
        """Training is over: give the signals their previous handlers back."""
        self.uninstall()

    def install(self) -> None:
        """Set the handler of each signal, keeping the previous ones."""
        for sig in self.signals:
            self._previous_handlers[sig] = signal.signal(sig, self._on_signal)

    def uninstall(self) -> None:
        """Put the previous handlers back."""
        for sig, handler in self._previous_handlers.items():
            signal.signal(sig, handler)
        self._previous_handlers = {}

    def _on_signal(self, signum, frame) -> None:
        """The handler: record the signal, nothing else (see the module docstring)."""
        self.received = signum

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """If a process received a signal, save, wait for the write and exit."""
        if not agree_to_stop(self.received is not None):
            return
        path = save_interim_checkpoint(runner)
        barrier()  # rank 0 has written the checkpoint and last_checkpoint
        why = signal.Signals(self.received).name if self.received else 'another rank'
        runner.logger.info(
            f'Preempted ({why}): saved {path} after iteration {runner.iter + 1} '
            f'(epoch {runner.epoch + 1}); exiting with status {self.exit_code}. '
            'Resume with tools/train.py ... --resume')
        marker = os.environ.get(MARKER_ENV)
        if marker and is_main_process():
            with open(marker, 'w') as f:
                f.write(path)
        raise SystemExit(self.exit_code)


def save_interim_checkpoint(runner) -> str:
    """Write the checkpoint of the current iteration through the run's
    :class:`~.checkpointing.AtomicCheckpointHook`; without one (checkpoints switched
    off, or a stock hook kept with ``make_resumable=False``), write it atomically in
    the work dir, or the stock hook's folder, the same way."""
    hooks = [h for h in runner.hooks if isinstance(h, CheckpointHook)]
    atomic = [h for h in hooks if isinstance(h, AtomicCheckpointHook)]
    if atomic:
        return atomic[0].save_interim(runner)
    out_dir = getattr(hooks[0], 'out_dir', None) if hooks else None
    if not out_dir or '://' in str(out_dir):
        out_dir = runner.work_dir
    step = runner.iter + 1
    path = save_checkpoint_atomically(runner, out_dir, f'iter_{step}.pth',
                                      meta=dict(epoch=runner.epoch, iter=step),
                                      by_epoch=False)
    if is_main_process():
        point_last_checkpoint(runner.work_dir, path)
    return path
