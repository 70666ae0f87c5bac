# Semi-supervised fine-tuning of RotNet ResNet-50 on 10% of the ImageNet labels
# (data/imagenet/meta/train_10percent.txt): as the 1% config otherwise.
_base_ = '../imagenet_1percent/resnet50_finetune_4xb64-steplr-20e_in1k-1pct.py'

train_dataloader = dict(dataset=dict(ann_file='meta/train_10percent.txt'))
