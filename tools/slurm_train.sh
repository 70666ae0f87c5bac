#!/usr/bin/env bash
# Training on a Slurm cluster:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] [SIGNAL_BEFORE=120] \
#   [AUTO_RESUME=1] [MAX_REQUEUES=50] \
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py options]
#
# Preemption-safe (docs/preemption.md): train.py gets --resume, so a run
# goes on from the latest checkpoint of its work dir (AUTO_RESUME=0: not); on SIGTERM or
# SIGUSR1 training saves after the current iteration and exits with status 75. Then:
# - inside a batch job (tools/slurm_submit.sh, or your own `sbatch --requeue
#   --signal=USR1@120 --open-mode=append`): the job is requeued with `scontrol requeue`
#   if Slurm has it RUNNING (the signal was the time-limit warning, a preemption grace
#   time, or `scancel --signal`) or PREEMPTED; a job cancelled with scancel, or already
#   requeued by Slurm, is left alone. At most MAX_REQUEUES restarts.
# - run from a login node (srun makes the allocation): srun asks for SIGUSR1
#   SIGNAL_BEFORE seconds before the time limit (set the limit with SRUN_ARGS="--time
#   ..."); an interactive allocation cannot be requeued: run the command again.
# The signal is sent to the training processes, not to a batch shell (no `B:`).
# The exit status is train.py's (75 after a preemption).
set -uo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=${4:-}
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
SIGNAL_BEFORE=${SIGNAL_BEFORE:-120}
AUTO_RESUME=${AUTO_RESUME:-1}
MAX_REQUEUES=${MAX_REQUEUES:-50}
EXIT_PREEMPTED=75  # rotation_pred/engine/preemption.py
HERE=$(cd "$(dirname "$0")" && pwd)
EXTRA=("${@:5}")
[ -n "$WORK_DIR" ] && EXTRA=(--work-dir "$WORK_DIR" "${EXTRA[@]}")
# before the other options: an explicit --resume CHECKPOINT among them wins
[ "$AUTO_RESUME" = 1 ] && EXTRA=(--resume "${EXTRA[@]}")
SIGNAL_ARGS=()
# Inside a job the allocation's --signal applies; srun only asks when it allocates.
[ -z "${SLURM_JOB_ID:-}" ] && [ "$SIGNAL_BEFORE" -gt 0 ] && \
    SIGNAL_ARGS=(--signal="USR1@$SIGNAL_BEFORE")

# Rank 0 writes the checkpoint path here when it stops for a signal: srun may report
# another status when --kill-on-bad-exit ends the ranks that exit last.
MARKER="$PWD/.slurm_train.preempted.${SLURM_JOB_ID:-$$}"
rm -f "$MARKER"
# A batch shell signalled too (scancel) waits for srun instead of dying.
trap 'echo "slurm_train.sh: signalled, waiting for training to save"' TERM USR1

ROTATION_PRED_PREEMPTED_MARKER="$MARKER" \
PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    "${SIGNAL_ARGS[@]}" \
    $SRUN_ARGS \
    "${PYTHON:-python}" -u "$HERE/train.py" "$CONFIG" --launcher slurm "${EXTRA[@]}"
STATUS=$?
[ -s "$MARKER" ] && STATUS=$EXIT_PREEMPTED
rm -f "$MARKER"
[ "$STATUS" -ne "$EXIT_PREEMPTED" ] && exit "$STATUS"

if [ -z "${SLURM_JOB_ID:-}" ]; then
    echo "slurm_train.sh: preempted; checkpoint saved: run the same command to resume"
    exit "$STATUS"
fi
STATE=$(scontrol show job "$SLURM_JOB_ID" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
RESTARTS=${SLURM_RESTART_COUNT:-0}
if [ "$STATE" != RUNNING ] && [ "$STATE" != PREEMPTED ]; then
    echo "slurm_train.sh: preempted, job $SLURM_JOB_ID is ${STATE:-unknown}: not requeued"
elif [ "$RESTARTS" -ge "$MAX_REQUEUES" ]; then
    echo "slurm_train.sh: preempted after $RESTARTS restarts (MAX_REQUEUES): not requeued"
else
    echo "slurm_train.sh: preempted; requeueing job $SLURM_JOB_ID (restart $((RESTARTS + 1)))"
    scontrol requeue "$SLURM_JOB_ID" || echo "slurm_train.sh: requeue refused: is the" \
        "job requeueable (sbatch --requeue, JobRequeue=1)? Resubmit to resume"
fi
exit "$STATUS"
