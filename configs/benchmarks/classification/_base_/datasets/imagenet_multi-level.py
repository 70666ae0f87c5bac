# ImageNet for the multi-level linear evaluation: the train images are also
# colour-jittered (brightness/contrast/saturation 0.4) and get AlexNet-style PCA
# lighting noise; accuracy is reported for every level.
_base_ = 'imagenet.py'

# Eigenvalues/vectors of the ImageNet pixel covariance (0-255 scale), rows in BGR order
# because images are loaded BGR; the data preprocessor turns them to RGB afterwards.
lighting_eigval = [55.46, 4.794, 1.148]
lighting_eigvec = [[-0.5836, -0.6948, 0.4203],
                   [-0.5808, -0.0045, -0.8140],
                   [-0.5675, 0.7192, 0.4009]]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='Lighting', eigval=lighting_eigval, eigvec=lighting_eigvec, alphastd=0.1,
         to_rgb=False),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_evaluator = dict(_delete_=True, type='MultiLevelAccuracy', topk=(1, 5))
test_evaluator = val_evaluator
