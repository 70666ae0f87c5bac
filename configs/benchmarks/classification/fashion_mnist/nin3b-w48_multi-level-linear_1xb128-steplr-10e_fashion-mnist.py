# Multi-level linear evaluation of the Fashion-MNIST RotNet
# (configs/rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py), sized for CPUs:
# the three NIN blocks are the levels, frozen; each is average-pooled to a few thousand
# values, normalised (BatchNorm without affine) and classified by its own linear layer.
#   block1 24@14x14 AvgPool 2/2/0 -> 7x7 -> 1176
#   block2 48@7x7   (kept)        -> 7x7 -> 2352
#   block3 48@7x7   (kept)        -> 7x7 -> 2352
#   tools/benchmarks/classification/dist_train_linear.sh THIS_CONFIG CHECKPOINT 1
_base_ = '../../../_base_/default_runtime.py'

model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(num_classes=10, mean=[72.94], std=[90.02], to_rgb=False),
    backbone=dict(
        type='NetworkInNetwork',
        num_blocks=3,
        width=48,
        in_channels=1,
        out_indices=(0, 1, 2),
        frozen_stages=3,  # every block: no gradient, BatchNorm in eval mode
        norm_cfg=dict(type='BN')),
    neck=dict(type='MultiLevelAvgPool', pools=[(2, 2, 0), None, None]),
    head=dict(
        type='MultiLevelLinearHead',
        in_dims=[1176, 2352, 2352],
        num_classes=10,
        level_names=['block1', 'block2', 'block3'],
        norm_cfg=dict(type='SyncBN', momentum=0.1, affine=False)))
# NetworkInNetwork freezes its blocks in train(), after DDP has wrapped the model.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)

data_root = '/usr/share/datasets/fashion-mnist'
train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,  # no workers: MMPretrain's tools default it to True
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='FashionMNISTIdx', data_root=data_root, split='train',
                 pipeline=[dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                           dict(type='PackInputs')]))
test_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,  # no workers: MMPretrain's tools default it to True
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='FashionMNISTIdx', data_root=data_root, split='test', test_mode=True,
                 pipeline=[dict(type='PackInputs')]))
test_evaluator = dict(type='MultiLevelAccuracy', topk=(1, 5))

# The ImageNet protocol's optimiser (SGD, nesterov, momentum 0.9, no decay on norm layers)
# with a shorter step schedule: lr x0.1 at epochs 6 and 8 of 10.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4, nesterov=True),
    paramwise_cfg=dict(norm_decay_mult=0.0))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[6, 8], gamma=0.1)]
# No validation during training: the tool tests once at the end.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10)
test_cfg = dict()
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=1))
randomness = dict(seed=0)
