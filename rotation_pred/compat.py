"""Every fix this project needs for the OpenMMLab stack on current PyTorch.

Pinned stack: torch 2.14.1, mmengine 0.10.7, mmcv 2.1.0 (lite or full), mmpretrain 1.2.0,
mmdet 3.3.0, mmsegmentation 1.2.2. ``apply()`` runs once, when ``rotation_pred`` is
imported (configs import it through ``custom_imports``). Each fix says why it exists
and when it can go. Fixes done by pins live in ``setup.py``:
  * ``setuptools<82``: mmengine 0.10.7 imports ``pkg_resources`` to resolve
    ``mmpretrain::``/``mmdet::`` config paths; setuptools 82 removed it. Remove with an
    mmengine release after 0.10.7 (fixed on its main, commit b5d35802).
  * no ``transformers``: mmpretrain 1.2.0 imports BLIP code that fails on new
    transformers releases as soon as transformers is installed.
"""
import atexit
import functools
import logging
import warnings

import numpy as np
import torch
import torch.distributed as dist

# --- 9. No pkg_resources deprecation warning before every tool's output ---------------
# Why: mmengine 0.10.7 imports ``pkg_resources`` (mmengine/utils/package_utils.py), and
# setuptools 81 warns about it at that import, so every tool printed the warning before
# its own output. Set here, before anything imports mmengine, for that message alone.
# Remove with the same mmengine release as the ``setuptools<82`` pin.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated as an API',
                        category=UserWarning)

_applied = False


def _log(msg: str) -> None:
    from mmengine.logging import print_log
    print_log(msg, logger='current', level=logging.INFO)


# --- 1. Checkpoints load with torch.load(weights_only=True) --------------------------
# Why: torch >= 2.6 loads with weights_only=True; mmengine 0.10.7 calls torch.load with
# no weights_only, so resuming its own checkpoints fails on the numpy arrays and
# HistoryBuffer objects of the message hub. We allowlist exactly those types and keep
# weights_only on: a checkpoint carrying any other pickled object is refused.
# Remove with an mmengine release that passes weights_only itself (its main, PR#1670).
def checkpoint_safe_globals() -> list:
    """The types an mmengine training checkpoint holds besides tensors."""
    from mmengine.logging.history_buffer import HistoryBuffer
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    # numpy >= 1.25 unpickles a dtype through its class (numpy.dtypes.Float64DType...);
    # the metrics and counters mmengine logs are numbers of these types.
    number_dtypes = [type(np.dtype(t)) for t in (np.bool_, np.uint8, np.int32, np.int64,
                                                  np.float16, np.float32, np.float64)]
    return [np.dtype, np.ndarray, multiarray._reconstruct, multiarray.scalar, HistoryBuffer,
            *number_dtypes]


def _allow_checkpoint_types() -> None:
    torch.serialization.add_safe_globals(checkpoint_safe_globals())


# --- 2. HistoryBuffer pickles without builtins.getattr ---------------------------------
# Why: a HistoryBuffer may carry a table of statistics methods, which pickle as
# getattr(HistoryBuffer, 'min'); allowlisting getattr would let a crafted checkpoint
# call any attribute. We pickle the buffers without that table and rebuild the defaults
# on load. Remove together with fix 1.
def _history_buffer_without_methods() -> None:
    from mmengine.logging.history_buffer import HistoryBuffer

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop('_statistics_methods', None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._set_default_statistics()

    HistoryBuffer.__getstate__ = __getstate__
    HistoryBuffer.__setstate__ = __setstate__


# --- 3. Distributed training on CPU processes (gloo) --------------------------------
# Why: mmengine's pytorch launcher calls torch.cuda.set_device for every process and
# wraps the model with device_ids=[LOCAL_RANK]; both fail on a machine with no GPU, so
# `dist_train.sh CONFIG 2` could not run on CPUs. With no CUDA we start gloo and give
# DDP no device ids. Remove when mmengine supports CPU launchers itself.
# The process group is also destroyed at exit (atexit, while the interpreter is whole):
# mmengine never destroys it, and gloo's worker threads can then abort a finished run
# during interpreter shutdown ("terminate called without an active exception", exit
# code -6; seen in a CI run of tests/test_distributed.py). Remove with a torch
# that destroys process groups at exit itself.
def _cpu_distributed() -> None:
    import mmengine.dist.utils as dist_utils
    from mmengine.model.wrappers import MMDistributedDataParallel

    original_init_dist = dist_utils._init_dist_pytorch

    @functools.wraps(original_init_dist)
    def init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if torch.cuda.is_available():
            return original_init_dist(backend, init_backend=init_backend, **kwargs)
        if backend != 'gloo':
            _log(f'no CUDA device: using the gloo backend instead of {backend}')
        dist.init_process_group(backend='gloo', **kwargs)
        atexit.register(destroy_process_group_at_exit)

    dist_utils._init_dist_pytorch = init_dist_pytorch

    original_ddp_init = MMDistributedDataParallel.__init__

    @functools.wraps(original_ddp_init)
    def ddp_init(self, module, *args, **kwargs):
        if all(p.device.type == 'cpu' for p in module.parameters()):
            kwargs['device_ids'] = None
            kwargs.pop('output_device', None)
        original_ddp_init(self, module, *args, **kwargs)

    MMDistributedDataParallel.__init__ = ddp_init


def destroy_process_group_at_exit() -> None:
    """Destroy the default process group if it is still there (see fix 3)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def finish_distributed() -> None:
    """End a run that finished on every rank: meet at a barrier, then destroy the
    process group (see fix 3). Without the barrier a fast rank tears down its gloo
    connections while a slower one is still in its last collective, and the slower
    one can abort during shutdown (exit code -6 in a CI run of
    tests/test_distributed.py, with the exit handler alone). The exit handler stays for
    runs that end another way, where a barrier could wait on a rank that failed."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


# --- 4. SyncBatchNorm on CPU processes ------------------------------------------------
# Why: torch.nn.SyncBatchNorm raises for CPU input when a process group is running, so
# SyncBN configs (the reference protocol) could not train over gloo, and DDP refuses
# to wrap a CPU module that holds SyncBatchNorm layers. On CPU input we all-reduce the
# batch sums with autograd, which gives the statistics (and gradients) of the global
# batch, like the GPU kernel, and let DDP wrap such CPU modules. Remove if torch
# supports CPU SyncBN.
class _AllReduceSum(torch.autograd.Function):
    """Sum over processes; the gradient is summed over processes as well."""

    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        total = x.clone()
        dist.all_reduce(total, group=group)
        return total

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad, group=ctx.group)
        return grad, None


def cpu_sync_batch_norm(bn: torch.nn.SyncBatchNorm, x: torch.Tensor) -> torch.Tensor:
    """Batch norm of (N, C, *) with statistics over the batches of all processes,
    computed in float32 whatever the input's type (bf16 under CPU autocast); the output
    has the input's type."""
    dtype, x = x.dtype, x.float()
    channels = x.shape[1]
    dims = [0] + list(range(2, x.dim()))
    count = torch.full((1, ), x.numel() // channels, dtype=x.dtype)
    stats = torch.cat([x.sum(dims), (x * x).sum(dims), count])
    stats = _AllReduceSum.apply(stats, bn.process_group or dist.group.WORLD)
    total = stats[-1]
    mean = stats[:channels] / total
    var = (stats[channels:2 * channels] / total - mean * mean).clamp_min(0)
    if bn.track_running_stats:
        with torch.no_grad():
            bn.num_batches_tracked.add_(1)
            momentum = bn.momentum if bn.momentum is not None else \
                1.0 / float(bn.num_batches_tracked)
            unbiased = var * total / (total - 1).clamp_min(1)
            bn.running_mean.lerp_(mean.detach(), momentum)
            bn.running_var.lerp_(unbiased.detach(), momentum)
    shape = [1, channels] + [1] * (x.dim() - 2)
    out = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + bn.eps)
    if bn.affine:
        out = out * bn.weight.view(shape) + bn.bias.view(shape)
    return out.to(dtype)


def _sync_batch_norm_on_cpu() -> None:
    original_forward = torch.nn.SyncBatchNorm.forward

    @functools.wraps(original_forward)
    def forward(self, x):
        if (self.training and x.device.type == 'cpu' and dist.is_available()
                and dist.is_initialized()):
            return cpu_sync_batch_norm(self, x)
        return original_forward(self, x)

    torch.nn.SyncBatchNorm.forward = forward

    ddp = torch.nn.parallel.DistributedDataParallel
    original_check = ddp._passing_sync_batchnorm_handle

    @functools.wraps(original_check)
    def check(self, module):
        if self.device_type != 'cpu':
            original_check(self, module)

    ddp._passing_sync_batchnorm_handle = check


def apply() -> None:
    """Apply every fix once."""
    global _applied
    if _applied:
        return
    check_mmcv()
    _allow_checkpoint_types()
    _history_buffer_without_methods()
    _cpu_distributed()
    _sync_batch_norm_on_cpu()
    _mmcv_ops_from_torchvision()
    _load_image_names_the_file()
    _hue_shift_in_both_directions()
    _mmpretrain_models_without_mmdet()
    _applied = True


# --- 5. MMCV ops without mmcv's compiled extension (mmcv-lite) ------------------------
# Why: mmcv-lite has no compiled ``mmcv._ext``, yet every ``mmcv.ops`` module loads it at
# import, so ``import mmdet.models`` (and parts of mmseg) fail. When ``_ext`` is absent,
# ``mmcv.ops`` gets a stand-in: ``nms`` and ``roi_align_forward``/``_backward`` (the
# ``avg`` mode) run torchvision's kernels, which is all that Faster/Mask R-CNN and FCN
# call (``batched_nms``, ``RoIAlign``, ``BitmapMasks.crop_and_resize`` sit on these);
# every other op raises, naming itself, when it is called. With full mmcv (compiled
# ``_ext`` present) nothing is touched. Remove when a compiled mmcv is installable for
# the torch in use (mmcv wheels for torch 2.14) or mmdet/mmseg stop importing mmcv.ops.
TORCHVISION_OPS = ('nms', 'roi_align_forward', 'roi_align_backward')


class MissingMMCVOp(RuntimeError):
    """An mmcv op that needs compiled mmcv was called while only mmcv-lite is installed."""


def missing_op_error(name: str) -> MissingMMCVOp:
    """The error for mmcv op ``name``, which the torchvision stand-in does not cover."""
    return MissingMMCVOp(
        f"mmcv op '{name}' needs mmcv's compiled extension (mmcv._ext), which mmcv-lite "
        f"does not have; rotation_pred.compat only provides {', '.join(TORCHVISION_OPS)} "
        "(RoIAlign in 'avg' mode). Install full mmcv 2.1.0 built for this torch (see "
        'docs/transfer.md) to use this op.')


def _missing_op(name: str):
    def missing(*args, **kwargs):
        raise missing_op_error(name)
    missing.__name__ = name
    return missing


def torchvision_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float,
                    offset: int = 0) -> torch.Tensor:
    """mmcv ``_ext.nms``: boxes (N, 4) x1y1x2y2, scores (N,) -> kept indices (K,) int64,
    highest score first. ``offset=1`` (width = x2 - x1 + 1) equals shifting x2, y2 by 1.
    Boxes are visited in the order of mmcv's own (unstable) score sort, so that tied
    scores keep and order the same boxes as compiled mmcv."""
    import torchvision
    if offset not in (0, 1):
        raise ValueError(f'nms: offset must be 0 or 1, got {offset}')
    if offset:
        boxes = torch.cat([boxes[:, :2], boxes[:, 2:] + 1], dim=1)
    order = scores.sort(0, descending=True)[1]
    keep = torchvision.ops.nms(boxes[order], scores[order].to(boxes.dtype),
                               float(iou_threshold))
    return order[keep]


def torchvision_roi_align_forward(input, rois, output, argmax_y, argmax_x, aligned_height,
                                  aligned_width, spatial_scale, sampling_ratio, pool_mode,
                                  aligned):
    """mmcv ``_ext.roi_align_forward`` for ``pool_mode=1`` (avg): features (B, C, H, W),
    rois (K, 5) as (batch index, x1, y1, x2, y2); fills ``output`` (K, C, h, w).
    ``argmax_y``/``argmax_x`` are only used by the max mode."""
    if pool_mode != 1:
        raise missing_op_error("roi_align_forward (pool_mode='max')")
    output.copy_(torch.ops.torchvision.roi_align(
        input, rois.to(input.dtype), float(spatial_scale), int(aligned_height),
        int(aligned_width), int(sampling_ratio), bool(aligned)))


def torchvision_roi_align_backward(grad_output, rois, argmax_y, argmax_x, grad_input,
                                   aligned_height, aligned_width, spatial_scale,
                                   sampling_ratio, pool_mode, aligned):
    """mmcv ``_ext.roi_align_backward`` (avg): grad_output (K, C, h, w) -> fills
    ``grad_input`` (B, C, H, W), the gradient of the features."""
    if pool_mode != 1:
        raise missing_op_error("roi_align_backward (pool_mode='max')")
    batch, channels, height, width = grad_input.shape
    grad_input.copy_(torch.ops.torchvision._roi_align_backward(
        grad_output, rois.to(grad_output.dtype), float(spatial_scale), int(aligned_height),
        int(aligned_width), batch, channels, height, width, int(sampling_ratio),
        bool(aligned)))


class TorchvisionExt:
    """Stands in for ``mmcv._ext``: the ops above, and a raising stub for any other."""
    nms = staticmethod(torchvision_nms)
    roi_align_forward = staticmethod(torchvision_roi_align_forward)
    roi_align_backward = staticmethod(torchvision_roi_align_backward)

    def __getattr__(self, name: str):
        if name.startswith('__'):
            raise AttributeError(name)
        return _missing_op(name)


def mmcv_ext_compiled() -> bool:
    """Whether mmcv's compiled extension ``mmcv._ext`` is installed."""
    import importlib.util
    return importlib.util.find_spec('mmcv._ext') is not None


def _mmcv_ops_from_torchvision() -> None:
    import mmcv.utils.ext_loader as ext_loader
    if mmcv_ext_compiled():
        return
    import torchvision  # noqa: F401  (registers torch.ops.torchvision)
    original_load_ext = ext_loader.load_ext
    stand_in = TorchvisionExt()

    @functools.wraps(original_load_ext)
    def load_ext(name, funcs):
        return stand_in if name == '_ext' else original_load_ext(name, funcs)

    ext_loader.load_ext = load_ext


# --- 6. mmcv is installed, as mmcv-lite or as full mmcv (not a fix: a check) ------------
# Why: setup.py cannot declare mmcv. mmcv-lite and full mmcv (compiled ops, built for the
# user's torch) install the same package ``mmcv``; declaring either one makes pip put it
# over, or flag, the other. So neither is declared, and this check, run first by
# ``apply()``, says how to install one when none is there. mmpretrain 1.2.0 accepts mmcv
# 2.0.0 <= v < 2.4.0; mmdet 3.3.0 and mmsegmentation 1.2.2 need v < 2.2.0 and assert it
# themselves. Tested: 2.1.0.
MMCV_DISTRIBUTIONS = ('mmcv', 'mmcv-lite', 'mmcv-full')  # mmcv-full: the 1.x series
MMCV_RANGE = ('2.0.0', '2.4.0')  # the range mmpretrain 1.2.0 asserts

MMCV_INSTALL_HELP = (
    'Install mmcv 2.1.0 in one of two ways:\n'
    '  * pip install mmcv-lite==2.1.0\n'
    '      pure Python; rotation_pred runs the ops that the detection benchmarks need '
    '(nms, RoIAlign) on torchvision;\n'
    '  * bash tools/build_mmcv.sh\n'
    '      full mmcv 2.1.0 with its compiled ops, built for the installed torch (CPU, or '
    'CUDA when nvcc is present) and installed (a script of the rotation_pred repository).')


def installed_mmcv_versions() -> dict:
    """``{distribution name: version}`` of the installed mmcv distributions."""
    from importlib import metadata
    versions = {}
    for name in MMCV_DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def mmcv_problem(versions: dict, importable: bool):
    """What is wrong with the installed mmcv, as ``(kind, message)``, or ``None``.

    ``versions``: ``{distribution name: version}`` (``installed_mmcv_versions()``);
    ``importable``: whether a module ``mmcv`` is found at all. ``kind`` is ``'error'``
    (rotation_pred cannot work) or ``'warning'``."""
    from mmengine.utils import digit_version
    if not versions:
        if importable:  # e.g. a source checkout on PYTHONPATH: no metadata to check
            return None
        return 'error', ('rotation_pred needs mmcv (2.1.0), and no mmcv is installed. '
                         + MMCV_INSTALL_HELP)
    low, high = MMCV_RANGE
    for name, version in sorted(versions.items()):
        if not digit_version(low) <= digit_version(version) < digit_version(high):
            return 'error', (f'rotation_pred needs mmcv {low} <= version < {high} (tested: '
                             f'2.1.0; mmdet 3.3.0 and mmsegmentation 1.2.2 need < 2.2.0), '
                             f'but {name} {version} is installed. Uninstall it '
                             f'(pip uninstall -y {name}). ' + MMCV_INSTALL_HELP)
    if len(versions) > 1:
        listed = ' and '.join(f'{name} {version}' for name, version in
                              sorted(versions.items()))
        return 'warning', (f'both {listed} are installed. They write the same package '
                           'directory mmcv/, so uninstalling either one breaks the other. '
                           'Keep one: pip uninstall -y mmcv mmcv-lite, then install mmcv-lite '
                           '2.1.0 or run tools/build_mmcv.sh.')
    return None


class MMCVNotInstalled(ImportError):
    """No usable mmcv: neither mmcv-lite nor full mmcv, or a version out of range."""


def check_mmcv() -> None:
    """Raise ``MMCVNotInstalled`` (with how to install it) if no usable mmcv is installed;
    warn if both mmcv and mmcv-lite are."""
    import importlib.util
    import warnings
    problem = mmcv_problem(installed_mmcv_versions(),
                           importlib.util.find_spec('mmcv') is not None)
    if problem is None:
        return
    kind, message = problem
    if kind == 'error':
        raise MMCVNotInstalled(message)
    warnings.warn(message, stacklevel=2)


# --- 7. LoadImageFromFile names the file it cannot read ----------------------------------
# Why: mmcv 2.1.0's LoadImageFromFile re-raises the decoder's error unchanged. An empty
# (0-byte) file stops training with OpenCV's "(-215:Assertion failed) !buf.empty()", and
# a file that Pillow cannot identify with "cannot identify image file <_io.BytesIO ...>":
# neither says which of a million files is at fault. Any failure to read or decode now
# raises UnreadableImageError with the file's path and the reason; ignore_empty=True
# keeps its meaning (the sample is dropped), and errors that already carry the path
# (a missing file) pass unchanged. Remove when mmcv names the file itself.
class UnreadableImageError(ValueError):
    """An image file that exists but cannot be read or decoded; the message names it."""


def unreadable_image_error(path: str, error: Exception) -> UnreadableImageError:
    """The error for ``path``, which failed to load with ``error``."""
    import os
    try:
        empty = os.path.getsize(path) == 0
    except (OSError, TypeError):
        empty = False
    reason = ('the file is empty (0 bytes)' if empty
              else f'not a decodable image ({type(error).__name__}: {error})')
    return UnreadableImageError(f'{path}: cannot load the image: {reason}')


def _load_image_names_the_file() -> None:
    from mmcv.transforms import LoadImageFromFile
    original_transform = LoadImageFromFile.transform
    if getattr(original_transform, 'names_the_file', False):
        return

    @functools.wraps(original_transform)
    def transform(self, results: dict):
        try:
            return original_transform(self, results)
        except Exception as error:  # cv2.error, PIL's UnidentifiedImageError, assertions
            already_named = isinstance(error, UnreadableImageError) or (
                isinstance(error, OSError) and getattr(error, 'filename', None))
            if already_named:
                raise
            raise unreadable_image_error(results.get('img_path'), error) from error

    transform.names_the_file = True
    LoadImageFromFile.transform = transform


# --- 8. mmcv.adjust_hue shifts the hue both ways ---------------------------------------
# Why: mmcv 2.1.0 adds ``np.uint8(hue_factor * 255)`` to the hue channel; NumPy 2 raises
# OverflowError for a negative value, so every negative hue factor fails, and a colour
# jitter (MMPretrain's ``ColorJitter``, which draws hue factors in [-h, h]) crashes about
# one call in two. The replacement shifts the hue by ``int(hue_factor * 255)`` modulo 256,
# the shift the original gives for every factor >= 0 (tested equal there). Remove when
# mmcv computes the shift without the uint8 cast of a negative number.
def hue_shift(hue_factor: float) -> np.uint8:
    """The uint8 amount added (modulo 256) to the hue channel for ``hue_factor``."""
    return np.uint8(int(hue_factor * 255) % 256)


def adjust_hue(img: np.ndarray, hue_factor: float, backend=None) -> np.ndarray:
    """mmcv's ``adjust_hue`` (BGR image, ``hue_factor`` in [-0.5, 0.5], backend 'cv2' or
    'pillow' or mmcv's default) with the hue shift of :func:`hue_shift`."""
    import cv2
    from mmcv.image import io as mmcv_io
    backend = backend or mmcv_io.imread_backend
    if backend not in ('cv2', 'pillow'):
        raise ValueError(f"backend: {backend} is not supported; use 'cv2' or 'pillow'")
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor: {hue_factor} is not in [-0.5, 0.5]')
    if not (isinstance(img, np.ndarray) and img.ndim in (2, 3)):
        raise TypeError('img should be an ndarray with 2 or 3 dimensions')
    shift = hue_shift(hue_factor)
    if backend == 'pillow':
        from PIL import Image
        if img.dtype != np.uint8:
            raise TypeError('the pillow backend takes uint8 images only')
        rgb = Image.fromarray(img[..., ::-1], mode='RGB')
        hue, saturation, value = rgb.convert('HSV').split()
        hue = Image.fromarray(np.array(hue, dtype=np.uint8) + shift, 'L')
        shifted = Image.merge('HSV', (hue, saturation, value)).convert('RGB')
        return np.array(shifted, dtype=img.dtype)[..., ::-1]
    dtype = img.dtype
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    hsv[..., 0] += shift  # uint8: wraps around the colour circle
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(dtype)


def _hue_shift_in_both_directions() -> None:
    import mmcv
    import mmcv.image
    import mmcv.image.photometric
    if mmcv.image.photometric.adjust_hue is not adjust_hue:
        adjust_hue.unpatched = mmcv.image.photometric.adjust_hue  # kept for the tests
    for module in (mmcv, mmcv.image, mmcv.image.photometric):
        module.adjust_hue = adjust_hue


# --- 10. import rotation_pred does not import mmdet ------------------------------------
# Why: ``mmpretrain.models.utils`` imports ``res_layer_extra_norm``, which imports
# ``mmdet.models`` whenever mmdet is installed (and with it scikit-learn, scipy and
# matplotlib), only to register ``ResLayerExtraNorm``, a layer that MMDetection C4 configs
# name and load themselves through ``custom_imports``. With the detection extra installed
# that made ``import rotation_pred`` (every training process, every tool) 1.7 s slower.
# ``mmpretrain.models`` is now imported with mmdet out of reach, and the module that
# registers ``ResLayerExtraNorm`` is forgotten afterwards, so a config's
# ``custom_imports`` runs it for real, with mmdet. Remove when mmpretrain imports mmdet
# lazily.
class _NotImportable:
    """A meta path finder that makes the packages ``names`` (and their modules) fail to
    import."""

    def __init__(self, names):
        self.names = tuple(names)

    def find_spec(self, name, path=None, target=None):
        if name in self.names or name.startswith(tuple(n + '.' for n in self.names)):
            raise ImportError(f'{name} is kept out of reach while mmpretrain.models loads')
        return None


def _mmpretrain_models_without_mmdet() -> None:
    import sys
    if 'mmpretrain.models' in sys.modules or 'mmdet' in sys.modules:
        return
    blocker = _NotImportable(('mmdet', ))
    sys.meta_path.insert(0, blocker)
    try:
        import mmpretrain.models  # noqa: F401
    finally:
        sys.meta_path.remove(blocker)
    sys.modules.pop('mmpretrain.models.utils.res_layer_extra_norm', None)
