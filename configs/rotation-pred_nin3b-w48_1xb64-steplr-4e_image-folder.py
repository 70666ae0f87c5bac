# RotNet NIN (3 blocks, width 48) on your own images, sized for a few CPU cores: the
# Fashion-MNIST config's model and schedule on every image file under a folder (any
# depth, no labels, no meta file; rotation_pred/datasets/image_folder.py), as 32x32
# colour crops. Point both data sets at the folder (tools/run_main.sh does with DATA=):
#   --cfg-options train_dataloader.dataset.data_root=/data/images \
#                 val_dataloader.dataset.data_root=/data/images
# Validation: rotation accuracy on a held-out share of the folder (val_fraction, at
# least one image, chosen by a hash of each relative path). 4 epochs suit some 10,000
# images; set train_cfg.max_epochs for much smaller folders. A bad image stops the run
# naming the file; dataset.skip_bad_images=True skips and logs it instead.
_base_ = 'rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'

# Colour input (grayscale and RGBA files are decoded to 3 channels), normalised with
# the ImageNet statistics as RGB: the loader gives BGR, to_rgb swaps it.
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=True),
    backbone=dict(in_channels=3))

data_root = 'data/images/'
val_fraction = 0.05

# Square 32x32 crops of any image size: the NIN's input and what quarter turns need.
# Crops keep at least a quarter of the image, so the upright cues stay in view.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CheckImage', min_size=8),
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.25, 1.0),
         backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]
val_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CheckImage', min_size=8),
    dict(type='ResizeEdge', scale=36, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ImageFolderUnlabeled',
        data_root=data_root,
        split='train',
        val_fraction=val_fraction,
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ImageFolderUnlabeled',
        data_root=data_root,
        split='val',
        val_fraction=val_fraction,
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader
# No online k-NN: the Fashion-MNIST hook of the parent config needs labelled grayscale
# images, and a folder of your own images has no labels (docs/watching.md).
custom_hooks = []
