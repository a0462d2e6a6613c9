#!/usr/bin/env bash
# Sets up everything fpec needs on a Debian/Ubuntu machine: Verilator, Yosys
# and Icarus Verilog from Debian packages when they are missing, and a Rust
# toolchain check. Safe to run again; installs nothing that is already there.
set -euo pipefail

need=()
command -v verilator >/dev/null 2>&1 || need+=(verilator)
command -v yosys >/dev/null 2>&1 || need+=(yosys)
command -v iverilog >/dev/null 2>&1 || need+=(iverilog)
# Verilator builds C++ harnesses.
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
# GNU parallel runs sharded regressions (scripts/regress-parallel.sh) and its CI test.
command -v parallel >/dev/null 2>&1 || need+=(parallel)

if [ ${#need[@]} -gt 0 ]; then
    echo "bootstrap: installing ${need[*]} from Debian packages" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "bootstrap: cargo not found; install Rust (rustup) first" >&2
    exit 1
fi

echo "bootstrap: $(verilator --version | head -n1); $(yosys -V); $(iverilog -V 2>/dev/null | head -n1); $(parallel --version 2>/dev/null | head -n1)" >&2

# Python packages for the ONNX cross-check (tests/suite/dnn_onnx.rs): a
# project-local virtual environment .venv/ (git-ignored), created only if
# missing, with the pinned versions of scripts/requirements-onnx.txt.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQ="$ROOT/scripts/requirements-onnx.txt"
if [ ! -x "$VENV/bin/python" ]; then
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -m venv --help >/dev/null 2>&1 \
        || ! python3 -c "import ensurepip" >/dev/null 2>&1; then
        echo "bootstrap: installing python3 and python3-venv from Debian packages" >&2
        SUDO=""
        if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3 python3-venv >/dev/null
    fi
    echo "bootstrap: creating $VENV" >&2
    python3 -m venv "$VENV"
fi
# Installs only when a pinned version is missing or different.
if ! "$VENV/bin/python" - "$REQ" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, want = line.split("==")
        assert version(name) == want, name
PY
then
    echo "bootstrap: installing $(grep -v '^#' "$REQ" | tr '\n' ' ')into $VENV" >&2
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
fi
echo "bootstrap: $("$VENV/bin/python" -c 'import onnx, onnxruntime, numpy; print("onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__, "numpy", numpy.__version__)')" >&2
