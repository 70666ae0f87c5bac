_base_ = 'rotation-pred_nin4b_1xb128-steplr-100e_cifar10.py'

model = dict(backbone=dict(num_blocks=3))
