#!/usr/bin/env bash
# Pretrain the models of the Fashion-MNIST zoo (docs/model_zoo.md), one after the
# other, each for every seed before the next: seed 0 into work_dirs/zoo/<config name>/, seed S into
# work_dirs/zoo/seed<S>/<config name>/ (what tools/zoo/evaluate.py --seed S reads).
# Every epoch's checkpoint is kept (for the accuracy-over-epochs figure). A finished run
# is marked done and skipped; an interrupted one resumes from its last checkpoint.
#   SEEDS="0 1 2"     the seeds (default: 0)
#   ZOO_ONLY="a b"    only the configs whose name contains one of these words
#   LONG=1            the longer RotNet too (zoo model rotnet_long: 20 epochs on 50,000
#                     images, about 95 minutes per seed); left out by default
# 2 CPU cores: about 45 minutes per seed for every model (without LONG).
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
if [ "${LONG:-0}" = 1 ]; then
    configs+=(configs/fashion-mnist-zoo/rotation-pred_nin3b-w48_50k_1xb64-steplr-20e_fashion-mnist.py)
fi
for config in "${configs[@]}"; do  # each config's seeds before the next config
    name=$(basename "$config" .py)
    if [ -n "${ZOO_ONLY:-}" ]; then
        wanted=0
        for word in $ZOO_ONLY; do [[ $name == *"$word"* ]] && wanted=1; done
        [ $wanted = 1 ] || continue
    fi
    for seed in ${SEEDS:-0}; do
        if [ "$seed" = 0 ]; then dir=$ROOT; else dir=$ROOT/seed$seed; fi
        mkdir -p "$dir"
        if [ -f "$dir/$name/done" ]; then echo "[zoo] seed $seed $name: done already"; continue; fi
        resume=()
        [ -f "$dir/$name/last_checkpoint" ] && resume=(--resume)
        echo "[zoo] $(date +%H:%M:%S) pretraining $name, seed $seed ${resume[*]}"
        "$PY" tools/train.py "$config" --work-dir "$dir/$name" ${resume[@]+"${resume[@]}"} \
            --cfg-options default_hooks.checkpoint.max_keep_ckpts=-1 randomness.seed="$seed" \
            >> "$dir/$name.log" 2>&1 \
            || { echo "[zoo] $name seed $seed failed; see $dir/$name.log" >&2; exit 1; }
        touch "$dir/$name/done"
    done
done
echo "[zoo] $(date +%H:%M:%S) all pretrained"
