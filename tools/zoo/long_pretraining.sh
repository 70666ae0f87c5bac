#!/usr/bin/env bash
# The longer RotNet pretraining (zoo model rotnet_long, docs/model_zoo.md), everything in
# order; run it again after an interruption and it resumes (finished rows are kept,
# pretraining resumes from its last checkpoint). Per seed:
#   1. RotNet NIN-3 on the 50,000 training images outside the validation split, 20 epochs
#      (tools/zoo/pretrain_all.sh with LONG=1);
#   2. the linear probe of the final checkpoint on val (where the block is chosen) and on
#      test, beside the zoo's RotNet (about a minute: the headline comes first);
#   3. the linear probe of every epoch's checkpoint on test (paper Fig. 5a);
# then the tables (tools/zoo/make_tables.py).
#   SEEDS="0 1 2"     the seeds (default: 0)
#   PYTHON            the interpreter (default: .venv/bin/python)
# 2 idle CPU cores, per seed: 36 minutes of pretraining and 12 of probes on an Intel Xeon
# with AMX; about 95 and 25 at the zoo RotNet's speed on an AMD EPYC.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-${VENV:-.venv}/bin/python}
for seed in ${SEEDS:-0}; do
    echo "[long] $(date +%H:%M:%S) seed $seed, pretraining"
    LONG=1 ZOO_ONLY=50k SEEDS=$seed bash tools/zoo/pretrain_all.sh
    for split in val test; do
        echo "[long] $(date +%H:%M:%S) seed $seed, final checkpoint on $split"
        "$PY" tools/zoo/evaluate.py --models rotnet_long --protocols linear_probe \
            --split "$split" --seed "$seed" --skip-done
    done
    echo "[long] $(date +%H:%M:%S) seed $seed, probe per epoch"
    "$PY" tools/zoo/evaluate.py --models rotnet_long --protocols per_epoch --seed "$seed" \
        --skip-done
done
"$PY" tools/zoo/make_tables.py
echo "[long] $(date +%H:%M:%S) done"
