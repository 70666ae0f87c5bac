"""The zoo's tables are generated from result files, which name checkpoints relative to the
repository; the figures tool draws from a checkpoint, for the NIN and for ResNet-50."""
import hashlib
import os
import re
import subprocess

import cv2
import numpy as np
import pytest
import torch
import yaml
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import rotation_pred  # noqa: F401
from rotation_pred.analysis import attention_map, filter_grid
from rotation_pred.benchmarks import zoo
from conftest import REPO, run_tool

README = """# zoo
<!-- zoo:main -->
<!-- /zoo:main -->
<!-- zoo:headline -->
<!-- /zoo:headline -->
<!-- zoo:table3_gap -->
<!-- /zoo:table3_gap -->
"""
ZOO_PAGE = """# the tables
<!-- zoo:registry -->
<!-- /zoo:registry -->
<!-- zoo:baselines -->
STALE TABLE
<!-- /zoo:baselines -->
<!-- zoo:svm -->
<!-- /zoo:svm -->
<!-- zoo:knn -->
<!-- /zoo:knn -->
<!-- zoo:semisup -->
<!-- /zoo:semisup -->
<!-- zoo:ablations -->
<!-- /zoo:ablations -->
<!-- zoo:epochs -->
<!-- /zoo:epochs -->
<!-- zoo:table3 -->
<!-- /zoo:table3 -->
<!-- zoo:table3_blocks -->
<!-- /zoo:table3_blocks -->
<!-- zoo:epochs_long -->
<!-- /zoo:epochs_long -->
<!-- zoo:label_efficiency -->
<!-- /zoo:label_efficiency -->
<!-- zoo:label_efficiency_val -->
<!-- /zoo:label_efficiency_val -->
"""


def probe_rows(key, means, split, seeds=(0, 1, 2), setting='train=10000',
               protocol='linear_probe', metric='top1'):
    """Rows of ``key``: for each level its mean plus -1, 0, +1 over three seeds."""
    from rotation_pred.benchmarks.rows import make_row
    return [make_row(model=key, seed=seed, protocol=protocol, level=level, setting=setting,
                     split=split, metric=metric, value=value + (seed - 1),
                     provenance={'checkpoint': None})
            for level, value in means.items() for seed in seeds]


def zoo_rows():
    from rotation_pred.benchmarks.rows import make_row
    rows = []
    for key, val, test in (
            ('random', {'block1': 80.0, 'block2': 79.0}, {'block1': 80.0, 'block2': 78.0}),
            ('supervised', {'block1': 85.0, 'block2': 91.0}, {'block1': 85.0, 'block2': 90.0}),
            ('rotnet', {'block1': 87.0, 'block2': 86.0}, {'block1': 84.0, 'block2': 86.25})):
        rows += probe_rows(key, val, 'val') + probe_rows(key, test, 'test')
    rows += probe_rows('rotnet', {'block1': 70.0, 'block2': 75.0}, 'val', setting='k=20',
                       protocol='knn')
    rows += [r for k in (10, 20, 100, 200) for r in probe_rows(
        'rotnet', {'block1': 80.0 + k / 10, 'block2': 99.0}, 'test', setting=f'k={k}',
        protocol='knn')]
    rows += [make_row(model='rotnet', seed=s, protocol='fine_tune', level=None,
                      setting=f'labels={p}%', split='test', metric='top1',
                      value=v + s - 1, provenance={}) for p, v in (('1', 70.0), ('10', 80.5))
             for s in (0, 1, 2)]
    rows += [make_row(model='rotnet', seed=s, protocol='rotation_accuracy', level=None,
                      setting='', split='test', metric='top1', value=97.5, provenance={})
             for s in (0, 1, 2)]
    return rows


def test_every_zoo_table_is_drawn_from_rows_over_seeds_with_levels_chosen_on_val(tmp_path):
    from rotation_pred.benchmarks.rows import select, write_rows
    results = tmp_path / 'zoo' / 'results'
    results.mkdir(parents=True)
    write_rows(str(results / 'rows.jsonl'), zoo_rows())
    readme, page = tmp_path / 'README.md', tmp_path / 'model_zoo.md'
    readme.write_text(README)
    page.write_text(ZOO_PAGE)
    pages = ('--pages', str(readme), str(page))
    tool = f'{REPO}/tools/zoo/make_tables.py'
    # The model index lists the models whose weights ship: here RotNet's alone.
    weights = tmp_path / zoo.MODELS['rotnet'].weights_file
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b'backbone')
    run_tool(tool, *pages, '--results', str(results))
    headline = re.sub(' +', ' ', readme.read_text())
    text = re.sub(' +', ' ', page.read_text())  # table cells without their padding
    assert "STALE TABLE" not in text
    # The headline (README) and the baselines (the zoo page): the same val-chosen blocks.
    assert '| RotNet, 4 rotations (ours) | block1 | 84.00 ± 1.00 (3) |' in headline
    assert headline.count('closes **40.0%** of the gap') == 1
    # RotNet: block1 is best on val (87 > 86) although block2 is best on test: block1 it is.
    assert ('| RotNet, 4 rotations (ours) | 97.50 ± 0.00 (3) | 84.00 ± 1.00 (3) | '
            '86.25 ± 1.00 (3) | block1 | 84.00 ± 1.00 (3) |') in text
    assert '| Random init | — | 80.00 ± 1.00 (3) | 78.00 ± 1.00 (3) | block1 |' in text
    assert 'closes **40.0%** of the gap' in text  # (84 - 80) / (90 - 80), val-chosen blocks
    # k-NN: the block with the best k=20 on val (block2, 75 > 70), read at every k on test.
    assert '| RotNet, 4 rotations (ours) | block2 | 99.00 ± 1.00 (3) | 99.00 ± 1.00 (3) |' in text
    assert '| RotNet, 4 rotations (ours) | 70.00 ± 1.00 (3) | 80.50 ± 1.00 (3) |' in text
    meta = yaml.safe_load((tmp_path / 'zoo' / 'rotation-pred' / 'metafile.yml').read_text())
    (rotnet, ) = meta['Models']
    assert rotnet['Results'][0] == {'Task': 'Linear Probe', 'Dataset': 'Fashion-MNIST',
                                    'Metrics': {'Top 1 Accuracy': 84.0, 'Block': 'block1',
                                                'Seeds': 3}}
    assert rotnet['Weights'] == zoo.MODELS['rotnet'].weights_file
    assert rotnet['Weights sha256'] == hashlib.sha256(b'backbone').hexdigest()
    baselines = yaml.safe_load((tmp_path / 'zoo' / 'baselines' / 'metafile.yml').read_text())
    assert baselines['Models'] == []  # the supervised rows have no weights file here
    assert yaml.safe_load((tmp_path / 'model-index.yml').read_text()) == {'Import': [
        'zoo/rotation-pred/metafile.yml', 'zoo/baselines/metafile.yml']}
    assert run_tool(tool, *pages, '--results', str(results), '--check').returncode == 0
    changed = zoo_rows()
    select(changed, model='rotnet', split='test', level='block1')[0]['value'] += 3
    write_rows(str(results / 'rows.jsonl'), changed)
    stale = run_tool(tool, *pages, '--results', str(results), '--check', check=False)
    assert stale.returncode != 0 and 'out of date' in stale.stderr


def test_the_long_pretraining_has_its_own_table_over_epochs():
    """rotnet_long's probe per epoch (tools/zoo/evaluate.py --models rotnet_long
    --protocols per_epoch) is drawn in its own table, apart from RotNet's; without rows
    it is not measured yet."""
    from rotation_pred.benchmarks.zoo_tables import sections
    assert 'rotnet_long' in zoo.EXTRA and 'rotnet_long' not in zoo.ABLATIONS
    rows = [r for epoch in (1, 20) for r in probe_rows(
        'rotnet_long', {'block1': 85.0 + epoch / 10, 'block2': 86.0}, 'test',
        setting=f'train=10000, epoch={epoch}')]
    assert sections([])['epochs_long'] == 'Not measured yet.'
    tables = {name: re.sub(' +', ' ', text) for name, text in sections(rows).items()}
    assert '| 1 | — | 85.10 ± 1.00 (3) | 86.00 ± 1.00 (3) |' in tables['epochs_long']
    assert '| 20 | — | 87.00 ± 1.00 (3) | 86.00 ± 1.00 (3) |' in tables['epochs_long']
    assert 'rotnet_long' not in tables['epochs'] and '85.10' not in tables['epochs']
    assert 'Gap closed' not in tables['epochs_long']  # until the final checkpoint's val rows


def test_the_long_pretraining_is_set_beside_the_zoo_rotnet_at_blocks_chosen_on_val():
    """With probe rows of rotnet_long's final checkpoint (one seed here), its block is
    chosen on val and its test number set beside the zoo RotNet's with the share of the
    random -> supervised gap each closes."""
    from rotation_pred.benchmarks.zoo_tables import sections
    rows = zoo_rows() + probe_rows('rotnet_long', {'block1': 86.0, 'block2': 88.0}, 'val',
                                   seeds=(0, ))
    rows += probe_rows('rotnet_long', {'block1': 89.0, 'block2': 88.0}, 'test', seeds=(0, ))
    rows += probe_rows('rotnet_long', {'block1': 85.0}, 'test', seeds=(0, ),
                       setting='train=10000, epoch=1')
    table = re.sub(' +', ' ', sections(rows)['epochs_long'])
    # RotNet: block1 (val 87 > 86), test 84 -> (84 - 80) / (90 - 80) = 40%.
    assert '| RotNet, 4 rotations (ours) | block1 | 84.00 ± 1.00 (3) | 40.0% |' in table
    # rotnet_long, seed 0 (mean - 1): block2 on val although block1 is better on test.
    assert '| RotNet, 20 epochs on 50k images | block2 | 87.00 | 70.0% |' in table


def test_the_long_pretraining_driver_runs_each_step_once_and_the_headline_first(tmp_path):
    """tools/zoo/long_pretraining.sh, its interpreter replaced by one that records what it
    is asked to run: per seed the pretraining of the 50k config with that seed, the final
    checkpoint's probe on val then test, then the probe per epoch, all skipping finished
    rows; then the tables. Run again, it pretrains nothing (the run is marked done)."""
    calls = tmp_path / 'calls'
    python = tmp_path / 'python'
    python.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n'
                      '[ "$1" = tools/train.py ] && mkdir -p "$4"\nexit 0\n')
    python.chmod(0o755)
    env = dict(os.environ, PYTHON=str(python), ZOO_DIR=str(tmp_path / 'zoo'), SEEDS='1 2')
    driver = ['bash', f'{REPO}/tools/zoo/long_pretraining.sh']
    subprocess.run(driver, env=env, check=True, capture_output=True, timeout=60)
    config = zoo.MODELS['rotnet_long'].config
    expected = []
    for seed in (1, 2):
        expected += [
            f'tools/train.py {config} --work-dir {tmp_path}/zoo/seed{seed}/'
            f'{os.path.basename(config)[:-3]} --cfg-options '
            f'default_hooks.checkpoint.max_keep_ckpts=-1 randomness.seed={seed}',
            f'tools/zoo/evaluate.py --models rotnet_long --protocols linear_probe --split val '
            f'--seed {seed} --skip-done',
            f'tools/zoo/evaluate.py --models rotnet_long --protocols linear_probe --split test '
            f'--seed {seed} --skip-done',
            f'tools/zoo/evaluate.py --models rotnet_long --protocols per_epoch --seed {seed} '
            f'--skip-done']
    assert calls.read_text().splitlines() == expected + ['tools/zoo/make_tables.py']
    calls.unlink()
    subprocess.run(driver, env=env, check=True, capture_output=True, timeout=60)
    again = calls.read_text().splitlines()
    assert again == [c for c in expected if 'train.py' not in c] + ['tools/zoo/make_tables.py']


def section(name):
    return f'<!-- zoo:{name} -->\n<!-- /zoo:{name} -->\n'


@pytest.mark.parametrize('change, message', [
    (lambda readme, page: (readme.replace(section('headline'), ''), page),
     'no page holds <!-- zoo:headline -->'),
    (lambda readme, page: (readme, page + section('main')), '<!-- zoo:main --> is held 2 times'),
    (lambda readme, page: (readme + section('mian'), page),
     "sections of no known table: ['mian']"),
    (lambda readme, page: (readme + '<!-- zoo:svm -->\n', page.replace(section('svm'), '')),
     'a section is not closed'),
])
def test_a_table_in_no_page_in_two_places_unknown_or_unclosed_is_an_error(
        tmp_path, change, message):
    """Each table has exactly one place among the pages, and every marker names one."""
    readme, page = tmp_path / 'README.md', tmp_path / 'model_zoo.md'
    text, zoo_text = change(README, ZOO_PAGE)
    readme.write_text(text)
    page.write_text(zoo_text)
    for check in ((), ('--check', )):
        out = run_tool(f'{REPO}/tools/zoo/make_tables.py', '--pages', str(readme), str(page),
                       '--results', str(tmp_path / 'zoo' / 'results'), *check, check=False)
        assert out.returncode != 0 and message in out.stderr, out.stderr
    assert readme.read_text() == text and page.read_text() == zoo_text  # nothing written


def index_models():
    """``(collections, models)`` of every metafile model-index.yml imports."""
    with open(f'{REPO}/model-index.yml') as f:
        imports = yaml.safe_load(f)['Import']
    collections, models = [], []
    for path in imports:
        with open(os.path.join(REPO, path)) as f:
            meta = yaml.safe_load(f)
        collections += meta['Collections']
        models += meta['Models']
    return collections, models


def test_the_model_index_follows_openmmlab_and_names_files_that_exist():
    """model-index.yml imports one metafile per collection; every collection has a
    README and a paper, every model is in exactly one collection and has the metadata
    mim and MMPretrain read; every Config and README path exists."""
    collections, models = index_models()
    names = [c['Name'] for c in collections]
    assert sorted(names) == ['Baselines', 'RotationPred']
    for collection in collections:
        assert os.path.isfile(os.path.join(REPO, collection['README']))
        assert collection['Paper']['URL'].startswith('https://arxiv.org/')
    assert models, 'the model index lists no model'
    assert len({m['Name'] for m in models}) == len(models)
    for model in models:
        assert names.count(model['In Collection']) == 1, model['Name']
        assert {'Epochs', 'Batch Size', 'Training Data', 'Architecture'} <= set(model['Metadata'])
        assert all({'Task', 'Dataset', 'Metrics'} <= set(r) for r in model['Results'])
        assert os.path.isfile(os.path.join(REPO, model['Config'])), model['Config']


def test_the_committed_rows_name_repository_files_and_the_shipped_weights_load():
    """Every committed row names its config and checkpoint relative to the repository: a
    zoo run under work_dirs/zoo/, or a shipped backbone with the sha256 the row records;
    every weight file the model index lists exists with its sha256 and loads every
    tensor of its config's backbone."""
    from mmengine.config import Config
    from rotation_pred.benchmarks.checkpoint import load_backbone
    from rotation_pred.benchmarks.rows import read_rows
    from rotation_pred.fileio import file_sha256
    shipped_sha = {}
    for row in read_rows(f'{REPO}/zoo/results/rows.jsonl'):
        source = row['provenance']
        assert os.path.isfile(os.path.join(REPO, source['config'])), source['config']
        checkpoint = source['checkpoint']
        if checkpoint is not None and checkpoint.startswith('zoo/weights/'):
            if checkpoint not in shipped_sha:
                shipped_sha[checkpoint] = file_sha256(os.path.join(REPO, checkpoint))
            assert source['checkpoint_sha256'] == shipped_sha[checkpoint], checkpoint
        else:
            assert checkpoint is None or checkpoint.startswith('work_dirs/zoo/'), checkpoint
    shipped = [m for m in index_models()[1] if 'Weights' in m]
    assert shipped, 'the model index lists no shipped weights'
    init_default_scope('mmpretrain')
    for model in shipped:
        weights = os.path.join(REPO, model['Weights'])
        assert file_sha256(weights) == model['Weights sha256'], weights
        backbone = MODELS.build(Config.fromfile(os.path.join(REPO, model['Config'])).model.backbone)
        report = load_backbone(backbone, weights)
        total = len(backbone.state_dict())
        assert f'loaded {total} of {total} backbone tensors' in report, report


def test_the_fine_tuning_backbone_is_checked_against_its_config_before_training(tmp_path):
    """tools/train.py loads the backbone through init_cfg=Pretrained, which only logs keys
    that do not match; the zoo loads it strictly into the config's backbone first."""
    from _benchmark_data import rotation_pred_checkpoint
    from rotation_pred.benchmarks.checkpoint import extract_backbone
    from rotation_pred.benchmarks import zoo_evaluate as evaluate
    config = f'{REPO}/configs/fashion-mnist-zoo/finetune_nin3b-w48_1xb64_fashion-mnist-1pct.py'
    for width in (48, 24):
        whole = rotation_pred_checkpoint(
            tmp_path / f'nin-w{width}.pth',
            dict(type='NetworkInNetwork', num_blocks=3, width=width, in_channels=1), width)
        backbone = str(tmp_path / f'backbone-w{width}.pth')
        extract_backbone(whole, backbone)
        if width == 48:
            evaluate.check_backbone_fits_config(config, backbone)
        else:
            with pytest.raises(ValueError, match=f'{backbone} does not fit the backbone '
                                                 'NetworkInNetwork .* shape mismatches'):
                evaluate.check_backbone_fits_config(config, backbone)


def test_attention_is_the_channel_sum_of_powered_activations_scaled_per_image():
    fmap = torch.zeros(2, 2, 3, 3)
    fmap[0, 0, 1, 2] = 2.0
    fmap[0, 1, 1, 2] = -1.0
    fmap[0, 1, 0, 0] = 1.0
    fmap[1] = 10 * fmap[0].flip(-1) + 1  # another image, on another scale
    expected = torch.zeros(2, 3, 3)  # image 0: energies 5 at (1, 2), 1 at (0, 0), 0 elsewhere
    expected[0, 1, 2], expected[0, 0, 0] = 1.0, 0.2
    energy = (10 * fmap[0].flip(-1) + 1).pow(2).sum(0)  # image 1: |a|^2 summed by hand
    expected[1] = (energy - energy.min()) / (energy.max() - energy.min())
    assert torch.allclose(attention_map(fmap, p=2), expected, atol=1e-6)
    # |activation|^3: the sign of -1 must not cancel (image 0: 9 at (1, 2), 1 at (0, 0)).
    assert torch.allclose(attention_map(fmap[:1], p=3)[0, 0, 0], torch.tensor(1 / 9))


def test_filter_grid_places_every_filter_in_its_cell_on_background():
    """Filter i fills cell (i // columns, i % columns) with its own weights scaled to
    [0, 1]; the 1-pixel gaps and the two unused cells are background (1)."""
    torch.manual_seed(0)
    weight = torch.randn(10, 3, 5, 5) * torch.arange(1, 11).view(10, 1, 1, 1)
    grid = filter_grid(weight, columns=4)
    assert grid.shape == (3 * 6 - 1, 4 * 6 - 1, 3)
    background = torch.ones(grid.shape[:2], dtype=torch.bool)
    for i in range(10):
        w = weight[i].permute(1, 2, 0)
        own = (w - w.min()) / (w.max() - w.min())
        row, col = 6 * (i // 4), 6 * (i % 4)
        assert torch.allclose(grid[row:row + 5, col:col + 5], own, atol=1e-6), f'filter {i}'
        background[row:row + 5, col:col + 5] = False
    assert (grid[background] == 1).all()
    assert background[12:, 12:].all()  # cells 10 and 11 hold no filter
    # Grayscale input: the mean over the input channels, one channel.
    gray = filter_grid(weight[:3, :2], columns=2)
    assert gray.shape == (2 * 6 - 1, 2 * 6 - 1, 1)
    w = weight[2, :2].mean(0)
    assert torch.allclose(gray[6:11, 0:5, 0], (w - w.min()) / (w.max() - w.min()), atol=1e-6)


def test_figures_of_a_resnet50_rotnet(tmp_path):
    init_default_scope('mmpretrain')
    model = MODELS.build(dict(
        type='RotationPred', backbone=dict(type='ResNet', depth=50, out_indices=(3, )),
        head=dict(type='RotationHead', in_channels=2048)))
    checkpoint = tmp_path / 'r50.pth'
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    (tmp_path / 'val' / 'n01').mkdir(parents=True)
    (tmp_path / 'meta').mkdir()
    for i in range(2):
        cv2.imwrite(str(tmp_path / 'val' / 'n01' / f'{i}.jpg'),
                    np.random.default_rng(i).integers(0, 256, (80, 96, 3), np.uint8))
    (tmp_path / 'meta' / 'val.txt').write_text('n01/0.jpg 0\nn01/1.jpg 0\n')
    out = tmp_path / 'figures'
    run_tool(f'{REPO}/tools/analysis_tools/draw_figures.py',
             f'{REPO}/configs/rotation-pred_resnet50_8xb16-steplr-70e_in1k.py', str(checkpoint),
             '--out-dir', str(out), '--num-images', '1', '--cfg-options',
             f'test_dataloader.dataset.data_root={tmp_path}',
             'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
             'model.backbone.norm_cfg.type=BN')
    for name in ('attention.png', 'filters.png'):
        image = cv2.imread(str(out / name))
        assert image is not None and image.std() > 0, name


def test_each_seed_of_a_zoo_model_has_its_own_pretraining_run(tmp_path, monkeypatch):
    monkeypatch.setattr(zoo, 'WORK_ROOT', str(tmp_path))
    name = 'rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist'
    assert zoo.work_dir('rotnet') == os.path.join(str(tmp_path), name)
    assert zoo.work_dir('rotnet', 2) == os.path.join(str(tmp_path), 'seed2', name)
    for seed in (0, 2):
        os.makedirs(zoo.work_dir('rotnet', seed))
        with open(os.path.join(zoo.work_dir('rotnet', seed), 'last_checkpoint'), 'w') as f:
            f.write(f'seed{seed}.pth\n')
    assert zoo.final_checkpoint('rotnet', 2) == 'seed2.pth'
    assert zoo.final_checkpoint('rotnet') == 'seed0.pth'
    with pytest.raises(FileNotFoundError, match='SEEDS=1 bash tools/zoo/pretrain_all.sh'):
        zoo.final_checkpoint('rotnet', 1)


def test_the_zoo_tables_of_the_docs_and_metafile_are_current():
    """Every zoo table in README.md and docs/*.md and the model index (model-index.yml
    and the metafiles) are what tools/zoo/make_tables.py draws from the committed result
    rows."""
    out = run_tool(f'{REPO}/tools/zoo/make_tables.py', '--check', check=False)
    assert out.returncode == 0, out.stderr + out.stdout


def test_the_registry_table_lists_every_registered_class_and_fails_when_one_is_missing():
    """The docs' registry table is drawn from the registries: a class registered by the
    package appears in it with its file, so --check fails until the docs have it."""
    from mmpretrain.registry import MODELS
    from rotation_pred.registry_table import markdown, registered
    names = {name for _, name, _, _ in registered()}
    assert {'RotationPred', 'RotationHead', 'S4LRotation', 'OnlineKNNHook',
            'MixedPrecisionOptimWrapper', 'labelled_unlabelled_collate'} <= names
    from rotation_pred.benchmarks.zoo_tables import default_pages
    readme = ''.join(open(page).read() for page in default_pages())
    assert markdown() in readme

    class PlantedHead(torch.nn.Module):
        """A head registered only by this test."""
    PlantedHead.__module__ = 'rotation_pred.models.heads'
    MODELS.register_module(module=PlantedHead)
    try:
        planted = markdown()
        assert '| MODELS | `PlantedHead` | `rotation_pred/models/heads.py` |' in planted
        assert planted not in readme
    finally:
        MODELS._module_dict.pop('PlantedHead')
