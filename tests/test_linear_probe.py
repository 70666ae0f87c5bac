"""The linear probe of tools/benchmarks/evaluate.py on Fashion-MNIST: it reads the
pretrained backbone without changing it, on the unrotated images, and scores on the test
split or on validation images held out of both pretraining and probe training."""
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config

from rotation_pred.benchmarks.extraction import extract_range, pool
from rotation_pred.benchmarks.loading import (all_levels, build_eval_dataset,
                                              build_eval_loader, build_model,
                                              rotation_accuracy, validation_indices)
from rotation_pred.benchmarks.rows import read_rows
from rotation_pred.datasets.idx_datasets import read_idx
from conftest import FMNIST_CONFIG, run_tool

EVALUATE = 'tools/benchmarks/evaluate.py'


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """A RotationPred checkpoint of the Fashion-MNIST config with BatchNorm statistics
    far from their initial values, so that a probe updating them would be seen."""
    cfg = Config.fromfile(FMNIST_CONFIG)
    model = build_model(cfg, seed=1)
    generator = torch.Generator().manual_seed(0)
    for name, buffer in model.state_dict().items():
        if name.endswith('running_mean'):
            buffer.copy_(torch.rand(buffer.shape, generator=generator) - 0.5)
        elif name.endswith('running_var'):
            buffer.copy_(torch.rand(buffer.shape, generator=generator) + 0.5)
    path = tmp_path_factory.mktemp('probe') / 'rotnet.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), path)
    return str(path)


def test_probe_features_are_the_untouched_backbone_on_the_unrotated_images(
        fashion_mnist_root, checkpoint):
    cfg = Config.fromfile(FMNIST_CONFIG)
    levels = all_levels(cfg.model.backbone)
    model = build_model(cfg, checkpoint, levels).train()  # the probe must not rely on eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    dataset = build_eval_dataset(cfg, 'test', 8)
    feats = extract_range(model.train(), dataset, range(8), 'budget:2500', 'float32',
                          batch_size=4)
    labels = [int(dataset.get_data_info(i)['gt_label']) for i in range(8)]
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), f'{key} changed'
    images = torch.from_numpy(read_idx(os.path.join(
        fashion_mnist_root, 't10k-images-idx3-ubyte.gz'))[:8].copy()).float()[:, None]
    assert labels == read_idx(os.path.join(
        fashion_mnist_root, 't10k-labels-idx1-ubyte.gz'))[:8].tolist()
    reference = build_model(cfg, checkpoint, levels)  # eval mode, a separate copy
    mean, std = cfg.model.data_preprocessor.mean[0], cfg.model.data_preprocessor.std[0]
    with torch.no_grad():
        upright = reference.backbone((images - mean) / std)
        turned = reference.backbone((images.rot90(1, (2, 3)) - mean) / std)
    assert sorted(feats) == [0, 1, 2]
    for level in levels:
        expected = pool(upright[level], 'budget:2500').numpy()
        assert np.allclose(feats[level], expected, atol=1e-5), f'block{level + 1}'
        assert not np.allclose(feats[level], pool(turned[level], 'budget:2500').numpy(),
                               atol=1e-2)


def test_validation_images_are_the_last_10000_train_images_held_out(fashion_mnist_root):
    cfg = Config.fromfile(FMNIST_CONFIG)  # pretraining: the first 12,000 train images
    val = validation_indices(cfg, probe_train_samples=50000)
    assert val == range(50000, 60000)
    loader = build_eval_loader(cfg, 'train', val[:3], batch_size=3)
    batch = next(iter(loader))
    images = read_idx(os.path.join(fashion_mnist_root, 'train-images-idx3-ubyte.gz'))
    labels = read_idx(os.path.join(fashion_mnist_root, 'train-labels-idx1-ubyte.gz'))
    assert torch.equal(batch['inputs'][:, 0],
                       torch.from_numpy(images[50000:50003].copy()))
    assert [int(s.gt_label) for s in batch['data_samples']] == labels[50000:50003].tolist()
    with pytest.raises(ValueError, match='--train-samples 50001 overlaps'):
        validation_indices(cfg, probe_train_samples=50001)
    for pretraining in (None, 50001, -10, [3, 59999]):
        cfg.train_dataloader.dataset.indices = pretraining
        with pytest.raises(ValueError, match='overlap the pretraining images'):
            validation_indices(cfg, probe_train_samples=100)


def test_the_evaluate_command_scores_the_validation_split_and_says_so(
        fashion_mnist_root, checkpoint, tmp_path):
    out = run_tool(EVALUATE, FMNIST_CONFIG, checkpoint, '--protocols', 'rotation_accuracy',
                   'linear_probe', '--split', 'val', '--train-samples', '300',
                   '--test-samples', '200', '--epochs', '5', '--max-dims', '2500',
                   '--work-dir', str(tmp_path)).stdout
    rows = read_rows(str(tmp_path / 'rows.jsonl'))
    assert {r['split'] for r in rows} == {'val'}
    assert sorted((r['protocol'], r['level'], r['setting']) for r in rows) == [
        ('linear_probe', f'block{b}', 'train=300') for b in (1, 2, 3)] + [
        ('rotation_accuracy', None, '')]
    # The scores are those of train images 50,000-50,199, not of the first test images.
    cfg = Config.fromfile(FMNIST_CONFIG)
    model = build_model(cfg, checkpoint)
    on_val = rotation_accuracy(model, build_eval_loader(cfg, 'train', range(50000, 50200)))
    on_test = rotation_accuracy(model, build_eval_loader(cfg, 'test', 200))
    (accuracy, ) = [r['value'] for r in rows if r['protocol'] == 'rotation_accuracy']
    assert accuracy == on_val != on_test
    assert ('Linear probe on 300 train / 200 val images (top-1 %; rotation accuracy on the '
            'val images)') in out
    refused = run_tool(EVALUATE, FMNIST_CONFIG, checkpoint, '--protocols', 'linear_probe',
                       '--split', 'val', '--train-samples', '50001', '--work-dir',
                       str(tmp_path), check=False)
    assert refused.returncode != 0
    assert '--train-samples 50001 overlaps the validation images' in refused.stderr
