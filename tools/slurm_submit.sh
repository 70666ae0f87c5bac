#!/usr/bin/env bash
# Submit training as a batch job that survives time limits and preemption:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [TIME=2-00:00:00] [SIGNAL_BEFORE=120] \
#   [SBATCH_ARGS=...] [SRUN_ARGS=...] \
#   tools/slurm_submit.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py options]
#
# sbatch with the options tools/slurm_train.sh relies on, then slurm_train.sh inside:
#   --requeue                       the job may be requeued (scontrol requeue, or Slurm
#                                   on preemption);
#   --signal=USR1@$SIGNAL_BEFORE    SIGUSR1 to the job steps (the training processes),
#                                   not to the batch shell (no `B:`), that many seconds
#                                   before the time limit: training saves and exits 75,
#                                   slurm_train.sh requeues, the new run resumes;
#   --open-mode=append              the log of a requeued run goes on in the same file,
#                                   slurm-<name>-<job id>.out (the job id stays).
# Set SIGNAL_BEFORE above one iteration + one checkpoint write + one validation.
# Environment variables (GPUS, SIGNAL_BEFORE, ...) reach the job (sbatch --export=ALL).
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
TIME=${TIME:-2-00:00:00}
SIGNAL_BEFORE=${SIGNAL_BEFORE:-120}
SBATCH_ARGS=${SBATCH_ARGS:-}
HERE=$(cd "$(dirname "$0")" && pwd)
[ $((GPUS % GPUS_PER_NODE)) -eq 0 ] || GPUS_PER_NODE=$GPUS  # fewer GPUs than a node

# sbatch runs a copy of its script elsewhere: wrap the call to slurm_train.sh here
COMMAND=$(printf '%q ' "$HERE/slurm_train.sh" "$@")
sbatch -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --nodes=$(((GPUS + GPUS_PER_NODE - 1) / GPUS_PER_NODE)) \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --time="$TIME" \
    --requeue \
    --signal="USR1@$SIGNAL_BEFORE" \
    --open-mode=append \
    --output="slurm-%x-%j.out" \
    $SBATCH_ARGS \
    --wrap="GPUS_PER_NODE=$GPUS_PER_NODE exec $COMMAND"
