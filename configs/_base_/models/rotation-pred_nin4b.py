# The paper's CIFAR-10 RotNet: Network-In-Network with 4 blocks of 3 conv layers.
model = dict(
    type='RotationPred',
    rotations=(0, 90, 180, 270),
    feeding='all',
    channels_last=True,  # NHWC weights and batches (docs/speed.md)
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[125.307, 122.961, 113.8575],
        std=[51.5865, 50.847, 51.255],
        to_rgb=False),
    backbone=dict(type='NetworkInNetwork', num_blocks=4, width=192, in_channels=3),
    head=dict(type='RotationHead', in_channels=192, num_classes=4))
