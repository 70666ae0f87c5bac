# Preemption-safe training (rotation_pred/engine, docs/preemption.md):
# MMPretrain's default runtime plus
#   - AtomicCheckpointHook: checkpoints and last_checkpoint are written to a temporary
#     file, fsync-ed and renamed, so a kill at any moment leaves a loadable checkpoint;
#   - PreemptionHook: on SIGTERM / SIGUSR1, save iter_<N>.pth after the current
#     iteration and exit with status 75 (tools/slurm_train.sh requeues on it); before
#     the run it also switches a stock EpochBasedTrainLoop to
#     ResumableEpochBasedTrainLoop (exact resume in the middle of an epoch) and a stock
#     CheckpointHook to AtomicCheckpointHook.
#
# How to use it: as the base of a runtime config, in place of MMPretrain's, e.g. in
# configs/_base_/default_runtime.py:
#     _base_ = './preemptible.py'
# It cannot be listed next to a runtime config (`_base_ = [default_runtime,
# preemptible]`): MMEngine refuses a top-level key (here default_hooks) set by two
# bases of one list. The hooks are in `default_hooks`, which configs merge key by key,
# so a config that sets its own default_hooks entries or custom_hooks keeps them.
# It sets no train_cfg (the schedules set it next to the runtime, the same clash):
# configs may keep `train_cfg = dict(type='EpochBasedTrainLoop', ...)` and
# `checkpoint=dict(type='CheckpointHook', ...)`, PreemptionHook switches them.
# The types are registered by `import rotation_pred.engine`; a config that sets its own
# custom_imports (default_runtime.py does) relies on `import rotation_pred` importing it.
# Switch it off in one config with
#     default_hooks = dict(preemption=dict(signals=[], make_resumable=False))
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['rotation_pred', 'rotation_pred.engine'],
                      allow_failed_imports=False)

default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', interval=1),
    preemption=dict(type='PreemptionHook', signals=['SIGTERM', 'SIGUSR1']))
