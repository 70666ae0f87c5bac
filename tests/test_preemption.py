"""Preemption-safe training (rotation_pred/engine): SIGTERM / SIGUSR1 save a checkpoint
after the current iteration and exit with status 75; ``--resume`` then ends with the
weights (and optimizer state) of an uninterrupted run, bit for bit; a checkpoint write
killed midway leaves the previous checkpoint as the one ``--resume`` takes; the ranks
of a process group stop together.

The Fashion-MNIST runs (tools/train.py) use the NIN config composed as the repository
will have it (configs/_base_/default_runtime.py inheriting configs/_base_/preemptible.py;
the config keeps its stock loop and checkpoint hook types), with one random rotation
per image (``feeding='random'``) so that the random number generators matter too; the
reference and the interrupted run go in parallel. The other checks train a toy model in
this process (or a forked child, for the killed write).
"""
import itertools
import os
import signal
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner, find_latest_checkpoint

from conftest import FMNIST_CONFIG, REPO
from rotation_pred.engine import AtomicCheckpointHook, EXIT_PREEMPTED, PreemptionHook
from rotation_pred.engine.checkpointing import remove_temporaries
from rotation_pred.engine.preemption import agree_to_stop
from rotation_pred.fileio import temporary_path, write_atomically

RUNTIME = os.path.join(REPO, 'configs', '_base_', 'default_runtime.py')
FRAGMENT = os.path.join(REPO, 'configs', '_base_', 'preemptible.py')
KNN_FRAGMENT = os.path.join(REPO, 'configs', '_base_', 'online_knn_fashion-mnist.py')

# 96 images, 16 per batch: 6 iterations per epoch, 2 epochs; the warm-up (by
# iteration) is still going on when the signal comes.
SMALL = ['train_dataloader.dataset.indices=96', 'train_dataloader.batch_size=16',
         'train_cfg.max_epochs=2', 'param_scheduler.0.end=8', 'model.feeding=random',
         'default_hooks.logger.interval=1']
PER_EPOCH = 6
SIGNAL_AT = 3  # 0-based: the signal comes during the 4th iteration of epoch 1

TEST_HOOKS = '''
import os
import signal

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class SignalDuringIteration(Hook):
    """Sends this process $SIGNAL_NAME during iteration $SIGNAL_AT_ITER (0-based)."""
    priority = 'HIGHEST'

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        at = os.environ.get('SIGNAL_AT_ITER')
        if at is not None and runner.iter == int(at):
            os.kill(os.getpid(), signal.Signals[os.environ['SIGNAL_NAME']])

'''


def write_configs(folder) -> str:
    """The Fashion-MNIST config, its runtime switched to the preemptible one as in the
    repository (one ``_base_`` line), and the test hooks; returns the config path."""
    base = folder / '_base_'
    base.mkdir(parents=True)
    with open(FRAGMENT) as f:
        (base / 'preemptible.py').write_text(f.read())
    with open(KNN_FRAGMENT) as f:  # the Fashion-MNIST config's other base
        (base / 'online_knn_fashion-mnist.py').write_text(f.read())
    with open(RUNTIME) as f:
        runtime = f.read()
    (base / 'default_runtime.py').write_text(
        runtime.replace("_base_ = 'mmpretrain::_base_/default_runtime.py'",
                        "_base_ = './preemptible.py'"))
    with open(FMNIST_CONFIG) as f:
        (folder / 'fashion_mnist.py').write_text(f.read())
    (folder / 'preemption_test_hooks.py').write_text(TEST_HOOKS)
    config = folder / 'preemptible_fashion_mnist.py'
    config.write_text(
        "_base_ = './fashion_mnist.py'\n"
        "custom_imports = dict(imports=['rotation_pred', 'rotation_pred.engine', "
        "'preemption_test_hooks'])\n"
        "custom_hooks = [dict(type='SignalDuringIteration')]\n")
    return str(config)


def start(config, work_dir, *options, env=None):
    """tools/train.py on ``config`` in the background; output in ``work_dir``.log."""
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHONPATH=os.path.dirname(config),
                    OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'), **(env or {}))
    log = open(f'{work_dir}.log', 'w')
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', str(work_dir),
           '--no-validate', *options, '--cfg-options', *SMALL]
    proc = subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=log,
                            stderr=subprocess.STDOUT)
    proc.log_file, proc.work_dir = log, work_dir
    return proc


def finish(proc, timeout=900):
    """Wait for ``proc``; its exit status and log."""
    status = proc.wait(timeout)
    proc.log_file.close()
    with open(proc.log_file.name) as f:
        return status, f.read()


def checkpoint(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def assert_same_training_state(a, b):
    """Bit-identical weights, buffers and optimizer state."""
    a, b = checkpoint(a), checkpoint(b)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key in a['state_dict']:
        assert torch.equal(a['state_dict'][key], b['state_dict'][key]), key
    state_a, state_b = a['optimizer']['state'], b['optimizer']['state']
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert torch.equal(state_a[key]['momentum_buffer'],
                           state_b[key]['momentum_buffer']), key


@pytest.fixture(scope='module')
def first_runs(tmp_path_factory, fashion_mnist_root):
    """An uninterrupted run and a run sent SIGTERM in the middle of epoch 1."""
    folder = tmp_path_factory.mktemp('preemption')
    config = write_configs(folder)
    procs = dict(
        reference=start(config, folder / 'reference'),
        sigterm=start(config, folder / 'sigterm',
                      env=dict(SIGNAL_AT_ITER=str(SIGNAL_AT), SIGNAL_NAME='SIGTERM')))
    runs = {name: (proc.work_dir, *finish(proc)) for name, proc in procs.items()}
    runs['config'] = config
    return runs


def test_sigterm_saves_the_iteration_and_exits_with_status_75(first_runs):
    work_dir, status, log = first_runs['sigterm']
    assert status == EXIT_PREEMPTED == 75, log[-3000:]
    assert 'EpochBasedTrainLoop -> ResumableEpochBasedTrainLoop' in log
    assert 'CheckpointHook -> AtomicCheckpointHook' in log
    assert f'Preempted (SIGTERM): saved {work_dir}/iter_{SIGNAL_AT + 1}.pth' in log
    assert (work_dir / 'last_checkpoint').read_text() == str(
        work_dir / f'iter_{SIGNAL_AT + 1}.pth')
    meta = checkpoint(work_dir / f'iter_{SIGNAL_AT + 1}.pth')['meta']
    assert (meta['epoch'], meta['iter']) == (0, SIGNAL_AT + 1)
    assert not list(work_dir.glob('epoch_*.pth'))


def test_resume_after_sigterm_gives_the_weights_of_an_uninterrupted_run(first_runs):
    reference, status, log = first_runs['reference']
    assert status == 0, log[-3000:]
    work_dir = first_runs['sigterm'][0]
    status, log = finish(start(first_runs['config'], work_dir, '--resume'))  # as requeued
    assert status == 0, log[-3000:]
    assert f'Auto resumed from the latest checkpoint {work_dir}/iter_{SIGNAL_AT + 1}.pth' \
        in log
    assert f'skipped its first {SIGNAL_AT + 1} batches' in log
    assert log.count('Epoch(train)') == 2 * PER_EPOCH - SIGNAL_AT - 1
    assert_same_training_state(work_dir / 'epoch_2.pth', reference / 'epoch_2.pth')
    # the interim checkpoint went once epoch_1.pth was complete
    assert not (work_dir / f'iter_{SIGNAL_AT + 1}.pth').exists()
    assert (work_dir / 'last_checkpoint').read_text() == str(work_dir / 'epoch_2.pth')


# --- in-process checks on a toy model ---------------------------------------------


RUN_NUMBERS = itertools.count()  # unique experiment names: MMEngine keeps instances


class ToyModel(BaseModel):
    """A linear regression with noise drawn in every step (the generators matter)."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='loss'):
        noise = torch.rand(inputs.shape[0], 1)
        return dict(loss=((self.fc(inputs) + noise)**2).mean())


class SignalAt(Hook):
    """Sends this process ``sig`` during iteration ``at`` (0-based)."""
    priority = 'HIGHEST'

    def __init__(self, at, sig):
        self.at, self.sig = at, sig

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:
            os.kill(os.getpid(), self.sig)


def toy_runner(work_dir, preemption, hooks=(), resume=False, keep=-1):
    """A 3-epoch run of 5 iterations per epoch on the toy model, keeping ``keep``
    checkpoints (all: -1)."""
    torch.manual_seed(0)
    data = [dict(inputs=torch.tensor([i / 10, i * 7 % 5 / 5])) for i in range(20)]
    return Runner(
        model=ToyModel(), work_dir=str(work_dir), resume=resume,
        experiment_name=f'toy_{next(RUN_NUMBERS)}',
        train_dataloader=dict(dataset=data, batch_size=4,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1,
                                           max_keep_ckpts=keep),
                           preemption=preemption),
        custom_hooks=list(hooks), randomness=dict(seed=1), default_scope='mmpretrain')


@pytest.mark.parametrize('sig', [signal.SIGUSR1, signal.SIGTERM])
def test_sigusr1_and_sigterm_save_and_exit_with_status_75(tmp_path, sig):
    hook = PreemptionHook()
    try:
        with pytest.raises(SystemExit) as stop:
            toy_runner(tmp_path / 'cut', hook, [SignalAt(7, sig)]).train()
    finally:
        hook.uninstall()  # SystemExit skips after_train, which gives them back
    assert stop.value.code == EXIT_PREEMPTED
    assert hook.received == sig
    assert find_latest_checkpoint(str(tmp_path / 'cut')) == str(tmp_path / 'cut/iter_8.pth')

    hook = PreemptionHook()
    toy_runner(tmp_path / 'cut', hook, resume=True).train()
    toy_runner(tmp_path / 'full', PreemptionHook()).train()
    assert_same_training_state(tmp_path / 'cut/epoch_3.pth', tmp_path / 'full/epoch_3.pth')


def test_without_a_signal_the_handlers_are_given_back(tmp_path):
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGUSR1)}
    hook = PreemptionHook(signals=['TERM', 'usr1'])
    toy_runner(tmp_path / 'run', hook).train()
    assert hook.received is None
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_a_test_or_validation_run_keeps_the_default_signal_handlers(tmp_path):
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGUSR1)}
    runner = toy_runner(tmp_path, PreemptionHook())
    runner.call_hook('before_run')  # as Runner.val() and Runner.test() do
    assert isinstance(runner._train_loop, dict)  # not built for them, not switched
    assert {sig: signal.getsignal(sig) for sig in before} == before


def _train_dying_in_write(work_dir, name):
    """The toy run, in a child process whose write of a file named like ``name`` stops
    half-way: the process is killed (SIGKILL) after half of the bytes."""
    put = LocalBackend.put

    def dying_put(backend, obj, filepath):
        if name in os.path.basename(str(filepath)):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return put(backend, obj, filepath)

    LocalBackend.put = dying_put
    toy_runner(work_dir, PreemptionHook(), keep=1).train()


def test_a_killed_checkpoint_write_leaves_the_previous_checkpoint(tmp_path):
    cut = tmp_path / 'cut'
    child = mp.get_context('fork').Process(target=_train_dying_in_write,
                                           args=(cut, 'epoch_2'))
    child.start()
    child.join(600)
    assert child.exitcode == -signal.SIGKILL
    assert not (cut / 'epoch_2.pth').exists()
    (leftover, ) = cut.glob('.epoch_2.pth.*.tmp')  # hidden, half written
    previous = cut / 'epoch_1.pth'
    assert leftover.stat().st_size < previous.stat().st_size
    # max_keep_ckpts=1: MMEngine deletes epoch_1.pth before it writes epoch_2.pth
    assert find_latest_checkpoint(str(cut)) == str(previous)  # what --resume reads
    assert checkpoint(previous)['meta']['epoch'] == 1

    toy_runner(cut, PreemptionHook(), keep=1, resume=True).train()
    assert not list(cut.glob('.*.tmp'))
    assert [p.name for p in cut.glob('*.pth')] == ['epoch_3.pth']
    toy_runner(tmp_path / 'full', PreemptionHook()).train()
    assert_same_training_state(cut / 'epoch_3.pth', tmp_path / 'full/epoch_3.pth')


def test_the_atomic_hook_keeps_the_checkpoint_hook_options(tmp_path):
    """Iteration-based checkpoints, max_keep_ckpts and save_best still work."""
    runner = toy_runner(tmp_path, PreemptionHook())
    hook = AtomicCheckpointHook(by_epoch=False, interval=4, max_keep_ckpts=2,
                                save_best='acc', rule='greater')
    runner.register_hook(hook)  # in addition to the epoch checkpoints
    runner.train()
    assert sorted(p.name for p in tmp_path.glob('iter_*.pth')) == ['iter_12.pth',
                                                                     'iter_15.pth']
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_3.pth')

    hook.after_val_epoch(runner, dict(acc=0.5))
    hook.after_val_epoch(runner, dict(acc=0.25))  # not better: kept
    assert [p.name for p in tmp_path.glob('best_*')] == ['best_acc_iter_15.pth']
    assert checkpoint(tmp_path / 'best_acc_iter_15.pth')['meta']['iter'] == 15
    assert 'save_checkpoint' not in vars(runner)  # the redirection is undone
    assert not list(tmp_path.glob('.*.tmp'))


def _agree(rank, store, requests, results):
    """One rank of a gloo group: the decision for each of ``requests[rank]``."""
    dist.init_process_group('gloo', init_method=f'file://{store}', rank=rank,
                            world_size=2)
    decisions = [agree_to_stop(request) for request in requests[rank]]
    with open(f'{results}.{rank}', 'w') as f:
        f.write(repr(decisions))
    dist.destroy_process_group()


def test_ranks_agree_to_stop_when_any_rank_was_signalled(tmp_path):
    requests = [[False, False, True, False], [False, True, True, False]]
    results = tmp_path / 'decisions'
    mp.start_processes(_agree, args=(tmp_path / 'store', requests, results), nprocs=2,
                       start_method='fork')
    for rank in range(2):
        assert (tmp_path / f'decisions.{rank}').read_text() == repr(
            [False, True, True, False])
    assert agree_to_stop(True) and not agree_to_stop(False)  # no process group


def write_text(path, text):
    write_atomically(str(path), lambda f: f.write(text), binary=False)


def test_a_failed_replacement_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / 'last_checkpoint'
    write_text(target, 'epoch_1.pth')

    def crash(*args):
        raise OSError('failed before the rename')

    with monkeypatch.context() as patched:
        patched.setattr(os, 'replace', crash)
        with pytest.raises(OSError, match='before the rename'):
            write_text(target, 'epoch_2.pth')
    assert target.read_text() == 'epoch_1.pth'
    assert [p.name for p in tmp_path.iterdir()] == ['last_checkpoint']  # cleaned up

    # what a write killed before the rename leaves: found and removed, nothing else
    leftover = temporary_path(str(target))
    with open(leftover, 'w') as f:
        f.write('epoch_')
    (tmp_path / '.hidden.tmp').write_text('not ours')
    assert remove_temporaries(str(tmp_path)) == [leftover]
    assert sorted(p.name for p in tmp_path.iterdir()) == ['.hidden.tmp', 'last_checkpoint']


# --- tools/slurm_train.sh and tools/slurm_submit.sh with stand-ins for Slurm ---------

FAKE_SLURM = {
    # records its arguments; exits with $FAKE_STATUS, after writing the marker as rank 0
    # of a preempted run does when $FAKE_MARKER is set
    'srun': '''#!/usr/bin/env bash
printf '%s\\n' "$@" > "$FAKE_DIR/srun_args"
[ -n "${FAKE_MARKER:-}" ] && printf '%s' iter_9.pth > "$ROTATION_PRED_PREEMPTED_MARKER"
exit "$FAKE_STATUS"
''',
    'scontrol': '''#!/usr/bin/env bash
echo "$@" >> "$FAKE_DIR/scontrol_calls"
[ "$1" = show ] && echo "JobId=$3 JobName=x UserId=u JobState=$FAKE_STATE Reason=None"
exit 0
''',
    'sbatch': '''#!/usr/bin/env bash
printf '%s\\n' "$@" > "$FAKE_DIR/sbatch_args"
''',
}


def fake_slurm(tmp_path, script, *args, **env):
    """Run ``tools/<script>`` with stand-ins for srun, scontrol and sbatch first in
    PATH; the exit status, the output, srun's (or sbatch's) arguments and the scontrol
    calls."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    for name, text in FAKE_SLURM.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith('SLURM_')}
    full_env.update(dict(PATH=f'{bin_dir}:{os.environ["PATH"]}', FAKE_DIR=str(tmp_path),
                         FAKE_STATUS='0', FAKE_STATE='RUNNING'), **env)
    proc = subprocess.run(['bash', os.path.join(REPO, 'tools', script), 'PART', 'JOB',
                           'CONFIG.py', 'WORK', '--cfg-options', 'a=1'], cwd=tmp_path,
                          env=full_env, capture_output=True, text=True, timeout=60)
    launched = next(tmp_path.glob('*_args'), None)
    calls = tmp_path / 'scontrol_calls'
    return (proc.returncode, proc.stdout + proc.stderr,
            launched.read_text().splitlines() if launched else [],
            calls.read_text().splitlines() if calls.exists() else [])


@pytest.mark.parametrize('status,marker,state,restarts,requeued,exit_status', [
    ('75', '', 'RUNNING', '0', True, 75),          # time-limit warning: requeue
    ('137', '1', 'RUNNING', '0', True, 75),        # srun reports a rank it killed
    ('75', '', 'PREEMPTED', '2', True, 75),
    ('75', '', 'CANCELLED', '0', False, 75),       # scancel: stays cancelled
    ('75', '', 'RUNNING', '50', False, 75),        # MAX_REQUEUES reached
    ('1', '', 'RUNNING', '0', False, 1),           # a failure is not a preemption
    ('0', '', 'RUNNING', '0', False, 0),
])
def test_slurm_train_requeues_a_preempted_batch_job(tmp_path, status, marker, state,
                                                    restarts, requeued, exit_status):
    code, out, args, calls = fake_slurm(
        tmp_path, 'slurm_train.sh', FAKE_STATUS=status, FAKE_MARKER=marker,
        FAKE_STATE=state, SLURM_JOB_ID='123', SLURM_RESTART_COUNT=restarts)
    assert code == exit_status, out
    launcher = args.index('--launcher')
    assert args[launcher:] == ['--launcher', 'slurm', '--resume', '--work-dir', 'WORK',
                               '--cfg-options', 'a=1']
    assert not [a for a in args if a.startswith('--signal')]  # the job's own applies
    assert ('requeue 123' in calls) == requeued, out
    assert not list(tmp_path.glob('.slurm_train.preempted.*'))


def test_slurm_train_outside_a_job_asks_for_the_signal_and_does_not_requeue(tmp_path):
    code, out, args, calls = fake_slurm(tmp_path, 'slurm_train.sh', FAKE_STATUS='75',
                                        SIGNAL_BEFORE='300', AUTO_RESUME='0')
    assert code == 75
    assert '--signal=USR1@300' in args and '--resume' not in args
    assert calls == [] and 'run the same command to resume' in out


def test_slurm_submit_asks_for_requeue_signal_and_appended_logs(tmp_path):
    code, out, args, _ = fake_slurm(tmp_path, 'slurm_submit.sh', GPUS='16',
                                    SIGNAL_BEFORE='240', TIME='1:00:00')
    assert code == 0, out
    for option in ('--requeue', '--signal=USR1@240', '--open-mode=append', '--nodes=2',
                   '--ntasks=16', '--time=1:00:00'):
        assert option in args
    (wrap, ) = [a for a in args if a.startswith('--wrap=')]
    assert wrap.endswith(f'{REPO}/tools/slurm_train.sh PART JOB CONFIG.py WORK '
                         '--cfg-options a=1 ')
