"""tools/benchmarks/speed.py (rotation_pred.benchmarks.speed), run tiny: the per-mode
table has its rows, and its numbers are plausible (the timings themselves are not tested:
this machine is shared)."""
import json
import re

import pytest
import torch

from conftest import run_tool
from rotation_pred.benchmarks import speed as speed_tool

ROW = re.compile(r'^ {4}(?P<label>fp32 NCHW|fp32 channels_last|bf16 channels_last|'
                 r'fp16 channels_last) +(?P<bare_ms>[\d.]+) +(?P<mm_ms>[\d.]+) +'
                 r'(?P<rate>[\d.]+) +(?P<ratio>[\d.]+)x +(?P<speedup>[\d.]+)x +'
                 r'(?P<speedup_bare>[\d.]+)x(?: +(?P<tflops>[\d.]+))?$')


def speed(*args):
    out = run_tool('tools/benchmarks/speed.py', '--device', 'cpu', '--threads', '1', *args)
    rows = {m['label']: m.groupdict() for m in map(ROW.match, out.stdout.splitlines()) if m}
    return out.stdout, rows


def check_row(row, samples):
    bare_ms, mm_ms = float(row['bare_ms']), float(row['mm_ms'])
    assert bare_ms > 0 and mm_ms > 0
    # samples/s printed for the mmengine step: 4 rotated samples per image
    assert float(row['rate']) == pytest.approx(samples / (mm_ms / 1e3), rel=0.01, abs=0.1)
    # a median of per-round ratios: sane, even on a busy machine with 2 rounds
    assert 0.1 < float(row['ratio']) < 10
    assert 0.05 < float(row['speedup']) < 20 and 0.05 < float(row['speedup_bare']) < 20


def test_nin_table_has_every_mode_and_plausible_numbers(tmp_path):
    out_json = tmp_path / 'speed.json'
    stdout, rows = speed('--model', 'nin', '--batch-size', '2', '--steps', '2',
                         '--warmup', '1', '--json', str(out_json),
                         '--data-path', '--images', '2', '--repeats', '1')
    assert '(a) data path' in stdout and 'ratio, loader side (CPU workers)' in stdout
    assert '(b) training step, NIN-3 width 48, 2 images = 8 rotated 28x28 samples' in stdout
    assert list(rows) == ['fp32 NCHW', 'fp32 channels_last', 'bf16 channels_last']
    for row in rows.values():
        check_row(row, samples=8)
        assert row['tflops'] is None  # TFLOP/s only for the ResNet-50
    reference = rows['fp32 NCHW']
    assert reference['speedup'] == reference['speedup_bare'] == '1.00'
    if not torch.cpu._is_avx512_bf16_supported() and not torch.cpu._is_amx_tile_supported():
        assert 'no native bf16: the bf16 mode is emulated' in stdout
    result = json.loads(out_json.read_text())
    modes = result['train_step']['modes']
    assert list(modes) == ['fp32_nchw', 'fp32_cl', 'amp_cl']
    for mode in modes.values():
        assert mode['samples_per_s_bare'] > 0 and mode['samples_per_s_mmengine'] > 0
        assert mode['mmengine_over_bare'] == pytest.approx(
            float(rows[mode['label']]['ratio']), abs=6e-4)


def test_r50_table_prints_tflops_scaled_to_the_image_size():
    stdout, rows = speed('--model', 'r50', '--batch-size', '1', '--size', '32', '--steps', '1',
                         '--warmup', '1', '--modes', 'fp32_nchw', 'fp32_cl')
    assert list(rows) == ['fp32 NCHW', 'fp32 channels_last']
    assert '(a) data path' not in stdout  # only with --data-path
    assert 'scaled by (32/224)^2' in stdout
    for row in rows.values():
        check_row(row, samples=4)
        # 24.6 GFLOP per 224x224 sample x (32/224)^2 x 4 samples per step
        expected = 24.6e9 * (32 / 224) ** 2 * 4 / (float(row['mm_ms']) / 1e3) / 1e12
        assert float(row['tflops']) == pytest.approx(expected, rel=0.02, abs=1e-3)


def test_mixed_precision_mode_is_bf16_or_fp16_on_a_gpu_without_bf16(monkeypatch):
    cuda = torch.device('cuda')
    monkeypatch.setattr(speed_tool, 'cuda_native_bf16', lambda device=None: False)
    assert speed_tool.amp_dtype(cuda, 'auto') is torch.float16
    assert speed_tool.mode_label('amp_cl', torch.float16) == 'fp16 channels_last'
    monkeypatch.setattr(speed_tool, 'cuda_native_bf16', lambda device=None: True)
    assert speed_tool.amp_dtype(cuda, 'auto') is torch.bfloat16
    assert speed_tool.amp_dtype(torch.device('cpu'), 'auto') is torch.bfloat16
    assert speed_tool.amp_dtype(cuda, 'float16') is torch.float16


def test_cuda_without_a_gpu_is_refused_clearly(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)  # also on a GPU machine
    with pytest.raises(SystemExit, match='--device cuda: no CUDA device is available'):
        speed_tool.main(['--device', 'cuda', '--model', 'r50'])
