# Paper Table 2 ablation: the 8 multiples of 45 degrees (copies cut to 18x18).
_base_ = '../rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'

model = dict(rotations=(0, 45, 90, 135, 180, 225, 270, 315), head=dict(num_classes=8))
