"""Atomic checkpoints: a kill at any moment leaves a loadable checkpoint to resume from.

MMEngine's ``CheckpointHook`` writes ``epoch_N.pth`` in place, then truncates and
rewrites ``work_dir/last_checkpoint``, and with ``max_keep_ckpts`` deletes the oldest
checkpoint *before* writing the new one. A job killed during any of these steps can
leave a truncated checkpoint, an empty ``last_checkpoint`` (``--resume`` then fails) or
a ``last_checkpoint`` that names a deleted file.

:class:`AtomicCheckpointHook` keeps every option of ``CheckpointHook`` and changes the
order of the writes: each checkpoint is written to a temporary file in the same folder
(``.epoch_N.pth.<pid>.tmp``: a hidden name that neither ``last_checkpoint`` nor the
``epoch_*.pth`` / ``iter_*.pth`` patterns ever match), flushed to disk with ``fsync``,
renamed over its final name with ``os.replace`` (atomic on POSIX file systems) and the
folder is ``fsync``-ed; only then is ``last_checkpoint`` replaced the same way, and only
then are checkpoints beyond ``max_keep_ckpts`` deleted. Leftover temporary files of a
killed run are removed when the next run starts.

Limits: the rename needs a local checkpoint folder; with another storage backend
(``out_dir='s3://...'``) the backend uploads each checkpoint (an upload is complete or
absent) and only ``last_checkpoint`` (always in the local work dir) and the order of
deletion are handled here. The best checkpoint (``save_best``) is written atomically,
but MMEngine still deletes the previous best one just before (it is never what
``--resume`` reads). Published checkpoints (``published_keys``) are written by MMEngine
after training.

:meth:`AtomicCheckpointHook.save_interim` writes a checkpoint at the current iteration
in the middle of an epoch (``iter_<N>.pth``, for :class:`~.preemption.PreemptionHook`);
it is deleted as soon as a later checkpoint of the hook's own schedule is complete.
"""
import functools
import os
import os.path as osp
from contextlib import contextmanager
from typing import Iterator, List, Optional

from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook
from mmpretrain.registry import HOOKS

from ..fileio import is_temporary, publish, temporary_path, write_atomically

LAST_CHECKPOINT = 'last_checkpoint'
# message hub key: the mid-epoch checkpoints to delete once a later one is complete
INTERIM_KEY = 'interim_checkpoints'


def point_last_checkpoint(work_dir: str, checkpoint: str) -> None:
    """Name ``checkpoint`` in ``work_dir/last_checkpoint``, what ``--resume`` reads,
    replacing the file atomically."""
    write_atomically(osp.join(work_dir, LAST_CHECKPOINT), lambda f: f.write(checkpoint),
                     binary=False)


def save_checkpoint_atomically(runner, out_dir: str, filename: str, **kwargs) -> str:
    """``runner.save_checkpoint(out_dir, filename, **kwargs)``, written to a temporary
    file and then published under ``filename``; returns the final path.

    The runner builds and writes the checkpoint (its ``before_save_checkpoint`` hooks
    run as usual) under the temporary name and closes it, which flushes Python's
    buffers; :func:`publish` then ``fsync``-s it through a descriptor of its own. Only
    the main process writes (the runner's method is ``master_only``) and publishes.
    The method is looked up on the class, so that a temporary redirection of the
    instance's method (see :meth:`AtomicCheckpointHook._save_best_checkpoint`) does not
    recurse.
    """
    path = osp.join(out_dir, filename)
    temporary = temporary_path(path)
    type(runner).save_checkpoint(runner, osp.dirname(temporary), osp.basename(temporary),
                                 **kwargs)
    if is_main_process():
        publish(temporary, path)
    return path


def remove_temporaries(folder: str) -> List[str]:
    """Delete the temporary files that killed writes left in ``folder``; returns them.

    Only the names of :func:`rotation_pred.fileio.temporary_path`
    (``.<name>.<pid>.tmp``) are touched."""
    if not osp.isdir(folder):
        return []
    leftovers = [osp.join(folder, name) for name in sorted(os.listdir(folder))
                 if is_temporary(name)]
    for path in leftovers:
        os.remove(path)
    return leftovers


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose checkpoints and ``last_checkpoint`` are replaced
    atomically (see the module docstring). Same arguments as ``CheckpointHook``.

    It adds no state of its own in ``__init__``, so that a stock ``CheckpointHook``
    already built can be switched to it (:class:`~.preemption.PreemptionHook` does).
    """

    def before_train(self, runner) -> None:
        """Set up as ``CheckpointHook``, then delete the temporary files that a run
        killed while writing left in the checkpoint folder."""
        super().before_train(runner)
        if not self._is_local():
            runner.logger.warning(f'{self.out_dir} is not a local folder: checkpoints '
                                  'are written by its storage backend, not renamed')
        elif is_main_process() and osp.isdir(self.out_dir):
            for path in remove_temporaries(self.out_dir):
                runner.logger.info(f'Removed {path}, left by an interrupted checkpoint '
                                   'write')

    def _is_local(self) -> bool:
        """Whether checkpoints go to a local folder, where renames are atomic."""
        return isinstance(getattr(self, 'file_backend', None), LocalBackend)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Write the checkpoint of ``step``: the file, then ``last_checkpoint``, then
        the deletion of outdated checkpoints (MMEngine deletes first)."""
        outdated = self._keep(runner, step)
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        # the new checkpoint must not list the interim files it makes obsolete
        interim = runner.message_hub.get_info(INTERIM_KEY, [])
        runner.message_hub.update_info(INTERIM_KEY, [])
        self._save(runner, filename, meta=meta, by_epoch=self.by_epoch)
        if not is_main_process():
            return
        point_last_checkpoint(runner.work_dir, self.last_ckpt)
        for path in [outdated, *interim]:
            if path and path != self.last_ckpt:
                self._remove(path)

    def _keep(self, runner, step) -> Optional[str]:
        """Record ``step`` among the kept checkpoints (``max_keep_ckpts``) as MMEngine
        does, but return the path of the checkpoint that falls out instead of deleting
        it: it goes only once the new one is complete."""
        if self.max_keep_ckpts <= 0:
            return None
        if self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step:
            return None  # saved again in the same epoch (a new best score): keep all
        outdated = None
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            oldest = self.keep_ckpt_ids.popleft()
            outdated = self.file_backend.join_path(self.out_dir,
                                                   self.filename_tmpl.format(oldest))
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        return outdated

    def _save(self, runner, filename: str, **kwargs) -> str:
        """Write ``filename`` in the checkpoint folder with the hook's options
        (optimizer, schedulers, backend, extra ``save_checkpoint`` arguments):
        atomically in a local folder, by the storage backend elsewhere (an object
        store upload is complete or absent anyway)."""
        options = dict(file_client_args=self.file_client_args,
                       save_optimizer=self.save_optimizer,
                       save_param_scheduler=self.save_param_scheduler,
                       backend_args=self.backend_args, **self.args)
        options.update(kwargs)
        if self._is_local():
            return save_checkpoint_atomically(runner, self.out_dir, filename, **options)
        runner.save_checkpoint(self.out_dir, filename, **options)
        return self.file_backend.join_path(self.out_dir, filename)

    def _remove(self, path: str) -> None:
        """Delete a checkpoint (a folder for DeepSpeed) if it is still there."""
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """MMEngine's best-checkpoint logic, with its write made atomic.

        That method is long and calls ``runner.save_checkpoint`` in its middle; rather
        than copy it to change one call, the runner's method is redirected to the
        atomic writer for the duration of the call, on this runner only."""
        if not self._is_local():
            return super()._save_best_checkpoint(runner, metrics)
        with _atomic_runner_saves(runner):
            super()._save_best_checkpoint(runner, metrics)

    def save_interim(self, runner) -> str:
        """Write a checkpoint of the current iteration, ``iter_<N>.pth`` (N counting
        the iterations done), in the middle of an epoch; point ``last_checkpoint`` at
        it and return its path. It is deleted once a later checkpoint of the hook's
        own schedule is complete. Call it from ``after_train_iter``."""
        step = runner.iter + 1
        filename = f'iter_{step}.pth'
        path = self.file_backend.join_path(self.out_dir, filename)
        if path == self.last_ckpt:
            return path  # iteration-based schedule: written at this very iteration
        interim = runner.message_hub.get_info(INTERIM_KEY, [])
        runner.message_hub.update_info(INTERIM_KEY, [*interim, path])
        self._save(runner, filename, meta=dict(epoch=runner.epoch, iter=step),
                   by_epoch=False)
        if is_main_process():
            point_last_checkpoint(runner.work_dir, path)
        return path


@contextmanager
def _atomic_runner_saves(runner) -> Iterator[None]:
    """Within the block, ``runner.save_checkpoint(out_dir, filename, ...)`` writes
    atomically (an instance attribute that shadows the method, removed afterwards)."""
    shadowed = runner.__dict__.get('save_checkpoint')
    runner.save_checkpoint = functools.partial(save_checkpoint_atomically, runner)
    try:
        yield
    finally:
        if shadowed is None:
            del runner.save_checkpoint
        else:
            runner.save_checkpoint = shadowed
