"""The backbone converter: a RotationPred checkpoint's backbone loads into MMPretrain's
ResNet through init_cfg=Pretrained unchanged; wrong input is a clear error."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from _benchmark_data import resnet18_checkpoint, rotation_pred_checkpoint
from conftest import run_tool
from rotation_pred.converters import extract_backbone
from rotation_pred.evaluation.pretrained import check_backbone_fits, read_backbone_weights


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


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    path = tmp_path / 'classifier.pth'
    torch.save(dict(state_dict={'backbone.conv1.weight': torch.zeros(1),
                                'head.fc.bias': torch.zeros(1)}), path)
    with pytest.raises(ValueError, match=r'classifier\.pth: not a RotationPred checkpoint'):
        extract_backbone(str(path), str(tmp_path / 'out.pth'))


def test_a_checkpoint_without_backbone_weights_is_refused(tmp_path):
    path = tmp_path / 'headless.pth'
    torch.save(dict(state_dict={'head.fc.weight': torch.zeros(4, 8)}), path)
    with pytest.raises(ValueError, match='without backbone weights'):
        extract_backbone(str(path), str(tmp_path / 'out.pth'))
    out = run_tool('tools/model_converters/extract_backbone_weights.py', str(path),
                   str(tmp_path / 'out.pth'), check=False)
    assert out.returncode != 0 and 'without backbone weights' in out.stderr


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
