# Global-average-pooled features of the three NIN blocks of the Fashion-MNIST RotNet
# (24, 48 and 48 values) for the weighted k-NN benchmark.
#   tools/benchmarks/classification/knn/dist_test_knn.sh THIS_CONFIG CHECKPOINT 1
_base_ = 'nin3b-w48_svm_fashion-mnist.py'

model = dict(neck=dict(_delete_=True, type='GlobalAveragePooling'))
