#!/usr/bin/env bash
# Distributed training: tools/dist_train.sh CONFIG GPUS [train.py options]
# One process per GPU through torchrun; on a machine with no GPU, GPUS processes on the
# CPU over gloo. Environment: NNODES, NODE_RANK, PORT, MASTER_ADDR, PYTHON.
set -euo pipefail
CONFIG=$1
GPUS=$2
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/dist_common.sh"

run_dist "$GPUS" "$HERE/train.py" "$CONFIG" "${@:3}"
