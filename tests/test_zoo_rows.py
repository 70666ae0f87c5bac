"""The zoo driver (tools/zoo/evaluate.py) writes its numbers as result rows, extracts
through the feature cache (an interrupted evaluation resumes from it), and its linear
probe agrees with the probe launcher's to the last digit."""
import os
import types

import pytest
import torch
from mmengine.config import Config

from rotation_pred.benchmarks import feature_cache
from rotation_pred.benchmarks.results import file_sha256
from rotation_pred.benchmarks.loading import build_eval_loader, build_model
from rotation_pred.benchmarks.results import read_rows, select
from conftest import FMNIST_CONFIG, REPO, load_tool, run_tool

PROBE = 'tools/benchmarks/classification/linear_probe.py'


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
def zoo(checkpoint, tmp_path, monkeypatch):
    """tools/zoo/evaluate.py with its results in tmp_path/results and ``checkpoint`` as
    every model's final checkpoint."""
    evaluate = load_tool('tools/zoo/evaluate.py', 'zoo_evaluate')
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(evaluate.zoo, 'RESULTS', str(tmp_path / 'results'))
    monkeypatch.setattr(evaluate.zoo, 'final_checkpoint', lambda key, seed=0: checkpoint)
    return evaluate


def zoo_args(tmp_path, split='test', seed=0):
    return types.SimpleNamespace(max_dims=2500, seed=seed, split=split,
                                 cache_dir=str(tmp_path / 'cache'))


def values(rows):
    return {(r['protocol'], r['level'], r['setting'], r['split']): r['value'] for r in rows}


def test_the_zoo_and_the_probe_launcher_give_identical_block_accuracies(
        fashion_mnist_root, checkpoint, zoo, tmp_path):
    cfg = Config.fromfile(FMNIST_CONFIG)
    loaders = (build_eval_loader(cfg, 'train', 300), build_eval_loader(cfg, 'test', 200),
               build_eval_loader(cfg, 'train', 100))
    zoo.frozen_protocols('rotnet', ['probe'], zoo_args(tmp_path), loaders)
    zoo_rows = read_rows(str(tmp_path / 'results' / 'rows.jsonl'))
    run_tool(PROBE, FMNIST_CONFIG, checkpoint, '--train-samples', '300', '--test-samples',
             '200', '--no-random-baseline', '--work-dir', str(tmp_path / 'probe'))
    probe_rows = read_rows(str(tmp_path / 'probe' / 'rows.jsonl'))
    assert values(zoo_rows) == values(probe_rows)
    assert sorted(values(zoo_rows)) == [
        ('linear_probe', f'block{b}', 'train=300', 'test') for b in (1, 2, 3)] + [
        ('rotation_accuracy', None, '', 'test')]
    for rows in (zoo_rows, probe_rows):
        assert {r['seed'] for r in rows} == {0}
        assert {r['provenance']['checkpoint_sha256'] for r in rows} == {
            file_sha256(checkpoint)}
    assert {r['model'] for r in zoo_rows} == {'rotnet'}
    assert zoo_rows[0]['provenance']['config'] == \
        'configs/rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'
    # The validation split adds its own rows and leaves the test rows as they are.
    val = build_eval_loader(cfg, 'train', range(50000, 50200))
    zoo.frozen_protocols('rotnet', ['probe'], zoo_args(tmp_path, 'val'),
                         (loaders[0], val, loaders[2]))
    both = read_rows(str(tmp_path / 'results' / 'rows.jsonl'))
    assert len(select(both, split='val')) == len(select(both, split='test')) == 4
    assert select(both, split='test') == zoo_rows


def test_the_svms_run_at_the_block_the_probe_chose_on_val_and_a_rebuild_skips_what_is_done(
        fashion_mnist_root, checkpoint, zoo, tmp_path, monkeypatch):
    """--svm-levels chosen: the SVM and low-shot rows are at the level whose probe has the
    best validation mean; each class's low-shot cost is the full SVM's cross-validated
    one; --skip-done finds the rows of the same checkpoint and no others."""
    from rotation_pred.benchmarks.results import make_row, update_rows
    costs, real_low_shot = [], zoo.low_shot_svm_map

    def low_shot(*args, cost, **kwargs):  # k = 1, 2 only: 300 training images
        costs.append(list(cost))
        return real_low_shot(*args, cost=cost, ks=(1, 2), num_samples=2)
    monkeypatch.setattr(zoo, 'low_shot_svm_map', low_shot)
    cfg = Config.fromfile(FMNIST_CONFIG)
    loaders = (build_eval_loader(cfg, 'train', 300), build_eval_loader(cfg, 'test', 200),
               build_eval_loader(cfg, 'train', 300))
    args = zoo_args(tmp_path)
    args.svm_levels = 'chosen'
    with pytest.raises(ValueError, match='no validation rows of the linear probe'):
        zoo.frozen_protocols('rotnet', ['svm'], args, loaders)
    update_rows(str(tmp_path / 'results' / 'rows.jsonl'), [
        make_row(model='rotnet', seed=seed, protocol='linear_probe', level=level,
                 setting='train=300', split='val', metric='top1', value=value + seed,
                 provenance={}) for seed in (0, 1)
        for level, value in (('block1', 80.0), ('block2', 79.0), ('block3', 80.6))])
    assert zoo.chosen_level('rotnet', 300) == 'block3'  # 81.1 > 80.5 > 79.5
    assert not zoo.measured('rotnet', 'svm', args, checkpoint)
    zoo.frozen_protocols('rotnet', ['svm', 'lowshot'], args, loaders)
    rows = read_rows(str(tmp_path / 'results' / 'rows.jsonl'))
    svm = select(rows, protocol='svm')
    assert [(r['level'], r['setting'], r['split']) for r in svm] == [
        ('block3', 'train=300', 'test')]
    assert {(r['level'], r['setting']) for r in select(rows, protocol='low_shot')} == {
        ('block3', 'k=1'), ('block3', 'k=2')}
    assert len(costs) == 1 and len(costs[0]) == 10  # one cross-validated cost per class
    assert zoo.measured('rotnet', 'svm', args, checkpoint)
    assert zoo.measured('rotnet', 'lowshot', args, checkpoint)
    assert not zoo.measured('rotnet', 'knn', args, checkpoint)
    other = tmp_path / 'other.pth'
    other.write_bytes(b'another checkpoint')
    assert not zoo.measured('rotnet', 'svm', args, str(other))


def test_an_interrupted_evaluation_resumes_extracting_only_what_was_missing(
        fashion_mnist_root, zoo, tmp_path, monkeypatch):
    cfg = Config.fromfile(FMNIST_CONFIG)
    train, test = build_eval_loader(cfg, 'train', 64), build_eval_loader(cfg, 'test', 32)
    extract = feature_cache.extract_features
    loaded, model = zoo.load_model('rotnet')
    checkpoint = zoo.model_checkpoint('rotnet')
    reference = zoo.probe(zoo.features_of(loaded, model, checkpoint,
                                             zoo_args(tmp_path / 'fresh')), train, test)
    calls = []

    def killed_on_the_second(model, loader, *args):
        calls.append(len(loader.dataset))
        if len(calls) == 2:
            raise KeyboardInterrupt('stopped during the second extraction')
        return extract(model, loader, *args)
    monkeypatch.setattr(feature_cache, 'extract_features', killed_on_the_second)
    features = zoo.features_of(loaded, model, checkpoint, zoo_args(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        zoo.probe(features, train, test)
    cache = tmp_path / 'cache'
    assert len([f for f in os.listdir(cache) if f.endswith('.npz')]) == 1
    assert not [f for f in os.listdir(cache) if '.tmp' in f]
    calls.clear()
    monkeypatch.setattr(feature_cache, 'extract_features',
                        lambda model, loader, *args: calls.append(len(loader.dataset)) or
                        extract(model, loader, *args))
    assert zoo.probe(features, train, test) == reference
    assert calls == [32]  # the test images only: the train features came from the cache


def test_the_zoo_refuses_a_seed_its_checkpoint_contradicts(checkpoint, zoo):
    with pytest.raises(ValueError, match=f'{checkpoint} was trained with seed 0, not '
                                         '--seed 1'):
        zoo.load_model('rotnet', seed=1)
    zoo.load_model('random', seed=1)  # a random backbone is drawn with it


def test_no_model_is_scored_on_validation_images_its_pretraining_saw(fashion_mnist_root,
                                                                     zoo, tmp_path,
                                                                     monkeypatch):
    for key in ('rotnet', 'random', 'supervised'):  # supervised: the first 50,000 only
        assert zoo.pretrained_on_validation(key, 10000) is None
    config = tmp_path / 'supervised-all.py'
    config.write_text(f"_base_ = '{REPO}/configs/fashion-mnist-zoo/"
                      "supervised_nin3b-w48_1xb64-steplr-2e_fashion-mnist.py'\n"
                      "train_dataloader = dict(dataset=dict(indices=None))\n")
    monkeypatch.setitem(zoo.zoo.MODELS, 'supervised',
                        ('Supervised, all 60k', str(config), 'supervised'))
    reason = zoo.pretrained_on_validation('supervised', 10000)
    assert reason.startswith(f'{config}: ')
    assert 'train images 50000-59999 overlap the pretraining images' in reason
    refused = run_tool('tools/zoo/evaluate.py', '--split', 'val', '--protocols', 'svm',
                       check=False)
    assert refused.returncode == 2
    assert '--split val measures probe knn only' in refused.stderr
