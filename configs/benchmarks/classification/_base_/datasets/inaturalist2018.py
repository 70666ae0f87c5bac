# iNaturalist 2018 (8142 classes) in the meta-file layout:
#   data/iNaturalist2018/train_val2018/<super>/<class>/...jpg  and
#   data/iNaturalist2018/meta/{train,val}.txt ("relative/path.jpg label" per line).
# Train: RandomResizedCrop 224 + flip; test: short side 256, center crop 224.
_base_ = 'imagenet.py'

data_root = 'data/iNaturalist2018/'
data_preprocessor = dict(num_classes=8142)
train_dataloader = dict(
    dataset=dict(type='CustomDataset', data_root=data_root, ann_file='meta/train.txt',
                 data_prefix='train_val2018'))
val_dataloader = dict(
    dataset=dict(type='CustomDataset', data_root=data_root, ann_file='meta/val.txt',
                 data_prefix='train_val2018'))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='MultiLevelAccuracy', topk=(1, 5))
test_evaluator = val_evaluator
