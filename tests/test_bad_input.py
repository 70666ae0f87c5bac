"""Bad input gets one clear error naming the culprit; usable odd images are handled."""
import gzip
import os

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS, MODELS

import rotation_pred  # noqa: F401
from rotation_pred.compat import UnreadableImageError
from conftest import FMNIST_CONFIG, REPO, train_tool

IMAGENET_DATA = os.path.join(REPO, 'configs', '_base_', 'datasets',
                             'imagenet_rotation-pred.py')


def imagenet_folder(root, images):
    """ImageNet meta-file layout: train/<class>/<file> and meta/train.txt."""
    (root / 'train' / 'n01').mkdir(parents=True)
    (root / 'meta').mkdir()
    lines = []
    for name, writer in images.items():
        writer(str(root / 'train' / 'n01' / name))
        lines.append(f'n01/{name} 0')
    (root / 'meta' / 'train.txt').write_text('\n'.join(lines) + '\n')


def train_dataset(root, imdecode_backend='cv2'):
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(IMAGENET_DATA).train_dataloader.dataset
    cfg.data_root = str(root)
    cfg.pipeline[0].imdecode_backend = imdecode_backend
    return DATASETS.build(cfg)


def rgb_image(path, size=(300, 240)):
    cv2.imwrite(path, np.random.default_rng(0).integers(0, 256, size + (3, ), np.uint8))


def test_grayscale_and_rgba_images_become_three_channel_samples(tmp_path):
    imagenet_folder(tmp_path, {
        'gray.png': lambda p: cv2.imwrite(p, np.full((200, 260), 90, np.uint8)),
        'rgba.png': lambda p: cv2.imwrite(p, np.full((260, 200, 4), 90, np.uint8)),
        'rgb.jpg': rgb_image,
    })
    dataset = train_dataset(tmp_path)
    for i in range(3):
        assert dataset[i]['inputs'].shape == (3, 224, 224)


def test_corrupt_image_is_reported_by_file_name(tmp_path):
    imagenet_folder(tmp_path, {'broken.jpg': lambda p: open(p, 'wb').write(b'\xff\xd8 no')})
    with pytest.raises(UnreadableImageError, match=r'broken\.jpg: cannot load the image: '
                       r'not a decodable image'):
        train_dataset(tmp_path)[0]


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_empty_image_file_is_reported_by_file_name(tmp_path, backend):
    """A 0-byte file in the standard pipeline (LoadImageFromFile, before CheckImage):
    OpenCV alone says "!buf.empty()", Pillow "cannot identify image file <BytesIO>"."""
    imagenet_folder(tmp_path, {'good.jpg': rgb_image,
                               'empty.JPEG': lambda p: open(p, 'wb').close()})
    dataset = train_dataset(tmp_path, imdecode_backend=backend)
    assert dataset[0]['inputs'].shape == (3, 224, 224)
    with pytest.raises(UnreadableImageError, match=r'n01/empty\.JPEG: cannot load the image: '
                       r'the file is empty \(0 bytes\)') as caught:
        dataset[1]
    assert caught.value.__cause__ is not None  # the decoder's own error is kept


def test_missing_image_file_keeps_its_own_error(tmp_path):
    imagenet_folder(tmp_path, {'gone.jpg': rgb_image})
    os.remove(tmp_path / 'train' / 'n01' / 'gone.jpg')
    with pytest.raises(FileNotFoundError, match=r'gone\.jpg'):
        train_dataset(tmp_path)[0]


def test_ignore_empty_still_drops_the_sample(tmp_path):
    from mmcv.transforms import LoadImageFromFile
    path = tmp_path / 'empty.png'
    path.write_bytes(b'')
    assert LoadImageFromFile(ignore_empty=True)(dict(img_path=str(path))) is None


def test_image_smaller_than_the_minimum_is_reported_by_file_name(tmp_path):
    imagenet_folder(tmp_path, {'tiny.png': lambda p: rgb_image(p, (4, 5))})
    with pytest.raises(ValueError, match=r'tiny\.png: image is 4x5, smaller than '
                       r'CheckImage.min_size=8'):
        train_dataset(tmp_path)[0]


def test_image_smaller_than_a_fixed_crop_is_reported(tmp_path):
    from mmcv.transforms import Compose
    init_default_scope('mmpretrain')
    path = str(tmp_path / 'small.png')
    rgb_image(path, (100, 80))
    pipeline = Compose([dict(type='LoadImageFromFile'), dict(type='CheckImage', min_size=224),
                        dict(type='CenterCrop', crop_size=224)])
    with pytest.raises(ValueError, match=r'small\.png: image is 100x80, smaller than '
                       r'CheckImage.min_size=224'):
        pipeline(dict(img_path=path))


def test_non_square_batch_is_refused_by_the_model():
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(FMNIST_CONFIG)
    model = MODELS.build(cfg.model)
    with pytest.raises(ValueError, match='need square images, got 28x20'):
        model.loss(torch.randn(2, 1, 28, 20))


def test_unknown_rotation_set_in_a_config_is_refused(tmp_path):
    out = train_tool(FMNIST_CONFIG, tmp_path, options=['model.rotations=[0,30]'], check=False)
    assert out.returncode != 0
    assert 'unknown rotation set rotations=[0, 30]' in out.stderr


def test_missing_data_root_is_named(tmp_path):
    init_default_scope('mmpretrain')
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match=f"data_root '{missing}' does not exist.*"
                       'dataset-fashion-mnist'):
        DATASETS.build(dict(type='FashionMNISTIdx', data_root=missing))
    with pytest.raises(FileNotFoundError, match='data_batch_1.* not found'):
        DATASETS.build(dict(type='CIFAR10Batches', data_root=str(tmp_path)))


def test_truncated_idx_file_is_named(tmp_path):
    header = (2051).to_bytes(4, 'big') + b''.join(n.to_bytes(4, 'big') for n in (10, 28, 28))
    with gzip.open(tmp_path / 'train-images-idx3-ubyte.gz', 'wb') as f:
        f.write(header + bytes(100))
    with gzip.open(tmp_path / 'train-labels-idx1-ubyte.gz', 'wb') as f:
        f.write((2049).to_bytes(4, 'big') + (10).to_bytes(4, 'big') + bytes(10))
    init_default_scope('mmpretrain')
    with pytest.raises(ValueError, match=r'train-images-idx3-ubyte\.gz is truncated'):
        DATASETS.build(dict(type='FashionMNISTIdx', data_root=str(tmp_path)))


def test_unknown_split_is_named(fashion_mnist_root):
    init_default_scope('mmpretrain')
    with pytest.raises(ValueError, match="unknown split='val'"):
        DATASETS.build(dict(type='FashionMNISTIdx', data_root=fashion_mnist_root,
                            split='val'))
