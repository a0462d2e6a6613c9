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
