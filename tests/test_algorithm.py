"""RotationPred as the paper defines it: every image goes through the network in its K
rotated copies, copy k carries label k ("turned by rotations[k] counter-clockwise", as
numpy.rot90 turns it), and the loss is the mean cross-entropy over the K*N samples.

The checks use a network trained for a few seconds on Fashion-MNIST, so its logits are
large and differ per rotation: a wrong label, a skipped rotation or a copy attached to
the wrong image changes every number below by far more than the tolerance.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import rotation_pred  # noqa: F401
from rotation_pred.datasets.idx_datasets import read_idx

from conftest import tiny_rotnet

MEAN, STD = 72.94, 90.02  # Fashion-MNIST pixel statistics (the project's configs)


def fashion_mnist(root, split, count):
    """The first ``count`` images of a split, normalised and shrunk to 14x14 (2x2
    averages, to train in seconds): (count, 1, 14, 14) floats."""
    prefix = 'train' if split == 'train' else 't10k'
    images = read_idx(f'{root}/{prefix}-images-idx3-ubyte.gz')[:count]
    images = (torch.from_numpy(images.astype(np.float32))[:, None] - MEAN) / STD
    return F.avg_pool2d(images, 2)


def turned(images, quarter_turns):
    """Images (N, C, H, W) turned with numpy.rot90 (not the project's own code)."""
    return torch.from_numpy(np.ascontiguousarray(
        np.rot90(images.numpy(), quarter_turns, axes=(2, 3))))


def logits_of(model, images):
    return model.head(model.backbone(images))


_TRAINED_WEIGHTS = {}


@pytest.fixture
def trained(fashion_mnist_root):
    """A RotationPred trained through its own ``loss`` for 250 steps of 32 images
    (about 10 s on one CPU core; 72-97% of the copies of each label recognised,
    depending on the thread count).
    Trained once; every test gets a freshly built model with those weights, so each
    test also runs the model's construction and checkpoint loading."""
    if not _TRAINED_WEIGHTS:
        model = tiny_rotnet().train()
        images = fashion_mnist(fashion_mnist_root, 'train', 250 * 32)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for step in range(250):
            loss = model.loss(images[step * 32:(step + 1) * 32])['loss']
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        _TRAINED_WEIGHTS.update(model.state_dict())
    model = tiny_rotnet(seed=1)
    model.load_state_dict(_TRAINED_WEIGHTS)
    return model.eval()


@pytest.fixture(scope='module')
def test_images(fashion_mnist_root):
    return fashion_mnist(fashion_mnist_root, 'test', 400)


@torch.no_grad()
def test_a_briefly_trained_model_recognises_numpy_rot90_turns_label_by_label(
        trained, test_images):
    # Label k must mean numpy.rot90(image, k): a model trained with another convention
    # (labels reversed, shifted, or the rotation skipped) gets some label below 25%.
    accuracies = []
    for label in range(4):
        predicted = logits_of(trained, turned(test_images, label)).argmax(1)
        accuracies.append(float((predicted == label).float().mean() * 100))
    assert min(accuracies) > 50 and sum(accuracies) / 4 > 75, accuracies


@torch.no_grad()
def by_hand_loss(model, images, label_of_turn=lambda k: k, turn=lambda k: k):
    """Mean over images and rotations of -log softmax(logits(turned image))[label]."""
    losses = []
    for k in range(4):
        logp = torch.log_softmax(logits_of(model, turned(images, turn(k))), dim=1)
        losses.append(-logp[:, label_of_turn(k)])
    return torch.stack(losses).mean()


@torch.no_grad()
def test_loss_is_the_mean_cross_entropy_over_4n_samples(trained, test_images):
    images = test_images[:6]
    loss = trained.loss(images)['loss']
    assert torch.allclose(loss, by_hand_loss(trained, images), atol=1e-5)
    # Any other labelling or a missing rotation gives a clearly different number.
    wrong = {
        'labels reversed': by_hand_loss(trained, images, lambda k: -k % 4),
        'labels shifted': by_hand_loss(trained, images, lambda k: (k + 1) % 4),
        'labels permuted': by_hand_loss(trained, images, lambda k: (1, 0, 3, 2)[k]),
        'rotation skipped': by_hand_loss(trained, images, turn=lambda k: 0),
        'uniform prediction': torch.tensor(math.log(4)),
    }
    for name, other in wrong.items():
        assert abs(float(other - loss)) > 0.3, name


@torch.no_grad()
def test_rotation_accuracy_is_the_share_of_the_4n_samples_predicted_right(trained,
                                                                           test_images):
    images = test_images[:50]
    right = sum(int((logits_of(trained, turned(images, k)).argmax(1) == k).sum())
                for k in range(4))
    accuracy = trained.loss(images)['rotation_accuracy']
    assert accuracy == pytest.approx(100 * right / 200, abs=1e-4)
    assert 25 < float(accuracy) < 100  # the check is not trivially 0, 100 or chance


def test_the_loss_is_computed_on_the_training_graph_of_backbone_and_head():
    model = tiny_rotnet().train()
    model.loss(fashion_like(4))['loss'].backward()
    assert model.backbone.blocks[0][0][0].weight.grad.abs().sum() > 0
    assert model.head.fc.weight.grad.abs().sum() > 0


def fashion_like(n, seed=0):
    """Images with an asymmetric bright bar, so each rotation looks different."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 16, 16, generator=generator)
    x[:, :, 2:4, 3:12] += 3
    return x


@torch.no_grad()
def test_random_feeding_turns_each_image_once_by_its_drawn_label(trained, test_images):
    model = tiny_rotnet(feeding='random').eval()
    model.load_state_dict(trained.state_dict())
    images = test_images[:32]
    torch.manual_seed(3)
    loss = model.loss(images)['loss']
    torch.manual_seed(3)
    labels = torch.randint(4, (32, ))  # what rotate_batch draws with the same seed
    assert sorted(set(labels.tolist())) == [0, 1, 2, 3]
    by_hand = torch.stack([
        F.cross_entropy(logits_of(trained, turned(images[i:i + 1], int(k))), k.view(1))
        for i, k in enumerate(labels)]).mean()
    assert torch.allclose(loss, by_hand, atol=1e-5)
    assert abs(float(loss - trained.loss(images)['loss'])) > 1e-3  # not all 4 copies


@torch.no_grad()
def test_predict_row_k_of_image_i_scores_image_i_turned_by_rotations_k(trained,
                                                                       test_images):
    images = test_images[:5]
    samples = trained(images, mode='predict')
    assert len(samples) == 5
    for i, sample in enumerate(samples):
        scores = sample.rotation_scores
        assert scores.shape == (4, 4)
        for k in range(4):
            expected = logits_of(trained, turned(images[i:i + 1], k)).softmax(1)[0]
            assert torch.allclose(scores[k], expected, atol=1e-5), (i, k)
    # Images and copies are told apart: the same row of two images, or two rows of one
    # image, differ (so a swap would be caught above).
    first, second = samples[0].rotation_scores, samples[1].rotation_scores
    assert (first - second).abs().max() > 1e-3  # 100 times the tolerance
    assert (first[1] - first[3]).abs().max() > 0.5


@torch.no_grad()
def test_predict_scores_every_copy_of_an_eight_rotation_set():
    model = tiny_rotnet(rotations=(0, 45, 90, 135, 180, 225, 270, 315)).eval()
    samples = model(fashion_like(3), mode='predict')
    assert len(samples) == 3
    scores = samples[0].rotation_scores
    assert scores.shape == (8, 8)
    assert torch.allclose(scores.sum(1), torch.ones(8))


@torch.no_grad()
def test_extract_feat_is_the_backbone_on_the_unrotated_images(trained, test_images):
    images = test_images[:4]
    for feats in (trained.extract_feat(images), trained(images, mode='tensor'),
                  trained(images)):  # 'tensor' is the default mode
        (expected, ) = trained.backbone(images)
        assert torch.equal(feats[-1], expected)
        for k in (1, 2, 3):  # the features of a turned copy are measurably different
            (other, ) = trained.backbone(turned(images, k))
            assert (other - expected).abs().max() > 0.1


@torch.no_grad()
def test_training_step_normalises_once_then_rotates(trained, test_images):
    # Raw pixels through the model's own data preprocessor and loss ...
    raw = (test_images[:6] * STD + MEAN).round().clamp(0, 255).to(torch.uint8)
    data = trained.data_preprocessor(dict(inputs=raw, data_samples=None), training=True)
    loss = trained(**data, mode='loss')['loss']
    # ... equal the loss of the by-hand normalised, numpy-turned copies.
    normalised = (raw.float() - MEAN) / STD
    assert torch.allclose(loss, by_hand_loss(trained, normalised), atol=1e-5)
    twice = (normalised - MEAN) / STD
    assert abs(float(by_hand_loss(trained, twice) - loss)) > 0.1


def test_a_list_of_one_view_is_that_view_and_two_views_are_refused():
    model = tiny_rotnet().eval()
    x = fashion_like(3)
    assert all(torch.equal(a, b) for a, b in zip(model.extract_feat([x]),
                                                 model.extract_feat(x)))
    assert torch.equal(model.rotated_samples([x])[0], model.rotated_samples(x)[0])
    with pytest.raises(ValueError) as error:
        model.loss([x, x])
    assert str(error.value) == 'RotationPred takes one view per image, got 2'


def test_the_defaults_are_the_papers_four_rotations_all_in_the_batch_in_nchw():
    init_default_scope('mmpretrain')
    model = MODELS.build(dict(
        type='RotationPred',
        backbone=dict(type='NetworkInNetwork', num_blocks=2, width=6, in_channels=1),
        head=dict(type='RotationHead', in_channels=6)))
    assert model.rotations == (0, 90, 180, 270) and model.feeding == 'all'
    assert model.channels_last is False


@torch.no_grad()
def test_a_neck_sits_between_backbone_and_head(trained, test_images):
    model = tiny_rotnet()
    necked = MODELS.build(dict(
        type='RotationPred', neck=dict(type='GlobalAveragePooling'),
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[MEAN], std=[STD]),
        backbone=dict(type='NetworkInNetwork', num_blocks=3, width=12, in_channels=1),
        head=dict(type='RotationHead', in_channels=12))).eval()
    necked.backbone.load_state_dict(trained.backbone.state_dict())
    necked.head.load_state_dict(trained.head.state_dict())
    (pooled, ) = necked.head_inputs(test_images[:3])
    assert pooled.shape == (3, 12)  # the neck's output, not the feature map
    assert torch.allclose(necked.loss(test_images[:6])['loss'],
                          trained.loss(test_images[:6])['loss'], atol=1e-5)
    assert necked.data_preprocessor.mean.flatten().tolist() == pytest.approx([MEAN])
    del model


@torch.no_grad()
def test_predict_fills_the_data_samples_it_is_given(trained, test_images):
    from mmpretrain.structures import DataSample
    given = [DataSample().set_gt_label(i) for i in range(3)]
    returned = trained(test_images[:3], given, mode='predict')
    assert all(r is g for r, g in zip(returned, given))
    assert [int(s.gt_label) for s in returned] == [0, 1, 2]
    assert all(s.rotation_scores.shape == (4, 4) for s in returned)


def test_head_size_must_match_the_rotation_set():
    with pytest.raises(ValueError, match=r'head.num_classes=4 does not match'):
        tiny_rotnet(rotations=(0, 180), num_classes=4)


def test_checkpoint_of_another_rotation_set_is_refused():
    four, eight = tiny_rotnet(), tiny_rotnet(rotations=tuple(range(0, 360, 45)))
    with pytest.raises(ValueError, match=r'head.fc.weight has shape \(8, 12\) in the '
                       r'checkpoint but \(4, 12\) in the model \(rotations=\(0, 90, 180, '
                       r'270\)\); was it trained with another backbone or rotation set\?'):
        four.load_state_dict(eight.state_dict(), strict=False)


def test_checkpoint_of_another_model_is_refused():
    other = torch.nn.Sequential(torch.nn.Linear(2, 2)).state_dict()
    with pytest.raises(ValueError, match=r'does not hold RotationPred weights: none of its '
                       r'keys \(e.g. 0.weight, 0.bias\) match this model \(e.g. '
                       r'backbone.blocks.0.0.0.weight\)'):
        tiny_rotnet().load_state_dict(other, strict=False)
    with pytest.raises(ValueError, match=r'keys \(e.g. none\)'):
        tiny_rotnet().load_state_dict({}, strict=False)
    many = {f'other.{i}': torch.zeros(1) for i in range(5)}
    with pytest.raises(ValueError, match=r'\(e.g. other.0, other.1, other.2\) match'):
        tiny_rotnet().load_state_dict(many, strict=False)


def test_checkpoint_of_the_same_model_loads_exactly():
    source, target = tiny_rotnet(seed=1), tiny_rotnet(seed=2)
    target.load_state_dict(source.state_dict())
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key
