# A longer RotNet pretraining (zoo model `rotnet_long`): the zoo RotNet's network
# (3-block NIN, width 48) and batch (64 images = 256 rotated samples), on all 50,000 train
# images outside the validation split (train images 0-49,999; the zoo RotNet reads the
# first 12,000) for 20 epochs, with a schedule shaped like the paper's CIFAR-10 one: SGD
# nesterov lr 0.1 (after the zoo RotNet's 50-step warm-up), weight decay 5e-4, lr x0.2
# after 30%, 60% and 80% of the epochs (after epochs 6, 12 and 16). Every epoch's
# checkpoint is kept, for the linear probe per epoch
# (tools/zoo/evaluate.py --models rotnet_long --protocols per_epoch).
# Length: 782 steps per epoch, 15,640 steps in all (the zoo RotNet: 750). At the zoo
# RotNet's speed on 2 idle CPU cores (750 steps in about 4.4 minutes, 0.35 s a step)
# that is about 92 minutes, plus about 3 s an epoch for the online k-NN and the
# checkpoints and a minute for the final rotation accuracy: about 95 minutes per seed.
# The online k-NN of the base config still logs knn/top1 every epoch; its images (train
# images 40,000-41,999 and 48,000-48,999) are among the pretraining images here, whose
# labels the pretraining never reads.
_base_ = '../rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'

train_dataloader = dict(dataset=dict(indices=50000))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=True, milestones=[6, 12, 16], gamma=0.2),
]
train_cfg = dict(max_epochs=20, val_interval=20)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=-1))
