"""tools/train.py and tools/test.py (rotation_pred.cli.train and .test) take MMPretrain
1.2.0's flags with MMPretrain's meaning, log the batch and learning rate at the start of
training, and the project's configs also run under MMPretrain's own tools
(``mim train mmpretrain CONFIG``).

Most checks compare the config our tools build with the one MMPretrain's tools build
(their ``merge_args``); training runs twice in the whole file (our tool, MMPretrain's)."""
import argparse
import glob
import importlib.util
import json
import os.path as osp
import pickle
import re
from types import SimpleNamespace

import mmpretrain
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmpretrain.registry import MODELS

from conftest import FMNIST_CONFIG, REPO, logged, read_scalars, run_tool, train_tool
from rotation_pred.cli import test as our_test
from rotation_pred.cli import train as our_train
from rotation_pred.tools_support import (BatchSummaryHook, batch_summary,
                                         rotations_per_image, set_dataloader_defaults)

MMP_TOOLS = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools')
CONFIGS = osp.join(REPO, 'configs')
CIFAR_CONFIG = osp.join(CONFIGS, 'rotation-pred_nin4b_1xb128-steplr-100e_cifar10.py')
IN1K_CONFIG = osp.join(CONFIGS, 'rotation-pred_resnet50_8xb16-steplr-70e_in1k.py')
ZOO = osp.join(CONFIGS, 'fashion-mnist-zoo')
SUPERVISED_CONFIG = osp.join(ZOO, 'supervised_nin3b-w48_1xb64-steplr-2e_fashion-mnist.py')
# the project's own configs (the benchmark configs are run by the benchmark tools)
PROJECT_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, '*.py')) +
                         glob.glob(osp.join(ZOO, '*.py')))
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

# 64 training images in 2 steps of 32; 32 test images
TINY = ['train_dataloader.dataset.indices=64', 'train_dataloader.batch_size=32',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'val_dataloader.dataset.indices=32', 'default_hooks.logger.interval=1']



def check_mmpretrain_tools():
    """MMPretrain's wheel ships its tools under mmpretrain/.mim/tools; their absence is
    a broken install, reported as a failure (not a skip)."""
    assert osp.isfile(osp.join(MMP_TOOLS, 'train.py')), \
        f'MMPretrain ships no tools in this install ({MMP_TOOLS}): reinstall mmpretrain'


def load_mmpretrain_tool(name: str):
    """MMPretrain's tool script ``name`` (``train`` or ``test``) as a module: the wheel
    ships them as scripts, not as importable modules."""
    spec = importlib.util.spec_from_file_location(f'mmpretrain_{name}',
                                                  osp.join(MMP_TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def ours():
    """Our tools' command lines: (train, test)."""
    return our_train, our_test


@pytest.fixture(scope='module')
def theirs():
    """MMPretrain 1.2.0's own tools as modules: (train, test)."""
    check_mmpretrain_tools()
    return load_mmpretrain_tool('train'), load_mmpretrain_tool('test')


def option_strings(parser: argparse.ArgumentParser) -> set:
    return {opt for action in parser._actions for opt in action.option_strings}


def parser_of(tool, monkeypatch) -> argparse.ArgumentParser:
    """The parser a tool's ``parse_args()`` builds (caught before it parses)."""
    caught = {}

    def catch(self, *args, **kwargs):
        caught['parser'] = self
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, 'parse_args', catch)
    with pytest.raises(SystemExit):
        tool.parse_args()
    monkeypatch.undo()
    return caught['parser']


def settings(cfg: Config) -> dict:
    """What the flags may change in a config."""
    loaders = {f: None if cfg.get(f) is None else
               {k: cfg[f].get(k) for k in ('pin_memory', 'persistent_workers',
                                           'num_workers', 'collate_fn')}
               for f in LOADERS}
    return dict(loaders, val_cfg=cfg.get('val_cfg'), val_evaluator=cfg.get('val_evaluator'),
                auto_scale_lr=cfg.get('auto_scale_lr'), resume=cfg.get('resume'),
                load_from=cfg.get('load_from'), work_dir=cfg.get('work_dir'),
                launcher=cfg.get('launcher'), test_cfg=cfg.get('test_cfg'),
                default_hooks=cfg.get('default_hooks'))


# ---------------------------------------------------------------- flags and configs

def test_our_tools_take_every_flag_of_mmpretrains(ours, theirs, monkeypatch):
    for our_tool, their_tool in zip(ours, theirs):
        missing = option_strings(parser_of(their_tool, monkeypatch)) - option_strings(
            our_tool.make_parser())
        assert not missing, f'{our_tool.__file__} lacks {sorted(missing)}'


TRAIN_FLAGS = [[], ['--no-pin-memory'], ['--no-persistent-workers'], ['--no-validate'],
               ['--resume'], ['--no-pin-memory', '--no-persistent-workers', '--no-validate'],
               ['--launcher', 'slurm']]


@pytest.mark.parametrize('config', [FMNIST_CONFIG, CIFAR_CONFIG, IN1K_CONFIG],
                         ids=['fashion-mnist', 'cifar10', 'in1k'])
@pytest.mark.parametrize('flags', TRAIN_FLAGS, ids=lambda f: ' '.join(f) or 'defaults')
def test_train_flags_build_the_config_mmpretrains_tool_builds(ours, theirs, config, flags):
    args = ours[0].parse_args([config, '--work-dir', 'work_dirs/cli-flags', *flags])
    mine = ours[0].build_config(args)
    reference = theirs[0].merge_args(Config.fromfile(config), args)
    assert settings(mine) == settings(reference)
    for field in LOADERS:
        if mine.get(field) is not None:
            assert mine[field].pin_memory is ('--no-pin-memory' not in flags)


def test_resume_from_a_path_and_auto_scale_lr_as_mmpretrains_tool(ours, theirs, tmp_path):
    checkpoint = tmp_path / 'epoch_3.pth'
    checkpoint.write_bytes(b'')
    args = ours[0].parse_args([IN1K_CONFIG, '--resume', str(checkpoint), '--auto-scale-lr'])
    mine = ours[0].build_config(args)
    assert settings(mine) == settings(theirs[0].merge_args(Config.fromfile(IN1K_CONFIG), args))
    assert mine.resume is True and mine.load_from == str(checkpoint)
    assert mine.auto_scale_lr == dict(base_batch_size=128, enable=True)


def test_auto_scale_lr_needs_a_base_batch_size_and_says_so(ours):
    train = ours[0]
    with pytest.raises(ValueError, match=r'--auto-scale-lr: the config sets no auto_scale_lr'):
        train.build_config(train.parse_args([FMNIST_CONFIG, '--auto-scale-lr']))
    cfg = train.build_config(train.parse_args(
        [FMNIST_CONFIG, '--auto-scale-lr', '--cfg-options',
         'auto_scale_lr.base_batch_size=256']))
    assert cfg.auto_scale_lr == dict(base_batch_size=256, enable=True)
    with pytest.raises(ValueError, match='auto_scale_lr.base_batch_size must be a positive'):
        train.build_config(train.parse_args(
            [FMNIST_CONFIG, '--auto-scale-lr', '--cfg-options',
             'auto_scale_lr.base_batch_size=0']))
    assert 'enable' not in (train.build_config(train.parse_args(
        [IN1K_CONFIG])).auto_scale_lr)  # off without the flag


def test_persistent_workers_default_only_where_there_are_workers(ours):
    train = ours[0]
    cfg = train.build_config(train.parse_args(
        [FMNIST_CONFIG, '--cfg-options', 'train_dataloader.num_workers=2']))
    assert cfg.train_dataloader.persistent_workers is False  # set by the config
    cfg = Config(dict(train_dataloader=dict(num_workers=2), val_dataloader=dict(num_workers=0),
                      test_dataloader=None))
    set_dataloader_defaults(cfg)
    assert cfg.train_dataloader.persistent_workers is True
    assert 'persistent_workers' not in cfg.val_dataloader
    assert cfg.val_dataloader.collate_fn == dict(type='default_collate')
    with pytest.raises(ValueError, match=r'train_dataloader.persistent_workers=True needs '
                                         r'train_dataloader.num_workers > 0'):
        train.build_config(train.parse_args(
            [FMNIST_CONFIG, '--cfg-options', 'train_dataloader.persistent_workers=True']))


@pytest.mark.parametrize('config', PROJECT_CONFIGS, ids=osp.basename)
def test_every_project_config_survives_mmpretrains_dataloader_defaults(ours, theirs, config):
    """MMPretrain's tools default persistent_workers to True, which PyTorch refuses
    without workers: each config that has no workers must say persistent_workers=False."""
    args = ours[0].parse_args([config])
    for cfg in (theirs[0].merge_args(Config.fromfile(config), args),
                ours[0].build_config(args)):
        for field in LOADERS:
            loader = cfg.get(field)
            if loader is not None and loader.persistent_workers:
                assert loader.get('num_workers', 0) > 0, f'{field} of {config}'


# ------------------------------------------------------------------- tools/test.py

def test_test_flags_build_the_config_mmpretrains_tool_builds(ours, theirs, tmp_path):
    checkpoint = tmp_path / 'epoch_1.pth'
    checkpoint.write_bytes(b'')
    for flags in ([], ['--no-pin-memory'], ['--amp'], ['--show-dir', str(tmp_path / 'vis')],
                  ['--show', '--interval', '3', '--wait-time', '0.5']):
        args = ours[1].parse_args([FMNIST_CONFIG, str(checkpoint), *flags])
        mine = ours[1].build_config(args)
        reference = theirs[1].merge_args(Config.fromfile(FMNIST_CONFIG), args)
        assert settings(mine) == settings(reference), flags
        assert mine.test_dataloader.pin_memory is ('--no-pin-memory' not in flags)
        assert mine.load_from == str(checkpoint)


def test_tta_as_mmpretrains_for_classifiers_refused_for_rotation_pred(ours, theirs, tmp_path):
    checkpoint = tmp_path / 'epoch_1.pth'
    checkpoint.write_bytes(b'')
    test = ours[1]
    args = test.parse_args([SUPERVISED_CONFIG, str(checkpoint), '--tta'])
    mine = test.build_config(args)
    reference = theirs[1].merge_args(Config.fromfile(SUPERVISED_CONFIG), args)
    assert mine.model == reference.model and mine.model.type == 'mmpretrain.AverageClsScoreTTA'
    assert mine.test_dataloader.dataset.pipeline == reference.test_dataloader.dataset.pipeline
    with pytest.raises(ValueError, match='--tta: flip test-time augmentation does not apply '
                                         'to RotationPred'):
        test.build_config(test.parse_args([FMNIST_CONFIG, str(checkpoint), '--tta']))


@pytest.mark.parametrize('argv, item', [
    (['--out', 'r.pkl'], 'pred'), (['--out', 'r.pickle', '--out-item', 'pred'], 'pred'),
    (['--out', 'm.json', '--out-item', 'metrics'], 'metrics'),
    (['--out', 'm.yaml', '--out-item', 'metrics'], 'metrics'),
    (['--out', 'm.pkl', '--out-item', 'metrics'], 'metrics'),
    (['--out', 'metrics.json'], 'metrics'),  # earlier use of this tool, with a warning
    ([], None)])
def test_out_and_out_item(ours, argv, item):
    assert ours[1].out_item(ours[1].parse_args(['c.py', 'w.pth', *argv])) == item


@pytest.mark.parametrize('argv, message', [
    (['--out-item', 'metrics'], '--out-item metrics needs --out FILE'),
    (['--out', 'r.json', '--out-item', 'pred'], '--out r.json: the predictions are pickled'),
    (['--out', 'r.txt'], '--out r.txt: the predictions are pickled'),
    (['--out', 'm.txt', '--out-item', 'metrics'], '--out m.txt --out-item metrics: the file')])
def test_out_refuses_what_cannot_be_written(ours, argv, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ours[1].out_item(ours[1].parse_args(['c.py', 'w.pth', *argv]))


# ------------------------------------------------------- start-of-training log line

def build_model(config):
    return MODELS.build(Config.fromfile(config).model)


@pytest.mark.parametrize('config, rotations', [
    (FMNIST_CONFIG, 4),
    (osp.join(ZOO, 'rotation-pred_nin3b-w48_rot8_1xb64-steplr-4e_fashion-mnist.py'), 8),
    (osp.join(ZOO, 'rotation-pred_nin3b-w48_random-rot_1xb256-steplr-16e_fashion-mnist.py'),
     1),
    (SUPERVISED_CONFIG, 1)], ids=['all-4', 'all-8', 'random', 'classifier'])
def test_rotations_per_image(config, rotations):
    assert rotations_per_image(build_model(config)) == rotations


def test_batch_summary_line():
    assert batch_summary(8, 16, 4, [0.2], 0.2) == (
        'Batch and lr: world_size=8 images_per_gpu=16 global_batch=128 samples_per_step=512 '
        '(4 rotated copies per image) lr=0.2; auto_scale_lr off (config lr 0.2)')
    assert batch_summary(4, 16, 1, [0.1, 0.1, 1.0], 0.2, base_batch_size=128) == (
        'Batch and lr: world_size=4 images_per_gpu=16 global_batch=64 samples_per_step=64 '
        'lr=0.1 (param groups: 0.1, 0.1, 1); auto_scale_lr on: config lr 0.2 x 64/128 '
        '(global batch / base_batch_size)')


def test_hook_reads_the_runner_and_logs_on_rank_zero_only():
    model = build_model(FMNIST_CONFIG)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.4))
    logger = MMLogger.get_instance('test_cli_hook', log_level='INFO')
    lines = []
    logger.info = lines.append
    runner = SimpleNamespace(rank=0, world_size=8, model=model, optim_wrapper=wrapper,
                             train_dataloader=SimpleNamespace(batch_size=16),
                             cfg=Config.fromfile(FMNIST_CONFIG), logger=logger,
                             auto_scale_lr=dict(base_batch_size=256, enable=True))
    BatchSummaryHook().before_train(runner)
    assert lines == ['Batch and lr: world_size=8 images_per_gpu=16 global_batch=128 '
                     'samples_per_step=512 (4 rotated copies per image) lr=0.4; '
                     'auto_scale_lr on: config lr 0.1 x 128/256 (global batch / '
                     'base_batch_size)']
    runner.rank = 1
    BatchSummaryHook().before_train(runner)
    assert len(lines) == 1


# ------------------------------------------------------------------ real runs

SUMMARY = re.compile(r'Batch and lr: world_size=(\d+) images_per_gpu=(\d+) global_batch=(\d+) '
                     r'samples_per_step=(\d+) \(4 rotated copies per image\) lr=([0-9.e-]+); '
                     r'auto_scale_lr on: config lr ([0-9.e-]+) x 32/64')


@pytest.fixture(scope='module')
def our_run(tmp_path_factory, fashion_mnist_root):
    """tools/train.py --auto-scale-lr --no-validate with base_batch_size twice the real
    global batch (32): (work dir, output)."""
    work_dir = tmp_path_factory.mktemp('ours')
    out = train_tool(FMNIST_CONFIG, work_dir, '--auto-scale-lr', '--no-validate',
                     options=[*TINY, 'auto_scale_lr.base_batch_size=64'])
    return work_dir, out.stdout + out.stderr


@pytest.fixture(scope='module')
def mmpretrain_run(tmp_path_factory, fashion_mnist_root):
    """MMPretrain's own tools/train.py on the Fashion-MNIST config, unchanged."""
    check_mmpretrain_tools()
    work_dir = tmp_path_factory.mktemp('mmpretrain')
    out = run_tool(osp.join(MMP_TOOLS, 'train.py'), FMNIST_CONFIG, '--work-dir', str(work_dir),
                   '--cfg-options', *TINY)
    return work_dir, out.stdout + out.stderr


def test_start_of_training_line_logs_the_scaled_lr(our_run):
    work_dir, output = our_run
    (line, ) = [line for line in output.splitlines() if 'Batch and lr:' in line]
    world, per_gpu, global_batch, samples, lr, cfg_lr = SUMMARY.search(line).groups()
    assert (world, per_gpu, global_batch, samples) == ('1', '32', '32', '128')
    config_lr = Config.fromfile(FMNIST_CONFIG).optim_wrapper.optimizer.lr
    assert float(cfg_lr) == config_lr and float(lr) == config_lr / 2
    # the optimizer really ran at that lr: step 1 of the warm-up is lr x start_factor 0.1
    first_step = next(row for row in read_scalars(work_dir) if 'lr' in row)  # not the k-NN's
    assert first_step['lr'] == pytest.approx(config_lr / 2 * 0.1)


def test_no_validate_skips_validation(our_run):
    work_dir, output = our_run
    assert 'Epoch(val)' not in output
    assert not logged(work_dir, 'rotation/accuracy')
    assert (work_dir / 'epoch_1.pth').exists()


def test_mmpretrains_own_train_and_test_run_the_config(mmpretrain_run, ours, tmp_path,
                                                      monkeypatch):
    work_dir, output = mmpretrain_run
    assert 'Epoch(val) [1][1/1]' in output and (work_dir / 'epoch_1.pth').exists()
    checkpoint = str(work_dir / 'epoch_1.pth')
    theirs = tmp_path / 'theirs.pkl'
    run_tool(osp.join(MMP_TOOLS, 'test.py'), FMNIST_CONFIG, checkpoint, '--work-dir',
             str(tmp_path), '--out', str(theirs), '--cfg-options',
             'test_dataloader.dataset.indices=32')

    # our tools/test.py: --out F writes the same predictions as MMPretrain's
    ours_file = tmp_path / 'ours.pkl'
    run_tool('tools/test.py', FMNIST_CONFIG, checkpoint, '--work-dir', str(tmp_path),
             '--out', str(ours_file), '--cfg-options', 'test_dataloader.dataset.indices=32')
    with open(theirs, 'rb') as f:
        reference = pickle.load(f)
    with open(ours_file, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == len(reference) == 32
    for mine, their in zip(predictions, reference):
        assert mine.keys() == their.keys() >= {'rotation_scores', 'gt_label', 'sample_idx'}
        assert torch.equal(mine['rotation_scores'], their['rotation_scores'])

    # --out F --out-item metrics: the metrics (in this process: a third start-up of
    # torch and mmengine costs minutes on a loaded 2-core machine)
    metrics_file = tmp_path / 'metrics.json'
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    ours[1].main([
        FMNIST_CONFIG, checkpoint, '--work-dir', str(tmp_path / 'metrics'),
        '--out', str(metrics_file), '--out-item', 'metrics', '--cfg-options',
        'test_dataloader.dataset.indices=32'])
    metrics = json.loads(metrics_file.read_text())
    assert set(metrics) == {'rotation/accuracy'}
    scores = torch.stack([p['rotation_scores'] for p in predictions])  # (N, K, K)
    correct = scores.argmax(-1) == torch.arange(4)
    assert metrics['rotation/accuracy'] == pytest.approx(100 * correct.float().mean().item())
