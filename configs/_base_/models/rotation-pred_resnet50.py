model = dict(
    type='RotationPred',
    rotations=(0, 90, 180, 270),
    feeding='all',
    channels_last=True,  # NHWC weights and batches: tensor cores / oneDNN (docs/speed.md)
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet', depth=50, out_indices=(3, ), norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False),
    head=dict(type='RotationHead', in_channels=2048, num_classes=4))
