# Supervised baseline: the same NIN trained on all 60,000 labelled training images for
# 2 epochs, 1,876 steps of 64 images (RotNet: 750 steps of 256 rotated samples), lr x0.2
# after one epoch and after one and a half.
_base_ = '../_base_/default_runtime.py'

model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[72.94], std=[90.02],
                           num_classes=10),
    backbone=dict(type='NetworkInNetwork', num_blocks=3, width=48, in_channels=1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=48,
              loss=dict(type='CrossEntropyLoss'), topk=(1, )))

data_root = '/usr/share/datasets/fashion-mnist'
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='FashionMNISTIdx', data_root=data_root, split='train',
                 pipeline=[dict(type='PackInputs')]))
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='FashionMNISTIdx', data_root=data_root, split='test',
                 test_mode=True, pipeline=[dict(type='PackInputs')]))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, milestones=[938, 1407], gamma=0.2),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=2)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1))
randomness = dict(seed=0)
