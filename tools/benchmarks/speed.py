"""Speed benchmark: ratios measured in one run, on this machine.

(a) Data path per rotated sample, from a decoded image to normalised rotated samples
    on the model's device, split into the loader side (the CPU workers' part) and the
    device side. This design: crop + flip + pack once per image and collate (loader);
    move N images, normalise, rotate (torch.rot90) (device). Previous design: crop +
    flip, 4 copies per image with cv2.warpAffine (mmcv.imrotate), 4 tensors packed and
    collated (loader); move, normalise and stack 4N samples (device). JPEG decoding,
    the same in both, is timed separately.
(b) One RotationPred training step through mmengine (train_step: data preprocessor,
    loss, backward, optimizer step) against a bare PyTorch loop doing the same work on
    the same model and batch.

    python tools/benchmarks/speed.py [--images 64] [--steps 10] [--model nin|r50]
"""
import argparse
import copy
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

import rotation_pred  # noqa: F401
from rotation_pred.rotations import rotate_batch

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


def build_model(kind):
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    if kind == 'r50':
        backbone = dict(type='ResNet', depth=50, out_indices=(3, ))
        head, size, channels = dict(type='RotationHead', in_channels=2048), 112, 3
    else:
        backbone = dict(type='NetworkInNetwork', num_blocks=3, width=48, in_channels=1)
        head, size, channels = dict(type='RotationHead', in_channels=48), 28, 1
    model = MODELS.build(dict(
        type='RotationPred', backbone=backbone, head=head,
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[0.0] * channels,
                               std=[1.0] * channels)))
    model.init_weights()
    return model, size, channels


def train_step_benchmark(kind, batch_size, steps, device):
    model, size, channels = build_model(kind)
    model = model.to(device).train()
    bare_model = copy.deepcopy(model)
    images = torch.randint(0, 256, (batch_size, channels, size, size), dtype=torch.uint8)
    data = dict(inputs=images, data_samples=[None] * batch_size)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    bare_optim = torch.optim.SGD(bare_model.parameters(), lr=0.01, momentum=0.9)

    def mmengine_step():
        model.train_step(data, optim)
        if device.type == 'cuda':
            torch.cuda.synchronize()

    def bare_step():
        x = images.to(device).float()
        samples, labels = rotate_batch(x)
        logits = bare_model.head(bare_model.backbone(samples))
        loss = F.cross_entropy(logits, labels)
        bare_optim.zero_grad()
        loss.backward()
        bare_optim.step()
        if device.type == 'cuda':
            torch.cuda.synchronize()

    for _ in range(2):  # warm-up
        mmengine_step()
        bare_step()
    ours, bare = [], []
    for i in range(steps):  # interleaved in alternating order: both see the same machine
        first, second = (mmengine_step, bare_step) if i % 2 == 0 else (bare_step,
                                                                        mmengine_step)
        times = best_of(first, 1), best_of(second, 1)
        ours.append(times[0] if i % 2 == 0 else times[1])
        bare.append(times[1] if i % 2 == 0 else times[0])
    return dict(mmengine_ms=statistics.median(ours) * 1e3,
                bare_ms=statistics.median(bare) * 1e3,
                ratio=statistics.median(o / b for o, b in zip(ours, bare)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--images', type=int, default=64, help='images per data batch')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--steps', type=int, default=10, help='training steps timed')
    parser.add_argument('--model', choices=['nin', 'r50'], default='nin')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args()
    MMLogger.get_instance('speed', log_level='WARNING')  # no weight-init listings
    device = torch.device(args.device)
    print(f'device: {device}, torch {torch.__version__}, threads {torch.get_num_threads()}')
    with tempfile.TemporaryDirectory() as folder:
        data = data_path_benchmark(write_jpegs(folder, args.images), device, args.repeats)
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
    step = train_step_benchmark(args.model, args.batch_size, args.steps, device)
    print(f'\n(b) training step, {args.model}, {args.batch_size} images = '
          f'{4 * args.batch_size} rotated samples, median of {args.steps}')
    print(f'    bare PyTorch loop: {step["bare_ms"]:8.1f} ms')
    print(f'    mmengine train_step: {step["mmengine_ms"]:6.1f} ms')
    print(f'    ratio (median of the {args.steps} paired steps): {step["ratio"]:.3f}x')


if __name__ == '__main__':
    main()
