"""S4L-Rotation: cross-entropy on the labelled images plus w x the rotation loss on the
rotated copies of every image, labelled and unlabelled, in the same batch."""
import math
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS, MODELS
from mmpretrain.structures import DataSample
from torch.utils.data import DataLoader, Dataset

import rotation_pred  # noqa: F401  (registers the model, data set and collate function)
from conftest import REPO, logged, tiny_rotnet, train_tool
from rotation_pred.datasets import ClassBalancedSubset, LabelledUnlabelled
from rotation_pred.datasets.labelled_unlabelled import labelled_unlabelled_collate

S4L_CONFIG = os.path.join(REPO, 'configs', 's4l-rotation_nin3b-w48_1xb64_fashion-mnist-k100.py')
WIDTH = 8


def s4l_parts(width=WIDTH):
    """Backbone, neck and head configs of a tiny 10-class grayscale classifier."""
    return dict(
        backbone=dict(type='NetworkInNetwork', num_blocks=3, width=width, in_channels=1),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=width,
                  loss=dict(type='CrossEntropyLoss'), topk=(1, )))


def tiny_s4l(rotation_weight=1.0, seed=0, **kwargs):
    """An S4LRotation with a 3-block NIN of width 8, weights drawn after ``seed``;
    ``kwargs`` replace entries of its config."""
    init_default_scope('mmpretrain')
    torch.manual_seed(seed)
    cfg = dict(type='S4LRotation', rotation_weight=rotation_weight,
               rotation_head=dict(type='RotationHead', in_channels=WIDTH, num_classes=4),
               **s4l_parts())
    model = MODELS.build({**cfg, **kwargs})
    model.init_weights()
    return model


def hand_made_batch():
    """Four 12x12 grayscale images: labelled (class 3), unlabelled (-1), labelled
    (class 7), unlabelled (no gt_label at all)."""
    generator = torch.Generator().manual_seed(1)
    images = torch.randn(4, 1, 12, 12, generator=generator)
    samples = [DataSample().set_gt_label(3), DataSample().set_gt_label(-1),
               DataSample().set_gt_label(7), DataSample()]
    return images, samples


def record_backbone_inputs(model):
    """A list that gets a copy of every batch the backbone sees."""
    seen = []
    model.backbone.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    return seen


def test_loss_is_labelled_cross_entropy_plus_weighted_rotation_cross_entropy():
    model = tiny_s4l(rotation_weight=0.5)
    images, samples = hand_made_batch()
    losses = model.loss(images, samples)

    # Computed here from the same weights: GAP + linear layer by hand, the four
    # rotations with torch.rot90 (counter-clockwise, label k = k quarter turns).
    backbone = model.backbone
    labelled = images[[0, 2]]
    class_logits = model.head.fc(backbone(labelled)[-1].mean(dim=(2, 3)))
    expected_cls = F.cross_entropy(class_logits, torch.tensor([3, 7]))
    copies = torch.cat([torch.rot90(images, k, dims=(2, 3)) for k in range(4)])
    rotation_labels = torch.arange(4).repeat_interleave(4)
    rotation_logits = model.rotation_head.fc(backbone(copies)[-1].mean(dim=(2, 3)))
    expected_rot = F.cross_entropy(rotation_logits, rotation_labels)

    torch.testing.assert_close(losses['loss_cls'], expected_cls)
    torch.testing.assert_close(losses['loss_rot'], 0.5 * expected_rot)
    total, _ = model.parse_losses(losses)
    torch.testing.assert_close(total, expected_cls + 0.5 * expected_rot)


def test_rotation_weight_zero_is_exactly_the_supervised_loss():
    model = tiny_s4l(rotation_weight=0)
    classifier = MODELS.build(dict(type='ImageClassifier', **s4l_parts()))
    missing, unexpected = classifier.load_state_dict(model.state_dict(), strict=False)
    assert not missing and all(k.startswith('rotation_head.') for k in unexpected)
    images, samples = hand_made_batch()
    seen = record_backbone_inputs(model)

    losses = model.loss(images, samples)
    supervised = classifier.loss(images[[0, 2]], [samples[0], samples[2]])

    assert set(losses) == {'loss_cls'}
    assert torch.equal(losses['loss_cls'], supervised['loss'])
    # The rotation branch is skipped: one backbone pass, on the labelled images only.
    assert len(seen) == 1 and torch.equal(seen[0], images[[0, 2]])


def test_the_rotation_branch_sees_exact_rot90_copies_of_every_image():
    model = tiny_s4l(rotation_weight=1.0)
    images, samples = hand_made_batch()
    seen = record_backbone_inputs(model)
    model.loss(images, samples)

    assert len(seen) == 2
    assert torch.equal(seen[0], images[[0, 2]])  # the classifier: labelled, unrotated
    # Image-major: copy 4i+k is image i turned k quarter turns counter-clockwise.
    expected = torch.stack([torch.rot90(images, k, dims=(2, 3)) for k in range(4)], dim=1)
    assert torch.equal(seen[1], expected.flatten(0, 1))


@pytest.mark.parametrize('bad', [-0.1, float('nan'), True])
def test_a_bad_rotation_weight_is_refused_at_build(bad):
    with pytest.raises(ValueError, match='rotation_weight'):
        tiny_s4l(rotation_weight=bad)


class Toy(Dataset):
    """``n`` packed samples: image i is a (1, 4, 4) uint8 tensor filled with i, its
    label i % 3."""
    metainfo = {'classes': ('a', 'b', 'c')}

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def get_gt_labels(self):
        return np.arange(self.n) % 3

    def __getitem__(self, i):
        return dict(inputs=torch.full((1, 4, 4), i, dtype=torch.uint8),
                    data_samples=DataSample().set_gt_label(i % 3))


def item_ids(item):
    """``[(image id, gt_label)]`` of the samples of an item."""
    return [(int(s['inputs'][0, 0, 0]), int(s['data_samples'].gt_label)) for s in item]


def test_a_config_without_an_unlabelled_data_set_is_refused():
    cfg = Config.fromfile(S4L_CONFIG)
    dataset = cfg.train_dataloader.dataset
    init_default_scope('mmpretrain')
    for missing in (None, ''):
        dataset.unlabelled = missing
        with pytest.raises(ValueError, match='unlabelled'):
            DATASETS.build(dataset)
    with pytest.raises(ValueError, match='unlabelled'):
        LabelledUnlabelled(labelled=Toy(6), unlabelled=Toy(0))
    every_image = ClassBalancedSubset(Toy(6), fraction=1.0)
    with pytest.raises(ValueError, match='unlabelled'):  # 'rest' of nothing
        LabelledUnlabelled(labelled=every_image, unlabelled='rest')


def test_labelled_unlabelled_is_deterministic_and_gives_both_kinds():
    def build(seed, per_item=1):
        return LabelledUnlabelled(ClassBalancedSubset(Toy(30), fraction=0.2, seed=seed),
                                  unlabelled='rest', unlabelled_per_labelled=per_item)

    data = build(seed=0)
    labelled_ids = set(int(i) for i in data.labelled.indices)
    assert len(labelled_ids) == 6 and len(data) == 24  # 2 per class; the 24 others
    items = [item_ids(data[i]) for i in range(len(data))]
    for item in items:
        (image, label), (other, hidden) = item
        assert image in labelled_ids and label == image % 3
        assert other not in labelled_ids and hidden == -1  # its label is hidden
    # One epoch: every unlabelled image once, every labelled image 4 times.
    assert sorted(item[1][0] for item in items) == sorted(set(range(30)) - labelled_ids)
    assert all([item[0][0] for item in items].count(i) == 4 for i in labelled_ids)
    # An item depends on its index only (resumable), and on the seed.
    assert [item_ids(data[i]) for i in reversed(range(len(data)))] == items[::-1]
    assert [item_ids(build(seed=0)[i]) for i in range(len(data))] == items
    assert [item_ids(build(seed=1)[i]) for i in range(len(data))] != items

    two = build(seed=0, per_item=2)
    assert len(two) == 12 and all(len(two[i]) == 3 for i in range(12))
    batch = next(iter(DataLoader(two, batch_size=4, collate_fn=labelled_unlabelled_collate)))
    assert batch['inputs'].shape == (12, 1, 4, 4)
    labels = [int(s.gt_label) for s in batch['data_samples']]
    assert all(label >= 0 for label in labels[:4]) and labels[4:] == [-1] * 8


def test_training_from_a_rotnet_checkpoint_loads_backbone_and_rotation_head(tmp_path):
    rotnet = tiny_rotnet(width=WIDTH, seed=3)
    checkpoint = str(tmp_path / 'rotnet.pth')
    torch.save(dict(state_dict=rotnet.state_dict()), checkpoint)
    model = tiny_s4l(
        backbone=dict(type='NetworkInNetwork', num_blocks=3, width=WIDTH, in_channels=1,
                      init_cfg=dict(type='Pretrained', checkpoint=checkpoint,
                                    prefix='backbone.')),
        rotation_head=dict(type='RotationHead', in_channels=WIDTH, num_classes=4,
                           init_cfg=dict(type='Pretrained', checkpoint=checkpoint,
                                         prefix='head.')))
    for name, value in rotnet.backbone.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[name], value), name
    assert torch.equal(model.rotation_head.fc.weight, rotnet.head.fc.weight)


def test_two_training_steps_of_the_config_log_both_losses_and_validate(tmp_path):
    train_tool(S4L_CONFIG, tmp_path, options=[
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'train_dataloader.batch_size=8',
        'train_dataloader.dataset.labelled.dataset.indices=200',  # 10 + 190 images
        'val_dataloader.dataset.dataset.indices=600',  # train images 500-599
        'default_hooks.logger.interval=1'], timeout=300)
    for key in ('loss_cls', 'loss_rot'):
        values = logged(tmp_path, key)
        assert len(values) == 2 and all(math.isfinite(v) and v > 0 for v in values), key
    top1 = logged(tmp_path, 'accuracy/top1')
    assert len(top1) == 1 and 0 <= top1[0] <= 100
