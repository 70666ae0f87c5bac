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


# --- the multi-level linear metric -----------------------------------------------------

def test_topk_hits_say_whether_the_label_is_among_the_k_best_scores():
    from rotation_pred.evaluation.topk import topk_hits
    scores = torch.tensor([[0.1, 0.7, 0.2],   # ranking 1, 2, 0
                           [0.5, 0.3, 0.2],   # ranking 0, 1, 2
                           [0.2, 0.3, 0.5]])  # ranking 2, 1, 0
    hits = topk_hits(scores, torch.tensor([2, 0, 0]), topk=(1, 2, 5))
    assert hits[1].tolist() == [False, True, False]
    assert hits[2].tolist() == [True, True, False]
    assert hits[5].tolist() == [True, True, True]  # k above the class count: every class


def level_sample(label, **level_scores):
    return dict(gt_label=torch.tensor([label]),
                level_scores={name: torch.tensor(s) for name, s in level_scores.items()})


def test_multi_level_accuracy_is_the_share_of_images_each_level_gets_right():
    metric = METRICS.build(dict(type='MultiLevelAccuracy', topk=(1, 2)))
    metric.process(None, [
        level_sample(0, feat1=[0.9, 0.1, 0.0], feat2=[0.2, 0.5, 0.3]),  # 1: top1; 2: miss
        level_sample(1, feat1=[0.6, 0.3, 0.1], feat2=[0.1, 0.8, 0.1]),  # 1: top2; 2: top1
        level_sample(2, feat1=[0.5, 0.4, 0.1], feat2=[0.1, 0.2, 0.7]),  # 1: miss; 2: top1
        level_sample(2, feat1=[0.1, 0.2, 0.7], feat2=[0.4, 0.5, 0.1]),  # 1: top1; 2: miss
    ])
    assert metric.evaluate(4) == {
        'multi-level/feat1_top1': 50.0, 'multi-level/feat1_top2': 75.0,
        'multi-level/feat2_top1': 50.0, 'multi-level/feat2_top2': 50.0}


def test_multi_level_accuracy_needs_the_level_scores_of_the_multi_level_head():
    metric = METRICS.build(dict(type='MultiLevelAccuracy'))
    with pytest.raises(KeyError) as error:
        metric.process(None, [dict(gt_label=torch.tensor([0]), pred_score=torch.ones(3))])
    assert error.value.args[0] == ('MultiLevelAccuracy needs level_scores in the '
                                   'predictions: use it with head MultiLevelLinearHead')


def test_multi_level_accuracy_of_a_single_image():
    metric = METRICS.build(dict(type='MultiLevelAccuracy'))
    metric.process(None, [level_sample(1, feat1=[0.1, 0.8, 0.1], feat2=[0.8, 0.1, 0.1])])
    assert metric.evaluate(1) == {'multi-level/feat1_top1': 100.0,
                                  'multi-level/feat2_top1': 0.0}


def test_multi_level_accuracy_of_a_single_level():
    metric = METRICS.build(dict(type='MultiLevelAccuracy', topk=(1, 2)))
    metric.process(None, [level_sample(2, feat5=[0.5, 0.1, 0.4]),
                          level_sample(0, feat5=[0.7, 0.2, 0.1])])
    assert metric.evaluate(2) == {'multi-level/feat5_top1': 50.0,
                                  'multi-level/feat5_top2': 100.0}


# --- one transfer to the host per batch ----------------------------------------------

HOST_CALLS = ('cpu', 'item', 'tolist', 'numpy', '__int__', '__float__', '__bool__',
              '__index__')


class HostCounting(torch.Tensor):
    """A tensor that records every call which copies its values to the host (each one
    waits for the GPU); what torch computes from it is a HostCounting tensor too."""
    calls = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, '__name__', '') in HOST_CALLS:
            cls.calls.append(func.__name__)
        return super().__torch_function__(func, types, args, kwargs or {})


def counting(tensor):
    return tensor.as_subclass(HostCounting)


def test_rotation_accuracy_moves_one_tensor_per_batch_to_the_host():
    metric = METRICS.build(dict(type='RotationAccuracy'))
    generator = torch.Generator().manual_seed(0)
    batch = [torch.rand(4, 4, generator=generator) for _ in range(8)]
    HostCounting.calls.clear()
    metric.process(None, [dict(rotation_scores=counting(s)) for s in batch])
    assert len(HostCounting.calls) <= 1, HostCounting.calls
    per_image = [(int((s.argmax(1) == torch.arange(4)).sum()), 4) for s in batch]
    assert metric.results == per_image  # one result per image, as before
    assert len(set(r for r, _ in per_image)) > 1  # the images differ


def test_multi_level_accuracy_moves_one_tensor_per_batch_to_the_host():
    from rotation_pred.evaluation.topk import topk_hits
    metric = METRICS.build(dict(type='MultiLevelAccuracy', topk=(1, 3)))
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 5, (8, ), generator=generator)
    scores = {name: torch.rand(8, 5, generator=generator) for name in ('feat1', 'feat2')}
    HostCounting.calls.clear()
    metric.process(None, [
        dict(gt_label=counting(labels[i:i + 1]),
             level_scores={name: counting(s[i]) for name, s in scores.items()})
        for i in range(8)])
    assert len(HostCounting.calls) <= 1, HostCounting.calls
    per_image = [{name: {k: bool(hit[0]) for k, hit in
                         topk_hits(s[i:i + 1], labels[i:i + 1], (1, 3)).items()}
                  for name, s in scores.items()} for i in range(8)]
    assert metric.results == per_image
    assert 0 < sum(r['feat1'][1] for r in per_image) < 8  # some hits, some misses


def test_the_benchmarks_rotation_accuracy_compares_on_the_device_of_the_scores(monkeypatch):
    """rotation_accuracy's right answers are made where the scores are (on a GPU, a CPU
    arange would not compare with CUDA scores)."""
    from types import SimpleNamespace

    from rotation_pred.benchmarks.loading import rotation_accuracy
    scores = scores_with_argmax([0, 1, 3, 3])  # 3 of 4 right
    sample = SimpleNamespace(rotation_scores=scores)
    model = SimpleNamespace(data_preprocessor=lambda data, training: data,
                            predict=lambda inputs: [sample])
    devices = []
    arange = torch.arange

    def recording_arange(*args, **kwargs):
        devices.append(kwargs.get('device'))
        return arange(*args, **kwargs)

    monkeypatch.setattr(torch, 'arange', recording_arange)
    assert rotation_accuracy(model, [dict(inputs=None)]) == pytest.approx(75.0)
    assert devices == [scores.device]
