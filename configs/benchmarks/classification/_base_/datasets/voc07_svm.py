# PASCAL VOC2007 classification for the SVM benchmarks, read from the VOC layout:
#   data/VOCdevkit/VOC2007/{JPEGImages,Annotations,ImageSets/Main}
# Features of "train" (trainval, 5011 images) and "test" (4952 images) are extracted
# with the same pipeline: short side 256, then resized to 224x224.
dataset_type = 'VOC07Classification'
data_root = 'data/VOCdevkit/VOC2007/'
data_preprocessor = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='Resize', scale=(224, 224)),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='trainval',
                 pipeline=pipeline))
test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=pipeline))
