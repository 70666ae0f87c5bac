"""S4L-Rotation: a classifier trained on labelled images plus the rotation task on all."""
import math
from typing import Dict, List, Optional, Sequence

import torch
from mmpretrain.models import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..rotations import FOUR_ROTATIONS, check_rotation_set, rotate_batch


def check_rotation_weight(rotation_weight) -> float:
    """Return ``rotation_weight`` as a float, or raise naming the setting.

    A finite real number >= 0; 0 trains the supervised classifier alone.
    """
    valid = (isinstance(rotation_weight, (int, float))
             and not isinstance(rotation_weight, bool))
    if not valid or not math.isfinite(rotation_weight) or rotation_weight < 0:
        raise ValueError(f'rotation_weight must be a finite number >= 0 (0: supervised '
                         f'loss only), got rotation_weight={rotation_weight!r}')
    return float(rotation_weight)


def labelled_mask(data_samples: Sequence[DataSample]) -> torch.Tensor:
    """(N,) bool: which samples carry a class label. ``gt_label == -1`` or no
    ``gt_label`` marks an unlabelled image; a label must be a single class."""
    flags = []
    for sample in data_samples:
        if 'gt_label' not in sample:
            flags.append(False)
            continue
        label = sample.gt_label
        if label.numel() != 1:
            raise ValueError('S4LRotation takes one class label per image (or -1 for '
                             f'an unlabelled image), got gt_label={label.tolist()}')
        flags.append(int(label) >= 0)
    return torch.tensor(flags, dtype=torch.bool)


@MODELS.register_module()
class S4LRotation(ImageClassifier):
    """S4L-Rotation (Zhai, Oliver, Kolesnikov, Beyer, ICCV 2019) on MMPretrain's
    ``ImageClassifier``.

    One backbone feeds two heads: the classifier (``neck`` then ``head``, as an
    ``ImageClassifier``) and ``rotation_head``, which predicts which of the
    ``rotations`` an image shows. A training batch of N images (N_l labelled, the
    others unlabelled: ``gt_label == -1`` or none) gives::

        loss_cls = mean cross-entropy of the classifier over the N_l labelled images
        loss_rot = rotation_weight * mean rotation cross-entropy over the K*N rotated
                   copies of all N images (K = len(rotations))

    Two backbone passes: the N_l labelled images unrotated (the classifier), then the
    K*N rotated copies (the rotation head), made on the device by
    :func:`~rotation_pred.rotations.rotate_batch` as ``RotationPred`` makes them
    (image-major, exact ``torch.rot90`` for multiples of 90 degrees). So ``loss_cls``
    is exactly the loss of an ``ImageClassifier`` with the same parts on the labelled
    images, whatever ``rotation_weight`` (each pass normalises with its own batch
    statistics). With ``rotation_weight == 0`` the rotated copies are not made and
    ``loss_rot`` is left out of the losses; the rotation head then gets no gradient
    (distributed runs need ``find_unused_parameters=True``). A batch without labelled
    images has ``loss_cls = 0`` (still tied to the classifier's weights).

    ``predict`` is the classifier's (``pred_score``, ``pred_label``), so MMPretrain's
    ``Accuracy`` evaluates it.

    Starting from a RotNet (``RotationPred``) checkpoint: its ``backbone.*`` weights
    fit ``backbone`` and its ``head.fc.*`` weights fit a ``RotationHead`` with the same
    rotation set; load them with ``init_cfg=dict(type='Pretrained', checkpoint=CKPT,
    prefix='backbone.')`` on ``backbone`` and ``prefix='head.'`` on ``rotation_head``.
    The classifier head starts from its own initialisation.

    Args:
        backbone, neck, head: as ``ImageClassifier`` (e.g. a NIN,
            ``GlobalAveragePooling``, ``LinearClsHead``).
        rotation_head: a ``RotationHead`` config (or module) reading the neck's
            output (the backbone's when there is no neck); ``num_classes`` must equal
            ``len(rotations)``.
        rotation_weight: w >= 0, the weight of the rotation loss, default 1.0.
        rotations: the rotation set in degrees, default ``(0, 90, 180, 270)``;
            checked as ``RotationPred`` checks it.
        pretrained, data_preprocessor, init_cfg: as ``ImageClassifier`` (the data
            preprocessor defaults to ``ClsDataPreprocessor``).
        train_cfg: as ``ImageClassifier``, without batch augments (they would mix
            labelled and unlabelled images).

    Raises:
        ValueError: naming ``rotation_weight``, ``rotations``,
            ``rotation_head.num_classes`` or ``train_cfg`` when they are invalid.
    """

    def __init__(self, backbone: dict, head: dict, rotation_head: dict,
                 neck: Optional[dict] = None, rotation_weight: float = 1.0,
                 rotations: Sequence[int] = FOUR_ROTATIONS,
                 pretrained: Optional[str] = None, train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        self.rotation_weight = check_rotation_weight(rotation_weight)
        self.rotations = check_rotation_set(rotations)
        if train_cfg is not None and 'augments' in train_cfg:
            raise ValueError('S4LRotation does not take batch augments '
                             '(train_cfg.augments): they would mix the labels of '
                             'labelled images into unlabelled ones')
        super().__init__(backbone=backbone, neck=neck, head=head, pretrained=pretrained,
                         train_cfg=train_cfg, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if isinstance(rotation_head, dict):
            rotation_head = MODELS.build(rotation_head)
        self.rotation_head = rotation_head
        if self.rotation_head.num_classes != len(self.rotations):
            raise ValueError(
                f'rotation_head.num_classes={self.rotation_head.num_classes} does not '
                f'match rotations={self.rotations} ({len(self.rotations)} classes)')

    def train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        """``BaseModel.train_step``; refuses a batch collated as a list (a
        ``LabelledUnlabelled`` data set under another collate function)."""
        if isinstance(data, (list, tuple)):
            raise ValueError(
                'S4LRotation got a batch collated into a list: a LabelledUnlabelled '
                "data set needs collate_fn=dict(type='labelled_unlabelled_collate') "
                'in train_dataloader')
        return super().train_step(data, optim_wrapper)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Losses of a batch: inputs (N, C, H, W), N data samples.

        Returns:
            ``loss_cls`` (and the classifier head's accuracy if it computes one),
            and, when ``rotation_weight > 0``, ``loss_rot`` (already weighted) and
            ``rotation_accuracy`` (%, over the K*N copies).
        """
        if data_samples is None or len(data_samples) != inputs.shape[0]:
            raise ValueError('S4LRotation.loss needs one data sample per image, got '
                             f'{0 if data_samples is None else len(data_samples)} '
                             f'for {inputs.shape[0]} images')
        labelled = labelled_mask(data_samples).nonzero(as_tuple=True)[0].tolist()
        losses = {}
        if labelled:
            feats = self.extract_feat(inputs[labelled])
            cls_losses = self.head.loss(feats, [data_samples[i] for i in labelled])
            losses['loss_cls'] = cls_losses.pop('loss')
            losses.update(cls_losses)
        else:
            losses['loss_cls'] = sum(p.sum() for p in self.head.parameters()) * 0.
        if self.rotation_weight > 0:
            samples, labels = rotate_batch(inputs, self.rotations, 'all')
            rot = self.rotation_head.loss(self.extract_feat(samples), labels)
            losses['loss_rot'] = self.rotation_weight * rot['loss']
            losses['rotation_accuracy'] = rot['rotation_accuracy']
        return losses
