# FCN R50-D8 on Cityscapes fine train, mIoU on val with a sliding window (769, stride
# 513), 769x769 crops, 40k iterations, from a RotationPred ResNet-50. Launch:
# tools/benchmarks/mmsegmentation/dist_train.sh THIS_CONFIG BACKBONE.pth GPUS.
# The base is the protocol; we only swap its ResNetV1c (deep stem, no counterpart in
# the RotationPred ResNet-50) for the plain ResNet-50 stem, as for VOC12aug.
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb2-40k_cityscapes-769x769.py'
custom_imports = dict(imports=['rotation_pred'], allow_failed_imports=False)

model = dict(
    pretrained=None,
    backbone=dict(type='ResNet', init_cfg=dict(type='Pretrained', checkpoint=None)))
