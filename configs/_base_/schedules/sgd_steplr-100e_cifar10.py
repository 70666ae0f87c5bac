# The paper's CIFAR-10 schedule: batch 128, SGD 0.1, momentum 0.9, weight decay 5e-4,
# 100 epochs, lr divided by 5 at epochs 30, 60 and 80.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 80], gamma=0.2)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
val_cfg = dict()
test_cfg = dict()
