"""tools/dist_train.sh CONFIG 2 on CPU processes (gloo, SyncBN) gives the result of
one process on the same global batch."""
import random

import torch

from conftest import FMNIST_CONFIG, run_tool

COMMON = ['train_dataloader.dataset.indices=256', 'val_dataloader.dataset.indices=16',
          'train_cfg.max_epochs=1', 'train_cfg.val_interval=10', 'param_scheduler.0.end=4',
          'default_hooks.logger.interval=1']


def test_two_cpu_processes_with_syncbn_match_one_process(tmp_path, fashion_mnist_root):
    run_tool('tools/train.py', FMNIST_CONFIG, '--work-dir', str(tmp_path / 'one'),
             '--cfg-options', *COMMON, 'train_dataloader.batch_size=32')
    out = run_tool('bash', 'tools/dist_train.sh', FMNIST_CONFIG, '2', '--work-dir',
                   str(tmp_path / 'two'), '--cfg-options', *COMMON,
                   'train_dataloader.batch_size=16',
                   env={'PORT': str(random.randint(20000, 40000))})
    log = out.stdout + out.stderr
    assert 'using the gloo backend' in log
    assert "'world_size': 2" in log or 'world_size: 2' in log.replace('"', '')

    one = torch.load(tmp_path / 'one' / 'epoch_1.pth', weights_only=True)['state_dict']
    two = torch.load(tmp_path / 'two' / 'epoch_1.pth', weights_only=True)['state_dict']
    assert one.keys() == two.keys()
    first_bn = 'backbone.blocks.0.0.1.running_mean'
    assert not torch.equal(one[first_bn], torch.zeros_like(one[first_bn]))
    for key in one:
        assert torch.allclose(one[key].float(), two[key].float(), rtol=1e-3, atol=1e-4), key
