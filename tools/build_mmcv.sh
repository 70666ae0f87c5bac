#!/usr/bin/env bash
# Build mmcv 2.1.0 with its compiled ops (mmcv._ext) for the installed torch, into a wheel,
# and install it in place of mmcv-lite (docs/installation.md).
#
# Why a script: mmcv publishes no wheels for current torch releases, and its PyPI sdist
#   * skips the ops without a word under pip's isolated build (torch is absent there),
#     hence --no-build-isolation;
#   * imports pkg_resources in its setup.py (gone in setuptools >= 82), hence a private
#     setuptools<82 for the build, put on PYTHONPATH: the environment is not changed;
#   * asks for -std=c++17, while the headers of torch >= 2.14 need C++20, hence a patch.
# CPU ops; CUDA ops as well when nvcc is found, torch is a CUDA build and there is a GPU to
# build for (a visible one, or the list in TORCH_CUDA_ARCH_LIST, e.g. "8.0;9.0").
# Time: about 7 minutes on 2 CPU cores for the CPU build (77 files); the CUDA build takes
# longer (maintainers quote about 15 minutes).
set -euo pipefail

MMCV_VERSION=2.1.0
MMCV_SDIST_SHA256=d387bcab66b467479b6660310e23746cfc79c6e57acf04094680adb499a5cd3f
REPO=$(cd "$(dirname "$0")/.." && pwd)

usage() {
    cat <<EOF
usage: bash tools/build_mmcv.sh [options]

Build mmcv $MMCV_VERSION with compiled ops against the torch of a Python environment,
install the wheel there (uninstalling mmcv-lite or another mmcv first) and check that
'from mmcv.ops import nms' runs.

options:
  --python PY       the environment's Python (default: \$PYTHON, else the active virtual
                    environment's python, else .venv/bin/python of this repository if it
                    exists, else python3)
  --jobs N          parallel compile jobs (default: \$MAX_JOBS, else the number of CPUs)
  --cpu             build the CPU ops only, even when CUDA ops could be built
  --cuda            build the CUDA ops too, or fail saying why not (default: when nvcc
                    is found, torch is a CUDA build and a GPU is visible or
                    TORCH_CUDA_ARCH_LIST is set)
  --wheel-dir DIR   where the wheel is written and looked for (default:
                    \${XDG_CACHE_HOME:-~/.cache}/rotation_pred/mmcv-wheels); a wheel built
                    before for the same mmcv, torch, CUDA and Python is reused
  --rebuild         build even if such a wheel is there
  --sdist FILE      use this mmcv-$MMCV_VERSION.tar.gz instead of downloading it from the
                    package index (its sha256 is checked either way)
  --wheel FILE      install this prebuilt mmcv wheel (no build); it must have been built
                    for the installed torch
  --no-install      build the wheel only
  --prepare-only    check the environment, download and patch the sdist, print the plan;
                    compile and install nothing
  -h, --help        this text
EOF
}

die() { echo "[build_mmcv] error: $*" >&2; exit 1; }
log() { echo "[build_mmcv] $*"; }

PY=${PYTHON:-}
JOBS=${MAX_JOBS:-}
WANT_DEVICE=auto
WHEEL_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/rotation_pred/mmcv-wheels
REBUILD=0
SDIST=""
WHEEL=""
INSTALL=1
PREPARE_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --python) [ $# -ge 2 ] || die "--python needs a value"; PY=$2; shift 2 ;;
        --jobs) [ $# -ge 2 ] || die "--jobs needs a value"; JOBS=$2; shift 2 ;;
        --cpu) WANT_DEVICE=cpu; shift ;;
        --cuda) WANT_DEVICE=cuda; shift ;;
        --wheel-dir) [ $# -ge 2 ] || die "--wheel-dir needs a value"; WHEEL_DIR=$2; shift 2 ;;
        --rebuild) REBUILD=1; shift ;;
        --sdist) [ $# -ge 2 ] || die "--sdist needs a value"; SDIST=$2; shift 2 ;;
        --wheel) [ $# -ge 2 ] || die "--wheel needs a value"; WHEEL=$2; shift 2 ;;
        --no-install) INSTALL=0; shift ;;
        --prepare-only) PREPARE_ONLY=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[ -z "$JOBS" ] && JOBS=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 2)
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive integer, got '$JOBS'"
[ -z "$SDIST" ] || [ -f "$SDIST" ] || die "--sdist: no such file: $SDIST"
[ -z "$WHEEL" ] || [ -f "$WHEEL" ] || die "--wheel: no such file: $WHEEL"
if [ -n "$WHEEL" ] && [ "$INSTALL" = 0 ]; then die "--wheel and --no-install: nothing to do"; fi

if [ -z "$PY" ]; then
    if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
        PY=$VIRTUAL_ENV/bin/python
    elif [ -x "$REPO/.venv/bin/python" ]; then
        PY=$REPO/.venv/bin/python
    else
        PY=python3
    fi
fi
command -v "$PY" >/dev/null || die "no Python at '$PY'"

# --- the environment: torch, CPU or CUDA, C++ standard --------------------------------
errors=$(mktemp)
info=$("$PY" - 2>"$errors" <<'EOF'
import os
import re
import sys
try:
    import torch
except ImportError:
    sys.exit(3)
try:
    from torch.utils.cpp_extension import CUDA_HOME
except Exception:  # e.g. no setuptools at all: the build brings its own
    CUDA_HOME = os.environ.get('CUDA_HOME')
major, minor = re.match(r'(\d+)\.(\d+)', torch.__version__).groups()
print(torch.__version__, f'{major}.{minor}', torch.version.cuda or 'none', CUDA_HOME or 'none',
      torch.cuda.device_count(), f'cp{sys.version_info.major}{sys.version_info.minor}',
      sys.executable)
EOF
) || { status=$?; [ $status = 3 ] || cat "$errors" >&2; rm -f "$errors"
       [ $status != 3 ] || die "torch is not installed for $PY: install torch first, the ops are compiled against it"
       die "could not inspect torch with $PY (see above)"; }
rm -f "$errors"
read -r TORCH_VERSION TORCH_MINOR TORCH_CUDA CUDA_HOME_FOUND GPUS PY_TAG PY_EXE <<<"$info"

NVCC=""
if [ "$CUDA_HOME_FOUND" != none ] && [ -x "$CUDA_HOME_FOUND/bin/nvcc" ]; then
    NVCC=$CUDA_HOME_FOUND/bin/nvcc
elif command -v nvcc >/dev/null; then
    NVCC=$(command -v nvcc)
fi
# Why CUDA ops cannot be built, if they cannot ("" if they can).
no_cuda=""
if [ -z "$NVCC" ]; then
    no_cuda="no nvcc found (PATH, CUDA_HOME)"
elif [ "$TORCH_CUDA" = none ]; then
    no_cuda="this torch is not a CUDA build"
elif [ "$GPUS" = 0 ] && [ -z "${TORCH_CUDA_ARCH_LIST:-}" ]; then
    no_cuda="no GPU is visible and TORCH_CUDA_ARCH_LIST is not set (e.g. '8.0;9.0')"
fi
case "$WANT_DEVICE" in
    cpu) DEVICE=cpu ;;
    cuda) [ -z "$no_cuda" ] || die "--cuda: cannot build the CUDA ops: $no_cuda"
          DEVICE=cuda ;;
    *) if [ -z "$no_cuda" ]; then DEVICE=cuda; else
           DEVICE=cpu
           [ -z "$NVCC" ] || [ -n "$WHEEL" ] || log "CPU ops only: $no_cuda"
       fi ;;
esac
if [ "$DEVICE" = cuda ]; then FLAVOUR=cu${TORCH_CUDA//./}; else FLAVOUR=cpu; fi

# torch >= 2.14's headers need C++20 (mmcv asks for C++17): gcc >= 11, nvcc >= 12.
STD=c++17
if [ "${TORCH_MINOR%%.*}" -gt 2 ] || { [ "${TORCH_MINOR%%.*}" = 2 ] && [ "${TORCH_MINOR#*.}" -ge 14 ]; }; then
    STD=c++20
    CXX_BIN=${CXX:-c++}
    command -v "$CXX_BIN" >/dev/null || die "no C++ compiler ($CXX_BIN): install g++ >= 11"
    gcc_major=$("$CXX_BIN" -dumpversion | cut -d. -f1)
    [ "$gcc_major" -ge 11 ] 2>/dev/null \
        || die "torch $TORCH_VERSION needs C++20: $CXX_BIN $gcc_major is too old (need >= 11)"
    if [ "$DEVICE" = cuda ]; then
        nvcc_major=$("$NVCC" --version | sed -n 's/.*release \([0-9]*\)\..*/\1/p')
        [ "${nvcc_major:-0}" -ge 12 ] \
            || die "torch $TORCH_VERSION needs C++20: nvcc ${nvcc_major:-?} is too old (need >= 12)"
    fi
else
    command -v "${CXX:-c++}" >/dev/null || die "no C++ compiler (${CXX:-c++}): install g++"
fi

TAG=mmcv-${MMCV_VERSION}_torch-${TORCH_VERSION}_${FLAVOUR}_${PY_TAG}
OUT=$WHEEL_DIR/$TAG
log "python:  $PY_EXE"
log "torch:   $TORCH_VERSION (CUDA: $TORCH_CUDA), nvcc: ${NVCC:-none}"
if [ -n "$WHEEL" ]; then
    log "wheel:   $WHEEL (given: no build)"
else
    archs=""
    [ "$DEVICE" = cpu ] || archs=" for ${TORCH_CUDA_ARCH_LIST:-the visible GPUs}"
    log "build:   mmcv $MMCV_VERSION, $DEVICE ops$archs, -std=$STD, $JOBS jobs"
    log "wheel:   $OUT"
fi

pip_q() { "$PY" -m pip "$@" 2>&1 | { grep -v '^WARNING: Location' || true; }; }

# --- build (unless a wheel is given or cached) -----------------------------------------
if [ -z "$WHEEL" ] && [ "$REBUILD" = 0 ] && [ "$PREPARE_ONLY" = 0 ]; then
    WHEEL=$(ls "$OUT"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)
    [ -z "$WHEEL" ] || log "reusing $WHEEL (--rebuild to build again)"
fi
if [ -z "$WHEEL" ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/build_mmcv.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    start=$(date +%s)
    # Build tools in a private folder: setuptools<82 (mmcv's setup.py imports
    # pkg_resources), wheel, and ninja (parallel compilation).
    log "build tools (setuptools<82, wheel, ninja) into a temporary folder"
    pip_q install -q --target "$work/tools" "setuptools<82" wheel ninja
    export PYTHONPATH=$work/tools${PYTHONPATH:+:$PYTHONPATH}
    export PATH=$work/tools/bin:$PATH

    if [ -n "$SDIST" ]; then
        cp "$SDIST" "$work/mmcv-$MMCV_VERSION.tar.gz"
    else
        log "downloading the mmcv $MMCV_VERSION sdist"
        echo "mmcv==$MMCV_VERSION --hash=sha256:$MMCV_SDIST_SHA256" >"$work/requirements.txt"
        # --no-build-isolation: pip reads the sdist's metadata by running its setup.py,
        # which needs the setuptools<82 above.
        pip_q download -q --no-deps --no-binary mmcv --no-build-isolation --require-hashes \
            -r "$work/requirements.txt" -d "$work"
    fi
    sdist=$work/mmcv-$MMCV_VERSION.tar.gz
    [ -f "$sdist" ] || die "the download of mmcv $MMCV_VERSION failed (see above)"
    sum=$(sha256sum "$sdist" | cut -d' ' -f1)
    [ "$sum" = "$MMCV_SDIST_SHA256" ] \
        || die "sha256 of the sdist is $sum, expected $MMCV_SDIST_SHA256"
    tar xzf "$sdist" -C "$work"
    src=$work/mmcv-$MMCV_VERSION
    if [ "$STD" = c++20 ]; then
        sed -i 's/-std=c++14/-std=c++20/g; s/-std=c++17/-std=c++20/g' "$src/setup.py"
        grep -q -- '-std=c++20' "$src/setup.py" || die "could not patch the C++ standard"
    fi
    log "sdist ready in $src"
    if [ "$PREPARE_ONLY" = 1 ]; then
        trap - EXIT
        log "--prepare-only: stopping before the compilation (left in $work)"
        exit 0
    fi

    mkdir -p "$OUT"
    buildlog=$OUT/build.log
    log "compiling (about 7 minutes on 2 CPU cores for the CPU ops; log: $buildlog)"
    export MMCV_WITH_OPS=1 MAX_JOBS=$JOBS
    if [ "$DEVICE" = cuda ]; then
        export FORCE_CUDA=1 CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$NVCC")")}
    else
        # mmcv's setup.py builds the CUDA ops whenever a GPU is visible: hide it.
        export FORCE_CUDA=0 CUDA_VISIBLE_DEVICES=""
    fi
    if ! "$PY" -m pip wheel -v --no-build-isolation --no-deps -w "$work/wheel" "$src" \
            >"$buildlog" 2>&1; then
        tail -n 40 "$buildlog" >&2
        die "the build failed; full log: $buildlog"
    fi
    unset FORCE_CUDA CUDA_VISIBLE_DEVICES
    built=$(ls "$work"/wheel/mmcv-"$MMCV_VERSION"-*.whl)
    "$PY" - "$built" <<'EOF' || die "the wheel has no compiled mmcv._ext: ops were skipped"
import sys, zipfile
sys.exit(not any(n.startswith('mmcv/_ext') for n in zipfile.ZipFile(sys.argv[1]).namelist()))
EOF
    mv "$built" "$OUT/"
    WHEEL=$OUT/$(basename "$built")
    log "built $WHEEL ($(du -h "$WHEEL" | cut -f1)) in $(( $(date +%s) - start )) s"
elif [ "$PREPARE_ONLY" = 1 ]; then
    log "--prepare-only with a wheel given: nothing to prepare"
    exit 0
fi
[ "$INSTALL" = 1 ] || exit 0

# --- install in place of any other mmcv, then check ------------------------------------
for dist in mmcv-lite mmcv mmcv-full; do
    if "$PY" -c "from importlib import metadata; metadata.version('$dist')" 2>/dev/null; then
        log "uninstalling $dist"
        pip_q uninstall -q -y "$dist"
    fi
done
log "installing $WHEEL"
pip_q install -q "$WHEEL"
"$PY" - <<'EOF' || die "the installed mmcv does not run its compiled nms (built for another torch?)"
import torch
import mmcv
from mmcv.ops import nms
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])
scores = torch.tensor([0.9, 0.8, 0.7])
_, keep = nms(boxes, scores, 0.5)
assert keep.tolist() == [0, 2], keep
print(f'[build_mmcv] ok: mmcv {mmcv.__version__}, mmcv.ops.nms runs on the compiled '
      f'mmcv._ext (torch {torch.__version__})')
EOF
log "pip check:"
"$PY" -m pip check || log "pip check reports the problems above"
