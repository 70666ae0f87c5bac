# Multi-level linear evaluation (feat1..feat5) of a frozen RotNet ResNet-50 on ImageNet:
# 90 epochs, 8 GPUs x 32 images.
#   tools/benchmarks/classification/dist_train_linear.sh THIS_CONFIG CHECKPOINT 8
_base_ = [
    '../_base_/models/resnet50_multi-level.py',
    '../_base_/datasets/imagenet_multi-level.py',
    '../_base_/schedules/sgd_steplr-90e_multi-level.py',
    '../../../_base_/default_runtime.py',
]
