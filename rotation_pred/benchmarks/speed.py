"""Speed benchmark: ratios measured in one run, on this machine.

(a) With --data-path: the data path per rotated sample, from a decoded image to
    normalised rotated samples on the model's device, split into the loader side (the
    CPU workers' part) and the device side. This package's path ("this design"):
    crop + flip + pack once per image and collate (loader); move N images, normalise,
    rotate (torch.rot90) (device). The path it is compared with, rotated copies made
    by the loader: crop + flip, 4 copies per image with cv2.warpAffine (mmcv.imrotate),
    4 tensors packed and collated (loader); move, normalise and stack 4N samples
    (device). JPEG decoding, the same in both, is timed separately.
(b) One RotationPred training step in each mode: fp32 NCHW (the model's default),
    fp32 channels_last (``model.channels_last=True``) and mixed precision + channels_last
    (bf16 autocast; fp16 with loss scaling on a GPU without bf16), each timed through
    mmengine (``train_step``: data preprocessor, loss, backward, optimizer step, with
    ``MixedPrecisionOptimWrapper`` for mixed precision) and as a bare PyTorch loop doing
    the same work (move, normalise, rotate, forward, fp32 cross-entropy, backward, SGD
    step) on its own copy of the same model. The 6 steps run interleaved, round after
    round (the first step of each round moves on by one), so that every mode sees the
    same machine; a shared machine slows all of them alike. Printed per mode: median
    step time, rotated samples per second, mmengine/bare (median of the per-round
    ratios) and the speed-up over fp32 NCHW (median of the per-round ratios). For the
    ResNet-50, also the achieved TFLOP/s: forward + backward is about 24.6 GFLOP per
    rotated 224x224 sample (3 x 4.1 G multiply-adds, 2 FLOP each), scaled by the area
    at other sizes.

    python tools/benchmarks/speed.py [--model nin|r50] [--device cpu|cuda] [--steps 10]
        [--batch-size N] [--size S] [--modes fp32_nchw fp32_cl amp_cl] [--data-path]
    python tools/benchmarks/speed.py --model r50 --device cuda   # 224x224, 32 images
"""
import argparse
import copy
import json
import os
import statistics
import tempfile
import time

import cv2
import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import Compose
from mmengine.dataset import default_collate
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from ..mixed_precision import MixedPrecisionOptimWrapper, cpu_native_bf16, cuda_native_bf16
from ..rotations import rotate_batch

MEAN = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
STD = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
CROP_FLIP = [dict(type='RandomResizedCrop', scale=224, backend='pillow'),
             dict(type='RandomFlip', prob=0.5)]


def write_jpegs(folder, count, seed=0):
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        img = cv2.GaussianBlur(rng.integers(0, 256, (375, 500, 3), dtype=np.uint8), (9, 9), 3)
        paths.append(os.path.join(folder, f'{i}.jpg'))
        cv2.imwrite(paths[-1], img)
    return paths


def best_of(fn, repeats):
    """Smallest wall time of ``repeats`` calls (the least disturbed run)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def data_path_benchmark(paths, device, repeats):
    """Microseconds per rotated sample of the data-loader side (what the CPU workers
    do: crop, flip, copies, packing, collate) and of the whole path to normalised
    rotated samples on ``device``, for both designs."""
    init_default_scope('mmpretrain')
    decode = Compose([dict(type='LoadImageFromFile')])
    decoded = [decode(dict(img_path=p)) for p in paths]
    one_copy = Compose(CROP_FLIP + [dict(type='PackInputs')])
    crop_flip = Compose(CROP_FLIP)
    pack = Compose([dict(type='PackInputs')])
    mean, std = MEAN.to(device), STD.to(device)

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize()

    def ours_loader():
        return default_collate([one_copy(copy.copy(r)) for r in decoded])

    def ours_device(batch):
        x = batch['inputs'].to(device).float()
        samples, labels = rotate_batch((x[:, [2, 1, 0]] - mean) / std)
        sync()
        return samples, labels

    def theirs_loader():
        packed = []
        for r in decoded:
            r = crop_flip(copy.copy(r))
            r['img'] = [r['img']] + [mmcv.imrotate(r['img'], a) for a in (90, 180, 270)]
            packed.append(pack(r))
        return default_collate(packed)

    def theirs_device(batch):
        views = [(v.to(device).float()[:, [2, 1, 0]] - mean) / std for v in batch['inputs']]
        samples = torch.stack(views, 1).flatten(0, 1)
        labels = torch.arange(4, device=device).repeat(len(decoded))
        sync()
        return samples, labels

    per_sample = 1e6 / (4 * len(paths))
    ours_batch, theirs_batch = ours_loader(), theirs_loader()
    times = dict(
        decode=best_of(lambda: [decode(dict(img_path=p)) for p in paths], repeats),
        ours_loader=best_of(ours_loader, repeats),
        ours_device=best_of(lambda: ours_device(ours_batch), repeats),
        theirs_loader=best_of(theirs_loader, repeats),
        theirs_device=best_of(lambda: theirs_device(theirs_batch), repeats))
    return {k: v * per_sample for k, v in times.items()}


GFLOP_R50_224 = 24.6  # forward + backward per rotated 224x224 sample
MODES = ('fp32_nchw', 'fp32_cl', 'amp_cl')


def build_model(kind, channels_last, size=None):
    """A RotationPred as the configs build it (mean 0 / std 1 preprocessor), seeded, so
    that every copy starts from the same weights."""
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    if kind == 'r50':
        backbone = dict(type='ResNet', depth=50, out_indices=(3, ))
        head, channels = dict(type='RotationHead', in_channels=2048), 3
    else:
        backbone = dict(type='NetworkInNetwork', num_blocks=3, width=48, in_channels=1)
        head, channels = dict(type='RotationHead', in_channels=48), 1
    model = MODELS.build(dict(
        type='RotationPred', backbone=backbone, head=head, channels_last=channels_last,
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[0.0] * channels,
                               std=[1.0] * channels)))
    model.init_weights()
    return model, channels


def amp_dtype(device, requested):
    """The mixed-precision dtype to time: bf16 where the device has it natively; on a
    GPU without bf16, fp16; on a CPU without it, bf16 all the same (emulated, slow:
    reported as such)."""
    if requested != 'auto':
        return getattr(torch, requested)
    if device.type == 'cuda' and not cuda_native_bf16(device):
        return torch.float16
    return torch.bfloat16


def mode_label(mode, dtype):
    if mode == 'amp_cl':
        return f'{"bf16" if dtype is torch.bfloat16 else "fp16"} channels_last'
    return {'fp32_nchw': 'fp32 NCHW', 'fp32_cl': 'fp32 channels_last'}[mode]


def make_steps(kind, mode, dtype, images, device):
    """The mmengine step and the bare PyTorch step of one mode, each on its own model."""
    channels_last = mode != 'fp32_nchw'
    cast = dtype if mode == 'amp_cl' else None
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)

    model, _ = build_model(kind, channels_last)
    model = model.to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    if cast is None:
        optim = OptimWrapper(optimizer)
    else:
        optim = MixedPrecisionOptimWrapper(optimizer, dtype=str(cast).replace('torch.', ''))
    data = dict(inputs=images, data_samples=[None] * images.shape[0])

    def mmengine_step():
        model.train_step(data, optim)
        sync()

    bare, channels = build_model(kind, channels_last)
    bare = bare.to(device).train()
    bare_optim = torch.optim.SGD(bare.parameters(), lr=0.01, momentum=0.9)
    scaler = torch.amp.GradScaler(device.type, enabled=cast is torch.float16)
    mean = torch.zeros(1, channels, 1, 1, device=device)
    std = torch.ones(1, channels, 1, 1, device=device)
    layout = torch.channels_last if channels_last else torch.contiguous_format

    def bare_step():
        x = (images.to(device).float() - mean) / std
        samples, labels = rotate_batch(x)
        samples = samples.contiguous(memory_format=layout)
        with torch.autocast(device.type, dtype=cast or torch.bfloat16,
                            enabled=cast is not None):
            logits = bare.head(bare.backbone(samples))
        loss = F.cross_entropy(logits.float(), labels)
        bare_optim.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(bare_optim)
        scaler.update()
        sync()

    return mmengine_step, bare_step


def train_step_benchmark(kind, batch_size, size, steps, device, modes, dtype, warmup=2):
    """Median seconds per step of every (mode, path), and the per-round ratios."""
    torch.manual_seed(1)
    channels = 3 if kind == 'r50' else 1
    images = torch.randint(0, 256, (batch_size, channels, size, size), dtype=torch.uint8)
    steps_fns = {}
    for mode in modes:
        mm, bare = make_steps(kind, mode, dtype, images, device)
        steps_fns[(mode, 'mmengine')] = mm
        steps_fns[(mode, 'bare')] = bare
    keys = list(steps_fns)
    for _ in range(warmup):
        for key in keys:
            steps_fns[key]()
    times = {key: [] for key in keys}
    for i in range(steps):
        order = keys[i % len(keys):] + keys[:i % len(keys)]
        for key in order:
            start = time.perf_counter()
            steps_fns[key]()
            times[key].append(time.perf_counter() - start)
    ref = modes[0]
    result = {}
    for mode in modes:
        mm, bare = times[(mode, 'mmengine')], times[(mode, 'bare')]
        row = dict(label=mode_label(mode, dtype), bare_ms=statistics.median(bare) * 1e3,
                   mmengine_ms=statistics.median(mm) * 1e3,
                   mmengine_over_bare=statistics.median(m / b for m, b in zip(mm, bare)))
        row['speedup_mmengine'] = statistics.median(
            r / m for r, m in zip(times[(ref, 'mmengine')], mm))
        row['speedup_bare'] = statistics.median(
            r / b for r, b in zip(times[(ref, 'bare')], bare))
        samples = 4 * batch_size
        row['samples_per_s_mmengine'] = samples / statistics.median(mm)
        row['samples_per_s_bare'] = samples / statistics.median(bare)
        if kind == 'r50':
            flop = GFLOP_R50_224 * 1e9 * (size / 224) ** 2 * samples
            row['tflops_mmengine'] = flop / statistics.median(mm) / 1e12
            row['tflops_bare'] = flop / statistics.median(bare) / 1e12
        result[mode] = row
    return result


def print_step_table(kind, result, batch_size, size, steps, device, modes):
    """Print part (b): one row per mode of :func:`train_step_benchmark`'s ``result``."""
    name = 'ResNet-50' if kind == 'r50' else 'NIN-3 width 48'
    print(f'\n(b) training step, {name}, {batch_size} images = {4 * batch_size} rotated '
          f'{size}x{size} samples on {device.type}; median of {steps} interleaved rounds; '
          f'speed-up and mmengine/bare: median of the per-round ratios')
    tflops = kind == 'r50'
    header = (f'    {"mode":20s}{"bare ms":>10s}{"mmengine ms":>13s}{"samples/s":>11s}'
              f'{"mmengine/bare":>15s}{"speed-up":>10s}{"speed-up bare":>15s}'
              + (f'{"TFLOP/s":>9s}' if tflops else ''))
    print(header)
    print(f'    {"":20s}{"":10s}{"":13s}{"(mmengine)":>11s}{"":15s}{"(mmengine)":>10s}'
          + f'{"":15s}' + (f'{"(mmengine)":>9s}' if tflops else ''))
    for mode in modes:
        row = result[mode]
        print(f'    {row["label"]:20s}{row["bare_ms"]:10.1f}{row["mmengine_ms"]:13.1f}'
              f'{row["samples_per_s_mmengine"]:11.1f}{row["mmengine_over_bare"]:14.3f}x'
              f'{row["speedup_mmengine"]:9.2f}x{row["speedup_bare"]:14.2f}x'
              + (f'{row["tflops_mmengine"]:9.3f}' if tflops else ''))
    print(f'    speed-up: over {result[modes[0]]["label"]}, the first mode')
    if tflops:
        note = '' if size == 224 else f' (scaled by ({size}/224)^2)'
        print(f'    TFLOP/s: {GFLOP_R50_224} GFLOP per rotated 224x224 sample, forward + '
              f'backward{note}')


def print_data_path_table(data, args, device):
    """Print part (a): microseconds per rotated sample of both designs, and their ratios."""
    ours_total = data['ours_loader'] + data['ours_device']
    theirs_total = data['theirs_loader'] + data['theirs_device']
    print(f'\n(a) data path, 500x375 JPEG -> 224x224 crop -> 4 rotated samples, '
          f'{args.images} images, best of {args.repeats}; microseconds per rotated sample')
    print(f'    {"":34s}{"loader side":>12s}{"device side":>12s}{"total":>9s}')
    print(f'    {"4 copies on the CPU (warpAffine)":34s}{data["theirs_loader"]:12.1f}'
          f'{data["theirs_device"]:12.1f}{theirs_total:9.1f}')
    print(f'    {"this design (1 copy, rotate on " + device.type + ")":34s}'
          f'{data["ours_loader"]:12.1f}{data["ours_device"]:12.1f}{ours_total:9.1f}')
    print(f'    JPEG decode, the same in both: {data["decode"]:.1f}')
    print(f'    ratio, loader side (CPU workers): '
          f'{data["theirs_loader"] / data["ours_loader"]:.2f}x faster')
    print(f'    ratio, whole path on {device.type}:   {theirs_total / ours_total:.2f}x faster '
          f'({(theirs_total + data["decode"]) / (ours_total + data["decode"]):.2f}x with decode)')


def main(argv=None) -> None:
    """Run the benchmark as the command line ``argv`` (default: ``sys.argv[1:]``) says."""
    parser = argparse.ArgumentParser(prog='tools/benchmarks/speed.py',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', choices=['nin', 'r50'], default='nin')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        help='cpu or cuda[:N] (default: cuda if there is one)')
    parser.add_argument('--batch-size', type=int, default=None,
                        help='images per step (4 rotated samples each); default 64 for '
                        'nin, 4 for r50 on cpu, 32 for r50 on cuda')
    parser.add_argument('--size', type=int, default=None,
                        help='image side; default 28 for nin, 112 for r50 on cpu, 224 for '
                        'r50 on cuda')
    parser.add_argument('--steps', type=int, default=10, help='interleaved rounds timed')
    parser.add_argument('--warmup', type=int, default=2, help='rounds run before timing')
    parser.add_argument('--modes', nargs='+', choices=MODES, default=list(MODES),
                        help='the first mode is the reference of the speed-ups')
    parser.add_argument('--amp-dtype', choices=['auto', 'bfloat16', 'float16'],
                        default='auto', help='dtype of the amp_cl mode (auto: bf16, or '
                        'fp16 on a GPU without bf16)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--json', default=None, help='also write the results here')
    parser.add_argument('--data-path', action='store_true', help='also run part (a)')
    parser.add_argument('--images', type=int, default=64, help='(a): images per batch')
    parser.add_argument('--repeats', type=int, default=3, help='(a): best of this many')
    args = parser.parse_args(argv)
    MMLogger.get_instance('speed', log_level='WARNING')  # no weight-init listings
    device = torch.device(args.device)
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            raise SystemExit('--device cuda: no CUDA device is available')
        torch.backends.cudnn.benchmark = True
    if args.threads:
        torch.set_num_threads(args.threads)
    on_gpu_r50 = device.type == 'cuda' and args.model == 'r50'
    batch_size = args.batch_size or (64 if args.model == 'nin' else 32 if on_gpu_r50 else 4)
    size = args.size or (28 if args.model == 'nin' else 224 if on_gpu_r50 else 112)
    dtype = amp_dtype(device, args.amp_dtype)
    where = (torch.cuda.get_device_name(device) if device.type == 'cuda'
             else f'CPU, {torch.backends.cpu.get_cpu_capability()}')
    print(f'device: {device} ({where}), torch {torch.__version__}, '
          f'threads {torch.get_num_threads()}')
    if device.type == 'cuda':  # fp32 convolutions run on TF32 tensor cores when allowed
        print(f'cudnn.benchmark on, cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}')
    if 'amp_cl' in args.modes:
        native = (cuda_native_bf16(device) if device.type == 'cuda' else cpu_native_bf16())
        if dtype is torch.bfloat16 and not native:
            print('note: this device has no native bf16: the bf16 mode is emulated and '
                  'slow here (tools/train.py --amp would train in fp32 on it)')
    results = dict(device=str(device), device_name=where, torch=torch.__version__,
                   threads=torch.get_num_threads())
    if args.data_path:
        with tempfile.TemporaryDirectory() as folder:
            data = data_path_benchmark(write_jpegs(folder, args.images), device,
                                       args.repeats)
        results['data_path_us_per_sample'] = data
        print_data_path_table(data, args, device)
    step = train_step_benchmark(args.model, batch_size, size, args.steps, device,
                                args.modes, dtype, args.warmup)
    results['train_step'] = dict(model=args.model, batch_size=batch_size, size=size,
                                 steps=args.steps, modes=step)
    print_step_table(args.model, step, batch_size, size, args.steps, device, args.modes)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)

