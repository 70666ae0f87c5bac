"""The Network-In-Network of the paper: three convolutions per block, the first block
ending in max-pooling and the second in average-pooling, each halving the map."""
import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import rotation_pred  # noqa: F401


def nin(**kwargs):
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(dict(type='NetworkInNetwork', **kwargs))
    model.init_weights()
    return model


def conv_layers(block):
    return [m for m in block.modules() if isinstance(m, nn.Conv2d)]


def test_blocks_have_the_papers_kernels_and_widths():
    model = nin(num_blocks=4, width=192)
    shapes = [[(c.in_channels, c.out_channels, c.kernel_size, c.padding, c.bias is None)
               for c in conv_layers(block)] for block in model.blocks]
    assert shapes == [
        [(3, 192, (5, 5), (2, 2), True), (192, 160, (1, 1), (0, 0), True),
         (160, 96, (1, 1), (0, 0), True)],
        [(96, 192, (5, 5), (2, 2), True), (192, 192, (1, 1), (0, 0), True),
         (192, 192, (1, 1), (0, 0), True)],
        [(192, 192, (3, 3), (1, 1), True)] + [(192, 192, (1, 1), (0, 0), True)] * 2,
        [(192, 192, (3, 3), (1, 1), True)] + [(192, 192, (1, 1), (0, 0), True)] * 2,
    ]
    assert model.out_channels == [96, 192, 192, 192]


def test_the_default_is_the_papers_four_block_width_192_rgb_network():
    model = nin()
    assert len(model.blocks) == 4 and model.out_channels == [96, 192, 192, 192]
    assert conv_layers(model.blocks[0])[0].in_channels == 3
    assert model.out_indices == (3, )


def test_every_convolution_is_followed_by_batch_norm_and_relu():
    model = nin(num_blocks=3, width=12)
    for block in model.blocks:
        for unit in block[:3]:
            conv, norm, relu = unit
            assert isinstance(conv, nn.Conv2d)
            assert isinstance(norm, nn.BatchNorm2d) and norm.num_features == conv.out_channels
            assert isinstance(relu, nn.ReLU)


def test_a_32px_input_gives_16px_after_block_1_and_8px_after_the_rest():
    model = nin(num_blocks=5, width=12, out_indices=(0, 1, 2, 3, 4)).eval()
    outs = model(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 6, 16, 16)] + [(2, 12, 8, 8)] * 4
    assert isinstance(model.blocks[0][-1], nn.MaxPool2d)
    assert isinstance(model.blocks[1][-1], nn.AvgPool2d)
    for block in model.blocks[:2]:
        pool = block[-1]
        assert (pool.kernel_size, pool.stride, pool.padding) == (3, 2, 1)


def test_out_indices_choose_the_returned_blocks_and_accept_negative_indices():
    model = nin(num_blocks=3, width=12, in_channels=1, out_indices=(0, -1)).eval()
    x = torch.randn(1, 1, 16, 16)
    first, last = model(x)
    manual = x
    outputs = []
    for block in model.blocks:
        manual = block(manual)
        outputs.append(manual)
    assert torch.equal(first, outputs[0]) and torch.equal(last, outputs[2])
    assert model.out_indices == (0, 2)


def test_convolutions_start_from_he_normal_on_fan_out_and_norms_from_identity():
    model = nin(num_blocks=3, width=64)
    for conv in conv_layers(model):
        fan_out = conv.kernel_size[0] * conv.kernel_size[1] * conv.out_channels
        std = float(conv.weight.detach().std())
        assert std == pytest.approx((2.0 / fan_out) ** 0.5, rel=0.1)
        assert abs(float(conv.weight.detach().mean())) < 0.2 * std
    for norm in model.modules():
        if isinstance(norm, nn.BatchNorm2d):
            assert torch.equal(norm.weight.detach(), torch.ones_like(norm.weight))
            assert torch.equal(norm.bias.detach(), torch.zeros_like(norm.bias))


def test_an_init_cfg_replaces_the_default_initialisation():
    model = nin(num_blocks=2, width=12,
                init_cfg=dict(type='Constant', val=0.5, layer='Conv2d'))
    for conv in conv_layers(model):
        assert torch.equal(conv.weight.detach(), torch.full_like(conv.weight, 0.5))


def test_frozen_stages_keep_their_weights_and_statistics_while_the_rest_trains():
    model = nin(num_blocks=3, width=12, in_channels=1, frozen_stages=2).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert not model.blocks[0].training and not model.blocks[1].training
    assert model.blocks[2].training
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model(torch.randn(4, 1, 16, 16))[-1].mean().backward()
    optimizer.step()
    after = model.state_dict()
    for key in before:
        frozen = key.startswith(('blocks.0.', 'blocks.1.'))
        if key.endswith('num_batches_tracked'):
            continue
        assert torch.equal(before[key], after[key]) == frozen, key
    assert all(not p.requires_grad for p in model.blocks[:2].parameters())
    assert all(p.requires_grad for p in model.blocks[2].parameters())


def test_norm_cfg_picks_the_normalisation_layer():
    model = nin(num_blocks=2, width=12, norm_cfg=dict(type='GN', num_groups=2))
    norms = [m for m in model.modules() if isinstance(m, nn.GroupNorm)]
    assert len(norms) == 6 and norms[0].num_groups == 2


def test_fewer_than_two_blocks_are_refused():
    with pytest.raises(ValueError, match='num_blocks >= 2, got 1'):
        nin(num_blocks=1)
