#!/usr/bin/env bash
# Weighted k-NN benchmark (k = 10, 20, 100, 200; cosine; T = 0.07) of a RotationPred
# checkpoint on global-average-pooled features.
#   tools/benchmarks/classification/knn/dist_test_knn.sh CONFIG PRETRAINED_CHECKPOINT GPUS \
#       [extract_features.py options, e.g. --cfg-options ...]
# 1. converts the checkpoint's backbone to WORK_DIR/backbone.pth;
# 2. extracts the train and test features with GPUS processes (WORK_DIR/features);
# 3. classifies the test images (WORK_DIR/knn.json, tables on stdout).
# Environment: WORK_DIR (default work_dirs/benchmarks/<config name>), KNN_ARGS (options
# of eval_knn.py, e.g. "--k 10,20"), PYTHON, PORT, ...
set -euo pipefail
source "$(dirname "$0")/../common.sh"
usage_check $# "$0 CONFIG PRETRAINED_CHECKPOINT GPUS [args]"
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
WORK_DIR=${WORK_DIR:-work_dirs/benchmarks/$(basename "${CONFIG%.py}")}

convert_backbone "$CHECKPOINT" "$WORK_DIR/backbone.pth"
run_dist "$GPUS" "$BENCH/extract_features.py" "$CONFIG" --backbone "$WORK_DIR/backbone.pth" \
    --work-dir "$WORK_DIR" "${@:4}"
# shellcheck disable=SC2086
"$PYTHON" "$BENCH/knn/eval_knn.py" "$WORK_DIR/features" \
    --name "$(basename "${CHECKPOINT%.*}")" ${KNN_ARGS:-}
