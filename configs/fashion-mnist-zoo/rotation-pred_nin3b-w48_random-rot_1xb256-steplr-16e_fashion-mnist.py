# Training-trick ablation: one random rotation per image instead of all 4 in the batch,
# at equal compute: 256 images = 256 rotated samples per step (the default has 64 x 4),
# and 16 epochs over the same 12,000 images, so both see as many samples in as many
# steps (750) with the same schedule (lr x0.2 at half and three quarters of training).
_base_ = '../rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'

model = dict(feeding='random')
train_dataloader = dict(batch_size=256)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=True, milestones=[8, 12], gamma=0.2),
]
train_cfg = dict(max_epochs=16, val_interval=16)
