# Semi-supervised fine-tuning on 1% of the labels (600 images, 60 per class): as the
# 10% config, with 40 epochs so that both take a similar number of steps.
_base_ = 'finetune_nin3b-w48_1xb64_fashion-mnist-10pct.py'

train_dataloader = dict(dataset=dict(fraction=0.01))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, T_max=40)]
train_cfg = dict(max_epochs=40, val_interval=40)
