"""The fast modes change speed, not results: channels_last (``model.channels_last``) and
mixed precision (``MixedPrecisionOptimWrapper``, ``tools/train.py --amp``).

* channels_last: the rotated samples are exact numpy.rot90 turns in NHWC memory;
  features, scores and losses equal the NCHW model's up to fp32 rounding.
* bf16: a training step gives a finite loss close to the fp32 step (bf16 keeps 8
  mantissa bits, about 2-3 significant digits); the loss and accuracy are fp32.
* ``emulate_bf16`` (bf16 numerics on fp32 kernels, for accuracy studies on CPUs without
  native bf16) is much closer to real bf16 autocast than fp32 is.
* ``dtype='auto'`` / ``--amp`` pick bf16, fp16 with loss scaling, or fp32 by device.
* Resuming a bf16 + channels_last run gives bit-identical weights on the CPU.
"""
import contextlib
import copy
import glob
import os

import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS, OPTIM_WRAPPERS
from mmpretrain.structures import DataSample

import rotation_pred  # noqa: F401
from rotation_pred import mixed_precision
from rotation_pred.benchmarks.extraction import extract_range
from rotation_pred.cli import train as train_cli
from rotation_pred.mixed_precision import (Bf16ConvsOnFp32Kernels, MixedPrecisionOptimWrapper,
                                           choose_amp_dtype)
from rotation_pred.rotations import FOUR_ROTATIONS, rotate_batch

from conftest import (FMNIST_CONFIG, INTERRUPTED, REPO, interrupting_config, tiny_rotnet,
                      train_tool)

CL = torch.channels_last
# channels_last vs NCHW in fp32: the same sums in another order. Relative to the
# largest value of the tensor compared.
FP32_REL = 1e-4
# bf16 vs fp32, the losses of two training steps from the same weights (about ln 4 =
# 1.39 at initialisation; measured: 3e-5 NIN, 3e-3 R50): bf16 rounds every conv input
# and output to 8 mantissa bits.
BF16_LOSS_ABS = 0.02


def nin(**options):
    """The tiny RotationPred of the tests, all three NIN blocks as outputs."""
    return tiny_rotnet(out_indices=(0, 1, 2), **options)


def r50(channels_last=False, seed=0):
    init_default_scope('mmpretrain')
    torch.manual_seed(seed)
    model = MODELS.build(dict(
        type='RotationPred', channels_last=channels_last,
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], to_rgb=True),
        backbone=dict(type='ResNet', depth=50, out_indices=(0, 1, 2, 3)),
        head=dict(type='RotationHead', in_channels=2048)))
    model.init_weights()
    return model


def raw_images(n, channels, size, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8,
                         generator=generator)


def assert_close_rel(actual, expected, rel=FP32_REL):
    scale = float(expected.abs().max())
    diff = float((actual.float() - expected.float()).abs().max())
    assert diff <= rel * scale, f'max difference {diff:.3g} > {rel} x {scale:.3g}'


def is_channels_last(t):
    """NHWC memory, and not NCHW (which the same memory also is when C == 1)."""
    return t.is_contiguous(memory_format=CL) and not t.is_contiguous()


# --- channels_last -----------------------------------------------------------------

def test_weights_are_channels_last_after_build_init_and_checkpoint_load():
    def nhwc(model):  # every conv weight NHWC; those with a kernel > 1x1 not NCHW too
        convs = [p for p in model.parameters() if p.dim() == 4]
        return (all(p.is_contiguous(memory_format=CL) for p in convs)
                and sum(is_channels_last(p) for p in convs) >= 3)

    model = nin(channels_last=True, in_channels=3)
    assert nhwc(model)
    # initialised in NCHW: the same seed gives the same weights in both layouts
    for a, b in zip(model.state_dict().values(), nin(in_channels=3).state_dict().values()):
        assert torch.equal(a, b)
    source = nin(in_channels=3, seed=1)
    assert not nhwc(source)
    model.load_state_dict(source.state_dict())
    assert nhwc(model)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 source.state_dict().values()))


def test_channels_last_must_be_a_bool():
    with pytest.raises(ValueError, match='channels_last must be True or False'):
        nin(channels_last='yes')


@pytest.mark.parametrize('rotations', [FOUR_ROTATIONS, (0, 180), (90, 270)])
@pytest.mark.parametrize('input_layout', [torch.contiguous_format, CL])
def test_rotated_samples_are_exact_numpy_turns_in_channels_last(rotations, input_layout):
    model = nin(channels_last=True, in_channels=3, rotations=rotations)
    x = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).view(2, 3, 6, 6)
    samples, labels = model.rotated_samples(x.contiguous(memory_format=input_layout))
    assert is_channels_last(samples)
    k = len(rotations)
    assert labels.tolist() == list(range(k)) * 2
    for i in range(2):
        for j, angle in enumerate(rotations):
            expected = np.rot90(x[i].numpy(), angle // 90, axes=(1, 2))
            assert np.array_equal(samples[i * k + j].numpy(), expected)


@pytest.mark.parametrize('rotations', [FOUR_ROTATIONS, tuple(range(0, 360, 45))])
def test_rotate_batch_gives_the_same_samples_for_channels_last_input(rotations):
    x = torch.randn(3, 3, 28, 28)
    (a, labels_a), (b, labels_b) = (rotate_batch(x, rotations),
                                    rotate_batch(x.contiguous(memory_format=CL), rotations))
    assert torch.equal(a, b) and torch.equal(labels_a, labels_b)


def test_random_feeding_in_channels_last_turns_each_image_by_its_label():
    model = nin(channels_last=True, in_channels=3)
    model.feeding = 'random'
    x = torch.randn(6, 3, 8, 8)
    torch.manual_seed(3)
    samples, labels = model.rotated_samples(x)
    assert is_channels_last(samples)
    assert len(set(labels.tolist())) > 1
    for i, label in enumerate(labels.tolist()):
        expected = np.rot90(x[i].numpy(), label, axes=(1, 2))
        assert np.array_equal(samples[i].numpy(), expected)


@pytest.mark.parametrize('build,channels,size', [(nin, 1, 28), (r50, 3, 64)],
                         ids=['nin', 'r50'])
@torch.no_grad()
def test_features_and_scores_equal_across_layouts(build, channels, size):
    kwargs = dict(in_channels=channels) if build is nin else {}
    nchw, nhwc = build(**kwargs).eval(), build(channels_last=True, **kwargs).eval()
    data = dict(inputs=raw_images(2, channels, size),
                data_samples=[DataSample().set_gt_label(i) for i in range(2)])
    inputs = nchw.data_preprocessor(data, False)['inputs']
    feats, feats_cl = nchw.extract_feat(inputs), nhwc.extract_feat(inputs)
    assert len(feats) == len(feats_cl) >= 3
    for a, b in zip(feats, feats_cl):
        assert b.is_contiguous()  # handed to the benchmarks in NCHW
        assert_close_rel(b, a)
    # the frozen-feature benchmarks' own extraction (linear probe, k-NN, SVM)
    samples = [dict(inputs=data['inputs'][i], data_samples=data['data_samples'][i])
               for i in range(2)]
    pooled, pooled_cl = (extract_range(m, samples, range(2), 'budget:500', 'float32')
                         for m in (nchw, nhwc))
    assert sorted(pooled) == sorted(pooled_cl) == list(range(len(feats)))
    for level in pooled:
        assert_close_rel(torch.from_numpy(pooled_cl[level]), torch.from_numpy(pooled[level]))
    for a, b in zip(nchw.predict(inputs), nhwc.predict(inputs)):
        assert b.rotation_scores.dtype == torch.float32
        assert_close_rel(b.rotation_scores, a.rotation_scores)


# --- one training step per mode ------------------------------------------------------

def train_step(model, images, dtype=None):
    """One mmengine train_step with fp32 (OptimWrapper) or ``dtype`` autocast; the
    loss and rotation accuracy it logs."""
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    optim = (OptimWrapper(optimizer) if dtype is None
             else MixedPrecisionOptimWrapper(optimizer, dtype=dtype))
    log = model.train_step(dict(inputs=images, data_samples=None), optim)
    return {k: v.detach() for k, v in log.items()}


@pytest.mark.parametrize('build,channels,size', [(nin, 1, 28), (r50, 3, 64)],
                         ids=['nin', 'r50'])
def test_channels_last_and_bf16_steps_give_the_fp32_loss(build, channels, size):
    """Two images, two steps each: the loss of the second step sees the first update."""
    kwargs = dict(in_channels=channels) if build is nin else {}
    images = raw_images(2, channels, size)
    losses = {}
    for mode, (channels_last, dtype) in {'fp32': (False, None),
                                         'fp32_cl': (True, None),
                                         'bf16_cl': (True, 'bfloat16')}.items():
        model = build(channels_last=channels_last, **kwargs)
        logs = [train_step(model, images, dtype) for _ in range(2)]
        for log in logs:
            assert log['loss'].dtype == torch.float32  # fp32 loss under autocast too
            assert torch.isfinite(log['loss'])
        losses[mode] = torch.stack([log['loss'] for log in logs])
    assert torch.allclose(losses['fp32_cl'], losses['fp32'], rtol=FP32_REL, atol=0)
    assert (losses['bf16_cl'] - losses['fp32']).abs().max() <= BF16_LOSS_ABS, losses


def test_head_loss_and_accuracy_are_fp32_under_bf16_autocast():
    model = nin(channels_last=True)
    samples, labels = model.rotated_samples(torch.randn(4, 1, 28, 28))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        feats = model.head_inputs(samples)
        assert feats[-1].dtype == torch.bfloat16  # the network did run in bf16
        out = model.head.loss(feats, labels)
    assert out['loss'].dtype == out['rotation_accuracy'].dtype == torch.float32


def test_emulated_bf16_convolutions_have_the_numerics_of_bf16_autocast():
    """emulate_bf16 (for accuracy studies on CPUs without native bf16) is much closer to
    real bf16 autocast than fp32 is: same roundings, other summation order."""
    model = nin(channels_last=True, width=24).train()
    images = torch.randn(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))

    def step(mode):
        m = copy.deepcopy(model)
        samples, labels = m.rotated_samples(images)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=mode != 'fp32'), \
                (Bf16ConvsOnFp32Kernels() if mode == 'emulated' else contextlib.nullcontext()):
            feats = m.head_inputs(samples)
            out = m.head.loss(feats, labels)
        out['loss'].backward()
        return feats[-1].float(), torch.cat([p.grad.flatten() for p in m.parameters()])

    (feat_bf16, grad_bf16), (feat_emu, grad_emu), (feat_fp32, grad_fp32) = map(
        step, ('bf16', 'emulated', 'fp32'))

    def rel(a, b):
        return float((a - b).norm() / b.norm())

    # measured over 3 inputs at 1 and 2 threads (relative L2 to real bf16): features
    # 0.002-0.008 emulated vs 0.021 fp32, gradients 0.015-0.053 vs 0.13-0.15; the
    # oneDNN bf16 kernels sum in another order with 2 threads, hence the spread.
    assert rel(feat_emu, feat_bf16) < 0.5 * rel(feat_fp32, feat_bf16)
    assert rel(grad_emu, grad_bf16) < 0.5 * rel(grad_fp32, grad_bf16)


def test_emulation_is_only_used_for_bf16_on_a_cpu_without_it(monkeypatch):
    monkeypatch.setattr(mixed_precision, 'cpu_native_bf16', lambda: False)
    assert wrapper('bfloat16', emulate_bf16=True).emulate_bf16
    assert not wrapper('float32', emulate_bf16=True).emulate_bf16
    assert not wrapper('auto', emulate_bf16=True).emulate_bf16  # auto: fp32 on this CPU
    monkeypatch.setattr(mixed_precision, 'cpu_native_bf16', lambda: True)
    assert not wrapper('bfloat16', emulate_bf16=True).emulate_bf16


# --- MixedPrecisionOptimWrapper and --amp ---------------------------------------------

def wrapper(dtype, **kwargs):
    params = [torch.nn.Parameter(torch.ones(2))]
    return OPTIM_WRAPPERS.build(dict(type='MixedPrecisionOptimWrapper', dtype=dtype,
                                     optimizer=torch.optim.SGD(params, lr=0.1), **kwargs))


@pytest.mark.parametrize('native', [True, False])
def test_auto_picks_bf16_on_a_cpu_with_native_bf16_else_fp32(monkeypatch, native):
    monkeypatch.setattr(mixed_precision, 'cpu_native_bf16', lambda: native)
    dtype, reason = choose_amp_dtype('cpu')
    assert dtype is (torch.bfloat16 if native else None)
    assert ('native bf16' in reason) if native else reason.startswith('fp32')
    optim = wrapper('auto')
    assert optim.cast_dtype is dtype and not optim.loss_scaler.is_enabled()
    with optim.optim_context(torch.nn.Linear(1, 1)):
        assert torch.is_autocast_enabled('cpu') == native


@pytest.mark.parametrize('native', [True, False])
def test_auto_picks_bf16_on_ampere_gpus_else_fp16_with_loss_scaling(monkeypatch, native):
    monkeypatch.setattr(mixed_precision, 'cuda_native_bf16', lambda device=None: native)
    monkeypatch.setattr(torch.cuda, 'get_device_name', lambda device=None: 'GPU')
    dtype, reason = choose_amp_dtype('cuda')
    assert dtype is (torch.bfloat16 if native else torch.float16)
    assert ('loss scaling' in reason) != native


def test_explicit_dtypes_and_what_they_scale():
    bf16, fp32 = wrapper('bfloat16'), wrapper('float32')
    assert bf16.cast_dtype is torch.bfloat16 and not bf16.loss_scaler.is_enabled()
    assert fp32.cast_dtype is None and not fp32.loss_scaler.is_enabled()
    fp16 = wrapper('float16', loss_scale=512.0)
    assert fp16.loss_scaler.is_enabled() and fp16.loss_scaler.get_scale() == 512.0
    with bf16.optim_context(torch.nn.Linear(1, 1)):
        assert torch.is_autocast_enabled('cpu')
        assert torch.get_autocast_dtype('cpu') == torch.bfloat16
    with pytest.raises(ValueError, match="dtype must be 'auto' or one of"):
        wrapper('int8')


@pytest.mark.parametrize('config_wrapper', [
    "dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))",
    "dict(type='AmpOptimWrapper', loss_scale='dynamic', optimizer=dict(type='SGD', lr=0.1))",
    "dict(type='MixedPrecisionOptimWrapper', dtype='float32', "
    "optimizer=dict(type='SGD', lr=0.1))"])
def test_amp_flag_turns_any_optim_wrapper_into_auto_mixed_precision(tmp_path,
                                                                    config_wrapper):
    config = tmp_path / 'cfg.py'
    config.write_text(f'optim_wrapper = {config_wrapper}\n')
    cfg = train_cli.build_config(train_cli.parse_args([str(config), '--work-dir',
                                                       str(tmp_path), '--amp']))
    assert cfg.optim_wrapper.type == 'MixedPrecisionOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'auto'
    assert cfg.optim_wrapper.optimizer.lr == 0.1



PRETRAINING_CONFIGS = sorted(
    os.path.relpath(p, REPO) for p in
    glob.glob(os.path.join(REPO, 'configs', '**', 'rotation-pred_*.py'),
                            recursive=True) if '_base_' not in p)


@pytest.mark.parametrize('config', PRETRAINING_CONFIGS)
def test_every_pretraining_config_takes_the_fast_settings(config):
    """channels_last in every RotNet config (measured faster for each backbone); the
    Fashion-MNIST NIN configs (and the image-folder NIN built on them) and the -amp-
    configs choose their precision by device, which builds here
    (this CPU has no native bf16, so the 'auto' wrapper runs fp32 and says why)."""
    from mmengine.config import Config
    cfg = Config.fromfile(os.path.join(REPO, config))
    assert cfg.model.type == 'RotationPred' and cfg.model.channels_last is True
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if '-w48' in config or '-amp-' in config:  # the Fashion-MNIST NIN and its children
        assert optim_cfg.type == 'MixedPrecisionOptimWrapper' and optim_cfg.dtype == 'auto'
    else:
        assert optim_cfg.type == 'OptimWrapper'
    params = [torch.nn.Parameter(torch.ones(2))]
    optim_cfg.optimizer = torch.optim.SGD(params, lr=0.1)
    built = OPTIM_WRAPPERS.build(optim_cfg.to_dict())
    if optim_cfg.type == 'MixedPrecisionOptimWrapper' and not mixed_precision.cpu_native_bf16():
        assert built.cast_dtype is None, 'auto resolves to fp32 on a CPU without bf16'


# --- resume in a non-default mode ------------------------------------------------------

def weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


# 48 images, 8 per batch: 6 steps of 32 rotated samples per epoch, 2 epochs, validated
# on 16 images at the end; interrupted after the first. bf16 is set explicitly: --amp
# alone picks fp32 on a CPU without native bf16.
TINY = ['train_dataloader.dataset.indices=48', 'train_dataloader.batch_size=8',
        'val_dataloader.dataset.indices=16', 'param_scheduler.0.end=4',
        'train_cfg.max_epochs=2', 'train_cfg.val_interval=2', 'optim_wrapper.dtype=bfloat16']


def test_resume_of_a_bf16_channels_last_run_is_bit_identical(tmp_path, fashion_mnist_root):
    options = ['model.channels_last=True', *TINY]
    uninterrupted = tmp_path / 'uninterrupted'
    out = train_tool(FMNIST_CONFIG, uninterrupted, '--amp', options=options)
    assert 'mixed precision: bfloat16 set in the config' in out.stdout + out.stderr

    work_dir = tmp_path / 'work'
    out = train_tool(interrupting_config(tmp_path, epoch=1), work_dir, '--amp',
                     options=options, check=False, env={'PYTHONPATH': str(tmp_path)})
    assert out.returncode == INTERRUPTED, out.stderr[-2000:]
    assert (work_dir / 'epoch_1.pth').exists() and not (work_dir / 'epoch_2.pth').exists()

    out = train_tool(FMNIST_CONFIG, work_dir, '--amp', '--resume', options=options)
    assert 'Auto resumed from the latest checkpoint' in out.stdout + out.stderr
    resumed, reference = weights(work_dir / 'epoch_2.pth'), weights(uninterrupted / 'epoch_2.pth')
    assert resumed.keys() == reference.keys()
    for key in resumed:
        assert torch.equal(resumed[key], reference[key]), key
    conv = next(v for k, v in resumed.items() if v.dim() == 4 and v.shape[1] > 1)
    assert conv.is_contiguous(memory_format=CL)  # the checkpoint keeps the layout
