#!/usr/bin/env bash
# VOC07 SVM + low-shot SVM benchmark of a checkpoint (also one-vs-rest SVMs on
# Fashion-MNIST: the config decides the data).
#   tools/benchmarks/classification/svm_voc07/dist_test_svm.sh CONFIG PRETRAINED_CHECKPOINT \
#       GPUS [tools/benchmarks/evaluate.py options]
# Runs tools/benchmarks/evaluate.py CONFIG CHECKPOINT --protocols svm low_shot: features
# extracted with GPUS processes into WORK_DIR/feature_cache, the SVMs on all cores of
# rank 0, rows into WORK_DIR/rows.jsonl, tables on stdout.
# Environment: WORK_DIR (default work_dirs/benchmarks/<config name>), SVM_ARGS (more
# evaluate.py options, e.g. "--levels feat5 --protocols svm"), PYTHON, PORT, ...
set -euo pipefail
source "$(dirname "$0")/../common.sh"
usage_check $# "$0 CONFIG PRETRAINED_CHECKPOINT GPUS [args]"
# shellcheck disable=SC2086
evaluate "$1" "$2" "$3" --protocols svm low_shot ${SVM_ARGS:-} "${@:4}"
