#!/usr/bin/env bash
# Pretrain every model of the Fashion-MNIST zoo (README, "Model zoo"), one after the
# other, into work_dirs/zoo/<config name>/. Every epoch's checkpoint is kept (for the
# accuracy-over-epochs figure). 2 CPU cores: about 45 minutes in all.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-${VENV:-.venv}/bin/python}
ROOT=${ZOO_DIR:-work_dirs/zoo}
configs=(
    configs/rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py
    configs/fashion-mnist-zoo/supervised_nin3b-w48_1xb64-steplr-2e_fashion-mnist.py
    configs/fashion-mnist-zoo/rotation-pred_nin3b-w48_rot0-180_1xb64-steplr-4e_fashion-mnist.py
    configs/fashion-mnist-zoo/rotation-pred_nin3b-w48_rot90-270_1xb64-steplr-4e_fashion-mnist.py
    configs/fashion-mnist-zoo/rotation-pred_nin3b-w48_rot8_1xb64-steplr-4e_fashion-mnist.py
    configs/fashion-mnist-zoo/rotation-pred_nin3b-w48_random-rot_1xb256-steplr-16e_fashion-mnist.py
    configs/fashion-mnist-zoo/rotation-pred_nin4b-w48_1xb64-steplr-4e_fashion-mnist.py
    configs/fashion-mnist-zoo/rotation-pred_nin5b-w48_1xb64-steplr-4e_fashion-mnist.py
)
for config in "${configs[@]}"; do
    name=$(basename "$config" .py)
    if [ -f "$ROOT/$name/done" ]; then echo "[zoo] $name: done already"; continue; fi
    echo "[zoo] $(date +%H:%M:%S) pretraining $name"
    "$PY" tools/train.py "$config" --work-dir "$ROOT/$name" \
        --cfg-options default_hooks.checkpoint.max_keep_ckpts=-1 > "$ROOT/$name.log" 2>&1 \
        || { echo "[zoo] $name failed; see $ROOT/$name.log" >&2; exit 1; }
    touch "$ROOT/$name/done"
done
echo "[zoo] $(date +%H:%M:%S) all pretrained"
