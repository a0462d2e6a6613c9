#!/usr/bin/env bash
# ResNet-20 bit-exact inference vs onnxruntime, in one run on one machine
# (issue 18 targets, BENCHMARKS.md "graph"): onnxruntime float inference of
# the ONNX on the tensors fpec decodes, then fpec's bit-exact GEMM engine at
# FxP 8 and FPEC 6+2 over the same images (inference time only: decoding and
# calibration excluded on both sides; the total wall time is printed too).
#
#   bash scripts/bench-resnet20.sh [LIMIT]     # default: all 10,000 test images
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
NET=$SHARED/nets/cifar10-resnet20.onnx
TEST=$SHARED/data/cifar10-jpeg/test
CAL=$SHARED/data/cifar10-jpeg/train-1k
NORM=(--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225)
LIMIT=()
[ $# -ge 1 ] && LIMIT=(--limit "$1")
FPEC=target/release/fpec
cargo build --release --quiet
mkdir -p out/bench-resnet20
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%FT%TZ)"
$FPEC dnn export-data --data "$TEST" "${NORM[@]}" "${LIMIT[@]}" --out out/bench-resnet20/test.npz
.venv/bin/python scripts/bench-resnet-ort.py --npz out/bench-resnet20/test.npz --model "$NET"
for bits in 8+0 6+2; do
  /usr/bin/time -f "fpec $bits: wall %e s, max RSS %M kB" \
    $FPEC dnn eval --model "$NET" --data "$TEST" --calib "$CAL" "${NORM[@]}" "${LIMIT[@]}" --bits $bits \
    | grep -E "accuracy|inference time|data:"
done
