"""Tiny data sets in their real on-disk formats, small RotationPred checkpoints and small
benchmark configs, for the classification benchmark tests."""
import os

import cv2
import numpy as np
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import rotation_pred  # noqa: F401
from rotation_pred.evaluation.voc import VOC_CLASSES

from conftest import REPO

BENCHMARKS = os.path.join(REPO, 'configs', 'benchmarks', 'classification')

# Class colours (BGR): images of a class are that colour plus noise, so classes differ.
COLOURS = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40)]


def image(path, colour, rng, size=40):
    noise = rng.integers(-40, 40, (size, size, 3))
    cv2.imwrite(str(path), np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8))


def write_meta_layout(root, splits, num_classes=4, ext='.png', seed=0):
    """``root/<split>/c<k>/<i><ext>`` and ``root/meta/<split>.txt`` ("c<k>/<i><ext> k")
    for ``splits = {split: images per class}`` (ImageNet, Places205, iNat layout)."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(root, 'meta'), exist_ok=True)
    for split, per_class in splits.items():
        lines = []
        for label in range(num_classes):
            os.makedirs(os.path.join(root, split, f'c{label}'), exist_ok=True)
            for i in range(per_class):
                rel = f'c{label}/{i}{ext}'
                image(os.path.join(root, split, rel), COLOURS[label % len(COLOURS)], rng)
                lines.append(f'{rel} {label}')
        with open(os.path.join(root, 'meta', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return str(root)


def write_knn_lookalikes(root, lookalikes=8, seed=0):
    """A meta-layout data set (train -> val) whose k-NN answer is known for every k.

    Colour group g (one of ``COLOURS``) holds one val image of class g, a byte-identical
    copy of it in train, also of class g, and ``lookalikes`` other train images of the same
    colour (own noise) of class (g + 1) % 4. The copy is every val image's nearest
    neighbour (cosine 1), the look-alikes come next: the weighted vote is right with k = 1
    and k = 2 (the copy outweighs one look-alike) and wrong for every k from 3 to
    ``lookalikes + 1``."""
    rng = np.random.default_rng(seed)
    groups = len(COLOURS)
    lines = {'train': [], 'val': []}
    for g, colour in enumerate(COLOURS):
        for split in ('train', 'val'):
            os.makedirs(os.path.join(root, split, f'g{g}'), exist_ok=True)
        pixels = np.clip(np.array(colour) + rng.integers(-40, 40, (40, 40, 3)), 0, 255)
        for split in ('train', 'val'):
            cv2.imwrite(os.path.join(root, split, f'g{g}', 'copy.png'), pixels.astype(np.uint8))
            lines[split].append(f'g{g}/copy.png {g}')
        for i in range(lookalikes):
            image(os.path.join(root, 'train', f'g{g}', f'{i}.png'), colour, rng)
            lines['train'].append(f'g{g}/{i}.png {(g + 1) % groups}')
    os.makedirs(os.path.join(root, 'meta'), exist_ok=True)
    for split, split_lines in lines.items():
        with open(os.path.join(root, 'meta', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(split_lines) + '\n')
    return str(root)


def voc_targets(num_images, offset):
    """(N, 20) targets: image i shows class (i + offset) % 20, and every 4th image also a
    difficult object of the next class."""
    targets = -np.ones((num_images, len(VOC_CLASSES)), dtype=np.int8)
    for i in range(num_images):
        targets[i, (i + offset) % 20] = 1
        if i % 4 == 0 and targets[i, (i + offset + 1) % 20] == -1:
            targets[i, (i + offset + 1) % 20] = 0
    return targets


def write_voc2007(root, trainval=80, test=40, seed=0):
    """A VOC2007 folder: JPEGImages, Annotations (XML), ImageSets/Main lists with the
    per-class 1/-1/0 files. Returns (root, {split: targets})."""
    rng = np.random.default_rng(seed)
    for sub in ('JPEGImages', 'Annotations', os.path.join('ImageSets', 'Main')):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    splits = {'trainval': voc_targets(trainval, 0), 'test': voc_targets(test, 7)}
    start = 0
    for split, targets in splits.items():
        ids = [f'{start + i:06d}' for i in range(len(targets))]
        start += len(targets)
        for image_id, row in zip(ids, targets):
            main = int(np.flatnonzero(row == 1)[0])
            image(os.path.join(root, 'JPEGImages', f'{image_id}.jpg'),
                  COLOURS[main % len(COLOURS)], rng)
            objects = ''.join(
                f'<object><name>{VOC_CLASSES[c]}</name><difficult>{int(row[c] == 0)}'
                f'</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>30</xmax>'
                f'<ymax>30</ymax></bndbox></object>' for c in np.flatnonzero(row >= 0))
            with open(os.path.join(root, 'Annotations', f'{image_id}.xml'), 'w') as f:
                f.write(f'<annotation><filename>{image_id}.jpg</filename>{objects}'
                        '</annotation>')
        main_dir = os.path.join(root, 'ImageSets', 'Main')
        with open(os.path.join(main_dir, f'{split}.txt'), 'w') as f:
            f.write('\n'.join(ids) + '\n')
        for c, name in enumerate(VOC_CLASSES):
            with open(os.path.join(main_dir, f'{name}_{split}.txt'), 'w') as f:
                f.write(''.join(f'{i} {int(t):2d}\n' for i, t in zip(ids, targets[:, c])))
    return str(root), splits


def rotation_pred_checkpoint(path, backbone, in_channels, seed=0):
    """A randomly initialised RotationPred checkpoint as tools/train.py saves it."""
    init_default_scope('mmpretrain')
    torch.manual_seed(seed)
    model = MODELS.build(dict(
        type='RotationPred', backbone=backbone,
        head=dict(type='RotationHead', in_channels=in_channels, num_classes=4),
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[0, 0, 0],
                               std=[1, 1, 1])))
    model.init_weights()
    # Non-trivial BatchNorm statistics, so that a reset would be noticed.
    for name, buffer in model.state_dict().items():
        if name.endswith('running_mean'):
            buffer.uniform_(-0.5, 0.5)
        elif name.endswith('running_var'):
            buffer.uniform_(0.5, 2.0)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1, iter=10)), path)
    return str(path)


def resnet18_checkpoint(path):
    return rotation_pred_checkpoint(
        path, dict(type='ResNet', depth=18, out_indices=(3, )), 512)


# ResNet-18 with its stem at 32x32: stem 64@16, stages 64@8, 128@4, 256@2, 512@1.
R18_32PX = dict(backbone=dict(depth=18),
                neck=dict(pools=[(2, 2, 0), None, None, None, None]),
                head=dict(in_dims=[4096, 4096, 2048, 1024, 512]))

SMALL_PIPELINES = '''
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=32, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=36, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]
'''


def small_config(folder, base, data_root, model=None, train=True, extra='', epochs=1):
    """A config file inheriting ``base`` (relative to configs/benchmarks/classification)
    on ``data_root``, at 32x32 pixels, batch 8, no workers, ``epochs`` epochs, no
    validation."""
    loaders = ['train_dataloader', 'test_dataloader'] + (['val_dataloader'] if train else [])
    text = [f'_base_ = {os.path.join(BENCHMARKS, base)!r}', SMALL_PIPELINES]
    if model is not None:
        text.append(f'model = {model!r}')
    for loader in loaders:
        pipeline = 'train_pipeline' if loader == 'train_dataloader' and train \
            else 'test_pipeline'
        text.append(f'{loader} = dict(batch_size=8, num_workers=0, dataset=dict('
                    f'data_root={data_root!r}, pipeline={pipeline}))')
    if train:
        text.append(f'train_cfg = dict(max_epochs={epochs}, val_begin={epochs + 1})')
        text.append("default_hooks = dict(logger=dict(interval=1))")
    path = os.path.join(folder, f'small_{os.path.basename(base)}')
    with open(path, 'w') as f:
        f.write('\n'.join(text) + '\n' + extra)
    return path
