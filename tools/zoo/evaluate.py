"""Evaluate the Fashion-MNIST zoo and write one JSON file of results per model.

    python tools/zoo/evaluate.py [--models rotnet random ...] \
        [--protocols probe knn svm lowshot semisup epochs] [--split test|val] \
        [--seed 0] [--cache-dir work_dirs/zoo/feature_cache]

Frozen-feature protocols use the first --train-samples training images and the whole
test split (10,000 images): linear probe of every block (features pooled to at most
2,500 values), k-NN (k = 10/20/100/200, cosine, T = 0.07) on globally pooled features,
SVM and low-shot SVM (one-vs-rest over the 10 classes, k = 1..96 positives x 5 samples)
on the first --svm-samples training images. Semi-supervised: fine-tuning with 1% and
10% of the labels (configs/fashion-mnist-zoo/finetune_*). Every setting is fixed in
advance; nothing is chosen on the test set.

Every number is also a row of zoo/results/rows.jsonl (rotation_pred.benchmarks.results:
model, seed, protocol, level, setting, split, metric, value and provenance); a rerun
replaces the rows it measures again. --split val scores on validation images held out of
the train split (train images 50,000-59,999) instead of the test split; it writes rows
only (the JSON files and the README tables are test numbers), and leaves out the
fine-tuning (scored on the test split) and the models whose pretraining saw the
validation images (the supervised baseline, trained on all 60,000). --seed: the random backbone is drawn with it,
and it is the seed recorded for the pretrained checkpoints (refused when a checkpoint
records another). Features are extracted once per checkpoint, image set and pooling and
kept in --cache-dir: protocols share them, and a run that was stopped resumes from them.
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
from rotation_pred.benchmarks.checkpoint import checkpoint_seed, load_backbone
from rotation_pred.benchmarks.converters import extract_backbone
from rotation_pred.benchmarks.feature_cache import cached_features
from rotation_pred.benchmarks.knn import knn_accuracy
from rotation_pred.benchmarks.linear_probe import linear_probe_accuracy
from rotation_pred.benchmarks.loading import (all_levels, build_eval_loader, build_model,
                                              rotation_accuracy, validation_indices)
from rotation_pred.benchmarks.low_shot import low_shot_svm_map
from rotation_pred.benchmarks.results import make_row, provenance, repo_path, update_rows
from rotation_pred.benchmarks.svm import one_vs_rest_targets, svm_map

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import zoo_models as zoo  # noqa: E402

PROTOCOLS = ('probe', 'knn', 'svm', 'lowshot', 'semisup', 'epochs')
ROWS = 'rows.jsonl'


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


def read_results(key):
    path = osp.join(zoo.RESULTS, f'{key}.json')
    if osp.isfile(path):
        with open(path) as f:
            return json.load(f)
    return dict(key=key, title=zoo.MODELS[key][0], config=zoo.MODELS[key][1])


def write_results(key, results):
    os.makedirs(zoo.RESULTS, exist_ok=True)
    with open(osp.join(zoo.RESULTS, f'{key}.json'), 'w') as f:
        json.dump(results, f, indent=1)


def feature_reader(cfg, model, checkpoint, args):
    """``features(loader, gap=False) -> ({level: (N, D)}, labels (N,))`` of ``model``
    (loaded from ``checkpoint``, or drawn with ``args.seed`` when it is None), pooled to
    ``args.max_dims`` values or globally, through the cache ``args.cache_dir``."""
    def features(loader, gap=False):
        return cached_features(model, loader, args.cache_dir, checkpoint=checkpoint,
                               seed=args.seed, max_dims=args.max_dims, gap=gap,
                               model_cfg=cfg.model,
                               label=f'[zoo] features of {len(loader.dataset)} images')
    return features


def rows_of(key, args, config, checkpoint):
    """``row(protocol, level, setting, metric, value)``: a result row of zoo model
    ``key`` on ``args.split`` with ``args.seed``, its provenance computed once."""
    source = provenance(config, checkpoint)

    def row(protocol, level, setting, metric, value, split=None):
        return make_row(model=key, seed=args.seed, protocol=protocol, level=level,
                        setting=setting, split=split or args.split, metric=metric,
                        value=value, provenance=source)
    return row


def save_rows(rows):
    """Add ``rows`` to zoo/results/rows.jsonl, replacing those they measure again."""
    if rows:
        update_rows(osp.join(zoo.RESULTS, ROWS), rows)


def probe(features, train_loader, test_loader):
    """``{blockN: top-1 (%)}`` of a linear classifier on each level's features."""
    train, train_y = features(train_loader)
    test, test_y = features(test_loader)
    return {f'block{level + 1}': linear_probe_accuracy(train[level], train_y, test[level],
                                                       test_y)
            for level in sorted(train)}


def frozen_protocols(key, protocols, args, loaders):
    cfg, model = load_model(key, seed=args.seed)
    checkpoint = model_checkpoint(key, args.seed)
    features = feature_reader(cfg, model, checkpoint, args)
    train_loader, test_loader, svm_loader = loaders
    results = read_results(key)
    results['checkpoint'] = repo_path(checkpoint)  # committed: no machine path
    rows, row = [], None
    if zoo.MODELS[key][2] in ('rotation', 'random') or protocols:
        row = rows_of(key, args, model_config(key), checkpoint)
    if zoo.MODELS[key][2] in ('rotation', 'random'):
        results['rotation_accuracy'] = rotation_accuracy(model, test_loader)
        rows.append(row('rotation_accuracy', None, '', 'top1', results['rotation_accuracy']))
    if 'probe' in protocols:
        results['probe'] = probe(features, train_loader, test_loader)
        rows += [row('linear_probe', block, f'train={len(train_loader.dataset)}', 'top1', v)
                 for block, v in results['probe'].items()]
    if 'knn' in protocols:
        train, train_y = features(train_loader, gap=True)
        test, test_y = features(test_loader, gap=True)
        results['knn'] = {
            f'block{level + 1}': {str(k): acc[1] for k, acc in knn_accuracy(
                torch.from_numpy(train[level]), torch.from_numpy(train_y),
                torch.from_numpy(test[level]), torch.from_numpy(test_y),
                topk=(1, )).items()} for level in sorted(train)}
        rows += [row('knn', block, f'k={k}', 'top1', v)
                 for block, per_k in results['knn'].items() for k, v in per_k.items()]
    if 'svm' in protocols or 'lowshot' in protocols:
        train, train_y = features(svm_loader)
        test, test_y = features(test_loader)
        train_t, test_t = one_vs_rest_targets(train_y, 10), one_vs_rest_targets(test_y, 10)
        for level in sorted(train):
            name = f'block{level + 1}'
            if 'svm' in protocols:
                out = svm_map(train[level], train_t, test[level], test_t)
                results.setdefault('svm', {})[name] = dict(mAP=out['mAP'], cost=out['cost'])
                rows.append(row('svm', name, f'train={len(svm_loader.dataset)}', 'mAP',
                                out['mAP']))
            if 'lowshot' in protocols:
                out = low_shot_svm_map(train[level], train_t, test[level], test_t)
                results.setdefault('lowshot', {})[name] = {
                    str(k): {s: v[s] for s in ('mean', 'std', 'min', 'max', 'cost')}
                    for k, v in out.items()}
                rows += [row('low_shot', name, f'k={k}', 'mAP', v['mean'])
                         for k, v in out.items()]
    results['frozen_protocol'] = dict(train_samples=len(train_loader.dataset),
                                      test_samples=len(test_loader.dataset),
                                      svm_train_samples=len(svm_loader.dataset),
                                      max_dims=args.max_dims)
    save_rows(rows)
    if args.split == 'test' and args.seed == 0 and not getattr(args, 'rows_only', False):
        write_results(key, results)  # the per-model JSON files: seed 0, test


def probe_over_epochs(key, args, loaders):
    """Rotation accuracy and linear probe of every epoch's checkpoint (paper Fig. 5a)."""
    train_loader, test_loader, _ = loaders
    epochs, rows = [], []
    for path in sorted(glob.glob(osp.join(zoo.work_dir(key, args.seed), 'epoch_*.pth')),
                       key=lambda p: int(p.rsplit('_', 1)[1][:-4])):
        cfg, model = load_model(key, path, seed=args.seed)
        epoch = int(path.rsplit('_', 1)[1][:-4])
        epochs.append(dict(epoch=epoch,
                           rotation_accuracy=rotation_accuracy(model, test_loader),
                           probe=probe(feature_reader(cfg, model, path, args), train_loader,
                                       test_loader)))
        row = rows_of(key, args, model_config(key), path)
        rows.append(row('rotation_accuracy', None, f'epoch={epoch}', 'top1',
                        epochs[-1]['rotation_accuracy']))
        rows += [row('linear_probe', block, f'train={len(train_loader.dataset)}, '
                     f'epoch={epoch}', 'top1', v) for block, v in epochs[-1]['probe'].items()]
        print(f'[zoo] {key} epoch {epoch}: {epochs[-1]}', flush=True)
    save_rows(rows)
    if args.split == 'test':
        results = read_results(key)
        results['epochs'] = epochs
        write_results(key, results)


def check_backbone_fits_config(config: str, backbone: str) -> None:
    """Load ``backbone`` strictly into the backbone of ``config`` (ValueError naming the
    file and the keys at fault): tools/train.py loads it through init_cfg=Pretrained,
    which would only log keys that do not match."""
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    module = MODELS.build(dict(cfg.model.backbone, init_cfg=None))
    print(f'[zoo] {load_backbone(module, backbone)} (fits {config})', flush=True)


def semi_supervised(key, args):
    """Fine-tuning with 1% and 10% of the labels: into the JSON file and the rows."""
    results = read_results(key)
    results['semisup'] = {f: fine_tune(key, f) for f in ('1pct', '10pct')}
    write_results(key, results)
    rows = []
    for fraction, top1 in results['semisup'].items():
        config = f'{zoo.ZOO_CONFIGS}/finetune_nin3b-w48_1xb64_fashion-mnist-{fraction}.py'
        row = rows_of(key, args, config, model_checkpoint(key))
        rows.append(row('fine_tune', None, f'labels={fraction[:-3]}%', 'top1', top1,
                        split='test'))
    save_rows(rows)


def fine_tune(key, fraction_name):
    """Fine-tune the whole network on a fraction of the labels; top-1 on the test set."""
    config = f'{zoo.ZOO_CONFIGS}/finetune_nin3b-w48_1xb64_fashion-mnist-{fraction_name}.py'
    out_dir = osp.join(zoo.WORK_ROOT, 'finetune', f'{key}-{fraction_name}')
    if zoo.MODELS[key][2] == 'random':
        init = ['model.backbone.init_cfg=None']
    else:
        backbone = osp.join(zoo.WORK_ROOT, 'backbones', f'{key}.pth')
        os.makedirs(osp.dirname(backbone), exist_ok=True)
        extract_backbone(zoo.final_checkpoint(key), backbone)
        check_backbone_fits_config(config, backbone)
        init = [f'model.backbone.init_cfg.checkpoint={backbone}']
    subprocess.run([sys.executable, 'tools/train.py', config, '--work-dir', out_dir,
                    '--cfg-options', *init], check=True, stdout=subprocess.DEVNULL)
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
                        help='default: all of them (with --split val: all but semisup)')
    parser.add_argument('--train-samples', type=int, default=10000)
    parser.add_argument('--svm-samples', type=int, default=2000)
    parser.add_argument('--max-dims', type=int, default=2500)
    parser.add_argument('--split', choices=('test', 'val'), default='test',
                        help='score on the test split, or on the validation images held '
                        'out of the train split (train images 50,000-59,999)')
    parser.add_argument('--seed', type=int, default=0,
                        help='the replicate: the random backbone is drawn with it, and the '
                        'pretrained models are read from their run with this seed '
                        '(work_dirs/zoo/seed<S>/, SEEDS=S bash tools/zoo/pretrain_all.sh)')
    parser.add_argument('--rows-only', action='store_true',
                        help='write result rows only, leave the per-model JSON files of '
                        'seed 0 (the single-seed tables) as they are')
    parser.add_argument('--cache-dir', default=osp.join(zoo.WORK_ROOT, 'feature_cache'),
                        help='where extracted features are kept and looked up')
    args = parser.parse_args()
    if args.protocols is None:
        args.protocols = [p for p in PROTOCOLS
                          if (args.split == 'test' and args.seed == 0) or p != 'semisup']
    elif args.split == 'val' and 'semisup' in args.protocols:
        parser.error('semisup fine-tunes and scores on the test split only; leave it out '
                     'with --split val')
    elif args.seed != 0 and 'semisup' in args.protocols:
        parser.error('semisup fine-tunes the seed-0 models only (not yet per seed); leave '
                     'it out with --seed')
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
    args.models = models
    cfg = Config.fromfile(zoo.ROTNET_CONFIG)
    if args.split == 'val':
        val = validation_indices(cfg, max(args.train_samples, args.svm_samples))
        scored = build_eval_loader(cfg, 'train', val)
    else:
        scored = build_eval_loader(cfg, 'test')
        assert len(scored.dataset) == 10000, 'the Fashion-MNIST test split has 10,000 images'
    loaders = (build_eval_loader(cfg, 'train', args.train_samples), scored,
               build_eval_loader(cfg, 'train', args.svm_samples))
    for key in args.models:
        start = time.time()
        frozen = [p for p in args.protocols if p in ('probe', 'knn', 'svm', 'lowshot')]
        if key not in zoo.BASELINES:
            frozen = [p for p in frozen if p == 'probe']
        if frozen:
            frozen_protocols(key, frozen, args, loaders)
        if 'epochs' in args.protocols and key == 'rotnet':
            probe_over_epochs(key, args, loaders)
        if 'semisup' in args.protocols and key in ('rotnet', 'random'):
            semi_supervised(key, args)
        print(f'[zoo] {key}: {args.protocols} done in {time.time() - start:.0f} s', flush=True)


if __name__ == '__main__':
    main()
