"""The backbone converter: the backbone of a pretrained checkpoint (RotationPred or another
algorithm) loads into MMPretrain's ResNet through init_cfg=Pretrained unchanged; wrong input is
a clear error."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from _benchmark_data import resnet18_checkpoint, rotation_pred_checkpoint
from conftest import run_tool
from rotation_pred.benchmarks.checkpoint import check_backbone_fits, read_backbone_weights
from rotation_pred.benchmarks.checkpoint import checkpoint_seed
from rotation_pred.benchmarks.checkpoint import extract_backbone


@pytest.fixture(scope='module')
def rotnet_r18(tmp_path_factory):
    return resnet18_checkpoint(tmp_path_factory.mktemp('r18') / 'rotnet_r18.pth')


@pytest.mark.parametrize('backbone_type', ['ResNet', 'ResNetWithStem'])
def test_round_trip_into_resnet_with_init_cfg_pretrained(rotnet_r18, tmp_path, backbone_type):
    out = tmp_path / 'backbone.pth'
    proc = run_tool('tools/model_converters/extract_backbone_weights.py', rotnet_r18, str(out))
    assert 'backbone tensors' in proc.stdout
    init_default_scope('mmpretrain')
    resnet = MODELS.build(dict(type=backbone_type, depth=18,
                               init_cfg=dict(type='Pretrained', checkpoint=str(out))))
    resnet.init_weights()
    source = torch.load(rotnet_r18, weights_only=True)['state_dict']
    expected = {k[len('backbone.'):]: v for k, v in source.items() if k.startswith('backbone.')}
    loaded = resnet.state_dict()
    assert loaded.keys() == expected.keys()
    for key, value in loaded.items():  # weights and BatchNorm statistics
        assert torch.equal(value, expected[key]), key


def test_the_backbone_of_another_algorithm_is_converted_without_its_neck_and_head(tmp_path):
    path = tmp_path / 'simclr.pth'
    conv = torch.randn(8, 3, 3, 3)
    torch.save(dict(state_dict={'backbone.conv1.weight': conv,
                                'neck.mlp.0.weight': torch.zeros(4, 8),
                                'head.predictor.weight': torch.zeros(2, 4)},
                    meta=dict(epoch=7, iter=70, seed=3)), path)
    out = tmp_path / 'out.pth'
    assert extract_backbone(str(path), str(out)) == 1
    written = torch.load(out, weights_only=True)
    assert list(written['state_dict']) == ['conv1.weight']
    assert torch.equal(written['state_dict']['conv1.weight'], conv)
    assert (written['meta']['epoch'], written['meta']['iter']) == (7, 70)
    assert checkpoint_seed(str(out)) == 3  # the pretraining seed travels with the backbone


def test_a_checkpoint_without_backbone_weights_is_refused(tmp_path):
    path = tmp_path / 'headless.pth'
    torch.save(dict(state_dict={'head.fc.weight': torch.zeros(4, 8)}), path)
    with pytest.raises(ValueError, match=r"headless\.pth: no backbone weights: no key starts "
                                         r"with 'backbone\.'"):
        extract_backbone(str(path), str(tmp_path / 'out.pth'))
    out = run_tool('tools/model_converters/extract_backbone_weights.py', str(path),
                   str(tmp_path / 'out.pth'), check=False)
    assert out.returncode != 0 and 'no backbone weights' in out.stderr
    assert not (tmp_path / 'out.pth').exists()


def test_a_file_that_is_no_checkpoint_is_refused(tmp_path):
    path = tmp_path / 'notes.pth'
    path.write_text('not a checkpoint')
    with pytest.raises(ValueError, match=r'notes\.pth: cannot be loaded as a checkpoint'):
        read_backbone_weights(str(path))


def test_weights_of_another_backbone_do_not_fit_the_config(tmp_path):
    nin = rotation_pred_checkpoint(
        tmp_path / 'rotnet_nin.pth',
        dict(type='NetworkInNetwork', num_blocks=3, width=24, in_channels=1), 24)
    init_default_scope('mmpretrain')
    resnet = MODELS.build(dict(type='ResNetWithStem', depth=18))
    weights = read_backbone_weights(nin)
    with pytest.raises(ValueError, match=r'rotnet_nin\.pth does not fit .*ResNetWithStem'):
        check_backbone_fits(resnet, weights, nin)
