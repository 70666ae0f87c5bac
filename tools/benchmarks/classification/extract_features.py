"""Extract frozen features of every level for the train and test splits of a config.

    python tools/benchmarks/classification/extract_features.py CONFIG --backbone WEIGHTS \
        --work-dir DIR [--launcher pytorch] [--cfg-options k=v ...]

The config gives ``model`` (a backbone and a neck whose outputs are flat (N, D)
features, e.g. MultiLevelAvgPool or GlobalAveragePooling; no head), ``feature_names``
(one name per neck output) and ``train_dataloader`` / ``test_dataloader``. Distributed:
each process runs its share of the images (DefaultSampler, no shuffling) and rank 0
gathers them in data set order (mmengine's collect_results). Writes to DIR/features/:

    {train,test}_<name>.npy   float32 (N, D) per level
    {train,test}_labels.npy   the data set's labels: (N,) classes, or (N, C) targets
                              in {1, -1, 0} for VOC07Classification
    meta.json                 config, weights, names, shapes

Normally started by svm_voc07/dist_test_svm.sh or knn/dist_test_knn.sh.
"""
import argparse
import copy
import json
import os
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dist import barrier, collect_results, get_rank, init_dist
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

import rotation_pred  # noqa: F401  (registers the plugin, applies the stack fixes)
from rotation_pred.benchmarks.checkpoint import load_backbone

SPLITS = {'train': 'train_dataloader', 'test': 'test_dataloader'}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='feature extraction config')
    parser.add_argument('--backbone', required=True,
                        help='pretrained weights: a backbone-only or a whole checkpoint')
    parser.add_argument('--work-dir', required=True, help='features go to WORK_DIR/features')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_model(cfg: Config, weights_path: str) -> torch.nn.Module:
    """The config's model with the pretrained backbone, in eval mode on the device."""
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    model.init_weights()
    load_backbone(model.backbone, weights_path, logger='current')
    device = torch.device('cuda', torch.cuda.current_device()) if torch.cuda.is_available() \
        else torch.device('cpu')
    return model.to(device).eval()


@torch.no_grad()
def extract(model, loader_cfg: dict, names) -> tuple:
    """Features ``{name: (N, D)}`` and labels of one split (on rank 0; None elsewhere)."""
    loader_cfg = copy.deepcopy(loader_cfg)
    loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=False)
    loader = Runner.build_dataloader(loader_cfg)
    part = []
    for data in loader:
        data = model.data_preprocessor(data, training=False)
        feats = model.extract_feat(data['inputs'])
        if len(feats) != len(names):
            raise ValueError(f'the neck gives {len(feats)} outputs but feature_names has '
                             f'{len(names)}: {names}')
        feats = [f.float().cpu().numpy() for f in feats]
        for i, sample in enumerate(data['data_samples']):
            part.append((sample.sample_idx, [f[i] for f in feats]))
    dataset = loader.dataset
    collected = collect_results(part, len(dataset))
    if get_rank() != 0:
        return None, None
    order = [idx for idx, _ in collected]
    if order != list(range(len(dataset))):
        raise RuntimeError('gathered features are not in data set order')
    features = {name: np.stack([f[j] for _, f in collected]) for j, name in enumerate(names)}
    return features, np.asarray(dataset.get_gt_labels())


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    names = list(cfg.get('feature_names') or [])
    if not names:
        raise ValueError(f'{args.config}: set feature_names, one name per neck output')
    if args.launcher != 'none' and int(os.environ.get('WORLD_SIZE', '1')) > 1:
        init_dist(args.launcher)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    MMLogger.get_instance('extract_features', log_level='WARNING')
    model = build_model(cfg, args.backbone)
    out_dir = osp.join(args.work_dir, 'features')
    os.makedirs(out_dir, exist_ok=True)
    meta = dict(config=args.config, backbone=args.backbone, names=names, splits={})
    for split, key in SPLITS.items():
        if cfg.get(key) is None:
            raise ValueError(f'{args.config}: {key} is missing')
        features, labels = extract(model, cfg[key], names)
        if features is None:
            continue
        for name, array in features.items():
            np.save(osp.join(out_dir, f'{split}_{name}.npy'), array)
        np.save(osp.join(out_dir, f'{split}_labels.npy'), labels)
        meta['splits'][split] = dict(samples=len(labels), labels_shape=list(labels.shape),
                                     dims={n: int(a.shape[1]) for n, a in features.items()})
        print(f'[extract] {split}: {len(labels)} images, dims '
              f'{meta["splits"][split]["dims"]}', flush=True)
    if get_rank() == 0:
        with open(osp.join(out_dir, 'meta.json'), 'w') as f:
            json.dump(meta, f, indent=2)
    barrier()


if __name__ == '__main__':
    main()
