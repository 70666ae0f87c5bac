"""Write the backbone weights of every pretrained zoo model (seed 0) into zoo/weights/,
the files shipped in the repository and listed with their sha256 in the model index
(zoo/*/metafile.yml).

    python tools/zoo/export_weights.py [--models rotnet supervised ...]

Each file is a backbone-only checkpoint (``state_dict`` of the NetworkInNetwork, as
tools/model_converters/extract_backbone_weights.py writes), named after the model's
pretraining config, which ``init_cfg=dict(type='Pretrained', checkpoint=...)`` and
every benchmark tool load.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import zoo_models as zoo  # noqa: E402

from rotation_pred.benchmarks.converters import extract_backbone  # noqa: E402
from rotation_pred.benchmarks.results import file_sha256, repo_path  # noqa: E402


def export(key: str, out_dir: str = zoo.WEIGHTS) -> str:
    """Write the seed-0 backbone of zoo model ``key`` to ``out_dir``; returns its path.
    The file records its source checkpoint relative to the repository."""
    name = osp.splitext(osp.basename(zoo.MODELS[key][1]))[0]
    out = osp.join(out_dir, f'{name}.pth')
    os.makedirs(out_dir, exist_ok=True)
    count = extract_backbone(repo_path(zoo.final_checkpoint(key, 0)), out)
    print(f'{out}: {count} tensors, sha256 {file_sha256(out)}', flush=True)
    return out


def main():
    pretrained = [k for k, (_, config, _) in zoo.MODELS.items() if config is not None]
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', default=pretrained, choices=pretrained)
    for key in parser.parse_args().models:
        try:
            export(key)
        except FileNotFoundError as e:  # not pretrained (yet): nothing to ship
            print(f'skipped {key}: {e}', flush=True)


if __name__ == '__main__':
    main()
