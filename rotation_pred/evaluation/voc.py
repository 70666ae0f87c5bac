"""PASCAL VOC2007 image classification, read from the dataset's own layout.

``data_root`` is the ``VOC2007`` folder (``VOCdevkit/VOC2007``) holding::

    JPEGImages/<id>.jpg
    Annotations/<id>.xml
    ImageSets/Main/{trainval,test}.txt           one image id per line
    ImageSets/Main/<class>_{trainval,test}.txt   "<id> 1|-1|0" per line

Targets are (N, 20) int8 arrays: 1 the class is present, -1 absent, 0 present only as
"difficult" objects (ignored when training SVMs and when computing AP, as in the
standard VOC07 classification protocol). They come from the per-class lists; when
those are missing they are derived from the XML annotations in the same way.
"""
import os.path as osp
import xml.etree.ElementTree as ET
from typing import List, Tuple

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat',
               'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person',
               'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')


def _lines(path: str) -> List[str]:
    if not osp.isfile(path):
        raise FileNotFoundError(f'VOC2007 file not found: {path}')
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def read_image_ids(data_root: str, split: str) -> List[str]:
    """Image ids of ``ImageSets/Main/<split>.txt``."""
    return _lines(osp.join(data_root, 'ImageSets', 'Main', f'{split}.txt'))


def targets_from_class_lists(data_root: str, split: str, image_ids: List[str]) -> np.ndarray:
    """(N, 20) targets from ``ImageSets/Main/<class>_<split>.txt``."""
    row = {image_id: i for i, image_id in enumerate(image_ids)}
    targets = np.zeros((len(image_ids), len(VOC_CLASSES)), dtype=np.int8)
    seen = np.zeros_like(targets, dtype=bool)
    for c, name in enumerate(VOC_CLASSES):
        path = osp.join(data_root, 'ImageSets', 'Main', f'{name}_{split}.txt')
        for line in _lines(path):
            parts = line.split()
            if len(parts) != 2 or parts[1] not in ('1', '-1', '0') or parts[0] not in row:
                raise ValueError(f'{path}: bad line {line!r} (expected "<id> 1|-1|0" for an '
                                 f'id of {split}.txt)')
            targets[row[parts[0]], c] = int(parts[1])
            seen[row[parts[0]], c] = True
    missing = np.argwhere(~seen)
    if len(missing):
        i, c = missing[0]
        raise ValueError(f'{VOC_CLASSES[c]}_{split}.txt has no line for image '
                         f'{image_ids[i]} ({len(missing)} entries missing)')
    return targets


def targets_from_annotations(data_root: str, image_ids: List[str]) -> np.ndarray:
    """(N, 20) targets from ``Annotations/<id>.xml``: 1 if the image has a non-difficult
    object of the class, 0 if it has only difficult ones, -1 otherwise."""
    targets = -np.ones((len(image_ids), len(VOC_CLASSES)), dtype=np.int8)
    for i, image_id in enumerate(image_ids):
        path = osp.join(data_root, 'Annotations', f'{image_id}.xml')
        try:
            objects = ET.parse(path).getroot().findall('object')
        except (OSError, ET.ParseError) as e:
            raise ValueError(f'cannot read VOC annotation {path}: {e}') from e
        for obj in objects:
            name = obj.findtext('name', '').strip()
            if name not in VOC_CLASSES:
                raise ValueError(f'{path}: unknown class {name!r}')
            c = VOC_CLASSES.index(name)
            difficult = obj.findtext('difficult', '0').strip() == '1'
            targets[i, c] = max(targets[i, c], 0 if difficult else 1)
    return targets


def read_voc07(data_root: str, split: str) -> Tuple[List[str], np.ndarray]:
    """Image ids and (N, 20) targets of a split (``trainval`` or ``test``)."""
    image_ids = read_image_ids(data_root, split)
    lists = [osp.join(data_root, 'ImageSets', 'Main', f'{c}_{split}.txt') for c in VOC_CLASSES]
    if all(osp.isfile(p) for p in lists):
        return image_ids, targets_from_class_lists(data_root, split, image_ids)
    return image_ids, targets_from_annotations(data_root, image_ids)


@DATASETS.register_module()
class VOC07Classification(BaseDataset):
    """The images of a VOC2007 split with their class targets (see the module docstring).

    Samples carry ``img_path`` and ``voc_targets`` (20,) in {1, -1, 0}; there is no
    ``gt_label``, so this data set feeds feature extraction, not a classifier.
    :meth:`get_gt_labels` returns the (N, 20) targets.
    """
    METAINFO = {'classes': VOC_CLASSES}

    def __init__(self, data_root: str, split: str = 'trainval', **kwargs):
        self.split = split
        super().__init__(ann_file='', data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        image_ids, targets = read_voc07(self.data_root, self.split)
        return [dict(img_path=osp.join(self.data_root, 'JPEGImages', f'{image_id}.jpg'),
                     image_id=image_id, voc_targets=t) for image_id, t in zip(image_ids, targets)]

    def get_gt_labels(self) -> np.ndarray:
        """(N, 20) int8 targets in {1, -1, 0}."""
        return np.stack([self.get_data_info(i)['voc_targets'] for i in range(len(self))])
