#!/usr/bin/env bash
# Install everything (tools/install.sh), then run the test suite on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
exec "${VENV:-.venv}/bin/python" -m pytest tests "$@"
