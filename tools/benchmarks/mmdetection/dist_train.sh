#!/usr/bin/env bash
# Detection transfer benchmark (FPN configs, e.g. Mask R-CNN on COCO):
#   tools/benchmarks/mmdetection/dist_train.sh CONFIG PRETRAINED GPUS [transfer_train.py options]
# See tools/benchmarks/dist_transfer.sh. C4 configs: use dist_train_c4.sh.
set -euo pipefail
exec "$(cd "$(dirname "$0")/.." && pwd)/dist_transfer.sh" "$@"
