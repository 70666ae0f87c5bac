"""tools/benchmarks/transfer_train.py (rotation_pred.benchmarks.transfer_train) refuses
to fine-tune from a random backbone: an unset or missing checkpoint, one without backbone
weights, or one whose backbone does not fit is an error naming the option to fix; a whole
checkpoint is read through its prefix."""
import pytest
import torch
from mmengine.config import Config

from conftest import run_tool
from rotation_pred.benchmarks import transfer_train
from transfer_data import session_backbone
from transfer_runs import FASTER_RCNN_C4, FCN_VOC12AUG, MASK_RCNN_FPN, free_port


def checked(config, **options):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    transfer_train.check_pretrained(cfg, config)
    return cfg


@pytest.fixture(scope='module')
def backbone(tmp_path_factory):
    return session_backbone(tmp_path_factory)


def test_every_benchmark_config_asks_for_the_checkpoints_it_loads():
    found = {c: [option for option, _ in transfer_train.pretrained_inits(
        Config.fromfile(c).model, 'model')] for c in (FASTER_RCNN_C4, MASK_RCNN_FPN,
                                                      FCN_VOC12AUG)}
    assert found == {
        FASTER_RCNN_C4: ['model.backbone.init_cfg', 'model.roi_head.shared_head.init_cfg'],
        MASK_RCNN_FPN: ['model.backbone.init_cfg'],
        FCN_VOC12AUG: ['model.backbone.init_cfg']}


def test_an_unset_checkpoint_is_refused_naming_the_option(backbone):
    with pytest.raises(SystemExit, match='model.backbone.init_cfg.checkpoint is not set'):
        checked(MASK_RCNN_FPN)
    # C4 through the FPN launcher: res5 would stay random
    with pytest.raises(SystemExit,
                       match='model.roi_head.shared_head.init_cfg.checkpoint is not set'):
        checked(FASTER_RCNN_C4, **{'model.backbone.init_cfg.checkpoint': backbone})


def test_a_missing_checkpoint_is_refused(tmp_path):
    missing = str(tmp_path / 'nowhere.pth')
    with pytest.raises(SystemExit, match=f'file not found: {missing}'):
        checked(FCN_VOC12AUG, **{'model.backbone.init_cfg.checkpoint': missing})


def built(config, **options):
    """The benchmark model of ``config`` (random weights), after check_pretrained."""
    from mmengine.registry import MODELS, init_default_scope
    cfg = checked(config, **options)
    init_default_scope(cfg.default_scope)
    return cfg, MODELS.build(cfg.model)


def test_a_whole_checkpoint_is_loaded_through_its_backbone_prefix(backbone, tmp_path):
    """An unconverted checkpoint (RotationPred or any other algorithm) would match no key
    of the detector's backbone; the tool tells MMEngine to take its backbone part."""
    whole = str(tmp_path / 'whole.pth')
    state = torch.load(backbone, weights_only=True)['state_dict']
    torch.save({'state_dict': {**{f'backbone.{k}': v for k, v in state.items()},
                               'neck.mlp.0.weight': torch.zeros(2, 2)}}, whole)
    cfg = checked(FASTER_RCNN_C4, **{'model.backbone.init_cfg.checkpoint': whole,
                                     'model.roi_head.shared_head.init_cfg.checkpoint': whole})
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    assert cfg.model.roi_head.shared_head.init_cfg.prefix == 'backbone.'
    converted = checked(FCN_VOC12AUG, **{'model.backbone.init_cfg.checkpoint': backbone})
    assert 'prefix' not in converted.model.backbone.init_cfg
    _, model = built(FCN_VOC12AUG, **{'model.backbone.init_cfg.checkpoint': whole})
    model.init_weights()  # what runner.train() does: MMEngine's Pretrained init
    loaded = model.backbone.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


def test_a_checkpoint_without_backbone_weights_is_refused_naming_it(tmp_path):
    headless = str(tmp_path / 'headless.pth')
    torch.save({'state_dict': {'head.fc.weight': torch.zeros(4, 8)}}, headless)
    with pytest.raises(SystemExit, match=f'model.backbone.init_cfg.checkpoint: {headless}: '
                                         'no backbone weights'):
        checked(FCN_VOC12AUG, **{'model.backbone.init_cfg.checkpoint': headless})
    corrupt = tmp_path / 'corrupt.pth'
    corrupt.write_bytes(b'PK\x03\x04 not a zip archive')
    with pytest.raises(SystemExit, match=f'{corrupt}: cannot be loaded as a checkpoint'):
        checked(FCN_VOC12AUG, **{'model.backbone.init_cfg.checkpoint': str(corrupt)})


def test_every_benchmark_model_finds_all_its_pretrained_tensors(backbone):
    """The C4 backbone (3 stages) and its res5 head (layer4, plus a norm of its own) each
    take part of the ResNet-50."""
    for config, options in ((FASTER_RCNN_C4, ['model.backbone', 'model.roi_head.shared_head']),
                            (MASK_RCNN_FPN, ['model.backbone']),
                            (FCN_VOC12AUG, ['model.backbone'])):
        cfg, model = built(config, **{f'{o}.init_cfg.checkpoint': backbone for o in options})
        transfer_train.check_pretrained_fits(model, cfg)  # raises SystemExit otherwise


def test_a_backbone_that_does_not_fit_the_detector_is_refused_before_training(tmp_path):
    """A NIN checkpoint has backbone weights, just not those of a ResNet-50: MMEngine's
    Pretrained init would only log the missing keys; the tool refuses, naming them."""
    from rotation_pred.models.backbones.nin import NetworkInNetwork
    nin = NetworkInNetwork(num_blocks=3, width=12)
    path = str(tmp_path / 'rotnet_nin.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in nin.state_dict().items()}}, path)
    cfg, model = built(FCN_VOC12AUG, **{'model.backbone.init_cfg.checkpoint': path})
    with pytest.raises(SystemExit) as refused:
        transfer_train.check_pretrained_fits(model, cfg)
    message = str(refused.value)
    assert message.startswith(f'error: model.backbone.init_cfg.checkpoint: {path} does not '
                              'fit the backbone ResNet')
    assert 'missing keys: conv1.weight, bn1.weight, bn1.bias' in message
    assert 'and ' in message and ' more' in message  # 300+ keys: the first 10 and a count


def test_the_launcher_stops_before_training_without_a_checkpoint_file(tmp_path):
    out = run_tool('bash', 'tools/benchmarks/mmsegmentation/dist_train.sh', FCN_VOC12AUG,
                   str(tmp_path / 'missing.pth'), '1', '--work-dir', str(tmp_path),
                   env={'PORT': str(free_port())}, check=False)
    assert out.returncode != 0
    assert f'file not found: {tmp_path / "missing.pth"}' in out.stdout + out.stderr
