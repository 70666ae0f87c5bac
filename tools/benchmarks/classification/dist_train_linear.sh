#!/usr/bin/env bash
# Linear evaluation of a RotationPred checkpoint: multi-level (feat1..feat5 or NIN blocks)
# or on the pooled last stage, as the config says.
#   tools/benchmarks/classification/dist_train_linear.sh CONFIG PRETRAINED_CHECKPOINT GPUS \
#       [train_linear.py options, e.g. --cfg-options ...]
# Converts the checkpoint's backbone to WORK_DIR/backbone.pth, trains the classifier(s)
# on the frozen backbone with GPUS processes, tests, and writes WORK_DIR/results.json.
# Environment: WORK_DIR (default work_dirs/benchmarks/<config name>), PYTHON, PORT, ...
set -euo pipefail
source "$(dirname "$0")/common.sh"
usage_check $# "$0 CONFIG PRETRAINED_CHECKPOINT GPUS [args]"
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
WORK_DIR=${WORK_DIR:-work_dirs/benchmarks/$(basename "${CONFIG%.py}")}

convert_backbone "$CHECKPOINT" "$WORK_DIR/backbone.pth"
run_dist "$GPUS" "$BENCH/train_linear.py" "$CONFIG" --backbone "$WORK_DIR/backbone.pth" \
    --name "$(basename "${CHECKPOINT%.*}")" --work-dir "$WORK_DIR" "${@:4}"
