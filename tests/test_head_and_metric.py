"""The rotation head is global average pooling + one linear layer; the rotation
accuracy counts rotated copies, not images."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmpretrain.registry import METRICS, MODELS
from mmpretrain.structures import DataSample

import rotation_pred  # noqa: F401


def head(in_channels=3, num_classes=4):
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    module = MODELS.build(dict(type='RotationHead', in_channels=in_channels,
                               num_classes=num_classes))
    module.init_weights()
    return module


def test_head_averages_the_last_feature_map_then_applies_one_linear_layer():
    rotation_head = head()
    fmap = torch.randn(5, 3, 4, 6)
    earlier = torch.randn(5, 7, 8, 8)  # only the last map is read
    expected = fmap.mean(dim=(2, 3)) @ rotation_head.fc.weight.T + rotation_head.fc.bias
    assert torch.allclose(rotation_head((earlier, fmap)), expected, atol=1e-6)
    assert rotation_head((fmap, )).shape == (5, 4)


def test_head_defaults_to_the_four_rotations_and_keeps_its_sizes():
    init_default_scope('mmpretrain')
    rotation_head = MODELS.build(dict(type='RotationHead', in_channels=7))
    assert (rotation_head.in_channels, rotation_head.num_classes) == (7, 4)
    assert rotation_head.fc.weight.shape == (4, 7)


def test_head_takes_already_pooled_features():
    rotation_head = head()
    pooled = torch.randn(5, 3)
    assert torch.allclose(rotation_head((pooled, )), rotation_head.fc(pooled))


def test_head_starts_from_small_random_weights():
    rotation_head = head(in_channels=512)
    std = float(rotation_head.fc.weight.detach().std())
    assert 0.005 < std < 0.02  # Normal(std=0.01)


def test_head_loss_is_cross_entropy_and_accuracy_counts_samples():
    rotation_head = head(in_channels=4)
    with torch.no_grad():
        rotation_head.fc.weight.copy_(5 * torch.eye(4))
        rotation_head.fc.bias.zero_()
    feats = torch.eye(4)[[0, 1, 2, 3, 0, 0, 2, 1]]  # predicts these classes
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])  # 6 of 8 right
    losses = rotation_head.loss((feats, ), labels)
    assert torch.allclose(losses['loss'], F.cross_entropy(5 * feats, labels))
    assert float(losses['rotation_accuracy']) == pytest.approx(75.0)


def scores_with_argmax(rows):
    """(K, K) scores whose row k has its maximum at rows[k]."""
    scores = torch.full((len(rows), len(rows)), 0.1)
    for k, best in enumerate(rows):
        scores[k, best] = 0.7
    return scores


def evaluate(batches):
    init_default_scope('mmpretrain')
    evaluator = Evaluator(METRICS.build(dict(type='RotationAccuracy')))
    for batch in batches:
        samples = [DataSample() for _ in batch]
        for sample, scores in zip(samples, batch):
            sample.set_field(scores, 'rotation_scores', dtype=torch.Tensor)
        evaluator.process(samples)
    return evaluator.evaluate(sum(len(b) for b in batches))


def test_rotation_accuracy_counts_right_copies_over_all_copies():
    all_right = scores_with_argmax([0, 1, 2, 3])
    one_right = scores_with_argmax([0, 0, 0, 0])
    two_right = scores_with_argmax([1, 1, 2, 2])
    metrics = evaluate([[all_right, one_right], [two_right]])
    assert metrics == {'rotation/accuracy': pytest.approx(100 * 7 / 12)}


def test_rotation_accuracy_of_a_two_rotation_set():
    metrics = evaluate([[scores_with_argmax([0, 1]), scores_with_argmax([1, 0])]])
    assert metrics['rotation/accuracy'] == pytest.approx(50.0)


def test_rotation_accuracy_reads_row_k_as_the_copy_turned_by_rotation_k():
    # Every row peaks at its own index, but column 1 peaks in row 0: read by columns,
    # or with the rows shifted, this would not be 100%.
    rows_right = torch.tensor([[0.9, 0.8, 0.0, 0.0], [0.0, 0.5, 0.0, 0.0],
                               [0.0, 0.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.5]])
    assert evaluate([[rows_right]])['rotation/accuracy'] == pytest.approx(100.0)
    shifted = scores_with_argmax([1, 2, 3, 0])
    assert evaluate([[shifted]])['rotation/accuracy'] == pytest.approx(0.0)
