#!/usr/bin/env bash
# BENCHMARKS.md, "ONNX (issue 11)": times `fpec dnn import` of a generated
# 1M-parameter ONNX file (Gemm 1000 -> 1000, float32 raw_data, written by
# the onnx package of the project venv) with the release build.
# Usage: bash scripts/bench-onnx-import.sh   (after scripts/bootstrap.sh and
# cargo build --release)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FPEC="${FPEC:-${CARGO_TARGET_DIR:-$ROOT/target}/release/fpec}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$ROOT/.venv/bin/python" - "$TMP/dense1m.onnx" <<'PY'
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
rng = np.random.default_rng(1)
w = rng.uniform(-0.05, 0.05, (1000, 1000)).astype(np.float32)
b = rng.uniform(-0.05, 0.05, (1000,)).astype(np.float32)
g = helper.make_graph(
    [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc", transB=1)],
    "dense1m",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1000])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1000])],
    initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, sys.argv[1])
PY
ls -l "$TMP/dense1m.onnx" >&2
for i in 1 2 3; do
    /usr/bin/time -f "run $i: %e s wall, %M KB max RSS" "$FPEC" dnn import "$TMP/dense1m.onnx" --out "$TMP/dense1m.json"
done
ls -l "$TMP/dense1m.json" >&2
