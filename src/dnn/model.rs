//! The model file (`models/README.md`): versioned JSON holding a small
//! feed-forward network of `conv2d`, `dense`, `relu` and `maxpool2d` layers,
//! its validation, and the float forward pass.
//!
//! Layouts: images and feature maps are channel-major `[C][H][W]`; conv
//! weights `[out][in][ky][kx]`, dense weights `[out][in]` (row-major), both
//! flattened. Convolution has stride `stride` (1 when absent from the file)
//! and zero padding `padding` on every side; output size per axis is
//! (H + 2*padding - kernel) / stride + 1 (rounded down); a dense layer after a feature map reads it flattened in (c, y, x)
//! order. Max-pooling uses a `size` x `size` window with stride `size`
//! (trailing rows/columns that do not fill a window are dropped).

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// The model file's `format` value.
pub const FORMAT_TAG: &str = "fpec-model";
/// The only model file version understood.
pub const VERSION: u32 = 1;

/// One layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Layer {
    /// 2-D convolution, zero padding.
    #[serde(rename = "conv2d")]
    Conv2d {
        /// Input channels.
        in_ch: usize,
        /// Output channels.
        out_ch: usize,
        /// Square kernel size.
        kernel: usize,
        /// Zero padding on each side.
        padding: usize,
        /// Stride on both axes; 1 when absent (and then not written, so
        /// stride-1 model files stay byte-identical).
        #[serde(default = "one", skip_serializing_if = "is_one")]
        stride: usize,
        /// `[out][in][ky][kx]`, flattened.
        weights: Vec<f64>,
        /// One per output channel.
        bias: Vec<f64>,
    },
    /// Fully connected layer.
    #[serde(rename = "dense")]
    Dense {
        /// Inputs.
        #[serde(rename = "in")]
        inp: usize,
        /// Outputs.
        out: usize,
        /// `[out][in]`, flattened.
        weights: Vec<f64>,
        /// One per output.
        bias: Vec<f64>,
    },
    /// max(x, 0).
    #[serde(rename = "relu")]
    Relu,
    /// Non-overlapping max-pooling.
    #[serde(rename = "maxpool2d")]
    MaxPool2d {
        /// Window size and stride.
        size: usize,
    },
}

fn one() -> usize {
    1
}

fn is_one(v: &usize) -> bool {
    *v == 1
}

/// A network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Always `fpec-model`.
    pub format: String,
    /// Always 1.
    pub version: u32,
    /// Input shape [C, H, W].
    pub input: [usize; 3],
    /// Layers in order.
    pub layers: Vec<Layer>,
    /// Free-form provenance (training seed, accuracy, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// A MAC layer with the element-wise layers that follow it: what one pass
/// of the MAC array computes (spec 9).
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// Index of the conv2d/dense layer in `Model::layers`.
    pub layer: usize,
    /// Input shape [C, H, W] (dense: [in, 1, 1]).
    pub in_shape: [usize; 3],
    /// Shape of the MAC output before pooling.
    pub mac_shape: [usize; 3],
    /// Shape after pooling (the next stage's input).
    pub out_shape: [usize; 3],
    /// ReLU follows.
    pub relu: bool,
    /// Max-pool window, if any.
    pub pool: Option<usize>,
}

impl Stage {
    /// Dot-product length (receptive field size).
    pub fn dot_len(&self, model: &Model) -> usize {
        match &model.layers[self.layer] {
            Layer::Conv2d { in_ch, kernel, .. } => in_ch * kernel * kernel,
            Layer::Dense { inp, .. } => *inp,
            _ => 0,
        }
    }
    /// Dot products per inference (outputs before pooling).
    pub fn dots(&self) -> usize {
        self.mac_shape.iter().product()
    }
    /// MACs per inference.
    pub fn macs(&self, model: &Model) -> usize {
        self.dots() * self.dot_len(model)
    }
}

fn finite_check(name: &str, i: usize, what: &str, v: &[Value]) -> Result<()> {
    for (j, x) in v.iter().enumerate() {
        match x.as_f64() {
            Some(f) if f.is_finite() => {}
            _ => bail!(
                "layer {i} ({name}): {what}[{j}] = {x} is not a finite number (NaN, infinity and null are not allowed)"
            ),
        }
    }
    Ok(())
}

impl Model {
    /// Reads and validates a model file; every error names the file.
    pub fn load(path: &Path) -> Result<Model> {
        let text = crate::util::read_text_limited(path, crate::util::MAX_MODEL_BYTES, "--model")?;
        Model::from_json(&text).with_context(|| format!("bad model file {}", path.display()))
    }

    /// Parses and validates model JSON.
    pub fn from_json(text: &str) -> Result<Model> {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            anyhow::anyhow!("not valid JSON ({e}); note that NaN and Infinity are not JSON numbers")
        })?;
        let obj = v.as_object().context("top level must be a JSON object")?;
        match obj.get("format").and_then(Value::as_str) {
            Some(FORMAT_TAG) => {}
            other => bail!("\"format\" must be \"{FORMAT_TAG}\", found {other:?}"),
        }
        match obj.get("version").and_then(Value::as_u64) {
            Some(v) if v == VERSION as u64 => {}
            Some(v) => bail!("unknown model file version {v} (this fpec reads version {VERSION})"),
            None => bail!("\"version\" is missing or not an integer"),
        }
        let layers = obj
            .get("layers")
            .and_then(Value::as_array)
            .context("\"layers\" is missing or not a list")?;
        let mut parsed = Vec::with_capacity(layers.len());
        for (i, l) in layers.iter().enumerate() {
            let ty = l
                .get("type")
                .and_then(Value::as_str)
                .with_context(|| format!("layer {i}: missing \"type\""))?;
            if !matches!(ty, "conv2d" | "dense" | "relu" | "maxpool2d") {
                bail!("layer {i}: unknown layer type \"{ty}\" (known: conv2d, dense, relu, maxpool2d)");
            }
            for key in ["weights", "bias"] {
                if let Some(arr) = l.get(key).and_then(Value::as_array) {
                    finite_check(ty, i, key, arr)?;
                }
            }
            let layer: Layer = serde_json::from_value(l.clone())
                .map_err(|e| anyhow::anyhow!("layer {i} ({ty}): {e}"))?;
            parsed.push(layer);
        }
        let input: [usize; 3] =
            serde_json::from_value(obj.get("input").cloned().context("\"input\" is missing")?)
                .map_err(|e| {
                    anyhow::anyhow!("\"input\" must be [C, H, W] of positive integers: {e}")
                })?;
        let m = Model {
            format: FORMAT_TAG.into(),
            version: VERSION,
            input,
            layers: parsed,
            meta: obj.get("meta").cloned(),
        };
        m.stages()?;
        Ok(m)
    }

    /// Serializes to pretty JSON (what `fpec dnn train` writes).
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)? + "\n")
    }

    /// Checks shapes and structure and groups layers into MAC stages.
    /// Rules: the first layer is conv2d or dense; each MAC layer may be
    /// followed by at most one relu and one maxpool2d (either order); the
    /// last MAC layer is dense with nothing after it.
    pub fn stages(&self) -> Result<Vec<Stage>> {
        let [c0, h0, w0] = self.input;
        if c0 == 0 || h0 == 0 || w0 == 0 {
            bail!("\"input\" {:?} must have positive dimensions", self.input);
        }
        let mut shape = self.input;
        let mut stages: Vec<Stage> = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            match l {
                Layer::Conv2d { .. } => {
                    let st = conv2d_stage(i, l, shape)?;
                    shape = st.out_shape;
                    stages.push(st);
                }
                Layer::Dense { .. } => {
                    let st = dense_stage(i, l, shape)?;
                    shape = st.out_shape;
                    stages.push(st);
                }
                Layer::Relu => {
                    let s = stages.last_mut().with_context(|| {
                        format!("layer {i} (relu): must follow a conv2d or dense layer")
                    })?;
                    if s.relu {
                        bail!("layer {i} (relu): two relu layers after one MAC layer");
                    }
                    s.relu = true;
                }
                Layer::MaxPool2d { size } => {
                    let s = stages.last_mut().with_context(|| {
                        format!("layer {i} (maxpool2d): must follow a conv2d or dense layer")
                    })?;
                    if s.pool.is_some() {
                        bail!("layer {i} (maxpool2d): two pooling layers after one MAC layer");
                    }
                    if *size == 0 || s.mac_shape[1] < *size || s.mac_shape[2] < *size {
                        bail!(
                            "layer {i} (maxpool2d): size {size} does not fit its input {:?}",
                            s.mac_shape
                        );
                    }
                    s.pool = Some(*size);
                    s.out_shape = [s.mac_shape[0], s.mac_shape[1] / size, s.mac_shape[2] / size];
                    shape = s.out_shape;
                }
            }
        }
        let last = stages
            .last()
            .context("the model has no conv2d or dense layer")?;
        if !matches!(self.layers[last.layer], Layer::Dense { .. }) {
            bail!("the last MAC layer must be dense (its outputs are the class scores)");
        }
        if last.relu || last.pool.is_some() || last.layer != self.layers.len() - 1 {
            bail!("the last layer must be the dense classifier (no relu/maxpool after it)");
        }
        Ok(stages)
    }

    /// Number of classes (outputs of the last layer).
    pub fn classes(&self) -> usize {
        match self.layers.last() {
            Some(Layer::Dense { out, .. }) => *out,
            _ => 0,
        }
    }

    /// Weights and bias of a MAC layer.
    pub fn params(&self, layer: usize) -> (&[f64], &[f64]) {
        match &self.layers[layer] {
            Layer::Conv2d { weights, bias, .. } | Layer::Dense { weights, bias, .. } => {
                (weights, bias)
            }
            _ => (&[], &[]),
        }
    }
}

/// The taps of a conv2d stage (stride, zero padding): every output
/// position and, for each, its in-bounds (weight index, input index) pairs.
/// The one walk of a conv shared by the float forward pass ([`mac_float`])
/// and training's backward pass, in the order (o, y, x), then (c, ky, kx).
pub(crate) struct ConvTaps {
    in_ch: usize,
    out_ch: usize,
    kernel: usize,
    padding: isize,
    stride: usize,
    in_hw: (usize, usize),
    out_hw: (usize, usize),
}

impl ConvTaps {
    /// The taps of stage `st`; `None` when its layer is not a conv.
    pub(crate) fn of(model: &Model, st: &Stage) -> Option<ConvTaps> {
        let Layer::Conv2d {
            in_ch,
            out_ch,
            kernel,
            padding,
            stride,
            ..
        } = &model.layers[st.layer]
        else {
            return None;
        };
        let [_, h, w] = st.in_shape;
        let [_, oh, ow] = st.mac_shape;
        Some(ConvTaps {
            in_ch: *in_ch,
            out_ch: *out_ch,
            kernel: *kernel,
            padding: *padding as isize,
            stride: *stride,
            in_hw: (h, w),
            out_hw: (oh, ow),
        })
    }

    /// Output values (channels x positions).
    pub(crate) fn out_len(&self) -> usize {
        self.out_ch * self.out_hw.0 * self.out_hw.1
    }

    /// Calls `f(o, (y, x), index)` for every output, `index` its place in
    /// the [O, OH, OW] map.
    pub(crate) fn for_each_output(&self, mut f: impl FnMut(usize, (usize, usize), usize)) {
        let (oh, ow) = self.out_hw;
        for o in 0..self.out_ch {
            for y in 0..oh {
                for x in 0..ow {
                    f(o, (y, x), (o * oh + y) * ow + x);
                }
            }
        }
    }

    /// Calls `f(weight index, input index)` for every in-bounds tap of
    /// output channel `o` at `(y, x)`.
    pub(crate) fn for_each_tap(
        &self,
        o: usize,
        (y, x): (usize, usize),
        mut f: impl FnMut(usize, usize),
    ) {
        let (h, wd) = self.in_hw;
        let (k, p, sd) = (self.kernel, self.padding, self.stride);
        for c in 0..self.in_ch {
            for ky in 0..k {
                let iy = (y * sd) as isize + ky as isize - p;
                if iy < 0 || iy >= h as isize {
                    continue;
                }
                for kx in 0..k {
                    let ix = (x * sd) as isize + kx as isize - p;
                    if ix < 0 || ix >= wd as isize {
                        continue;
                    }
                    f(
                        ((o * self.in_ch + c) * k + ky) * k + kx,
                        (c * h + iy as usize) * wd + ix as usize,
                    );
                }
            }
        }
    }
}

/// Float MAC layer: conv (stride, zero padding) or dense, plus bias.
pub fn mac_float(model: &Model, st: &Stage, x: &[f64]) -> Vec<f64> {
    let (w, b) = model.params(st.layer);
    if let Some(t) = ConvTaps::of(model, st) {
        let mut out = vec![0.0; t.out_len()];
        t.for_each_output(|o, pos, i| {
            let mut s = b[o];
            t.for_each_tap(o, pos, |wi, xi| s += w[wi] * x[xi]);
            out[i] = s;
        });
        return out;
    }
    match &model.layers[st.layer] {
        Layer::Dense { inp, out, .. } => (0..*out)
            .map(|o| b[o] + (0..*inp).map(|i| w[o * inp + i] * x[i]).sum::<f64>())
            .collect(),
        _ => Vec::new(),
    }
}

/// Max-pooling of a [C, H, W] map with window and stride `size`; also
/// returns, per output, the index of the chosen input (first maximum).
pub fn maxpool<T: PartialOrd + Copy>(
    x: &[T],
    shape: [usize; 3],
    size: usize,
) -> (Vec<T>, Vec<usize>) {
    let [c, h, w] = shape;
    let (oh, ow) = (h / size, w / size);
    let mut out = Vec::with_capacity(c * oh * ow);
    let mut arg = Vec::with_capacity(c * oh * ow);
    for ch in 0..c {
        for y in 0..oh {
            for xx in 0..ow {
                let mut bi = (ch * h + y * size) * w + xx * size;
                for dy in 0..size {
                    for dx in 0..size {
                        let i = (ch * h + y * size + dy) * w + xx * size + dx;
                        if x[i] > x[bi] {
                            bi = i;
                        }
                    }
                }
                out.push(x[bi]);
                arg.push(bi);
            }
        }
    }
    (out, arg)
}

/// Float forward pass. Returns the class scores and, per stage, its input.
pub fn forward_float(model: &Model, stages: &[Stage], img: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut x = img.to_vec();
    let mut inputs = Vec::with_capacity(stages.len());
    for st in stages {
        let mut z = mac_float(model, st, &x);
        if let Some(s) = st.pool {
            z = maxpool(&z, st.mac_shape, s).0;
        }
        if st.relu {
            z.iter_mut().for_each(|v| *v = v.max(0.0));
        }
        inputs.push(std::mem::replace(&mut x, z));
    }
    (x, inputs)
}

/// Index of the largest value (ties: lowest index).
pub fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// Float accuracy on a data set, in percent.
pub fn float_accuracy(model: &Model, data: &crate::dnn::data::Dataset) -> Result<f64> {
    let stages = model.stages()?;
    check_data(model, data)?;
    let ok = data
        .images
        .iter()
        .zip(&data.labels)
        .filter(|(img, &l)| argmax(&forward_float(model, &stages, img).0) == l as usize)
        .count();
    Ok(100.0 * ok as f64 / data.len().max(1) as f64)
}

/// Checks that a data set fits a model (input shape, class count).
pub fn check_data(model: &Model, data: &crate::dnn::data::Dataset) -> Result<()> {
    data.check_fits(model.input, model.classes())
}

/// The stage of conv2d layer `i` (`l`) on an input of `shape`.
fn conv2d_stage(i: usize, l: &Layer, shape: [usize; 3]) -> Result<Stage> {
    let Layer::Conv2d {
        in_ch,
        out_ch,
        kernel,
        padding,
        stride,
        weights,
        bias,
    } = l
    else {
        bail!("internal: layer {i} is not conv2d");
    };
    if *in_ch != shape[0] {
        bail!(
            "layer {i} (conv2d): in_ch = {in_ch} but its input has {} channels (shape {:?})",
            shape[0],
            shape
        );
    }
    if *out_ch == 0 || *kernel == 0 || *stride == 0 {
        bail!("layer {i} (conv2d): out_ch, kernel and stride must be positive");
    }
    if *padding >= *kernel {
        bail!("layer {i} (conv2d): padding {padding} must be below kernel {kernel}");
    }
    let want = out_ch * in_ch * kernel * kernel;
    if weights.len() != want {
        bail!("layer {i} (conv2d): weights has {} values, expected out_ch*in_ch*kernel*kernel = {want}", weights.len());
    }
    if bias.len() != *out_ch {
        bail!(
            "layer {i} (conv2d): bias has {} values, expected out_ch = {out_ch}",
            bias.len()
        );
    }
    let (h, w) = (shape[1] + 2 * padding, shape[2] + 2 * padding);
    if h < *kernel || w < *kernel {
        bail!("layer {i} (conv2d): kernel {kernel} larger than padded input {h}x{w}");
    }
    let out = [
        *out_ch,
        (h - kernel) / stride + 1,
        (w - kernel) / stride + 1,
    ];
    Ok(Stage {
        layer: i,
        in_shape: shape,
        mac_shape: out,
        out_shape: out,
        relu: false,
        pool: None,
    })
}

/// The stage of dense layer `i` (`l`) on an input of `shape`.
fn dense_stage(i: usize, l: &Layer, shape: [usize; 3]) -> Result<Stage> {
    let Layer::Dense {
        inp,
        out,
        weights,
        bias,
    } = l
    else {
        bail!("internal: layer {i} is not dense");
    };
    let n: usize = shape.iter().product();
    if *inp != n {
        bail!("layer {i} (dense): in = {inp} but its input has {n} values (shape {shape:?})");
    }
    if *out == 0 {
        bail!("layer {i} (dense): out must be positive");
    }
    if weights.len() != inp * out {
        bail!(
            "layer {i} (dense): weights has {} values, expected in*out = {}",
            weights.len(),
            inp * out
        );
    }
    if bias.len() != *out {
        bail!(
            "layer {i} (dense): bias has {} values, expected out = {out}",
            bias.len()
        );
    }
    let o = [*out, 1, 1];
    Ok(Stage {
        layer: i,
        in_shape: [n, 1, 1],
        mac_shape: o,
        out_shape: o,
        relu: false,
        pool: None,
    })
}
