#!/usr/bin/env bash
# Semi-supervised fine-tuning of a RotationPred checkpoint over the reference's grid:
# base lr in {0.001, 0.01, 0.1} x head lr multiplier in {1, 10, 100}.
#   tools/benchmarks/classification/semi_supervised/dist_train_semi.sh CONFIG \
#       PRETRAINED_CHECKPOINT GPUS [train_linear.py options, e.g. --cfg-options ...]
# Make the subset lists first (semi_supervised/make_subsets.py). Each grid point trains
# and tests in WORK_DIR/lr<lr>_head<mult> (skipped when its results.json exists, so an
# interrupted grid resumes); WORK_DIR/grid.json and the table summarise them.
# Environment: WORK_DIR (default work_dirs/benchmarks/<config name>), LRS, HEAD_LR_MULTS
# (space-separated, to run part of the grid), PYTHON, PORT, ...
set -euo pipefail
source "$(dirname "$0")/../common.sh"
usage_check $# "$0 CONFIG PRETRAINED_CHECKPOINT GPUS [args]"
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
WORK_DIR=${WORK_DIR:-work_dirs/benchmarks/$(basename "${CONFIG%.py}")}
NAME=$(basename "${CHECKPOINT%.*}")

convert_backbone "$CHECKPOINT" "$WORK_DIR/backbone.pth"
for lr in ${LRS:-0.001 0.01 0.1}; do
    for mult in ${HEAD_LR_MULTS:-1 10 100}; do
        run_dir="$WORK_DIR/lr${lr}_head${mult}"
        if [ -f "$run_dir/results.json" ]; then
            echo "[semi] lr=$lr head x$mult: done before ($run_dir/results.json)"
            continue
        fi
        echo "[semi] lr=$lr head x$mult -> $run_dir"
        run_dist "$GPUS" "$BENCH/train_linear.py" "$CONFIG" \
            --backbone "$WORK_DIR/backbone.pth" --name "$NAME" --work-dir "$run_dir" \
            --cfg-options "optim_wrapper.optimizer.lr=$lr" \
            "optim_wrapper.paramwise_cfg.custom_keys.head.lr_mult=$mult" "${@:4}"
    done
done
"$PYTHON" "$BENCH/semi_supervised/summarize_grid.py" "$WORK_DIR" --name "$NAME"
