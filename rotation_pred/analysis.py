"""What the figures of the paper show, as tensors: attention maps and filter grids."""
import torch
import torch.nn.functional as F


def attention_map(feature_map: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """Spatial attention of a conv layer (paper Fig. 3): sum over channels of
    |activation|^p, scaled to [0, 1] per image. (N, C, H, W) -> (N, H, W)."""
    energy = feature_map.abs().pow(p).sum(dim=1)
    flat = energy.flatten(1)
    low, high = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    return ((flat - low) / (high - low).clamp_min(1e-12)).view_as(energy)


def upsample_to(maps: torch.Tensor, size: int) -> torch.Tensor:
    """(N, h, w) maps -> (N, size, size), bilinear, for overlaying on the input."""
    return F.interpolate(maps[:, None], size=(size, size), mode='bilinear',
                         align_corners=False)[:, 0]


def filter_grid(weight: torch.Tensor, columns: int = 8, pad: int = 1) -> torch.Tensor:
    """First-layer filters (O, C, k, k) -> one image (rows*(k+pad), cols*(k+pad), C'),
    each filter scaled to [0, 1] on its own; C' is 3 for RGB filters, else 1
    (the mean over input channels)."""
    out_channels, in_channels, k, _ = weight.shape
    w = weight.detach().float()
    if in_channels != 3:
        w = w.mean(dim=1, keepdim=True)
    flat = w.flatten(1)
    low, high = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    w = ((flat - low) / (high - low).clamp_min(1e-12)).view_as(w)
    rows = (out_channels + columns - 1) // columns
    cell = k + pad
    grid = torch.ones(rows * cell - pad, columns * cell - pad, w.shape[1])
    for i in range(out_channels):
        r, c = divmod(i, columns)
        grid[r * cell:r * cell + k, c * cell:c * cell + k] = w[i].permute(1, 2, 0)
    return grid
