# Shared by the classification benchmark launchers (sourced, not run).
#   convert_backbone SRC DST     RotationPred checkpoint -> backbone-only checkpoint
#   run_dist GPUS SCRIPT ARGS... GPUS processes of SCRIPT through torchrun, like
#                                tools/dist_train.sh (CPU processes over gloo when there
#                                is no GPU); ARGS get --launcher pytorch appended.
# Environment: PYTHON, NNODES, NODE_RANK, PORT, MASTER_ADDR.
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH/../../.." && pwd)
PYTHON=${PYTHON:-python}
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"

convert_backbone() {
    mkdir -p "$(dirname "$2")"
    "$PYTHON" "$REPO/tools/model_converters/extract_backbone_weights.py" "$1" "$2"
}

run_dist() {
    local gpus=$1 script=$2
    shift 2
    "$PYTHON" -m torch.distributed.run \
        --nnodes="${NNODES:-1}" \
        --node_rank="${NODE_RANK:-0}" \
        --master_addr="${MASTER_ADDR:-127.0.0.1}" \
        --nproc_per_node="$gpus" \
        --master_port="${PORT:-29500}" \
        "$script" "$@" --launcher pytorch
}

# usage_check N_ARGS_GIVEN USAGE: exit with the usage line when fewer than 3 arguments.
usage_check() {
    if [ "$1" -lt 3 ]; then
        echo "usage: $2" >&2
        exit 2
    fi
}
