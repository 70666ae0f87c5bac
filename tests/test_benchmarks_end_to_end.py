"""Every classification benchmark launcher, end to end, on tiny data sets in their real
on-disk formats, with a ResNet-18 RotationPred checkpoint: the launcher runs the protocol
through torchrun, writes its numbers as result rows and prints its table."""
import json
import os
import random
import re
import shutil

import numpy as np
import pytest
import torch

from _benchmark_data import (R18_32PX, resnet18_checkpoint, small_config, write_knn_lookalikes,
                             write_meta_layout, write_voc2007)
from conftest import run_tool
from rotation_pred.benchmarks.extraction import FeatureSet
from rotation_pred.benchmarks.provenance import repo_path
from rotation_pred.benchmarks.rows import read_rows, select
from rotation_pred.fileio import file_sha256

LAUNCHERS = 'tools/benchmarks/classification'


def launch(script, config, checkpoint, gpus, work_dir, env=None):
    env = dict(env or {}, WORK_DIR=str(work_dir), PORT=str(random.randint(20000, 40000)))
    proc = run_tool('bash', f'{LAUNCHERS}/{script}', config, checkpoint, str(gpus), env=env)
    return re.sub(' +', ' ', proc.stdout)  # tables with single spaces


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('benchmarks')
    imagenet = write_meta_layout(str(root / 'imagenet'), {'train': 8, 'val': 3})
    places = write_meta_layout(str(root / 'places205'), {'train': 6, 'val': 3}, ext='.jpg')
    inat = write_meta_layout(str(root / 'inat'), {'train_val2018': 6}, ext='.jpg')
    with open(os.path.join(inat, 'meta', 'train_val2018.txt')) as f:
        lines = f.read().splitlines()
    for split, part in (('train', lines[0::2]), ('val', lines[1::2])):
        with open(os.path.join(inat, 'meta', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(part) + '\n')
    voc, _ = write_voc2007(str(root / 'VOCdevkit' / 'VOC2007'))
    lookalikes = write_knn_lookalikes(str(root / 'lookalikes'))
    checkpoint = resnet18_checkpoint(root / 'rotnet_r18.pth')
    return dict(root=root, imagenet=imagenet, places205=places, inat=inat, voc=voc,
                lookalikes=lookalikes, checkpoint=checkpoint)


def assert_backbone_is_the_checkpoints(work_dir, trained_checkpoint, pretrained):
    """Every backbone tensor of the trained model (weights and BatchNorm statistics) is
    bit-equal to the converted backbone and to the pretrained RotationPred checkpoint."""
    converted = torch.load(work_dir / 'backbone.pth', weights_only=True)['state_dict']
    source = torch.load(pretrained, weights_only=True)['state_dict']
    trained = torch.load(work_dir / trained_checkpoint, weights_only=True)['state_dict']
    trained = {k[len('backbone.'):]: v for k, v in trained.items() if k.startswith('backbone.')}
    source = {k[len('backbone.'):]: v for k, v in source.items() if k.startswith('backbone.')}
    assert set(trained) == set(converted) == set(source)
    assert any(k.endswith('running_var') for k in trained)
    for key, value in converted.items():
        assert torch.equal(trained[key], value), f'backbone.{key} changed in training'
        assert torch.equal(source[key], value), f'backbone.{key} differs from the checkpoint'


def assert_rows_match(rows, expected, config, backbone, **fields):
    """``rows`` are exactly the numbers ``expected`` (``{(level, setting, metric): value}``,
    from the launcher's JSON), equal to the last bit, with the fields ``fields`` (protocol,
    split...), no seed (the test checkpoint records none), and the provenance of
    ``config`` (repository-relative, or marked outside it) and of the backbone file."""
    assert {(r['level'], r['setting'], r['metric']): r['value'] for r in rows} == expected
    assert len(rows) == len(expected)
    for row in rows:
        assert {f: row[f] for f in fields} == fields
        assert row['seed'] is None
        assert row['provenance']['config'] == repo_path(config)
        assert row['provenance']['checkpoint_sha256'] == file_sha256(backbone)


MULTI_LEVEL = {
    'imagenet': 'imagenet/resnet50_multi-level-linear_8xb32-steplr-90e_in1k.py',
    'places205': 'places205/resnet50_multi-level-linear_8xb32-steplr-28e_places205.py',
}
INAT = 'inaturalist2018/resnet50_multi-level-linear_8xb32-steplr-84e_inat18.py'


@pytest.mark.parametrize('dataset', list(MULTI_LEVEL))
def test_multi_level_linear(data, tmp_path, dataset):
    config = small_config(str(tmp_path), MULTI_LEVEL[dataset], data[dataset], R18_32PX)
    out = launch('dist_train_linear.sh', config, data['checkpoint'], 1, tmp_path / 'work')
    result = json.loads((tmp_path / 'work' / 'results.json').read_text())
    assert result['protocol'] == 'multi-level linear'
    assert list(result['levels']) == ['feat1', 'feat2', 'feat3', 'feat4', 'feat5']
    assert all(0 <= v['top1'] <= 100 for v in result['levels'].values())
    rows = read_rows(tmp_path / 'work' / 'rows.jsonl')
    expected = {(level, '', metric): value for level, values in result['levels'].items()
                for metric, value in values.items()}
    assert {m for _, _, m in expected} == {'top1', 'top5'}
    assert_rows_match(rows, expected, config, tmp_path / 'work' / 'backbone.pth',
                      model='rotnet_r18', protocol='multi_level_linear', split='test')
    assert '| Model | Metric | feat1 | feat2 | feat3 | feat4 | feat5 |' in out
    assert_backbone_is_the_checkpoints(tmp_path / 'work', 'epoch_1.pth', data['checkpoint'])


def test_inaturalist_config_reads_its_layout(data, tmp_path):
    """Same protocol as above (not run again): 8142 classes, its schedule, its lists."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS
    cfg = Config.fromfile(small_config(str(tmp_path), INAT, data['inat'], R18_32PX))
    assert cfg.model.head.num_classes == 8142 and cfg.data_preprocessor.num_classes == 8142
    assert cfg.param_scheduler[0].milestones == [24, 48, 72]
    init_default_scope('mmpretrain')
    train = DATASETS.build(cfg.train_dataloader.dataset)
    val = DATASETS.build(cfg.test_dataloader.dataset)
    assert (len(train), len(val)) == (12, 12)
    assert train[0]['inputs'].shape == (3, 32, 32)
    assert train.get_data_info(1)['img_path'].startswith(
        os.path.join(data['inat'], 'train_val2018'))


def test_pooled_linear_classifies_the_colours_on_a_backbone_left_bit_equal(data, tmp_path):
    """The four classes are four colours: a linear classifier on the frozen, pooled
    features gets all 12 val images right (chance is 25%; the untrained classifier gets
    25%), and the 40 training steps leave every backbone tensor as the checkpoint has it
    (with frozen_stages=3, layer4 would train)."""
    model = dict(backbone=dict(depth=18), head=dict(in_channels=512, num_classes=4, topk=(1, )))
    extra = ("test_evaluator = dict(type='Accuracy', topk=(1, ))\n"
             "optim_wrapper = dict(optimizer=dict(lr=0.1))\n"
             "randomness = dict(seed=0)\n")
    config = small_config(str(tmp_path), 'imagenet/resnet50_linear_8xb32-steplr-100e_in1k.py',
                          data['imagenet'], model, extra=extra, epochs=10)
    out = launch('dist_train_linear.sh', config, data['checkpoint'], 1, tmp_path / 'work')
    result = json.loads((tmp_path / 'work' / 'results.json').read_text())
    assert result['protocol'] == 'linear'
    assert (result['train_samples'], result['test_samples']) == (32, 12)
    assert result['top1'] == 100.0
    rows = read_rows(tmp_path / 'work' / 'rows.jsonl')  # top-1 only: topk=(1, )
    assert_rows_match(rows, {(None, '', 'top1'): 100.0}, config,
                      tmp_path / 'work' / 'backbone.pth', protocol='linear_probe')
    assert '| Model | top1 |' in out
    assert '| rotnet_r18 | 100.00 |' in out
    assert_backbone_is_the_checkpoints(tmp_path / 'work', 'epoch_10.pth', data['checkpoint'])


def rows_of(rows, **fields):
    """``{(level, setting, metric): value}`` of the rows with ``fields``."""
    return {(r['level'], r['setting'], r['metric']): r['value']
            for r in select(rows, **fields)}


def test_voc07_svm_and_low_shot_with_two_extraction_processes(data, tmp_path):
    """dist_test_svm.sh: tools/benchmarks/evaluate.py --protocols svm low_shot with two
    processes, each writing its shard; the SVMs read them back in data set order."""
    no_head = {k: v for k, v in R18_32PX.items() if k != 'head'}
    config = small_config(str(tmp_path), 'voc07/resnet50_svm_voc07.py', data['voc'],
                          no_head, train=False)
    out = launch('svm_voc07/dist_test_svm.sh', config, data['checkpoint'], 2,
                 tmp_path / 'work', env=dict(SVM_ARGS='--levels feat1,feat5 --low-shot-k 1,2 '
                                                      '--low-shot-samples 2 --costs 0.1,1 '
                                                      '--n-jobs 2'))
    cache = tmp_path / 'work' / 'feature_cache'
    sets = {}
    for folder in os.listdir(cache):
        features = FeatureSet(str(cache / folder))
        assert len(features.shards) == 2  # one per process
        sets[len(features)] = features
    train, test = sets[80], sets[40]
    for name, level, dim in (('feat1', 0, 4096), ('feat5', 4, 512)):
        assert train.level(level).shape == (80, dim) and test.level(level).shape == (40, dim)
    assert train.labels.shape == (80, 20) and (train.labels == 0).any()
    rows = read_rows(tmp_path / 'work' / 'rows.jsonl')
    svm = rows_of(rows, protocol='svm')
    assert set(svm) == {('feat1', 'train=80', 'mAP'), ('feat5', 'train=80', 'mAP')}
    assert all(0 <= v <= 100 for v in svm.values())
    assert set(rows_of(rows, protocol='low_shot')) == {
        (level, f'k={k}', 'mAP') for level in ('feat1', 'feat5') for k in (1, 2)}
    assert_rows_match(rows, {**svm, **rows_of(rows, protocol='low_shot')}, config,
                      data['checkpoint'], model='rotnet_r18', split='test')
    assert '| Model | Level | Metric | train=80 |' in out
    assert '| Model | Level | Metric | k=1 | k=2 |' in out
    assert f'| rotnet_r18 | feat5 | mAP | {svm["feat5", "train=80", "mAP"]:.2f} |' in out
    # Written by two processes, read in data set order: row i is image i.
    first = features_of_first_images(config, data['checkpoint'])
    assert np.allclose(train.level(4)[:3], first, atol=1e-4)


def features_of_first_images(config, checkpoint):
    """feat5 features of the first 3 trainval images, computed in this process."""
    from mmengine.config import Config
    from mmengine.dataset import default_collate
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS, MODELS
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(config)
    model_cfg = cfg.model
    model_cfg.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(model_cfg).eval()
    weights = torch.load(checkpoint, weights_only=True)['state_dict']
    model.backbone.load_state_dict({k[len('backbone.'):]: v for k, v in weights.items()
                                    if k.startswith('backbone.')})
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = model.data_preprocessor(default_collate([dataset[i] for i in range(3)]))
    with torch.no_grad():
        return model.extract_feat(batch['inputs'])[-1].numpy()


def test_knn_accuracy_through_the_launcher_is_the_known_answer(data, tmp_path):
    """dist_test_knn.sh with 2 processes. Every val image has a byte-identical copy of
    its class in train, then 8 look-alikes of another class (tests/_benchmark_data.py):
    k=1 and k=2 follow the copy (100%), from k=3 the look-alikes outvote it (0%)."""
    config = small_config(str(tmp_path), 'imagenet/resnet50_knn_in1k.py', data['lookalikes'],
                          dict(backbone=dict(depth=18)), train=False)
    out = launch('knn/dist_test_knn.sh', config, data['checkpoint'], 2, tmp_path / 'work',
                 env=dict(KNN_ARGS='--knn-k 1,2,3,9'))
    rows = read_rows(tmp_path / 'work' / 'rows.jsonl')
    top1 = {setting: v for (level, setting, metric), v in rows_of(rows).items()
            if metric == 'top1'}
    assert top1 == {'k=1': 100.0, 'k=2': 100.0, 'k=3': 0.0, 'k=9': 0.0}
    expected = rows_of(rows)
    assert len(expected) == 8  # 4 k x top-1, top-5
    assert {level for level, _, _ in expected} == {'feat5'}
    assert_rows_match(rows, expected, config, data['checkpoint'], model='rotnet_r18',
                      protocol='knn', split='test')
    assert '| Model | Level | Metric | k=1 | k=2 | k=3 | k=9 |' in out
    assert '| rotnet_r18 | feat5 | top1 | 100.00 | 100.00 | 0.00 | 0.00 |' in out
    sets = [FeatureSet(str(tmp_path / 'work' / 'feature_cache' / f))
            for f in os.listdir(tmp_path / 'work' / 'feature_cache')]
    assert sorted(len(s) for s in sets) == [4, 36]  # val and train, extracted once each
    assert [len(s.shards) for s in sets] == [2, 2]  # a shard per process


def test_semi_supervised_subsets_and_grid(data, tmp_path):
    root = shutil.copytree(data['imagenet'], tmp_path / 'imagenet')
    run_tool('tools/benchmarks/classification/semi_supervised/make_subsets.py', str(root),
             '--fractions', '0.01,0.1')
    subset = (root / 'meta' / 'train_1percent.txt').read_text().splitlines()
    assert len(subset) == 4 and len({line.split()[1] for line in subset}) == 4
    assert (root / 'meta' / 'train_10percent.txt').exists()
    config = small_config(
        str(tmp_path), 'imagenet/imagenet_1percent/resnet50_finetune_4xb64-steplr-20e_in1k-1pct.py',
        str(root), dict(backbone=dict(depth=18), head=dict(in_channels=512)))
    out = launch('semi_supervised/dist_train_semi.sh', config, data['checkpoint'], 1,
                 tmp_path / 'work', env=dict(LRS='0.01 0.1', HEAD_LR_MULTS='10'))
    grid = json.loads((tmp_path / 'work' / 'grid.json').read_text())
    assert [(r['lr'], r['head_lr_mult']) for r in grid['runs']] == [(0.01, 10.0), (0.1, 10.0)]
    assert grid['train_samples'] == 4
    assert '| Model | lr | head lr mult | Top-1 | Top-5 |' in out
