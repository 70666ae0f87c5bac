"""The one feature extractor (rotation_pred.benchmarks.extraction): shards written whole
by each process, read back in data set order; a key covering weights, model, images,
pipeline, pooling and dtype; a stopped extraction resumes; a damaged shard is named and
extracted again, never read; progress lines with the time left."""
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import FMNIST_CONFIG, REPO
from rotation_pred.benchmarks import extraction
from rotation_pred.benchmarks.extraction import (CorruptShardError, FeatureSet, cache_key,
                                                 extract, key_parts, pool, shard_ranges)
from rotation_pred.benchmarks.loading import all_levels, build_eval_dataset, build_model
from rotation_pred.benchmarks.progress import Progress, eta


def save_checkpoint(path, seed):
    cfg = Config.fromfile(FMNIST_CONFIG)
    torch.save(dict(state_dict=build_model(cfg, seed=seed).state_dict(),
                    meta=dict(epoch=1, seed=0)), path)
    return str(path)


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp('extraction')
    return save_checkpoint(folder / 'a.pth', 1), save_checkpoint(folder / 'b.pth', 2)


def model_of(checkpoint=None, seed=0, levels=None):
    cfg = Config.fromfile(FMNIST_CONFIG)
    return build_model(cfg, checkpoint, levels or all_levels(cfg.model.backbone), seed=seed)


def fmnist_test_images(count):
    return build_eval_dataset(Config.fromfile(FMNIST_CONFIG), 'test', count)


def count_forwards(model):
    """Wrap ``model.extract_feat``; returns the list of batch sizes it is called with."""
    calls, forward = [], model.extract_feat

    def counted(inputs):
        calls.append(len(inputs))
        return forward(inputs)
    model.extract_feat = counted
    return calls


@torch.no_grad()
def direct_features(model, dataset, pooling):
    """Every level of the images of ``dataset``, one image at a time, in this process."""
    from mmengine.dataset import default_collate
    out = {}
    for i in range(len(dataset)):
        data = model.data_preprocessor(default_collate([dataset[i]]), training=False)
        for level, fmap in enumerate(model.extract_feat(data['inputs'])):
            out.setdefault(level, []).append(pool(fmap, pooling).numpy())
    return {level: np.concatenate(v) for level, v in out.items()}


def test_pooling_to_a_budget_and_global_average():
    fmap = torch.arange(2 * 8 * 6 * 6, dtype=torch.float32).reshape(2, 8, 6, 6)
    assert pool(fmap, 'gap').shape == (2, 8)
    assert torch.equal(pool(fmap, 'gap'), fmap.mean(dim=(2, 3)))
    assert pool(fmap, 'budget:72').shape == (2, 72)  # 8 x 3 x 3
    assert pool(fmap, 'budget:71').shape == (2, 32)  # 8 x 2 x 2: 3 x 3 would exceed it
    assert pool(fmap, 'budget:100000').shape == (2, 288)  # never beyond the map
    assert pool(fmap[:, :, 0, 0], 'budget:4').shape == (2, 8)  # flat features pass
    assert pool(fmap, 'none').shape == (2, 288)
    assert torch.equal(pool(fmap, 'none'), fmap.flatten(1))
    with pytest.raises(ValueError, match="pooling 'max': use 'gap', 'none', 'neck' or"):
        extraction.check_pooling('max')


def test_shards_split_each_process_share_and_tile_the_data_set():
    ranges = [shard_ranges(10, rank, 3, shard_size=2) for rank in range(3)]
    assert ranges == [[range(0, 2), range(2, 4)], [range(4, 6), range(6, 7)],
                      [range(7, 9), range(9, 10)]]
    flat = [i for per_rank in ranges for r in per_rank for i in r]
    assert flat == list(range(10))
    assert shard_ranges(1, 1, 2) == []  # a process with no image writes no shard


def test_features_equal_one_image_at_a_time_and_a_second_run_reads_the_disk(
        fashion_mnist_root, checkpoints, tmp_path):
    dataset = fmnist_test_images(12)
    model = model_of(checkpoints[0])
    calls = count_forwards(model)
    first = extract(model, dataset, str(tmp_path), checkpoints[0], pooling='budget:500',
                    batch_size=8, shard_size=5, progress=False)
    assert calls == [5, 5, 2]  # three shards: 0-4, 5-9, 10-11
    assert len(os.listdir(first.folder)) == 3 + 2  # shards, key.json, index.json
    expected = direct_features(model_of(checkpoints[0]), dataset, 'budget:500')
    assert first.levels == [0, 1, 2]
    for level in first.levels:
        assert first.level(level).shape == expected[level].shape
        assert first.level(level).dtype == np.float32
        np.testing.assert_allclose(first.level(level), expected[level], rtol=1e-5, atol=1e-5)
    assert first.labels.tolist() == [int(dataset.get_data_info(i)['gt_label'])
                                     for i in range(12)]
    assert isinstance(first.level_shards(0)[0], np.memmap)
    assert first.map_shape(1) == (48, 7, 7)  # recorded before pooling
    again = extract(model, dataset, str(tmp_path), checkpoints[0], pooling='budget:500',
                    batch_size=8, shard_size=5, progress=False)
    assert calls == [5, 5, 2]  # nothing run again
    assert np.array_equal(again.level(2), first.level(2))


def test_fp16_features_are_the_fp32_ones_rounded(fashion_mnist_root, checkpoints, tmp_path):
    dataset, model = fmnist_test_images(4), model_of(checkpoints[0])
    full = extract(model, dataset, str(tmp_path), checkpoints[0], progress=False)
    half = extract(model, dataset, str(tmp_path), checkpoints[0], dtype='float16',
                   progress=False)
    assert half.folder != full.folder
    assert half.level(1).dtype == np.float16
    assert np.array_equal(half.level(1), full.level(1).astype(np.float16))
    with pytest.raises(ValueError, match="feature dtype 'bfloat16'"):
        extract(model, dataset, str(tmp_path), checkpoints[0], dtype='bfloat16')


def test_the_key_changes_with_weights_images_pipeline_pooling_and_dtype_only(
        fashion_mnist_root, checkpoints):
    cfg = Config.fromfile(FMNIST_CONFIG)
    model, dataset = model_of(checkpoints[0]), fmnist_test_images(12)

    def key(**changed):
        args = dict(model=model, dataset=dataset, checkpoint=checkpoints[0], seed=None,
                    pooling='budget:500', dtype='float32')
        args.update(changed)
        return cache_key(key_parts(**args))
    base = key()
    assert key(model=model_of(checkpoints[0])) == base  # the same model built again
    different = dict(weights=key(checkpoint=checkpoints[1]), images=key(dataset=fmnist_test_images(13)),
                     split=key(dataset=build_eval_dataset(cfg, 'train', 12)),
                     random=key(checkpoint=None, seed=0), pooling=key(pooling='gap'),
                     dtype=key(dtype='float16'), levels=key(model=model_of(levels=(0, 1))))
    changed = Config.fromfile(FMNIST_CONFIG)
    changed.test_dataloader.dataset.pipeline.insert(
        0, dict(type='Resize', scale=(30, 30)))
    different['pipeline'] = key(dataset=build_eval_dataset(changed, 'test', 12))
    assert len(set(different.values()) | {base}) == len(different) + 1, different
    with pytest.raises(ValueError, match='randomly initialised model need its seed'):
        key(checkpoint=None)


def test_a_stopped_extraction_resumes_with_the_shards_it_had_written(
        fashion_mnist_root, checkpoints, tmp_path, monkeypatch):
    dataset, model = fmnist_test_images(9), model_of(checkpoints[0])
    write = extraction._write_shard
    written = []

    def stopped_after_two(folder, images, *args):
        if len(written) == 2:
            raise KeyboardInterrupt('stopped')
        written.append(images)
        write(folder, images, *args)
    monkeypatch.setattr(extraction, '_write_shard', stopped_after_two)
    with pytest.raises(KeyboardInterrupt):
        extract(model, dataset, str(tmp_path), checkpoints[0], shard_size=3, progress=False)
    monkeypatch.setattr(extraction, '_write_shard', write)
    calls = count_forwards(model)
    features = extract(model, dataset, str(tmp_path), checkpoints[0], shard_size=3,
                       progress=False)
    assert calls == [3]  # the third shard only
    whole = extract(model_of(checkpoints[0]), dataset, str(tmp_path / 'fresh'),
                    checkpoints[0], progress=False)
    assert np.array_equal(features.level(2), whole.level(2))


@pytest.mark.parametrize('damage', ['truncate', 'flip'])
def test_a_damaged_shard_is_named_and_extracted_again_never_read(
        fashion_mnist_root, checkpoints, tmp_path, capsys, damage):
    dataset, model = fmnist_test_images(6), model_of(checkpoints[0])
    good = extract(model, dataset, str(tmp_path), checkpoints[0], shard_size=3,
                   progress=False)
    reference = np.array(good.level(1))
    path = os.path.join(good.shards[1], 'level1.npy')
    data = open(path, 'rb').read()
    data = data[:-7] if damage == 'truncate' else data[:-4] + bytes(4)
    with open(path, 'wb') as f:
        f.write(data)
    with pytest.raises(CorruptShardError, match=path):
        FeatureSet(good.folder)
    calls = count_forwards(model)
    again = extract(model, dataset, str(tmp_path), checkpoints[0], shard_size=3)
    assert calls == [3]
    assert path in capsys.readouterr().err
    assert np.array_equal(again.level(1), reference)


def test_features_and_labels_of_different_lengths_are_refused_naming_both(
        fashion_mnist_root, checkpoints, tmp_path):
    features = extract(model_of(checkpoints[0]), fmnist_test_images(4), str(tmp_path),
                       checkpoints[0], progress=False)
    shard = features.shards[0]
    np.save(os.path.join(shard, 'labels.npy'), np.zeros(3, dtype=np.int64))
    manifest_path = os.path.join(shard, 'manifest.json')
    manifest = json.load(open(manifest_path))
    manifest['files']['labels.npy'] = extraction._file_entry(os.path.join(shard, 'labels.npy'))
    json.dump(manifest, open(manifest_path, 'w'))
    with pytest.raises(CorruptShardError) as error:
        FeatureSet(features.folder)
    message = str(error.value)
    assert 'different lengths' in message
    assert os.path.join(shard, 'labels.npy') + ' has 3 rows' in message
    assert os.path.join(shard, 'level0.npy') + ' has 4 rows' in message


TWO_PROCESSES = '''
import sys
import torch.distributed as dist
from mmengine.config import Config
import rotation_pred  # noqa: F401
from rotation_pred.benchmarks.extraction import extract
from rotation_pred.benchmarks.loading import all_levels, build_eval_dataset, build_model
dist.init_process_group('gloo')
cfg = Config.fromfile(sys.argv[1])
model = build_model(cfg, sys.argv[2], all_levels(cfg.model.backbone))
features = extract(model, build_eval_dataset(cfg, 'test', 11), sys.argv[3], sys.argv[2],
                   pooling='gap', batch_size=4, progress=False)
with open(f'{sys.argv[3]}-rank{dist.get_rank()}.txt', 'w') as f:
    f.write(f'{len(features)} images, levels {features.levels}')
dist.barrier()
dist.destroy_process_group()
'''


def test_two_processes_write_two_shards_read_back_in_data_set_order(
        fashion_mnist_root, checkpoints, tmp_path):
    script = tmp_path / 'extract_two.py'
    script.write_text(TWO_PROCESSES)
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    proc = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
                           f'--master_port={29400 + os.getpid() % 500}', str(script),
                           FMNIST_CONFIG, checkpoints[0], str(tmp_path / 'cache')],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for rank in (0, 1):  # every process returns the whole set once all shards are there
        assert (tmp_path / f'cache-rank{rank}.txt').read_text() == \
            '11 images, levels [0, 1, 2]'
    (folder, ) = os.listdir(tmp_path / 'cache')
    shards = sorted(n for n in os.listdir(tmp_path / 'cache' / folder) if n.startswith('shard'))
    assert shards == ['shard-000000000-000000006', 'shard-000000006-000000011']
    two = FeatureSet(str(tmp_path / 'cache' / folder))
    one = extract(model_of(checkpoints[0]), fmnist_test_images(11), str(tmp_path / 'one'),
                  checkpoints[0], pooling='gap', progress=False)
    assert len(one.shards) == 1
    assert np.array_equal(two.labels, one.labels)
    for level in one.levels:
        np.testing.assert_allclose(two.level(level), one.level(level), rtol=1e-5, atol=1e-6)


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
    dataset, model = fmnist_test_images(6), model_of(checkpoints[0])
    for _ in range(2):
        extract(model, dataset, str(tmp_path), checkpoints[0], batch_size=2, label='feats')
    err = capsys.readouterr().err.splitlines()
    assert [line.split(', ETA')[0] for line in err[:3]] == [
        'feats 0-5 of 6 images: 1/3 batches', 'feats 0-5 of 6 images: 2/3 batches',
        'feats 0-5 of 6 images: 3/3 batches']
    assert err[3].startswith('feats: 6 images from the cache, ')
