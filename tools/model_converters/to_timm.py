"""Export a RotationPred ResNet-50 backbone to timm's resnet50: see
rotation_pred/benchmarks/converters_cli.py or --help."""
from rotation_pred.benchmarks.converters_cli import to_timm_main

if __name__ == '__main__':
    to_timm_main()
