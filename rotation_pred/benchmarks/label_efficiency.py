"""The label-efficiency curve on Fashion-MNIST (the paper's Fig. 5b): top-1 against the
number of labelled images per class, K, for four ways of using K x 10 labels:
``tools/zoo/label_efficiency.py``.

    python tools/zoo/label_efficiency.py [--ks 20 100 400 1000 all] [--seeds 0 1 2] \\
        [--methods conv scratch finetune s4l] [--steps 1600 | --steps conv=3000 ...] \\
        [--lr conv=0.1 ...] [--rotation-weight 1.0] [--precision auto|float32] \\
        [--split test|val] [--eval-images N] [--skip-done] \\
        [--figure docs/figures/label_efficiency.png] [--table FILE.md]

For every seed S and every K the labelled images are :func:`labelled_subset`: K images
of every class drawn with S from train images 0-49,999 (never from the validation split,
train images 50,000-59,999), nested across K, the same for every method. Methods, and
the result rows they give (model / protocol / level; setting ``k=K lr=LR [w=W]``
(:func:`row_setting`), metric ``top1``):

=========  =================================================  ===========================
method     what is trained on the labelled images             row
=========  =================================================  ===========================
conv       the paper's conv head on the frozen block-2 maps   rotnet / conv / block2
           of the zoo's seed-S RotNet (plain torch,
           :mod:`.frozen_heads`, trained by steps)
scratch    the supervised NIN (the zoo's fine-tuning config)  random / fine_tune / None
           from a random initialisation, ``tools/train.py``
finetune   the same config from the RotNet backbone (loaded   rotnet / fine_tune / None
           strictly first), ``tools/train.py``
s4l        S4L-Rotation (its Fashion-MNIST config): the       s4l / s4l / None
           labelled images plus the rest of train images
           0-49,999 unlabelled, ``tools/train.py``
=========  =================================================  ===========================

Every K gets the same number of optimisation steps (``--steps``, per method): the
network runs are iteration-based with the base config's learning-rate schedule
stretched to that many steps (:func:`training_config`); the conv head draws batches
from one random order of the images after another (:func:`.frozen_heads.train_head`
with ``steps``). Scores: the first ``--eval-images`` images (default all) of the test
split, or with ``--split val`` of the validation images (where settings are chosen).

Settings are chosen on the validation split, never on test: ``--lr`` and
``--rotation-weight`` take comma-separated candidates, each measured with ``--split
val`` into rows of its own; ``--split test --choose-on-val`` then runs, per method, the
candidate whose validation rows have the best mean top-1 (:func:`choose_on_val`).
Several candidates on the test split without ``--choose-on-val`` are refused.

Rows go to ``--rows`` (default ``zoo/results/label_efficiency.jsonl``), one method at a
time; a rerun replaces the rows it measures again. Each row's provenance also holds the
method's ``settings`` (steps, lr, batch, rotation weight, images scored), the
``subset`` (its size and the sha256 of its indices) and the ``work_dir``.
``--skip-done`` skips a (method, seed, K, split) whose row the file holds with the same
settings, subset and RotNet checkpoint. The network runs write checkpoints into
``--work-root``/seed<S>/k<K>/<method>-<settings>/ and resume from the last one; a
finished run is only scored again. The frozen maps of the conv head are cached in
``--work-root``/feature_cache (:mod:`.extraction`).

``--figure`` draws top-1 (on ``--split``) against K (log axis), one line per method
with a band of one standard deviation over the seeds; ``--table`` writes the markdown
table (methods x K, ``mean ± std (n)``); both read the rows file (``--no-run``: draw
only).
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

from . import zoo
from ..datasets.subset import IndexSubset
from ..fileio import REPO_ROOT, write_atomically

METHODS = ('conv', 'scratch', 'finetune', 's4l')
#: The (model, protocol, level) of each method's rows.
ROW_NAMES = {'conv': ('rotnet', 'conv', 'block2'),
             'scratch': ('random', 'fine_tune', None),
             'finetune': ('rotnet', 'fine_tune', None),
             's4l': ('s4l', 's4l', None)}
TITLES = {'conv': 'RotNet block 2 + conv head (frozen)',
          'scratch': 'Supervised NIN from scratch',
          'finetune': 'RotNet fine-tuned',
          's4l': 'S4L-Rotation'}
KS = ('20', '100', '400', '1000', 'all')
ROWS = osp.join(zoo.RESULTS, 'label_efficiency.jsonl')
WORK_ROOT = 'work_dirs/label_efficiency'
#: The supervised NIN of scratch and finetune, and S4L-Rotation's config.
NETWORK_CONFIG = f'{zoo.ZOO_CONFIGS}/finetune_nin3b-w48_1xb64_fashion-mnist-10pct.py'
S4L_CONFIG = 'configs/s4l-rotation_nin3b-w48_1xb64_fashion-mnist-k100.py'
#: The RotNet level the conv head reads: block 2 (index 1), as in the paper.
CONV_LEVEL = 1
CONV_BATCH = 128
CONV_WIDTH = 192
DEFAULT_STEPS = {'conv': 1600, 'scratch': 1600, 'finetune': 1600, 's4l': 1600}
#: The base configs' learning rates (conv: the paper code's head lr).
DEFAULT_LR = {'conv': 0.1, 'scratch': 0.01, 'finetune': 0.01, 's4l': 0.1}
SUBSET_TYPE = f'{__name__}.IndexFileSubset'


class IndexFileSubset(IndexSubset):
    """The images of ``dataset`` whose indices the JSON file ``index_file`` lists (a list
    of ints), in that order: a labelled subset that a training config names by its file,
    however many images it has.

    It is built by its full dotted name (``type=SUBSET_TYPE``, MMEngine imports the
    module), so nothing is added to the registries. ``dataset`` and ``indices`` are
    attributes (:class:`IndexSubset`).
    """

    def __init__(self, dataset, index_file: str):
        super().__init__(dataset)
        with open(index_file) as f:
            indices = json.load(f)
        if not isinstance(indices, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in indices):
            raise ValueError(f'{index_file}: not a JSON list of image indices')
        bad = [i for i in indices if not 0 <= i < len(self.dataset)]
        if bad or not indices:
            raise ValueError(f'{index_file}: {len(indices)} indices, {len(bad)} outside the '
                             f'{len(self.dataset)} images of the data set (first: {bad[:3]})')
        self.indices = np.asarray(indices, dtype=np.int64)


# ------------------------------------------------------------------------ settings
def parse_k(text: str):
    """``'all'`` or a positive int from a ``--ks`` word (ArgumentTypeError otherwise)."""
    if text == 'all':
        return 'all'
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"K {text!r}: a positive int or 'all'")
    return value


def per_method(words: Optional[Sequence[str]], defaults: Dict[str, float], kind,
               option: str, several: bool = False) -> Dict:
    """``{method: value}``: ``defaults`` overridden by ``words``, either one value for
    every method (``['800']``) or ``method=value`` pairs (``['conv=3000', 's4l=800']``).
    With ``several``, each value is a comma-separated list of candidates
    (``['conv=0.1,0.03']``) and the result maps each method to a tuple of them.
    ValueError naming ``option`` for an unknown method or a malformed word."""
    def parse(text):
        try:
            values = tuple(kind(v) for v in text.split(',')) if several else kind(text)
        except ValueError:
            raise ValueError(f'{option} {text!r}: not a number') from None
        return values

    values = {m: (v, ) if several else v for m, v in defaults.items()}
    if not words:
        return values
    if len(words) == 1 and '=' not in words[0]:
        return {m: parse(words[0]) for m in values}
    for word in words:
        method, eq, value = word.partition('=')
        if not eq or method not in values:
            raise ValueError(f'{option} {word!r}: use one value, or METHOD=VALUE with '
                             f'METHOD one of {", ".join(values)}')
        values[method] = parse(value)
    return values


#: The settings chosen on the validation split (``--choose-on-val``).
TUNED = ('lr', 'rotation_weight')


def settings_grid(method: str, args) -> List[Dict]:
    """The candidate settings of ``method`` (JSON types), one per learning rate of
    ``--lr`` (and per weight of ``--rotation-weight`` for ``s4l``): what its number
    depends on; they name its work dir and are compared by ``--skip-done``."""
    grid = []
    weights = args.rotation_weight if method == 's4l' else (None, )
    for lr in args.lr[method]:
        for weight in weights:
            settings = dict(steps=int(args.steps[method]), lr=float(lr))
            if method == 'conv':
                settings.update(batch_size=CONV_BATCH, width=CONV_WIDTH)
            else:
                settings.update(precision=args.precision)
            if weight is not None:
                settings.update(rotation_weight=float(weight))
            settings.update(eval_images=args.eval_images)
            grid.append(settings)
    return grid


def choose_on_val(rows: List[Dict], method: str, grid: List[Dict]) -> Dict:
    """The candidate of ``grid`` whose validation rows (``split='val'``, any K, seed and
    number of images scored) have the highest mean top-1; ValueError naming the method
    when no candidate has one."""
    model, protocol, level = ROW_NAMES[method]
    scored = []
    for settings in grid:
        tuned = {key: settings.get(key) for key in TUNED}
        values = [r['value'] for r in rows if
                  (r['model'], r['protocol'], r['level'], r['split'], r['metric']) ==
                  (model, protocol, level, 'val', 'top1') and
                  r['provenance'].get('settings', {}).get('steps') == settings['steps'] and
                  {key: r['provenance']['settings'].get(key) for key in TUNED} == tuned]
        if values:
            scored.append((statistics.fmean(values), -len(scored), settings))
    if not scored:
        raise ValueError(f'--choose-on-val: no validation rows of {method} with '
                         f'{grid[0]["steps"]} steps and these settings; run with --split '
                         'val first')
    return max(scored, key=lambda item: item[:2])[2]


def run_name(method: str, settings: Dict) -> str:
    """The work dir name of a network run:
    ``<method>-steps<N>-lr<lr>[-w<w>][-<precision>]`` (precision when not auto)."""
    name = f'{method}-steps{settings["steps"]}-lr{settings["lr"]:g}'
    if 'rotation_weight' in settings:
        name += f'-w{settings["rotation_weight"]:g}'
    if settings.get('precision', 'auto') != 'auto':
        name += f'-{settings["precision"]}'
    return name


# -------------------------------------------------------------------------- images
def _rotnet_cfg():
    from mmengine.config import Config
    return Config.fromfile(osp.join(REPO_ROOT, zoo.ROTNET_CONFIG))


def train_labels(cfg) -> np.ndarray:
    """(60,000,) classes of the train split of ``cfg``'s training data set, every image."""
    import copy

    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    source = copy.deepcopy(cfg.train_dataloader.dataset)
    return np.asarray(DATASETS.build(dict(source, indices=None, pipeline=[],
                                          serialize_data=False)).get_gt_labels())


def labelled_subset(labels: np.ndarray, k, seed: int, validation: range) -> np.ndarray:
    """Sorted indices of ``k`` images of every class (or all, ``k='all'``) drawn with
    ``seed`` from the train images before ``validation`` (:func:`k_per_class`); raises
    ValueError naming the class and its count when ``k`` is larger, and AssertionError
    if a chosen image is a validation image."""
    from ..datasets.class_balanced import k_per_class
    pool = range(validation.start)
    subset = k_per_class(labels, k, seed, pool=pool,
                         where=f'outside the validation split (train images 0-'
                               f'{validation.start - 1:,})')
    overlap = set(subset.tolist()) & set(validation)
    assert not overlap, f'the labelled subset holds validation images {sorted(overlap)[:5]}'
    return subset


def eval_dataset(cfg, split: str, images: Optional[int]):
    """The images scored: the first ``images`` (default all) of the test split, or of the
    validation images (train images 50,000-59,999) with ``split='val'``."""
    from .loading import build_eval_dataset, validation_indices
    if split == 'val':
        val = list(validation_indices(cfg, 0))
        return build_eval_dataset(cfg, 'train', val[:images] if images else val)
    if split != 'test':
        raise ValueError(f"split {split!r}: use 'test' or 'val'")
    return build_eval_dataset(cfg, 'test', images)


def write_subset(path: str, subset: np.ndarray) -> None:
    """Write ``subset`` as a JSON list to ``path``; a file already there must hold the
    same list (ValueError naming it: its runs trained on other images)."""
    listed = [int(i) for i in subset]
    if osp.isfile(path):
        with open(path) as f:
            if json.load(f) != listed:
                raise ValueError(f'{path} lists other images than this subset: the runs '
                                 'beside it trained on them; move them away')
        return
    os.makedirs(osp.dirname(path), exist_ok=True)
    write_atomically(path, lambda f: f.write(json.dumps(listed)), binary=False)


def subset_sha256(subset: np.ndarray) -> str:
    import hashlib
    return hashlib.sha256(json.dumps([int(i) for i in subset]).encode()).hexdigest()


# ----------------------------------------------------------------------- RotNet
def rotnet_checkpoint(seed: int) -> str:
    """The zoo's final RotNet checkpoint of ``seed``; for seed 0 without that run, the
    shipped seed-0 backbone (``zoo/weights``). FileNotFoundError otherwise; ValueError
    when the file records another seed."""
    from .checkpoint import require_seed
    return require_seed(zoo.checkpoint_of('rotnet', seed), seed)


# ---------------------------------------------------------------------- methods
def conv_top1(subset: np.ndarray, eval_set, checkpoint: str, seed: int, settings: Dict,
              cache_dir: str) -> float:
    """Top-1 (%) on ``eval_set`` of the conv head trained for ``settings['steps']`` steps
    on the frozen block-2 maps of the RotNet ``checkpoint`` of the ``subset`` images."""
    import torch

    from .extraction import extract
    from .frozen_heads import build_head, head_accuracy, milestones_for, train_head
    from .loading import build_eval_dataset, build_model
    cfg = _rotnet_cfg()
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    model = build_model(cfg, checkpoint, (CONV_LEVEL, ), seed=seed, backbone_only=True)
    model = model.to(device)
    common = dict(checkpoint=checkpoint, pooling='none', model_cfg=cfg.model)
    train = extract(model, build_eval_dataset(cfg, 'train', subset), cache_dir,
                    label=f'[label_efficiency] block2 maps ({len(subset)} labelled)',
                    **common)
    test = extract(model, eval_set, cache_dir,
                   label=f'[label_efficiency] block2 maps ({len(eval_set)} scored)',
                   **common)
    map_shape = train.map_shape(0)
    head = build_head('conv', map_shape, len(eval_set.metainfo['classes']),
                      settings['width'], seed)
    steps = settings['steps']
    train_head(head, train.level(0), train.labels, steps=steps, lr=settings['lr'],
               milestones=milestones_for('conv', steps), map_shape=map_shape,
               batch_size=settings['batch_size'], device=device, seed=seed)
    return head_accuracy(head, test.level(0), test.labels, map_shape)


def training_config(method: str, subset_file: str, seed: int, settings: Dict,
                    backbone: Optional[str], checkpoint_interval: int, all_labelled: bool):
    """The config of a network run (``scratch``, ``finetune`` or ``s4l``), as an MMEngine
    ``Config``: the base config (:data:`NETWORK_CONFIG` or :data:`S4L_CONFIG`) with

    * the labelled images: :class:`IndexFileSubset` of ``subset_file`` over train images
      0-49,999; for ``s4l`` the unlabelled images are the rest of those (with every
      image labelled, ``all_labelled``, the labelled images themselves);
    * ``settings['steps']`` iterations, lr ``settings['lr']``, S4L's rotation weight, the
      base schedule stretched to the steps (the fine-tuning config's cosine over all
      steps; S4L's warm-up over the first 1/6 (at most 50 steps) and x0.2 at 2/3 and
      5/6 of the steps), images in one random order after another (an infinite
      sampler), the mixed precision ``settings['precision']`` and seed ``seed``, no
      validation while training, a checkpoint every
      ``checkpoint_interval`` steps and at the end (the last one kept);
    * the backbone: random (``backbone`` None) or loaded from ``backbone``.
    """
    from mmengine.config import Config, ConfigDict
    steps = settings['steps']
    cfg = Config.fromfile(osp.join(REPO_ROOT, S4L_CONFIG if method == 's4l'
                                   else NETWORK_CONFIG))
    if method == 's4l':
        pool = cfg.train_dataloader.dataset.labelled.dataset
    else:
        pool = cfg.train_dataloader.dataset.dataset
    pool = ConfigDict(pool, indices=50000)
    labelled = ConfigDict(type=SUBSET_TYPE, index_file=osp.abspath(subset_file),
                          dataset=pool)
    if method == 's4l':
        cfg.train_dataloader.dataset.labelled = labelled
        cfg.train_dataloader.dataset.unlabelled = labelled if all_labelled else 'rest'
        cfg.model.rotation_weight = settings['rotation_weight']
        warmup = max(1, min(50, steps // 6))
        cfg.param_scheduler = [
            dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warmup),
            dict(type='MultiStepLR', by_epoch=False, gamma=0.2,
                 milestones=[max(1, 2 * steps // 3), max(1, 5 * steps // 6)])]
    else:
        cfg.train_dataloader.dataset = labelled
        cfg.model.backbone.init_cfg = None if backbone is None else \
            dict(type='Pretrained', checkpoint=osp.abspath(backbone))
        cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, begin=0,
                                    end=steps, T_max=steps)]
    cfg.optim_wrapper.optimizer.lr = settings['lr']
    cfg.optim_wrapper.type = 'MixedPrecisionOptimWrapper'
    cfg.optim_wrapper.dtype = settings['precision']
    # One endless stream of random orders: MMEngine's iteration loop pauses 2 s whenever
    # a finite loader ends, which with 200 labelled images would be every 3 steps.
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True, seed=seed)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=steps)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='AtomicCheckpointHook', by_epoch=False,
                                        interval=checkpoint_interval, max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=min(50, steps))
    cfg.log_processor = dict(by_epoch=False)
    cfg.randomness = dict(seed=seed)
    return cfg


def train_network(cfg, work_dir: str) -> str:
    """Train ``cfg`` with ``tools/train.py`` in a subprocess into ``work_dir`` (its
    config written there as ``config.py``), resuming from the work dir's last
    checkpoint; a run whose final checkpoint is there is not started. Returns the final
    checkpoint; RuntimeError naming the log when the run fails."""
    steps = cfg.train_cfg.max_iters
    final = osp.join(work_dir, f'iter_{steps}.pth')
    if osp.isfile(final):
        return final
    os.makedirs(work_dir, exist_ok=True)
    config = osp.join(work_dir, 'config.py')
    cfg.dump(config)
    log = osp.join(work_dir, 'train_stdout.log')
    with open(log, 'a') as out:
        done = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'),
                               config, '--work-dir', work_dir, '--resume'], cwd=REPO_ROOT,
                              stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0 or not osp.isfile(final):
        with open(log) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'training into {work_dir} failed (exit {done.returncode}); '
                           f'see {log}:\n{tail}')
    return final


def classifier_top1(config: str, checkpoint: str, eval_set) -> float:
    """Top-1 (%) on ``eval_set`` of the classifier of ``config`` (an ``ImageClassifier``
    or ``S4LRotation``) with the weights of ``checkpoint`` (strict)."""
    import torch
    from mmengine.config import Config

    from .loading import build_eval_loader, build_model
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None  # the checkpoint holds the trained backbone
    model = build_model(cfg, checkpoint)
    if torch.cuda.is_available():
        model = model.cuda()
    right = total = 0
    with torch.no_grad():
        for data in build_eval_loader(None, None, dataset=eval_set):
            for sample in model.test_step(data):
                right += int(int(sample.pred_label) == int(sample.gt_label))
                total += 1
    return 100.0 * right / total


# ---------------------------------------------------------------------- rows
def row_setting(k, settings: Dict) -> str:
    """The ``setting`` of a row: K and the tuned settings, ``'k=100 lr=0.01'`` (with
    `` w=1`` for S4L's rotation weight), so that candidates on val are rows apart."""
    text = f'k={k} lr={settings["lr"]:g}'
    if 'rotation_weight' in settings:
        text += f' w={settings["rotation_weight"]:g}'
    return text


def k_of(setting: str) -> str:
    """The K of a row's ``setting`` (``'100'`` or ``'all'``)."""
    return setting.split()[0].split('=', 1)[1]


def rows_done(rows: List[Dict], method: str, seed: int, k, split: str, settings: Dict,
              subset_sha: str, checkpoint_sha: Optional[str]) -> bool:
    """Whether ``rows`` hold the number of ``method`` for ``seed``, ``k`` and ``split``
    measured with ``settings`` on the same subset and RotNet checkpoint."""
    from .rows import select
    model, protocol, level = ROW_NAMES[method]
    found = select(rows, model=model, seed=seed, protocol=protocol, level=level,
                   setting=row_setting(k, settings), split=split, metric='top1')
    return any(r['provenance'].get('settings') == settings and
               r['provenance'].get('subset', {}).get('sha256') == subset_sha and
               r['provenance'].get('checkpoint_sha256') == checkpoint_sha for r in found)


def method_row(method: str, seed: int, k, split: str, top1: float, config: str,
               checkpoint: Optional[str], settings: Dict, subset: np.ndarray,
               work_dir: Optional[str], command: Optional[str]) -> Dict:
    """The result row of one measurement (see the module docstring)."""
    from .provenance import provenance, repo_path
    from .rows import make_row
    model, protocol, level = ROW_NAMES[method]
    source = provenance(config, checkpoint, command=command)
    source.update(settings=settings, work_dir=repo_path(work_dir),
                  subset=dict(k=k, images=len(subset), classes=10,
                              sha256=subset_sha256(subset)))
    return make_row(model, seed, protocol, level, row_setting(k, settings), split, 'top1',
                    top1, source)


# -------------------------------------------------------------- figure and table
def _k_order(setting: str):
    k = k_of(setting)
    return (1, 0) if k == 'all' else (0, int(k))


def curve_values(rows: List[Dict], split: str = 'test') -> Dict[str, Dict[str, List]]:
    """``{method: {'k=K': [values over seeds]}}`` of the rows on ``split``, K increasing
    ('all' last). On val, a method measured with several candidate settings is drawn
    with the one of the best mean top-1 (:func:`choose_on_val`'s choice); on test,
    several settings of one method are an error (ValueError), as is a seed with two
    rows at one K."""
    curves = {}
    for method in METHODS:
        model, protocol, level = ROW_NAMES[method]
        found = [r for r in rows if (r['model'], r['protocol'], r['level']) ==
                 (model, protocol, level) and r['split'] == split and
                 r['metric'] == 'top1' and r['setting'].startswith('k=')]
        candidates = {}
        for r in found:
            settings = r['provenance'].get('settings', {})
            key = tuple(settings.get(k) for k in ('steps', ) + TUNED)
            candidates.setdefault(key, []).append(r)
        if len(candidates) > 1 and split != 'val':
            raise ValueError(f'{method}: the {split} rows hold {len(candidates)} different '
                             'settings; measure one, chosen on val (--choose-on-val)')
        if candidates:
            found = max(candidates.values(),
                        key=lambda cell: statistics.fmean(r['value'] for r in cell))
        per_k = {}
        for r in sorted(found, key=lambda r: _k_order(r['setting'])):
            per_k.setdefault(f'k={k_of(r["setting"])}', []).append(r)
        for setting, cell in per_k.items():
            seeds = [r['seed'] for r in cell]
            if len(set(seeds)) != len(seeds):
                raise ValueError(f'{method} {setting} {split}: seed repeated in {seeds}')
        if per_k:
            curves[method] = {s: [r['value'] for r in cell] for s, cell in per_k.items()}
    return curves


def _per_class(rows: List[Dict], method: str, setting: str) -> float:
    """The x of a curve point: labelled images per class (K; for 'all' the subset's
    images over its classes)."""
    k = k_of(setting)
    if k != 'all':
        return float(k)
    model, protocol, level = ROW_NAMES[method]
    for r in rows:
        if (r['model'], r['protocol']) == (model, protocol) and k_of(r['setting']) == k:
            subset = r['provenance'].get('subset', {})
            return subset.get('images', 50000) / subset.get('classes', 10)
    return 5000.0


def draw_figure(rows: List[Dict], path: str, split: str = 'test') -> None:
    """Top-1 on ``split`` against labelled images per class (log x axis) into the PNG
    ``path``: one line per method (mean over seeds) with a band of one standard
    deviation. ValueError when the rows hold no such number."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    curves = curve_values(rows, split)
    if not curves:
        raise ValueError(f'no label-efficiency rows on the {split} split to draw')
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ticks = {}
    for method, per_k in curves.items():
        xs = [_per_class(rows, method, s) for s in per_k]
        means = [statistics.fmean(v) for v in per_k.values()]
        stds = [statistics.stdev(v) if len(v) > 1 else 0.0 for v in per_k.values()]
        line, = ax.plot(xs, means, 'o-', label=TITLES[method])
        ax.fill_between(xs, [m - s for m, s in zip(means, stds)],
                        [m + s for m, s in zip(means, stds)], color=line.get_color(),
                        alpha=0.2)
        ticks.update({x: s.split('=', 1)[1] for x, s in zip(xs, per_k)})
    ax.set_xscale('log')
    ax.set_xticks(sorted(ticks))
    ax.set_xticklabels([ticks[x] for x in sorted(ticks)])
    ax.minorticks_off()
    ax.set_xlabel('labelled images per class (K)')
    ax.set_ylabel(f'top-1 ({split}, %)')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc='lower right')
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def render_curve_table(rows: List[Dict], split: str = 'test', digits: int = 2) -> str:
    """Markdown: one line per method, one column per K, each cell ``mean ± std (n)``
    over the seeds (:func:`.render.format_cell`), ``—`` where nothing was measured."""
    from .render import MISSING, format_cell
    from .tables import markdown_table
    curves = curve_values(rows, split)
    settings = sorted({s for per_k in curves.values() for s in per_k}, key=_k_order)
    body = [[TITLES[m]] + [format_cell(per_k[s], digits) if s in per_k else MISSING
                           for s in settings] for m, per_k in curves.items()]
    return markdown_table([f'Method (top-1 %, {split})'] + [
        f'K={s.split("=", 1)[1]}' for s in settings], body)


def render_val_table(rows: List[Dict], digits: int = 2) -> str:
    """Markdown: the candidate settings measured on the validation split, one line per
    method, settings and K (top-1 ``mean ± std (n)`` over seeds), the chosen ones (best
    mean per method and steps, :func:`choose_on_val`) in bold."""
    from .render import format_cell
    from .tables import markdown_table
    body = []
    for method in METHODS:
        model, protocol, level = ROW_NAMES[method]
        found = [r for r in rows if (r['model'], r['protocol'], r['level'], r['split']) ==
                 (model, protocol, level, 'val') and r['metric'] == 'top1']
        cells = {}
        for r in found:
            cells.setdefault((r['provenance']['settings']['steps'], r['setting']),
                             []).append(r['value'])
        best = {}
        for (steps, setting), values in cells.items():
            mean = statistics.fmean(values)
            if steps not in best or mean > best[steps][0]:
                best[steps] = (mean, setting)
        for (steps, setting), values in sorted(cells.items()):
            chosen = best[steps][1] == setting
            text = format_cell(values, digits)
            body.append([TITLES[method], str(steps), setting,
                         f'**{text}**' if chosen else text])
    return markdown_table(['Method', 'Steps', 'Setting', 'Top-1 % (val)'], body)


# --------------------------------------------------------------------- driver
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tools/zoo/label_efficiency.py',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--ks', nargs='+', type=parse_k, default=[parse_k(k) for k in KS],
                        help="labelled images per class, or 'all' (train images "
                        '0-49,999)')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--methods', nargs='+', choices=METHODS, default=list(METHODS))
    parser.add_argument('--steps', nargs='+', default=None, metavar='[METHOD=]N',
                        help='optimisation steps, the same for every K: one number for '
                        f'every method or METHOD=N (default {DEFAULT_STEPS})')
    parser.add_argument('--lr', nargs='+', default=None, metavar='[METHOD=]LR[,LR...]',
                        help=f'learning rate, or candidates to choose from on val '
                        f'(default {DEFAULT_LR})')
    parser.add_argument('--rotation-weight', default=(1.0, ), metavar='W[,W...]',
                        type=lambda text: tuple(float(w) for w in text.split(',')),
                        help="S4L-Rotation's weight of the rotation loss, or candidates")
    parser.add_argument('--choose-on-val', action='store_true',
                        help='of the candidate settings, run the one with the best mean '
                        'top-1 in the validation rows of --rows')
    parser.add_argument('--precision', choices=('auto', 'float32'), default='auto',
                        help="the network runs' mixed precision (auto: bf16 on a CPU or "
                        'GPU with native bf16, fp16 on other GPUs, else fp32; '
                        'rotation_pred/mixed_precision.py)')
    parser.add_argument('--split', choices=('test', 'val'), default='test',
                        help='score on the test split, or on the validation images (train '
                        'images 50,000-59,999), where settings are chosen')
    parser.add_argument('--eval-images', type=int, default=None,
                        help='score on the first N images of --split only (default: all)')
    parser.add_argument('--rows', default=ROWS)
    parser.add_argument('--work-root', default=WORK_ROOT)
    parser.add_argument('--checkpoint-interval', type=int, default=500,
                        help='steps between the checkpoints of a network run')
    parser.add_argument('--skip-done', action='store_true',
                        help='skip what the rows file holds for the same settings')
    parser.add_argument('--figure', default=None,
                        help='draw the curve (rows of --split) into this PNG')
    parser.add_argument('--table', default=None,
                        help="write the markdown table (rows of --split) to this file "
                        "('-': print it)")
    parser.add_argument('--no-run', action='store_true',
                        help='measure nothing: only draw --figure / --table from --rows')
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line, with ``steps`` as ``{method: steps}`` and ``lr`` as
    ``{method: (candidates, )}``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.steps = per_method(args.steps, DEFAULT_STEPS, int, '--steps')
        args.lr = per_method(args.lr, DEFAULT_LR, float, '--lr', several=True)
    except ValueError as e:
        parser.error(str(e))
    if any(v < 1 for v in args.steps.values()) or \
            any(v <= 0 for lrs in args.lr.values() for v in lrs):
        parser.error('--steps must be >= 1 and --lr > 0')
    if any(w < 0 for w in args.rotation_weight):
        parser.error('--rotation-weight must be >= 0')
    several = [m for m in args.methods if len(args.lr[m]) > 1 or
               (m == 's4l' and len(args.rotation_weight) > 1)]
    if several and args.split == 'test' and not args.choose_on_val:
        parser.error(f'several candidate settings for {", ".join(several)}: measure them '
                     'with --split val, then choose with --choose-on-val (never on test)')
    if args.eval_images is not None and args.eval_images < 1:
        parser.error('--eval-images must be >= 1')
    if args.checkpoint_interval < 1:
        parser.error('--checkpoint-interval must be >= 1')
    if args.no_run and not (args.figure or args.table):
        parser.error('--no-run draws only: give --figure or --table')
    return args


def measure(method: str, seed: int, k, subset: np.ndarray, subset_file: str, args,
            eval_set, rotnet: Optional[str], settings: Dict):
    """``(top1, config, checkpoint, work_dir)`` of one method on one subset: the number,
    the config and pretrained checkpoint its row names, and its run's work dir."""
    from .checkpoint import extract_backbone
    if method == 'conv':
        top1 = conv_top1(subset, eval_set, rotnet, seed, settings,
                         osp.join(args.work_root, 'feature_cache'))
        return top1, zoo.ROTNET_CONFIG, rotnet, None
    work_dir = osp.join(args.work_root, f'seed{seed}', f'k{k}', run_name(method, settings))
    backbone = None
    if method == 'finetune':
        from .zoo_evaluate import check_backbone_fits_config
        from ..fileio import file_sha256
        backbone = osp.join(args.work_root, 'backbones',
                            f'rotnet-seed{seed}-{file_sha256(rotnet)[:12]}.pth')
        if not osp.isfile(backbone):
            os.makedirs(osp.dirname(backbone), exist_ok=True)
            extract_backbone(rotnet, backbone)
        check_backbone_fits_config(osp.join(REPO_ROOT, NETWORK_CONFIG), backbone)
    cfg = training_config(method, subset_file, seed, settings, backbone,
                          args.checkpoint_interval, all_labelled=k == 'all')
    checkpoint = train_network(cfg, osp.abspath(work_dir))
    top1 = classifier_top1(osp.join(work_dir, 'config.py'), checkpoint, eval_set)
    config = S4L_CONFIG if method == 's4l' else NETWORK_CONFIG
    return top1, config, rotnet if method == 'finetune' else None, work_dir


def run(args, command: Optional[str] = None) -> int:
    """Measure every seed, K and method of ``args`` into ``args.rows``; returns how many
    measurements ran (those skipped by ``--skip-done`` do not count)."""
    from ..fileio import file_sha256
    from .loading import validation_indices
    from .rows import read_rows, update_rows
    cfg = _rotnet_cfg()
    needs_rotnet = {'conv', 'finetune'} & set(args.methods)
    rotnets = {s: rotnet_checkpoint(s) if needs_rotnet else None for s in args.seeds}
    rotnet_shas = {s: None if path is None else file_sha256(path)
                   for s, path in rotnets.items()}
    validation = validation_indices(cfg, 0)
    labels = train_labels(cfg)
    grids = {m: settings_grid(m, args) for m in args.methods}
    if args.choose_on_val:
        rows = read_rows(args.rows) if osp.isfile(args.rows) else []
        grids = {m: [choose_on_val(rows, m, grid)] for m, grid in grids.items()}
        for m, (chosen, ) in grids.items():
            print(f'[label_efficiency] {m}: chosen on val: ' + ', '.join(
                f'{key} {chosen[key]}' for key in TUNED if key in chosen), flush=True)
    eval_set = None
    ran = 0
    for seed in args.seeds:
        for k in args.ks:
            subset = labelled_subset(labels, k, seed, validation)
            subset_file = osp.join(args.work_root, f'seed{seed}', f'k{k}', 'labelled.json')
            write_subset(subset_file, subset)
            sha = subset_sha256(subset)
            for method, settings in ((m, c) for m in args.methods for c in grids[m]):
                uses_rotnet = method in ('conv', 'finetune')
                rotnet = rotnets[seed] if uses_rotnet else None
                rotnet_sha = rotnet_shas[seed] if uses_rotnet else None
                where = f'seed {seed} k={k} {method} {run_name(method, settings)} ' \
                    f'({args.split})'
                if args.skip_done and osp.isfile(args.rows) and rows_done(
                        read_rows(args.rows), method, seed, k, args.split, settings, sha,
                        rotnet_sha):
                    print(f'[label_efficiency] {where}: measured already', flush=True)
                    continue
                if eval_set is None:
                    eval_set = eval_dataset(cfg, args.split, args.eval_images)
                start = time.time()
                top1, config, checkpoint, work_dir = measure(
                    method, seed, k, subset, subset_file, args, eval_set, rotnet, settings)
                update_rows(args.rows, [method_row(
                    method, seed, k, args.split, top1, config, checkpoint, settings, subset,
                    work_dir, command)])
                ran += 1
                print(f'[label_efficiency] {where}: top-1 {top1:.2f} % '
                      f'({time.time() - start:.0f} s)', flush=True)
    return ran


def main(argv: Optional[Sequence[str]] = None) -> None:
    from mmengine.logging import MMLogger

    from .provenance import command_line
    from .rows import read_rows
    args = parse_args(argv)
    command = None if argv is None else command_line(
        [sys.executable, 'tools/zoo/label_efficiency.py'] + list(argv))
    MMLogger.get_instance('label_efficiency', log_level='WARNING')
    if not args.no_run:
        run(args, command)
    if args.figure or args.table:
        rows = read_rows(args.rows)
        if args.figure:
            draw_figure(rows, args.figure, args.split)
            print(f'[label_efficiency] {args.figure}', flush=True)
        if args.table:
            table = render_curve_table(rows, args.split)
            if args.table == '-':
                print(table)
            else:
                write_atomically(args.table, lambda f: f.write(table + '\n'), binary=False)
                print(f'[label_efficiency] {args.table}', flush=True)
