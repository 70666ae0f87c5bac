# RotNet ResNet-50 on your own images: every image file under a folder (any depth, no
# labels, no meta file; rotation_pred/datasets/image_folder.py). The model, schedule and
# pipelines are those of the ImageNet config; only the data sets change. Point both data
# sets at the folder:
#   --cfg-options train_dataloader.dataset.data_root=/data/images \
#                 val_dataloader.dataset.data_root=/data/images
# The validation images are a held-out share of the folder (val_fraction, chosen by a
# hash of each relative path; split='train' leaves them out). For a separate validation
# folder: val_dataloader.dataset.split=all and its own data_root. A bad image stops
# the run naming the file; dataset.skip_bad_images=True skips and logs it instead.
_base_ = 'rotation-pred_resnet50_8xb16-steplr-70e_in1k.py'

data_root = 'data/images/'
val_fraction = 0.01

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ImageFolderUnlabeled',
        data_root=data_root,
        split='train',
        val_fraction=val_fraction,
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ImageFolderUnlabeled',
        data_root=data_root,
        split='val',
        val_fraction=val_fraction,
        test_mode=True,
        pipeline={{_base_.val_pipeline}}))
test_dataloader = val_dataloader
