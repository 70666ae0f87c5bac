# Multi-level linear evaluation of a frozen RotNet ResNet-50 on Places205 (205 classes):
# 28 epochs, lr x0.1 at epochs 7, 14 and 21, 8 GPUs x 32 images.
_base_ = [
    '../_base_/models/resnet50_multi-level.py',
    '../_base_/datasets/places205.py',
    '../_base_/schedules/sgd_steplr-90e_multi-level.py',
    '../../../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=205))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[7, 14, 21], gamma=0.1)]
train_cfg = dict(max_epochs=28, val_interval=7)
