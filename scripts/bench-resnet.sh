#!/usr/bin/env bash
# ResNet-20 on the CIFAR-10 test set (issue 18, BENCHMARKS.md): onnxruntime
# float inference and fpec's bit-exact inference of the same ONNX on the same
# decoded tensors, in one run on one machine.
#
#   bash scripts/bench-resnet.sh [BITS ...]        (default: 8+0 6+2)
#
# 1. fpec dnn export-data: the test images as fpec decodes and normalizes
#    them -> out/bench-resnet/cifar10-test.npz (decode time reported);
# 2. scripts/bench-resnet-ort.py: onnxruntime over those tensors (inference
#    only, after a warm-up batch), accuracy and images/s;
# 3. per BITS: fpec dnn eval --json on the same images, calibrated on
#    train-1k; its "seconds" is the quantized inference alone.
# Environment: FPEC (binary, default target/release/fpec, built if missing),
# SHARED (default ../shared), OUT (default out/bench-resnet).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
OUT="${OUT:-$ROOT/out/bench-resnet}"
FPEC="${FPEC:-$ROOT/target/release/fpec}"
NET="$SHARED/nets/cifar10-resnet20.onnx"
TEST="$SHARED/data/cifar10-jpeg/test"
CALIB="$SHARED/data/cifar10-jpeg/train-1k"
NORM=(--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225)
BITS=("$@")
[ ${#BITS[@]} -gt 0 ] || BITS=(8+0 6+2)
for p in "$NET" "$TEST" "$CALIB"; do
    [ -e "$p" ] || { echo "bench-resnet: $p is missing (see README, Real networks and data)" >&2; exit 2; }
done
[ -x "$ROOT/.venv/bin/python" ] || { echo "bench-resnet: no .venv: run scripts/bootstrap.sh" >&2; exit 2; }
if [ ! -x "$FPEC" ]; then (cd "$ROOT" && cargo build --release); fi
mkdir -p "$OUT"
now() { date +%s.%N; }
echo "machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"

t0=$(now)
"$FPEC" dnn export-data --data "$TEST" "${NORM[@]}" --out "$OUT/cifar10-test.npz"
echo "fpec decode (export-data): $(echo "$(now) - $t0" | bc) s"

"$ROOT/.venv/bin/python" "$ROOT/scripts/bench-resnet-ort.py" --npz "$OUT/cifar10-test.npz" \
    --model "$NET" --json > "$OUT/ort.json"
ort_s=$("$ROOT/.venv/bin/python" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["seconds"])' "$OUT/ort.json")
ort_acc=$("$ROOT/.venv/bin/python" -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.2f" % r["accuracy"])' "$OUT/ort.json")
echo "onnxruntime float: ${ort_s} s, accuracy ${ort_acc} %"

for b in "${BITS[@]}"; do
    t0=$(now)
    if "$FPEC" dnn eval --model "$NET" --bits "$b" --data "$TEST" --calib "$CALIB" "${NORM[@]}" \
        --json > "$OUT/eval-$b.json" 2> "$OUT/eval-$b.log"; then
        wall=$(echo "$(now) - $t0" | bc)
        "$ROOT/.venv/bin/python" - "$OUT/eval-$b.json" "$ort_s" "$wall" "$b" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); ort = float(sys.argv[2]); wall = float(sys.argv[3])
print(f"fpec {sys.argv[4]}: {r['seconds']:.2f} s inference ({r['seconds'] / ort:.2f}x onnxruntime), "
      f"{wall:.1f} s wall, accuracy {r['quantized_accuracy']:.2f} % (float {r['float_accuracy']:.2f} %)")
PY
    else
        echo "fpec $b: failed: $(tail -n1 "$OUT/eval-$b.log")"
    fi
done
