#!/usr/bin/env bash
# Rebuild the Fashion-MNIST model zoo over seeds (docs/model_zoo.md), resumable:
#   1. pretrain every zoo model for every seed (tools/zoo/pretrain_all.sh);
#   2. score the linear probe and k-NN of every model and seed on the validation split
#      (train images 50,000-59,999), where every choice is made;
#   3. score every protocol on the test split, the SVMs at the level chosen in 2;
#   4. write the seed-0 backbones to zoo/weights/ (tools/zoo/export_weights.py) and
#      redraw the tables (README.md, docs/model_zoo.md) and the model index (model-index.yml and
#      zoo/*/metafile.yml; tools/zoo/make_tables.py).
# Interrupted, it starts again where it stopped: finished pretraining runs are skipped
# and interrupted ones resume, measured rows are kept (evaluate.py --skip-done), and
# extracted features are read back from work_dirs/zoo/feature_cache.
#   SEEDS="0 1 2"        the seeds (default)
#   ZOO_MODELS="a b"     evaluate only these zoo models (keys of rotation_pred/benchmarks/zoo.py)
#   PRETRAIN=0           skip step 1 (the checkpoints exist)
#   TABLES=0             skip step 4
#   HEADS=1              in steps 2 and 3, also train the paper's non-linear and conv
#                        heads on every block (Table 3; evaluate.py --protocols
#                        nonlinear conv): about 4 more hours for 3 seeds
# About 150 minutes on 2 idle CPU cores for 3 seeds (without HEADS).
# Not part of it: the longer RotNet (zoo model rotnet_long; docs/model_zoo.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-${VENV:-.venv}/bin/python}
SEEDS=${SEEDS:-"0 1 2"}
models=()
[ -n "${ZOO_MODELS:-}" ] && read -r -a models <<< "$ZOO_MODELS"
if [ "${PRETRAIN:-1}" != 0 ]; then
    SEEDS="$SEEDS" bash tools/zoo/pretrain_all.sh
fi
for split in val test; do
    for seed in $SEEDS; do
        echo "[rebuild] $(date +%H:%M:%S) evaluating seed $seed on the $split split"
        "$PY" tools/zoo/evaluate.py --split "$split" --seed "$seed" --skip-done \
            ${models[@]+--models "${models[@]}"}
        if [ "${HEADS:-0}" = 1 ]; then
            "$PY" tools/zoo/evaluate.py --split "$split" --seed "$seed" --skip-done \
                --protocols nonlinear conv ${models[@]+--models "${models[@]}"}
        fi
    done
done
if [ "${TABLES:-1}" != 0 ]; then
    [ -n "${ZOO_MODELS:-}" ] || "$PY" tools/zoo/export_weights.py
    "$PY" tools/zoo/make_tables.py
fi
echo "[rebuild] $(date +%H:%M:%S) done"
