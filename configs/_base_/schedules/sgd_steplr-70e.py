# Reference RotNet R50 schedule: SGD 0.2 for 128 images (512 rotated samples),
# 5-epoch linear warm-up from 0.02, lr x0.1 at epochs 30 and 50, 70 epochs.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[30, 50], gamma=0.1),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=70, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
