"""Export the backbone of a RotationPred ResNet-50 checkpoint to torchvision's resnet50.

    python tools/model_converters/to_torchvision.py CHECKPOINT OUT

CHECKPOINT is a whole RotationPred model (tools/train.py) or a backbone-only file
(extract_backbone_weights.py). OUT is a plain state dict of every backbone tensor, named
as torchvision names them; the 1000-class ``fc`` is left out, so load it with
``resnet50().load_state_dict(torch.load(OUT, weights_only=True), strict=False)``, or set
``model.fc = torch.nn.Identity()`` and load strictly. A checkpoint whose backbone is not
a ResNet-50 (ResNet-18, NIN...) is refused with the keys that do not fit.
"""
from rotation_pred.benchmarks.export import export_command

TARGET = 'torchvision'


def main(argv=None):
    export_command(TARGET, __doc__.split('\n\n')[0], argv)


if __name__ == '__main__':
    main()
