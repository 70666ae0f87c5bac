"""Tiny data sets in the real on-disk formats of the four transfer benchmarks, and a tiny
RotationPred ResNet-50 checkpoint converted with the real converter.

Every image holds a few flat-coloured rectangles on noise; the rectangles are the
objects (detection) or the labelled regions (segmentation).
"""
import json
import os
import os.path as osp

import numpy as np
from PIL import Image

from conftest import REPO, run_tool

RESNET50_MODEL = osp.join(REPO, 'configs', '_base_', 'models', 'rotation-pred_resnet50.py')
VOC_PALETTE = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0, 0, 0, 128, 128, 0, 128, 0, 128,
               128, 128, 128, 128] + [0, 0, 0] * 248


def _scene(rng, width, height, count):
    """An RGB image (H, W, 3) uint8 and its rectangles [(x1, y1, x2, y2, k)], with
    inclusive pixel corners and a class index k in 0..2."""
    image = rng.integers(0, 64, (height, width, 3), dtype=np.uint8)
    boxes = []
    for _ in range(count):
        w, h = rng.integers(width // 4, width // 2), rng.integers(height // 4, height // 2)
        x1, y1 = rng.integers(0, width - w), rng.integers(0, height - h)
        k = int(rng.integers(0, 3))
        image[y1:y1 + h, x1:x1 + w] = (80 + 80 * k, 255 - 80 * k, 40 * k)
        boxes.append((int(x1), int(y1), int(x1 + w - 1), int(y1 + h - 1), k))
    return image, boxes


def _label_map(boxes, width, height, labels, background=0):
    """(H, W) uint8 map: each rectangle painted with labels[k], later ones on top."""
    seg = np.full((height, width), background, dtype=np.uint8)
    for x1, y1, x2, y2, k in boxes:
        seg[y1:y2 + 1, x1:x2 + 1] = labels[k]
    return seg


def _voc_split(base, list_folder, split, ids, rng, size):
    """Write ImageSets/<list_folder>/<split>.txt listing ``ids`` and a JPEG scene of
    ``size`` for each; returns ``{image_id: boxes}`` of the scenes."""
    with open(osp.join(base, 'ImageSets', list_folder, f'{split}.txt'), 'w') as f:
        f.write(''.join(f'{i}\n' for i in ids))
    scenes = {}
    for image_id in ids:
        image, scenes[image_id] = _scene(rng, *size, count=2)
        Image.fromarray(image).save(osp.join(base, 'JPEGImages', f'{image_id}.jpg'))
    return scenes


def write_voc_detection(root, size=(96, 72)):
    """VOCdevkit/VOC2007 (trainval 2, test 2 images) and VOC2012 (trainval 2): JPEGs,
    Annotations/*.xml with 1-based inclusive boxes, ImageSets/Main/*.txt."""
    rng = np.random.default_rng(0)
    names = ('dog', 'car', 'person')
    splits = {'VOC2007': {'trainval': ['000001', '000002'], 'test': ['000003', '000004']},
              'VOC2012': {'trainval': ['2012_000001', '2012_000002']}}
    for year, year_splits in splits.items():
        base = osp.join(root, 'VOCdevkit', year)
        for sub in ('JPEGImages', 'Annotations', osp.join('ImageSets', 'Main')):
            os.makedirs(osp.join(base, sub), exist_ok=True)
        for split, ids in year_splits.items():
            for image_id, boxes in _voc_split(base, 'Main', split, ids, rng, size).items():
                objects = ''.join(
                    f'<object><name>{names[k]}</name><pose>Unspecified</pose>'
                    '<truncated>0</truncated><difficult>0</difficult><bndbox>'
                    f'<xmin>{x1 + 1}</xmin><ymin>{y1 + 1}</ymin><xmax>{x2 + 1}</xmax>'
                    f'<ymax>{y2 + 1}</ymax></bndbox></object>'
                    for x1, y1, x2, y2, k in boxes)
                with open(osp.join(base, 'Annotations', f'{image_id}.xml'), 'w') as f:
                    f.write(f'<annotation><folder>{year}</folder><filename>{image_id}.jpg'
                            f'</filename><size><width>{size[0]}</width><height>{size[1]}'
                            '</height><depth>3</depth></size><segmented>0</segmented>'
                            f'{objects}</annotation>')
    return osp.join(root, 'VOCdevkit') + '/'


def write_coco(root, size=(96, 72)):
    """coco/{train2017,val2017}/*.jpg (2 images each) and
    annotations/instances_{train,val}2017.json with polygon masks."""
    import rotation_pred  # noqa: F401  (mmdet imports need its mmcv ops)
    from mmdet.datasets import CocoDataset
    rng = np.random.default_rng(1)
    # all 80 categories with their COCO ids (1-90 less 10 unused), as in the real files
    ids = [i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]
    categories = [dict(id=i, name=name, supercategory='thing')
                  for i, name in zip(ids, CocoDataset.METAINFO['classes'])]
    used = [categories[c] for c in (0, 2, 16)]  # person, car, dog
    base = osp.join(root, 'coco')
    os.makedirs(osp.join(base, 'annotations'), exist_ok=True)
    ann_id = 0
    for split, first_id in (('train2017', 1), ('val2017', 101)):
        os.makedirs(osp.join(base, split), exist_ok=True)
        images, annotations = [], []
        for image_id in (first_id, first_id + 1):
            image, boxes = _scene(rng, *size, count=2)
            file_name = f'{image_id:012d}.jpg'
            Image.fromarray(image).save(osp.join(base, split, file_name))
            images.append(dict(id=image_id, file_name=file_name, width=size[0],
                               height=size[1]))
            for x1, y1, x2, y2, k in boxes:
                ann_id += 1
                # a polygon with a notch, so that masks differ from boxes
                xm, ym = (x1 + x2 + 1) / 2, (y1 + y2 + 1) / 2
                polygon = [x1, y1, x2 + 1, y1, x2 + 1, y2 + 1, xm, ym, x1, y2 + 1]
                w, h = x2 + 1 - x1, y2 + 1 - y1
                annotations.append(dict(
                    id=ann_id, image_id=image_id, category_id=used[k]['id'],
                    segmentation=[[float(v) for v in polygon]], area=float(w * h * 0.75),
                    bbox=[float(x1), float(y1), float(w), float(h)], iscrowd=0))
        with open(osp.join(base, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(dict(images=images, annotations=annotations,
                           categories=categories), f)
    return base + '/'


def write_voc12aug(root, size=(96, 72)):
    """VOCdevkit/VOC2012 for mmseg's VOC12aug: JPEGImages, SegmentationClass (palette
    PNGs with 255 borders; train 2, val 2), SegmentationClassAug (label PNGs, as made
    from SBD; aug 2) and ImageSets/Segmentation/{train,val,aug}.txt."""
    rng = np.random.default_rng(2)
    base = osp.join(root, 'VOCdevkit', 'VOC2012')
    lists = {'train': ['2007_000032', '2007_000039'], 'val': ['2007_000033', '2007_000042'],
             'aug': ['2008_000002', '2008_000003']}
    for sub in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
                osp.join('ImageSets', 'Segmentation')):
        os.makedirs(osp.join(base, sub), exist_ok=True)
    for split, ids in lists.items():
        for image_id, boxes in _voc_split(base, 'Segmentation', split, ids, rng,
                                          size).items():
            seg = _label_map(boxes, *size, labels=(1, 7, 15))  # aeroplane, car, person
            if split == 'aug':
                Image.fromarray(seg, mode='L').save(
                    osp.join(base, 'SegmentationClassAug', f'{image_id}.png'))
                continue
            seg[:, 0] = 255  # VOC marks object borders as 255 (ignored)
            png = Image.fromarray(seg, mode='P')
            png.putpalette(VOC_PALETTE)
            png.save(osp.join(base, 'SegmentationClass', f'{image_id}.png'))
            # VOC12aug also has every train/val image among its aug labels
            Image.fromarray(np.where(seg == 255, 0, seg).astype(np.uint8), mode='L').save(
                osp.join(base, 'SegmentationClassAug', f'{image_id}.png'))
    return base


def write_cityscapes(root, size=(128, 64)):
    """cityscapes/leftImg8bit/{train,val}/CITY/*_leftImg8bit.png and
    gtFine/.../*_gtFine_labelTrainIds.png (train ids 0-18, 255 ignored); 2 + 2 images."""
    rng = np.random.default_rng(3)
    base = osp.join(root, 'cityscapes')
    for split, city in (('train', 'aachen'), ('val', 'frankfurt')):
        for folder in ('leftImg8bit', 'gtFine'):
            os.makedirs(osp.join(base, folder, split, city), exist_ok=True)
        for n in range(2):
            stem = f'{city}_{n:06d}_000019'
            image, boxes = _scene(rng, *size, count=3)
            Image.fromarray(image).save(
                osp.join(base, 'leftImg8bit', split, city, f'{stem}_leftImg8bit.png'))
            seg = _label_map(boxes, *size, labels=(11, 13, 18), background=0)  # person..
            seg[-4:] = 255  # the ego vehicle: ignored
            Image.fromarray(seg, mode='L').save(
                osp.join(base, 'gtFine', split, city, f'{stem}_gtFine_labelTrainIds.png'))
    return base + '/'


def write_pretrained_backbone(work_dir):
    """A RotationPred ResNet-50 with random weights (norm statistics included, so that
    they differ from any fresh initialisation) saved as a training checkpoint, then
    converted by tools/model_converters/extract_backbone_weights.py. Returns the path
    of the backbone-only checkpoint."""
    import torch
    from mmengine.config import Config
    from mmpretrain.registry import MODELS

    import rotation_pred  # noqa: F401
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(RESNET50_MODEL).model)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith(('bn1.weight', 'bn2.weight', 'bn3.weight', 'running_var')) \
                    or '.downsample.1.weight' in name:
                tensor.uniform_(0.5, 1.5)
            elif name.endswith(('.bias', 'running_mean')):
                tensor.normal_(0, 0.1)
    checkpoint = osp.join(work_dir, 'rotation-pred_resnet50.pth')
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    backbone = osp.join(work_dir, 'backbone.pth')
    run_tool('tools/model_converters/extract_backbone_weights.py', checkpoint, backbone)
    return backbone


def session_backbone(tmp_path_factory):
    """write_pretrained_backbone, once per test session."""
    folder = tmp_path_factory.getbasetemp() / 'rotation-pred-backbone'
    backbone = folder / 'backbone.pth'
    if not backbone.exists():
        folder.mkdir(exist_ok=True)
        write_pretrained_backbone(str(folder))
    return str(backbone)
