# Paper Table 2 ablation: only the rotations 0 and 180 degrees.
_base_ = '../rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'

model = dict(rotations=(0, 180), head=dict(num_classes=2))
