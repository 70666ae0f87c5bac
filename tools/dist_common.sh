# Shared by the distributed launchers (sourced, not run):
#   run_dist GPUS SCRIPT ARGS...  GPUS processes of the Python SCRIPT through torchrun
#                                 (CPU processes over gloo when there is no GPU), with
#                                 this repository first on PYTHONPATH; ARGS get
#                                 --launcher pytorch appended.
# Environment: PYTHON (default python), NNODES (1), NODE_RANK (0), MASTER_ADDR
# (127.0.0.1), PORT (29500).
DIST_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

run_dist() {
    local gpus=$1 script=$2
    shift 2
    PYTHONPATH="$DIST_REPO${PYTHONPATH:+:$PYTHONPATH}" \
    "${PYTHON:-python}" -m torch.distributed.run \
        --nnodes="${NNODES:-1}" \
        --node_rank="${NODE_RANK:-0}" \
        --master_addr="${MASTER_ADDR:-127.0.0.1}" \
        --nproc_per_node="$gpus" \
        --master_port="${PORT:-29500}" \
        "$script" "$@" --launcher pytorch
}
