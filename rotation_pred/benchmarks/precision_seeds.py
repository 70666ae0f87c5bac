"""Does bf16 cost accuracy? The main job's pretraining in two precisions over several
seeds, each scored by the Fashion-MNIST linear probe on the validation split.

    python tools/benchmarks/precision_seeds.py [--seeds 0 1 2] [--modes fp32_cl bf16_cl]
        [--work-dir work_dirs/precision_seeds] [--json FILE] [--pretrain-only]

For every mode and seed: pretrain with the main job's config and schedule
(``tools/train.py CONFIG --cfg-options randomness.seed=S`` plus the mode's settings),
then ``tools/benchmarks/evaluate.py CONFIG CKPT --protocols rotation_accuracy
linear_probe --split val`` (probe trained on the first 10,000 train images, scored on
train images 50,000-59,999, disjoint from pretraining and probe training; the test set is
not used). Runs already done (checkpoint or probe rows present) are reused, so the study can be stopped and restarted, or split
over processes (``--modes fp32_cl`` in one, ``--modes bf16_cl --json OTHER`` in
another, then both modes once more to gather the table). Writes
``WORK_DIR/precision_seeds.json`` and prints the table: probe top-1 per block, mean and
sample standard deviation over the seeds per mode, and the pretraining wall time.

The verdict printed last (``keep_bf16`` in the JSON file): bf16 is kept only if its
mean best-block accuracy is within the seed spread of fp32, i.e. not below fp32's mean
minus fp32's standard deviation.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

from ..fileio import REPO_ROOT
from .rows import read_rows

CONFIG = 'configs/rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'
# Each mode is set completely here, whatever the config's defaults are.
AMP = 'optim_wrapper.type=MixedPrecisionOptimWrapper'
MODES = {
    'fp32_nchw': ['model.channels_last=False', AMP, 'optim_wrapper.dtype=float32'],
    'fp32_cl': ['model.channels_last=True', AMP, 'optim_wrapper.dtype=float32'],
    # emulate_bf16: on a CPU without native bf16 (where real bf16 convolutions are
    # about 6x slower than fp32), bf16 numerics on fp32 kernels; ignored elsewhere.
    'bf16_cl': ['model.channels_last=True', AMP, 'optim_wrapper.dtype=bfloat16',
                'optim_wrapper.emulate_bf16=True'],
}


def run(cmd, log_path):
    """Run ``cmd`` in the repository, output to ``log_path``; return the wall time."""
    start = time.time()
    with open(log_path, 'w') as log:
        proc = subprocess.run(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd)} failed ({proc.returncode}); see {log_path}')
    return time.time() - start


def pretrain(config, mode, seed, work_dir, epochs):
    """Pretrain (or reuse) one run; an interrupted run is resumed from its last
    checkpoint (bit-identical on the CPU), its time then covers the resumed part only."""
    ckpt = osp.join(work_dir, f'epoch_{epochs}.pth')
    timing = osp.join(work_dir, 'pretrain_time.json')
    if osp.exists(ckpt) and osp.exists(timing):
        with open(timing) as f:
            done = json.load(f)
        return ckpt, done['seconds'], done.get('resumed', False)
    os.makedirs(work_dir, exist_ok=True)
    resume = osp.exists(osp.join(work_dir, 'last_checkpoint'))
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
           *(['--resume'] if resume else []),
           '--cfg-options', f'randomness.seed={seed}', *MODES[mode]]
    print(f'[precision] pretrain {mode} seed {seed} -> {work_dir}'
          + (' (resumed)' if resume else ''), flush=True)
    seconds = run(cmd, osp.join(work_dir, 'train.log' if not resume else 'train_resumed.log'))
    with open(timing, 'w') as f:
        json.dump(dict(seconds=seconds, mode=mode, seed=seed, resumed=resume), f)
    return ckpt, seconds, resume


def probe(config, ckpt, work_dir):
    """``{rotation_accuracy, block1, ...}`` of ``ckpt`` on the validation split, from the
    rows of tools/benchmarks/evaluate.py (run once; its rows file is reused)."""
    out = osp.join(work_dir, 'linear_probe', 'rows.jsonl')
    if not osp.exists(out):
        print(f'[precision] linear probe (val split) of {ckpt}', flush=True)
        os.makedirs(osp.dirname(out), exist_ok=True)
        run([sys.executable, 'tools/benchmarks/evaluate.py', config, ckpt, '--protocols',
             'rotation_accuracy', 'linear_probe', '--split', 'val', '--train-samples',
             '10000', '--max-dims', '2500', '--work-dir', osp.dirname(out)],
            osp.join(osp.dirname(out), 'probe.log'))
    return {r['level'] or r['protocol']: r['value'] for r in read_rows(out)}


def mean_std(values):
    values = list(values)
    return (statistics.mean(values),
            statistics.stdev(values) if len(values) > 1 else float('nan'))


def summarise(runs):
    """{mode: {seed: row}} -> {mode: {column: [mean, std]}} over the seeds."""
    summary = {}
    for mode, by_seed in runs.items():
        rows = [r for r in by_seed.values() if 'best' in r]
        if not rows:
            continue
        columns = [c for c in rows[0] if c not in ('seed', 'resumed', 'pretrain_s')]
        summary[mode] = {c: mean_std(r[c] for r in rows) for c in columns}
        whole = [r['pretrain_s'] for r in rows if not r.get('resumed')]
        if whole:
            summary[mode]['pretrain_s'] = mean_std(whole)
        summary[mode]['seeds'] = len(rows)
    return summary


def decide(summary):
    if 'fp32_cl' not in summary or 'bf16_cl' not in summary:
        return None
    fp32_mean, fp32_std = summary['fp32_cl']['best']
    bf16_mean = summary['bf16_cl']['best'][0]
    keep = bf16_mean >= fp32_mean - fp32_std
    return dict(keep_bf16=keep, rule='bf16 mean best-block >= fp32 mean - fp32 std',
                fp32_mean=fp32_mean, fp32_std=fp32_std, bf16_mean=bf16_mean)


def print_table(runs, summary, decision):
    blocks = sorted({c for by_seed in runs.values() for r in by_seed.values()
                     for c in r if c.startswith('block')})
    columns = blocks + ['best', 'rotation_accuracy', 'pretrain_s']
    print('\nLinear probe top-1 % on the validation split (train images 50,000-59,999); '
          'rotation accuracy on the test set; pretraining wall time in seconds (* resumed '
          'after an interruption: the resumed part only, left out of the mean)')
    print('| mode | seed | ' + ' | '.join(columns) + ' |')
    print('|' + '---|' * (len(columns) + 2))
    for mode, by_seed in runs.items():
        for seed, row in sorted(by_seed.items()):
            cells = [f'{row[c]:.2f}' if c in row else '-' for c in columns]
            if row.get('resumed'):
                cells[-1] += '*'
            print(f'| {mode} | {seed} | ' + ' | '.join(cells) + ' |')
        if mode in summary:
            cells = [f'{summary[mode][c][0]:.2f} ± {summary[mode][c][1]:.2f}'
                     if c in summary[mode] else '-' for c in columns]
            cells = [c.replace(' ± nan', '') for c in cells]
            print(f'| {mode} | mean ± std ({summary[mode]["seeds"]}) | '
                  + ' | '.join(cells) + ' |')
    if decision is not None:
        verdict = 'keep bf16' if decision['keep_bf16'] else 'bf16 costs accuracy: use fp32'
        print(f'\nbf16 mean {decision["bf16_mean"]:.2f} vs fp32 {decision["fp32_mean"]:.2f} '
              f'± {decision["fp32_std"]:.2f} (best block): {verdict}')


def main(argv=None) -> None:
    """Run the study as the command line ``argv`` (default: ``sys.argv[1:]``) says."""
    parser = argparse.ArgumentParser(prog='tools/benchmarks/precision_seeds.py',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--modes', nargs='+', choices=list(MODES),
                        default=['fp32_cl', 'bf16_cl'])
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--epochs', type=int, default=4, help="the config's max_epochs")
    parser.add_argument('--work-dir', default='work_dirs/precision_seeds')
    parser.add_argument('--json', default=None,
                        help='results file (default: WORK_DIR/precision_seeds.json)')
    parser.add_argument('--pretrain-only', action='store_true',
                        help='pretrain every run, probe none (probe later by rerunning)')
    args = parser.parse_args(argv)
    out = args.json or osp.join(args.work_dir, 'precision_seeds.json')
    runs = {mode: {} for mode in args.modes}
    for seed in args.seeds:  # seed-major: a stopped study has complete pairs
        for mode in args.modes:
            work_dir = osp.join(args.work_dir, f'{mode}_seed{seed}')
            ckpt, seconds, resumed = pretrain(args.config, mode, seed, work_dir, args.epochs)
            row = dict(seed=seed, pretrain_s=seconds, resumed=resumed)
            if not args.pretrain_only:
                result = probe(args.config, ckpt, work_dir)
                row.update(result)
                row['best'] = max(v for k, v in result.items() if k.startswith('block'))
            runs[mode][seed] = row
            summary = summarise(runs)
            with open(out, 'w') as f:
                json.dump(dict(config=args.config, modes={m: MODES[m] for m in args.modes},
                               runs=runs, summary=summary, decision=decide(summary)),
                          f, indent=2)
    summary = summarise(runs)
    print_table(runs, summary, decide(summary))
    print(f'\nresults: {out}')

