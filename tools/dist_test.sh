#!/usr/bin/env bash
# Distributed testing: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]
# One process per GPU through torchrun; on a machine with no GPU, GPUS processes on the
# CPU over gloo. Environment: NNODES, NODE_RANK, PORT, MASTER_ADDR, PYTHON.
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/dist_common.sh"

run_dist "$GPUS" "$HERE/test.py" "$CONFIG" "$CHECKPOINT" "${@:4}"
