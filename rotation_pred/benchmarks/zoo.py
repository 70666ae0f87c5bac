"""The Fashion-MNIST model zoo as data: which models, from which configs, evaluated by
which protocols, and where their runs and results live (paths relative to the
repository root, where the zoo tools run)."""
import os.path as osp
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

ROTNET_CONFIG = 'configs/rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'
ZOO_CONFIGS = 'configs/fashion-mnist-zoo'
WORK_ROOT = 'work_dirs/zoo'
RESULTS = 'zoo/results'
ROWS = osp.join(RESULTS, 'rows.jsonl')
WEIGHTS = 'zoo/weights'  # the backbones shipped in the repository, one seed per model

FROZEN = ('linear_probe', 'knn', 'svm', 'low_shot')
#: The paper's classifiers trained on the frozen maps of every block (its Table 3: the
#: ``nonlinear`` and ``conv`` protocols of :mod:`.protocols`). They cost far more than
#: the other frozen protocols, so the zoo runs them only when asked for by name.
HEADS = ('nonlinear', 'conv')
#: What the zoo measures on the validation split: what its choices are made on.
ON_VALIDATION = ('linear_probe', 'knn') + HEADS
#: The models of the zoo's Table 3 (the paper's heads on frozen features), in its order.
TABLE3 = ('rotnet', 'nin4b', 'nin5b', 'random', 'supervised')
#: Models pretrained and evaluated only when named (``--models``): not part of
#: ``tools/zoo/rebuild.sh``.
EXTRA = ('rotnet_long', )


@dataclass(frozen=True)
class ZooModel:
    """One zoo model.

    ``kind``: ``'rotation'`` (a RotNet pretrained with ``config``), ``'random'`` (the
    RotNet config's backbone at random, drawn with the seed) or ``'supervised'``
    (``config`` trains a classifier; its backbone is evaluated in the RotNet model).
    ``protocols``: what the zoo runs on it (linear_probe on every block; the other
    frozen protocols, the paper's heads of :data:`HEADS` on every block, ``fine_tune``
    with 1% and 10% of the labels, and ``per_epoch``, the linear probe of every epoch's
    checkpoint). ``weights_seed``: the seed whose backbone ships (:attr:`weights_file`)."""
    key: str
    title: str
    config: Optional[str]
    kind: str
    protocols: Tuple[str, ...] = ('linear_probe', )
    weights_seed: int = 0

    @property
    def evaluated_config(self) -> str:
        """The config whose model the zoo evaluates: the model's own for a RotNet, the
        RotNet config for the random and the supervised backbones."""
        return self.config if self.kind == 'rotation' else ROTNET_CONFIG

    @property
    def weights_file(self) -> str:
        """The shipped backbone of seed :attr:`weights_seed`
        (``zoo/weights/<config name>.pth``)."""
        return osp.join(WEIGHTS, osp.splitext(osp.basename(self.config))[0] + '.pth')


def _ablation(key: str, title: str, config: str,
              protocols: Tuple[str, ...] = ('linear_probe', ), weights_seed: int = 0
              ) -> ZooModel:
    return ZooModel(key, title, f'{ZOO_CONFIGS}/{config}', 'rotation', protocols,
                    weights_seed)


MODELS: Dict[str, ZooModel] = {m.key: m for m in (
    ZooModel('rotnet', 'RotNet, 4 rotations (ours)', ROTNET_CONFIG, 'rotation',
             FROZEN + HEADS + ('fine_tune', 'per_epoch')),
    ZooModel('random', 'Random init', None, 'random', FROZEN + HEADS + ('fine_tune', )),
    ZooModel('supervised', 'Supervised, 50k labels',
             f'{ZOO_CONFIGS}/supervised_nin3b-w48_1xb64-steplr-2e_fashion-mnist.py',
             'supervised', FROZEN + HEADS),
    _ablation('rot0-180', 'RotNet, {0, 180}',
              'rotation-pred_nin3b-w48_rot0-180_1xb64-steplr-4e_fashion-mnist.py'),
    _ablation('rot90-270', 'RotNet, {90, 270}',
              'rotation-pred_nin3b-w48_rot90-270_1xb64-steplr-4e_fashion-mnist.py'),
    _ablation('rot8', 'RotNet, 8 rotations (45 deg steps)',
              'rotation-pred_nin3b-w48_rot8_1xb64-steplr-4e_fashion-mnist.py'),
    _ablation('random-rot', 'RotNet, 1 random rotation per image',
              'rotation-pred_nin3b-w48_random-rot_1xb256-steplr-16e_fashion-mnist.py'),
    _ablation('nin4b', 'RotNet, NIN 4 blocks',
              'rotation-pred_nin4b-w48_1xb64-steplr-4e_fashion-mnist.py',
              ('linear_probe', ) + HEADS),
    _ablation('nin5b', 'RotNet, NIN 5 blocks',
              'rotation-pred_nin5b-w48_1xb64-steplr-4e_fashion-mnist.py',
              ('linear_probe', ) + HEADS),
    _ablation('rotnet_long', 'RotNet, 20 epochs on 50k images',
              'rotation-pred_nin3b-w48_50k_1xb64-steplr-20e_fashion-mnist.py',
              ('linear_probe', 'per_epoch'), weights_seed=2),
)}
BASELINES = tuple(k for k, m in MODELS.items() if 'knn' in m.protocols)
ABLATIONS = ('rotnet', ) + tuple(k for k, m in MODELS.items() if m.kind == 'rotation'
                                 and k != 'rotnet' and k not in EXTRA)


def work_dir(key: str, seed: int = 0) -> str:
    """Where ``tools/zoo/pretrain_all.sh`` pretrains ``key`` with ``seed``:
    work_dirs/zoo/<config name> for seed 0, work_dirs/zoo/seed<S>/<config name> else."""
    name = osp.splitext(osp.basename(MODELS[key].config))[0]
    return osp.join(WORK_ROOT, name) if seed == 0 else osp.join(WORK_ROOT, f'seed{seed}', name)


def final_checkpoint(key: str, seed: int = 0) -> str:
    """The last checkpoint of the pretraining of ``key`` with ``seed``
    (``work_dir(key, seed)/last_checkpoint``)."""
    pointer = osp.join(work_dir(key, seed), 'last_checkpoint')
    if not osp.isfile(pointer):
        long = 'LONG=1 ' if key in EXTRA else ''
        raise FileNotFoundError(f'{key}: {pointer} is missing; run '
                                f'{long}SEEDS={seed} bash tools/zoo/pretrain_all.sh')
    with open(pointer) as f:
        return f.read().strip()


def checkpoint_of(key: str, seed: int = 0) -> Optional[str]:
    """The checkpoint the zoo evaluates for ``key`` and ``seed``: None for the random
    init; the final checkpoint of the run with ``seed``; for the model's
    :attr:`~ZooModel.weights_seed` without that run, the shipped backbone
    (:attr:`ZooModel.weights_file`, the same weights without the RotNet head).
    FileNotFoundError naming the missing run otherwise."""
    model = MODELS[key]
    if model.kind == 'random':
        return None
    try:
        return final_checkpoint(key, seed)
    except FileNotFoundError:
        if seed != model.weights_seed or not osp.isfile(model.weights_file):
            raise
        return model.weights_file


def export_backbone(key: str, out_dir: str = WEIGHTS) -> str:
    """Write the backbone of ``key``'s run with its
    :attr:`~ZooModel.weights_seed` to ``out_dir/<config name>.pth`` (a
    backbone-only checkpoint recording its source checkpoint relative to the
    repository); returns its path."""
    import os
    from ..fileio import file_sha256
    from .checkpoint import extract_backbone
    from .provenance import repo_path
    out = osp.join(out_dir, osp.basename(MODELS[key].weights_file))
    os.makedirs(out_dir, exist_ok=True)
    count = extract_backbone(repo_path(final_checkpoint(key, MODELS[key].weights_seed)), out)
    print(f'{out}: {count} tensors, sha256 {file_sha256(out)}', flush=True)
    return out
