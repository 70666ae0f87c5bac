"""The zoo driver (rotation_pred.benchmarks.zoo_evaluate, tools/zoo/evaluate.py) runs the
protocols through the same extractor and protocol functions as tools/benchmarks/evaluate.py:
the same checkpoint gives the same numbers both ways (one process or two); its SVMs run
at the block chosen on val; a stopped evaluation resumes from the extracted features."""
import dataclasses
import os
import random
import sys
import types

import pytest
import torch
from mmengine.config import Config

from conftest import FMNIST_CONFIG, REPO, run_tool
from rotation_pred.benchmarks import extraction, label_efficiency, protocols, zoo, zoo_evaluate
from rotation_pred.benchmarks.evaluate import image_sets
from rotation_pred.benchmarks.loading import build_model
from rotation_pred.benchmarks.rows import make_row, read_rows, select, update_rows
from rotation_pred.fileio import file_sha256


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """A RotationPred checkpoint of the Fashion-MNIST config, trained (so MMEngine says)
    with seed 0."""
    cfg = Config.fromfile(FMNIST_CONFIG)
    path = tmp_path_factory.mktemp('zoo') / 'epoch_1.pth'
    torch.save(dict(state_dict=build_model(cfg, seed=1).state_dict(),
                    meta=dict(epoch=1, seed=0)), path)
    return str(path)


@pytest.fixture
def rows_file(checkpoint, tmp_path, monkeypatch):
    """The zoo with its rows in tmp_path/rows.jsonl and ``checkpoint`` as every model's
    final checkpoint; small low-shot settings (300 training images)."""
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(zoo, 'ROWS', str(tmp_path / 'rows.jsonl'))
    monkeypatch.setattr(zoo, 'final_checkpoint', lambda key, seed=0: checkpoint)
    monkeypatch.setattr(zoo_evaluate, 'OPTIONS', dataclasses.replace(
        zoo_evaluate.OPTIONS, low_shot_ks=(1, 2), low_shot_samples=2))
    return str(tmp_path / 'rows.jsonl')


def zoo_args(tmp_path, split='test', seed=0, svm_levels='chosen'):
    return types.SimpleNamespace(seed=seed, split=split, svm_levels=svm_levels,
                                 cache_dir=str(tmp_path / 'cache'), test_samples=None)


def small_sets(split='test', train=300, svm=300):
    return image_sets(Config.fromfile(FMNIST_CONFIG), split, train, svm,
                      test_samples=200 if split == 'test' else None)


def values(rows):
    return {(r['protocol'], r['level'], r['setting'], r['metric']): r['value'] for r in rows}


def test_the_zoo_and_the_evaluate_command_in_two_processes_give_the_same_numbers(
        fashion_mnist_root, checkpoint, rows_file, tmp_path):
    rows = zoo_evaluate.frozen_rows('rotnet', ['linear_probe', 'knn'], zoo_args(tmp_path),
                                    small_sets())
    port = str(random.randint(20000, 40000))
    run_tool(sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', f'--master_port={port}',
             'tools/benchmarks/evaluate.py', FMNIST_CONFIG, checkpoint, '--protocols',
             'rotation_accuracy', 'linear_probe', 'knn', '--train-samples', '300',
             '--test-samples', '200', '--max-dims', '2500', '--knn-topk', '1',
             '--work-dir', str(tmp_path / 'evaluate'), '--launcher', 'pytorch')
    evaluated = read_rows(str(tmp_path / 'evaluate' / 'rows.jsonl'))
    assert len(rows) == 1 + 3 + 3 * 4  # rotation accuracy, probe per block, k-NN per k
    assert values(rows) == values(evaluated)
    shards = [n for folder in os.listdir(tmp_path / 'evaluate' / 'feature_cache')
              for n in os.listdir(tmp_path / 'evaluate' / 'feature_cache' / folder)
              if n.startswith('shard')]
    assert len(shards) == 4 * 2  # 2 image sets x 2 poolings, a shard per process
    for made in (rows, evaluated):
        assert {r['seed'] for r in made} == {0}
        assert {r['provenance']['checkpoint_sha256'] for r in made} == {
            file_sha256(checkpoint)}
    assert {r['model'] for r in rows} == {'rotnet'}
    assert rows[0]['provenance']['config'] == \
        'configs/rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'


def test_the_svms_run_at_the_block_the_probe_chose_on_val_and_a_rebuild_skips_what_is_done(
        fashion_mnist_root, checkpoint, rows_file, tmp_path, monkeypatch):
    """The SVM and low-shot rows are at the level whose probe has the best validation
    mean; each class's low-shot cost is the full SVM's cross-validated one; --skip-done
    finds the rows of the same checkpoint and no others."""
    costs, real_low_shot = [], protocols.low_shot_svm_map

    def low_shot(*args, **kwargs):
        costs.append(list(kwargs['cost']))
        return real_low_shot(*args, **kwargs)
    monkeypatch.setattr(protocols, 'low_shot_svm_map', low_shot)
    args, sets = zoo_args(tmp_path), small_sets()
    with pytest.raises(ValueError, match='no validation rows of the linear probe'):
        zoo_evaluate.frozen_rows('rotnet', ['svm'], args, sets)
    update_rows(rows_file, [
        make_row(model='rotnet', seed=seed, protocol='linear_probe', level=level,
                 setting='train=300', split='val', metric='top1', value=value + seed,
                 provenance={}) for seed in (0, 1)
        for level, value in (('block1', 80.0), ('block2', 79.0), ('block3', 80.6))])
    assert zoo_evaluate.chosen_level('rotnet', 300) == 'block3'  # 81.1 > 80.5 > 79.5
    assert not zoo_evaluate.measured('rotnet', 'svm', args, checkpoint)
    update_rows(rows_file, zoo_evaluate.frozen_rows('rotnet', ['svm', 'low_shot'], args,
                                                    sets))
    rows = read_rows(rows_file)
    assert [(r['level'], r['setting'], r['split']) for r in select(rows, protocol='svm')] \
        == [('block3', 'train=300', 'test')]
    assert {(r['level'], r['setting']) for r in select(rows, protocol='low_shot')} == {
        ('block3', 'k=1'), ('block3', 'k=2')}
    assert len(costs) == 1 and len(costs[0]) == 10  # one cross-validated cost per class
    assert zoo_evaluate.measured('rotnet', 'svm', args, checkpoint)
    assert zoo_evaluate.measured('rotnet', 'low_shot', args, checkpoint)
    assert not zoo_evaluate.measured('rotnet', 'knn', args, checkpoint)
    other = tmp_path / 'other.pth'
    other.write_bytes(b'another checkpoint')
    assert not zoo_evaluate.measured('rotnet', 'svm', args, str(other))


def test_a_stopped_evaluation_resumes_extracting_only_what_was_missing(
        fashion_mnist_root, rows_file, tmp_path, monkeypatch):
    sets = small_sets(train=64, svm=64)
    sets['test'] = image_sets(Config.fromfile(FMNIST_CONFIG), 'test', test_samples=32)['test']
    reference = zoo_evaluate.frozen_rows('rotnet', ['linear_probe'],
                                         zoo_args(tmp_path / 'fresh'), sets)
    extract, calls = extraction.extract_range, []

    def stopped_on_the_second(model, dataset, images, *args, **kwargs):
        calls.append(len(images))
        if len(calls) == 2:
            raise KeyboardInterrupt('stopped during the second extraction')
        return extract(model, dataset, images, *args, **kwargs)
    monkeypatch.setattr(extraction, 'extract_range', stopped_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        zoo_evaluate.frozen_rows('rotnet', ['linear_probe'], zoo_args(tmp_path), sets)
    calls.clear()
    assert values(zoo_evaluate.frozen_rows('rotnet', ['linear_probe'], zoo_args(tmp_path),
                                           sets)) == values(reference)
    assert calls == [32]  # the test images only: the train features came from the cache


def test_the_zoo_refuses_a_seed_its_checkpoint_contradicts(checkpoint, rows_file):
    with pytest.raises(ValueError, match=f'{checkpoint} was trained with seed 0, not '
                                         'seed 1'):
        zoo_evaluate.load('rotnet', seed=1)
    with pytest.raises(ValueError, match=f'{checkpoint} was trained with seed 0, not '
                                         'seed 1'):
        label_efficiency.rotnet_checkpoint(seed=1)
    assert label_efficiency.rotnet_checkpoint(seed=0) == checkpoint
    zoo_evaluate.load('random', seed=1)  # a random backbone is drawn with it


def test_the_zoo_models_are_data_and_say_what_each_is_evaluated_with():
    assert zoo.BASELINES == ('rotnet', 'random', 'supervised')
    assert zoo.ABLATIONS == ('rotnet', 'rot0-180', 'rot90-270', 'rot8', 'random-rot',
                             'nin4b', 'nin5b')
    assert 'per_epoch' in zoo.MODELS['rotnet'].protocols
    assert set(zoo.MODELS['random'].protocols) == set(zoo.FROZEN + zoo.HEADS) | {'fine_tune'}
    assert zoo.MODELS['nin4b'].protocols == ('linear_probe', 'nonlinear', 'conv')
    for key in zoo.TABLE3:  # the paper's heads (Table 3), on every block
        assert set(zoo.HEADS) <= set(zoo.MODELS[key].protocols), key
    assert zoo.MODELS['rotnet_long'].protocols == ('linear_probe', 'per_epoch')
    assert set(zoo.HEADS) <= set(zoo.ON_VALIDATION)
    assert not set(zoo.HEADS) & set(zoo_evaluate.DEFAULT)  # run only when named
    assert zoo.MODELS['supervised'].evaluated_config == zoo.ROTNET_CONFIG
    assert zoo.MODELS['nin5b'].evaluated_config.endswith('nin5b-w48_1xb64-steplr-4e_'
                                                         'fashion-mnist.py')
    for protocol in {p for m in zoo.MODELS.values() for p in m.protocols}:
        assert protocol in zoo_evaluate.ALL


def test_no_model_is_scored_on_validation_images_its_pretraining_saw(fashion_mnist_root,
                                                                     tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    # supervised and rotnet_long: the first 50,000 only
    for key in ('rotnet', 'random', 'supervised', 'rotnet_long'):
        assert zoo_evaluate.pretrained_on_validation(key, 10000) is None
    config = tmp_path / 'supervised-all.py'
    config.write_text(f"_base_ = '{REPO}/configs/fashion-mnist-zoo/"
                      "supervised_nin3b-w48_1xb64-steplr-2e_fashion-mnist.py'\n"
                      "train_dataloader = dict(dataset=dict(indices=None))\n")
    monkeypatch.setitem(zoo.MODELS, 'supervised', zoo.ZooModel(
        'supervised', 'Supervised, all 60k', str(config), 'supervised'))
    reason = zoo_evaluate.pretrained_on_validation('supervised', 10000)
    assert reason.startswith(f'{config}: ')
    assert 'train images 50000-59999 overlap the pretraining images' in reason
    refused = run_tool('tools/zoo/evaluate.py', '--split', 'val', '--protocols', 'svm',
                       check=False)
    assert refused.returncode == 2
    assert '--split val measures linear_probe knn nonlinear conv only' in refused.stderr
