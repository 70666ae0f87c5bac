#!/usr/bin/env bash
# The main job: install, pretrain RotNet on Fashion-MNIST (2 CPU cores: about 5 minutes),
# then a linear probe of every block against the same network randomly initialised.
# Work dir: work_dirs/main (override with WORK_DIR). Extra arguments go to tools/train.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
PY=${VENV:-.venv}/bin/python
CONFIG=configs/rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py
WORK_DIR=${WORK_DIR:-work_dirs/main}
export PYTHONUNBUFFERED=1

echo "[main] 1/2 RotNet pretraining: $CONFIG -> $WORK_DIR"
mkdir -p "$WORK_DIR"
rm -f "$WORK_DIR/last_checkpoint"
# The full log goes to train.log; the console shows progress lines and any error.
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@" 2>&1 | tee "$WORK_DIR/train.log" \
    | { grep --line-buffered -E 'Epoch\(|Traceback|Error' || true; }
checkpoint=$(cat "$WORK_DIR/last_checkpoint")

echo "[main] 2/2 linear probe of $checkpoint"
"$PY" tools/benchmarks/classification/linear_probe.py "$CONFIG" "$checkpoint" \
    --work-dir "$WORK_DIR/linear_probe"
