"""Multi-level linear evaluation: the reference pooling of ResNet-50, the head, the
per-level metric, and a backbone that stays frozen while the classifiers train."""
import copy
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from _benchmark_data import BENCHMARKS, R18_32PX
from rotation_pred.benchmarks.multi_level import RESNET50_LEVELS, level_table_dims
from rotation_pred.evaluation import MultiLevelAccuracy

IMAGENET = os.path.join(BENCHMARKS, 'imagenet',
                        'resnet50_multi-level-linear_8xb32-steplr-90e_in1k.py')
FMNIST = os.path.join(BENCHMARKS, 'fashion_mnist',
                      'nin3b-w48_multi-level-linear_1xb128-steplr-10e_fashion-mnist.py')


def build(cfg_path, override=None):
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(cfg_path)
    if override:
        cfg.merge_from_dict(dict(model=override))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    if model_cfg.get('head') is not None:
        model_cfg.head.norm_cfg = dict(type='BN1d', momentum=0.1, affine=False)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return cfg, model


def test_resnet50_levels_have_the_reference_pooled_dimensions():
    cfg, model = build(IMAGENET)
    with torch.no_grad():
        maps = model.backbone(torch.randn(1, 3, 224, 224))
        pooled = model.neck(maps)
    assert [(m.shape[1], m.shape[2]) for m in maps] == \
        [(c, side) for _, c, side, _ in RESNET50_LEVELS]
    dims = [p.shape[1] for p in pooled]
    assert dims == [9216, 9216, 8192, 9216, 8192]
    assert dims == list(level_table_dims(RESNET50_LEVELS).values())
    assert dims == list(cfg.model.head.in_dims)
    assert model.head.level_names == ('feat1', 'feat2', 'feat3', 'feat4', 'feat5')


def test_resnet_with_stem_stages_match_mmpretrain_resnet():
    init_default_scope('mmpretrain')
    stem = MODELS.build(dict(type='ResNetWithStem', depth=18, out_indices=(1, 2, 3, 4)))
    plain = MODELS.build(dict(type='ResNet', depth=18, out_indices=(0, 1, 2, 3)))
    plain.load_state_dict(stem.state_dict())
    stem.eval()
    plain.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        for a, b in zip(stem(x), plain(x)):
            assert torch.equal(a, b)
    with pytest.raises(ValueError, match='out_indices'):
        MODELS.build(dict(type='ResNetWithStem', depth=18, out_indices=(0, 5)))


def test_head_loss_is_the_sum_of_the_levels_and_predict_scores_every_level():
    init_default_scope('mmpretrain')
    head = MODELS.build(dict(type='MultiLevelLinearHead', in_dims=[6, 4], num_classes=3,
                             level_names=['low', 'high']))
    feats = (torch.randn(5, 6), torch.randn(5, 4))
    samples = [DataSample().set_gt_label(i % 3) for i in range(5)]
    losses = head.loss(feats, samples)
    assert set(losses) == {'loss_low', 'loss_high', 'accuracy_low', 'accuracy_high'}
    logits = head(feats)
    target = torch.tensor([i % 3 for i in range(5)])
    for name, level_logits in zip(('low', 'high'), logits):
        expected = torch.nn.functional.cross_entropy(level_logits, target)
        assert torch.allclose(losses[f'loss_{name}'], expected, atol=1e-6)
    head.eval()
    predictions = head.predict(feats)
    assert set(predictions[0].level_scores) == {'low', 'high'}
    assert torch.allclose(predictions[0].level_scores['high'], predictions[0].pred_score)
    with pytest.raises(ValueError, match=r'level high: features of shape \(5, 7\)'):
        head((torch.randn(5, 6), torch.randn(5, 7)))


def test_metric_reports_top_k_per_level():
    metric = MultiLevelAccuracy(topk=(1, 2))
    scores = {'a': torch.tensor([0.7, 0.2, 0.1]), 'b': torch.tensor([0.1, 0.3, 0.6])}
    metric.process(None, [dict(gt_label=torch.tensor([0]), level_scores=scores),
                          dict(gt_label=torch.tensor([1]), level_scores=scores)])
    result = metric.compute_metrics(metric.results)
    assert result == {'a_top1': 50.0, 'a_top2': 100.0, 'b_top1': 0.0, 'b_top2': 50.0}


@pytest.mark.parametrize('cfg_path,override,shape', [
    (IMAGENET, R18_32PX, (3, 32, 32)),
    (FMNIST, None, (1, 28, 28)),
])
def test_backbone_weights_and_bn_statistics_stay_frozen(cfg_path, override, shape):
    cfg, model = build(cfg_path, override)
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    frozen = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    head_before = {k: v.clone() for k, v in model.head.state_dict().items()}
    num_classes = model.head.num_classes
    for step in range(3):
        data = dict(inputs=torch.randint(0, 256, (8, ) + shape, dtype=torch.uint8),
                    data_samples=[DataSample().set_gt_label(i % num_classes)
                                  for i in range(8)])
        model.train_step(data, optim)
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, frozen[key]), f'backbone.{key} changed'
    changed = [k for k, v in model.head.state_dict().items() if not torch.equal(v, head_before[k])]
    assert any(k.startswith('fcs.') for k in changed)  # the classifiers learn
    assert any('running_mean' in k for k in changed)  # the head's BN tracks statistics


@pytest.mark.parametrize('name,dims', [
    ('nin3b-w48_multi-level-linear_1xb128-steplr-10e_fashion-mnist.py', [1176, 2352, 2352]),
    ('nin3b-w48_svm_fashion-mnist.py', [1176, 2352, 2352]),
    ('nin3b-w48_knn_fashion-mnist.py', [24, 48, 48]),
])
def test_fashion_mnist_configs_give_one_feature_per_nin_block(name, dims):
    cfg, model = build(os.path.join(os.path.dirname(FMNIST), name))
    with torch.no_grad():
        feats = model.eval().extract_feat(torch.randn(2, 1, 28, 28))
    assert [f.shape[1] for f in feats] == dims
    assert len(feats) == len(cfg.get('feature_names') or cfg.model.head.level_names)
