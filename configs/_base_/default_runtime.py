# MMPretrain's runtime with preemption-safe checkpoints (configs/_base_/preemptible.py:
# atomic checkpoint writes, SIGTERM/SIGUSR1 save and exit 75, exact mid-epoch resume).
_base_ = './preemptible.py'

# Registers RotationPred, its head, data sets, transforms and metric in MMPretrain's
# registries and applies the stack fixes of rotation_pred/compat.py.
custom_imports = dict(imports=['rotation_pred'], allow_failed_imports=False)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
log_processor = dict(window_size=50)
