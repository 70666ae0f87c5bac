#!/usr/bin/env bash
# Mutation testing of the plugin core: how many one-token bugs the fast tests catch.
#
#   bash tools/mutation/run_mutmut.sh            # about 7-15 min on 2 idle CPU cores
#
# A benchmark, not part of CI. It copies the repository into work_dirs/mutation/tree,
# lets mutmut (pinned below, installed into the project's venv on first use) mutate
# the core modules one change at a time, runs the tests that cover each change, and
# writes work_dirs/mutation/report.txt: the score and every surviving mutant with its
# diff. tools/mutation/equivalent.txt lists the survivors judged equivalent (a change
# no input can observe) and why; the score counts them apart.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
PY=$(realpath -s "${VENV:-.venv}")/bin/python  # absolute: used after cd
OUT=${OUT:-work_dirs/mutation}
CORE="rotation_pred/rotations.py rotation_pred/models/rotation_pred.py
rotation_pred/models/heads.py rotation_pred/models/backbones/nin.py
rotation_pred/evaluation/rotation_metric.py rotation_pred/evaluation/multi_level_metric.py
rotation_pred/evaluation/topk.py"
TESTS="tests/test_rotations.py tests/test_algorithm.py tests/test_head_and_metric.py
tests/test_nin.py tests/test_fast_modes.py tests/test_bad_input.py"

"$PY" -m pip install -q 'mutmut==3.8.1' 2>&1 | { grep -v '^WARNING: Location' || true; }
rm -rf "$OUT/tree"
mkdir -p "$OUT/tree"
git ls-files -co --exclude-standard | grep -v '^zoo/\|^docs/' | tar -cf - -T - | tar -xf - -C "$OUT/tree"
cd "$OUT/tree"
{
    echo '[mutmut]'
    echo 'source_paths = rotation_pred'
    echo 'only_mutate ='
    for f in $CORE; do echo "    $f"; done
    echo 'pytest_add_cli_args_test_selection ='
    for t in $TESTS; do echo "    $t"; done
    echo 'pytest_add_cli_args = -p no:cacheprovider -x -q'
    echo "also_copy ="
    echo "    configs"
    echo "    tools"
    echo "timeout_constant = 300"
} > setup.cfg
# timeout_constant: the trained-model fixture of tests/test_algorithm.py needs ~10 s
# before any test runs, several times that on a busy machine (a timed-out mutant counts
# as caught, so the limit is generous and the report lists timeouts apart).
# One thread per test process: mutmut forks after the first run, and a forked
# OpenMP pool can hang; two mutants run side by side instead.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
"$PY" -m mutmut run --max-children "${JOBS:-2}" 2>&1 | tail -n 20
"$PY" -m mutmut results --all true > ../results.txt 2>&1 || true
"$PY" "$REPO/tools/mutation/report.py" ../results.txt \
    --equivalent "$REPO/tools/mutation/equivalent.txt" --mutmut "$PY -m mutmut" \
    > ../report.txt
cat ../report.txt | head -n 40
echo "report: $OUT/report.txt"
