"""Detection transfer benchmarks on tiny data sets in the real formats: Faster R-CNN C4
on VOC07+12 (AP50 on VOC07 test) and Mask R-CNN FPN on COCO (box and mask AP from
pycocotools), each fine-tuned for 2 iterations from a converted RotationPred ResNet-50."""
import math

import pytest

from transfer_data import session_backbone, write_coco, write_voc_detection
from transfer_runs import (FASTER_RCNN_C4, MASK_RCNN_FPN, assert_holds_checkpoint,
                           model_after_init, read_test_metrics, train_in_one_process,
                           train_with_launcher, training_losses)

# 96x72 images at short side 64-80 (the protocol: 480-800), few RoIs per image.
TINY_RPN_AND_ROIS = {
    'model.train_cfg.rpn_proposal.nms_pre': 200,
    'model.train_cfg.rpn_proposal.max_per_img': 50,
    'model.train_cfg.rcnn.sampler.num': 32,
    'model.test_cfg.rpn.nms_pre': 200, 'model.test_cfg.rpn.max_per_img': 30,
}


def tiny_voc0712(voc_root):
    train = {}
    for i in (0, 1):  # VOC2007 and VOC2012 trainval
        prefix = f'train_dataloader.dataset.datasets.{i}'
        train[f'{prefix}.data_root'] = voc_root
        train[f'{prefix}.pipeline.2.scales'] = [(128, 64), (128, 80)]
    return {**train, **TINY_RPN_AND_ROIS,
            'train_dataloader.batch_size': 1, 'train_cfg.max_iters': 2,
            'test_dataloader.dataset.data_root': voc_root,
            'test_dataloader.dataset.pipeline.1.scale': (128, 72)}


def tiny_coco(coco_root):
    return {**TINY_RPN_AND_ROIS,
            'train_dataloader.dataset.data_root': coco_root,
            'train_dataloader.dataset.pipeline.2.scales': [(128, 64), (128, 80)],
            'train_dataloader.batch_size': 1, 'train_cfg.max_epochs': 1,  # 2 images
            'test_dataloader.dataset.data_root': coco_root,
            'test_dataloader.dataset.pipeline.1.scale': (128, 72),
            'test_evaluator.ann_file': coco_root + 'annotations/instances_val2017.json',
            # untrained heads score every class ~1/81: keep boxes so that AP is computed
            'model.test_cfg.rcnn.score_thr': 0.0}


@pytest.fixture(scope='module')
def backbone(tmp_path_factory):
    return session_backbone(tmp_path_factory)


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory):
    return write_voc_detection(str(tmp_path_factory.mktemp('voc')))


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    return write_coco(str(tmp_path_factory.mktemp('coco')))


def test_faster_rcnn_c4_on_voc0712_trains_on_two_processes_and_reports_ap50(
        backbone, voc_root, tmp_path):
    # 2 processes over gloo: the launcher, SyncBN and the metric collection across ranks
    train_with_launcher('mmdetection/dist_train_c4.sh', FASTER_RCNN_C4, backbone, 2,
                        tmp_path, tiny_voc0712(voc_root))
    assert len(training_losses(tmp_path)) == 2
    metrics = read_test_metrics(tmp_path)
    assert set(metrics) == {'pascal_voc/mAP', 'pascal_voc/AP50'}
    assert 0 <= metrics['pascal_voc/AP50'] <= 1


def test_mask_rcnn_fpn_on_coco_trains_and_reports_box_and_mask_ap(backbone, coco_root,
                                                                   tmp_path):
    train_in_one_process(MASK_RCNN_FPN, {'model.backbone.init_cfg.checkpoint': backbone},
                         tmp_path, tiny_coco(coco_root))
    assert len(training_losses(tmp_path)) == 2
    metrics = read_test_metrics(tmp_path)
    for kind in ('bbox', 'segm'):
        for key in ('mAP', 'mAP_50', 'mAP_75'):
            value = metrics[f'coco/{kind}_{key}']
            assert math.isfinite(value) and 0 <= value <= 1, (kind, key, value)


def test_faster_rcnn_c4_starts_from_the_pretrained_res2_to_res5(backbone, tmp_path):
    model = model_after_init(FASTER_RCNN_C4, tmp_path, {
        'model.backbone.init_cfg.checkpoint': backbone,
        'model.roi_head.shared_head.init_cfg.checkpoint': backbone})
    assert_holds_checkpoint(model.backbone, backbone)  # conv1, layer1-3
    head = model.roi_head.shared_head  # layer4, then the protocol's extra norm
    assert_holds_checkpoint(head, backbone, not_in_checkpoint=[
        'norm.weight', 'norm.bias', 'norm.running_mean', 'norm.running_var',
        'norm.num_batches_tracked'])


def test_mask_rcnn_starts_from_the_pretrained_backbone(backbone, tmp_path):
    model = model_after_init(MASK_RCNN_FPN, tmp_path,
                             {'model.backbone.init_cfg.checkpoint': backbone})
    assert_holds_checkpoint(model.backbone, backbone)
