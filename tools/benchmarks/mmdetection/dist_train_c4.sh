#!/usr/bin/env bash
# Detection transfer benchmark with a C4 model (Faster R-CNN R50-C4 on VOC07+12):
#   tools/benchmarks/mmdetection/dist_train_c4.sh CONFIG PRETRAINED GPUS [transfer_train.py options]
# As dist_train.sh, but res5 lives in the RoI head (roi_head.shared_head), so the same
# checkpoint is loaded there too.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
exec "$HERE/dist_train.sh" "$1" "$2" "$3" \
    --cfg-options model.roi_head.shared_head.init_cfg.checkpoint="$2" "${@:4}"
