#!/usr/bin/env bash
# Shared body of the detection and segmentation transfer launchers:
#   tools/benchmarks/dist_transfer.sh CONFIG PRETRAINED GPUS [transfer_train.py options]
# PRETRAINED is a backbone-only checkpoint (tools/model_converters/extract_backbone_weights.py)
# or a whole pretrained model (its backbone.* keys are loaded).
# Fine-tunes with GPUS processes through torchrun (on the CPU over gloo when there is no
# GPU), then tests; metrics in WORK_DIR/test_metrics.json. Environment: NNODES, NODE_RANK,
# PORT, MASTER_ADDR, PYTHON.
set -euo pipefail
CONFIG=$1
PRETRAINED=$2
GPUS=$3
TOOLS=$(cd "$(dirname "$0")" && pwd)
source "$TOOLS/../dist_common.sh"

run_dist "$GPUS" "$TOOLS/transfer_train.py" "$CONFIG" \
    --cfg-options model.backbone.init_cfg.checkpoint="$PRETRAINED" "${@:4}"
