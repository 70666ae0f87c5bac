"""Frozen features extracted once (rotation_pred.benchmarks.feature_cache): a key covering
weights, model, images, pipeline and pooling; files written whole or not at all; a
progress line with the time left while extracting."""
import copy
import io
import json
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config

from rotation_pred.benchmarks import feature_cache
from rotation_pred.benchmarks.results import file_sha256
from rotation_pred.benchmarks.feature_cache import cache_key, cached_features, key_parts
from rotation_pred.benchmarks.features import extract_features
from rotation_pred.benchmarks.loading import all_levels, build_eval_loader, build_model
from rotation_pred.benchmarks.progress import Progress, eta
from conftest import FMNIST_CONFIG, REPO


def save_checkpoint(path, seed):
    cfg = Config.fromfile(FMNIST_CONFIG)
    torch.save(dict(state_dict=build_model(cfg, seed=seed).state_dict(),
                    meta=dict(epoch=1, seed=0)), path)
    return str(path)


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp('cache')
    return save_checkpoint(folder / 'a.pth', 1), save_checkpoint(folder / 'b.pth', 2)


def model_of(checkpoint=None, seed=0):
    cfg = Config.fromfile(FMNIST_CONFIG)
    return build_model(cfg, checkpoint, all_levels(cfg.model.backbone), seed=seed)


def count_forwards(model):
    """Wrap ``model.extract_feat``; returns the list its calls are appended to."""
    calls, forward = [], model.extract_feat

    def counted(inputs):
        calls.append(len(inputs))
        return forward(inputs)
    model.extract_feat = counted
    return calls


def test_a_second_extraction_with_the_same_key_reads_the_disk_and_runs_no_model(
        fashion_mnist_root, checkpoints, tmp_path):
    cfg = Config.fromfile(FMNIST_CONFIG)
    loader = build_eval_loader(cfg, 'test', 12, batch_size=8)
    model = model_of(checkpoints[0])
    calls = count_forwards(model)
    first = cached_features(model, loader, str(tmp_path), checkpoint=checkpoints[0],
                            max_dims=500, progress=False)
    assert calls == [8, 4]
    direct = extract_features(model_of(checkpoints[0]), loader, 500)
    assert sorted(first[0]) == [0, 1, 2]
    again = cached_features(model, loader, str(tmp_path), checkpoint=checkpoints[0],
                            max_dims=500, progress=False)
    assert calls == [8, 4]  # no forward pass the second time
    for features, labels in (first, again):
        assert np.array_equal(labels, direct[1]) and labels.dtype == np.int64
        for level, x in direct[0].items():
            assert features[level].dtype == np.float32
            assert np.array_equal(features[level], x), level
    files = sorted(os.listdir(tmp_path))
    key = cache_key(key_parts(model, loader, checkpoints[0], max_dims=500))
    assert files == [f'{key}.json', f'{key}.npz']
    sidecar = (tmp_path / f'{key}.json').read_text()
    described = json.loads(sidecar)
    assert described['weights'] == 'sha256:' + file_sha256(checkpoints[0])
    assert described['images']['data_root'] == 'fashion-mnist'
    assert described['images']['split'] == 'test' and described['images']['indices'] == 12
    assert described['shapes']['level0'] == list(direct[0][0].shape)
    assert REPO not in sidecar and fashion_mnist_root not in sidecar


def test_the_key_changes_with_weights_images_pipeline_and_pooling_only(
        fashion_mnist_root, checkpoints):
    cfg = Config.fromfile(FMNIST_CONFIG)
    model = model_of(checkpoints[0])
    loader = build_eval_loader(cfg, 'test', 12)

    def key(model=model, loader=loader, checkpoint=checkpoints[0], seed=None,
            max_dims=500, gap=False):
        return cache_key(key_parts(model, loader, checkpoint, seed, max_dims, gap))
    base = key()
    assert key(loader=build_eval_loader(cfg, 'test', 12, batch_size=5)) == base
    assert key(seed=3) == base  # the seed only names a random initialisation
    assert key(gap=True, max_dims=500) == key(gap=True, max_dims=100)
    different = {
        'other weights': key(checkpoint=checkpoints[1]),
        'random seed 0': key(model=model_of(seed=0), checkpoint=None, seed=0),
        'random seed 1': key(model=model_of(seed=1), checkpoint=None, seed=1),
        'more images': key(loader=build_eval_loader(cfg, 'test', 13)),
        'listed images': key(loader=build_eval_loader(cfg, 'test', [0, 1, 2])),
        'other listed images': key(loader=build_eval_loader(cfg, 'test', [0, 1, 3])),
        'train split': key(loader=build_eval_loader(cfg, 'train', 12)),
        'pooling': key(max_dims=100),
        'global pooling': key(gap=True),
    }
    changed = copy.deepcopy(cfg)
    changed.test_dataloader.dataset.pipeline = [dict(type='PackInputs',
                                                     meta_keys=('sample_idx', ))]
    different['pipeline'] = key(loader=build_eval_loader(changed, 'test', 12))
    levels = build_model(cfg, checkpoints[0], (0, 1))
    different['levels'] = key(model=levels)
    assert len(set(different.values()) | {base}) == len(different) + 1, different
    with pytest.raises(ValueError, match='a randomly initialised model needs its seed'):
        key(checkpoint=None)


def test_a_write_killed_half_way_leaves_no_cache_file(fashion_mnist_root, checkpoints,
                                                     tmp_path, monkeypatch):
    cfg = Config.fromfile(FMNIST_CONFIG)
    loader = build_eval_loader(cfg, 'test', 4)
    model = model_of(checkpoints[0])
    savez = np.savez

    def killed(file, **arrays):
        file.write(b'PK\x03\x04 half a zip')
        raise KeyboardInterrupt('killed while writing')
    monkeypatch.setattr(feature_cache.np, 'savez', killed)
    with pytest.raises(KeyboardInterrupt):
        cached_features(model, loader, str(tmp_path), checkpoint=checkpoints[0],
                        progress=False)
    assert not [f for f in os.listdir(tmp_path) if not f.endswith('.json')]
    monkeypatch.setattr(feature_cache.np, 'savez', savez)
    calls = count_forwards(model)
    cached_features(model, loader, str(tmp_path), checkpoint=checkpoints[0], progress=False)
    assert calls == [4]  # extracted again: nothing half-written was taken for features
    assert len([f for f in os.listdir(tmp_path) if f.endswith('.npz')]) == 1


def test_a_damaged_cache_file_is_named_not_used(fashion_mnist_root, checkpoints, tmp_path):
    cfg = Config.fromfile(FMNIST_CONFIG)
    loader = build_eval_loader(cfg, 'test', 4)
    model = model_of(checkpoints[0])
    cached_features(model, loader, str(tmp_path), checkpoint=checkpoints[0], progress=False)
    (npz, ) = [f for f in os.listdir(tmp_path) if f.endswith('.npz')]
    (tmp_path / npz).write_bytes(b'not a zip')
    with pytest.raises(ValueError, match=f'{tmp_path / npz}: not a readable feature cache '
                                         'file .* delete it'):
        cached_features(model, loader, str(tmp_path), checkpoint=checkpoints[0],
                        progress=False)


def test_progress_lines_say_batches_done_and_time_left():
    ticks = iter([100.0, 120.0, 140.0])  # start, after batch 2, after batch 4
    stream = io.StringIO()
    seen = list(Progress(['a', 'b', 'c', 'd'], every=2, stream=stream,
                         clock=lambda: next(ticks)))
    assert seen == ['a', 'b', 'c', 'd']
    assert stream.getvalue().splitlines() == [
        'extracting features: 2/4 batches, ETA 0:00:20',
        'extracting features: 4/4 batches, ETA 0:00:00']
    assert eta(65.0, 120, 313) == '0:01:45'  # 193 batches left at 65/120 s each
    assert Progress(range(35)).every == 3
    assert Progress(range(35)).start == 0  # the wrapped iterable's attributes


def test_svm_fits_show_progress_with_time_left(capsys):
    """Hundreds of SVM fits: a generator of results with its total, counted in fits."""
    ticks = iter([0.0, 30.0])
    stream = io.StringIO()
    done = list(Progress((x for x in range(3)), '[svm] fits', every=3, stream=stream,
                         clock=lambda: next(ticks), unit='fits', total=3))
    assert done == [0, 1, 2]
    assert stream.getvalue() == '[svm] fits: 3/3 fits, ETA 0:00:00\n'
    from rotation_pred.benchmarks.svm import one_vs_rest_targets, svm_map
    x = np.eye(3, dtype=np.float32).repeat(6, axis=0) + 0.01
    t = one_vs_rest_targets(np.arange(3).repeat(6), 3)
    svm_map(x, t, x, t, costs=(1.0, 10.0), n_jobs=1)
    lines = capsys.readouterr().err.splitlines()
    assert '[svm] 2 costs x 3 classes, 3-fold cross-validation: 6/6 fits, ETA 0:00:00' in lines


def test_extracting_shows_progress_and_a_cache_hit_says_so(fashion_mnist_root, checkpoints,
                                                           tmp_path, capsys):
    cfg = Config.fromfile(FMNIST_CONFIG)
    loader = build_eval_loader(cfg, 'test', 6, batch_size=2)
    model = model_of(checkpoints[0])
    for _ in range(2):
        cached_features(model, loader, str(tmp_path), checkpoint=checkpoints[0],
                        label='features of 6 images')
    err = capsys.readouterr().err.splitlines()
    assert [line.split(', ETA')[0] for line in err[:3]] == [
        'features of 6 images: 1/3 batches', 'features of 6 images: 2/3 batches',
        'features of 6 images: 3/3 batches']
    assert err[3].startswith('features of 6 images: loaded from the cache, ')
