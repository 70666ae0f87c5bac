"""The Fashion-MNIST model zoo: which models, from which configs, evaluated how."""
import os.path as osp

ROTNET_CONFIG = 'configs/rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'
ZOO_CONFIGS = 'configs/fashion-mnist-zoo'
WORK_ROOT = 'work_dirs/zoo'
RESULTS = 'zoo/results'
WEIGHTS = 'zoo/weights'  # the seed-0 backbones shipped in the repository

# key: (title, pretraining config or None for a random initialisation, kind)
MODELS = {
    'rotnet': ('RotNet, 4 rotations (ours)', ROTNET_CONFIG, 'rotation'),
    'random': ('Random init', None, 'random'),
    'supervised': ('Supervised, 50k labels',
                   f'{ZOO_CONFIGS}/supervised_nin3b-w48_1xb64-steplr-2e_fashion-mnist.py',
                   'supervised'),
    'rot0-180': ('RotNet, {0, 180}',
                 f'{ZOO_CONFIGS}/rotation-pred_nin3b-w48_rot0-180_1xb64-steplr-4e_fashion-mnist.py',
                 'rotation'),
    'rot90-270': ('RotNet, {90, 270}',
                  f'{ZOO_CONFIGS}/rotation-pred_nin3b-w48_rot90-270_1xb64-steplr-4e_fashion-mnist.py',
                  'rotation'),
    'rot8': ('RotNet, 8 rotations (45 deg steps)',
             f'{ZOO_CONFIGS}/rotation-pred_nin3b-w48_rot8_1xb64-steplr-4e_fashion-mnist.py',
             'rotation'),
    'random-rot': ('RotNet, 1 random rotation per image',
                   f'{ZOO_CONFIGS}/rotation-pred_nin3b-w48_random-rot_1xb256-steplr-16e_fashion-mnist.py',
                   'rotation'),
    'nin4b': ('RotNet, NIN 4 blocks',
              f'{ZOO_CONFIGS}/rotation-pred_nin4b-w48_1xb64-steplr-4e_fashion-mnist.py',
              'rotation'),
    'nin5b': ('RotNet, NIN 5 blocks',
              f'{ZOO_CONFIGS}/rotation-pred_nin5b-w48_1xb64-steplr-4e_fashion-mnist.py',
              'rotation'),
}
BASELINES = ('rotnet', 'random', 'supervised')
ABLATIONS = ('rotnet', 'rot0-180', 'rot90-270', 'rot8', 'random-rot', 'nin4b', 'nin5b')


def work_dir(key: str, seed: int = 0) -> str:
    """Where ``tools/zoo/pretrain_all.sh`` pretrains ``key`` with ``seed``:
    work_dirs/zoo/<config name> for seed 0, work_dirs/zoo/seed<S>/<config name> else."""
    name = osp.splitext(osp.basename(MODELS[key][1]))[0]
    return osp.join(WORK_ROOT, name) if seed == 0 else osp.join(WORK_ROOT, f'seed{seed}', name)


def final_checkpoint(key: str, seed: int = 0) -> str:
    """The last checkpoint of the pretraining of ``key`` with ``seed``
    (``work_dir(key, seed)/last_checkpoint``)."""
    pointer = osp.join(work_dir(key, seed), 'last_checkpoint')
    if not osp.isfile(pointer):
        raise FileNotFoundError(f'{key}: {pointer} is missing; run '
                                f'SEEDS={seed} bash tools/zoo/pretrain_all.sh')
    with open(pointer) as f:
        return f.read().strip()
