"""tools/model_converters/to_torchvision.py and to_timm.py
(rotation_pred.benchmarks.converters_cli): a RotationPred ResNet-50
checkpoint becomes a torchvision / timm resnet50 state dict whose features are
MMPretrain's; a checkpoint of another backbone is refused naming the keys that do not
fit; a missing timm says how to install it."""
import sys

import pytest
import timm
import torch
import torchvision
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from rotation_pred.benchmarks.converters_cli import to_timm_main, to_torchvision_main

#: (target, command line) of each export tool.
TORCHVISION = ('torchvision', to_torchvision_main)
TIMM = ('timm', to_timm_main)

HEAD = ['fc.weight', 'fc.bias']


def rotnet(depth: int, in_channels: int) -> torch.nn.Module:
    """A RotationPred ResNet of ``depth`` with random weights."""
    init_default_scope('mmpretrain')
    return MODELS.build(dict(
        type='RotationPred', backbone=dict(type='ResNet', depth=depth, out_indices=(3, )),
        head=dict(type='RotationHead', in_channels=in_channels)))


def with_random_norms(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with random BN scales and shifts, and BN statistics of one random
    batch (so that eval-mode features are neither vanishing nor exploding)."""
    torch.manual_seed(0)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for norm in norms:
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.2, 0.2)
            norm.momentum = None  # running stats = the mean over the batches seen
        model.backbone.train()
        model.backbone(torch.randn(4, 3, 64, 64))
    model.eval()
    return model


@pytest.fixture(scope='module')
def r50(tmp_path_factory):
    """(model, checkpoint path) of a whole RotationPred ResNet-50 as tools/train.py
    saves it."""
    model = with_random_norms(rotnet(50, 2048))
    path = str(tmp_path_factory.mktemp('export') / 'rotnet_r50.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(seed=0)), path)
    return model, path


def torchvision_features(model, x):
    """(N, 2048, H/32, W/32) output of torchvision resnet50's last stage."""
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    return model.layer4(model.layer3(model.layer2(model.layer1(x))))


def export(tool, checkpoint, out, capsys):
    """Run ``tool`` (:data:`TORCHVISION` or :data:`TIMM`) on ``checkpoint``; returns (what
    it printed, the state dict)."""
    tool[1]([checkpoint, out])
    printed = capsys.readouterr().out
    return printed, torch.load(out, map_location='cpu', weights_only=True)


@torch.no_grad()
def test_torchvision_and_timm_resnet50_compute_mmpretrains_features(r50, tmp_path, capsys):
    model, checkpoint = r50
    backbone = model.backbone.state_dict()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    expected = model.backbone(x)[-1]
    assert expected.shape == (1, 2048, 2, 2) and expected.std() > 0.1

    printed, state = export(TORCHVISION, checkpoint, str(tmp_path / 'tv.pth'), capsys)
    assert 'loaded 318 of 320 tensors into torchvision resnet50 (missing: fc.weight, ' \
           'fc.bias)' in printed
    assert list(state) == list(backbone)  # every backbone tensor, nothing else
    assert all(torch.equal(state[k], v) for k, v in backbone.items())
    resnet = torchvision.models.resnet50().eval()
    assert not torch.allclose(torchvision_features(resnet, x), expected, atol=1e-5)
    result = resnet.load_state_dict(state, strict=False)
    assert (result.missing_keys, result.unexpected_keys) == (HEAD, [])
    assert torch.allclose(torchvision_features(resnet, x), expected, atol=1e-5)

    printed, state = export(TIMM, checkpoint, str(tmp_path / 'timm.pth'), capsys)
    assert 'loaded 318 of 320 tensors into timm resnet50 (missing: fc.weight, ' \
           'fc.bias)' in printed
    resnet = timm.create_model('resnet50', pretrained=False).eval()
    result = resnet.load_state_dict(state, strict=False)
    assert (result.missing_keys, result.unexpected_keys) == (HEAD, [])
    assert torch.allclose(resnet.forward_features(x), expected, atol=1e-5)
    # as the tool's docstring says: no classifier, loaded strictly by timm itself
    headless = timm.create_model('resnet50', pretrained=False, num_classes=0,
                                 checkpoint_path=str(tmp_path / 'timm.pth')).eval()
    assert torch.allclose(headless.forward_features(x), expected, atol=1e-5)


def test_a_resnet18_checkpoint_is_refused_naming_the_missing_keys(tmp_path, capsys):
    checkpoint = str(tmp_path / 'rotnet_r18.pth')
    torch.save(dict(state_dict=rotnet(18, 512).state_dict()), checkpoint)
    for target, main in (TORCHVISION, TIMM):
        out = tmp_path / f'{target}.pth'
        with pytest.raises(SystemExit) as refused:
            main([checkpoint, str(out)])
        message = refused.value.code  # a message: exit status 1
        assert isinstance(message, str), message
        assert message.startswith(f'error: {checkpoint} (for {target} resnet50) does '
                                  'not fit the backbone ResNet (318 tensors): 198 missing '
                                  'keys: layer1.0.conv3.weight, layer1.0.bn3.weight')
        assert '23 shape mismatches: layer1.0.conv1.weight (64, 64, 3, 3) in the file, ' \
               '(64, 64, 1, 1) in the model' in message
        assert not out.exists()
        assert 'loaded' not in capsys.readouterr().out


def test_a_nin_checkpoint_is_refused_naming_its_keys(tmp_path):
    from rotation_pred.models.backbones.nin import NetworkInNetwork
    nin = NetworkInNetwork(num_blocks=3, width=12)
    checkpoint = str(tmp_path / 'rotnet_nin.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in nin.state_dict().items()}},
               checkpoint)
    with pytest.raises(SystemExit) as refused:
        to_torchvision_main([checkpoint, str(tmp_path / 'tv.pth')])
    message = refused.value.code
    assert message.startswith(f'error: {checkpoint} (for torchvision resnet50) does not '
                              'fit')
    assert '318 missing keys: conv1.weight, bn1.weight' in message
    assert f'{len(nin.state_dict())} unexpected keys: ' in message


def test_without_timm_the_timm_export_says_how_to_install_it(r50, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'timm', None)  # `import timm` raises ImportError
    with pytest.raises(SystemExit) as refused:
        to_timm_main([r50[1], str(tmp_path / 'timm.pth')])
    assert refused.value.code == (
        "error: exporting to timm needs the timm package: pip install timm "
        "(or pip install 'rotation_pred[export]')")
    assert not (tmp_path / 'timm.pth').exists()
