"""OnlineKNNHook: a short Fashion-MNIST pretraining through tools/train.py logs the k-NN
top-1 after every epoch (text log, scalars.json, TensorBoard) and ends with weights
bit-identical to the same run without the hook; the hook's k-NN is the offline
benchmark's (rotation_pred.evaluation.knn); a data set without labels turns the hook off,
said once; the figure tool draws the curves."""
import glob
import importlib.util
import json
import os
import random
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmpretrain.datasets import BaseDataset
from mmpretrain.datasets.transforms import PackInputs
from mmpretrain.registry import MODELS

from rotation_pred.benchmarks import protocols
from rotation_pred.evaluation import knn
from rotation_pred.evaluation.knn import knn_accuracy
from rotation_pred.hooks import online_knn
from rotation_pred.hooks.online_knn import OnlineKNNHook, frozen, pooled_features

from conftest import FMNIST_CONFIG, REPO, read_scalars, run_tool

FRAGMENT = os.path.join(REPO, 'configs', '_base_', 'online_knn_fashion-mnist.py')
HAS_TENSORBOARD = importlib.util.find_spec('tensorboard') is not None
BACKENDS = ("[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]"
            if HAS_TENSORBOARD else "[dict(type='LocalVisBackend')]")
EPOCHS = 2
# 128 images, 64 per batch: 2 iterations per epoch, validated after each epoch. One
# random rotation per image: training draws from the global torch generator at every
# step, so an evaluation that leaked a draw would change the weights.
SMALL = ['train_dataloader.dataset.indices=128', 'val_dataloader.dataset.indices=64',
         'default_hooks.logger.interval=1', f'train_cfg.max_epochs={EPOCHS}',
         'train_cfg.val_interval=1', 'model.feeding=random']
# A k-NN bank of 200 and 100 queries, read through a transform that draws from the
# Python, numpy and torch generators (the hook must put all of them back).
KNN_SMALL = ['custom_hooks.0.bank_range=[40000,40200]',
             'custom_hooks.0.query_range=[48000,48100]',
             'custom_hooks.0.dataset.pipeline.0.type=PackInputsDrawingRandom']

RANDOM_TRANSFORM = """
import random

import numpy as np
import torch
from mmpretrain.datasets.transforms import PackInputs
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackInputsDrawingRandom(PackInputs):
    def transform(self, results):
        random.random(), np.random.rand(), torch.rand(1)
        return super().transform(results)
"""


def pretrain(tmp_path, name, with_hook):
    """Train the Fashion-MNIST NIN config for EPOCHS epochs into ``tmp_path/name``."""
    config = tmp_path / f'{name}.py'  # the config holds the hook (its FRAGMENT base)
    config.write_text(f'_base_ = [{FMNIST_CONFIG!r}]\n'
                      "custom_imports = dict(imports=['rotation_pred', 'rng_transform'])\n"
                      f'visualizer = dict(vis_backends={BACKENDS})\n' +
                      ('' if with_hook else 'custom_hooks = []\n'))
    work_dir = tmp_path / name
    run_tool('tools/train.py', str(config), '--work-dir', str(work_dir), '--cfg-options',
             *SMALL, *(KNN_SMALL if with_hook else []), env={'PYTHONPATH': str(tmp_path)})
    return work_dir


def test_the_fashion_mnist_config_holds_the_hook_fragment():
    from mmengine.config import Config
    hooks = Config.fromfile(FMNIST_CONFIG).custom_hooks
    assert hooks == Config.fromfile(FRAGMENT).custom_hooks
    assert [h['type'] for h in hooks] == ['OnlineKNNHook']


@pytest.fixture(scope='module')
def runs(tmp_path_factory, fashion_mnist_root):
    tmp_path = tmp_path_factory.mktemp('online_knn')
    (tmp_path / 'rng_transform.py').write_text(RANDOM_TRANSFORM)
    return SimpleNamespace(hook=pretrain(tmp_path, 'with_hook', True),
                           plain=pretrain(tmp_path, 'without_hook', False))


def only(pattern):
    (path, ) = glob.glob(str(pattern))
    return path


def scalar_rows(work_dir):
    return read_scalars(str(work_dir))


def test_a_knn_number_is_logged_before_training_and_after_every_epoch(runs):
    rows = [r for r in scalar_rows(runs.hook) if 'knn/top1' in r]
    assert [r['step'] for r in rows] == list(range(0, EPOCHS + 1))  # 0: initial weights
    assert all(10 < r['knn/top1'] <= 100 for r in rows)  # 10 classes: chance is 10
    with open(only(runs.hook / '*' / '*.log')) as f:
        log = f.read()
    for epoch in range(0, EPOCHS + 1):
        assert f'Epoch(knn) [{epoch}]  knn/top1: ' in log
    assert '200 bank / 100 query images' in log
    assert not any('knn/top1' in r for r in scalar_rows(runs.plain))


def test_tensorboard_holds_the_loss_the_rotation_accuracy_and_the_knn(runs):
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    events = EventAccumulator(only(runs.hook / '*' / 'vis_data' / 'events.out.tfevents.*'))
    events.Reload()
    assert {'loss', 'rotation_accuracy', 'rotation/accuracy',
            'knn/top1'} <= set(events.Tags()['scalars'])
    assert len(events.Scalars('loss')) == 2 * EPOCHS
    assert [e.step for e in events.Scalars('rotation/accuracy')] == [1, 2]
    logged = [r['knn/top1'] for r in scalar_rows(runs.hook) if 'knn/top1' in r]
    knn = events.Scalars('knn/top1')
    assert [e.step for e in knn] == [0, 1, 2]
    assert [e.value for e in knn] == pytest.approx(logged)


def test_the_hook_does_not_change_the_trained_weights(runs):
    final = f'epoch_{EPOCHS}.pth'
    with_hook, without = (torch.load(d / final, map_location='cpu',
                                     weights_only=True)['state_dict']
                          for d in (runs.hook, runs.plain))
    assert with_hook.keys() == without.keys()
    for key in with_hook:
        assert torch.equal(with_hook[key], without[key]), key


def top1(bank_x, bank_y, query_x, query_y, k=20):
    return knn_accuracy(bank_x, bank_y, query_x, query_y, (k, ), 0.07, (1, ))[k][1]


def test_separable_features_give_100_and_wrong_neighbours_give_0():
    generator = torch.Generator().manual_seed(1)
    centres = torch.eye(4, 8) * 10  # four classes, one direction each
    bank_y = torch.arange(4).repeat_interleave(25)
    bank_x = centres[bank_y] + torch.randn(100, 8, generator=generator)
    query_y = torch.arange(4).repeat(10)
    query_x = centres[query_y] + torch.randn(40, 8, generator=generator)
    assert top1(bank_x, bank_y, query_x, query_y) == 100.0
    # each query sits among the bank images of the next class
    assert top1(bank_x, bank_y, query_x, (query_y + 3) % 4) == 0.0


class InMemory(BaseDataset):
    """28x28 grayscale images held in memory; ``labels=None``: no ``gt_label``."""

    def __init__(self, images, labels, pipeline):
        self.images, self.labels = images, labels
        super().__init__(ann_file='', pipeline=pipeline, serialize_data=False)

    def load_data_list(self):
        if self.labels is None:
            return [dict(img=img) for img in self.images]
        return [dict(img=img, gt_label=int(y)) for img, y in zip(self.images, self.labels)]


class DrawRandom:
    """A transform that draws from the Python, numpy and torch generators."""

    def __call__(self, results):
        random.random(), np.random.rand(), torch.rand(1)
        return results


class Recorder:
    """Stands for the runner's logger and visualizer: keeps what they were given."""

    def __init__(self):
        self.lines, self.scalars = [], []

    def info(self, message):
        self.lines.append(('info', message))

    def warning(self, message):
        self.lines.append(('warning', message))

    def add_scalars(self, scalars, step, file_path=None):
        self.scalars.append((scalars, step))


def fake_runner(labels, epoch=0):
    """A runner with a small NIN and what the hook reads, and 40 random images."""
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='RotationPred', channels_last=True,
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[72.94], std=[90.02]),
        backbone=dict(type='NetworkInNetwork', num_blocks=3, width=8, in_channels=1),
        head=dict(type='RotationHead', in_channels=8, num_classes=4)))
    model.init_weights()
    images = np.random.default_rng(0).integers(0, 256, (40, 28, 28), dtype=np.uint8)
    dataset = InMemory(images, labels, [DrawRandom(), PackInputs()])
    recorder = Recorder()
    runner = SimpleNamespace(model=model, logger=recorder, visualizer=recorder,
                             message_hub=MessageHub.get_instance(f'knn-test-{id(model)}'),
                             epoch=epoch, iter=10, max_epochs=3, hooks=[])
    return runner, dataset, recorder


def rng_states():
    """The Python, numpy (key, position) and torch CPU generator states."""
    numpy_state = np.random.get_state()
    return random.getstate(), (numpy_state[1].copy(), numpy_state[2]), torch.get_rng_state()


def test_the_evaluation_leaves_rng_modes_and_weights_as_they_were():
    runner, dataset, recorder = fake_runner(labels=np.arange(40) % 4)
    hook = OnlineKNNHook(dataset, bank_range=(0, 30), query_range=(30, 40), k=5)
    model = runner.model
    model.train()
    model.head.eval()  # a module the training keeps in eval mode stays so
    modes = [m.training for m in model.modules()]
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    before = rng_states()
    dataset[0]
    assert not torch.equal(torch.get_rng_state(), before[2])  # the pipeline draws
    before = rng_states()

    hook.before_train(runner)
    hook.after_train_epoch(runner)
    after = rng_states()
    assert after[0] == before[0]
    assert np.array_equal(after[1][0], before[1][0]) and after[1][1] == before[1][1]
    assert torch.equal(after[2], before[2])
    assert [m.training for m in model.modules()] == modes
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[key]), key
    ((scalars, step), ) = recorder.scalars
    assert step == 1 and 0 <= scalars['knn/top1'] <= 100
    assert runner.message_hub.get_scalar('knn/top1').current() == scalars['knn/top1']
    ((level, line), ) = recorder.lines
    assert level == 'info' and line.startswith('Epoch(knn) [1]  knn/top1: ')


def test_at_start_logs_epoch_0_from_the_initial_weights_but_not_on_resume():
    runner, dataset, recorder = fake_runner(labels=np.arange(40) % 4)
    runner.iter = 0
    hook = OnlineKNNHook(dataset, bank_range=(0, 30), query_range=(30, 40), k=5,
                         at_start=True)
    hook.before_train(runner)
    ((scalars, step), ) = recorder.scalars
    plain = OnlineKNNHook(dataset, bank_range=(0, 30), query_range=(30, 40), k=5)
    plain.before_train(runner)
    with frozen(runner.model):
        assert step == 0 and scalars['knn/top1'] == plain.evaluate(runner.model)
    assert recorder.lines[0][1].startswith('Epoch(knn) [0]  knn/top1: ')
    assert len(recorder.lines) == 1  # the hook without at_start logged nothing

    resumed, dataset, recorder = fake_runner(labels=np.arange(40) % 4, epoch=1)
    OnlineKNNHook(dataset, bank_range=(0, 30), query_range=(30, 40), k=5,
                  at_start=True).before_train(resumed)  # iter=10: a resumed run
    assert recorder.scalars == [] and recorder.lines == []


def test_the_hook_and_the_offline_benchmark_give_the_same_accuracy():
    """One k-NN for both: the hook and the offline protocol call the same function, and
    the hook's number is that function's on the same pooled features."""
    assert online_knn.knn_accuracy is knn.knn_accuracy is protocols.knn_accuracy
    runner, dataset, _ = fake_runner(labels=np.arange(40) % 4)
    hook = OnlineKNNHook(dataset, bank_range=(0, 30), query_range=(30, 40), k=5,
                         temperature=0.1)
    hook.before_train(runner)
    with frozen(runner.model):
        online = hook.evaluate(runner.model)
        bank_x, query_x = (pooled_features(runner.model, dataset, range(*r), -1, 256)
                           for r in ((0, 30), (30, 40)))
    offline = knn_accuracy(bank_x.numpy(), np.arange(30) % 4, query_x.numpy(),
                           np.arange(30, 40) % 4, ks=(5, 20), temperature=0.1,
                           topk=(1, 5), bank_chunk=7, query_chunk=3)
    assert online == offline[5][1]
    assert online in [10.0 * hits for hits in range(11)]  # hits among the 10 queries


def test_without_labels_the_hook_is_off_and_says_so_once():
    runner, dataset, recorder = fake_runner(labels=None)
    hook = OnlineKNNHook(dataset, bank_range=(0, 30), query_range=(30, 40), k=5)
    hook.before_train(runner)
    for epoch in range(3):
        runner.epoch = epoch
        hook.after_train_epoch(runner)
    ((level, line), ) = recorder.lines
    assert level == 'warning' and 'no class labels (gt_label)' in line and 'off' in line
    assert recorder.scalars == []


@pytest.mark.parametrize('options, message', [
    (dict(bank_range=(0, 30), query_range=(20, 40)), 'overlap'),
    (dict(bank_range=(0, 30), query_range=(30, 40), k=31), 'k=31'),
    (dict(bank_range=(30, 0), query_range=(30, 40)), 'bank_range=(30, 0)'),
    (dict(bank_range=(0, 30), query_range=(30, 41)), 'query_range ends at 41'),
])
def test_bad_options_are_refused_by_name(options, message):
    runner, dataset, _ = fake_runner(labels=np.arange(40) % 4)
    with pytest.raises(ValueError, match=re.escape(message)):
        OnlineKNNHook(dataset, **options).before_train(runner)


def test_the_figure_tool_draws_the_curves_of_a_resumed_run(tmp_path):
    first = [dict(loss=1.2, rotation_accuracy=60.0, epoch=1, iter=5, step=5),
             {'knn/top1': 55.0, 'step': 1}, {'rotation/accuracy': 70.0, 'step': 1}]
    resumed = [dict(loss=0.5, rotation_accuracy=90.0, epoch=2, iter=10, step=10),
               dict(loss=0.4, rotation_accuracy=94.0, epoch=2, iter=10, step=10),
               {'knn/top1': 61.5, 'step': 2}]
    for stamp, rows in (('20260101_000000', first), ('20260101_010000', resumed)):
        (tmp_path / stamp / 'vis_data').mkdir(parents=True)
        (tmp_path / stamp / 'vis_data' / 'scalars.json').write_text(
            ''.join(json.dumps(r) + '\n' for r in rows))
    out = run_tool('tools/analysis_tools/plot_online_knn.py', str(tmp_path), '--out',
                   str(tmp_path / 'knn.png'))
    assert (tmp_path / 'knn.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert '    1     55.00          60.00        70.00' in out.stdout
    assert '    2     61.50          92.00            -' in out.stdout
