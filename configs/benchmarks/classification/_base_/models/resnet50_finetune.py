# Semi-supervised fine-tuning: the whole ResNet-50 (SyncBN) is trained, with a linear
# classifier on the global-average-pooled last stage.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=50,
        out_indices=(3, ),
        frozen_stages=-1,
        norm_cfg=dict(type='SyncBN')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
