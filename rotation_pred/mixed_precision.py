"""Mixed precision that picks its dtype from the device, on CPUs as well as GPUs.

``MixedPrecisionOptimWrapper`` (registered in MMPretrain's ``OPTIM_WRAPPERS``) is what
``tools/train.py --amp`` and the configs use. Why not mmengine's ``AmpOptimWrapper``:
in mmengine 0.10.7 it asserts a GPU/NPU/MLU/MUSA device at construction, so it cannot
train on a CPU at all, and it always makes a loss scaler, which bfloat16 does not need.

``dtype='auto'`` chooses, for the device the parameters are on:

* CUDA with native bf16 (Ampere and later): bfloat16, no loss scaling;
* CUDA without it: float16 with dynamic loss scaling;
* a CPU with native bf16 (AVX512-BF16 or AMX): bfloat16, no loss scaling;
* any other CPU: fp32 (autocast off). Without native bf16, PyTorch's CPU convolutions
  in bf16 fall back to a slow reference kernel: on an AVX2-only EPYC a NIN training
  step was about 6x *slower* in bf16 than in fp32.

The choice is written to the log. The loss and the metrics stay in fp32 (the heads cast
their logits to float before the cross-entropy).

``emulate_bf16=True`` is for accuracy studies on CPUs without native bf16, where real
bf16 autocast is too slow to train with: bf16 convolutions then run as fp32 kernels on
the bf16-rounded operands, their outputs rounded to bf16 (see ``Bf16ConvsOnFp32Kernels``).
"""
import contextlib
import logging
from typing import Optional, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmpretrain.registry import OPTIM_WRAPPERS
from torch.overrides import TorchFunctionMode

DTYPES = {'bfloat16': torch.bfloat16, 'float16': torch.float16, 'float32': None}


def cpu_native_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic in hardware (AVX512-BF16 or AMX)."""
    checks = ('_is_avx512_bf16_supported', '_is_amx_tile_supported')
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def cuda_native_bf16(device: Optional[torch.device] = None) -> bool:
    """Whether the CUDA device computes in bf16 natively (compute capability >= 8.0)."""
    if not torch.cuda.is_available():
        return False
    try:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # torch < 2.3 has no including_emulation (and did not emulate)
        return torch.cuda.is_bf16_supported()


def choose_amp_dtype(device: Union[str, torch.device]) -> Tuple[Optional[torch.dtype], str]:
    """The autocast dtype for ``device`` (``None`` = fp32) and a sentence saying why."""
    device = torch.device(device)
    if device.type == 'cuda':
        name = torch.cuda.get_device_name(device)
        if cuda_native_bf16(device):
            return torch.bfloat16, f'bfloat16 autocast on {name} (native bf16)'
        return torch.float16, (f'float16 autocast with dynamic loss scaling on {name} '
                               '(no native bf16)')
    if device.type == 'cpu':
        capability = torch.backends.cpu.get_cpu_capability()
        if cpu_native_bf16():
            return torch.bfloat16, f'bfloat16 autocast on the CPU (native bf16, {capability})'
        return None, (f'fp32: this CPU ({capability}) has no native bf16, in which '
                      'convolutions are several times slower than in fp32')
    return None, f'fp32: no mixed precision chosen for device type {device.type!r}'


class Bf16ConvsOnFp32Kernels(TorchFunctionMode):
    """Under CPU bf16 autocast, compute each 2-D convolution as autocast does (operands
    cast to bf16, output in bf16) but with the fp32 kernel: ``conv(x.bf16().float(),
    w.bf16().float()).bf16()``. A product of two bf16 numbers is exact in fp32, so this
    is bf16 convolution with fp32 accumulation, the numerics of oneDNN's native bf16
    kernels, up to the order of the sums. The backward pass rounds the gradients of the
    inputs and weights to bf16 at the same casts as autocast. As fast as fp32 (not
    faster): for accuracy studies on CPUs whose bf16 convolutions are emulated slowly.
    """

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if (func is not torch.conv2d or not torch.is_autocast_enabled('cpu')
                or torch.get_autocast_dtype('cpu') != torch.bfloat16):
            return func(*args, **kwargs)
        args = list(args)
        if len(args) < 3:
            args.append(kwargs.pop('bias', None))
        x, weight, bias, *rest = args
        bf16 = torch.bfloat16
        with torch.autocast('cpu', enabled=False):
            out = func(x.to(bf16).float(), weight.to(bf16).float(),
                       None if bias is None else bias.to(bf16).float(), *rest, **kwargs)
        return out.to(bf16)


@OPTIM_WRAPPERS.register_module()
class MixedPrecisionOptimWrapper(AmpOptimWrapper):
    """Automatic mixed precision on any device (see the module docstring).

    Args:
        optimizer: the optimizer, as for ``OptimWrapper``.
        dtype: ``'auto'`` (default: chosen from the device), ``'bfloat16'``,
            ``'float16'`` or ``'float32'`` (autocast off).
        loss_scale: loss scaling for float16, as in ``AmpOptimWrapper``:
            ``'dynamic'`` (default), a float (static scale) or a dict of
            ``torch.amp.GradScaler`` arguments. bfloat16 and float32 are not scaled.
        emulate_bf16: on a CPU without native bf16, run bf16 convolutions with fp32
            kernels (``Bf16ConvsOnFp32Kernels``: same numerics, fp32 speed), for
            accuracy studies. Ignored where bf16 is native and on GPUs.
        **kwargs: the other ``OptimWrapper`` arguments (``accumulative_counts``,
            ``clip_grad``).
    """

    def __init__(self, optimizer, dtype: Union[str, torch.dtype] = 'auto',
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 emulate_bf16: bool = False, **kwargs):
        # AmpOptimWrapper.__init__ is skipped on purpose: it asserts an accelerator.
        OptimWrapper.__init__(self, optimizer=optimizer, **kwargs)
        device = _params_device(optimizer)
        if dtype == 'auto':
            self.cast_dtype, reason = choose_amp_dtype(device)
        else:
            if isinstance(dtype, torch.dtype):
                dtype = str(dtype).replace('torch.', '')
            if dtype not in DTYPES:
                raise ValueError(f"dtype must be 'auto' or one of {list(DTYPES)}, "
                                 f'got {dtype!r}')
            self.cast_dtype = DTYPES[dtype]
            if (self.cast_dtype is torch.bfloat16 and device.type == 'cuda'
                    and not cuda_native_bf16(device)):
                raise ValueError(f'dtype=bfloat16: {torch.cuda.get_device_name(device)} '
                                 "has no native bf16; use dtype='auto' or 'float16'")
            reason = f'{dtype} set in the config (device: {device.type})'
            if self.cast_dtype is torch.bfloat16 and device.type == 'cpu' \
                    and not cpu_native_bf16() and not emulate_bf16:
                reason += ('; this CPU has no native bf16, so this is slower than fp32 '
                           '(bf16 numerics, emulated)')
        self.device_type = device.type
        self.emulate_bf16 = (emulate_bf16 and self.cast_dtype is torch.bfloat16
                             and device.type == 'cpu' and not cpu_native_bf16())
        if self.emulate_bf16:
            reason += ('; bf16 convolutions run as fp32 kernels on bf16-rounded operands '
                       '(emulate_bf16: bf16 numerics at fp32 speed)')
        self._scale_update_param = None
        scaled = self.cast_dtype is torch.float16
        if loss_scale == 'dynamic':
            scaler_args = {}
        elif isinstance(loss_scale, (int, float)):
            self._scale_update_param = float(loss_scale)
            scaler_args = dict(init_scale=float(loss_scale))
        elif isinstance(loss_scale, dict):
            scaler_args = dict(loss_scale)
        else:
            raise TypeError("loss_scale must be 'dynamic', a float or a dict, "
                            f'got {loss_scale!r}')
        self.loss_scaler = torch.amp.GradScaler(self.device_type, enabled=scaled,
                                                **scaler_args)
        if scaled:
            reason += (', loss scaling: ' + ('dynamic' if loss_scale == 'dynamic'
                                             else str(loss_scale)))
        print_log(f'mixed precision: {reason}', logger='current', level=logging.INFO)

    @contextlib.contextmanager
    def optim_context(self, model: torch.nn.Module):
        """``OptimWrapper``'s context, plus autocast to ``cast_dtype`` (if any)."""
        cast = (torch.autocast(self.device_type, dtype=self.cast_dtype)
                if self.cast_dtype is not None else contextlib.nullcontext())
        emulate = Bf16ConvsOnFp32Kernels() if self.emulate_bf16 else contextlib.nullcontext()
        with OptimWrapper.optim_context(self, model), cast, emulate:
            yield


def _params_device(optimizer) -> torch.device:
    for group in optimizer.param_groups:
        for param in group['params']:
            return param.device
    return torch.device('cpu')
