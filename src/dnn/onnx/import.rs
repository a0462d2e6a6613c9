//! ONNX -> fpec [`Model`] (see the [module docs](super) for the accepted
//! subset). The graph is walked once, in node order, as a single chain; each
//! node either becomes an fpec layer (`Conv`, `Gemm`/`MatMul`, `Relu`,
//! `MaxPool`), folds into one (`Add` bias), or only changes the tensor's
//! rank (`Flatten`, `Reshape`). Shapes are tracked per sample: a feature map
//! `[C, H, W]` (rank 4 with the batch) or a vector `[n]` (rank 2).

use super::proto::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
    AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto,
};
use super::{MIN_OPSET, SUPPORTED_OPS};
use crate::dnn::model::{Layer, Model, FORMAT_TAG, VERSION};
use anyhow::{bail, Context, Result};
use prost::Message;
use std::collections::HashMap;
use std::path::Path;

/// Largest dimension accepted anywhere (per axis); far above any network fpec
/// can run, small enough that products of a few dims cannot overflow.
pub(super) const MAX_DIM: i64 = 1 << 24;

/// Reads and converts an ONNX file; every error names the file.
pub fn import_file(path: &Path) -> Result<Model> {
    read_onnx_file(path, import_bytes)
}

/// Reads an ONNX file (size-limited) and converts its bytes with
/// `convert(bytes, file name)`; every error names the file. The one file
/// reader of [`import_file`] and [`super::graph_import::import_graph_file`].
pub(super) fn read_onnx_file<T>(
    path: &Path,
    convert: impl FnOnce(&[u8], &str) -> Result<T>,
) -> Result<T> {
    let bytes = crate::util::read_limited(path, crate::util::MAX_MODEL_BYTES, "--model")?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    convert(&bytes, &name).with_context(|| format!("bad ONNX file {}", path.display()))
}

/// Decodes the protobuf of an ONNX model and checks it has an IR version,
/// which it returns. `json_hint`: when decoding fails on bytes that look
/// like JSON, say that fpec model files need no import.
pub(super) fn decode_model(bytes: &[u8], json_hint: bool) -> Result<(ModelProto, i64)> {
    let m = ModelProto::decode(bytes).map_err(|e| {
        let hint = if json_hint && bytes.first() == Some(&b'{') {
            " (it looks like JSON: fpec model files are read directly, without import)"
        } else {
            " (the file is truncated or not ONNX)"
        };
        anyhow::anyhow!("not an ONNX model: protobuf decoding failed: {e}{hint}")
    })?;
    let ir = m.ir_version.unwrap_or(0);
    if ir <= 0 {
        bail!("not an ONNX model: no ir_version (the file is truncated or not ONNX)");
    }
    Ok((m, ir))
}

/// The model's opset of the default domain (`""` or `ai.onnx`), if any.
pub(super) fn default_opset(m: &ModelProto) -> Option<i64> {
    m.opset_import
        .iter()
        .find(|o| matches!(o.domain(), "" | "ai.onnx"))
        .map(|o| o.version())
}

/// Converts the bytes of an ONNX file; `source` goes into the model's `meta`.
pub fn import_bytes(bytes: &[u8], source: &str) -> Result<Model> {
    let (m, ir) = decode_model(bytes, true)?;
    let opset = default_opset(&m).context(
        "not an ONNX model: no opset for the default domain (the file is truncated or not ONNX)",
    )?;
    if opset < MIN_OPSET {
        bail!("opset {opset} is too old (fpec reads opset {MIN_OPSET} and later)");
    }
    let g = m
        .graph
        .as_ref()
        .context("not an ONNX model: no graph (the file is truncated or not ONNX)")?;
    let layers_input = convert_graph(g)?;
    let (input, layers) = layers_input;
    let mut meta = serde_json::json!({
        "imported_from": source,
        "onnx_ir_version": ir,
        "onnx_opset": opset,
        "producer": format!("{} {}", m.producer_name(), m.producer_version()).trim().to_string(),
    });
    if let Some(p) = m.metadata_props.iter().find(|p| p.key() == "fpec.meta") {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(p.value()) {
            meta["exported_meta"] = v;
        }
    }
    let model = Model {
        format: FORMAT_TAG.into(),
        version: VERSION,
        input,
        layers,
        meta: Some(meta),
    };
    model
        .stages()
        .context("the network does not fit fpec's model rules (see models/README.md)")?;
    Ok(model)
}

/// Per-sample shape of the tensor flowing through the chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Shape {
    /// `[N, C, H, W]`.
    Map([usize; 3]),
    /// `[N, n]`.
    Flat(usize),
}

impl Shape {
    fn count(self) -> usize {
        match self {
            Shape::Map(s) => s.iter().product(),
            Shape::Flat(n) => n,
        }
    }
    fn show(self) -> String {
        match self {
            Shape::Map([c, h, w]) => format!("[N, {c}, {h}, {w}]"),
            Shape::Flat(n) => format!("[N, {n}]"),
        }
    }
}

/// A constant tensor (initializer or `Constant` node output).
pub(super) struct Const<'a> {
    pub(super) t: &'a TensorProto,
    /// "initializer" or "Constant node \"...\"".
    pub(super) origin: String,
}

/// Walks the graph. Returns the model input `[C, H, W]` and the layers.
fn convert_graph(g: &GraphProto) -> Result<([usize; 3], Vec<Layer>)> {
    let mut consts: HashMap<&str, Const> = HashMap::new();
    for t in &g.initializer {
        consts.insert(
            t.name(),
            Const {
                t,
                origin: "initializer".into(),
            },
        );
    }
    if !g.sparse_initializer.is_empty() {
        bail!("sparse initializers are not supported (float32 dense initializers only)");
    }
    let inputs: Vec<&ValueInfoProto> = g
        .input
        .iter()
        .filter(|v| !consts.contains_key(v.name()))
        .collect();
    let inp = match inputs.as_slice() {
        [one] => *one,
        [] => bail!("the graph has no input (every input is an initializer)"),
        more => bail!(
            "the graph has {} inputs ({}); fpec models take one image tensor",
            more.len(),
            more.iter()
                .map(|v| format!("\"{}\"", v.name()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let (input, shape) = input_shape(inp)?;
    let mut cur: &str = inp.name();
    let mut ch = Chain {
        shape,
        layers: Vec::new(),
        last_mac: None,
    };

    for (ni, node) in g.node.iter().enumerate() {
        let op = node.op_type();
        let label = if node.name().is_empty() {
            format!("node #{ni} ({op})")
        } else {
            format!("node \"{}\" ({op})", node.name())
        };
        let ctx = |e: anyhow::Error| e.context(label.clone());
        if !matches!(node.domain(), "" | "ai.onnx") {
            bail!(
                "{label}: op domain \"{}\" is not supported (supported: {SUPPORTED_OPS} of the default domain)",
                node.domain()
            );
        }
        let out = single_output(node).map_err(ctx)?;
        if op == "Constant" {
            let t = constant_value(node).map_err(ctx)?;
            consts.insert(
                out,
                Const {
                    t,
                    origin: format!("Constant {label}"),
                },
            );
            continue;
        }
        // The data input: `cur` (Add may take it second).
        let data_pos = match op {
            "Add" => node.input.iter().position(|i| i == cur),
            _ => (node.input.first().map(String::as_str) == Some(cur)).then_some(0),
        };
        let Some(data_pos) = data_pos else {
            if !matches!(
                op,
                "Conv" | "Gemm" | "MatMul" | "Add" | "Relu" | "MaxPool" | "Flatten" | "Reshape"
            ) {
                bail!("{label}: op type {op} is not supported (supported: {SUPPORTED_OPS})");
            }
            bail!(
                "{label}: reads {:?}, not the output of the previous node \"{cur}\": fpec models are a single chain",
                node.input
            );
        };
        let n = NodeCx {
            node,
            label: label.clone(),
            consts: &consts,
        };
        match op {
            "Conv" => conv_node(&n, &mut ch)?,
            "Gemm" | "MatMul" => dense_node(&n, &mut ch, op)?,
            "Add" => bias_node(&n, &mut ch, data_pos)?,
            "Relu" => relu_node(&n, &mut ch)?,
            "MaxPool" => max_pool_node(&n, &mut ch)?,
            "Flatten" => flatten_node(&n, &mut ch)?,
            "Reshape" => reshape_node(&n, &mut ch)?,
            other => {
                bail!("{label}: op type {other} is not supported (supported: {SUPPORTED_OPS})")
            }
        }
        cur = out;
    }
    match g.output.as_slice() {
        [o] if o.name() == cur => {}
        [o] => bail!(
            "the graph output \"{}\" is not the end of the chain \"{cur}\"",
            o.name()
        ),
        outs => bail!(
            "the graph has {} outputs; fpec models have one (the class scores)",
            outs.len()
        ),
    }
    if ch.layers.is_empty() {
        bail!("the graph has no Conv, Gemm or MatMul node");
    }
    Ok((input, ch.layers))
}

/// The chain built so far: the current tensor's shape, the layers, and the
/// MAC layer whose output is the current tensor, untouched since (for Add).
struct Chain {
    shape: Shape,
    layers: Vec<Layer>,
    last_mac: Option<usize>,
}

impl Chain {
    /// The current tensor as an NCHW feature map (`label`: the node, in errors).
    fn feature_map(&self, label: &str) -> Result<[usize; 3]> {
        match self.shape {
            Shape::Map(s) => Ok(s),
            other => bail!(
                "{label}: input shape {} is not an NCHW feature map",
                other.show()
            ),
        }
    }
}

/// One node being converted: its label for errors and the constants seen.
struct NodeCx<'a> {
    node: &'a NodeProto,
    label: String,
    consts: &'a HashMap<&'a str, Const<'a>>,
}

impl NodeCx<'_> {
    /// Input `k` (`what` in errors), which must be a constant.
    fn get(&self, k: usize, what: &str) -> Result<&Const<'_>> {
        let name = self
            .node
            .input
            .get(k)
            .filter(|s| !s.is_empty())
            .with_context(|| format!("{}: missing input {k} ({what})", self.label))?;
        self.consts.get(name.as_str()).with_context(|| {
            format!(
                "{}: input {k} ({what}) \"{name}\" must be a constant (initializer or Constant node)",
                self.label
            )
        })
    }

    /// Whether optional input `k` is given.
    fn opt_input(&self, k: usize) -> bool {
        self.node.input.get(k).is_some_and(|s| !s.is_empty())
    }

    /// `e` in the context of this node.
    fn ctx(&self, e: anyhow::Error) -> anyhow::Error {
        e.context(self.label.clone())
    }
}

/// `Conv`: a conv2d layer.
fn conv_node(n: &NodeCx, ch: &mut Chain) -> Result<()> {
    let (node, label) = (n.node, &n.label);
    let get = |k: usize, what: &str| n.get(k, what);
    let opt_input = |k: usize| n.opt_input(k);
    let ctx = |e: anyhow::Error| n.ctx(e);
    let shape = ch.shape;
    let [c, h, w] = ch.feature_map(label)?;
    if node.input.len() > 3 {
        bail!("{label}: expects 2 or 3 inputs, found {}", node.input.len());
    }
    let (wd, wv) = float_tensor(get(1, "weights")?).map_err(ctx)?;
    let [oc, ic, kh, kw] = wd[..] else {
        bail!("{label}: weights have shape {wd:?}; expected [out, in, k, k]");
    };
    if kh != kw {
        bail!("{label}: kernel {kh}x{kw} is not square (fpec convolutions have square kernels)");
    }
    if ic != c {
        bail!("{label}: weights have shape {wd:?} (in = {ic}) but the input has {c} channels (shape {})", shape.show());
    }
    let k = kh;
    let mut bias = vec![0.0; oc];
    if opt_input(2) {
        let (bd, bv) = float_tensor(get(2, "bias")?).map_err(ctx)?;
        if bv.len() != oc || bd.len() != 1 {
            bail!("{label}: bias has shape {bd:?}; expected [{oc}]");
        }
        bias = bv;
    }
    let (stride, padding) = conv_attrs(node, k).map_err(ctx)?;
    if padding >= k {
        bail!("{label}: padding {padding} must be below the kernel size {k} (fpec rule)");
    }
    let (ph, pw) = (h + 2 * padding, w + 2 * padding);
    if ph < k || pw < k {
        bail!(
            "{label}: kernel {k} larger than the padded input {ph}x{pw} (input {})",
            shape.show()
        );
    }
    ch.layers.push(Layer::Conv2d {
        in_ch: c,
        out_ch: oc,
        kernel: k,
        padding,
        stride,
        weights: wv,
        bias,
    });
    ch.last_mac = Some(ch.layers.len() - 1);
    ch.shape = Shape::Map([oc, (ph - k) / stride + 1, (pw - k) / stride + 1]);
    Ok(())
}

/// `Gemm` / `MatMul` (`op`): a dense layer.
fn dense_node(n: &NodeCx, ch: &mut Chain, op: &str) -> Result<()> {
    let (node, label) = (n.node, &n.label);
    let get = |k: usize, what: &str| n.get(k, what);
    let opt_input = |k: usize| n.opt_input(k);
    let ctx = |e: anyhow::Error| n.ctx(e);
    let shape = ch.shape;
    let Shape::Flat(n) = shape else {
        bail!(
            "{label}: input shape {} is not 2-D [N, n]; put a Flatten before it",
            shape.show()
        );
    };
    let (trans_b, alpha, beta) = if op == "Gemm" {
        if node.input.len() > 3 {
            bail!("{label}: expects 2 or 3 inputs, found {}", node.input.len());
        }
        gemm_attrs(node).map_err(ctx)?
    } else {
        if node.input.len() != 2 {
            bail!("{label}: expects 2 inputs, found {}", node.input.len());
        }
        no_attrs(node).map_err(ctx)?;
        (false, 1.0, 1.0)
    };
    let (bd, bv) = float_tensor(get(1, "weights")?).map_err(ctx)?;
    let [r0, r1] = bd[..] else {
        bail!("{label}: weights have shape {bd:?}; expected a 2-D matrix");
    };
    let (inp, outn) = if trans_b { (r1, r0) } else { (r0, r1) };
    if inp != n {
        bail!(
            "{label}: weights have shape {bd:?} (in = {inp}{}) but the input has {n} values (shape {})",
            if trans_b { ", transB = 1" } else { "" },
            shape.show()
        );
    }
    // fpec stores [out][in].
    let weights = dense_weights(&bv, inp, outn, trans_b, alpha);
    let mut bias = vec![0.0; outn];
    if op == "Gemm" && opt_input(2) {
        let (cd, cv) = float_tensor(get(2, "bias")?).map_err(ctx)?;
        bias = dense_bias(&cd, &cv, outn).map_err(|e| e.context(format!("{label}: bias C")))?;
        bias.iter_mut().for_each(|b| *b *= beta);
    }
    if weights.iter().chain(&bias).any(|v| !v.is_finite()) {
        bail!("{label}: alpha/beta scaling gives a non-finite weight");
    }
    ch.layers.push(Layer::Dense {
        inp,
        out: outn,
        weights,
        bias,
    });
    ch.last_mac = Some(ch.layers.len() - 1);
    ch.shape = Shape::Flat(outn);
    Ok(())
}

/// `Add`: a bias folded into the MAC layer just before (`data_pos`: the data input).
fn bias_node(n: &NodeCx, ch: &mut Chain, data_pos: usize) -> Result<()> {
    let (node, label) = (n.node, &n.label);
    let get = |k: usize, what: &str| n.get(k, what);
    let ctx = |e: anyhow::Error| n.ctx(e);
    let shape = ch.shape;
    if node.input.len() != 2 {
        bail!("{label}: expects 2 inputs, found {}", node.input.len());
    }
    no_attrs(node).map_err(ctx)?;
    let Some(li) = ch.last_mac else {
        bail!("{label}: Add is supported only as the bias right after Conv, Gemm or MatMul");
    };
    let (cd, cv) = float_tensor(get(1 - data_pos, "bias")?).map_err(ctx)?;
    let add = match shape {
        Shape::Flat(n) => dense_bias(&cd, &cv, n),
        Shape::Map([c, _, _]) => conv_bias(&cd, &cv, c),
    }
    .map_err(|e| e.context(label.clone()))?;
    match ch.layers.get_mut(li) {
        Some(Layer::Conv2d { bias, .. }) | Some(Layer::Dense { bias, .. }) => {
            for (b, a) in bias.iter_mut().zip(&add) {
                *b += a;
            }
        }
        _ => bail!("{label}: internal: no MAC layer before the bias"),
    }
    Ok(())
}

/// `Relu`.
fn relu_node(n: &NodeCx, ch: &mut Chain) -> Result<()> {
    let node = n.node;
    let ctx = |e: anyhow::Error| n.ctx(e);
    expect_inputs(node, 1).map_err(ctx)?;
    no_attrs(node).map_err(ctx)?;
    ch.layers.push(Layer::Relu);
    ch.last_mac = None;
    Ok(())
}

/// `MaxPool`.
fn max_pool_node(n: &NodeCx, ch: &mut Chain) -> Result<()> {
    let (node, label) = (n.node, &n.label);
    let ctx = |e: anyhow::Error| n.ctx(e);
    let shape = ch.shape;
    expect_inputs(node, 1).map_err(ctx)?;
    let [c, h, w] = ch.feature_map(label)?;
    let size = pool_attrs(node).map_err(ctx)?;
    if h < size || w < size {
        bail!(
            "{label}: window {size} does not fit the input {}",
            shape.show()
        );
    }
    ch.layers.push(Layer::MaxPool2d { size });
    ch.last_mac = None;
    ch.shape = Shape::Map([c, h / size, w / size]);
    Ok(())
}

/// `Flatten` (axis 1).
fn flatten_node(n: &NodeCx, ch: &mut Chain) -> Result<()> {
    let (node, label) = (n.node, &n.label);
    let ctx = |e: anyhow::Error| n.ctx(e);
    let shape = ch.shape;
    expect_inputs(node, 1).map_err(ctx)?;
    let rank = if matches!(shape, Shape::Map(_)) { 4 } else { 2 };
    let mut axis = 1;
    for a in &node.attribute {
        match a.name() {
            "axis" => axis = attr_int(a).map_err(ctx)?,
            other => bail!("{label}: attribute \"{other}\" is not supported"),
        }
    }
    if axis != 1 && axis != 1 - rank {
        bail!("{label}: axis {axis} is not supported (only axis 1: [N, C*H*W])");
    }
    ch.shape = Shape::Flat(shape.count());
    ch.last_mac = None;
    Ok(())
}

/// `Reshape` to `[N, C*H*W]`.
fn reshape_node(n: &NodeCx, ch: &mut Chain) -> Result<()> {
    let (node, label) = (n.node, &n.label);
    let get = |k: usize, what: &str| n.get(k, what);
    let ctx = |e: anyhow::Error| n.ctx(e);
    let shape = ch.shape;
    expect_inputs(node, 2).map_err(ctx)?;
    let mut allowzero = 0;
    for a in &node.attribute {
        match a.name() {
            "allowzero" => allowzero = attr_int(a).map_err(ctx)?,
            other => bail!("{label}: attribute \"{other}\" is not supported"),
        }
    }
    let target = int_tensor(get(1, "shape")?).map_err(ctx)?;
    let n = shape.count() as i64;
    let ok = match target[..] {
        [b, x] => {
            let batch_ok = (b == 0 && allowzero == 0) || b == 1 || (b == -1 && x == n);
            batch_ok && (x == n || (x == -1 && b != -1))
        }
        _ => false,
    };
    if !ok {
        bail!(
            "{label}: reshape of {} to {target:?} is not supported (only a flatten to [N, {n}], e.g. [0, -1] or [-1, {n}])",
            shape.show()
        );
    }
    ch.shape = Shape::Flat(shape.count());
    ch.last_mac = None;
    Ok(())
}

/// The graph input's per-sample shape: `[N, C, H, W]` or `[N, n]` (then
/// `[n, 1, 1]`), float32.
pub(super) fn input_shape(v: &ValueInfoProto) -> Result<([usize; 3], Shape)> {
    let name = v.name();
    let Some(type_proto::Value::TensorType(t)) = v.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        bail!("graph input \"{name}\" is not a tensor");
    };
    if t.elem_type() != DataType::Float as i32 {
        bail!(
            "graph input \"{name}\" has element type {}; fpec reads float32 inputs",
            dtype_name(t.elem_type())
        );
    }
    let dims = t
        .shape
        .as_ref()
        .with_context(|| format!("graph input \"{name}\" has no shape"))?;
    let mut fixed = Vec::new();
    for (i, d) in dims.dim.iter().enumerate().skip(1) {
        match d.value {
            Some(tensor_shape_proto::dimension::Value::DimValue(x)) if (1..=MAX_DIM).contains(&x) => {
                fixed.push(x as usize)
            }
            _ => bail!(
                "graph input \"{name}\": dimension {i} must be a fixed size in 1..={MAX_DIM} (only the batch may be symbolic)"
            ),
        }
    }
    match fixed[..] {
        [c, h, w] if dims.dim.len() == 4 => {
            if c.checked_mul(h)
                .and_then(|x| x.checked_mul(w))
                .is_none_or(|x| x > MAX_DIM as usize)
            {
                bail!("graph input \"{name}\" is too large ({c}x{h}x{w})");
            }
            Ok(([c, h, w], Shape::Map([c, h, w])))
        }
        [n] if dims.dim.len() == 2 => Ok(([n, 1, 1], Shape::Flat(n))),
        _ => bail!(
            "graph input \"{name}\" has rank {}; fpec reads [N, C, H, W] or [N, n]",
            dims.dim.len()
        ),
    }
}

pub(super) fn single_output(node: &NodeProto) -> Result<&str> {
    let outs: Vec<&String> = node.output.iter().filter(|o| !o.is_empty()).collect();
    match outs[..] {
        [o] if node.output.first() == Some(o) => Ok(o.as_str()),
        _ => bail!(
            "has outputs {:?}; only the single first output is supported",
            node.output
        ),
    }
}

pub(super) fn expect_inputs(node: &NodeProto, n: usize) -> Result<()> {
    if node.input.len() != n {
        bail!("expects {n} input(s), found {}", node.input.len());
    }
    Ok(())
}

pub(super) fn no_attrs(node: &NodeProto) -> Result<()> {
    if let Some(a) = node.attribute.first() {
        bail!("attribute \"{}\" is not supported", a.name());
    }
    Ok(())
}

pub(super) fn attr_int(a: &AttributeProto) -> Result<i64> {
    if a.r#type.is_some() && a.r#type() != AttributeType::Int {
        bail!("attribute \"{}\" must be an integer", a.name());
    }
    a.i.with_context(|| format!("attribute \"{}\" has no integer value", a.name()))
}

pub(super) fn attr_float(a: &AttributeProto) -> Result<f64> {
    if a.r#type.is_some() && a.r#type() != AttributeType::Float {
        bail!("attribute \"{}\" must be a float", a.name());
    }
    let v =
        a.f.with_context(|| format!("attribute \"{}\" has no float value", a.name()))?;
    if !v.is_finite() {
        bail!("attribute \"{}\" = {v} is not finite", a.name());
    }
    Ok(v as f64)
}

pub(super) fn attr_ints(a: &AttributeProto) -> Result<&[i64]> {
    if a.r#type.is_some() && a.r#type() != AttributeType::Ints {
        bail!("attribute \"{}\" must be a list of integers", a.name());
    }
    Ok(&a.ints)
}

pub(super) fn attr_str(a: &AttributeProto) -> Result<String> {
    if a.r#type.is_some() && a.r#type() != AttributeType::String {
        bail!("attribute \"{}\" must be a string", a.name());
    }
    Ok(String::from_utf8_lossy(a.s()).into_owned())
}

/// A list of two equal values in 1..=MAX_DIM (kernel_shape, strides).
fn square(a: &AttributeProto) -> Result<usize> {
    match attr_ints(a)? {
        [x, y] if x == y && (1..=MAX_DIM).contains(x) => Ok(*x as usize),
        v => bail!(
            "attribute \"{}\" = {v:?} is not supported (two equal positive values)",
            a.name()
        ),
    }
}

pub(super) fn check_auto_pad(a: &AttributeProto) -> Result<bool> {
    let s = attr_str(a)?;
    match s.as_str() {
        "NOTSET" | "" => Ok(false),
        "VALID" => Ok(true),
        _ => bail!("auto_pad \"{s}\" is not supported (NOTSET with explicit pads, or VALID)"),
    }
}

pub(super) fn all_ones(a: &AttributeProto) -> Result<()> {
    let v = attr_ints(a)?;
    if v.iter().any(|&d| d != 1) {
        bail!("{} {v:?} is not supported (only 1)", a.name());
    }
    Ok(())
}

/// Conv attributes: (stride, padding) for a `k` x `k` kernel.
fn conv_attrs(node: &NodeProto, k: usize) -> Result<(usize, usize)> {
    let (mut stride, mut padding, mut valid) = (1, 0, false);
    for a in &node.attribute {
        match a.name() {
            "kernel_shape" => {
                let ks = square(a)?;
                if ks != k {
                    bail!("kernel_shape {ks} does not match the weights' kernel {k}");
                }
            }
            "strides" => stride = square(a)?,
            "dilations" => all_ones(a)?,
            "group" => {
                let g = attr_int(a)?;
                if g != 1 {
                    bail!("group {g} is not supported (only 1)");
                }
            }
            "pads" => match attr_ints(a)? {
                [t, l, b, r] if t == l && t == b && t == r && (0..=MAX_DIM).contains(t) => {
                    padding = *t as usize
                }
                v => bail!("pads {v:?} are not supported (equal padding on every side)"),
            },
            "auto_pad" => valid = check_auto_pad(a)?,
            other => bail!("attribute \"{other}\" is not supported"),
        }
    }
    if valid && padding != 0 {
        bail!("auto_pad VALID with non-zero pads");
    }
    Ok((stride, padding))
}

/// Gemm attributes: (transB, alpha, beta).
fn gemm_attrs(node: &NodeProto) -> Result<(bool, f64, f64)> {
    let (mut tb, mut alpha, mut beta) = (false, 1.0, 1.0);
    for a in &node.attribute {
        match a.name() {
            "transA" => {
                if attr_int(a)? != 0 {
                    bail!("transA = 1 is not supported (the input must be [N, n])");
                }
            }
            "transB" => tb = attr_int(a)? != 0,
            "alpha" => alpha = attr_float(a)?,
            "beta" => beta = attr_float(a)?,
            other => bail!("attribute \"{other}\" is not supported"),
        }
    }
    Ok((tb, alpha, beta))
}

/// MaxPool attributes: the window size (= stride).
fn pool_attrs(node: &NodeProto) -> Result<usize> {
    let (mut size, mut stride) = (None, 1);
    for a in &node.attribute {
        match a.name() {
            "kernel_shape" => size = Some(square(a)?),
            "strides" => stride = square(a)?,
            "pads" => {
                let v = attr_ints(a)?;
                if v.iter().any(|&p| p != 0) {
                    bail!("pads {v:?} are not supported (max-pooling without padding)");
                }
            }
            "dilations" => all_ones(a)?,
            "ceil_mode" => {
                if attr_int(a)? != 0 {
                    bail!("ceil_mode 1 is not supported (floor mode only)");
                }
            }
            "auto_pad" => {
                check_auto_pad(a)?;
            }
            // Only changes the Indices output, which is rejected.
            "storage_order" => {
                attr_int(a)?;
            }
            other => bail!("attribute \"{other}\" is not supported"),
        }
    }
    let size = size.context("kernel_shape is missing")?;
    if stride != size {
        bail!("strides {stride} differ from kernel_shape {size} (fpec pools non-overlapping windows: stride = window)");
    }
    Ok(size)
}

/// A `Constant` node's tensor.
pub(super) fn constant_value(node: &NodeProto) -> Result<&TensorProto> {
    if !node.input.is_empty() {
        bail!("Constant with inputs");
    }
    match &node.attribute[..] {
        [a] if a.name() == "value" => a.t.as_ref().context("attribute \"value\" has no tensor"),
        [a] => bail!(
            "Constant attribute \"{}\" is not supported (only \"value\" with a tensor)",
            a.name()
        ),
        _ => bail!("Constant needs exactly one attribute \"value\""),
    }
}

/// A bias for `n` outputs of a dense layer: shape [n], [1, n] or a scalar.
pub(super) fn dense_bias(dims: &[usize], v: &[f64], n: usize) -> Result<Vec<f64>> {
    match (dims, v.len()) {
        ([], 1) | ([1], 1) | ([1, 1], 1) => Ok(vec![v[0]; n]),
        ([x], _) | ([1, x], _) if *x == n => Ok(v.to_vec()),
        _ => bail!(
            "shape {dims:?} does not broadcast as a bias over {n} outputs ([{n}] or [1, {n}])"
        ),
    }
}

/// A bias for `c` conv channels: [c, 1, 1], [1, c, 1, 1] or a scalar.
pub(super) fn conv_bias(dims: &[usize], v: &[f64], c: usize) -> Result<Vec<f64>> {
    if v.len() == 1 && dims.iter().all(|&d| d == 1) && dims.len() <= 4 {
        return Ok(vec![v[0]; c]);
    }
    match dims {
        [x, 1, 1] | [1, x, 1, 1] if *x == c => Ok(v.to_vec()),
        _ => bail!("shape {dims:?} does not broadcast as a per-channel bias over {c} channels ([{c}, 1, 1] or [1, {c}, 1, 1])"),
    }
}

pub(super) fn dtype_name(t: i32) -> String {
    DataType::try_from(t).map_or_else(|_| format!("{t}"), |d| d.as_str_name().to_string())
}

/// Dims of a constant, each checked, and their product.
pub(super) fn dims_of(c: &Const) -> Result<(Vec<usize>, usize)> {
    let t = c.t;
    let mut n: usize = 1;
    let mut dims = Vec::with_capacity(t.dims.len());
    for &d in &t.dims {
        if !(0..=MAX_DIM).contains(&d) {
            bail!("{} \"{}\": dimension {d} out of range", c.origin, t.name());
        }
        dims.push(d as usize);
        n = n
            .checked_mul(d as usize)
            .filter(|&x| x <= isize::MAX as usize / 8)
            .with_context(|| {
                format!("{} \"{}\": dims {:?} too large", c.origin, t.name(), t.dims)
            })?;
    }
    if t.data_location() == super::proto::tensor_proto::DataLocation::External {
        bail!(
            "{} \"{}\" uses external data, which is not supported (save the model with its weights inside)",
            c.origin,
            t.name()
        );
    }
    if t.segment.is_some() {
        bail!(
            "{} \"{}\" is segmented, which is not supported",
            c.origin,
            t.name()
        );
    }
    Ok((dims, n))
}

/// The dims and value count of constant `c` ([`dims_of`]) after checking it
/// holds `want` values; else an error naming the tensor, its type and
/// `need` (what the reader takes).
fn typed_dims(c: &Const, want: DataType, need: &str) -> Result<(Vec<usize>, usize)> {
    let t = c.t;
    if t.data_type() != want as i32 {
        bail!(
            "{} \"{}\" has data type {}; {need}",
            c.origin,
            t.name(),
            dtype_name(t.data_type())
        );
    }
    dims_of(c)
}

/// A float32 constant as f64 values (exact), after checking its type and
/// that the data length matches the dims; values must be finite.
pub(super) fn float_tensor(c: &Const) -> Result<(Vec<usize>, Vec<f64>)> {
    let t = c.t;
    let (dims, n) = typed_dims(
        c,
        DataType::Float,
        "fpec reads float32 weights and biases only",
    )?;
    let vals: Vec<f64> = match &t.raw_data {
        Some(raw) if !raw.is_empty() || t.float_data.is_empty() => {
            if raw.len() != n * 4 {
                bail!(
                    "{} \"{}\": dims {dims:?} need {n} float32 values ({} bytes) but raw_data has {} bytes",
                    c.origin,
                    t.name(),
                    n * 4,
                    raw.len()
                );
            }
            raw.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
                .collect()
        }
        _ => {
            if t.float_data.len() != n {
                bail!(
                    "{} \"{}\": dims {dims:?} need {n} values but float_data has {}",
                    c.origin,
                    t.name(),
                    t.float_data.len()
                );
            }
            t.float_data.iter().map(|&v| v as f64).collect()
        }
    };
    if let Some(i) = vals.iter().position(|v| !v.is_finite()) {
        bail!(
            "{} \"{}\": value [{i}] = {} is not finite",
            c.origin,
            t.name(),
            vals[i]
        );
    }
    Ok((dims, vals))
}

/// An int64 constant of at most 8 values (a Reshape target).
pub(super) fn int_tensor(c: &Const) -> Result<Vec<i64>> {
    let t = c.t;
    let (dims, n) = typed_dims(c, DataType::Int64, "a shape must be int64")?;
    if dims.len() != 1 || n > 8 {
        bail!("{} \"{}\": a shape must be a 1-D int64 tensor of at most 8 values, found dims {dims:?}", c.origin, t.name());
    }
    match &t.raw_data {
        Some(raw) if !raw.is_empty() || t.int64_data.is_empty() => {
            if raw.len() != n * 8 {
                bail!(
                    "{} \"{}\": dims {dims:?} need {} bytes but raw_data has {}",
                    c.origin,
                    t.name(),
                    n * 8,
                    raw.len()
                );
            }
            Ok(raw
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .collect())
        }
        _ => {
            if t.int64_data.len() != n {
                bail!(
                    "{} \"{}\": dims {dims:?} need {n} values but int64_data has {}",
                    c.origin,
                    t.name(),
                    t.int64_data.len()
                );
            }
            Ok(t.int64_data.clone())
        }
    }
}

/// A Gemm/MatMul weight matrix scaled by `alpha` in fpec's `[out][in]`
/// order: as stored when `trans_b` (ONNX B is `[out][in]`), else
/// transposed from `[in][out]`.
pub(super) fn dense_weights(
    bv: &[f64],
    inp: usize,
    outn: usize,
    trans_b: bool,
    alpha: f64,
) -> Vec<f64> {
    if trans_b {
        return bv.iter().map(|v| v * alpha).collect();
    }
    let mut t = vec![0.0; bv.len()];
    for i in 0..inp {
        for o in 0..outn {
            t[o * inp + i] = bv[i * outn + o] * alpha;
        }
    }
    t
}
