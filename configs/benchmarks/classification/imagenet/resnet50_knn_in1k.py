# Weighted k-NN (k = 10, 20, 100, 200; cosine; T = 0.07) on the global-average-pooled
# last stage (2048) of a frozen RotNet ResNet-50: ImageNet train -> val.
#   tools/benchmarks/classification/knn/dist_test_knn.sh THIS_CONFIG CHECKPOINT 8
_base_ = [
    '../_base_/models/resnet50_linear.py',
    '../_base_/datasets/imagenet.py',
    '../../../_base_/default_runtime.py',
]

model = dict(head=None)
feature_names = ['feat5']
# Both splits go through the test pipeline (no augmentation).
train_dataloader = dict(
    batch_size=64,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(pipeline={{_base_.test_pipeline}}))
test_dataloader = dict(batch_size=64)
