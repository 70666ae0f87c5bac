# Multi-level linear evaluation of a frozen ResNet-50: the stem and the four stages
# (feat1..feat5), each average-pooled to about 9,000 values for a 224x224 input, then a
# BatchNorm without affine and a linear classifier per level, trained together.
#   feat1 64@112  AvgPool 10/10/4 -> 12x12 -> 9216     feat4 1024@14 8/3/0 -> 3x3 -> 9216
#   feat2 256@56  16/8/0          ->  6x6  -> 9216     feat5 2048@7  6/1/0 -> 2x2 -> 8192
#   feat3 512@28  13/5/0          ->  4x4  -> 8192
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNetWithStem',
        depth=50,
        out_indices=(0, 1, 2, 3, 4),
        frozen_stages=4,  # stem + all stages: no gradient, eval mode
        norm_eval=True,  # BatchNorm statistics stay those of the checkpoint
        norm_cfg=dict(type='BN')),
    neck=dict(
        type='MultiLevelAvgPool',
        pools=[(10, 10, 4), (16, 8, 0), (13, 5, 0), (8, 3, 0), (6, 1, 0)]),
    head=dict(
        type='MultiLevelLinearHead',
        in_dims=[9216, 9216, 8192, 9216, 8192],
        num_classes=1000,
        norm_cfg=dict(type='SyncBN', momentum=0.1, affine=False)))
