"""Evaluate the Fashion-MNIST zoo and write its numbers as result rows.

    python tools/zoo/evaluate.py [--models rotnet random ...] \
        [--protocols probe knn svm lowshot semisup epochs] [--split test|val] \
        [--seed 0] [--skip-done] [--cache-dir work_dirs/zoo/feature_cache]

Frozen-feature protocols train on the first --train-samples training images and score
on --split: the test split (10,000 images) or the validation images held out of the
train split (train images 50,000-59,999, seen neither by pretraining nor by any
protocol's training). Linear probe of every block (features pooled to at most 2,500
values); k-NN (k = 10/20/100/200, cosine, T = 0.07) on globally pooled features; SVM
(one-vs-rest over the 10 classes, the reference's 19 costs by 3-fold cross-validated AP
per class) and low-shot SVM (k = 1..96 positives x 5 samples; each class at the cost the
full SVM's cross-validation chose) trained on the first --svm-samples training images,
at the level the linear probe chose on the validation split (--svm-levels chosen, from
the validation rows of every seed already in the rows file) or at every level;
semi-supervised fine-tuning with 1% and 10% of the labels
(configs/fashion-mnist-zoo/finetune_*, scored on the test split); linear probe of every
epoch's checkpoint (RotNet). Every setting is fixed in advance; every choice is made on
the validation split.

Every number is a row of zoo/results/rows.jsonl (rotation_pred.benchmarks.results:
model, seed, protocol, level, setting, split, metric, value and provenance); a rerun
replaces the rows it measures again; --skip-done skips what the rows file already holds
for the same checkpoint (the zoo rebuild resumes with it). --seed: the random backbone
is drawn with it, and the pretrained models are read from their run with this seed
(refused when a checkpoint records another). Features are extracted once per
checkpoint, image set and pooling and kept in --cache-dir: protocols share them, and a
run that was stopped resumes from them.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import rotation_pred  # noqa: F401
from rotation_pred.benchmarks.best_level import choose_levels
from rotation_pred.benchmarks.checkpoint import checkpoint_seed, load_backbone
from rotation_pred.benchmarks.converters import extract_backbone
from rotation_pred.benchmarks.feature_cache import feature_reader
from rotation_pred.benchmarks.knn import knn_accuracy
from rotation_pred.benchmarks.linear_probe import linear_probe_accuracy
from rotation_pred.benchmarks.loading import (all_levels, build_eval_loader, build_model,
                                              rotation_accuracy, validation_indices)
from rotation_pred.benchmarks.low_shot import low_shot_svm_map
from rotation_pred.benchmarks.results import (file_sha256, provenance, read_rows, row_maker,
                                              select, update_rows)
from rotation_pred.benchmarks.svm import one_vs_rest_targets, svm_map

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import zoo_models as zoo  # noqa: E402

PROTOCOLS = ('probe', 'knn', 'svm', 'lowshot', 'semisup', 'epochs')
#: The protocol of the rows each protocol writes (epochs: linear-probe rows with an
#: ``epoch=`` setting).
ROW_PROTOCOL = dict(probe='linear_probe', knn='knn', svm='svm', lowshot='low_shot',
                    semisup='fine_tune', epochs='linear_probe')
ON_VALIDATION = ('probe', 'knn')  # what --split val measures: what the choices use
ROWS = 'rows.jsonl'


def rows_path():
    return osp.join(zoo.RESULTS, ROWS)


def model_config(key):
    """The config whose model the zoo builds for ``key``: the pretraining config of a
    rotation model, the RotNet config for the random and the supervised backbones."""
    title, config, kind = zoo.MODELS[key]
    return config if kind == 'rotation' else zoo.ROTNET_CONFIG


def model_checkpoint(key, seed=0):
    """The checkpoint the zoo evaluates for ``key`` and ``seed`` (None: random
    initialisation)."""
    return None if zoo.MODELS[key][2] == 'random' else zoo.final_checkpoint(key, seed)


def load_model(key, checkpoint=None, seed=0):
    """``(cfg, model)`` of zoo model ``key`` returning every level: a random backbone
    drawn with ``seed``, or the weights of ``checkpoint`` (default: the final one).
    Raises ValueError naming the checkpoint when it records a seed other than ``seed``
    (the rows would record the wrong one)."""
    kind = zoo.MODELS[key][2]
    cfg = Config.fromfile(model_config(key))
    levels = all_levels(cfg.model.backbone)
    if kind == 'random':
        return cfg, build_model(cfg, None, levels, seed=seed)
    checkpoint = checkpoint or zoo.final_checkpoint(key, seed)
    recorded = checkpoint_seed(checkpoint)
    if recorded is not None and recorded != seed:
        raise ValueError(f'{checkpoint} was trained with seed {recorded}, not --seed '
                         f'{seed}')
    return cfg, build_model(cfg, checkpoint, levels, backbone_only=kind == 'supervised')


def features_of(cfg, model, checkpoint, args):
    """The feature reader of ``model`` (``checkpoint``, or drawn with ``args.seed``)
    through the zoo's feature cache ``args.cache_dir``."""
    return feature_reader(model, checkpoint, args.cache_dir, args.seed, args.max_dims,
                          cfg.model, label='[zoo] features')


def save_rows(rows):
    """Add ``rows`` to zoo/results/rows.jsonl, replacing those they measure again."""
    if rows:
        update_rows(rows_path(), rows)


def measured(key, protocol, args, checkpoint):
    """Whether the rows file holds rows of ``protocol`` for zoo model ``key`` on
    ``args.split`` with ``args.seed``, measured on the same checkpoint (its sha256;
    None for a random backbone; any for ``epochs``, whose rows name each epoch's)."""
    if not osp.isfile(rows_path()):
        return False
    sha = None if checkpoint is None else file_sha256(checkpoint)
    rows = select(read_rows(rows_path()), model=key, seed=args.seed, split=args.split,
                  protocol=ROW_PROTOCOL[protocol])
    rows = [r for r in rows if ('epoch=' in r['setting']) == (protocol == 'epochs')]
    if protocol == 'epochs':
        return bool(rows)
    return bool(rows) and all(r['provenance']['checkpoint_sha256'] == sha for r in rows)


def chosen_level(key, train_samples):
    """The level of zoo model ``key`` whose linear probe has the best mean over seeds on
    the validation split, from the rows file. Raises ValueError when there are no such
    rows (run ``--split val --protocols probe`` for the seeds first)."""
    rows = read_rows(rows_path()) if osp.isfile(rows_path()) else []
    rows = select(rows, model=key, protocol='linear_probe', split='val',
                  setting=f'train={train_samples}')
    if not rows:
        raise ValueError(f'{key}: no validation rows of the linear probe in {rows_path()} '
                         'to choose the SVM level on; run tools/zoo/evaluate.py --split val '
                         f'--protocols probe --models {key} for each seed first')
    return choose_levels(rows, 'val')[key]


def probe(features, train_loader, test_loader):
    """``{blockN: top-1 (%)}`` of a linear classifier on each level's features."""
    train, train_y = features(train_loader)
    test, test_y = features(test_loader)
    return {f'block{level + 1}': linear_probe_accuracy(train[level], train_y, test[level],
                                                       test_y)
            for level in sorted(train)}


def svm_rows(row, features, svm_loader, test_loader, levels, protocols):
    """Rows of the SVM (``'svm' in protocols``) and of the low-shot SVM (``'lowshot'``)
    at ``levels`` (indices); the low-shot SVM of each class runs at the cost the full
    SVM's cross-validation chose for it on the training images."""
    train, train_y = features(svm_loader)
    test, test_y = features(test_loader)
    train_t, test_t = one_vs_rest_targets(train_y, 10), one_vs_rest_targets(test_y, 10)
    rows = []
    for level in levels:
        name = f'block{level + 1}'
        start = time.time()
        full = svm_map(train[level], train_t, test[level], test_t)
        print(f'[zoo] SVM {name}: mAP {full["mAP"]:.2f} ({time.time() - start:.0f} s)',
              flush=True)
        if 'svm' in protocols:
            rows.append(row('svm', name, f'train={len(svm_loader.dataset)}', 'mAP',
                            full['mAP']))
        if 'lowshot' in protocols:
            low = low_shot_svm_map(train[level], train_t, test[level], test_t,
                                   cost=full['cost'])
            rows += [row('low_shot', name, f'k={k}', 'mAP', v['mean']) for k, v in low.items()]
    return rows


def frozen_protocols(key, protocols, args, loaders):
    """Rotation accuracy (rotation and random models) and the frozen-feature
    ``protocols`` of zoo model ``key`` on ``args.split``, into the rows file."""
    cfg, model = load_model(key, seed=args.seed)
    checkpoint = model_checkpoint(key, args.seed)
    features = features_of(cfg, model, checkpoint, args)
    train_loader, scored_loader, svm_loader = loaders
    row = row_maker(key, args.seed, args.split, provenance(model_config(key), checkpoint))
    rows = []
    if zoo.MODELS[key][2] in ('rotation', 'random'):
        rows.append(row('rotation_accuracy', None, '', 'top1',
                        rotation_accuracy(model, scored_loader)))
    if 'probe' in protocols:
        rows += [row('linear_probe', block, f'train={len(train_loader.dataset)}', 'top1', v)
                 for block, v in probe(features, train_loader, scored_loader).items()]
    if 'knn' in protocols:
        train, train_y = features(train_loader, gap=True)
        test, test_y = features(scored_loader, gap=True)
        for level in sorted(train):
            accuracy = knn_accuracy(torch.from_numpy(train[level]), torch.from_numpy(train_y),
                                    torch.from_numpy(test[level]), torch.from_numpy(test_y),
                                    topk=(1, ))
            rows += [row('knn', f'block{level + 1}', f'k={k}', 'top1', acc[1])
                     for k, acc in accuracy.items()]
    if 'svm' in protocols or 'lowshot' in protocols:
        if args.svm_levels == 'all':
            levels = range(len(all_levels(cfg.model.backbone)))
        else:
            levels = [int(chosen_level(key, len(train_loader.dataset))[5:]) - 1]
        rows += svm_rows(row, features, svm_loader, scored_loader, levels, protocols)
    save_rows(rows)


def probe_over_epochs(key, args, loaders):
    """Rotation accuracy and linear probe of every epoch's checkpoint (paper Fig. 5a)."""
    train_loader, scored_loader, _ = loaders
    rows = []
    for path in sorted(glob.glob(osp.join(zoo.work_dir(key, args.seed), 'epoch_*.pth')),
                       key=lambda p: int(p.rsplit('_', 1)[1][:-4])):
        cfg, model = load_model(key, path, seed=args.seed)
        epoch = int(path.rsplit('_', 1)[1][:-4])
        row = row_maker(key, args.seed, args.split, provenance(model_config(key), path))
        rows.append(row('rotation_accuracy', None, f'epoch={epoch}', 'top1',
                        rotation_accuracy(model, scored_loader)))
        rows += [row('linear_probe', block, f'train={len(train_loader.dataset)}, '
                     f'epoch={epoch}', 'top1', v) for block, v in
                 probe(features_of(cfg, model, path, args), train_loader,
                       scored_loader).items()]
        print(f'[zoo] {key} seed {args.seed} epoch {epoch} done', flush=True)
    save_rows(rows)


def check_backbone_fits_config(config: str, backbone: str) -> None:
    """Load ``backbone`` strictly into the backbone of ``config`` (ValueError naming the
    file and the keys at fault): tools/train.py loads it through init_cfg=Pretrained,
    which would only log keys that do not match."""
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    module = MODELS.build(dict(cfg.model.backbone, init_cfg=None))
    print(f'[zoo] {load_backbone(module, backbone)} (fits {config})', flush=True)


def semi_supervised(key, args):
    """Fine-tuning with 1% and 10% of the labels from the weights of seed ``args.seed``
    (training seeded with it too), top-1 on the test split, into the rows file."""
    rows = []
    for fraction in ('1pct', '10pct'):
        config = f'{zoo.ZOO_CONFIGS}/finetune_nin3b-w48_1xb64_fashion-mnist-{fraction}.py'
        source = provenance(config, model_checkpoint(key, args.seed))
        row = row_maker(key, args.seed, args.split, source)
        rows.append(row('fine_tune', None, f'labels={fraction[:-3]}%', 'top1',
                        fine_tune(key, fraction, args.seed), split='test'))
    save_rows(rows)


def fine_tune(key, fraction_name, seed=0):
    """Fine-tune the whole network of zoo model ``key`` (pretrained with ``seed``) on a
    fraction of the labels, seeded with ``seed``; top-1 on the test set."""
    config = f'{zoo.ZOO_CONFIGS}/finetune_nin3b-w48_1xb64_fashion-mnist-{fraction_name}.py'
    out_dir = osp.join(zoo.WORK_ROOT, 'finetune', f'seed{seed}', f'{key}-{fraction_name}')
    if zoo.MODELS[key][2] == 'random':
        init = ['model.backbone.init_cfg=None']
    else:
        backbone = osp.join(zoo.WORK_ROOT, 'backbones', f'seed{seed}', f'{key}.pth')
        os.makedirs(osp.dirname(backbone), exist_ok=True)
        extract_backbone(zoo.final_checkpoint(key, seed), backbone)
        check_backbone_fits_config(config, backbone)
        init = [f'model.backbone.init_cfg.checkpoint={backbone}']
    subprocess.run([sys.executable, 'tools/train.py', config, '--work-dir', out_dir,
                    '--cfg-options', *init, f'randomness.seed={seed}'], check=True,
                   stdout=subprocess.DEVNULL)
    (scalars, ) = sorted(glob.glob(osp.join(out_dir, '*', 'vis_data', 'scalars.json')))[-1:]
    with open(scalars) as f:
        rows = [json.loads(line) for line in f]
    return [r['accuracy/top1'] for r in rows if 'accuracy/top1' in r][-1]


def pretrained_on_validation(key, probe_samples):
    """Why zoo model ``key`` cannot be scored on the validation images (its pretraining
    config trains on some of them, such as the supervised baseline on all 60,000 train
    images), or None when it can."""
    config = zoo.MODELS[key][1]
    if config is None:
        return None
    try:
        validation_indices(Config.fromfile(config), probe_samples)
    except ValueError as e:
        return f'{config}: {e}'
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', default=None, choices=list(zoo.MODELS),
                        help='default: all of them (with --split val: those whose '
                        'pretraining did not see the validation images)')
    parser.add_argument('--protocols', nargs='+', default=None, choices=PROTOCOLS,
                        help='default: all of them (with --split val: '
                        f'{" ".join(ON_VALIDATION)})')
    parser.add_argument('--train-samples', type=int, default=10000)
    parser.add_argument('--svm-samples', type=int, default=2000)
    parser.add_argument('--svm-levels', choices=('chosen', 'all'), default='chosen',
                        help='SVM and low-shot SVM at the level the linear probe chose on '
                        'the validation split (needs its validation rows), or at every '
                        'level')
    parser.add_argument('--max-dims', type=int, default=2500)
    parser.add_argument('--split', choices=('test', 'val'), default='test',
                        help='score on the test split, or on the validation images held '
                        'out of the train split (train images 50,000-59,999)')
    parser.add_argument('--seed', type=int, default=0,
                        help='the replicate: the random backbone is drawn with it, and the '
                        'pretrained models are read from their run with this seed '
                        '(work_dirs/zoo/seed<S>/, SEEDS=S bash tools/zoo/pretrain_all.sh)')
    parser.add_argument('--skip-done', action='store_true',
                        help='skip each model and protocol whose rows the rows file holds '
                        'already for this seed, split and checkpoint')
    parser.add_argument('--cache-dir', default=osp.join(zoo.WORK_ROOT, 'feature_cache'),
                        help='where extracted features are kept and looked up')
    args = parser.parse_args()
    if args.protocols is None:
        args.protocols = list(ON_VALIDATION if args.split == 'val' else PROTOCOLS)
    elif args.split == 'val' and set(args.protocols) - set(ON_VALIDATION):
        parser.error(f'--split val measures {" ".join(ON_VALIDATION)} only (what the '
                     'choices are made on); the SVMs run at the level the probe chose '
                     'there and the fine-tuning makes no choice')
    MMLogger.get_instance('zoo', log_level='WARNING')
    models = args.models or list(zoo.MODELS)
    if args.split == 'val':
        seen = {key: pretrained_on_validation(key, max(args.train_samples,
                                                       args.svm_samples)) for key in models}
        seen = {key: reason for key, reason in seen.items() if reason}
        if seen and args.models is not None:
            parser.error('; '.join(f'{key} cannot be scored on the validation images: '
                                   f'{reason}' for key, reason in seen.items()))
        for key, reason in seen.items():
            print(f'[zoo] {key} left out of --split val: {reason}', flush=True)
        models = [key for key in models if key not in seen]
    cfg = Config.fromfile(zoo.ROTNET_CONFIG)
    if args.split == 'val':
        val = validation_indices(cfg, max(args.train_samples, args.svm_samples))
        scored = build_eval_loader(cfg, 'train', val)
    else:
        scored = build_eval_loader(cfg, 'test')
        assert len(scored.dataset) == 10000, 'the Fashion-MNIST test split has 10,000 images'
    loaders = (build_eval_loader(cfg, 'train', args.train_samples), scored,
               build_eval_loader(cfg, 'train', args.svm_samples))
    for key in models:
        start = time.time()
        wanted = [p for p in args.protocols
                  if p == 'probe' or (p == 'epochs' and key == 'rotnet') or
                  (p == 'semisup' and key in ('rotnet', 'random')) or
                  (p in ('knn', 'svm', 'lowshot') and key in zoo.BASELINES)]
        if args.skip_done:
            checkpoint = model_checkpoint(key, args.seed)
            done = [p for p in wanted if measured(key, p, args, checkpoint)]
            wanted = [p for p in wanted if p not in done]
            if done:
                print(f'[zoo] {key} seed {args.seed} {args.split}: {done} measured already',
                      flush=True)
        frozen = [p for p in wanted if p in ('probe', 'knn', 'svm', 'lowshot')]
        if frozen:
            frozen_protocols(key, frozen, args, loaders)
        if 'epochs' in wanted:
            probe_over_epochs(key, args, loaders)
        if 'semisup' in wanted:
            semi_supervised(key, args)
        print(f'[zoo] {key} seed {args.seed} {args.split}: {wanted} done in '
              f'{time.time() - start:.0f} s', flush=True)


if __name__ == '__main__':
    main()
