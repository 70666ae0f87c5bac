# Online k-NN for the Fashion-MNIST NIN configs: add this file to a config's `_base_`
# list (e.g. `_base_ = ['_base_/default_runtime.py', '_base_/online_knn_fashion-mnist.py']`)
# and the log gets `knn/top1` before the first iteration (epoch 0, the initial weights;
# not on resume) and after every epoch (rotation_pred/hooks/online_knn.py).
#
# Fixed settings: weighted k-NN, k=20, T=0.07, the first backbone output (level=0:
# the block before the last, as the Fashion-MNIST NIN config sets out_indices=(-2, -1))
# globally average-pooled, on Fashion-MNIST *train* images that the pretraining never sees:
#   memory bank: train images 40,000-41,999 (2,000 labelled images that vote)
#   queries:     train images 48,000-48,999 (1,000 images classified)
# The pretraining uses the first 12,000 train images (`indices=12000`), and train images
# 50,000-59,999 are held out as a validation split elsewhere; both ranges lie between.
# The test split is left to the benchmarks. Cost per epoch: one forward pass over the
# 3,000 images.
#
# It sets `custom_hooks` only: a config that sets its own `custom_hooks` must list the
# hook there instead (lists are replaced, not merged, by `_base_` inheritance).
custom_hooks = [
    dict(
        type='OnlineKNNHook',
        dataset=dict(type='FashionMNISTIdx', data_root='/usr/share/datasets/fashion-mnist',
                     split='train', pipeline=[dict(type='PackInputs')]),
        bank_range=(40000, 42000),
        query_range=(48000, 49000),
        interval=1,
        k=20,
        temperature=0.07,
        level=0,
        at_start=True),
]
