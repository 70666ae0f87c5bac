_base_ = 'rotation-pred_resnet50_8xb16-steplr-70e_in1k.py'

# Mixed precision chosen from the device and logged (rotation_pred/mixed_precision.py):
# bf16 on GPUs from Ampere on, fp16 with dynamic loss scaling on older GPUs, bf16 on
# CPUs with native bf16, fp32 elsewhere. Loss and accuracy stay in fp32.
optim_wrapper = dict(type='MixedPrecisionOptimWrapper', dtype='auto', loss_scale='dynamic')
