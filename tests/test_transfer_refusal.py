"""The transfer launchers' Python entry (rotation_pred.benchmarks.transfer_train, the
command line of tools/benchmarks/transfer_train.py, which
tools/benchmarks/dist_transfer.sh runs on every process) refuses, before training, a
backbone that does not fit the config's: a ResNet-18 for the FCN ResNet-50 is an error
naming the file, the missing keys and the shape mismatches, not a logged warning and a
random backbone. The checkpoint is read once."""
import pytest
import torch
from mmengine.runner import Runner

from rotation_pred.benchmarks import transfer_train
from transfer_runs import FCN_VOC12AUG


def test_an_r18_backbone_for_an_r50_segmentor_is_refused_before_training(tmp_path,
                                                                         monkeypatch):
    from mmpretrain.models.backbones import ResNet  # after rotation_pred's mmcv fixes
    r18 = str(tmp_path / 'rotnet_r18_backbone.pth')
    torch.save(dict(state_dict=ResNet(depth=18).state_dict()), r18)  # as extracted
    reads = []
    load = torch.load

    def recording_load(f, *args, **kwargs):
        reads.append(str(f))
        return load(f, *args, **kwargs)

    def training(runner):
        raise AssertionError('training started')

    monkeypatch.setattr(torch, 'load', recording_load)
    monkeypatch.setattr(Runner, 'train', training)
    name = f'refusal_{tmp_path.name}'  # Runner's logger and visualizer: one per process
    with pytest.raises(SystemExit) as refused:
        transfer_train.main([
            FCN_VOC12AUG, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
            f'model.backbone.init_cfg.checkpoint={r18}', f'experiment_name={name}',
            f'visualizer.name={name}'])
    message = str(refused.value)
    assert message.startswith(f'error: model.backbone.init_cfg.checkpoint: {r18} does not '
                              'fit the backbone ResNet')
    assert 'missing keys: layer1.0.conv3.weight, layer1.0.bn3.weight' in message
    assert ('shape mismatches: layer1.0.conv1.weight (64, 64, 3, 3) in the file, '
            '(64, 64, 1, 1) in the model') in message
    assert reads.count(r18) == 1  # checked and fitted from one read of the file
