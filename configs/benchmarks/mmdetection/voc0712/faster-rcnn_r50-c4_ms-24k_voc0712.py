# Faster R-CNN R50-C4 on VOC07+12 trainval, AP50 on VOC07 test, from a RotationPred
# ResNet-50. Launch: tools/benchmarks/mmdetection/dist_train_c4.sh THIS_CONFIG
# BACKBONE.pth GPUS (it sets both checkpoint paths below). The base already has the
# protocol's data (07+12 trainval, short side 480-800 step 32 / max 1333, test 800,
# 2 images per GPU), SGD 0.02 and warmup; we change the schedule to 24k iterations,
# the norms to SyncBN everywhere, and the backbone to the pytorch-style, RGB-normalised
# ResNet-50 that RotationPred trains (the base expects a caffe-style BGR one).
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py'
custom_imports = dict(
    imports=['rotation_pred', 'mmpretrain.models.utils.res_layer_extra_norm'],
    allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        frozen_stages=-1, norm_cfg=norm_cfg, norm_eval=False, style='pytorch',
        # stages 1-3 of the converted RotationPred backbone (conv1, layer1-3)
        init_cfg=dict(type='Pretrained', checkpoint=None)),
    roi_head=dict(
        # res5 of the same checkpoint (layer4), then an extra norm (the protocol's head)
        shared_head=dict(
            type='ResLayerExtraNorm', norm_cfg=norm_cfg, norm_eval=False, style='pytorch',
            init_cfg=dict(type='Pretrained', checkpoint=None))))

# Not a protocol change: the base concatenates VOC2007 and VOC2012 without ignoring
# their differing `dataset_type`, so mmdet's ConcatDataset keeps a list of two metainfos
# (saved as the checkpoints' dataset_meta) instead of one with the class names.
train_dataloader = dict(dataset=dict(ignore_keys=['dataset_type']))

max_iter = 24000
train_cfg = dict(max_iters=max_iter)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iter,
         milestones=[18000, 22000], gamma=0.1)
]
