_base_ = [
    '_base_/models/rotation-pred_resnet50.py',
    '_base_/datasets/imagenet_rotation-pred.py',
    '_base_/schedules/sgd_steplr-70e.py',
    '_base_/default_runtime.py',
]
