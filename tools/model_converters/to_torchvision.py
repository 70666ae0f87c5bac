"""Export a RotationPred ResNet-50 backbone to torchvision's resnet50: see
rotation_pred/benchmarks/converters_cli.py or --help."""
from rotation_pred.benchmarks.converters_cli import to_torchvision_main

if __name__ == '__main__':
    to_torchvision_main()
