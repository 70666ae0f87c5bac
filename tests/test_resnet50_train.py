"""The ResNet-50 path without a GPU: the ImageNet pretraining config itself
(configs/rotation-pred_resnet50_8xb16-steplr-70e_in1k.py) trains for 2 iterations through
tools/train.py on JPEGs written in the ImageNet meta-file layout, validates, and resumes
from its checkpoint for 2 more.

Only what cannot fit a 2-core CI machine is overridden: the data root, 2 images per
step (8 rotated samples) instead of 16, no dataloader workers. The model (ResNet-50 with
SyncBN, channels-last), the 224-pixel pipeline, the optimizer and the warm-up schedule
are the config's own."""
import os.path as osp
import re

import cv2
import numpy as np
import torch

import rotation_pred  # noqa: F401  (loads mmengine checkpoints with weights_only=True)
from conftest import REPO, read_scalars, train_tool

CONFIG = osp.join(REPO, 'configs', 'rotation-pred_resnet50_8xb16-steplr-70e_in1k.py')

# (height, width, channels): non-square, smaller and larger than the 224 crop, and a
# grayscale file among them
TRAIN_IMAGES = [(300, 260, 3), (180, 240, 3), (256, 256, 1), (240, 320, 3)]
VAL_IMAGES = [(260, 300, 3), (300, 240, 3)]


def write_imagenet_layout(root):
    """``root/{train,val}/<wnid>/<name>.JPEG`` and ``root/meta/{train,val}.txt``
    ("relative/path label" per line), as ImageNet is laid out for MMPretrain."""
    rng = np.random.default_rng(0)
    (root / 'meta').mkdir(parents=True)
    for split, shapes in (('train', TRAIN_IMAGES), ('val', VAL_IMAGES)):
        lines = []
        for i, (height, width, channels) in enumerate(shapes):
            wnid = f'n0000000{i % 2}'
            (root / split / wnid).mkdir(parents=True, exist_ok=True)
            name = f'{wnid}/{split}_{i:04d}.JPEG'
            pixels = rng.integers(0, 256, (height, width, channels), np.uint8).squeeze()
            assert cv2.imwrite(str(root / split / name), pixels)
            lines.append(f'{name} {i % 2}')
        (root / 'meta' / f'{split}.txt').write_text('\n'.join(lines) + '\n')


def train(data_root, work_dir, epochs, *flags):
    loader = ['dataset.data_root={}'.format(data_root), 'batch_size=2', 'num_workers=0',
              'persistent_workers=False']
    options = ([f'train_dataloader.{o}' for o in loader] +
               [f'val_dataloader.{o}' for o in loader] +
               [f'train_cfg.max_epochs={epochs}', 'train_cfg.val_interval=1',
                'default_hooks.logger.interval=1'])
    return train_tool(CONFIG, work_dir, *flags, options=options)


def logged_steps(work_dir):
    """``[(step, loss, lr)]`` of every training iteration in the work dir's scalar logs."""
    return [(row['step'], row['loss'], row['lr'])
            for row in read_scalars(str(work_dir), all_runs=True) if 'loss' in row]


def test_the_resnet50_config_trains_two_iterations_and_resumes(tmp_path):
    data_root, work_dir = tmp_path / 'imagenet', tmp_path / 'work'
    write_imagenet_layout(data_root)

    first = train(data_root, work_dir, 1)
    log = first.stdout + first.stderr
    assert 'world_size=1 images_per_gpu=2 global_batch=2 samples_per_step=8' in log
    assert re.search(r'Epoch\(val\) \[1\]\[1/1\]\s+rotation/accuracy: \d', log), log[-3000:]
    assert [step for step, _, _ in logged_steps(work_dir)] == [1, 2]

    checkpoint = torch.load(work_dir / 'epoch_1.pth', weights_only=True)
    weights = checkpoint['state_dict']
    assert weights['backbone.conv1.weight'].shape == (64, 3, 7, 7)
    assert weights['backbone.layer4.2.conv3.weight'].shape == (2048, 512, 1, 1)
    assert weights['head.fc.weight'].shape == (4, 2048)
    assert checkpoint['meta']['iter'] == 2 and checkpoint['meta']['epoch'] == 1

    second = train(data_root, work_dir, 2, '--resume')
    assert re.search(r'resumed epoch: 1, iter: 2', second.stdout + second.stderr)
    steps = logged_steps(work_dir)
    assert [step for step, _, _ in steps] == [1, 2, 3, 4]
    assert all(np.isfinite(loss) for _, loss, _ in steps)
    # the 5-epoch linear warm-up from 0.1 x lr goes on where it stopped
    lrs = [lr for _, _, lr in steps]
    assert lrs == sorted(lrs) and lrs[0] < lrs[-1] < 0.2
    resumed = torch.load(work_dir / 'epoch_2.pth', weights_only=True)
    assert resumed['meta']['iter'] == 4
    assert not torch.equal(resumed['state_dict']['head.fc.weight'], weights['head.fc.weight'])
