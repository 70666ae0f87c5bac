# Semi-supervised fine-tuning on 10% of the Fashion-MNIST labels (6,000 images,
# class-balanced, seed 0): the whole NIN is fine-tuned from the pretrained backbone
# (--cfg-options model.backbone.init_cfg.checkpoint=BACKBONE.pth), head lr x10.
# The settings are fixed in advance (no search on the test set).
_base_ = 'supervised_nin3b-w48_1xb64-steplr-2e_fashion-mnist.py'

model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=None)))
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ClassBalancedSubset',
        fraction=0.1,
        seed=0,
        dataset=dict(type='FashionMNISTIdx', data_root='/usr/share/datasets/fashion-mnist',
                     split='train', pipeline=[dict(type='PackInputs')])))
optim_wrapper = dict(
    optimizer=dict(lr=0.01),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10)}))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, T_max=10)]
train_cfg = dict(max_epochs=10, val_interval=10)
