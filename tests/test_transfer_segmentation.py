"""Segmentation transfer benchmarks on tiny data sets in the real formats: FCN R50-D8
on VOC12aug and on Cityscapes (sliding-window test), mIoU from mmseg's IoUMetric,
each fine-tuned for 2 iterations from a converted RotationPred ResNet-50."""
import math

import pytest
import torch

from transfer_data import session_backbone, write_cityscapes, write_voc12aug
from transfer_runs import (FCN_CITYSCAPES, FCN_VOC12AUG, assert_holds_checkpoint,
                           model_after_init, read_test_metrics, train_in_one_process,
                           train_with_launcher, training_losses)


def tiny_voc12aug(voc2012):
    """64x64 crops (the protocol: 512) of 96x72 images resized to short side 64."""
    train = {}
    for i in (0, 1):  # train (SegmentationClass) and aug (SegmentationClassAug)
        prefix = f'train_dataloader.dataset.datasets.{i}'
        train.update({f'{prefix}.data_root': voc2012,
                      f'{prefix}.pipeline.2.scale': (128, 64),  # RandomResize
                      f'{prefix}.pipeline.3.crop_size': (64, 64),  # RandomCrop
                      f'{prefix}.pipeline.6.size': (64, 64)})  # Pad
    return {**train, 'model.data_preprocessor.size': (64, 64),
            'train_dataloader.batch_size': 1, 'train_cfg.max_iters': 2,
            'test_dataloader.dataset.data_root': voc2012,
            'test_dataloader.dataset.pipeline.1.scale': (128, 64)}


def tiny_cityscapes(cityscapes_root):
    """128x64 images, 64x64 crops (the protocol: 769) and a 64x64 sliding window with
    stride 43, so that the test slides over 3 windows per image (the protocol: 513)."""
    return {'train_dataloader.dataset.data_root': cityscapes_root,
            'train_dataloader.dataset.pipeline.2.scale': (128, 64),
            'train_dataloader.dataset.pipeline.3.crop_size': (64, 64),
            'model.data_preprocessor.size': (64, 64),
            'model.test_cfg.crop_size': (64, 64), 'model.test_cfg.stride': (43, 43),
            'train_cfg.max_iters': 2,
            'test_dataloader.dataset.data_root': cityscapes_root,
            'test_dataloader.dataset.pipeline.1.scale': (128, 64)}


@pytest.fixture(scope='module')
def backbone(tmp_path_factory):
    return session_backbone(tmp_path_factory)


@pytest.fixture(scope='module')
def voc2012(tmp_path_factory):
    return write_voc12aug(str(tmp_path_factory.mktemp('voc12aug')))


@pytest.fixture(scope='module')
def cityscapes_root(tmp_path_factory):
    return write_cityscapes(str(tmp_path_factory.mktemp('cityscapes')))


def assert_miou(metrics):
    assert set(metrics) == {'aAcc', 'mIoU', 'mAcc'}
    assert all(math.isfinite(v) and 0 <= v <= 100 for v in metrics.values()), metrics


def test_fcn_on_voc12aug_trains_on_two_processes_and_reports_miou(backbone, voc2012,
                                                                   tmp_path):
    train_with_launcher('mmsegmentation/dist_train.sh', FCN_VOC12AUG, backbone, 2,
                        tmp_path, tiny_voc12aug(voc2012))
    assert len(training_losses(tmp_path)) == 2
    assert_miou(read_test_metrics(tmp_path))


def test_fcn_on_cityscapes_trains_and_reports_sliding_window_miou(
        backbone, cityscapes_root, tmp_path):
    train_in_one_process(FCN_CITYSCAPES, {'model.backbone.init_cfg.checkpoint': backbone},
                         tmp_path, tiny_cityscapes(cityscapes_root))
    assert len(training_losses(tmp_path)) == 2
    assert_miou(read_test_metrics(tmp_path))


@pytest.mark.parametrize('config', [FCN_VOC12AUG, FCN_CITYSCAPES],
                         ids=['voc12aug', 'cityscapes'])
def test_fcn_starts_from_the_pretrained_backbone(config, backbone, tmp_path):
    model = model_after_init(config, tmp_path,
                             {'model.backbone.init_cfg.checkpoint': backbone})
    assert_holds_checkpoint(model.backbone, backbone)  # the stem included


def test_the_cityscapes_test_slides_a_window_over_the_image(backbone, cityscapes_root,
                                                            tmp_path):
    model = model_after_init(FCN_CITYSCAPES, tmp_path, {
        'model.backbone.init_cfg.checkpoint': backbone, **tiny_cityscapes(cityscapes_root)})
    windows = []
    encode_decode = model.encode_decode

    def counted(x, metas):
        windows.append(tuple(x.shape))
        return encode_decode(x, metas)

    model.encode_decode = counted
    model.eval()
    meta = dict(img_shape=(64, 128), ori_shape=(64, 128))
    with torch.no_grad():
        logits = model.inference(torch.zeros(1, 3, 64, 128), [meta])
    assert windows == [(1, 3, 64, 64)] * 3  # x = 0, 43, 64
    assert logits.shape == (1, 19, 64, 128)
