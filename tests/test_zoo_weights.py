"""Every backbone the zoo ships (zoo/weights) goes through tools/benchmarks/evaluate.py and
gives the numbers its result rows in zoo/results/rows.jsonl record: the seed it was
trained with (``ZooModel.weights_seed``, 0 for all but rotnet_long), test split,
at the block the linear probe chose on the validation split, with the zoo's settings
(10,000 probe / k-NN training images, 2,000 SVM training images, features pooled to at
most 2,500 values). The rows were measured on whole pretraining checkpoints; the shipped
files hold their backbones only.

Tolerance: 0.05 points (5 of the 10,000 test images for a top-1 accuracy). On this
machine kind the values agree to the last printed digit; another CPU or thread count may
round the features differently."""
import os

import pytest

from conftest import REPO, run_tool
from rotation_pred.benchmarks import zoo
from rotation_pred.benchmarks.best_level import choose_levels
from rotation_pred.benchmarks.rows import read_rows, select

TOLERANCE = 0.05


def committed(key, protocol, **fields):
    rows = read_rows(f'{REPO}/{zoo.ROWS}')
    return select(rows, model=key, protocol=protocol, **fields)


#: The pretrained zoo models with test rows of their weights seed: each ships that backbone.
SHIPPED = [key for key, model in zoo.MODELS.items() if model.config is not None and
           committed(key, 'linear_probe', seed=model.weights_seed, split='test')]


def chosen_block(key):
    val = committed(key, 'linear_probe', split='val', setting='train=10000')
    return choose_levels(val, 'val')[key]


def test_every_measured_zoo_model_ships_its_weights():
    assert len(SHIPPED) == 8
    for key in SHIPPED:
        assert os.path.isfile(os.path.join(REPO, zoo.MODELS[key].weights_file)), key


@pytest.mark.parametrize('key', SHIPPED)
def test_a_shipped_backbone_gives_the_numbers_of_its_rows(fashion_mnist_root, key, tmp_path):
    model = zoo.MODELS[key]
    block = chosen_block(key)
    protocols = [p for p in ('linear_probe', 'knn', 'svm', 'low_shot') if p in model.protocols]
    run_tool('tools/benchmarks/evaluate.py', model.evaluated_config, model.weights_file,
             '--protocols', *protocols, '--levels', block, '--train-samples', '10000',
             '--svm-samples', '2000', '--max-dims', '2500', '--knn-topk', '1',
             '--name', key, '--work-dir', str(tmp_path), timeout=1800)
    measured = {(r['protocol'], r['setting'], r['metric']): r['value']
                for r in read_rows(str(tmp_path / 'rows.jsonl'))}
    expected = {(r['protocol'], r['setting'], r['metric']): r['value']
                for protocol in protocols
                for r in committed(key, protocol, seed=model.weights_seed, split='test',
                                   level=block)
                if 'epoch=' not in r['setting']}
    assert set(measured) == set(expected)
    assert len(expected) == {1: 1, 4: 1 + 4 + 1 + 8}[len(protocols)]
    for name, value in expected.items():
        assert abs(measured[name] - value) <= TOLERANCE, (name, measured[name], value)
