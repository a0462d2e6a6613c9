//! ONNX -> fpec [`Graph`] (spec 9 revised), opset 11..=21: `Conv` (strides,
//! pads per side, groups incl. depthwise; dilation 1), `Gemm`, `MatMul` with
//! a constant right-hand side (+ a constant `Add` as its bias),
//! `BatchNormalization` folded into the MAC layer right before it (spec 9),
//! `Relu`, `Clip(0, c)`, `MaxPool`, `AveragePool` (padding not counted),
//! `GlobalAveragePool`, `Add`, `Concat` (channel axis), `Slice` (constant
//! starts/ends/axes/steps), `Pad` (constant 0), `Flatten`, `Reshape` (to
//! `[N, C*H*W]`), `Identity`, `Dropout`, `Constant`, and `Softmax` /
//! `LogSoftmax` as the last node (dropped: argmax is unchanged). Anything
//! else is a one-line error naming the node and its op.

use super::import::{
    all_ones, attr_float, attr_int, attr_ints, attr_str, constant_value, conv_bias, decode_model,
    default_opset, dense_bias, expect_inputs, float_tensor, input_shape, int_tensor,
    read_onnx_file, single_output, Const, Shape,
};
use super::proto::{GraphProto, NodeProto};
use crate::dnn::graph::{node_shape, Graph, Node, Op, GRAPH_VERSION, INPUT};
use crate::dnn::model::FORMAT_TAG;
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::Path;

/// Oldest and newest default-domain opsets read.
pub const OPSETS: (i64, i64) = (11, 21);
/// The op types understood, for error messages.
pub const GRAPH_OPS: &str = "Conv, Gemm, MatMul(+Add), BatchNormalization (after Conv/Gemm), Relu, Clip, MaxPool, AveragePool, GlobalAveragePool, Add, Concat, Slice, Pad, Flatten, Reshape, Identity, Dropout, Constant, Softmax/LogSoftmax (last)";

/// Reads and converts an ONNX file; every error names the file.
pub fn import_graph_file(path: &Path) -> Result<Graph> {
    read_onnx_file(path, import_graph_bytes)
}

/// Converts the bytes of an ONNX file.
pub fn import_graph_bytes(bytes: &[u8], source: &str) -> Result<Graph> {
    let (m, _) = decode_model(bytes, false)?;
    let opset = default_opset(&m).context("not an ONNX model: no opset for the default domain")?;
    if !(OPSETS.0..=OPSETS.1).contains(&opset) {
        bail!(
            "opset {opset} is not supported (fpec reads opsets {}..={})",
            OPSETS.0,
            OPSETS.1
        );
    }
    let g = m.graph.as_ref().context("not an ONNX model: no graph")?;
    let mut b = Builder::new(g)?;
    for (ni, node) in g.node.iter().enumerate() {
        b.node(ni, node)?;
    }
    let graph = b.finish(g)?;
    let mut graph = graph;
    graph.meta = Some(serde_json::json!({
        "imported_from": source,
        "onnx_opset": opset,
        "producer": format!("{} {}", m.producer_name(), m.producer_version()).trim().to_string(),
    }));
    graph.plan().context("the imported graph does not check")?;
    Ok(graph)
}

struct Builder<'a> {
    consts: HashMap<&'a str, Const<'a>>,
    /// ONNX tensor name -> fpec tensor name.
    alias: HashMap<String, String>,
    /// fpec tensor -> (shape, ONNX rank 4 or 2).
    shapes: HashMap<String, ([usize; 3], usize)>,
    /// ONNX tensor -> number of reading nodes (+1 for graph outputs).
    readers: HashMap<&'a str, usize>,
    nodes: Vec<Node>,
    input: [usize; 3],
    outputs: Vec<String>,
    softmax_out: Option<String>,
    /// The ONNX name of the node being converted (the fpec node's name when
    /// it has one and it is free; else the output tensor's name).
    cur_name: String,
}

fn label(ni: usize, node: &NodeProto) -> String {
    let op = node.op_type();
    if node.name().is_empty() {
        format!("node #{ni} ({op})")
    } else {
        format!("node \"{}\" ({op})", node.name())
    }
}

impl<'a> Builder<'a> {
    fn new(g: &'a GraphProto) -> Result<Self> {
        let mut consts = HashMap::new();
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
            bail!("sparse initializers are not supported");
        }
        let ins: Vec<_> = g
            .input
            .iter()
            .filter(|v| !consts.contains_key(v.name()))
            .collect();
        let [inp] = ins[..] else {
            bail!(
                "the graph has {} inputs; fpec models take one image tensor",
                ins.len()
            );
        };
        let (input, shape) = input_shape(inp)?;
        let rank = if matches!(shape, Shape::Map(_)) { 4 } else { 2 };
        let mut readers: HashMap<&str, usize> = HashMap::new();
        for n in &g.node {
            for i in &n.input {
                *readers.entry(i.as_str()).or_default() += 1;
            }
        }
        for o in &g.output {
            *readers.entry(o.name()).or_default() += 1;
        }
        let mut shapes = HashMap::new();
        shapes.insert(INPUT.to_string(), (input, rank));
        let mut alias = HashMap::new();
        alias.insert(inp.name().to_string(), INPUT.to_string());
        let outputs = g.output.iter().map(|o| o.name().to_string()).collect();
        Ok(Builder {
            consts,
            alias,
            shapes,
            readers,
            nodes: Vec::new(),
            input,
            outputs,
            softmax_out: None,
            cur_name: String::new(),
        })
    }

    /// The fpec tensor behind ONNX input `k` of `node` (must not be a constant).
    fn data(&self, node: &NodeProto, k: usize) -> Result<(String, [usize; 3], usize)> {
        let name = node
            .input
            .get(k)
            .filter(|s| !s.is_empty())
            .with_context(|| format!("missing input {k}"))?;
        let t = self.alias.get(name).with_context(|| {
            if self.consts.contains_key(name.as_str()) {
                format!("input \"{name}\" is a constant where a tensor is expected")
            } else {
                format!("input \"{name}\" is not produced by an earlier node")
            }
        })?;
        let (s, r) = self.shapes[t];
        Ok((t.clone(), s, r))
    }

    fn cst(&self, node: &NodeProto, k: usize, what: &str) -> Result<&Const<'a>> {
        let name = node
            .input
            .get(k)
            .filter(|s| !s.is_empty())
            .with_context(|| format!("missing input {k} ({what})"))?;
        self.consts.get(name.as_str()).with_context(|| {
            format!(
                "input {k} ({what}) \"{name}\" must be a constant (initializer or Constant node)"
            )
        })
    }

    fn has(node: &NodeProto, k: usize) -> bool {
        node.input.get(k).is_some_and(|s| !s.is_empty())
    }

    fn push(&mut self, out: &str, inputs: Vec<String>, op: Op, rank: usize) -> Result<()> {
        let shapes: Vec<[usize; 3]> = inputs.iter().map(|i| self.shapes[i].0).collect();
        let s = node_shape(&op, &shapes)?;
        let mut name = if self.cur_name.is_empty() {
            out.to_string()
        } else {
            self.cur_name.clone()
        };
        while name == INPUT || self.shapes.contains_key(&name) {
            name.push('_');
        }
        self.shapes.insert(name.clone(), (s, rank));
        self.alias.insert(out.to_string(), name.clone());
        self.nodes.push(Node { name, inputs, op });
        Ok(())
    }

    /// The MAC node producing fpec tensor `t` when nothing else reads it (for folding).
    fn foldable_mac(&mut self, onnx_in: &str, t: &str) -> Option<usize> {
        let i = self.nodes.iter().position(|n| n.name == t)?;
        (self.nodes[i].op.is_mac() && self.readers.get(onnx_in) == Some(&1)).then_some(i)
    }

    fn node(&mut self, ni: usize, node: &'a NodeProto) -> Result<()> {
        let l = label(ni, node);
        self.cur_name = node.name().to_string();
        self.node_inner(node).map_err(|e| {
            let msg = format!("{e:#}");
            if msg.starts_with("node ") {
                e
            } else {
                anyhow::anyhow!("{l}: {msg}")
            }
        })
    }

    fn node_inner(&mut self, node: &'a NodeProto) -> Result<()> {
        let op = node.op_type();
        if !matches!(node.domain(), "" | "ai.onnx") {
            bail!(
                "op domain \"{}\" is not supported (supported: {GRAPH_OPS} of the default domain)",
                node.domain()
            );
        }
        if op == "Dropout" {
            // Output 0 only; a mask output must be unused.
            if node
                .output
                .iter()
                .skip(1)
                .any(|o| !o.is_empty() && self.readers.contains_key(o.as_str()))
            {
                bail!("the mask output is used (only output 0 is supported)");
            }
            let (t, _, _) = self.data(node, 0)?;
            self.alias.insert(node.output[0].clone(), t);
            return Ok(());
        }
        let out = single_output(node)?;
        match op {
            "Constant" => {
                let t = constant_value(node)?;
                self.consts.insert(
                    out,
                    Const {
                        t,
                        origin: format!("Constant node \"{}\"", node.name()),
                    },
                );
            }
            "Identity" => {
                let (t, _, _) = self.data(node, 0)?;
                self.alias.insert(out.into(), t);
            }
            "Softmax" | "LogSoftmax" => {
                let (t, _, _) = self.data(node, 0)?;
                if self.readers.get(out) != Some(&1) || !self.is_graph_output(out) {
                    bail!("{op} is supported only as the last node (its output the graph output)");
                }
                self.alias.insert(out.into(), t);
                self.softmax_out = Some(out.to_string());
            }
            "Conv" => self.conv(node, out)?,
            "Gemm" | "MatMul" => self.gemm(node, out)?,
            "BatchNormalization" => self.batch_norm(node, out)?,
            "Add" => self.add(node, out)?,
            "Relu" => {
                expect_inputs(node, 1)?;
                let (t, _, r) = self.data(node, 0)?;
                self.push(out, vec![t], Op::Relu, r)?;
            }
            "Clip" => self.clip(node, out)?,
            "MaxPool" | "AveragePool" => self.pool(node, out)?,
            "GlobalAveragePool" => {
                expect_inputs(node, 1)?;
                let (t, _, r) = self.data(node, 0)?;
                if r != 4 {
                    bail!("input is not an NCHW feature map");
                }
                self.push(out, vec![t], Op::GlobalAvgPool, 4)?;
            }
            "Concat" => {
                let mut axis = None;
                for a in &node.attribute {
                    match a.name() {
                        "axis" => axis = Some(attr_int(a)?),
                        o => bail!("attribute \"{o}\" is not supported"),
                    }
                }
                let ins = (0..node.input.len())
                    .map(|k| self.data(node, k))
                    .collect::<Result<Vec<_>>>()?;
                let r = ins.first().map_or(4, |x| x.2);
                let ax = axis.context("attribute \"axis\" is missing")?;
                if ax != 1 && ax != 1 - r as i64 {
                    bail!("axis {ax} is not supported (only the channel axis 1)");
                }
                self.push(out, ins.into_iter().map(|x| x.0).collect(), Op::Concat, r)?;
            }
            "Slice" => self.slice(node, out)?,
            "Pad" => self.pad(node, out)?,
            "Flatten" => {
                expect_inputs(node, 1)?;
                let (t, _, r) = self.data(node, 0)?;
                for a in &node.attribute {
                    match a.name() {
                        "axis" => {
                            let ax = attr_int(a)?;
                            if ax != 1 && ax != 1 - r as i64 {
                                bail!("axis {ax} is not supported (only axis 1: [N, C*H*W])");
                            }
                        }
                        o => bail!("attribute \"{o}\" is not supported"),
                    }
                }
                self.push(out, vec![t], Op::Flatten, 2)?;
            }
            "Reshape" => {
                expect_inputs(node, 2)?;
                let (t, s, _) = self.data(node, 0)?;
                let n: i64 = s.iter().product::<usize>() as i64;
                let target = int_tensor(self.cst(node, 1, "shape")?)?;
                let ok = matches!(target[..], [b, x] if (b == 0 || b == 1 || b == -1) && (x == n || (x == -1 && b != -1)));
                if !ok {
                    bail!("reshape to {target:?} is not supported (only a flatten to [N, {n}], e.g. [0, -1])");
                }
                self.push(out, vec![t], Op::Flatten, 2)?;
            }
            other => bail!("op type {other} is not supported (supported: {GRAPH_OPS})"),
        }
        Ok(())
    }
}

/// Pads `[t, l, b, r]` from an ONNX `pads` attribute of a 2-D window op.
fn pads4(v: &[i64]) -> Result<[usize; 4]> {
    match v {
        [t, l, b, r] if v.iter().all(|&p| (0..=1 << 16).contains(&p)) => {
            Ok([*t as usize, *l as usize, *b as usize, *r as usize])
        }
        _ => bail!("pads {v:?} are not supported (four non-negative values)"),
    }
}

fn pair(v: &[i64], what: &str) -> Result<[usize; 2]> {
    match v {
        [a, b] if (1..=1 << 16).contains(a) && (1..=1 << 16).contains(b) => {
            Ok([*a as usize, *b as usize])
        }
        _ => bail!("{what} {v:?} is not supported (two positive values)"),
    }
}

/// Window attributes shared by Conv and the pools: (kernel, strides, pads).
struct Window {
    kernel: Option<[usize; 2]>,
    stride: [usize; 2],
    pads: [usize; 4],
    groups: usize,
    count_include_pad: bool,
}

fn window_attrs(node: &NodeProto, conv: bool) -> Result<Window> {
    let mut w = Window {
        kernel: None,
        stride: [1, 1],
        pads: [0; 4],
        groups: 1,
        count_include_pad: false,
    };
    for a in &node.attribute {
        match a.name() {
            "kernel_shape" => w.kernel = Some(pair(attr_ints(a)?, "kernel_shape")?),
            "strides" => w.stride = pair(attr_ints(a)?, "strides")?,
            "pads" => w.pads = pads4(attr_ints(a)?)?,
            "dilations" => all_ones(a)?,
            "auto_pad" => {
                let s = attr_str(a)?;
                if !matches!(s.as_str(), "NOTSET" | "" | "VALID") {
                    bail!(
                        "auto_pad \"{s}\" is not supported (NOTSET with explicit pads, or VALID)"
                    );
                }
            }
            "group" if conv => {
                let g = attr_int(a)?;
                if !(1..=1 << 16).contains(&g) {
                    bail!("group {g} out of range 1..=65536");
                }
                w.groups = g as usize;
            }
            "ceil_mode" if !conv => {
                if attr_int(a)? != 0 {
                    bail!("ceil_mode 1 is not supported (floor mode only)");
                }
            }
            "count_include_pad" if !conv => w.count_include_pad = attr_int(a)? != 0,
            "storage_order" if !conv => {
                attr_int(a)?;
            }
            o => bail!("attribute \"{o}\" is not supported"),
        }
    }
    Ok(w)
}

impl<'a> Builder<'a> {
    fn is_graph_output(&self, onnx_name: &str) -> bool {
        self.outputs.iter().any(|o| o == onnx_name)
    }

    fn conv(&mut self, node: &NodeProto, out: &str) -> Result<()> {
        if node.input.len() > 3 || node.input.len() < 2 {
            bail!("expects 2 or 3 inputs, found {}", node.input.len());
        }
        let (t, [c, _, _], r) = self.data(node, 0)?;
        if r != 4 {
            bail!("input is not an NCHW feature map");
        }
        let (wd, weights) = float_tensor(self.cst(node, 1, "weights")?)?;
        let [oc, icg, kh, kw] = wd[..] else {
            bail!("weights have shape {wd:?}; expected [out, in/groups, kh, kw]");
        };
        let w = window_attrs(node, true)?;
        if let Some(k) = w.kernel {
            if k != [kh, kw] {
                bail!("kernel_shape {k:?} does not match the weights' kernel [{kh}, {kw}]");
            }
        }
        if icg * w.groups != c {
            bail!(
                "weights have shape {wd:?} with group {} but the input has {c} channels",
                w.groups
            );
        }
        let mut bias = vec![0.0; oc];
        if Self::has(node, 2) {
            let (bd, bv) = float_tensor(self.cst(node, 2, "bias")?)?;
            if bv.len() != oc || bd.len() != 1 {
                bail!("bias has shape {bd:?}; expected [{oc}]");
            }
            bias = bv;
        }
        let op = Op::Conv {
            out_ch: oc,
            kernel: [kh, kw],
            stride: w.stride,
            pads: w.pads,
            groups: w.groups,
            weights,
            bias,
        };
        self.push(out, vec![t], op, 4)
    }

    fn gemm(&mut self, node: &NodeProto, out: &str) -> Result<()> {
        let is_gemm = node.op_type() == "Gemm";
        let (t, s, r) = self.data(node, 0)?;
        if r != 2 {
            bail!("input is not 2-D [N, n]; put a Flatten before it");
        }
        let n: usize = s.iter().product();
        let (mut tb, mut alpha, mut beta) = (false, 1.0, 1.0);
        for a in &node.attribute {
            match a.name() {
                "transA" if is_gemm => {
                    if attr_int(a)? != 0 {
                        bail!("transA = 1 is not supported");
                    }
                }
                "transB" if is_gemm => tb = attr_int(a)? != 0,
                "alpha" if is_gemm => alpha = attr_float(a)?,
                "beta" if is_gemm => beta = attr_float(a)?,
                o => bail!("attribute \"{o}\" is not supported"),
            }
        }
        if node.input.len() > if is_gemm { 3 } else { 2 } {
            bail!("too many inputs ({})", node.input.len());
        }
        let (bd, bv) = float_tensor(self.cst(node, 1, "weights")?)?;
        let [r0, r1] = bd[..] else {
            bail!("weights have shape {bd:?}; expected a 2-D matrix");
        };
        let (inp, outn) = if tb { (r1, r0) } else { (r0, r1) };
        if inp != n {
            bail!("weights have shape {bd:?} (in = {inp}) but the input has {n} values");
        }
        let weights = super::import::dense_weights(&bv, inp, outn, tb, alpha);
        let mut bias = vec![0.0; outn];
        if is_gemm && Self::has(node, 2) {
            let (cd, cv) = float_tensor(self.cst(node, 2, "bias C")?)?;
            bias = dense_bias(&cd, &cv, outn)?
                .iter()
                .map(|b| b * beta)
                .collect();
        }
        self.push(
            out,
            vec![t],
            Op::Dense {
                out: outn,
                weights,
                bias,
            },
            2,
        )
    }

    fn batch_norm(&mut self, node: &NodeProto, out: &str) -> Result<()> {
        if node.input.len() != 5 {
            bail!("expects 5 inputs, found {}", node.input.len());
        }
        let mut eps = 1e-5;
        for a in &node.attribute {
            match a.name() {
                "epsilon" => eps = attr_float(a)?,
                "momentum" => {
                    attr_float(a)?;
                }
                "training_mode" => {
                    if attr_int(a)? != 0 {
                        bail!("training_mode 1 is not supported");
                    }
                }
                o => bail!("attribute \"{o}\" is not supported"),
            }
        }
        let (t, [c, _, _], _) = self.data(node, 0)?;
        let Some(mi) = self.foldable_mac(&node.input[0], &t) else {
            bail!("BatchNormalization is supported only directly after a Conv/Gemm/MatMul whose output nothing else reads (it is folded into that layer, spec 9)");
        };
        let mut p = Vec::new();
        for (k, what) in [(1, "scale"), (2, "B"), (3, "mean"), (4, "var")] {
            let (_, v) = float_tensor(self.cst(node, k, what)?)?;
            if v.len() != c {
                bail!(
                    "{what} has {} values, expected {c} (one per channel)",
                    v.len()
                );
            }
            p.push(v);
        }
        let (scale, beta, mean, var) = (&p[0], &p[1], &p[2], &p[3]);
        let (out_ch, weights, bias) = match &mut self.nodes[mi].op {
            Op::Conv {
                out_ch,
                weights,
                bias,
                ..
            }
            | Op::Dense {
                out: out_ch,
                weights,
                bias,
            } => (*out_ch, weights, bias),
            _ => bail!("internal: not a MAC layer"),
        };
        let per = weights.len() / out_ch;
        for o in 0..out_ch {
            let k = scale[o] / (var[o] + eps).sqrt();
            if !k.is_finite() {
                bail!(
                    "channel {o}: scale / sqrt(var + epsilon) is not finite (var {})",
                    var[o]
                );
            }
            weights[o * per..(o + 1) * per]
                .iter_mut()
                .for_each(|w| *w *= k);
            bias[o] = (bias[o] - mean[o]) * k + beta[o];
        }
        self.alias.insert(out.into(), t);
        Ok(())
    }

    fn add(&mut self, node: &NodeProto, out: &str) -> Result<()> {
        if node.input.len() != 2 {
            bail!("expects 2 inputs, found {}", node.input.len());
        }
        if let Some(a) = node.attribute.first() {
            bail!("attribute \"{}\" is not supported", a.name());
        }
        let cpos = (0..2).find(|&k| self.consts.contains_key(node.input[k].as_str()));
        if let Some(k) = cpos {
            let (t, s, r) = self.data(node, 1 - k)?;
            let Some(mi) = self.foldable_mac(&node.input[1 - k], &t) else {
                bail!("Add of a constant is supported only as the bias right after Conv, Gemm or MatMul");
            };
            let (cd, cv) = float_tensor(self.cst(node, k, "bias")?)?;
            let add = if r == 2 {
                dense_bias(&cd, &cv, s[0])?
            } else {
                conv_bias(&cd, &cv, s[0])?
            };
            match &mut self.nodes[mi].op {
                Op::Conv { bias, .. } | Op::Dense { bias, .. } => {
                    bias.iter_mut().zip(&add).for_each(|(b, a)| *b += a)
                }
                _ => bail!("internal: not a MAC layer"),
            }
            self.alias.insert(out.into(), t);
            return Ok(());
        }
        let (a, sa, r) = self.data(node, 0)?;
        let (b, sb, _) = self.data(node, 1)?;
        if sa != sb {
            bail!("input shapes {sa:?} and {sb:?} differ (broadcasting is not supported)");
        }
        self.push(out, vec![a, b], Op::Add, r)
    }

    fn clip(&mut self, node: &NodeProto, out: &str) -> Result<()> {
        let (t, _, r) = self.data(node, 0)?;
        let scalar = |b: &Self, k: usize, what: &str| -> Result<Option<f64>> {
            if !Self::has(node, k) {
                return Ok(None);
            }
            let (_, v) = float_tensor(b.cst(node, k, what)?)?;
            match v[..] {
                [x] => Ok(Some(x)),
                _ => bail!("{what} must be a scalar"),
            }
        };
        if let Some(a) = node.attribute.first() {
            bail!(
                "attribute \"{}\" is not supported (opset >= 11 takes min/max as inputs)",
                a.name()
            );
        }
        let lo = scalar(self, 1, "min")?;
        let hi = scalar(self, 2, "max")?;
        if lo != Some(0.0) {
            bail!("min {lo:?} is not supported (only Clip(0, c))");
        }
        let op = match hi {
            None => Op::Relu,
            Some(c) if c > 0.0 => Op::Clip { max: c },
            Some(c) => bail!("max {c} must be positive"),
        };
        self.push(out, vec![t], op, r)
    }

    fn pool(&mut self, node: &NodeProto, out: &str) -> Result<()> {
        expect_inputs(node, 1)?;
        let (t, _, r) = self.data(node, 0)?;
        if r != 4 {
            bail!("input is not an NCHW feature map");
        }
        let w = window_attrs(node, false)?;
        let kernel = w.kernel.context("kernel_shape is missing")?;
        let op = if node.op_type() == "MaxPool" {
            Op::MaxPool {
                kernel,
                stride: w.stride,
                pads: w.pads,
            }
        } else {
            if w.count_include_pad && w.pads.iter().any(|&p| p > 0) {
                bail!("count_include_pad 1 with padding is not supported (spec 9 counts only positions inside the tensor)");
            }
            Op::AvgPool {
                kernel,
                stride: w.stride,
                pads: w.pads,
            }
        };
        self.push(out, vec![t], op, 4)
    }

    /// Constant int64 (or int32) list input `k`.
    fn ints(&self, node: &NodeProto, k: usize, what: &str) -> Result<Vec<i64>> {
        int_tensor(self.cst(node, k, what)?)
    }

    fn slice(&mut self, node: &NodeProto, out: &str) -> Result<()> {
        if let Some(a) = node.attribute.first() {
            bail!(
                "attribute \"{}\" is not supported (opset >= 10 takes starts/ends as inputs)",
                a.name()
            );
        }
        let (t, s, r) = self.data(node, 0)?;
        let starts = self.ints(node, 1, "starts")?;
        let ends = self.ints(node, 2, "ends")?;
        let axes = if Self::has(node, 3) {
            self.ints(node, 3, "axes")?
        } else {
            (0..starts.len() as i64).collect()
        };
        let steps = if Self::has(node, 4) {
            self.ints(node, 4, "steps")?
        } else {
            vec![1; starts.len()]
        };
        if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
            bail!("starts/ends/axes/steps have different lengths");
        }
        // ONNX dims of this tensor (batch first).
        let dims: Vec<usize> = if r == 4 {
            vec![usize::MAX, s[0], s[1], s[2]]
        } else {
            vec![usize::MAX, s[0]]
        };
        let mut ranges = [[0, s[0], 1], [0, s[1], 1], [0, s[2], 1]];
        for i in 0..starts.len() {
            let ax = if axes[i] < 0 {
                axes[i] + r as i64
            } else {
                axes[i]
            };
            if !(0..r as i64).contains(&ax) {
                bail!("axis {} out of range for a rank-{r} tensor", axes[i]);
            }
            if steps[i] <= 0 {
                bail!("step {} is not supported (positive steps only)", steps[i]);
            }
            if ax == 0 {
                if starts[i] != 0 || ends[i] < i32::MAX as i64 || steps[i] != 1 {
                    bail!("slicing the batch axis is not supported");
                }
                continue;
            }
            let dim = dims[ax as usize] as i64;
            let norm = |v: i64| if v < 0 { (v + dim).max(0) } else { v.min(dim) };
            let (b, e) = (norm(starts[i]), norm(ends[i]));
            if b >= e {
                bail!(
                    "slice [{}, {}) of axis {ax} (size {dim}) is empty",
                    starts[i],
                    ends[i]
                );
            }
            ranges[ax as usize - 1] = [b as usize, e as usize, steps[i] as usize];
        }
        self.push(out, vec![t], Op::Slice { ranges }, r)
    }

    fn pad(&mut self, node: &NodeProto, out: &str) -> Result<()> {
        for a in &node.attribute {
            match a.name() {
                "mode" => {
                    let m = attr_str(a)?;
                    if m != "constant" {
                        bail!("mode \"{m}\" is not supported (constant only)");
                    }
                }
                o => bail!("attribute \"{o}\" is not supported"),
            }
        }
        let (t, _, r) = self.data(node, 0)?;
        let pads = self.ints(node, 1, "pads")?;
        if Self::has(node, 2) {
            let (_, v) = float_tensor(self.cst(node, 2, "constant_value")?)?;
            if v.iter().any(|&x| x != 0.0) {
                bail!("constant_value {v:?} is not supported (only 0)");
            }
        }
        if Self::has(node, 3) {
            bail!("the axes input is not supported (give pads for every axis)");
        }
        if pads.len() != 2 * r || pads.iter().any(|&p| !(0..=1 << 16).contains(&p)) {
            bail!(
                "pads {pads:?} are not supported ({} non-negative values for a rank-{r} tensor)",
                2 * r
            );
        }
        if pads[0] != 0 || pads[r] != 0 {
            bail!("padding the batch axis is not supported");
        }
        let p: Vec<usize> = pads.iter().map(|&x| x as usize).collect();
        let pads6 = if r == 4 {
            [p[1], p[2], p[3], p[5], p[6], p[7]]
        } else {
            [p[1], 0, 0, p[3], 0, 0]
        };
        self.push(out, vec![t], Op::Pad { pads: pads6 }, r)
    }

    fn finish(self, g: &GraphProto) -> Result<Graph> {
        let [o] = &g.output[..] else {
            bail!(
                "the graph has {} outputs; fpec models have one (the class scores)",
                g.output.len()
            );
        };
        let out = self.alias.get(o.name()).with_context(|| {
            format!(
                "the graph output \"{}\" is not computed by any node",
                o.name()
            )
        })?;
        if out == INPUT {
            bail!("the graph output is its input");
        }
        let _ = &self.softmax_out;
        Ok(Graph {
            format: FORMAT_TAG.into(),
            version: GRAPH_VERSION,
            input: self.input,
            nodes: self.nodes,
            output: out.clone(),
            meta: None,
        })
    }
}
