#!/usr/bin/env bash
# Segmentation transfer benchmark (FCN on VOC12aug or Cityscapes):
#   tools/benchmarks/mmsegmentation/dist_train.sh CONFIG PRETRAINED GPUS [transfer_train.py options]
# See tools/benchmarks/dist_transfer.sh; mIoU in WORK_DIR/test_metrics.json.
set -euo pipefail
exec "$(cd "$(dirname "$0")/.." && pwd)/dist_transfer.sh" "$@"
