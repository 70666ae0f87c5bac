"""Training with tools/train.py on Fashion-MNIST: the loss goes down, resuming gives
the same weights as an uninterrupted run, and pickled code in a checkpoint never runs."""
import json
import os

import pytest
import torch

import rotation_pred  # noqa: F401  (loads mmengine checkpoints with weights_only=True)
from mmengine.runner import load_checkpoint

from conftest import (FMNIST_CONFIG, INTERRUPTED, interrupting_config, logged, run_tool,
                      train_tool)

# 512 images, 32 per batch: 16 iterations per epoch; a small test set for validation.
SMALL = ['train_dataloader.dataset.indices=512', 'train_dataloader.batch_size=32',
         'val_dataloader.dataset.indices=64', 'default_hooks.logger.interval=1',
         'param_scheduler.0.end=4']


EPOCHS = 3


def train(work_dir, epochs, *flags, config=FMNIST_CONFIG, **kwargs):
    return train_tool(config, work_dir, *flags, options=[
        *SMALL, f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}'],
        **kwargs)


def weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


@pytest.fixture(scope='module')
def trained(tmp_path_factory, fashion_mnist_root):
    work_dir = tmp_path_factory.mktemp('trained')
    train(work_dir, EPOCHS)
    return work_dir


def test_loss_goes_down_and_rotation_accuracy_is_validated(trained):
    losses = logged(trained, 'loss')
    assert len(losses) == 16 * EPOCHS
    assert sum(losses[-8:]) / 8 < 0.8 * sum(losses[:8]) / 8
    (accuracy, ) = logged(trained, 'rotation/accuracy')
    assert accuracy > 40  # 25 is chance


def test_resume_auto_gives_the_weights_of_an_uninterrupted_run(trained, tmp_path):
    work_dir = tmp_path / 'work'
    out = train(work_dir, EPOCHS, config=interrupting_config(tmp_path, epoch=1),
                check=False, env={'PYTHONPATH': str(tmp_path)})
    assert out.returncode == INTERRUPTED, out.stderr[-2000:]
    assert (work_dir / 'epoch_1.pth').exists() and not (work_dir / 'epoch_2.pth').exists()

    out = train(work_dir, EPOCHS, '--resume')
    assert 'Auto resumed from the latest checkpoint' in out.stdout + out.stderr
    final = f'epoch_{EPOCHS}.pth'
    resumed, uninterrupted = weights(work_dir / final), weights(trained / final)
    assert resumed.keys() == uninterrupted.keys()
    for key in resumed:
        assert torch.equal(resumed[key], uninterrupted[key]), key


class Payload:
    """Pickles as a call to os.system: what a malicious checkpoint would carry."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_checkpoint_with_a_pickle_payload_is_refused_and_does_not_run(trained, tmp_path):
    marker = tmp_path / 'payload-ran'
    checkpoint = torch.load(trained / f'epoch_{EPOCHS}.pth', map_location='cpu',
                            weights_only=True)
    checkpoint['meta']['note'] = Payload(marker)
    evil = tmp_path / 'evil.pth'
    torch.save(checkpoint, evil)

    out = train_tool(FMNIST_CONFIG, tmp_path / 'work', '--resume', str(evil), options=SMALL,
                     check=False)
    assert out.returncode != 0
    assert 'Weights only load failed' in out.stderr
    assert 'posix.system' in out.stderr or 'os.system' in out.stderr
    assert not marker.exists()

    model = torch.nn.Linear(1, 1)
    with pytest.raises(Exception, match='Weights only load failed'):
        load_checkpoint(model, str(evil), map_location='cpu')
    assert not marker.exists()


def test_test_tool_reports_rotation_accuracy_of_a_checkpoint(trained, tmp_path):
    out_file = tmp_path / 'metrics.json'
    run_tool('tools/test.py', FMNIST_CONFIG, str(trained / f'epoch_{EPOCHS}.pth'), '--work-dir',
             str(tmp_path), '--out', str(out_file), '--cfg-options',
             'test_dataloader.dataset.indices=128')
    metrics = json.loads(out_file.read_text())
    assert metrics['rotation/accuracy'] > 40


def test_test_tool_refuses_a_checkpoint_of_another_rotation_set(trained, tmp_path):
    out = run_tool('tools/test.py', FMNIST_CONFIG, str(trained / f'epoch_{EPOCHS}.pth'),
                   '--work-dir', str(tmp_path), '--cfg-options',
                   'test_dataloader.dataset.indices=16', 'model.rotations=[0,180]',
                   'model.head.num_classes=2', check=False)
    assert out.returncode != 0
    assert 'head.fc.weight has shape (4, 48) in the checkpoint but (2, 48)' in out.stderr
