# Semi-supervised fine-tuning of RotNet ResNet-50 on 1% of the ImageNet labels
# (data/imagenet/meta/train_1percent.txt, written by
# tools/benchmarks/classification/semi_supervised/make_subsets.py): 20 epochs, 4 GPUs x 64.
# The lr / head lr multiplier grid is run by semi_supervised/dist_train_semi.sh.
_base_ = [
    '../../_base_/models/resnet50_finetune.py',
    '../../_base_/datasets/imagenet.py',
    '../../_base_/schedules/sgd_steplr-20e_finetune.py',
    '../../../../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=64, dataset=dict(ann_file='meta/train_1percent.txt'))
