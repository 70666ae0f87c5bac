"""One linear classifier per feature level, all trained together (multi-level linear
evaluation of a frozen backbone)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..evaluation.topk import topk_hits


@MODELS.register_module()
class MultiLevelLinearHead(BaseModule):
    """BatchNorm without affine, then a linear layer, for each level's pooled features.

    The loss is the sum over levels of each level's cross-entropy (logged per level as
    ``loss_<level>``, which MMEngine adds up). ``predict`` gives every sample its scores
    per level in ``level_scores`` (``{level: (num_classes,) softmax scores}``) and, as
    ``pred_score``/``pred_label``, those of the last level.

    Args:
        in_dims: the flattened feature size of each level (the neck's output sizes).
        num_classes: number of classes.
        level_names: a name per level for logs and results; ``feat1``, ``feat2``...
            by default.
        norm_cfg: the normalisation before each classifier; the reference uses
            ``dict(type='SyncBN', momentum=0.1, affine=False)``.
        loss: the loss of each level.
    """

    def __init__(self, in_dims: Sequence[int], num_classes: int,
                 level_names: Optional[Sequence[str]] = None,
                 norm_cfg: dict = dict(type='BN1d', momentum=0.1, affine=False),
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 init_cfg: Optional[dict] = dict(type='Normal', std=0.01, layer='Linear')):
        super().__init__(init_cfg=init_cfg)
        self.in_dims = tuple(int(d) for d in in_dims)
        self.num_classes = num_classes
        self.level_names = tuple(level_names or
                                 (f'feat{i + 1}' for i in range(len(self.in_dims))))
        if len(self.level_names) != len(self.in_dims):
            raise ValueError(f'MultiLevelLinearHead: {len(self.level_names)} level_names '
                             f'for {len(self.in_dims)} in_dims')
        self.norms = nn.ModuleList(build_norm_layer(norm_cfg, d)[1] for d in self.in_dims)
        self.fcs = nn.ModuleList(nn.Linear(d, num_classes) for d in self.in_dims)
        self.loss_module = loss if isinstance(loss, nn.Module) else MODELS.build(loss)

    def forward(self, feats: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """L pooled features (N, D_l) -> L logits (N, num_classes)."""
        if len(feats) != len(self.in_dims):
            raise ValueError(f'MultiLevelLinearHead expects {len(self.in_dims)} levels '
                             f'{self.level_names}, got {len(feats)}: check '
                             'backbone.out_indices, neck.pools and head.in_dims')
        for name, dim, x in zip(self.level_names, self.in_dims, feats):
            if x.dim() != 2 or x.shape[1] != dim:
                raise ValueError(f'MultiLevelLinearHead level {name}: features of shape '
                                 f'{tuple(x.shape)}, expected (N, {dim}); the pooled size '
                                 'depends on the input size and neck.pools: fix head.in_dims')
        return tuple(fc(norm(x)) for norm, fc, x in zip(self.norms, self.fcs, feats))

    def loss(self, feats: Sequence[torch.Tensor], data_samples: List[DataSample]
             ) -> Dict[str, torch.Tensor]:
        """``loss_<level>`` (cross-entropy) and ``accuracy_<level>`` (top-1 %, logged
        only) for every level."""
        target = torch.cat([s.gt_label for s in data_samples])
        losses = {}
        for name, logits in zip(self.level_names, self(feats)):
            losses[f'loss_{name}'] = self.loss_module(logits, target,
                                                      avg_factor=logits.size(0))
            with torch.no_grad():
                hits = topk_hits(logits, target, (1, ))[1]
                losses[f'accuracy_{name}'] = hits.float().mean() * 100
        return losses

    def predict(self, feats: Sequence[torch.Tensor],
                data_samples: Optional[List[Optional[DataSample]]] = None
                ) -> List[DataSample]:
        """Softmax scores of every level for each sample (see the class docstring)."""
        scores = [logits.softmax(dim=1).detach() for logits in self(feats)]
        data_samples = data_samples or [None] * scores[0].shape[0]
        out = []
        for i, sample in enumerate(data_samples):
            sample = sample if sample is not None else DataSample()
            level_scores = {name: s[i] for name, s in zip(self.level_names, scores)}
            sample.set_pred_score(scores[-1][i]).set_pred_label(scores[-1][i].argmax())
            sample.set_field(level_scores, 'level_scores')
            out.append(sample)
        return out
