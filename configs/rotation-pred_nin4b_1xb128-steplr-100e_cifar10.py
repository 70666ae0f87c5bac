_base_ = [
    '_base_/models/rotation-pred_nin4b.py',
    '_base_/datasets/cifar10_rotation-pred.py',
    '_base_/schedules/sgd_steplr-100e_cifar10.py',
    '_base_/default_runtime.py',
]
