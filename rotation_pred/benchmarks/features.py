"""Frozen-feature extraction for the evaluation protocols (I/O free maths at the end)."""
import math
from typing import Dict, Tuple

import numpy as np
import torch
import torch.nn.functional as F


def pool_to_budget(feature_map: torch.Tensor, max_dims: int) -> torch.Tensor:
    """Average-pool (N, C, H, W) to the largest s x s grid with C*s*s <= max_dims
    (s <= H), then flatten to (N, C*s*s). (N, C) inputs pass through."""
    if feature_map.dim() == 2:
        return feature_map
    channels, height = feature_map.shape[1], feature_map.shape[2]
    side = max(1, min(height, math.isqrt(max(1, max_dims // channels))))
    return F.adaptive_avg_pool2d(feature_map, side).flatten(1)


def global_pool(feature_map: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C) by global average pooling."""
    return feature_map.mean(dim=(2, 3)) if feature_map.dim() == 4 else feature_map


@torch.no_grad()
def extract_features(model, dataloader, max_dims: int = 9216, gap: bool = False
                     ) -> Tuple[Dict[int, np.ndarray], np.ndarray]:
    """Run the frozen backbone of ``model`` over ``dataloader``.

    Returns ``({level: (num_images, D) float32}, labels (num_images,))`` where
    ``level`` indexes the backbone's outputs (``out_indices``) and D is capped
    by ``max_dims`` (or is the channel count when ``gap``).
    """
    model.eval()
    feats: Dict[int, list] = {}
    labels = []
    for data in dataloader:
        data = model.data_preprocessor(data, training=False)
        outputs = model.extract_feat(data['inputs'])
        for level, fmap in enumerate(outputs):
            pooled = global_pool(fmap) if gap else pool_to_budget(fmap, max_dims)
            feats.setdefault(level, []).append(pooled.float().cpu())
        labels += [int(s.gt_label) for s in data['data_samples']]
    return ({k: torch.cat(v).numpy() for k, v in feats.items()},
            np.asarray(labels, dtype=np.int64))
