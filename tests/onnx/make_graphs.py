"""Small ONNX graphs (onnx.helper) covering every op fpec imports as a graph,
for tests/suite/dnn_graph_onnx.rs, plus bad files. Input [N, 1, 8, 8] (the
digits), 10 classes. Usage: make_graphs.py OUT_DIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR = 8


def every_op(defect=None):
    rng = np.random.default_rng(5)
    t = {}

    def w(name, *shape, s=0.5):
        t[name] = rng.uniform(-s, s, shape).astype(np.float32)
        return name

    def bn(name, c):
        t[name + ".g"] = rng.uniform(0.5, 1.5, (c,)).astype(np.float32)
        t[name + ".b"] = rng.uniform(-0.2, 0.2, (c,)).astype(np.float32)
        t[name + ".m"] = rng.uniform(-0.2, 0.2, (c,)).astype(np.float32)
        t[name + ".v"] = rng.uniform(0.5, 2.0, (c,)).astype(np.float32)
        return [name + s for s in (".g", ".b", ".m", ".v")]

    def const(name, arr):
        t[name] = np.asarray(arr)
        return name

    N = helper.make_node
    nodes = [
        N("Conv", ["x", w("c1.w", 8, 1, 3, 3)], ["c1"], name="c1", kernel_shape=[3, 3], pads=[0, 1, 1, 2]),
        N("BatchNormalization", ["c1"] + bn("bn1", 8), ["b1"], name="bn1", epsilon=1e-5),
        N("Relu", ["b1"], ["r1"], name="r1"),
        N("Conv", ["r1", w("dw.w", 8, 1, 3, 3), w("dw.b", 8, s=0.1)], ["dw"], name="dw", group=8, pads=[1, 1, 1, 1]),
        N("BatchNormalization", ["dw"] + bn("bn2", 8), ["b2"], name="bn2"),
        N("Add", ["b2", "r1"], ["add1"], name="add1"),
        N("Clip", ["add1", const("zero", np.float32(0.0)), const("six", np.float32(1.5))], ["cl"], name="clip"),
        N("MaxPool", ["cl"], ["mp"], name="mp", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1]),
        N("Slice", ["cl", const("st", np.array([0, 0], np.int64)), const("en", np.array([7, 99], np.int64)),
                    const("ax", np.array([2, 3], np.int64)), const("sp", np.array([2, 2], np.int64))], ["sl"], name="sl"),
        N("Pad", ["sl", const("pads", np.array([0, 0, 0, 0, 0, 4, 0, 0], np.int64))], ["pd"], name="pd", mode="constant"),
        N("Concat", ["mp", "pd"], ["cat"], name="cat", axis=1),
        N("Conv", ["cat", w("gc.w", 10, 10, 1, 1)], ["gc"], name="gc", group=2),
        N("Dropout", ["gc"], ["do"], name="do"),
        N("Identity", ["do"], ["id"], name="id"),
        N("Relu", ["id"], ["r2"], name="r2"),
        N("AveragePool", ["r2"], ["ap"], name="ap", kernel_shape=[3, 3], strides=[1, 1]),
        N("Conv", ["ap", w("c3.w", 6, 10, 1, 2), w("c3.b", 6, s=0.1)], ["c3"], name="c3"),
        N("GlobalAveragePool", ["c3"], ["gap"], name="gap"),
        N("Flatten", ["gap"], ["fl"], name="fl", axis=1),
        N("MatMul", ["fl", w("fc1.w", 6, 12)], ["m1"], name="fc1"),
        N("Add", ["m1", w("fc1.b", 12, s=0.1)], ["a1"], name="fc1_bias"),
        N("Relu", ["a1"], ["h"], name="r3"),
        N("Gemm", ["h", w("fc2.w", 10, 12), w("fc2.c", 10, s=0.1)], ["logits"], name="fc2", transB=1),
    ]
    at = {n.name: k for k, n in enumerate(nodes)}
    if defect == "bn-after-relu":
        # A BatchNormalization after a Relu (not after a MAC layer).
        nodes.insert(at["r1"] + 1, N("BatchNormalization", ["r1"] + bn("bnr", 8), ["rb"], name="bnr"))
        nodes[at["dw"] + 1].input[0] = "rb"
    if defect == "sigmoid":
        nodes[at["r1"]] = N("Sigmoid", ["b1"], ["r1"], name="r1")
    if defect == "add-shapes":
        nodes[at["cat"]] = N("Add", ["mp", "cl"], ["cat"], name="cat")
    if defect == "add-divisors":
        # ap (3x3 mean, d = 9) plus a 3x3 conv of r2 (d = 1), both [10, 2, 3].
        k = at["ap"] + 1
        nodes.insert(k, N("Conv", ["r2", w("cx.w", 10, 10, 3, 3)], ["cx"], name="cx"))
        nodes.insert(k + 1, N("Add", ["ap", "cx"], ["apx"], name="mixed"))
        nodes[k + 2].input[0] = "apx"
    if defect == "uneven-pool":
        nodes[at["ap"]] = N("AveragePool", ["r2"], ["ap"], name="ap", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    inits = [numpy_helper.from_array(v, k) for k, v in t.items()]
    if defect == "external":
        e = [i for i in inits if i.name == "c1.w"][0]
        e.ClearField("raw_data")
        e.data_location = TensorProto.EXTERNAL
        e.external_data.add(key="location", value="weights.bin")
    graph = helper.make_graph(
        nodes, "every-op",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="onnx.helper")
    model.ir_version = IR
    return model


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    good = every_op()
    onnx.checker.check_model(good, full_check=True)
    onnx.save(good, os.path.join(out, "every-op.onnx"))
    for d in ["bn-after-relu", "sigmoid", "add-shapes", "add-divisors", "uneven-pool", "external"]:
        m = every_op(d)
        if d in ("add-divisors", "uneven-pool"):
            onnx.checker.check_model(m, full_check=True)  # valid ONNX, refused by the bit-exact engine
        onnx.save(m, os.path.join(out, f"bad-{d}.onnx"))


if __name__ == "__main__":
    main()
