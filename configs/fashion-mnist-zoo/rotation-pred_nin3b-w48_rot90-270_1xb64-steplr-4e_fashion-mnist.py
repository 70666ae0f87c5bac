# Paper Table 2 ablation: only the rotations 90 and 270 degrees.
_base_ = '../rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'

model = dict(rotations=(90, 270), head=dict(num_classes=2))
