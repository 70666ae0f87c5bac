"""tools/benchmarks/transfer_train.py refuses to fine-tune from a random backbone: an
unset, missing or unconverted checkpoint is an error naming the option to fix."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import REPO, run_tool
from transfer_data import session_backbone
from transfer_runs import FASTER_RCNN_C4, FCN_VOC12AUG, MASK_RCNN_FPN, free_port

spec = importlib.util.spec_from_file_location(
    'transfer_train', osp.join(REPO, 'tools', 'benchmarks', 'transfer_train.py'))
transfer_train = importlib.util.module_from_spec(spec)
spec.loader.exec_module(transfer_train)


def checked(config, **options):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    transfer_train.check_pretrained(cfg, config)


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


def test_an_unconverted_rotation_pred_checkpoint_is_refused(backbone, tmp_path):
    whole = str(tmp_path / 'whole.pth')
    state = torch.load(backbone, weights_only=True)['state_dict']
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in state.items()}}, whole)
    with pytest.raises(SystemExit, match='extract_backbone_weights.py'):
        checked(FCN_VOC12AUG, **{'model.backbone.init_cfg.checkpoint': whole})


def test_the_launcher_stops_before_training_without_a_checkpoint_file(tmp_path):
    out = run_tool('bash', 'tools/benchmarks/mmsegmentation/dist_train.sh', FCN_VOC12AUG,
                   str(tmp_path / 'missing.pth'), '1', '--work-dir', str(tmp_path),
                   env={'PORT': str(free_port())}, check=False)
    assert out.returncode != 0
    assert f'file not found: {tmp_path / "missing.pth"}' in out.stdout + out.stderr
