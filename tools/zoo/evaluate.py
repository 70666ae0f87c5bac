"""Evaluate the Fashion-MNIST zoo and write one JSON file of results per model.

    python tools/zoo/evaluate.py [--models rotnet random ...] \
        [--protocols probe knn svm lowshot semisup epochs]

Frozen-feature protocols use the first --train-samples training images and the whole
test split (10,000 images): linear probe of every block (features pooled to at most
2,500 values), k-NN (k = 10/20/100/200, cosine, T = 0.07) on globally pooled features,
SVM and low-shot SVM (one-vs-rest over the 10 classes, k = 1..96 positives x 5 samples)
on the first --svm-samples training images. Semi-supervised: fine-tuning with 1% and
10% of the labels (configs/fashion-mnist-zoo/finetune_*). Every setting is fixed in
advance; nothing is chosen on the test set.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import rotation_pred  # noqa: F401
from rotation_pred.benchmarks.checkpoint import load_backbone
from rotation_pred.benchmarks.converters import extract_backbone
from rotation_pred.benchmarks.features import extract_features
from rotation_pred.benchmarks.knn import knn_accuracy
from rotation_pred.benchmarks.linear_probe import linear_probe_accuracy
from rotation_pred.benchmarks.loading import (all_levels, build_eval_loader, build_model,
                                              rotation_accuracy)
from rotation_pred.benchmarks.low_shot import low_shot_svm_map
from rotation_pred.benchmarks.svm import one_vs_rest_targets, svm_map

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import zoo_models as zoo  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

PROTOCOLS = ('probe', 'knn', 'svm', 'lowshot', 'semisup', 'epochs')


def load_model(key, checkpoint=None):
    title, config, kind = zoo.MODELS[key]
    cfg = Config.fromfile(config if kind == 'rotation' else zoo.ROTNET_CONFIG)
    levels = all_levels(cfg.model.backbone)
    if kind == 'random':
        return cfg, build_model(cfg, None, levels)
    checkpoint = checkpoint or zoo.final_checkpoint(key)
    return cfg, build_model(cfg, checkpoint, levels, backbone_only=kind == 'supervised')


def repo_relative(path: str) -> str:
    """``path`` relative to the repository root (the results files are committed, so
    they name no directory of the machine they were written on)."""
    return osp.relpath(osp.abspath(path), REPO)


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


def probe(model, train_loader, test_loader, args):
    train, train_y = extract_features(model, train_loader, args.max_dims)
    test, test_y = extract_features(model, test_loader, args.max_dims)
    return {f'block{level + 1}': linear_probe_accuracy(train[level], train_y, test[level],
                                                       test_y)
            for level in sorted(train)}


def frozen_protocols(key, protocols, args, loaders):
    cfg, model = load_model(key)
    train_loader, test_loader, svm_loader = loaders
    results = read_results(key)
    results['checkpoint'] = None if zoo.MODELS[key][2] == 'random' else \
        repo_relative(zoo.final_checkpoint(key))
    if zoo.MODELS[key][2] in ('rotation', 'random'):
        results['rotation_accuracy'] = rotation_accuracy(model, test_loader)
    if 'probe' in protocols:
        results['probe'] = probe(model, train_loader, test_loader, args)
    if 'knn' in protocols:
        train, train_y = extract_features(model, train_loader, gap=True)
        test, test_y = extract_features(model, test_loader, gap=True)
        results['knn'] = {
            f'block{level + 1}': {str(k): acc[1] for k, acc in knn_accuracy(
                torch.from_numpy(train[level]), torch.from_numpy(train_y),
                torch.from_numpy(test[level]), torch.from_numpy(test_y),
                topk=(1, )).items()} for level in sorted(train)}
    if 'svm' in protocols or 'lowshot' in protocols:
        train, train_y = extract_features(model, svm_loader, args.max_dims)
        test, test_y = extract_features(model, test_loader, args.max_dims)
        train_t, test_t = one_vs_rest_targets(train_y, 10), one_vs_rest_targets(test_y, 10)
        for level in sorted(train):
            name = f'block{level + 1}'
            if 'svm' in protocols:
                out = svm_map(train[level], train_t, test[level], test_t)
                results.setdefault('svm', {})[name] = dict(mAP=out['mAP'], cost=out['cost'])
            if 'lowshot' in protocols:
                out = low_shot_svm_map(train[level], train_t, test[level], test_t)
                results.setdefault('lowshot', {})[name] = {
                    str(k): {s: v[s] for s in ('mean', 'std', 'min', 'max', 'cost')}
                    for k, v in out.items()}
    results['frozen_protocol'] = dict(train_samples=len(train_loader.dataset),
                                      test_samples=len(test_loader.dataset),
                                      svm_train_samples=len(svm_loader.dataset),
                                      max_dims=args.max_dims)
    write_results(key, results)


def probe_over_epochs(key, args, loaders):
    """Rotation accuracy and linear probe of every epoch's checkpoint (paper Fig. 5a)."""
    train_loader, test_loader, _ = loaders
    rows = []
    for path in sorted(glob.glob(osp.join(zoo.work_dir(key), 'epoch_*.pth')),
                       key=lambda p: int(p.rsplit('_', 1)[1][:-4])):
        _, model = load_model(key, path)
        rows.append(dict(epoch=int(path.rsplit('_', 1)[1][:-4]),
                         rotation_accuracy=rotation_accuracy(model, test_loader),
                         probe=probe(model, train_loader, test_loader, args)))
        print(f'[zoo] {key} epoch {rows[-1]["epoch"]}: {rows[-1]}', flush=True)
    results = read_results(key)
    results['epochs'] = rows
    write_results(key, results)


def check_backbone_fits_config(config: str, backbone: str) -> None:
    """Load ``backbone`` strictly into the backbone of ``config`` (ValueError naming the
    file and the keys at fault): tools/train.py loads it through init_cfg=Pretrained,
    which would only log keys that do not match."""
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    module = MODELS.build(dict(cfg.model.backbone, init_cfg=None))
    print(f'[zoo] {load_backbone(module, backbone)} (fits {config})', flush=True)


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', default=list(zoo.MODELS),
                        choices=list(zoo.MODELS))
    parser.add_argument('--protocols', nargs='+', default=list(PROTOCOLS), choices=PROTOCOLS)
    parser.add_argument('--train-samples', type=int, default=10000)
    parser.add_argument('--svm-samples', type=int, default=2000)
    parser.add_argument('--max-dims', type=int, default=2500)
    args = parser.parse_args()
    MMLogger.get_instance('zoo', log_level='WARNING')
    cfg = Config.fromfile(zoo.ROTNET_CONFIG)
    loaders = (build_eval_loader(cfg, 'train', args.train_samples),
               build_eval_loader(cfg, 'test'),
               build_eval_loader(cfg, 'train', args.svm_samples))
    assert len(loaders[1].dataset) == 10000, 'the Fashion-MNIST test split has 10,000 images'
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
            results = read_results(key)
            results['semisup'] = {f: fine_tune(key, f) for f in ('1pct', '10pct')}
            write_results(key, results)
        print(f'[zoo] {key}: {args.protocols} done in {time.time() - start:.0f} s', flush=True)


if __name__ == '__main__':
    main()
