#!/usr/bin/env bash
# Weighted k-NN benchmark (k = 10, 20, 100, 200; cosine; T = 0.07) of a checkpoint.
#   tools/benchmarks/classification/knn/dist_test_knn.sh CONFIG PRETRAINED_CHECKPOINT GPUS \
#       [tools/benchmarks/evaluate.py options]
# Runs tools/benchmarks/evaluate.py CONFIG CHECKPOINT --protocols knn with GPUS processes:
# features into WORK_DIR/feature_cache, rows into WORK_DIR/rows.jsonl, tables on stdout.
# Environment: WORK_DIR (default work_dirs/benchmarks/<config name>), KNN_ARGS (more
# evaluate.py options, e.g. "--knn-k 10,20"), PYTHON, PORT, ...
set -euo pipefail
source "$(dirname "$0")/../common.sh"
usage_check $# "$0 CONFIG PRETRAINED_CHECKPOINT GPUS [args]"
# shellcheck disable=SC2086
evaluate "$1" "$2" "$3" --protocols knn ${KNN_ARGS:-} "${@:4}"
