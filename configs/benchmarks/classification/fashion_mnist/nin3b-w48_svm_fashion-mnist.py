# Features of the three NIN blocks of the Fashion-MNIST RotNet (pooled as in the
# multi-level linear config) for one-vs-rest SVMs over the 10 classes, with low-shot.
#   tools/benchmarks/classification/svm_voc07/dist_test_svm.sh THIS_CONFIG CHECKPOINT 1
_base_ = 'nin3b-w48_multi-level-linear_1xb128-steplr-10e_fashion-mnist.py'

model = dict(head=None)
feature_names = ['block1', 'block2', 'block3']
# Both splits through the test pipeline; the train split is the data the SVMs fit.
train_dataloader = dict(
    batch_size=256,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(pipeline=[dict(type='PackInputs')]))
