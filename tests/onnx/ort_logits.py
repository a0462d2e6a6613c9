"""Runs an ONNX file under onnxruntime (the reference runtime of
tests/dnn_onnx.rs) and prints its outputs as JSON.

Usage: ort_logits.py MODEL.onnx < request.json
request: {"shape": [C, H, W] or [n], "images": [[...], ...]} (flattened)
reply:   {"logits": [[...], ...], "onnxruntime": "x.y.z", "onnx": "x.y.z"}

The model is first checked with onnx.checker (full_check: with shape
inference), so an exported file that onnxruntime would run but that breaks
the ONNX spec still fails the test.
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main():
    path = sys.argv[1]
    req = json.load(sys.stdin)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = np.asarray(req["images"], dtype=np.float32).reshape([-1] + list(req["shape"]))
    (y,) = sess.run(None, {sess.get_inputs()[0].name: x})
    json.dump(
        {
            "logits": y.astype(np.float64).tolist(),
            "onnxruntime": ort.__version__,
            "onnx": onnx.__version__,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
