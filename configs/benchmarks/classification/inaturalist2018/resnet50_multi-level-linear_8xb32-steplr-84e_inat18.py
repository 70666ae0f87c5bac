# Multi-level linear evaluation of a frozen RotNet ResNet-50 on iNaturalist 2018 (8142
# classes): 84 epochs, lr x0.1 at epochs 24, 48 and 72, 8 GPUs x 32 images.
_base_ = [
    '../_base_/models/resnet50_multi-level.py',
    '../_base_/datasets/inaturalist2018.py',
    '../_base_/schedules/sgd_steplr-90e_multi-level.py',
    '../../../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=8142))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[24, 48, 72], gamma=0.1)]
train_cfg = dict(max_epochs=84, val_interval=12)
