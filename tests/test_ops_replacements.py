"""The mmcv ops that the transfer benchmarks call (rotation_pred/compat.py, fix 5) agree
with small independent references on random inputs: NMS with plain Python, RoIAlign
(forward and backward) with a straightforward loop over bins and sampling points."""
import math
import sys

import numpy as np
import pytest
import torch

import rotation_pred  # noqa: F401  (must come before mmcv.ops / mmdet)
from rotation_pred import compat
import mmcv.ops  # noqa: E402
import mmcv.utils.ext_loader as ext_loader  # noqa: E402
from mmdet.structures.mask import BitmapMasks  # noqa: E402


# --- references -----------------------------------------------------------------------
def reference_iou(a, b, offset):
    """IoU of two x1y1x2y2 boxes; widths are x2 - x1 + offset."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]) + offset)
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]) + offset)
    inter = w * h
    area_a = (a[2] - a[0] + offset) * (a[3] - a[1] + offset)
    area_b = (b[2] - b[0] + offset) * (b[3] - b[1] + offset)
    return inter / (area_a + area_b - inter)


def reference_nms(boxes, scores, iou_threshold, offset=0):
    """Greedy NMS: indices kept, highest score first; a box is dropped when its IoU
    with a kept box is above the threshold."""
    boxes, scores = boxes.tolist(), scores.tolist()
    keep = []
    for i in sorted(range(len(scores)), key=lambda i: -scores[i]):
        if all(reference_iou(boxes[i], boxes[j], offset) <= iou_threshold for j in keep):
            keep.append(i)
    return keep


def bilinear_taps(y, x, height, width):
    """[(row, col, weight)] of bilinear interpolation at (y, x); RoIAlign's border rule:
    nothing outside [-1, size], clamped to the last pixel row/column."""
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return []
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= height - 1:
        y0 = y1 = height - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= width - 1:
        x0 = x1 = width - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    return [(y0, x0, (1 - ly) * (1 - lx)), (y0, x1, (1 - ly) * lx),
            (y1, x0, ly * (1 - lx)), (y1, x1, ly * lx)]


def reference_roi_align_weights(rois, out_size, spatial_scale, sampling_ratio, aligned,
                                height, width):
    """(K, h, w, H, W): output bin (k, i, j) = sum over the feature map of these weights
    times the features of image rois[k, 0]. Each bin averages a grid of sampling points
    (``sampling_ratio`` per side, or ceil(bin size) when it is 0)."""
    out_h, out_w = out_size
    weights = np.zeros((len(rois), out_h, out_w, height, width))
    shift = 0.5 if aligned else 0.0
    for k, (_, x1, y1, x2, y2) in enumerate(rois.tolist()):
        x1, y1 = x1 * spatial_scale - shift, y1 * spatial_scale - shift
        roi_w, roi_h = x2 * spatial_scale - shift - x1, y2 * spatial_scale - shift - y1
        if not aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        bin_h, bin_w = roi_h / out_h, roi_w / out_w
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(bin_h)
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(bin_w)
        count = max(grid_h * grid_w, 1)
        for i in range(out_h):
            for j in range(out_w):
                for iy in range(grid_h):
                    y = y1 + i * bin_h + (iy + 0.5) * bin_h / grid_h
                    for ix in range(grid_w):
                        x = x1 + j * bin_w + (ix + 0.5) * bin_w / grid_w
                        for r, c, w in bilinear_taps(y, x, height, width):
                            weights[k, i, j, r, c] += w / count
    return weights


def reference_roi_align(features, rois, out_size, spatial_scale, sampling_ratio, aligned):
    """features (B, C, H, W), rois (K, 5) -> (K, C, h, w), and the weights."""
    weights = reference_roi_align_weights(rois, out_size, spatial_scale, sampling_ratio,
                                          aligned, *features.shape[2:])
    images = features.numpy()[rois[:, 0].long().numpy()]
    return np.einsum('kchw,kijhw->kcij', images, weights), weights


def reference_roi_align_grad(grad_output, rois, weights, features_shape):
    """d(loss)/d(features) (B, C, H, W) given d(loss)/d(output) (K, C, h, w)."""
    grad = np.zeros(features_shape)
    for k, b in enumerate(rois[:, 0].long().tolist()):
        grad[b] += np.einsum('cij,ijhw->chw', grad_output[k].numpy(), weights[k])
    return grad


# --- random inputs --------------------------------------------------------------------
def random_boxes(gen, n, size=100.0, max_side=40.0):
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * size
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * max_side
    return torch.cat([xy, xy + wh], dim=1)


def unique_scores(gen, n):
    return (torch.randperm(n, generator=gen).double() + 1) / (n + 1)


def random_rois(gen, count, batch, height, width, spatial_scale):
    """RoIs in image coordinates, some partly outside the map, some tiny."""
    extent = torch.tensor([width, height], dtype=torch.float64) / spatial_scale
    xy = (torch.rand(count, 2, generator=gen, dtype=torch.float64) * 1.4 - 0.2) * extent
    wh = torch.rand(count, 2, generator=gen, dtype=torch.float64) * extent * 0.8
    wh[0] = 0.3  # smaller than a feature cell
    index = torch.randint(0, batch, (count, 1), generator=gen).double()
    return torch.cat([index, xy, xy + wh], dim=1)


# --- NMS ------------------------------------------------------------------------------
@pytest.mark.parametrize('offset', [0, 1])
def test_nms_keeps_the_boxes_of_the_reference(offset):
    gen = torch.Generator().manual_seed(offset)
    for trial in range(20):
        n = int(torch.randint(1, 120, (1, ), generator=gen))
        boxes, scores = random_boxes(gen, n).float(), unique_scores(gen, n).float()
        threshold = [0.3, 0.5, 0.7][trial % 3]
        dets, keep = mmcv.ops.nms(boxes, scores, threshold, offset=offset)
        assert keep.tolist() == reference_nms(boxes, scores, threshold, offset)
        assert torch.equal(dets[:, :4], boxes[keep])
        assert torch.equal(dets[:, 4], scores[keep])
        _, keep_np = mmcv.ops.nms(boxes.numpy(), scores.numpy(), threshold, offset=offset)
        assert keep_np.tolist() == keep.tolist()


def test_batched_nms_is_nms_per_class():
    gen = torch.Generator().manual_seed(7)
    for trial in range(10):
        n = 150
        boxes, scores = random_boxes(gen, n).float(), unique_scores(gen, n).float()
        classes = torch.randint(0, 4, (n, ), generator=gen)
        _, keep = mmcv.ops.batched_nms(boxes, scores, classes,
                                       dict(type='nms', iou_threshold=0.5))
        expected = []
        for c in classes.unique().tolist():
            members = torch.nonzero(classes == c).squeeze(1)
            kept = reference_nms(boxes[members], scores[members], 0.5)
            expected += members[kept].tolist()
        expected.sort(key=lambda i: -scores[i].item())
        assert keep.tolist() == expected


def test_nms_of_no_boxes_is_empty():
    dets, keep = mmcv.ops.nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert dets.shape == (0, 5) and keep.shape == (0, )


# --- RoIAlign -------------------------------------------------------------------------
ROI_ALIGN_CASES = [  # output size, spatial scale, sampling ratio, aligned
    ((7, 7), 0.25, 0, True), ((7, 7), 0.25, 0, False), ((3, 5), 0.5, 2, True),
    ((2, 2), 1.0, 1, False), ((14, 14), 0.125, 0, True)]


@pytest.mark.parametrize('out_size, scale, sampling_ratio, aligned', ROI_ALIGN_CASES)
def test_roi_align_forward_and_backward_match_the_reference(out_size, scale,
                                                            sampling_ratio, aligned):
    gen = torch.Generator().manual_seed(sum(out_size) + sampling_ratio)
    features = torch.randn(2, 3, 11, 13, generator=gen, dtype=torch.float64)
    rois = random_rois(gen, 6, 2, 11, 13, scale)
    expected, weights = reference_roi_align(features, rois, out_size, scale,
                                            sampling_ratio, aligned)
    x = features.clone().requires_grad_()
    layer = mmcv.ops.RoIAlign(out_size, scale, sampling_ratio, aligned=aligned)
    out = layer(x, rois)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-10, atol=1e-12)

    grad_output = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    out.backward(grad_output)
    np.testing.assert_allclose(
        x.grad.numpy(), reference_roi_align_grad(grad_output, rois, weights, x.shape),
        rtol=1e-10, atol=1e-12)
    # float32, as the detectors run it: same values up to rounding
    out32 = mmcv.ops.roi_align(features.float(), rois.float(), out_size, scale,
                               sampling_ratio, 'avg', aligned)
    np.testing.assert_allclose(out32.numpy(), expected, rtol=1e-4, atol=1e-5)


def test_roi_align_passes_gradcheck():
    gen = torch.Generator().manual_seed(3)
    features = torch.randn(2, 2, 6, 7, generator=gen, dtype=torch.float64,
                           requires_grad=True)
    rois = random_rois(gen, 4, 2, 6, 7, 0.5)
    assert torch.autograd.gradcheck(
        lambda x: mmcv.ops.roi_align(x, rois, (3, 3), 0.5, 2, 'avg', True), (features, ))


def test_mask_targets_are_cropped_like_the_reference():
    """Mask R-CNN's targets: BitmapMasks.crop_and_resize, which calls mmcv's roi_align."""
    gen = torch.Generator().manual_seed(5)
    masks = (torch.rand(3, 24, 32, generator=gen) > 0.5).numpy().astype(np.uint8)
    boxes = random_boxes(gen, 5, size=24.0, max_side=12.0)
    inds = np.array([0, 2, 1, 1, 0])
    out = BitmapMasks(masks, 24, 32).crop_and_resize(boxes, (7, 7), inds, device='cpu')
    rois = torch.cat([torch.arange(5, dtype=torch.float64)[:, None], boxes], dim=1)
    expected, _ = reference_roi_align(torch.from_numpy(masks[inds]).double()[:, None],
                                      rois, (7, 7), 1.0, 0, True)
    binary = expected[:, 0] >= 0.5
    close_to_half = np.abs(expected[:, 0] - 0.5) < 1e-6  # may round either way
    assert out.masks.shape == (5, 7, 7)
    assert np.array_equal(out.masks.astype(bool)[~close_to_half], binary[~close_to_half])


# --- ops that are not covered, and full mmcv ---------------------------------------------
def with_stand_in(monkeypatch, module_name):
    """Give an mmcv.ops module the torchvision stand-in (already so with mmcv-lite)."""
    monkeypatch.setattr(sys.modules[module_name], 'ext_module', compat.TorchvisionExt())


def test_an_uncovered_op_raises_naming_itself(monkeypatch):
    with_stand_in(monkeypatch, 'mmcv.ops.roi_pool')
    with pytest.raises(compat.MissingMMCVOp, match="'roi_pool_forward'.*mmcv-lite"):
        mmcv.ops.RoIPool(7, 1.0)(torch.rand(1, 2, 8, 8), torch.tensor([[0., 0, 0, 4, 4]]))
    with_stand_in(monkeypatch, 'mmcv.ops.focal_loss')
    with pytest.raises(compat.MissingMMCVOp, match="'sigmoid_focal_loss_forward'"):
        mmcv.ops.sigmoid_focal_loss(torch.rand(4, 3), torch.tensor([0, 1, 2, 0]))


def test_max_pooling_roi_align_raises_instead_of_averaging(monkeypatch):
    with_stand_in(monkeypatch, 'mmcv.ops.roi_align')
    with pytest.raises(compat.MissingMMCVOp, match="pool_mode='max'"):
        mmcv.ops.roi_align(torch.rand(1, 2, 8, 8), torch.tensor([[0., 0, 0, 4, 4]]), (2, 2),
                           1.0, 0, 'max', True)


def test_the_stand_in_serves_mmcv_ops_exactly_when_mmcv_has_no_compiled_ext():
    stand_in = isinstance(sys.modules['mmcv.ops.nms'].ext_module, compat.TorchvisionExt)
    assert stand_in == (not compat.mmcv_ext_compiled())
    import mmdet.models  # noqa: F401  (mmcv-lite alone, without fix 5, fails here)
    import mmseg.models  # noqa: F401


@pytest.mark.parametrize('compiled', [True, False])
def test_full_mmcv_is_left_untouched(monkeypatch, compiled):
    original = getattr(ext_loader.load_ext, '__wrapped__', ext_loader.load_ext)
    monkeypatch.setattr(ext_loader, 'load_ext', original)
    monkeypatch.setattr(compat, 'mmcv_ext_compiled', lambda: compiled)
    compat._mmcv_ops_from_torchvision()
    if compiled:
        assert ext_loader.load_ext is original
    else:
        assert isinstance(ext_loader.load_ext('_ext', ['nms']), compat.TorchvisionExt)


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_the_hue_shift_never_raises_and_equals_mmcv_wherever_mmcv_works(backend):
    """mmcv.adjust_hue (compat fix 8) over hue factors from -0.5 to 0.5 on uint8 images:
    no factor raises, and every factor where mmcv's own function works (those >= 0 on
    NumPy 2) gives its output bit for bit."""
    import mmcv
    from mmpretrain.datasets.transforms import ColorJitter
    from rotation_pred.compat import adjust_hue
    image = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    factors = np.linspace(-0.5, 0.5, 41)
    original_worked = 0
    for factor in factors:
        shifted = mmcv.adjust_hue(image, float(factor), backend=backend)
        assert shifted.shape == image.shape and shifted.dtype == np.uint8
        try:
            expected = adjust_hue.unpatched(image, float(factor), backend=backend)
        except OverflowError:
            assert factor < 0  # the NumPy 2 failure the fix exists for
            continue
        original_worked += 1
        assert np.array_equal(shifted, expected), factor
    assert original_worked >= 21  # 0 and every positive factor
    # a negative shift moves the hue the other way round the circle
    hsv = mmcv.bgr2hsv(image)
    down = mmcv.bgr2hsv(mmcv.adjust_hue(image, -0.1, backend=backend))
    assert not np.array_equal(hsv, down)
    # MMPretrain's ColorJitter draws negative factors: it runs 20 times without error
    jitter = ColorJitter(hue=0.5, backend=backend)
    for _ in range(20):
        assert jitter(dict(img=image.copy()))['img'].shape == image.shape
