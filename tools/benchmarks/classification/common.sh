# Shared by the classification benchmark launchers (sourced, not run).
#   convert_backbone SRC DST     a checkpoint -> backbone-only checkpoint
#   evaluate CONFIG CHECKPOINT GPUS ARGS...
#                                tools/benchmarks/evaluate.py with GPUS processes, work
#                                dir $WORK_DIR, model named after the checkpoint file
#   usage_check N USAGE          exit with USAGE when fewer than 3 arguments were given
# Environment: WORK_DIR (default work_dirs/benchmarks/<config name>), PYTHON, NNODES,
# NODE_RANK, PORT, MASTER_ADDR.
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH/../../.." && pwd)
PYTHON=${PYTHON:-python}
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
source "$REPO/tools/dist_common.sh"

convert_backbone() {
    mkdir -p "$(dirname "$2")"
    "$PYTHON" "$REPO/tools/model_converters/extract_backbone_weights.py" "$1" "$2"
}

evaluate() {
    local config=$1 checkpoint=$2 gpus=$3
    shift 3
    run_dist "$gpus" "$REPO/tools/benchmarks/evaluate.py" "$config" "$checkpoint" \
        --work-dir "${WORK_DIR:-work_dirs/benchmarks/$(basename "${config%.py}")}" \
        --name "$(basename "${checkpoint%.*}")" "$@"
}

usage_check() {
    if [ "$1" -lt 3 ]; then
        echo "usage: $2" >&2
        exit 2
    fi
}
