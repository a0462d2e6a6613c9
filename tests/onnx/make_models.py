"""Builds ONNX files with the `onnx` package (onnx.helper), independently of
fpec, for tests/dnn_onnx.rs.

Usage: make_models.py OUT_DIR

good.onnx: input [N, 1, 8, 8]; Conv 1->4 3x3 stride 2 pad 1 (float_data
initializers), Relu, MaxPool 2, Reshape [0, -1] (shape from a Constant node),
MatMul 16x12 + Add (raw_data initializers), Relu, Gemm 12->10 (transB = 0,
bias C). Seeded weights. Checked with onnx.checker (full_check).

Bad files (the same graph with one defect each):
  bad-softmax.onnx   a Softmax node after the Gemm (unsupported op)
  bad-float64.onnx   Conv weights stored as DOUBLE
  bad-int32.onnx     the Add bias stored as INT32
  bad-shape.onnx     MatMul weights 15x12 while its input has 16 values
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR = 8


def build(defect=None):
    rng = np.random.default_rng(11)
    conv_w = rng.uniform(-1, 1, (4, 1, 3, 3)).astype(np.float32)
    conv_b = rng.uniform(-0.2, 0.2, (4,)).astype(np.float32)
    mm_in = 15 if defect == "shape" else 16
    mm_w = rng.uniform(-0.5, 0.5, (mm_in, 12)).astype(np.float32)
    add_b = rng.uniform(-0.2, 0.2, (12,)).astype(np.float32)
    gemm_w = rng.uniform(-0.5, 0.5, (12, 10)).astype(np.float32)
    gemm_c = rng.uniform(-0.2, 0.2, (10,)).astype(np.float32)

    if defect == "float64":
        conv_w_t = helper.make_tensor(
            "conv.w", TensorProto.DOUBLE, conv_w.shape, conv_w.astype(np.float64).ravel().tolist()
        )
    else:
        conv_w_t = helper.make_tensor("conv.w", TensorProto.FLOAT, conv_w.shape, conv_w.ravel().tolist())
    conv_b_t = helper.make_tensor("conv.b", TensorProto.FLOAT, conv_b.shape, conv_b.tolist())
    if defect == "int32":
        add_b_t = helper.make_tensor("fc1.b", TensorProto.INT32, [12], [1] * 12)
    else:
        add_b_t = numpy_helper.from_array(add_b, "fc1.b")
    inits = [
        conv_w_t,
        conv_b_t,
        numpy_helper.from_array(mm_w, "fc1.w"),
        add_b_t,
        numpy_helper.from_array(gemm_w, "fc2.w"),
        numpy_helper.from_array(gemm_c, "fc2.c"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv.w", "conv.b"], ["c"], name="conv",
                         kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu1"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Constant", [], ["shape"], name="shape",
                         value=numpy_helper.from_array(np.array([0, -1], dtype=np.int64))),
        helper.make_node("Reshape", ["p", "shape"], ["f"], name="flat"),
        helper.make_node("MatMul", ["f", "fc1.w"], ["m"], name="fc1"),
        helper.make_node("Add", ["m", "fc1.b"], ["a"], name="fc1_bias"),
        helper.make_node("Relu", ["a"], ["h"], name="relu2"),
        helper.make_node("Gemm", ["h", "fc2.w", "fc2.c"], ["logits"], name="fc2"),
    ]
    out = "logits"
    if defect == "softmax":
        # Softmax as the last node: imported as a graph, dropped (argmax unchanged).
        nodes.append(helper.make_node("Softmax", ["logits"], ["prob"], name="softmax", axis=1))
        out = "prob"
    if defect == "softmax-mid":
        # Softmax before the classifier: not the last node.
        nodes[7] = helper.make_node("Softmax", ["a"], ["h"], name="softmax", axis=1)
    graph = helper.make_graph(
        nodes,
        "onnx-helper-cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", 10])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="onnx.helper")
    model.ir_version = IR
    return model


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    good = build()
    onnx.checker.check_model(good, full_check=True)
    onnx.save(good, os.path.join(out, "good.onnx"))
    for defect in ["softmax", "softmax-mid", "float64", "int32", "shape"]:
        onnx.save(build(defect), os.path.join(out, f"bad-{defect}.onnx"))


if __name__ == "__main__":
    main()
