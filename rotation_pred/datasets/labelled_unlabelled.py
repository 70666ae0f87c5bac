"""Labelled and unlabelled images in every batch, for semi-supervised training (S4L).

:class:`LabelledUnlabelled` pairs a labelled data set with an unlabelled one. Item
``i`` is a list of ``1 + u`` packed samples (``u = unlabelled_per_labelled``):

* ``labelled[i % L]``, with its class label;
* ``unlabelled[(i * u + j) % U]`` for ``j = 0 .. u-1``, with ``gt_label = -1``
  (the unlabelled data set's own labels, if it has any, are overwritten).

Its length is ``max(L, ceil(U / u))``, so one epoch visits every unlabelled image at
least once (exactly once when ``U`` is a multiple of ``u``) and every labelled image
at least once, the labelled set cycling as often as needed. An item depends on its
index only: no random draws and no state across epochs, so the same sampler seed gives
the same batches, and a run resumed at any iteration sees the batches it would have
seen. The sampler's shuffle decides which items share a batch.

Items are lists, so the dataloader needs :func:`labelled_unlabelled_collate`
(``collate_fn=dict(type='labelled_unlabelled_collate')``): a batch of B items becomes
one batch of ``B * (1 + u)`` samples, the B labelled samples first, then the
``B * u`` unlabelled ones, stacked as ``default_collate`` stacks them.
"""
import math
from typing import List, Sequence, Union

from mmengine.dataset import default_collate
from mmengine.registry import FUNCTIONS
from mmpretrain.registry import DATASETS
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset, Subset

#: The value of ``unlabelled`` that means "the images of the labelled set's underlying
#: data set that the labelled subset leaves out".
REST = 'rest'
#: ``gt_label`` of an unlabelled sample.
UNLABELLED = -1


def _build(dataset):
    return DATASETS.build(dataset) if isinstance(dataset, dict) else dataset


def _rest_of(labelled) -> Subset:
    """The images of ``labelled.dataset`` whose indices are not in ``labelled.indices``."""
    base = getattr(labelled, 'dataset', None)
    indices = getattr(labelled, 'indices', None)
    if base is None or indices is None:
        raise ValueError(
            f"unlabelled='{REST}' needs a labelled subset of a larger data set (one with "
            f'`dataset` and `indices`, e.g. ClassBalancedSubset); got '
            f'{type(labelled).__name__}: give `unlabelled` a data set config instead')
    chosen = {int(i) for i in indices}
    return Subset(base, [i for i in range(len(base)) if i not in chosen])


@DATASETS.register_module()
class LabelledUnlabelled(Dataset):
    """One labelled and ``unlabelled_per_labelled`` unlabelled samples per item.

    See the module docstring for the layout, the length and the collate function.

    Args:
        labelled: the labelled data set (a config or a built data set), e.g. a
            ``ClassBalancedSubset`` of ``FashionMNISTIdx``. Its items are packed
            samples (``dict(inputs=..., data_samples=DataSample)``, ``PackInputs``).
        unlabelled: the unlabelled data set: a config or a built data set (e.g.
            ``ImageFolderUnlabeled``, or another split of the labelled data set), or
            ``'rest'``: the images of ``labelled.dataset`` that ``labelled.indices``
            leaves out (``labelled`` must then be such a subset). Its items go through
            its own pipeline, which must give samples of the labelled ones' shape.
        unlabelled_per_labelled: unlabelled samples per item, an int >= 1.

    Raises:
        ValueError: naming ``unlabelled`` when it is missing or empty, naming
            ``labelled`` when that is empty, naming ``unlabelled_per_labelled`` when it
            is not an int >= 1.
    """

    def __init__(self, labelled, unlabelled=None, unlabelled_per_labelled: int = 1):
        if unlabelled is None or (isinstance(unlabelled, str) and unlabelled != REST):
            raise ValueError(
                'LabelledUnlabelled needs an unlabelled data set: set `unlabelled` to a '
                f"data set config or to '{REST}' (the images the labelled subset leaves "
                f'out), got unlabelled={unlabelled!r}')
        if (isinstance(unlabelled_per_labelled, bool)
                or not isinstance(unlabelled_per_labelled, int)
                or unlabelled_per_labelled < 1):
            raise ValueError('unlabelled_per_labelled must be an int >= 1, got '
                             f'{unlabelled_per_labelled!r}')
        self.labelled = _build(labelled)
        if len(self.labelled) == 0:
            raise ValueError('LabelledUnlabelled: the `labelled` data set is empty')
        self.unlabelled = _rest_of(self.labelled) if unlabelled == REST \
            else _build(unlabelled)
        if len(self.unlabelled) == 0:
            raise ValueError('LabelledUnlabelled: the `unlabelled` data set is empty '
                             f'(unlabelled={unlabelled!r})')
        self.unlabelled_per_labelled = unlabelled_per_labelled

    @property
    def metainfo(self) -> dict:
        """The labelled data set's meta information (classes)."""
        return getattr(self.labelled, 'metainfo', {})

    def __len__(self) -> int:
        per_item = self.unlabelled_per_labelled
        return max(len(self.labelled), math.ceil(len(self.unlabelled) / per_item))

    def item_indices(self, index: int):
        """``(labelled index, [unlabelled indices])`` of item ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(f'LabelledUnlabelled index {index} out of range '
                             f'[0, {len(self)})')
        per_item = self.unlabelled_per_labelled
        num_unlabelled = len(self.unlabelled)
        return (index % len(self.labelled),
                [(index * per_item + j) % num_unlabelled for j in range(per_item)])

    def __getitem__(self, index: int) -> List[dict]:
        """``[labelled sample, unlabelled sample x u]``, each a packed sample dict;
        the unlabelled ones have ``gt_label == -1``."""
        labelled_index, unlabelled_indices = self.item_indices(index)
        samples = [self.labelled[labelled_index]]
        for i in unlabelled_indices:
            sample = self.unlabelled[i]
            if not isinstance(sample, dict):
                raise ValueError('LabelledUnlabelled: unlabelled items must be packed '
                                 'sample dicts (end the pipeline with PackInputs), got '
                                 f'{type(sample).__name__}')
            data_sample = sample.get('data_samples')
            data_sample = DataSample() if data_sample is None else data_sample.clone()
            data_sample.set_gt_label(UNLABELLED)
            samples.append(dict(sample, data_samples=data_sample))
        return samples


@FUNCTIONS.register_module()
def labelled_unlabelled_collate(data_batch: Sequence[Union[dict, List[dict]]]):
    """Collate :class:`LabelledUnlabelled` items: B lists of ``1 + u`` samples -> one
    batch of ``B * (1 + u)`` samples: the first sample of each list (the labelled
    ones) first, then the others in item order; then ``default_collate`` (inputs
    stacked to (B*(1+u), C, H, W), data samples in a list). Plain sample dicts count
    as lists of one."""
    items = [item if isinstance(item, (list, tuple)) else [item] for item in data_batch]
    flat = [item[0] for item in items] + [s for item in items for s in item[1:]]
    return default_collate(flat)
