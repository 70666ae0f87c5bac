# Supervised baseline: the same NIN trained on the first 50,000 labelled training images
# (train images 50,000-59,999 are the zoo's validation split, never trained on) for
# 2 epochs, 1,564 steps of 64 images (RotNet: 750 steps of 256 rotated samples), lr x0.2
# after one epoch and after one and a half.
_base_ = '../rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'

model = dict(
    _delete_=True,
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[72.94], std=[90.02],
                           num_classes=10),
    backbone=dict(type='NetworkInNetwork', num_blocks=3, width=48, in_channels=1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=48,
              loss=dict(type='CrossEntropyLoss'), topk=(1, )))

train_dataloader = dict(dataset=dict(indices=50000))  # the first 50,000 labelled images
# fp32 everywhere: mixed precision (the RotNet configs' dtype='auto') was checked for
# RotNet pretraining only.
optim_wrapper = dict(dtype='float32')
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, milestones=[782, 1173], gamma=0.2),
]
train_cfg = dict(max_epochs=2, val_interval=2)
custom_hooks = []  # no online k-NN: it watches self-supervised pretraining
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(max_keep_ckpts=1))
