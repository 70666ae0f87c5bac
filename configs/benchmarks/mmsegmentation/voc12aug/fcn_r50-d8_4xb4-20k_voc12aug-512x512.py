# FCN R50-D8 on VOC12aug (train + SBD aug), mIoU on VOC12 val, 512x512 crops, 20k
# iterations, from a RotationPred ResNet-50. Launch:
# tools/benchmarks/mmsegmentation/dist_train.sh THIS_CONFIG BACKBONE.pth GPUS.
# The base is the protocol (SyncBN, crop 512, ratio 0.5-2, 4 images per GPU, SGD 0.01,
# poly); we only swap its ResNetV1c (deep stem, no counterpart in the RotationPred
# ResNet-50) for the plain ResNet-50 stem, so that every backbone weight is pretrained.
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb4-20k_voc12aug-512x512.py'
custom_imports = dict(imports=['rotation_pred'], allow_failed_imports=False)

model = dict(
    pretrained=None,
    backbone=dict(type='ResNet', init_cfg=dict(type='Pretrained', checkpoint=None)))
