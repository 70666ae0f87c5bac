# Paper Table 1 ablation: a deeper RotNet (4 blocks); which block gives the best features.
_base_ = '../rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py'

model = dict(backbone=dict(num_blocks=4))
