"""RotationPred: the loss is plain cross-entropy over all rotated samples."""
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import rotation_pred  # noqa: F401


def build(rotations=(0, 90, 180, 270), feeding='all', num_classes=None, width=12):
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='RotationPred', rotations=rotations, feeding=feeding,
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[0.5], std=[2.0]),
        backbone=dict(type='NetworkInNetwork', num_blocks=3, width=width, in_channels=1),
        head=dict(type='RotationHead', in_channels=width,
                  num_classes=num_classes or len(rotations))))
    model.init_weights()
    return model


def test_loss_is_the_mean_cross_entropy_over_4n_samples():
    model = build().eval()  # eval: BatchNorm uses fixed statistics, so copies are independent
    x = torch.randn(5, 1, 16, 16)
    losses = model.loss(x)
    by_hand = []
    for image in x.numpy():
        for label in range(4):
            copy = torch.from_numpy(np.ascontiguousarray(np.rot90(image, label, axes=(1, 2))))
            logits = model.head(model.backbone(copy[None]))[0]
            by_hand.append(-torch.log_softmax(logits, 0)[label])
    assert len(by_hand) == 20
    assert torch.allclose(losses['loss'], torch.stack(by_hand).mean(), atol=1e-5)
    assert 0 <= float(losses['rotation_accuracy']) <= 100


def test_loss_has_gradients_for_backbone_and_head():
    model = build().train()
    model.loss(torch.randn(4, 1, 16, 16))['loss'].backward()
    assert model.backbone.blocks[0][0][0].weight.grad.abs().sum() > 0
    assert model.head.fc.weight.grad.abs().sum() > 0


def test_random_feeding_uses_one_sample_per_image():
    model = build(feeding='random').eval()
    seen = []
    model.head.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    model.loss(torch.randn(6, 1, 16, 16))
    assert seen == [torch.Size([6, 4])]


def test_predict_returns_rotation_scores_per_image():
    model = build(rotations=(0, 45, 90, 135, 180, 225, 270, 315)).eval()
    samples = model(torch.randn(3, 1, 16, 16), mode='predict')
    assert len(samples) == 3
    scores = samples[0].rotation_scores
    assert scores.shape == (8, 8)
    assert torch.allclose(scores.sum(1), torch.ones(8))


def test_extract_feat_returns_backbone_features_of_unrotated_images():
    model = build().eval()
    feats = model(torch.randn(2, 1, 16, 16), mode='tensor')
    assert feats[-1].shape == (2, 12, 4, 4)


def test_data_preprocessor_normalises_once_and_rotation_follows():
    model = build().eval()
    data = dict(inputs=torch.full((2, 1, 8, 8), 4.5), data_samples=None)
    out = model.data_preprocessor(data)
    assert torch.allclose(out['inputs'], torch.full((2, 1, 8, 8), 2.0))


def test_head_size_must_match_the_rotation_set():
    with pytest.raises(ValueError, match=r'head.num_classes=4 does not match'):
        build(rotations=(0, 180), num_classes=4)


def test_checkpoint_of_another_rotation_set_is_refused():
    four, eight = build(), build(rotations=tuple(range(0, 360, 45)))
    with pytest.raises(ValueError, match=r'head.fc.weight has shape \(8, 12\)'):
        four.load_state_dict(eight.state_dict(), strict=False)


def test_checkpoint_of_another_model_is_refused():
    other = torch.nn.Sequential(torch.nn.Linear(2, 2)).state_dict()
    with pytest.raises(ValueError, match='does not hold RotationPred weights'):
        build().load_state_dict(other, strict=False)
