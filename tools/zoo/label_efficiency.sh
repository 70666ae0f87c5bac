#!/usr/bin/env bash
# The label-efficiency curve (docs/label_efficiency.md), everything in order; run it again
# after an interruption and it resumes (finished numbers are kept, runs resume from their
# last checkpoint):
#   1. settings on the validation split: seed 0, K=100, the candidate learning rates
#      (and S4L rotation weights) below, scored on 5,000 validation images;
#   2. RotNet seeds 1 and 2 (tools/zoo/pretrain_all.sh; seed 0: the zoo's run or the
#      shipped weights);
#   3. the test split: seeds 0-2, every K, each method with its settings chosen on val,
#      the frozen-feature and network methods first, S4L-Rotation last;
#   4. the figure and the tables (docs/label_efficiency.md).
#   STEPS=500         optimisation steps of every run, whatever K
#   SEEDS="0 1 2"     seeds of step 3
#   KS="20 100 400 1000 all"   labelled images per class of step 3
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-${VENV:-.venv}/bin/python}
STEPS=${STEPS:-500}
SEEDS=${SEEDS:-0 1 2}
KS=${KS:-20 100 400 1000 all}
tool=(tools/zoo/label_efficiency.py --steps "$STEPS" --skip-done
      --lr conv=0.1,0.03 scratch=0.01,0.05,0.1,0.3 finetune=0.003,0.01,0.03,0.1,0.3 s4l=0.1
      --rotation-weight 0.5,1)
echo "[label_efficiency] $(date +%H:%M:%S) settings on val"
"$PY" "${tool[@]}" --split val --seeds 0 --ks 100 --eval-images 5000
extra_seeds=$(echo "$SEEDS" | tr ' ' '\n' | { grep -vx 0 || true; } | tr '\n' ' ')
if [ -n "${extra_seeds// /}" ]; then
    SEEDS="$extra_seeds" ZOO_ONLY=nin3b-w48_1xb64-steplr-4e bash tools/zoo/pretrain_all.sh
fi
echo "[label_efficiency] $(date +%H:%M:%S) test split"
# Every seed of one K before the next K, so that an interrupted run has whole points.
for methods in "conv scratch finetune" s4l; do
    for k in $KS; do
        # shellcheck disable=SC2086
        "$PY" "${tool[@]}" --split test --choose-on-val --seeds $SEEDS --ks "$k" \
            --methods $methods
    done
done
"$PY" tools/zoo/label_efficiency.py --no-run --figure docs/figures/label_efficiency.png
"$PY" tools/zoo/make_tables.py  # the tables of docs/label_efficiency.md
echo "[label_efficiency] $(date +%H:%M:%S) done"
