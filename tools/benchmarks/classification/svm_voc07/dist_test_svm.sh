#!/usr/bin/env bash
# VOC07 SVM + low-shot SVM benchmark of a RotationPred checkpoint (also used for
# one-vs-rest SVMs on Fashion-MNIST: the config decides the data).
#   tools/benchmarks/classification/svm_voc07/dist_test_svm.sh CONFIG PRETRAINED_CHECKPOINT \
#       GPUS [extract_features.py options, e.g. --cfg-options ...]
# 1. converts the checkpoint's backbone to WORK_DIR/backbone.pth;
# 2. extracts the features of every level with GPUS processes (WORK_DIR/features);
# 3. trains and tests the SVMs on all cores (WORK_DIR/svm.json, tables on stdout).
# Environment: WORK_DIR (default work_dirs/benchmarks/<config name>), SVM_ARGS (options
# of eval_svm.py, e.g. "--levels feat5 --no-low-shot"), PYTHON, PORT, ...
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
"$PYTHON" "$BENCH/svm_voc07/eval_svm.py" "$WORK_DIR/features" \
    --name "$(basename "${CHECKPOINT%.*}")" ${SVM_ARGS:-}
