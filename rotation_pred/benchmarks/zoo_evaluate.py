"""Evaluate the Fashion-MNIST zoo (:mod:`.zoo`) and write its numbers as result rows:
``tools/zoo/evaluate.py``.

    python tools/zoo/evaluate.py [--models rotnet random ...] \\
        [--protocols linear_probe knn svm low_shot nonlinear conv fine_tune per_epoch] \\
        [--split test|val] [--seed 0] [--skip-done]

The frozen-feature protocols (:mod:`.protocols`, through :func:`.evaluate.evaluate_features`,
the path of ``tools/benchmarks/evaluate.py``) train on the first --train-samples training
images (the SVMs on the first --svm-samples) and score on --split: the test split, or the
validation images held out of the train split (train images 50,000-59,999, seen neither
by pretraining nor by any protocol's training). Linear probe of every block (pooled to at
most 2,500 values); k-NN (k = 10/20/100/200, top-1) on globally pooled features; SVM and
low-shot SVM at the level the linear probe chose on the validation split (mean over the
seeds in the rows file; --svm-levels all for every level); ``nonlinear`` and ``conv``:
the paper's Table 3 heads trained on the frozen maps of every block (:data:`OPTIONS`;
run only when named, on either split: the block is chosen on val); ``fine_tune``: the
whole network trained with 1% and 10% of the labels (configs/fashion-mnist-zoo/finetune_*,
test split); ``per_epoch``: the linear probe of every epoch's checkpoint. Which model gets
which protocol is :attr:`.zoo.ZooModel.protocols`; the models of :data:`.zoo.EXTRA` are
evaluated only when named.

Every number is a row of zoo/results/rows.jsonl; a rerun replaces the rows it measures
again, and --skip-done skips what the file holds for the same checkpoint. --seed: the
random backbone is drawn with it and the pretrained models are read from their run with
this seed. Features are extracted once per checkpoint, image set and pooling into
--cache-dir; a run that was stopped resumes from them. --test-samples scores on the first
N images of the split only, for quick checks: its rows say so in their setting
(``test=N``), so the tables never take them for the zoo's numbers.
"""
import argparse
import functools
import glob
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from . import zoo
from .best_level import choose_levels
from .checkpoint import extract_backbone, load_backbone, require_seed
from .evaluate import evaluate_features, image_sets, level_names, load_model
from .loading import build_eval_loader, rotation_accuracy, validation_indices
from .protocols import Options
from .provenance import provenance
from ..fileio import file_sha256
from .rows import read_rows, row_maker, select, update_rows

ALL = zoo.FROZEN + zoo.HEADS + ('fine_tune', 'per_epoch')
#: What runs when --protocols is not given: everything but the heads (on --split val, the
#: protocols of :data:`.zoo.ON_VALIDATION` but the heads).
DEFAULT = tuple(p for p in ALL if p not in zoo.HEADS)
#: The zoo's settings of the frozen protocols. The heads train for 5 epochs on the 10,000
#: training images (the paper's code: 50 and 100 on CIFAR-10's 50,000; 5 fits the 18
#: blocks of Table 3 over 3 seeds into about an hour of 2 CPU cores), their lr
#: multiplied by 0.2 at the paper's epochs scaled to 5 (:func:`.frozen_heads.milestones_for`:
#: non-linear after epochs 2, 4, 5; conv after 2, 4, 4), the conv head's NIN block 192
#: wide, batches of 128. Each head is trained once and scored on val and on test.
OPTIONS = Options(max_dims=2500, knn_topk=(1, ), nonlinear_epochs=5, conv_epochs=5,
                  conv_width=192, head_batch_size=128)


def load(key: str, seed: int = 0, checkpoint: Optional[str] = None):
    """``(cfg, model, checkpoint, whole)`` of zoo model ``key`` returning every level: a
    random backbone drawn with ``seed``, or the weights of ``checkpoint`` (default:
    :func:`.zoo.checkpoint_of` ``seed``); ``whole``: the RotNet head is the checkpoint's
    (or the model is random), not a fresh one beside a backbone-only file. ValueError
    naming the checkpoint when it records another seed (the rows would record the wrong
    one)."""
    model_def = zoo.MODELS[key]
    cfg = Config.fromfile(model_def.evaluated_config)
    if model_def.kind != 'random':
        checkpoint = require_seed(checkpoint or zoo.checkpoint_of(key, seed), seed)
    # a supervised classifier's backbone goes into the RotNet config without its head
    model, whole = load_model(cfg, checkpoint, seed=seed,
                              backbone_only=model_def.kind == 'supervised')
    return cfg, model, checkpoint, whole


def frozen_rows(key: str, protocols: Sequence[str], args, sets: Dict,
                checkpoint: Optional[str] = None, setting_suffix: str = '',
                rotation: bool = True) -> List[Dict]:
    """Rotation accuracy (rotation and random models whose RotNet head is loaded,
    unless ``rotation`` is False) and the frozen-feature ``protocols`` of zoo model
    ``key`` on ``args.split``: the linear probe, k-NN and heads at every level, the SVMs
    at the chosen one (``args.svm_levels``). With ``args.test_samples`` every setting
    ends in ``test=N``."""
    cfg, model, checkpoint, whole = load(key, args.seed, checkpoint)
    source = provenance(zoo.MODELS[key].evaluated_config, checkpoint)
    make = row_maker(key, args.seed, args.split, source)
    subset = test_subset(args)

    def row(protocol, level, setting, metric, value, **kw):
        setting = ', '.join(s for s in (setting, setting_suffix, subset) if s)
        return make(protocol, level, setting, metric, value, **kw)
    rows = []
    if rotation and whole and zoo.MODELS[key].kind in ('rotation', 'random'):
        rows.append(row('rotation_accuracy', None, '', 'top1', rotation_accuracy(
            model, build_eval_loader(None, None, dataset=sets['test']))))
    names = level_names(cfg)
    every_level = [p for p in protocols if p in ('linear_probe', 'knn') + zoo.HEADS]
    svms = [p for p in protocols if p in ('svm', 'low_shot')]
    common = dict(checkpoint=checkpoint, seed=None if checkpoint else args.seed,
                  options=OPTIONS, model_cfg=cfg.model, label=f'[zoo] {key}')
    if every_level:
        rows += evaluate_features(model, sets, every_level, row, args.cache_dir, names,
                                  **common)
    if svms:
        levels = names if args.svm_levels == 'all' else \
            [chosen_level(key, len(sets['train']))]
        rows += evaluate_features(model, sets, svms, row, args.cache_dir, names,
                                  levels=levels, **common)
    return rows


def test_subset(args) -> str:
    """``'test=N'`` when ``args.test_samples`` scores on the first N images only, else
    ``''``: the last part of the setting of every row such a run makes."""
    return f'test={args.test_samples}' if args.test_samples else ''


def subset_of(setting: str) -> str:
    """The ``'test=N'`` part of a row's setting, ``''`` when it has none."""
    return next((p for p in setting.split(', ') if p.startswith('test=')), '')


def measured(key: str, protocol: str, args, checkpoint: Optional[str]) -> bool:
    """Whether the rows file holds rows of ``protocol`` for ``key`` on ``args.split``
    with ``args.seed`` (on as many images, :func:`test_subset`), measured on the same
    checkpoint (any, for ``per_epoch``)."""
    if not osp.isfile(zoo.ROWS):
        return False
    row_protocol = 'linear_probe' if protocol == 'per_epoch' else protocol
    rows = select(read_rows(zoo.ROWS), model=key, seed=args.seed, split=args.split,
                  protocol=row_protocol)
    rows = [r for r in rows if ('epoch=' in r['setting']) == (protocol == 'per_epoch')
            and subset_of(r['setting']) == test_subset(args)]
    if protocol == 'per_epoch':
        return bool(rows)
    sha = None if checkpoint is None else file_sha256(checkpoint)
    return bool(rows) and all(r['provenance']['checkpoint_sha256'] == sha for r in rows)


def chosen_level(key: str, train_samples: int) -> str:
    """The level of ``key`` whose linear probe has the best mean over seeds on the
    validation split, from the rows file; ValueError when there are no such rows."""
    rows = read_rows(zoo.ROWS) if osp.isfile(zoo.ROWS) else []
    rows = select(rows, model=key, protocol='linear_probe', split='val',
                  setting=f'train={train_samples}')
    if not rows:
        raise ValueError(f'{key}: no validation rows of the linear probe in {zoo.ROWS} to '
                         'choose the SVM level on; run tools/zoo/evaluate.py --split val '
                         f'--protocols linear_probe --models {key} for each seed first')
    return choose_levels(rows, 'val')[key]


def per_epoch_rows(key: str, args, sets: Dict) -> List[Dict]:
    """Rotation accuracy and linear probe of every epoch's checkpoint (paper Fig. 5a)."""
    rows = []
    paths = sorted(glob.glob(osp.join(zoo.work_dir(key, args.seed), 'epoch_*.pth')),
                   key=lambda p: int(p.rsplit('_', 1)[1][:-4]))
    for path in paths:
        epoch = int(path.rsplit('_', 1)[1][:-4])
        rows += frozen_rows(key, ['linear_probe'], args, sets, path, f'epoch={epoch}')
        print(f'[zoo] {key} seed {args.seed} epoch {epoch} done', flush=True)
    return rows


def check_backbone_fits_config(config: str, backbone: str) -> None:
    """Load ``backbone`` strictly into the backbone of ``config`` (ValueError naming the
    file and the keys at fault): tools/train.py loads it through init_cfg=Pretrained,
    which would only log keys that do not match."""
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    module = MODELS.build(dict(cfg.model.backbone, init_cfg=None))
    print(f'[zoo] {load_backbone(module, backbone)} (fits {config})', flush=True)


def fine_tune_config(fraction: str) -> str:
    return f'{zoo.ZOO_CONFIGS}/finetune_nin3b-w48_1xb64_fashion-mnist-{fraction}.py'


def fine_tune(key: str, fraction: str, seed: int = 0) -> float:
    """Fine-tune the whole network of ``key`` (pretrained with ``seed``) on ``fraction``
    (``'1pct'`` or ``'10pct'``) of the labels, seeded with ``seed``; top-1 on test."""
    from ..fileio import read_scalars
    config = fine_tune_config(fraction)
    out_dir = osp.join(zoo.WORK_ROOT, 'finetune', f'seed{seed}', f'{key}-{fraction}')
    if zoo.MODELS[key].kind == 'random':
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
    scalars = read_scalars(out_dir, last_run=True)
    return [r['accuracy/top1'] for r in scalars if 'accuracy/top1' in r][-1]


def fine_tune_rows(key: str, args) -> List[Dict]:
    rows = []
    for fraction in ('1pct', '10pct'):
        source = provenance(fine_tune_config(fraction), zoo.checkpoint_of(key, args.seed))
        row = row_maker(key, args.seed, args.split, source)
        rows.append(row('fine_tune', None, f'labels={fraction[:-3]}%', 'top1',
                        fine_tune(key, fraction, args.seed), split='test'))
    return rows


def pretrained_on_validation(key: str, probe_samples: int) -> Optional[str]:
    """Why ``key`` cannot be scored on the validation images (its pretraining config
    trains on some of them), or None when it can."""
    config = zoo.MODELS[key].config
    if config is None:
        return None
    try:
        validation_indices(Config.fromfile(config), probe_samples)
    except ValueError as e:
        return f'{config}: {e}'
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tools/zoo/evaluate.py',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', default=None, choices=list(zoo.MODELS),
                        help=f'default: all of them but {" ".join(zoo.EXTRA)} (with '
                        '--split val: those whose pretraining did not see the validation '
                        'images)')
    parser.add_argument('--protocols', nargs='+', default=None, choices=ALL,
                        help=f'default: {" ".join(DEFAULT)} (with --split val: '
                        f'{" ".join(p for p in zoo.ON_VALIDATION if p in DEFAULT)}); the '
                        f'heads ({" ".join(zoo.HEADS)}) run only when named')
    parser.add_argument('--train-samples', type=int, default=10000)
    parser.add_argument('--svm-samples', type=int, default=2000)
    parser.add_argument('--test-samples', type=int, default=None,
                        help='score on the first N images of --split only (quick checks; '
                        'the rows\' setting ends in test=N); default: all of them')
    parser.add_argument('--svm-levels', choices=('chosen', 'all'), default='chosen',
                        help='SVMs at the level the linear probe chose on the validation '
                        'split (needs its validation rows), or at every level')
    parser.add_argument('--split', choices=('test', 'val'), default='test')
    parser.add_argument('--seed', type=int, default=0,
                        help='the replicate: the random backbone is drawn with it, and the '
                        'pretrained models are read from their run with this seed')
    parser.add_argument('--skip-done', action='store_true',
                        help='skip each model and protocol whose rows the rows file holds '
                        'already for this seed, split and checkpoint')
    parser.add_argument('--cache-dir', default=osp.join(zoo.WORK_ROOT, 'feature_cache'),
                        help='where extracted features are kept and looked up')
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    from mmengine.logging import MMLogger
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.protocols is None:
        args.protocols = [p for p in DEFAULT
                          if args.split == 'test' or p in zoo.ON_VALIDATION]
    elif args.split == 'val' and set(args.protocols) - set(zoo.ON_VALIDATION):
        parser.error(f'--split val measures {" ".join(zoo.ON_VALIDATION)} only (what the '
                     'choices are made on)')
    MMLogger.get_instance('zoo', log_level='WARNING')
    models = args.models or [k for k in zoo.MODELS if k not in zoo.EXTRA]
    if args.split == 'val':
        probe_samples = max(args.train_samples, args.svm_samples)
        seen = {k: pretrained_on_validation(k, probe_samples) for k in models}
        seen = {k: reason for k, reason in seen.items() if reason}
        if seen and args.models is not None:
            parser.error('; '.join(f'{k} cannot be scored on the validation images: '
                                   f'{reason}' for k, reason in seen.items()))
        for key, reason in seen.items():
            print(f'[zoo] {key} left out of --split val: {reason}', flush=True)
        models = [k for k in models if k not in seen]
    sets = image_sets(Config.fromfile(zoo.ROTNET_CONFIG), args.split, args.train_samples,
                      args.svm_samples, args.test_samples)
    for key in models:
        start = time.time()
        wanted = [p for p in args.protocols if p in zoo.MODELS[key].protocols]
        if args.skip_done:
            checkpoint = zoo.checkpoint_of(key, args.seed)
            done = [p for p in wanted if measured(key, p, args, checkpoint)]
            wanted = [p for p in wanted if p not in done]
            if done:
                print(f'[zoo] {key} seed {args.seed} {args.split}: {done} measured already',
                      flush=True)
        frozen = [p for p in wanted if p in zoo.FROZEN]
        heads = [p for p in wanted if p in zoo.HEADS]
        steps = [lambda: frozen_rows(key, frozen, args, sets)] if frozen else []
        for index, head in enumerate(heads):  # the long ones: each saved once done
            steps.append(functools.partial(frozen_rows, key, [head], args, sets,
                                           rotation=not frozen and index == 0))
        if 'per_epoch' in wanted:
            steps.append(lambda: per_epoch_rows(key, args, sets))
        if 'fine_tune' in wanted:
            steps.append(lambda: fine_tune_rows(key, args))
        for step in steps:  # each step's rows are saved before the next one starts
            update_rows(zoo.ROWS, step())
        print(f'[zoo] {key} seed {args.seed} {args.split}: {wanted} done in '
              f'{time.time() - start:.0f} s', flush=True)
