# Semi-supervised fine-tuning: SGD (momentum 0.9, weight decay 5e-4) for 256 images
# (4 GPUs x 64), lr x0.2 at epochs 12 and 16, 20 epochs. The base lr and the head's lr
# multiplier are the grid of tools/benchmarks/classification/semi_supervised/.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=1.0)}))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[12, 16], gamma=0.2)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
