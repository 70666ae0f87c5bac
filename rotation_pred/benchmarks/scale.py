"""Scale benchmark of the frozen-feature protocols on synthetic ImageNet-like features.

Builds a memory bank and queries (Gaussian clusters around one random centre per class,
fp16 by default) and measures, in one process:

* the weighted k-NN (:func:`rotation_pred.evaluation.knn.knn_accuracy`, k = 20 and 200
  from one top-200) once per ``bank_chunk`` value: wall time, similarities per second
  and peak memory growth, next to the memory model of the streamed vote;
* the SVM protocol (:func:`rotation_pred.benchmarks.svm.svm_map`, one-vs-rest
  ``LinearSVC``, cost chosen by cross-validation) on a smaller set: wall time, fits and
  peak memory growth.

Peak memory: on CUDA, ``torch.cuda.max_memory_allocated`` above what was allocated
before; on the CPU, the resident set's high-water mark (``VmHWM``, reset through
``/proc/self/clear_refs``) above the resident set before, which counts every thread and
every allocator (free heap pages are first handed back with glibc's ``malloc_trim``, so
an earlier run's freed memory does not hide growth). Without ``/proc`` the process peak
(``ru_maxrss``, never reset) is used and the growth is a lower bound. Timings are of
this machine and its load; nothing is extrapolated except one labelled line that scales
the measured k-NN rate.

Command line: ``tools/benchmarks/scale.py`` (``--help``).
"""
import argparse
import ctypes
import os
import resource
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from ..evaluation.knn import knn_accuracy
from .svm import one_vs_rest_targets, svm_map

MIB = 2 ** 20
#: ImageNet-1k: train images (the bank), val images (the queries), classes.
IMAGENET = (1_281_167, 50_000, 1000)


def synthetic_features(centres: torch.Tensor, num: int, seed: int, noise: float = 6.0,
                       dtype: torch.dtype = torch.float16,
                       block: int = 8192) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)``: (num, D) features of ``dtype`` around the (C, D) ``centres``, each the
    centre of its class y (num,) plus Gaussian noise of std ``noise`` per dimension;
    built ``block`` rows at a time (extra memory: block x D fp32)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(len(centres), (num, ), generator=generator)
    features = torch.empty(num, centres.shape[1], dtype=dtype)
    for start in range(0, num, block):
        y = labels[start:start + block]
        noise_block = torch.randn(len(y), centres.shape[1], generator=generator)
        features[start:start + block] = centres[y] + noise * noise_block
    return features, labels


def class_centres(num_classes: int, dim: int, seed: int) -> torch.Tensor:
    """(num_classes, D) random class centres, N(0, 1) per dimension."""
    return torch.randn(num_classes, dim, generator=torch.Generator().manual_seed(seed))


def _proc_status(field: str) -> Optional[int]:
    """A ``/proc/self/status`` field in bytes (``VmRSS``, ``VmHWM``), None without it."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Hand free heap pages back, then set the high-water mark ``VmHWM`` to the current
    resident set (Linux); False where that cannot be done."""
    _release_free_memory()
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        return False
    return _proc_status('VmHWM') is not None


def _ru_maxrss() -> int:
    """The process's peak resident set in bytes (kilobytes on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == 'darwin' else peak * 1024


def _release_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc ``malloc_trim``), so that
    memory freed by an earlier run does not hide the next run's growth."""
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """``with PeakMemory(device) as m: ...``; then ``m.peak`` is the peak memory growth
    (bytes) inside the block and ``m.method`` how it was measured."""

    def __init__(self, device: torch.device):
        self.device = torch.device(device)
        self.peak, self.method, self._base = 0, '', 0

    def __enter__(self) -> 'PeakMemory':
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
            self.method = 'cuda max_memory_allocated'
        elif _reset_peak_rss():
            self._base = _proc_status('VmRSS')
            self.method = 'RSS high-water mark (VmHWM)'
        else:
            self._base = _ru_maxrss()
            self.method = 'ru_maxrss growth (lower bound)'
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        elif self.method.startswith('RSS'):
            peak = _proc_status('VmHWM')
        else:
            peak = _ru_maxrss()
        self.peak = max(0, peak - self._base)


def knn_memory_model(query_chunk: int, bank_chunk: int, dim: int, largest_k: int,
                     num_queries: int, num_classes: int, num_ks: int) -> Dict[str, int]:
    """Bytes the streamed vote holds besides its inputs: the fp32 similarity block, the
    normalised fp32 bank block, the running top (values fp32 + indices int64, twice while
    merging) and the (M, C) fp32 votes returned per k."""
    return dict(similarity=4 * query_chunk * bank_chunk, bank_block=4 * bank_chunk * dim,
                running_top=2 * 12 * query_chunk * largest_k,
                votes=4 * num_queries * num_classes * num_ks)


def run_knn(bank: torch.Tensor, bank_y: torch.Tensor, queries: torch.Tensor,
            query_y: torch.Tensor, bank_chunks: Sequence[int], ks: Sequence[int],
            query_chunk: int, device: torch.device) -> List[Dict]:
    """One k-NN per ``bank_chunk``: a dict of the setting, accuracies and measurements."""
    rows = []
    num_classes = int(max(bank_y.max(), query_y.max())) + 1
    warm = min(len(bank), 2 * max(ks))  # first calls of the kernels, not measured
    knn_accuracy(bank[:warm], bank_y[:warm], queries[:8], query_y[:8], ks, topk=(1, ),
                 device=device)
    for bank_chunk in bank_chunks:
        with PeakMemory(device) as memory:
            started = time.perf_counter()
            accuracy = knn_accuracy(bank, bank_y, queries, query_y, ks, topk=(1, ),
                                    query_chunk=query_chunk, bank_chunk=bank_chunk,
                                    device=device)
            if device.type == 'cuda':
                torch.cuda.synchronize(device)
            seconds = time.perf_counter() - started
        model = knn_memory_model(min(query_chunk, len(queries)), min(bank_chunk, len(bank)),
                                 bank.shape[1], max(ks),
                                 len(queries), num_classes, len(ks))
        rows.append(dict(
            bank_chunk=bank_chunk, query_chunk=query_chunk, seconds=seconds,
            similarities_per_s=len(bank) * len(queries) / seconds,
            peak_mib=memory.peak / MIB, model_mib=sum(model.values()) / MIB,
            model_parts_mib={k: v / MIB for k, v in model.items()},
            method=memory.method, top1={k: accuracy[k][1] for k in ks}))
    return rows


def run_svm(num_train: int, num_test: int, dim: int, num_classes: int,
            costs: Sequence[float], folds: int, n_jobs: int, noise: float,
            seed: int) -> Dict:
    """The SVM protocol on synthetic fp32 features of ``num_classes`` classes."""
    centres = class_centres(num_classes, dim, seed + 10)
    train_x, train_y = synthetic_features(centres, num_train, seed + 11, noise,
                                          torch.float32)
    test_x, test_y = synthetic_features(centres, num_test, seed + 12, noise, torch.float32)
    train_t = one_vs_rest_targets(train_y.numpy(), num_classes)
    test_t = one_vs_rest_targets(test_y.numpy(), num_classes)
    fits = num_classes * len(costs) * folds + num_classes
    with PeakMemory(torch.device('cpu')) as memory:
        started = time.perf_counter()
        result = svm_map(train_x.numpy(), train_t, test_x.numpy(), test_t, costs, folds,
                         n_jobs)
        seconds = time.perf_counter() - started
    return dict(train=num_train, test=num_test, dim=dim, classes=num_classes,
                costs=list(costs), folds=folds, fits=fits, seconds=seconds,
                seconds_per_fit=seconds / fits, peak_mib=memory.peak / MIB,
                method=memory.method, mAP=result['mAP'])


def run_scale_benchmark(bank_size: int = 200_000, num_queries: int = 10_000,
                        dim: int = 2048, num_classes: int = 1000,
                        bank_chunks: Sequence[int] = (65536, 8192),
                        query_chunk: int = 1024, ks: Sequence[int] = (20, 200),
                        dtype: str = 'float16', device: Optional[str] = None,
                        svm_train: int = 20_000, svm_test: int = 2_000,
                        svm_classes: int = 10, svm_costs: Sequence[float] = (1.0, 0.0625),
                        svm_folds: int = 3, n_jobs: int = -1, noise: float = 6.0,
                        seed: int = 0) -> Dict:
    """Build the synthetic features, run the k-NN for each bank chunk and the SVM
    protocol (``svm_train=0``: no SVM); returns what :func:`format_report` prints."""
    device = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    torch_dtype = getattr(torch, dtype)
    started = time.perf_counter()
    centres = class_centres(num_classes, dim, seed)
    bank, bank_y = synthetic_features(centres, bank_size, seed + 1, noise, torch_dtype)
    queries, query_y = synthetic_features(centres, num_queries, seed + 2, noise,
                                          torch_dtype)
    bank, queries = bank.to(device), queries.to(device)
    build_seconds = time.perf_counter() - started
    knn_rows = run_knn(bank, bank_y, queries, query_y, bank_chunks, ks, query_chunk, device)
    del bank, queries
    svm = (run_svm(svm_train, svm_test, dim, svm_classes, svm_costs, svm_folds, n_jobs,
                   noise, seed) if svm_train > 0 else None)
    element = torch.finfo(torch_dtype).bits // 8
    return dict(
        machine=dict(device=str(device), cpu_cores=os.cpu_count(),
                     torch_threads=torch.get_num_threads(),
                     gpu=torch.cuda.get_device_name(device) if device.type == 'cuda'
                     else None),
        bank=bank_size, queries=num_queries, dim=dim, classes=num_classes, dtype=dtype,
        bank_mib=bank_size * dim * element / MIB, build_seconds=build_seconds,
        dense_similarity_mib=4 * bank_size * num_queries / MIB,
        fp32_bank_copy_mib=4 * bank_size * dim / MIB,
        ks=list(ks), knn=knn_rows, svm=svm, ratios=_ratios(knn_rows))


def _ratios(rows: List[Dict]) -> Dict[str, float]:
    """Peak memory and time of the first bank chunk over the last one's."""
    if len(rows) < 2:
        return {}
    first, last = rows[0], rows[-1]
    return dict(bank_chunk=first['bank_chunk'] / last['bank_chunk'],
                peak=first['peak_mib'] / max(last['peak_mib'], 1e-9),
                model=first['model_mib'] / last['model_mib'],
                seconds=first['seconds'] / last['seconds'])


def imagenet_extrapolation(rate: float) -> Tuple[float, float, float]:
    """``(fp16 GB, fp32 GB, seconds)`` of an ImageNet k-NN with a 2,048-d bank at
    ``rate`` similarities per second (a scaling of a measured rate, not a measurement)."""
    bank, queries, _ = IMAGENET
    return bank * 2048 * 2 / 1e9, bank * 2048 * 4 / 1e9, bank * queries / rate


def format_report(result: Dict) -> str:
    """The markdown tables and lines that :func:`main` prints."""
    m = result['machine']
    lines = [f"machine: {m['cpu_cores']} CPU cores, torch threads {m['torch_threads']}, "
             f"device {m['device']}" + (f" ({m['gpu']})" if m['gpu'] else ''),
             f"bank {result['bank']:,} x {result['dim']:,} {result['dtype']} "
             f"({result['bank_mib']:.0f} MiB), {result['queries']:,} queries, "
             f"{result['classes']:,} classes; built in {result['build_seconds']:.1f} s",
             f"not held: dense {result['queries']:,} x {result['bank']:,} fp32 "
             f"similarity {result['dense_similarity_mib']:.0f} MiB, normalised fp32 bank "
             f"{result['fp32_bank_copy_mib']:.0f} MiB",
             '',
             f"k-NN, k={','.join(map(str, result['ks']))} (one top-{max(result['ks'])})",
             '',
             '| bank_chunk | query_chunk | seconds | similarities/s | peak MiB (measured) '
             '| MiB (model) | ' + ' | '.join(f"top-1 k={k}" for k in result['ks']) + ' |',
             '|' + '---|' * (6 + len(result['ks']))]
    for row in result['knn']:
        lines.append(f"| {row['bank_chunk']:,} | {row['query_chunk']:,} | "
                     f"{row['seconds']:.1f} | {row['similarities_per_s']:.3g} | "
                     f"{row['peak_mib']:.0f} | {row['model_mib']:.0f} | "
                     + ' | '.join(f"{row['top1'][k]:.2f}" for k in result['ks']) + ' |')
    if result['knn']:
        lines.append(f"peak memory: {result['knn'][0]['method']}; model = similarity "
                     'block + normalised bank block + running top + votes')
    ratios = result['ratios']
    if ratios:
        lines.append(f"ratios, bank_chunk {result['knn'][0]['bank_chunk']:,} / "
                     f"{result['knn'][-1]['bank_chunk']:,} (x{ratios['bank_chunk']:.1f}): "
                     f"peak memory x{ratios['peak']:.2f} (model x{ratios['model']:.2f}), "
                     f"time x{ratios['seconds']:.2f}")
    if result['knn']:
        rate = max(row['similarities_per_s'] for row in result['knn'])
        fp16, fp32, seconds = imagenet_extrapolation(rate)
        lines.append(f"extrapolation, not measured: ImageNet bank {IMAGENET[0]:,} x 2,048 "
                     f"= {fp16:.1f} GB fp16 / {fp32:.1f} GB fp32; {IMAGENET[1]:,} queries "
                     f"at {rate:.3g} similarities/s (2,048-d) would take {seconds / 60:.0f} "
                     'min (linear in bank x queries x dim)' if result['dim'] == 2048 else
                     f"extrapolation skipped: dim {result['dim']} is not 2,048")
    svm = result['svm']
    if svm:
        lines += ['',
                  f"SVM protocol (one-vs-rest LinearSVC, {len(svm['costs'])} costs "
                  f"{','.join(f'{c:g}' for c in svm['costs'])}, {svm['folds']}-fold "
                  'cross-validation, fp32)',
                  '',
                  '| train | test | dim | classes | fits | seconds | seconds/fit | '
                  'peak MiB (measured) | mAP |',
                  '|---|---|---|---|---|---|---|---|---|',
                  f"| {svm['train']:,} | {svm['test']:,} | {svm['dim']:,} | "
                  f"{svm['classes']} | {svm['fits']} | {svm['seconds']:.1f} | "
                  f"{svm['seconds_per_fit']:.2f} | {svm['peak_mib']:.0f} | "
                  f"{svm['mAP']:.2f} |",
                  f"peak memory: {svm['method']}"]
    return '\n'.join(lines)


def _ints(text: str) -> List[int]:
    return [int(v) for v in text.split(',') if v]


def _floats(text: str) -> List[float]:
    return [float(v) for v in text.split(',') if v]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Time and peak memory of the k-NN and SVM protocols on synthetic '
        'ImageNet-like features (prints markdown tables).')
    parser.add_argument('--bank', type=int, default=200_000, help='memory-bank rows')
    parser.add_argument('--queries', type=int, default=10_000, help='query rows')
    parser.add_argument('--dim', type=int, default=2048, help='feature dimension')
    parser.add_argument('--classes', type=int, default=1000, help='k-NN classes')
    parser.add_argument('--bank-chunks', type=_ints, default=[65536, 8192],
                        help='comma-separated bank_chunk values, one k-NN each')
    parser.add_argument('--query-chunk', type=int, default=1024)
    parser.add_argument('--ks', type=_ints, default=[20, 200])
    parser.add_argument('--dtype', choices=('float16', 'float32'), default='float16')
    parser.add_argument('--device', default=None,
                        help='cpu or cuda (default: cuda when available)')
    parser.add_argument('--svm-train', type=int, default=20_000,
                        help='SVM training rows (0: no SVM)')
    parser.add_argument('--svm-test', type=int, default=2_000)
    parser.add_argument('--svm-classes', type=int, default=10)
    parser.add_argument('--svm-costs', type=_floats, default=[1.0, 0.0625],
                        help='comma-separated costs (the protocol has 19)')
    parser.add_argument('--svm-folds', type=int, default=3)
    parser.add_argument('--n-jobs', type=int, default=-1, help='SVM threads (-1: all)')
    parser.add_argument('--noise', type=float, default=6.0,
                        help='per-dimension noise std around unit-variance centres')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    """Run the benchmark with the command-line options, print the report, return it."""
    args = parse_args(argv)
    result = run_scale_benchmark(
        args.bank, args.queries, args.dim, args.classes, args.bank_chunks,
        args.query_chunk, args.ks, args.dtype, args.device, args.svm_train, args.svm_test,
        args.svm_classes, args.svm_costs, args.svm_folds, args.n_jobs, args.noise,
        args.seed)
    print(format_report(result), flush=True)
    return result
