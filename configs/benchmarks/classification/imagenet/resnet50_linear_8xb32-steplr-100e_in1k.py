# Linear evaluation on the global-average-pooled last stage (2048) of a frozen RotNet
# ResNet-50 on ImageNet: lr 30, 100 epochs, 8 GPUs x 32 images.
#   tools/benchmarks/classification/dist_train_linear.sh THIS_CONFIG CHECKPOINT 8
_base_ = [
    '../_base_/models/resnet50_linear.py',
    '../_base_/datasets/imagenet.py',
    '../_base_/schedules/sgd_steplr-100e_linear.py',
    '../../../_base_/default_runtime.py',
]
