#!/usr/bin/env bash
# Set up everything the main job and the tests need, on a fresh Debian machine:
# the Fashion-MNIST Debian package, a virtual environment (.venv, or $VENV) with the
# pinned stack (setup.py) and this package in editable mode. Safe to run again: it
# reinstalls only when setup.py changed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

if [ ! -d /usr/share/datasets/fashion-mnist ]; then
    echo "[install] Fashion-MNIST (Debian package dataset-fashion-mnist)"
    SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
    $SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null \
        || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null; }
fi

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# pip's own exit status counts; only its notes about absent local index folders are hidden.
pip_install() {
    "$VENV/bin/python" -m pip install -q "$@" 2>&1 | { grep -v '^WARNING: Location' || true; }
}
stamp="$VENV/.rotation_pred-setup"
want=$(sha256sum setup.py | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "[install] torch 2.14.1 + torchvision 0.29.1, then the OpenMMLab stack (a few minutes)"
    pip_install torch==2.14.1 torchvision==0.29.1
    pip_install -e ".[tests]"
    "$VENV/bin/python" -c "import rotation_pred, mmdet, mmseg, mmpretrain" 2>/dev/null \
        || { echo "[install] the stack does not import; see the pip output above" >&2; exit 1; }
    echo "$want" > "$stamp"
fi
