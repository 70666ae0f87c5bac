# Features of every level of a frozen RotNet ResNet-50 (the multi-level pooling, about
# 9,000 values each) for the VOC07 SVM and low-shot SVM benchmarks.
#   tools/benchmarks/classification/svm_voc07/dist_test_svm.sh THIS_CONFIG CHECKPOINT 8
_base_ = [
    '../_base_/models/resnet50_multi-level.py',
    '../_base_/datasets/voc07_svm.py',
    '../../../_base_/default_runtime.py',
]

model = dict(head=None)
# Names of the neck's outputs, in order: the .npy files are named after them.
feature_names = ['feat1', 'feat2', 'feat3', 'feat4', 'feat5']
