#!/usr/bin/env bash
# Set up everything the main job and the tests need, on a fresh Debian machine:
# the Fashion-MNIST Debian package, a virtual environment (.venv, or $VENV) with torch,
# mmcv and this package in editable mode with every extra (".[all,tests]", setup.py).
# Keeps what is there: a torch inside setup.py's range (else torch 2.14.1 +
# torchvision 0.29.1, the tested pair, are installed) and an installed mmcv (mmcv-lite or
# a full mmcv built with tools/build_mmcv.sh; with none, mmcv-lite 2.1.0 is installed).
# Also OpenMMLab's mim command (openmim, docs/mim.md) without its dependency opendatalab.
# Safe to run again: it reinstalls only when setup.py (or this script) changed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
TESTED_TORCH=(torch==2.14.1 torchvision==0.29.1)
LITE_MMCV=mmcv-lite==2.1.0
# openmim declares opendatalab, whose openxlab pins setuptools~=60.2 (too old for
# editable installs), requests~=2.28 and rich~=13.4; so openmim is installed without
# dependencies, after the packages its search/list/train/test commands import.
MIM=openmim==0.3.9
MIM_DEPS=(click colorama model-index pandas requests rich tabulate)

if [ ! -d /usr/share/datasets/fashion-mnist ]; then
    echo "[install] Fashion-MNIST (Debian package dataset-fashion-mnist)"
    SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
    $SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null \
        || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null; }
fi

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PY="$VENV/bin/python"
# pip's own exit status counts; only its notes about absent local index folders are hidden.
pip_install() {
    "$PY" -m pip install -q "$@" 2>&1 | { grep -v '^WARNING: Location' || true; }
}
stamp="$VENV/.rotation_pred-setup"
want=$(cat setup.py tools/install.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    # Exit 0 when torch and torchvision are installed and inside the ranges of setup.py.
    if "$PY" - <<'EOF'
import re, sys
from importlib import metadata
try:
    from packaging.requirements import Requirement
except ImportError:  # a fresh venv: pip's own copy
    from pip._vendor.packaging.requirements import Requirement
source = open('setup.py').read()
for name in ('torch', 'torchvision'):
    req = Requirement(re.search(r"'(%s[<>=!~][^']*)'" % name, source).group(1))
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        sys.exit(1)
    if not req.specifier.contains(version, prereleases=True):
        print(f'[install] {name} {version} is outside {req}', flush=True)
        sys.exit(1)
    print(f'[install] keeping {name} {version} ({req})', flush=True)
EOF
    then :; else
        echo "[install] ${TESTED_TORCH[*]} (a few minutes)"
        pip_install "${TESTED_TORCH[@]}"
    fi
    # mmcv is not in setup.py (mmcv-lite or full mmcv: README, "Install"); keep the one
    # that is there, else install mmcv-lite in the same pip run as the stack it needs.
    mmcv_dists=$("$PY" - <<'EOF'
from importlib import metadata
for name in ('mmcv', 'mmcv-lite', 'mmcv-full'):
    try:
        print(f'{name} {metadata.version(name)}')
    except metadata.PackageNotFoundError:
        pass
EOF
)
    lite=()
    if [ -n "$mmcv_dists" ]; then
        echo "[install] keeping $(echo "$mmcv_dists" | paste -sd, -)"
    else
        lite=("$LITE_MMCV")
    fi
    echo "[install] the OpenMMLab stack and rotation_pred[all,tests]${lite[*]:+ with ${lite[*]}}"
    pip_install -e ".[all,tests]" ${lite[@]+"${lite[@]}"}
    "$PY" -c "import rotation_pred, mmdet, mmseg, mmpretrain" \
        || { echo "[install] the stack does not import; see the output above" >&2; exit 1; }
    # From now on pip notes after each install that openmim lacks opendatalab: expected.
    echo "[install] $MIM without opendatalab"
    pip_install "${MIM_DEPS[@]}"
    pip_install --no-deps "$MIM"
    "$PY" -W 'ignore:pkg_resources is deprecated:UserWarning' -c "import mim" \
        || { echo "[install] mim does not import; see the output above" >&2; exit 1; }
    echo "$want" > "$stamp"
fi
