"""tools/dist_train.sh CONFIG 2 on CPU processes (gloo, SyncBN) gives the result of
one process on the same global batch."""
import random

import torch

import rotation_pred  # noqa: F401  (loads mmengine checkpoints with weights_only=True)
from conftest import FMNIST_CONFIG, logged, run_tool, train_tool

# 64 images: 2 iterations of a global batch of 32 images (128 rotated samples). Longer
# runs amplify float rounding: after 4 iterations even one process with 1 or 2 threads
# differs by ~4e-4, so two iterations keep the comparison sharp.
# fp32 on every CPU: on CPUs with native bf16, dtype='auto' would train in bf16, whose
# rounding alone moves the weights by more than the comparison's tolerance (the bf16
# path of the CPU SyncBN has its own test below).
COMMON = ['train_dataloader.dataset.indices=64', 'val_dataloader.dataset.indices=16',
          'train_cfg.max_epochs=1', 'train_cfg.val_interval=10', 'param_scheduler.0.end=4',
          'default_hooks.logger.interval=1', 'optim_wrapper.dtype=float32']


def final_weights(work_dir):
    return torch.load(work_dir / 'epoch_1.pth', weights_only=True)['state_dict']


def largest_difference(a, b):
    assert a.keys() == b.keys()
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


def two_processes(work_dir, *options):
    return run_tool('bash', 'tools/dist_train.sh', FMNIST_CONFIG, '2', '--work-dir',
                    str(work_dir), '--cfg-options', *COMMON,
                    'train_dataloader.batch_size=16', *options,
                    env={'PORT': str(random.randint(20000, 40000))})


def test_two_cpu_processes_with_syncbn_match_one_process(tmp_path, fashion_mnist_root):
    train_tool(FMNIST_CONFIG, tmp_path / 'one',
               options=[*COMMON, 'train_dataloader.batch_size=32'])
    out = two_processes(tmp_path / 'two')
    assert 'using the gloo backend' in out.stdout + out.stderr
    for run in ('one', 'two'):  # the same number of optimizer steps
        assert len(logged(tmp_path / run, 'loss')) == 2

    one, two = final_weights(tmp_path / 'one'), final_weights(tmp_path / 'two')
    assert largest_difference(one, two) < 1e-4

    # Per-process BatchNorm (no synchronisation) is measurably different: the
    # comparison above can fail.
    two_processes(tmp_path / 'plain_bn', 'model.backbone.norm_cfg.type=BN')
    assert largest_difference(one, final_weights(tmp_path / 'plain_bn')) > 1e-3


def test_the_process_group_is_destroyed_at_exit(tmp_path):
    """A gloo process group left behind by mmengine is destroyed by the exit handler
    (a finished run must not abort while the interpreter shuts down)."""
    import torch.distributed as dist
    from rotation_pred.compat import destroy_process_group_at_exit
    destroy_process_group_at_exit()  # nothing to destroy: no error
    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
                            world_size=1)
    assert dist.is_initialized()
    destroy_process_group_at_exit()
    assert not dist.is_initialized()


def test_a_finished_run_meets_at_a_barrier_then_destroys_the_group(tmp_path, monkeypatch):
    """tools/train.py and tools/test.py end with finish_distributed: every rank reaches
    the barrier before any tears its connections down."""
    import torch.distributed as dist
    from rotation_pred.compat import finish_distributed
    finish_distributed()  # not distributed: nothing to do
    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
                            world_size=1)
    calls = []
    barrier = dist.barrier
    monkeypatch.setattr(dist, 'barrier', lambda *a, **k: (calls.append('barrier'),
                                                          barrier(*a, **k)))
    finish_distributed()
    assert calls == ['barrier']
    assert not dist.is_initialized()


def test_cpu_syncbn_takes_bf16_inputs_and_computes_its_statistics_in_fp32(tmp_path):
    """CPU autocast hands SyncBN bf16 maps (on CPUs with native bf16, dtype='auto');
    the statistics are summed in fp32 and the output keeps the input's type."""
    import torch.distributed as dist
    from rotation_pred.compat import cpu_sync_batch_norm
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store', rank=0,
                            world_size=1)
    try:
        bn = torch.nn.SyncBatchNorm(3).train()
        x = torch.randn(4, 3, 5, 5, generator=torch.Generator().manual_seed(0)) * 3 + 1
        half = x.bfloat16()
        expected = torch.nn.functional.batch_norm(half.float(), None, None, bn.weight,
                                                  bn.bias, training=True)
        out = cpu_sync_batch_norm(bn, half)
        assert out.dtype == torch.bfloat16
        torch.testing.assert_close(out.float(), expected, atol=0.02, rtol=0.01)
        assert bn.running_mean.dtype == torch.float32
        torch.testing.assert_close(bn.running_mean, 0.1 * half.float().mean(dim=(0, 2, 3)))
    finally:
        dist.destroy_process_group()
