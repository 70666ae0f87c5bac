"""Running the transfer benchmarks small: the cfg options that shrink a run, the
launchers and tools/benchmarks/transfer_train.py, and what a run leaves behind."""
import json
import math
import os.path as osp
import socket

import torch

from conftest import REPO, logged, run_tool

BENCHMARKS = osp.join(REPO, 'configs', 'benchmarks')
FASTER_RCNN_C4 = osp.join(BENCHMARKS, 'mmdetection', 'voc0712',
                          'faster-rcnn_r50-c4_ms-24k_voc0712.py')
MASK_RCNN_FPN = osp.join(BENCHMARKS, 'mmdetection', 'coco',
                         'mask-rcnn_r50_fpn_ms-1x_coco.py')
FCN_VOC12AUG = osp.join(BENCHMARKS, 'mmsegmentation', 'voc12aug',
                        'fcn_r50-d8_4xb4-20k_voc12aug-512x512.py')
FCN_CITYSCAPES = osp.join(BENCHMARKS, 'mmsegmentation', 'cityscapes',
                          'fcn_r50-d8_4xb2-40k_cityscapes-769x769.py')

# No validation during training (the test set is evaluated after it), no checkpoint
# files (100+ MB each), no worker processes, a log line per iteration.
COMMON = {
    'val_dataloader': None, 'val_cfg': None, 'val_evaluator': None,
    'default_hooks.checkpoint': None,
    'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
    'test_dataloader.num_workers': 0, 'test_dataloader.persistent_workers': False,
    'default_hooks.logger.interval': 1, 'randomness.seed': 0,
}


def cfg_options(options: dict) -> list:
    """{'a.b': (1, 2)} -> ['a.b=(1,2)'], as mmengine's DictAction parses them."""
    return [f'{k}={v if isinstance(v, str) else repr(v).replace(" ", "")}'
            for k, v in options.items()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def train_with_launcher(launcher, config, pretrained, gpus, work_dir, options):
    """tools/benchmarks/<launcher> CONFIG PRETRAINED GPUS, on CPU processes."""
    return run_tool('bash', osp.join('tools', 'benchmarks', launcher), config, pretrained,
                    str(gpus), '--work-dir', str(work_dir), '--cfg-options',
                    *cfg_options({**COMMON, **options}), env={'PORT': str(free_port())})


def train_in_one_process(config, checkpoint_options, work_dir, options):
    """tools/benchmarks/transfer_train.py, without a launcher."""
    options = {**checkpoint_options, **COMMON, **options}
    return run_tool('tools/benchmarks/transfer_train.py', config, '--work-dir',
                    str(work_dir), '--cfg-options', *cfg_options(options))


def read_test_metrics(work_dir) -> dict:
    with open(osp.join(work_dir, 'test_metrics.json')) as f:
        return json.load(f)


def training_losses(work_dir) -> list:
    """The total loss logged at every training iteration."""
    losses = logged(work_dir, 'loss')
    assert all(math.isfinite(loss) for loss in losses), losses
    return losses


def model_after_init(config, work_dir, options):
    """The model the Runner of ``config`` trains, after its weight initialisation."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'init_{osp.basename(str(work_dir))}'
    cfg.visualizer.name = cfg.experiment_name  # one instance per Runner of this process
    model = Runner.from_cfg(cfg).model
    model.init_weights()
    return model


def assert_holds_checkpoint(module, checkpoint, not_in_checkpoint=()):
    """Every tensor of ``module`` equals the one of the same name in the backbone
    checkpoint, except ``not_in_checkpoint`` (exactly those are absent from it)."""
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)['state_dict']
    own = module.state_dict()
    assert sorted(set(own) - set(state)) == sorted(not_in_checkpoint)
    different = [k for k in own if k in state and not torch.equal(own[k], state[k])]
    assert not different, f'not loaded from {checkpoint}: {different[:5]}'
