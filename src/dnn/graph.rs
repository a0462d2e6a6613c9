//! The network graph (spec 9, revised): a DAG of named nodes over `[C][H][W]`
//! tensors, its versioned JSON (`"version": 2`; a version-1 layer list loads
//! as the equivalent chain, see [`Graph::from_model`]), shape checking and
//! the float forward pass.
//!
//! Every node's output tensor carries the node's name; `inputs` name earlier
//! nodes or the graph input [`INPUT`]. Nodes are stored in topological
//! order (a node reads only tensors defined before it), and the last tensor
//! is `output`. Layouts: conv weights `[out][in/groups][ky][kx]`, dense
//! weights `[out][in]` (the input read flattened in (c, y, x) order).
//! Padding is per side `[top, left, bottom, right]`; window outputs per axis
//! are floor((H + pad_begin + pad_end - k) / stride) + 1.

use crate::dnn::model::{argmax, Layer, Model, FORMAT_TAG};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// The graph file version.
pub const GRAPH_VERSION: u32 = 2;
/// Name of the graph input tensor.
pub const INPUT: &str = "input";

/// What a node computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields, rename_all = "snake_case")]
pub enum Op {
    /// 2-D convolution (dilation 1), zero padding per side, grouped.
    Conv {
        /// Output channels.
        out_ch: usize,
        /// Kernel [kh, kw].
        kernel: [usize; 2],
        /// Stride [sh, sw].
        stride: [usize; 2],
        /// Padding [top, left, bottom, right].
        pads: [usize; 4],
        /// Groups (in_ch / groups input channels per output).
        groups: usize,
        /// `[out][in/groups][ky][kx]`, flattened.
        weights: Vec<f64>,
        /// One per output channel.
        bias: Vec<f64>,
    },
    /// Fully connected, on the flattened input.
    Dense {
        /// Outputs.
        out: usize,
        /// `[out][in]`, flattened.
        weights: Vec<f64>,
        /// One per output.
        bias: Vec<f64>,
    },
    /// max(x, 0).
    Relu,
    /// min(max(x, 0), max).
    Clip {
        /// Upper bound (positive).
        max: f64,
    },
    /// Max over the window's positions inside the tensor.
    MaxPool {
        /// [kh, kw].
        kernel: [usize; 2],
        /// [sh, sw].
        stride: [usize; 2],
        /// [top, left, bottom, right].
        pads: [usize; 4],
    },
    /// Mean over the window's positions inside the tensor (padding not counted).
    AvgPool {
        /// [kh, kw].
        kernel: [usize; 2],
        /// [sh, sw].
        stride: [usize; 2],
        /// [top, left, bottom, right].
        pads: [usize; 4],
    },
    /// Mean over each channel.
    GlobalAvgPool,
    /// Element-wise sum of inputs of one shape.
    Add,
    /// Concatenation on the channel axis.
    Concat,
    /// Per axis (c, h, w): [start, end, step], end exclusive, within the tensor.
    Slice {
        /// `[[c0, c1, cs], [h0, h1, hs], [w0, w1, ws]]`.
        ranges: [[usize; 3]; 3],
    },
    /// Zero padding `[c_begin, h_begin, w_begin, c_end, h_end, w_end]`.
    Pad {
        /// Elements inserted before and after, per axis.
        pads: [usize; 6],
    },
    /// To `[C*H*W, 1, 1]`.
    Flatten,
    /// Unchanged (Identity, Dropout, a flattening Reshape of a flat tensor).
    Identity,
}

impl Op {
    /// The op's name in messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Conv { .. } => "conv",
            Op::Dense { .. } => "dense",
            Op::Relu => "relu",
            Op::Clip { .. } => "clip",
            Op::MaxPool { .. } => "max_pool",
            Op::AvgPool { .. } => "avg_pool",
            Op::GlobalAvgPool => "global_avg_pool",
            Op::Add => "add",
            Op::Concat => "concat",
            Op::Slice { .. } => "slice",
            Op::Pad { .. } => "pad",
            Op::Flatten => "flatten",
            Op::Identity => "identity",
        }
    }
    /// A MAC layer (conv or dense)?
    pub fn is_mac(&self) -> bool {
        matches!(self, Op::Conv { .. } | Op::Dense { .. })
    }
    /// Weights and bias of a MAC layer (empty otherwise).
    pub fn params(&self) -> (&[f64], &[f64]) {
        match self {
            Op::Conv { weights, bias, .. } | Op::Dense { weights, bias, .. } => (weights, bias),
            _ => (&[], &[]),
        }
    }
}

/// One node: its output tensor is called `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Unique name (also the name of its output tensor).
    pub name: String,
    /// Input tensors (node names or [`INPUT`]).
    pub inputs: Vec<String>,
    /// The operation.
    pub op: Op,
}

/// A network graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Graph {
    /// Always `fpec-model`.
    pub format: String,
    /// Always 2.
    pub version: u32,
    /// Input shape [C, H, W].
    pub input: [usize; 3],
    /// Nodes in topological order.
    pub nodes: Vec<Node>,
    /// The class-score tensor.
    pub output: String,
    /// Free-form provenance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// Output size of a window on one axis (None when it does not fit).
pub fn window_out(len: usize, k: usize, s: usize, p0: usize, p1: usize) -> Option<usize> {
    let padded = len + p0 + p1;
    (k > 0 && s > 0 && padded >= k).then(|| (padded - k) / s + 1)
}

/// Resolved structure of a graph: per node, its input node indices
/// (`usize::MAX` for the graph input) and output shape.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Per node: input indices (`usize::MAX` = the graph input).
    pub inputs: Vec<Vec<usize>>,
    /// Per node: output shape.
    pub shapes: Vec<[usize; 3]>,
    /// Per node: its input shapes.
    pub in_shapes: Vec<Vec<[usize; 3]>>,
    /// Index of the output node.
    pub output: usize,
    /// MAC node indices in order.
    pub macs: Vec<usize>,
    /// Per node: how many later nodes read it (the output counts once more).
    pub uses: Vec<usize>,
}

/// The graph input's index in [`Plan::inputs`].
pub const IN_IDX: usize = usize::MAX;

impl Graph {
    /// A version-1 layer list as the equivalent chain (same results bit for
    /// bit: relu/maxpool commute on sums and the last dense is the output).
    pub fn from_model(m: &Model) -> Result<Graph> {
        m.stages()?;
        let mut nodes: Vec<Node> = Vec::new();
        let mut prev = INPUT.to_string();
        for (i, l) in m.layers.iter().enumerate() {
            let op = match l {
                Layer::Conv2d {
                    out_ch,
                    kernel,
                    padding,
                    stride,
                    weights,
                    bias,
                    ..
                } => Op::Conv {
                    out_ch: *out_ch,
                    kernel: [*kernel; 2],
                    stride: [*stride; 2],
                    pads: [*padding; 4],
                    groups: 1,
                    weights: weights.clone(),
                    bias: bias.clone(),
                },
                Layer::Dense {
                    out, weights, bias, ..
                } => Op::Dense {
                    out: *out,
                    weights: weights.clone(),
                    bias: bias.clone(),
                },
                Layer::Relu => Op::Relu,
                Layer::MaxPool2d { size } => Op::MaxPool {
                    kernel: [*size; 2],
                    stride: [*size; 2],
                    pads: [0; 4],
                },
            };
            let name = format!("{}{i}", op.kind());
            nodes.push(Node {
                name: name.clone(),
                inputs: vec![prev],
                op,
            });
            prev = name;
        }
        let g = Graph {
            format: FORMAT_TAG.into(),
            version: GRAPH_VERSION,
            input: m.input,
            nodes,
            output: prev,
            meta: m.meta.clone(),
        };
        g.plan()?;
        Ok(g)
    }

    /// Parses model JSON of either version (1: layer list, 2: graph).
    pub fn from_json(text: &str) -> Result<Graph> {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            anyhow::anyhow!("not valid JSON ({e}); note that NaN and Infinity are not JSON numbers")
        })?;
        match v.get("version").and_then(Value::as_u64) {
            Some(1) => Graph::from_model(&Model::from_json(text)?),
            Some(2) => {
                if v.get("format").and_then(Value::as_str) != Some(FORMAT_TAG) {
                    bail!("\"format\" must be \"{FORMAT_TAG}\"");
                }
                let g: Graph = serde_json::from_value(v)
                    .map_err(|e| anyhow::anyhow!("bad graph model: {e}"))?;
                g.plan()?;
                Ok(g)
            }
            Some(n) => bail!("unknown model file version {n} (this fpec reads versions 1 and 2)"),
            None => bail!("\"version\" is missing or not an integer"),
        }
    }

    /// Reads a model file (JSON v1/v2); errors name the file.
    pub fn load_json(path: &Path) -> Result<Graph> {
        let text = crate::util::read_text_limited(path, crate::util::MAX_MODEL_BYTES, "--model")?;
        Graph::from_json(&text).with_context(|| format!("bad model file {}", path.display()))
    }

    /// Pretty JSON (version 2).
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)? + "\n")
    }

    /// Number of classes (size of the output tensor).
    pub fn classes(&self) -> usize {
        self.plan()
            .map(|p| p.shapes[p.output].iter().product())
            .unwrap_or(0)
    }

    /// Resolves names, checks every shape and parameter count.
    pub fn plan(&self) -> Result<Plan> {
        if self.input.contains(&0) {
            bail!("\"input\" {:?} must have positive dimensions", self.input);
        }
        let mut index: HashMap<&str, usize> = HashMap::new();
        let n = self.nodes.len();
        let mut plan = Plan {
            inputs: Vec::with_capacity(n),
            shapes: Vec::with_capacity(n),
            in_shapes: Vec::with_capacity(n),
            output: 0,
            macs: Vec::new(),
            uses: vec![0; n],
        };
        for (i, node) in self.nodes.iter().enumerate() {
            let label = format!("node \"{}\" ({})", node.name, node.op.kind());
            if node.name == INPUT || index.contains_key(node.name.as_str()) {
                bail!("{label}: the name is used twice (or is \"{INPUT}\")");
            }
            let mut ins = Vec::new();
            let mut shapes = Vec::new();
            for name in &node.inputs {
                if name == INPUT {
                    ins.push(IN_IDX);
                    shapes.push(self.input);
                } else {
                    let j = *index.get(name.as_str()).with_context(|| {
                        format!("{label}: input \"{name}\" is not an earlier node or \"{INPUT}\"")
                    })?;
                    plan.uses[j] += 1;
                    ins.push(j);
                    shapes.push(plan.shapes[j]);
                }
            }
            let out = node_shape(&node.op, &shapes).with_context(|| label.clone())?;
            for (k, v) in [node.op.params().0, node.op.params().1].iter().enumerate() {
                if let Some(j) = v.iter().position(|x| !x.is_finite()) {
                    bail!(
                        "{label}: {}[{j}] is not a finite number",
                        ["weights", "bias"][k]
                    );
                }
            }
            if node.op.is_mac() {
                plan.macs.push(i);
            }
            index.insert(&node.name, i);
            plan.inputs.push(ins);
            plan.shapes.push(out);
            plan.in_shapes.push(shapes);
        }
        plan.output = *index
            .get(self.output.as_str())
            .with_context(|| format!("the output \"{}\" is not a node", self.output))?;
        plan.uses[plan.output] += 1;
        if plan.macs.is_empty() {
            bail!("the model has no conv or dense node");
        }
        if let Some(i) = (0..n).find(|&i| plan.uses[i] == 0) {
            bail!(
                "node \"{}\" is not used (every node must lead to the output)",
                self.nodes[i].name
            );
        }
        Ok(plan)
    }

    /// Float forward pass: every node's output tensor.
    pub fn forward_all(&self, plan: &Plan, img: &[f64]) -> Vec<Vec<f64>> {
        let mut vals: Vec<Vec<f64>> = Vec::with_capacity(self.nodes.len());
        for (i, node) in self.nodes.iter().enumerate() {
            let ins: Vec<&[f64]> = plan.inputs[i]
                .iter()
                .map(|&j| if j == IN_IDX { img } else { &vals[j][..] })
                .collect();
            let out = float_node(&node.op, &ins, &plan.in_shapes[i], plan.shapes[i]);
            vals.push(out);
        }
        vals
    }

    /// Float class scores.
    pub fn forward(&self, plan: &Plan, img: &[f64]) -> Vec<f64> {
        self.forward_all(plan, img).swap_remove(plan.output)
    }

    /// Float accuracy (percent) on a data set.
    pub fn float_accuracy(&self, data: &crate::dnn::data::Dataset) -> Result<f64> {
        Ok(percent(&self.float_correct(data)?))
    }

    /// Per image of a data set, whether the float class decision is right.
    pub fn float_correct(&self, data: &crate::dnn::data::Dataset) -> Result<Vec<bool>> {
        use rayon::prelude::*;
        let plan = self.plan()?;
        self.check_data(data)?;
        Ok(data
            .images
            .par_iter()
            .zip(&data.labels)
            .map(|(img, &l)| argmax(&self.forward(&plan, img)) == l as usize)
            .collect())
    }

    /// Checks that a data set fits the graph (input shape, class count).
    pub fn check_data(&self, data: &crate::dnn::data::Dataset) -> Result<()> {
        data.check_fits(self.input, self.classes())
    }
}

/// Percent of `true` (0 for none): `100 * right / n`, as every accuracy.
pub fn percent(correct: &[bool]) -> f64 {
    let ok = correct.iter().filter(|&&c| c).count();
    100.0 * ok as f64 / correct.len().max(1) as f64
}

fn one_input(shapes: &[[usize; 3]]) -> Result<[usize; 3]> {
    match shapes {
        [s] => Ok(*s),
        _ => bail!("takes one input, found {}", shapes.len()),
    }
}

fn window_shape(
    [c, h, w]: [usize; 3],
    k: [usize; 2],
    s: [usize; 2],
    p: [usize; 4],
) -> Result<[usize; 3]> {
    if p[0] >= k[0] || p[2] >= k[0] || p[1] >= k[1] || p[3] >= k[1] {
        bail!("pads {p:?} must be below the kernel {k:?} on each side");
    }
    match (
        window_out(h, k[0], s[0], p[0], p[2]),
        window_out(w, k[1], s[1], p[1], p[3]),
    ) {
        (Some(oh), Some(ow)) => Ok([c, oh, ow]),
        _ => bail!(
            "kernel {k:?} / stride {s:?} do not fit the input [{c}, {h}, {w}] padded by {p:?}"
        ),
    }
}

/// Output shape of one node, checking its parameters.
pub fn node_shape(op: &Op, shapes: &[[usize; 3]]) -> Result<[usize; 3]> {
    match op {
        Op::Conv {
            out_ch,
            kernel,
            stride,
            pads,
            groups,
            weights,
            bias,
        } => {
            let s = one_input(shapes)?;
            if *groups == 0 || s[0] % groups != 0 || out_ch % groups != 0 || *out_ch == 0 {
                bail!(
                    "groups {groups} must divide the input channels {} and out_ch {out_ch}",
                    s[0]
                );
            }
            let want = out_ch * (s[0] / groups) * kernel[0] * kernel[1];
            if weights.len() != want || bias.len() != *out_ch {
                bail!(
                    "weights/bias have {}/{} values, expected {want}/{out_ch} (input {s:?})",
                    weights.len(),
                    bias.len()
                );
            }
            let [_, oh, ow] = window_shape(s, *kernel, *stride, *pads)?;
            Ok([*out_ch, oh, ow])
        }
        Op::Dense { out, weights, bias } => {
            let n: usize = one_input(shapes)?.iter().product();
            if *out == 0 || weights.len() != n * out || bias.len() != *out {
                bail!(
                    "weights/bias have {}/{} values, expected {}/{out} (input of {n} values)",
                    weights.len(),
                    bias.len(),
                    n * out
                );
            }
            Ok([*out, 1, 1])
        }
        Op::Relu | Op::Identity => one_input(shapes),
        Op::Clip { max } => {
            if !(max.is_finite() && *max > 0.0) {
                bail!("max {max} must be a positive finite number (Clip(0, max))");
            }
            one_input(shapes)
        }
        Op::MaxPool {
            kernel,
            stride,
            pads,
        }
        | Op::AvgPool {
            kernel,
            stride,
            pads,
        } => window_shape(one_input(shapes)?, *kernel, *stride, *pads),
        Op::GlobalAvgPool => Ok([one_input(shapes)?[0], 1, 1]),
        Op::Flatten => Ok([one_input(shapes)?.iter().product(), 1, 1]),
        Op::Add => {
            let first = *shapes.first().context("takes at least one input")?;
            if let Some(s) = shapes.iter().find(|s| **s != first) {
                bail!("input shapes differ: {first:?} and {s:?}");
            }
            Ok(first)
        }
        Op::Concat => {
            let first = *shapes.first().context("takes at least one input")?;
            if let Some(s) = shapes.iter().find(|s| s[1..] != first[1..]) {
                bail!("input shapes {first:?} and {s:?} differ outside the channel axis");
            }
            Ok([shapes.iter().map(|s| s[0]).sum(), first[1], first[2]])
        }
        Op::Slice { ranges } => {
            let s = one_input(shapes)?;
            let mut out = [0; 3];
            for a in 0..3 {
                let [b, e, st] = ranges[a];
                if st == 0 || b >= e || e > s[a] {
                    bail!(
                        "range {:?} on axis {a} does not fit the input {s:?}",
                        ranges[a]
                    );
                }
                out[a] = (e - b).div_ceil(st);
            }
            Ok(out)
        }
        Op::Pad { pads } => {
            let s = one_input(shapes)?;
            Ok([
                s[0] + pads[0] + pads[3],
                s[1] + pads[1] + pads[4],
                s[2] + pads[2] + pads[5],
            ])
        }
    }
}

/// Calls `f(o, y, x, window)` with the in-tensor positions of each window
/// of a pooling/conv geometry (per channel-independent spatial indices).
pub fn for_windows(
    [h, w]: [usize; 2],
    [oh, ow]: [usize; 2],
    k: [usize; 2],
    s: [usize; 2],
    p: [usize; 4],
    mut f: impl FnMut(usize, usize, &mut dyn Iterator<Item = usize>),
) {
    for y in 0..oh {
        let y0 = (y * s[0]) as isize - p[0] as isize;
        let ys = y0.max(0) as usize..((y0 + k[0] as isize).min(h as isize)) as usize;
        for x in 0..ow {
            let x0 = (x * s[1]) as isize - p[1] as isize;
            let xs = x0.max(0) as usize..((x0 + k[1] as isize).min(w as isize)) as usize;
            let mut it = ys
                .clone()
                .flat_map(|yy| xs.clone().map(move |xx| yy * w + xx));
            f(y, x, &mut it);
        }
    }
}

/// Slice index map: the input index of each output element.
pub fn slice_map(s: [usize; 3], ranges: &[[usize; 3]; 3]) -> Vec<usize> {
    let mut v = Vec::new();
    for c in (ranges[0][0]..ranges[0][1]).step_by(ranges[0][2]) {
        for y in (ranges[1][0]..ranges[1][1]).step_by(ranges[1][2]) {
            for x in (ranges[2][0]..ranges[2][1]).step_by(ranges[2][2]) {
                v.push((c * s[1] + y) * s[2] + x);
            }
        }
    }
    v
}

/// Pad index map: per output element, `Some(input index)` or None (inserted).
pub fn pad_map(s: [usize; 3], pads: &[usize; 6]) -> Vec<Option<usize>> {
    let o = [
        s[0] + pads[0] + pads[3],
        s[1] + pads[1] + pads[4],
        s[2] + pads[2] + pads[5],
    ];
    let mut v = Vec::with_capacity(o.iter().product());
    for c in 0..o[0] {
        for y in 0..o[1] {
            for x in 0..o[2] {
                let (ci, yi, xi) = (
                    c as isize - pads[0] as isize,
                    y as isize - pads[1] as isize,
                    x as isize - pads[2] as isize,
                );
                let inside = ci >= 0
                    && yi >= 0
                    && xi >= 0
                    && (ci as usize) < s[0]
                    && (yi as usize) < s[1]
                    && (xi as usize) < s[2];
                v.push(inside.then(|| ((ci as usize * s[1] + yi as usize) * s[2]) + xi as usize));
            }
        }
    }
    v
}

/// Float conv: grouped, strided, padded per side.
fn conv_float(op: &Op, x: &[f64], s: [usize; 3], out: [usize; 3]) -> Vec<f64> {
    let Op::Conv {
        kernel,
        stride,
        pads,
        groups,
        weights,
        bias,
        ..
    } = op
    else {
        return Vec::new();
    };
    let [c, h, w] = s;
    let [oc, oh, ow] = out;
    let (cpg, opg) = (c / groups, oc / groups);
    let [kh, kw] = *kernel;
    let npos = oh * ow;
    let klen = cpg * kh * kw;
    let mut y = vec![0.0; oc * npos];
    // im2col `[k][pos]` per group, k = (c, ky, kx); padding positions hold
    // 0.0 (adding w * 0.0 leaves every sum as it was).
    let mut col = vec![0.0; klen * npos];
    for g in 0..*groups {
        for ci in 0..cpg {
            let xc = &x[(g * cpg + ci) * h * w..(g * cpg + ci + 1) * h * w];
            for ky in 0..kh {
                for kx in 0..kw {
                    let k = (ci * kh + ky) * kw + kx;
                    let row_k = &mut col[k * npos..(k + 1) * npos];
                    for oy in 0..oh {
                        let iy = (oy * stride[0] + ky) as isize - pads[0] as isize;
                        let dst = &mut row_k[oy * ow..(oy + 1) * ow];
                        if iy < 0 || iy >= h as isize {
                            dst.iter_mut().for_each(|v| *v = 0.0);
                            continue;
                        }
                        let src = &xc[iy as usize * w..(iy as usize + 1) * w];
                        for (ox, d) in dst.iter_mut().enumerate() {
                            let ix = (ox * stride[1] + kx) as isize - pads[1] as isize;
                            *d = if ix < 0 || ix >= w as isize {
                                0.0
                            } else {
                                src[ix as usize]
                            };
                        }
                    }
                }
            }
        }
        // Per output: bias, then the products in k order (the order of the
        // layer-list forward pass, so the same f64 sums), four outputs at a
        // time over every position.
        let mut o = g * opg;
        while o < (g + 1) * opg {
            let nb = 4.min((g + 1) * opg - o);
            let rows = &mut y[o * npos..(o + nb) * npos];
            for (j, r) in rows.chunks_exact_mut(npos).enumerate() {
                r.iter_mut().for_each(|v| *v = bias[o + j]);
            }
            if nb == 4 {
                let (r0, rest) = rows.split_at_mut(npos);
                let (r1, rest) = rest.split_at_mut(npos);
                let (r2, r3) = rest.split_at_mut(npos);
                for k in 0..klen {
                    let wv = [
                        weights[o * klen + k],
                        weights[(o + 1) * klen + k],
                        weights[(o + 2) * klen + k],
                        weights[(o + 3) * klen + k],
                    ];
                    let xr = &col[k * npos..(k + 1) * npos];
                    axpy4([&mut *r0, &mut *r1, &mut *r2, &mut *r3], xr, wv);
                }
            } else {
                for (j, r) in rows.chunks_exact_mut(npos).enumerate() {
                    for k in 0..klen {
                        let wv = weights[(o + j) * klen + k];
                        let xr = &col[k * npos..(k + 1) * npos];
                        r.iter_mut().zip(xr).for_each(|(a, b)| *a += wv * b);
                    }
                }
            }
            o += nb;
        }
    }
    y
}

/// `r[j][p] += w[j] * x[p]` for four rows (a multiply and an add, each
/// rounded, as the scalar loop: no FMA), with the widest vectors the CPU has.
fn axpy4(r: [&mut [f64]; 4], x: &[f64], w: [f64; 4]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked).
            return unsafe { axpy4_avx512(r, x, w) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked).
            return unsafe { axpy4_avx2(r, x, w) };
        }
    }
    axpy4_body(r, x, w)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn axpy4_avx512(r: [&mut [f64]; 4], x: &[f64], w: [f64; 4]) {
    axpy4_body(r, x, w)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn axpy4_avx2(r: [&mut [f64]; 4], x: &[f64], w: [f64; 4]) {
    axpy4_body(r, x, w)
}

#[inline(always)]
fn axpy4_body(r: [&mut [f64]; 4], x: &[f64], w: [f64; 4]) {
    let n = x.len();
    let [r0, r1, r2, r3] = r;
    let (r0, r1, r2, r3) = (&mut r0[..n], &mut r1[..n], &mut r2[..n], &mut r3[..n]);
    for p in 0..n {
        let xv = x[p];
        r0[p] += w[0] * xv;
        r1[p] += w[1] * xv;
        r2[p] += w[2] * xv;
        r3[p] += w[3] * xv;
    }
}

/// Float pooling (max or mean over in-tensor positions) per channel.
fn pool_float(
    x: &[f64],
    s: [usize; 3],
    out: [usize; 3],
    k: [usize; 2],
    st: [usize; 2],
    p: [usize; 4],
    max: bool,
) -> Vec<f64> {
    let [c, h, w] = s;
    let mut y = Vec::with_capacity(out.iter().product());
    for ch in 0..c {
        let base = ch * h * w;
        for_windows([h, w], [out[1], out[2]], k, st, p, |_, _, it| {
            let (mut m, mut sum, mut n) = (f64::NEG_INFINITY, 0.0, 0usize);
            for i in it {
                m = m.max(x[base + i]);
                sum += x[base + i];
                n += 1;
            }
            y.push(if max { m } else { sum / n.max(1) as f64 });
        });
    }
    y
}

/// One node in float.
fn float_node(op: &Op, ins: &[&[f64]], shapes: &[[usize; 3]], out: [usize; 3]) -> Vec<f64> {
    match op {
        Op::Conv { .. } => conv_float(op, ins[0], shapes[0], out),
        Op::Dense { out, weights, bias } => {
            let n = ins[0].len();
            (0..*out)
                .map(|o| bias[o] + (0..n).map(|i| weights[o * n + i] * ins[0][i]).sum::<f64>())
                .collect()
        }
        Op::Relu => ins[0].iter().map(|v| v.max(0.0)).collect(),
        Op::Clip { max } => ins[0].iter().map(|v| v.max(0.0).min(*max)).collect(),
        Op::MaxPool {
            kernel,
            stride,
            pads,
        } => pool_float(ins[0], shapes[0], out, *kernel, *stride, *pads, true),
        Op::AvgPool {
            kernel,
            stride,
            pads,
        } => pool_float(ins[0], shapes[0], out, *kernel, *stride, *pads, false),
        Op::GlobalAvgPool => {
            let [_, h, w] = shapes[0];
            ins[0]
                .chunks(h * w)
                .map(|c| c.iter().sum::<f64>() / (h * w) as f64)
                .collect()
        }
        Op::Add => (0..ins[0].len())
            .map(|i| ins.iter().map(|x| x[i]).sum())
            .collect(),
        Op::Concat => ins.concat(),
        Op::Slice { ranges } => slice_map(shapes[0], ranges)
            .iter()
            .map(|&i| ins[0][i])
            .collect(),
        Op::Pad { pads } => pad_map(shapes[0], pads)
            .iter()
            .map(|i| i.map_or(0.0, |i| ins[0][i]))
            .collect(),
        Op::Flatten | Op::Identity => ins[0].to_vec(),
    }
}
