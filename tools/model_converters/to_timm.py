"""Export the backbone of a RotationPred ResNet-50 checkpoint to timm's resnet50.

    python tools/model_converters/to_timm.py CHECKPOINT OUT

CHECKPOINT is a whole RotationPred model (tools/train.py) or a backbone-only file
(extract_backbone_weights.py). OUT is a plain state dict of every backbone tensor, named
as timm names them; the 1000-class ``fc`` is left out, so load it with
``timm.create_model('resnet50', num_classes=0, checkpoint_path=OUT)`` (no classifier),
or ``load_state_dict(..., strict=False)`` into a model that has one. Needs timm
(``pip install timm``, or the extra ``rotation_pred[export]``). A checkpoint whose
backbone is not a ResNet-50 (ResNet-18, NIN...) is refused with the keys that do not fit.
"""
from rotation_pred.benchmarks.export import export_command

TARGET = 'timm'


def main(argv=None):
    export_command(TARGET, __doc__.split('\n\n')[0], argv)


if __name__ == '__main__':
    main()
