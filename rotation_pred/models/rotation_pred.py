"""RotationPred: learn features by predicting which rotation an image shows."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmpretrain.models.selfsup.base import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..rotations import FOUR_ROTATIONS, check_feeding, check_rotation_set, rotate_batch


@MODELS.register_module()
class RotationPred(BaseSelfSupervisor):
    """RotNet (Gidaris et al., ICLR 2018) on MMPretrain's self-supervised base.

    The data preprocessor only normalises; this class turns the batch of N images
    into its rotated samples on the device (see :func:`rotate_batch` for the layout
    and the label convention), so each image is decoded and moved once.

    Args:
        backbone, head, neck: configs of the parts; ``head.num_classes`` must equal
            ``len(rotations)``.
        rotations: the rotation set in degrees, default ``(0, 90, 180, 270)``.
        feeding: ``'all'`` (the K copies of every image in the same batch, the paper's
            choice) or ``'random'`` (one random rotation per image).
        channels_last: run the network in the channels-last (NHWC) memory format,
            default ``False``. The 4-D weights are converted once, here and after
            ``init_weights`` (which initialises in NCHW, so that a seed gives the same
            weights in both layouts; loading a checkpoint copies into the weights and
            keeps their layout), and each batch once, on the device after the data
            preprocessor:
            the rotated samples in ``loss``/``predict``, the images in
            ``extract_feat``. Values are unchanged: rotations stay exact, and
            features, scores and losses equal the NCHW model's up to fp32 rounding.
            ``extract_feat`` hands back NCHW-contiguous feature maps. Faster on CPUs
            (oneDNN) and on GPUs with mixed precision (tensor cores want NHWC).
    """

    def __init__(self, backbone: dict, head: dict, neck: Optional[dict] = None,
                 rotations: Sequence[int] = FOUR_ROTATIONS, feeding: str = 'all',
                 channels_last: bool = False, **kwargs):
        self.rotations = check_rotation_set(rotations)
        self.feeding = check_feeding(feeding)
        if not isinstance(channels_last, bool):
            raise ValueError(f'channels_last must be True or False, got {channels_last!r}')
        self.channels_last = channels_last
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
        if self.head.num_classes != len(self.rotations):
            raise ValueError(f'head.num_classes={self.head.num_classes} does not match '
                             f'rotations={self.rotations} ({len(self.rotations)} classes)')
        self._register_load_state_dict_pre_hook(self._check_checkpoint_fits)
        self._convert_weights()

    @property
    def memory_format(self) -> torch.memory_format:
        """``torch.channels_last`` or ``torch.contiguous_format``."""
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def _convert_weights(self) -> None:
        if self.channels_last:
            self.to(memory_format=torch.channels_last)  # 4-D parameters and buffers only

    def init_weights(self) -> None:
        if self.channels_last:
            # Random initialisers fill a tensor in memory order: initialise in NCHW, so
            # that a seed gives the same weights in both layouts.
            self.to(memory_format=torch.contiguous_format)
        super().init_weights()
        self._convert_weights()

    def to_memory_format(self, batch: torch.Tensor) -> torch.Tensor:
        """The batch in the model's memory format (no copy when it already is)."""
        return batch.contiguous(memory_format=self.memory_format)

    def rotated_samples(self, inputs, feeding: Optional[str] = None
                        ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The rotated samples and labels of a batch (see :func:`rotate_batch`), in the
        model's memory format. ``feeding`` defaults to the model's."""
        samples, labels = rotate_batch(_single_view(inputs), self.rotations,
                                       feeding or self.feeding)
        return self.to_memory_format(samples), labels

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        """``mode`` is ``'tensor'`` (backbone features), ``'loss'`` or ``'predict'``."""
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)

    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Backbone feature maps of the unrotated images (N, C, H, W), NCHW-contiguous
        in either memory format."""
        feats = self.backbone(self.to_memory_format(_single_view(inputs)))
        if self.channels_last:
            feats = tuple(f.contiguous() for f in feats)
        return feats

    def head_inputs(self, samples: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Rotated samples (M, C, h, w) -> the feature maps the head reads."""
        feats = self.backbone(samples)
        return self.neck(feats) if self.with_neck else feats

    def loss(self, inputs, data_samples: Optional[List[DataSample]] = None
             ) -> Dict[str, torch.Tensor]:
        """Rotate the batch, then mean cross-entropy over all rotated samples."""
        samples, labels = self.rotated_samples(inputs)
        return self.head.loss(self.head_inputs(samples), labels)

    @torch.no_grad()
    def predict(self, inputs, data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """Each image's rotation scores: ``rotation_scores[k]`` (K,) are the softmax
        scores of the copy turned by ``rotations[k]``; a (K, K) tensor per image."""
        samples, _ = self.rotated_samples(inputs, 'all')
        num_rot = len(self.rotations)
        logits = self.head(self.head_inputs(samples)).float()  # fp32 under autocast too
        scores = logits.softmax(dim=1).view(-1, num_rot, num_rot)
        data_samples = data_samples or [DataSample() for _ in range(scores.shape[0])]
        for sample, score in zip(data_samples, scores):
            sample.set_field(score, 'rotation_scores', dtype=torch.Tensor)
        return data_samples

    def _check_checkpoint_fits(self, state_dict, prefix, *args, **kwargs) -> None:
        """Refuse, with a clear error, a state dict that belongs to another model."""
        own = {prefix + k: v for k, v in self.state_dict().items()}
        shared = [k for k in own if k in state_dict]
        if not shared:
            some = ', '.join(list(state_dict)[:3]) or 'none'
            raise ValueError(
                'checkpoint does not hold RotationPred weights: none of its keys '
                f'(e.g. {some}) match this model (e.g. {next(iter(own))})')
        for key in shared:
            if state_dict[key].shape != own[key].shape:
                raise ValueError(
                    f'checkpoint does not fit this RotationPred: {key} has shape '
                    f'{tuple(state_dict[key].shape)} in the checkpoint but '
                    f'{tuple(own[key].shape)} in the model (rotations={self.rotations}); '
                    'was it trained with another backbone or rotation set?')


def _single_view(inputs: Union[torch.Tensor, List[torch.Tensor]]) -> torch.Tensor:
    """The preprocessor may hand over a list of views; RotationPred uses one."""
    if isinstance(inputs, (list, tuple)):
        if len(inputs) != 1:
            raise ValueError(f'RotationPred takes one view per image, got {len(inputs)}')
        return inputs[0]
    return inputs
