# S4L-Rotation on Fashion-MNIST with 100 labelled images per class (docs/s4l.md).
# Data: train images 0-49,999 (50,000-59,999 are the zoo's validation split):
#   labelled:   1,000 of them, 100 per class (ClassBalancedSubset, seed 0);
#   unlabelled: the other 49,000 (unlabelled='rest'), their labels replaced by -1.
# A step takes 32 items of one labelled and one unlabelled image: 64 images (32 + 32),
# the classifier's cross-entropy on the 32 labelled ones plus 1.0 x the rotation
# cross-entropy on the 4 x 64 = 256 rotated copies (RotNet's config: 256 per step too).
# The same 3-block NIN of width 48 as the other Fashion-MNIST configs, from scratch;
# start from a RotNet checkpoint as docs/s4l.md shows. Short schedule (300 steps), plain
# settings, not tuned yet: val = the validation split, test = the test split.
_base_ = ['_base_/default_runtime.py']

data_root = '/usr/share/datasets/fashion-mnist'

model = dict(
    type='S4LRotation',
    rotation_weight=1.0,
    rotations=(0, 90, 180, 270),
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[72.94], std=[90.02],
                           num_classes=10),
    backbone=dict(type='NetworkInNetwork', num_blocks=3, width=48, in_channels=1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=48,
              loss=dict(type='CrossEntropyLoss'), topk=(1, )),
    rotation_head=dict(type='RotationHead', in_channels=48, num_classes=4))

train_dataloader = dict(
    batch_size=32,  # items: 32 labelled + 32 unlabelled images
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='labelled_unlabelled_collate'),
    dataset=dict(
        type='LabelledUnlabelled',
        labelled=dict(
            type='ClassBalancedSubset',
            fraction=0.02,  # 2% of 50,000 = 100 images per class
            seed=0,
            dataset=dict(type='FashionMNISTIdx', data_root=data_root, split='train',
                         indices=50000, pipeline=[dict(type='PackInputs')])),
        unlabelled='rest',
        unlabelled_per_labelled=1))
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    # train images 50,000-59,999: the last of 6 contiguous folds of the 60,000
    dataset=dict(
        type='KFoldDataset', num_splits=6, fold=5, test_mode=True,
        dataset=dict(type='FashionMNISTIdx', data_root=data_root, split='train',
                     pipeline=[dict(type='PackInputs')])))
test_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='FashionMNISTIdx', data_root=data_root, split='test',
                 test_mode=True, pipeline=[dict(type='PackInputs')]))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, milestones=[200, 250], gamma=0.2),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300, val_interval=300)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=300,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
