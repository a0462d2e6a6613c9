//! ONNX interchange (issue 11): this module owns reading and writing ONNX
//! files for the layer set fpec runs bit-exactly, and the one model-loading
//! function ([`load`]) that takes either an fpec JSON model or an `.onnx` file.
//!
//! - [`import`]: ONNX -> [`Model`]. Accepted nodes: `Conv` (square kernel,
//!   equal strides, symmetric zero padding below the kernel size, no dilation,
//!   one group), `Gemm` (`transA` = 0) or `MatMul` with a constant right-hand
//!   side, `Add` of a constant bias right after one of those, `Relu`,
//!   `MaxPool` (square window = stride, no padding, floor mode), `Flatten`
//!   (axis 1) and `Reshape` to `[batch, C*H*W]`, plus `Constant`; weights
//!   and biases are float32 initializers (or `Constant` tensors). The graph
//!   is one chain from one NCHW (or `[batch, n]`) float input to one output.
//!   Anything else is a one-line error naming the node, its op type and
//!   this list; every dimension is checked against the data the file holds
//!   before anything is allocated from it.
//! - [`graph_import`]: ONNX -> [`crate::dnn::graph::Graph`], every op of spec 9
//!   (revised), opset 11..=21; [`load_graph`] reads any model as a graph.
//! - [`export`]: [`Model`] -> ONNX, opset [`OPSET`], IR version
//!   [`IR_VERSION`], NCHW with a symbolic batch `N`; float32 initializers
//!   (the f64 weights rounded to nearest); a `Flatten` is inserted before a
//!   dense layer that reads a feature map, which matches fpec's (c, y, x)
//!   flattening order.
//! - [`proto`]: prost code generated from the vendored `proto/onnx.proto`
//!   (ONNX 1.23.2) by `scripts/gen-onnx-proto.sh` into `proto/onnx.rs`
//!   (outside `src/`: generated, not written here); committed, so building
//!   needs no protoc.
//!
//! Inference is not here: an imported model runs through
//! [`crate::dnn::model::forward_float`] and the bit-exact
//! [`crate::dnn::quant`] like any other model.

pub mod export;
pub mod graph_import;
pub mod import;
#[allow(missing_docs, clippy::all, clippy::pedantic)]
#[rustfmt::skip]
#[path = "../../../proto/onnx.rs"]
pub mod proto;

use crate::dnn::model::Model;
use anyhow::Result;
use std::path::Path;

/// Default-domain opset written by [`export`].
pub const OPSET: i64 = 13;
/// ONNX IR version written by [`export`] (IR 8: onnx >= 1.10, any current
/// onnxruntime).
pub const IR_VERSION: i64 = 8;
/// Oldest default-domain opset [`import`] accepts (the attribute forms of
/// the supported ops are stable from here on).
pub const MIN_OPSET: i64 = 9;
/// The op types [`import`] understands, for error messages.
pub const SUPPORTED_OPS: &str =
    "Conv, Gemm, MatMul, Add (bias after Conv/Gemm/MatMul), Relu, MaxPool, Flatten, Reshape (flatten), Constant";

/// Is `path` an ONNX file by its name (`.onnx`, any case)?
pub fn is_onnx_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
}

/// Reads a model: an ONNX file when the name ends in `.onnx`, else an fpec
/// JSON model file ([`Model::load`]). Every error names the file.
pub fn load(path: &Path) -> Result<Model> {
    if is_onnx_path(path) {
        import::import_file(path)
    } else {
        Model::load(path)
    }
}

/// Reads a model as a graph: `.onnx` through [`graph_import`] (every op of
/// spec 9), JSON of version 1 (layer list, as the equivalent chain) or 2.
pub fn load_graph(path: &Path) -> Result<crate::dnn::graph::Graph> {
    if is_onnx_path(path) {
        graph_import::import_graph_file(path)
    } else {
        crate::dnn::graph::Graph::load_json(path)
    }
}
