"""The paper's two classifiers on frozen feature maps: the "non-linear" head (two hidden
layers with BN) and the "conv" head (one more NIN block, global average pooling, linear),
as MMPretrain heads, as the ``nonlinear`` and ``conv`` protocols over frozen features,
and inside an ImageClassifier config behind a frozen NIN."""
import dataclasses
import os

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import rotation_pred  # noqa: F401
from conftest import FASHION_MNIST, FMNIST_CONFIG, REPO, logged, tiny_rotnet
from rotation_pred.benchmarks.evaluate import evaluate_features
from rotation_pred.benchmarks.extraction import dataset_labels, extract_range
from rotation_pred.benchmarks.frozen_heads import (build_head, head_accuracy,
                                                   head_predictions, milestones_for,
                                                   train_head)
from rotation_pred.benchmarks.loading import build_eval_dataset
from rotation_pred.benchmarks.protocols import (PROTOCOLS, Options, get_protocols,
                                                pooling_for)

FINETUNE = os.path.join(REPO, 'configs', 'fashion-mnist-zoo',
                        'finetune_nin3b-w48_1xb64_fashion-mnist-10pct.py')
#: (C, H, W) of NIN block-2 maps on 28x28 images and of ResNet-50 stage-4 maps at 224.
NIN_BLOCK2, R50_STAGE4 = (48, 7, 7), (2048, 7, 7)


def build(**cfg):
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def clone_state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def assert_bit_equal(before, after):
    assert before.keys() == after.keys()
    changed = [k for k in before if before[k].dtype != after[k].dtype
               or not torch.equal(before[k], after[k])]
    assert not changed, f'changed: {changed}'


# --------------------------------------------------------------------------- the heads
@pytest.mark.parametrize('shape, nonlinear_mid, conv_mid', [
    (NIN_BLOCK2, None, None),  # the paper's widths: 200 (10 classes) and 192
    (R50_STAGE4, 16, 16),
], ids=['nin-block2', 'resnet50-stage4'])
def test_each_head_maps_the_last_feature_map_to_class_scores(shape, nonlinear_mid,
                                                             conv_mid):
    channels, height, width = shape
    maps = torch.randn(3, *shape)
    earlier = torch.randn(3, 5, 14, 14)  # only the last map of the tuple is read
    nonlinear = build(type='NonLinearClsHead', num_classes=10, in_channels=channels,
                      map_size=height, mid_channels=nonlinear_mid)
    conv = build(type='ConvClsHead', num_classes=10, in_channels=channels,
                 **({} if conv_mid is None else dict(mid_channels=conv_mid)))
    assert nonlinear.hidden[0].in_features == channels * height * width
    assert nonlinear.mid_channels == (nonlinear_mid or 200)
    assert conv.mid_channels == (conv_mid or 192)
    for head in (nonlinear, conv):
        head.eval()
        scores = head((earlier, maps))
        assert scores.shape == (3, 10)
        assert torch.equal(scores, head((maps, )))
        assert head.pre_logits((maps, )).shape == (3, head.mid_channels)


def test_nonlinear_head_is_two_hidden_layers_with_bn_then_a_linear_layer():
    head = build(type='NonLinearClsHead', num_classes=10, in_channels=3, map_size=(2, 4))
    kinds = [type(m) for m in head.hidden]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.ReLU] * 2
    first, second = head.hidden[0], head.hidden[3]
    assert (first.in_features, first.out_features, first.bias) == (24, 200, None)
    assert (second.in_features, second.out_features, second.bias) == (200, 200, None)
    assert (head.fc.in_features, head.fc.out_features) == (200, 10)
    assert head.fc.bias is not None
    with torch.no_grad():  # BN statistics other than 0 / 1, so that they show
        for bn in (head.hidden[1], head.hidden[4]):
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 2)
            bn.bias.uniform_(-1, 1)
    head.eval()
    maps = torch.randn(5, 3, 2, 4)

    def bn(x, m):
        return F.batch_norm(x, m.running_mean, m.running_var, m.weight, m.bias, False)

    x = maps.flatten(1)
    for linear, norm in ((first, head.hidden[1]), (second, head.hidden[4])):
        x = F.relu(bn(x @ linear.weight.T, norm))
    expected = x @ head.fc.weight.T + head.fc.bias
    assert torch.allclose(head((maps, )), expected, atol=1e-5)


def test_nonlinear_width_is_twenty_per_class_up_to_2048():
    assert build(type='NonLinearClsHead', num_classes=4, in_channels=1,
                 map_size=1).mid_channels == 80
    wide = build(type='NonLinearClsHead', num_classes=1000, in_channels=1, map_size=1)
    assert wide.mid_channels == 2048 and wide.fc.weight.shape == (1000, 2048)


def test_conv_head_is_a_nin_block_then_global_average_pooling_and_a_linear_layer():
    head = build(type='ConvClsHead', num_classes=7, in_channels=6, mid_channels=5)
    convs = [m for m in head.block.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in head.block.modules() if isinstance(m, nn.BatchNorm2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding, c.bias)
            for c in convs] == [(6, 5, (3, 3), (1, 1), None), (5, 5, (1, 1), (0, 0), None),
                                (5, 5, (1, 1), (0, 0), None)]
    assert len(norms) == 3
    assert (head.fc.in_features, head.fc.out_features) == (5, 7)
    head.eval()
    maps = torch.randn(2, 6, 5, 3)
    x = maps
    for conv, norm in zip(convs, norms):
        x = F.relu(F.batch_norm(F.conv2d(x, conv.weight, padding=conv.padding),
                                norm.running_mean, norm.running_var, norm.weight,
                                norm.bias, False))
    expected = head.fc(x.mean(dim=(2, 3)))
    assert torch.allclose(head((maps, )), expected, atol=1e-5)
    assert head((torch.randn(2, 6, 9, 9), )).shape == (2, 7)  # any map size


def test_heads_start_from_the_paper_initialisation():
    nonlinear = build(type='NonLinearClsHead', num_classes=10, in_channels=64,
                      map_size=8)
    conv = build(type='ConvClsHead', num_classes=10, in_channels=64)
    for linear in (nonlinear.hidden[0], nonlinear.hidden[3], nonlinear.fc, conv.fc):
        expected = (2 / linear.out_features) ** 0.5
        assert float(linear.weight.detach().std()) == pytest.approx(expected, rel=0.15)
    for conv_layer in (m for m in conv.modules() if isinstance(m, nn.Conv2d)):
        k = conv_layer.kernel_size
        expected = (2 / (k[0] * k[1] * conv_layer.out_channels)) ** 0.5
        assert float(conv_layer.weight.detach().std()) == pytest.approx(expected, rel=0.1)
    assert not nonlinear.fc.bias.any() and not conv.fc.bias.any()
    for norm in (m for h in (nonlinear, conv) for m in h.modules()
                 if isinstance(m, nn.modules.batchnorm._BatchNorm)):
        assert bool((norm.weight == 1).all()) and not norm.bias.any()


def test_heads_name_a_map_of_the_wrong_shape():
    nonlinear = build(type='NonLinearClsHead', num_classes=10, in_channels=48, map_size=7)
    conv = build(type='ConvClsHead', num_classes=10, in_channels=48, mid_channels=4)
    with pytest.raises(ValueError, match=r'\(N, 48, 7, 7\).*\(2, 48, 8, 8\)'):
        nonlinear((torch.randn(2, 48, 8, 8), ))
    with pytest.raises(ValueError, match=r'C=48.*\(2, 47, 7, 7\)'):
        conv((torch.randn(2, 47, 7, 7), ))
    with pytest.raises(ValueError, match='map_size'):
        build(type='NonLinearClsHead', num_classes=10, in_channels=48, map_size=(7, ))


@pytest.mark.parametrize('head_type', ['NonLinearClsHead', 'ConvClsHead'])
def test_heads_give_mmpretrain_losses_and_predictions_on_resnet50_stage4_maps(head_type):
    size = dict(map_size=7) if head_type == 'NonLinearClsHead' else {}
    head = build(type=head_type, num_classes=5, in_channels=2048, mid_channels=8,
                 topk=(1, ), cal_acc=True, **size)
    head.train()
    maps = torch.randn(4, *R50_STAGE4)
    labels = [0, 1, 2, 4]
    samples = [DataSample().set_gt_label(k) for k in labels]
    losses = head.loss((maps, ), samples)
    expected = F.cross_entropy(head((maps, )), torch.tensor(labels))
    assert torch.allclose(losses['loss'], expected, atol=1e-5)
    assert 'accuracy_top-1' in losses
    losses['loss'].backward()
    assert all(p.grad is not None for p in head.parameters())
    head.eval()
    predicted = head.predict((maps, ), [DataSample() for _ in labels])
    assert [p.pred_score.shape for p in predicted] == [(5, )] * 4
    assert [int(p.pred_label) for p in predicted] == \
        head((maps, )).argmax(1).tolist()


# ------------------------------------------------------------------------ the training
def toy_maps(n_per_class, shape=(4, 3, 3), classes=3, noise=0.6, seed=0,
             dtype=np.float32):
    """(N, C*H*W) flat rows of maps, each its class's fixed random pattern plus noise,
    and their (N,) labels, in a shuffled order."""
    rng = np.random.default_rng(seed)
    patterns = np.random.default_rng(123).normal(size=(classes, int(np.prod(shape))))
    labels = rng.permutation(np.repeat(np.arange(classes), n_per_class))
    rows = patterns[labels] + noise * rng.normal(size=(len(labels), patterns.shape[1]))
    return rows.astype(dtype), labels


def test_schedule_is_the_paper_codes_scaled_to_the_epochs():
    assert milestones_for('nonlinear', 50) == [20, 40, 45]
    assert milestones_for('conv', 100) == [35, 70, 85]
    assert milestones_for('nonlinear', 10) == [4, 8, 9]
    assert milestones_for('conv', 10) == [4, 7, 9]
    assert milestones_for('conv', 1) == [1, 1, 1]  # never before the first epoch
    maps, labels = toy_maps(4, shape=(2, 1, 1))
    head = build_head('nonlinear', (2, 1, 1), 3)
    history = train_head(head, maps, labels, 50, milestones=milestones_for('nonlinear', 50),
                         map_shape=(2, 1, 1), batch_size=6)
    expected = [0.1] * 20 + [0.02] * 20 + [0.004] * 5 + [0.0008] * 5
    assert [h['epoch'] for h in history] == list(range(50))
    assert np.allclose([h['lr'] for h in history], expected)


def test_steps_are_sgd_with_nesterov_momentum_and_weight_decay():
    maps, labels = toy_maps(4, shape=(2, 2, 2))  # 12 images: one batch of 12 per epoch
    head = build_head('conv', (2, 2, 2), 3, conv_width=3)
    reference = build_head('conv', (2, 2, 2), 3, conv_width=3)
    train_head(head, maps, labels, 3, lr=0.1, milestones=[2], map_shape=(2, 2, 2),
               batch_size=12)
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9,
                                weight_decay=5e-4, nesterov=True)
    reference.train()
    x = torch.from_numpy(maps).reshape(12, 2, 2, 2)
    for lr in (0.1, 0.1, 0.02):
        optimizer.param_groups[0]['lr'] = lr
        optimizer.zero_grad()
        F.cross_entropy(reference((x, )), torch.from_numpy(labels)).backward()
        optimizer.step()
    for (name, ours), theirs in zip(head.state_dict().items(),
                                    reference.state_dict().values()):
        assert torch.allclose(ours.float(), theirs.float(), atol=1e-6), name


def test_bn_trains_in_train_mode_and_measures_in_eval_mode():
    maps, labels = toy_maps(10, shape=(3, 2, 2))
    head = build_head('nonlinear', (3, 2, 2), 3)
    train_head(head, maps, labels, 2, map_shape=(3, 2, 2), batch_size=8)
    assert head.hidden[1].running_mean.abs().sum() > 0  # statistics were gathered
    # eval mode: one image at a time gives each image's class as a whole batch does
    # (a BatchNorm in train mode refuses batches of one image)
    one = head_predictions(head, maps, (3, 2, 2), batch_size=1)
    assert np.array_equal(one, head_predictions(head, maps, (3, 2, 2), batch_size=512))
    assert not head.training
    assert head_accuracy(head, maps, labels, (3, 2, 2), batch_size=1) == \
        pytest.approx(float((one == labels).mean() * 100))


def test_training_is_seeded():
    maps, labels = toy_maps(6, shape=(3, 2, 2))

    def trained(seed):
        head = build_head('conv', (3, 2, 2), 3, conv_width=4, seed=seed)
        history = train_head(head, maps, labels, 3, map_shape=(3, 2, 2), batch_size=5,
                             seed=seed)
        return history, head.state_dict()

    (history, state), (again, state_again) = trained(0), trained(0)
    assert history == again
    assert_bit_equal(state, state_again)
    assert trained(1)[0] != history


def test_training_on_frozen_features_leaves_the_backbone_bit_equal(fashion_mnist_root):
    model = tiny_rotnet(width=12, out_indices=(1, ))  # block-2 maps: (12, 7, 7)
    dataset = build_eval_dataset(Config.fromfile(FMNIST_CONFIG), 'train', 24)
    before = clone_state(model)
    shapes = {}
    maps = extract_range(model, dataset, range(24), 'none', 'float32', batch_size=12,
                         map_shapes=shapes)[0]
    assert maps.shape == (24, 12 * 7 * 7) and shapes[0] == [12, 7, 7]
    labels = dataset_labels(dataset, range(24))
    for kind in ('nonlinear', 'conv'):
        head = build_head(kind, shapes[0], 10, conv_width=8)
        initial = clone_state(head)
        train_head(head, maps, labels, 2, map_shape=shapes[0], batch_size=8)
        assert any(not torch.equal(initial[k], v) for k, v in head.state_dict().items())
    assert_bit_equal(before, clone_state(model))
    assert all(p.grad is None for p in model.parameters())


# ----------------------------------------------------------------------- the protocols
def test_the_protocols_are_registered_and_read_the_maps_themselves():
    for name in ('nonlinear', 'conv'):
        protocol = PROTOCOLS[name]
        assert get_protocols([name]) == [protocol]
        assert (protocol.pooling, protocol.train_images) == ('none', 'train')
        assert pooling_for(protocol, False, 9216) == 'none'
        assert pooling_for(protocol, True, 9216) == 'neck'


@pytest.mark.parametrize('name', ['nonlinear', 'conv'])
def test_each_protocol_learns_a_separable_problem(name):
    shape = (4, 3, 3)
    train_x, train_y = toy_maps(30, shape, seed=1, dtype=np.float16)
    test_x, test_y = toy_maps(20, shape, seed=2, dtype=np.float16)
    options = Options(nonlinear_epochs=6, conv_epochs=6, conv_width=16, head_batch_size=16,
                      head_device='cpu')
    rows = PROTOCOLS[name].run(train_x, train_y, test_x, test_y, options,
                               dict(map_shape=shape))
    assert len(rows) == 1
    setting, metric, value = rows[0]
    assert (setting, metric) == ('train=90', 'top1')
    assert isinstance(value, float) and value >= 90  # chance: 33 %
    # with the labels of the training images shuffled there is nothing to learn
    shuffled = np.random.default_rng(5).permutation(train_y)
    (_, _, chance), = PROTOCOLS[name].run(train_x, shuffled, test_x, test_y, options,
                                          dict(map_shape=shape))
    assert chance < 75


@pytest.mark.parametrize('name', ['nonlinear', 'conv'])
def test_a_head_trained_once_is_kept_beside_its_features_and_scores_another_split(
        name, tmp_path):
    shape = (4, 3, 3)
    train_x, train_y = toy_maps(30, shape, seed=1)
    val_x, val_y = toy_maps(20, shape, seed=2)
    test_x, test_y = toy_maps(20, shape, seed=3)
    options = Options(nonlinear_epochs=2, conv_epochs=2, conv_width=8, head_batch_size=16,
                      head_device='cpu')
    state = dict(map_shape=shape, level=1, train_folder=str(tmp_path))
    run = PROTOCOLS[name].run
    run(train_x, train_y, val_x, val_y, options, dict(state))
    saved, = (tmp_path / 'heads').iterdir()
    assert saved.name.startswith(f'{name}-level1-')
    # the kept head gives what training it again gives, without training it again
    (_, _, kept), = run(train_x, train_y, test_x, test_y, options, dict(state))
    (_, _, again), = run(train_x, train_y, test_x, test_y, options, dict(map_shape=shape))
    assert kept == again
    assert len(list((tmp_path / 'heads').iterdir())) == 1
    # another level or another schedule is another head
    run(train_x, train_y, test_x, test_y, options, dict(state, level=2))
    run(train_x, train_y, test_x, test_y, dataclasses.replace(
        options, nonlinear_epochs=1, conv_epochs=1), dict(state))
    assert len(list((tmp_path / 'heads').iterdir())) == 3


def test_protocols_need_the_map_shape():
    train_x, train_y = toy_maps(3)
    with pytest.raises(ValueError, match="state\\['map_shape'\\]"):
        PROTOCOLS['nonlinear'].run(train_x, train_y, train_x, train_y, Options(), {})
    with pytest.raises(ValueError, match='36 values per image'):
        PROTOCOLS['conv'].run(train_x, train_y, train_x, train_y, Options(),
                              dict(map_shape=(4, 2, 2)))


def test_evaluate_features_gives_the_protocols_the_map_shape_of_each_level(
        fashion_mnist_root, tmp_path):
    model = tiny_rotnet(width=12, out_indices=(0, 1))
    cfg = Config.fromfile(FMNIST_CONFIG)
    train = build_eval_dataset(cfg, 'train', 40)
    sets = dict(train=train, svm=train, test=build_eval_dataset(cfg, 'test', 20))
    options = Options(nonlinear_epochs=1, conv_epochs=1, conv_width=8, head_device='cpu')
    rows = evaluate_features(model, sets, ['nonlinear', 'conv'], lambda *row: row,
                             str(tmp_path), ['block1', 'block2'], seed=0,
                             options=options, batch_size=20)
    assert [row[:4] for row in rows] == [
        (name, level, 'train=40', 'top1') for level in ('block1', 'block2')
        for name in ('nonlinear', 'conv')]
    assert all(0 <= row[4] <= 100 for row in rows)


# ------------------------------------------------ inside an MMPretrain ImageClassifier
HEADS = {
    'NonLinearClsHead': dict(type='NonLinearClsHead', num_classes=10, in_channels=48,
                             map_size=7),
    'ConvClsHead': dict(type='ConvClsHead', num_classes=10, in_channels=48),
}


@pytest.mark.parametrize('head_type', list(HEADS))
def test_each_head_trains_in_an_image_classifier_config_behind_a_frozen_nin(
        head_type, fashion_mnist_root, tmp_path):
    from rotation_pred.cli.train import main as train_main
    from rotation_pred.models import NetworkInNetwork
    torch.manual_seed(3)
    backbone = NetworkInNetwork(num_blocks=3, width=48, in_channels=1)
    backbone.init_weights()
    with torch.no_grad():  # statistics a backbone left in train mode would change
        for m in backbone.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    pretrained = {k: v.clone() for k, v in backbone.state_dict().items()}
    weights = tmp_path / 'backbone.pth'
    torch.save(dict(state_dict=pretrained), weights)
    config = tmp_path / f'frozen_{head_type}.py'
    config.write_text(
        f'_base_ = {FINETUNE!r}\n'
        'model = dict(\n'
        '    backbone=dict(frozen_stages=3, out_indices=(1, ), init_cfg=dict(\n'
        f'        type="Pretrained", checkpoint={str(weights)!r})),\n'
        '    neck=None,\n'
        f'    head=dict(_delete_=True, **{HEADS[head_type]!r}))\n'
        'train_dataloader = dict(dataset=dict(\n'
        f'    _delete_=True, type="FashionMNISTIdx", data_root={FASHION_MNIST!r},\n'
        '    split="train", indices=128, pipeline=[dict(type="PackInputs")]))\n'
        'val_dataloader = dict(dataset=dict(indices=64))\n'
        'train_cfg = dict(max_epochs=1, val_interval=1)\n'
        'default_hooks = dict(logger=dict(interval=1))\n')
    work_dir = tmp_path / 'work'
    train_main([str(config), '--work-dir', str(work_dir)])  # 2 iterations of 64 images
    assert len(logged(work_dir, 'loss')) == 2
    assert all(np.isfinite(logged(work_dir, 'loss')))
    assert 0 <= logged(work_dir, 'accuracy/top1')[-1] <= 100  # predict, on 64 images
    state = CheckpointLoader.load_checkpoint(str(work_dir / 'epoch_1.pth'),
                                             map_location='cpu')['state_dict']
    after = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    assert_bit_equal(pretrained, after)
    head_keys = {k for k in state if k.startswith('head.')}
    assert 'head.fc.weight' in head_keys and state['head.fc.weight'].shape[0] == 10
