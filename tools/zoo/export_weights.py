"""Write the backbone weights of every pretrained zoo model (the run with its
``weights_seed``: seed 0 but for rotnet_long, seed 2) into zoo/weights/,
the files shipped in the repository and listed with their sha256 in the model index
(zoo/*/metafile.yml).

    python tools/zoo/export_weights.py [--models rotnet supervised ...]

Each file is a backbone-only checkpoint (``state_dict`` of the NetworkInNetwork, as
tools/model_converters/extract_backbone_weights.py writes), named after the model's
pretraining config, which ``init_cfg=dict(type='Pretrained', checkpoint=...)`` and
every benchmark tool load.
"""
import argparse

from rotation_pred.benchmarks import zoo


def main():
    pretrained = [key for key, model in zoo.MODELS.items() if model.config is not None]
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', default=pretrained, choices=pretrained)
    for key in parser.parse_args().models:
        try:
            zoo.export_backbone(key)
        except FileNotFoundError as e:  # not pretrained (yet): nothing to ship
            print(f'skipped {key}: {e}', flush=True)


if __name__ == '__main__':
    main()
