#!/usr/bin/env bash
# The paper's Table 3 at Fashion-MNIST scale (docs/model_zoo.md), everything in order; run
# it again after an interruption and it resumes (finished rows, extracted features and
# trained heads are kept; pretraining resumes from its last checkpoint):
#   1. the NIN 3/4/5-block RotNets and the supervised network for seeds 1 and 2
#      (tools/zoo/pretrain_all.sh; seed 0: the zoo's runs or the shipped weights);
#   2. per seed, the non-linear and the conv head on every block of each model, trained
#      once on 10,000 training images and scored on val (where the block is chosen),
#      then on test;
#   3. the tables (tools/zoo/make_tables.py).
#   SEEDS="0 1 2"     the seeds
# 2 CPU cores: about 20 minutes per seed for the pretraining, 25 for the heads.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-${VENV:-.venv}/bin/python}
SEEDS=${SEEDS:-0 1 2}
extra_seeds=$(echo "$SEEDS" | tr ' ' '\n' | { grep -vx 0 || true; } | tr '\n' ' ')
if [ -n "${extra_seeds// /}" ]; then
    SEEDS="$extra_seeds" ZOO_ONLY="nin3b-w48_1xb64-steplr-4e nin4b nin5b supervised" \
        bash tools/zoo/pretrain_all.sh
fi
for seed in $SEEDS; do
    for split in val test; do
        echo "[table3] $(date +%H:%M:%S) seed $seed, $split"
        "$PY" tools/zoo/evaluate.py --models rotnet nin4b nin5b random supervised \
            --protocols nonlinear conv --split "$split" --seed "$seed" --skip-done
    done
done
"$PY" tools/zoo/make_tables.py
echo "[table3] $(date +%H:%M:%S) done"
