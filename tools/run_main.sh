#!/usr/bin/env bash
# The main job: install, pretrain RotNet on Fashion-MNIST (2 CPU cores: about 4.5 minutes),
# then a linear probe of every block against the same network randomly initialised.
# Work dir: work_dirs/main (override with WORK_DIR). Extra arguments go to tools/train.py.
# DATA=/path/to/images: pretrain on every image file under that folder instead (the NIN
# image-folder config) and report the rotation accuracy on its held-out share; a plain
# folder has no labels, so there is no linear probe.
# A smaller run (the tests use one; unset, each is the full job's setting):
#   MAIN_TRAIN_IMAGES  pretraining images, the first N of the train split (12000; with
#                      DATA: all of the folder but its held-out share)
#   MAIN_EPOCHS        pretraining epochs (4)
#   MAIN_VAL_IMAGES    images of the validation after the last epoch, the first N of the
#                      test split (all 10000; with DATA: all of the held-out share)
#   MAIN_PROBE_TRAIN   linear probe training images (--train-samples, 10000)
#   MAIN_PROBE_TEST    linear probe test images (--test-samples, all 10000)
#   MAIN_PROBE_EPOCHS  linear probe epochs (--epochs, 30)
# VENV: the virtual environment to install into and run (.venv).
set -euo pipefail
if [ -n "${DATA:-}" ]; then
    # Resolved before the cd below, so a path relative to the caller's folder works.
    [ -d "$DATA" ] || { echo "[main] DATA=$DATA is not a folder" >&2; exit 2; }
    DATA=$(CDPATH= cd -- "$DATA" > /dev/null && pwd)
    case "$DATA" in
        *[[:space:],\'\"\[\]\(\)]*)
            echo "[main] DATA=$DATA: --cfg-options cannot pass a path with spaces, commas," \
                 "quotes or brackets; link the folder to a plain path" >&2
            exit 2 ;;
    esac
fi
cd "$(dirname "$0")/.."
bash tools/install.sh
PY=${VENV:-.venv}/bin/python
CONFIG=configs/rotation-pred_nin3b-w48_1xb64-steplr-4e_fashion-mnist.py
[ -n "${DATA:-}" ] && CONFIG=configs/rotation-pred_nin3b-w48_1xb64-steplr-4e_image-folder.py
WORK_DIR=${WORK_DIR:-work_dirs/main}
export PYTHONUNBUFFERED=1

train_options=()
[ -n "${DATA:-}" ] && train_options+=("train_dataloader.dataset.data_root=$DATA"
                                      "val_dataloader.dataset.data_root=$DATA")
[ -n "${MAIN_TRAIN_IMAGES:-}" ] && train_options+=("train_dataloader.dataset.indices=$MAIN_TRAIN_IMAGES")
[ -n "${MAIN_EPOCHS:-}" ] && train_options+=("train_cfg.max_epochs=$MAIN_EPOCHS")
[ -n "${MAIN_VAL_IMAGES:-}" ] && train_options+=("val_dataloader.dataset.indices=$MAIN_VAL_IMAGES")
[ ${#train_options[@]} -gt 0 ] && train_options=(--cfg-options "${train_options[@]}")
probe_options=()
[ -n "${MAIN_PROBE_TEST:-}" ] && probe_options+=(--test-samples "$MAIN_PROBE_TEST")
[ -n "${MAIN_PROBE_EPOCHS:-}" ] && probe_options+=(--epochs "$MAIN_PROBE_EPOCHS")

if [ -n "${DATA:-}" ]; then
    echo "[main] 1/1 RotNet pretraining on the images under $DATA: $CONFIG -> $WORK_DIR"
    console='Epoch\(|Traceback|Error|ImageFolderUnlabeled'
else
    echo "[main] 1/2 RotNet pretraining: $CONFIG -> $WORK_DIR"
    console='Epoch\(|Traceback|Error'
fi
mkdir -p "$WORK_DIR"
rm -f "$WORK_DIR/last_checkpoint"
# The full log goes to train.log; the console shows progress lines and any error.
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" ${train_options[@]+"${train_options[@]}"} \
    "$@" 2>&1 | tee "$WORK_DIR/train.log" \
    | { grep --line-buffered -E "$console" || true; }
checkpoint=$(cat "$WORK_DIR/last_checkpoint")

if [ -n "${DATA:-}" ]; then
    accuracy=$(grep -o 'rotation/accuracy: [0-9.]*' "$WORK_DIR/train.log" | tail -1 \
               | cut -d' ' -f2 || true)
    held_out=$(grep -o "split='val': [0-9]* of [0-9]* images" "$WORK_DIR/train.log" | tail -1 \
               | cut -d' ' -f2-5 || true)
    echo "[main] checkpoint: $checkpoint"
    echo "[main] rotation accuracy on the held-out images (${held_out:-see $WORK_DIR/train.log}):" \
         "${accuracy:-not measured (no validation ran; see $WORK_DIR/train.log)}"
    echo "[main] no labels: $DATA is a plain image folder, and the linear probe needs" \
         "labelled images; stopping after the rotation accuracy"
    exit 0
fi

echo "[main] 2/2 linear probe of $checkpoint"
"$PY" tools/benchmarks/evaluate.py "$CONFIG" "$checkpoint" \
    --protocols rotation_accuracy linear_probe --random-baseline --max-dims 2500 \
    --train-samples "${MAIN_PROBE_TRAIN:-10000}" --name "$(basename "${CONFIG%.py}")" \
    --work-dir "$WORK_DIR/linear_probe" ${probe_options[@]+"${probe_options[@]}"}
