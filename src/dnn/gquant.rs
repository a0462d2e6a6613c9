//! Bit-exact inference over a [`Graph`] (spec 9, revised): tensors held as
//! words or as sums (s, F, d), MAC layers as section-4 dot products over
//! their receptive fields (grouped conv: the channels of the group; padding
//! positions hold the encoding of 0.0), bias in sum units, Relu/Clip/pools/
//! Add/Concat/Slice/Pad on sums exactly, requantization (with the divisor d)
//! where sums feed a MAC layer, class = argmax of the last tensor's sums.
//!
//! Ways to compute the dot products, always the same integers:
//! - the **reference** ([`Engine::Reference`]): [`golden::dot`] per output;
//! - the **int8** kernels ([`crate::dnn::int8`], chosen by [`Engine::Gemm`]
//!   for a one-group layer with a byte layout: FxP W <= 15 and FPEC
//!   W <= 8, [`crate::dnn::int8::LaneCode`]): the input
//!   requantized a channel plane at a time (branch-free, vectorized) into a
//!   padded NHWC byte image, then a direct convolution with AVX-512 VNNI
//!   (exact i32 sums); [`Engine::Int8Portable`] runs the same layout with a
//!   scalar kernel (CPUs without VNNI keep the float GEMM under `Gemm`);
//! - the **float GEMM** ([`Engine::FloatGemm`], and `Gemm` elsewhere): per
//!   image and group an im2col matrix of lanes, activations as
//!   `[q*2^G + est, q]` (FxP: `[q]`) and weights as `[q, est]` (FxP: `[q]`),
//!   so every sum `Qw.(2^G Qa + Ea) + Ew.Qa` is one matrix product of
//!   integers, run by `matrixmultiply`'s sgemm (f32) when
//!   len * max|term| < 2^24, else dgemm (f64) over K blocks with
//!   block * max|term| < 2^53, each block's result added in i64: every
//!   partial sum is an integer below the format's exact range, so the
//!   products are exact whatever the summation order ([`gemm_plan`]).
//!
//! Images run in parallel (rayon); memory is bounded by the batch the
//! caller passes ([`BATCH`] for a [`Source`]). A tensor used for the last
//! time is moved into its consumer, so Relu/Clip/Add work in place.
//!
//! Formats come from a [`QuantConfig`] whose stage `i` is the i-th MAC node
//! in graph order (for a version-1 layer list: stage i, as [`crate::dnn::quant`]).
//!
//! Per-channel weight formats ([`WeightFb::PerChannel`], spec 9): FBw per
//! output channel, so a MAC layer's sums have F per channel. They are held
//! aligned to the layer's largest F by exact left shifts (bias added at the
//! channel's own F first): every value, hence every Add/Concat alignment,
//! requantization and argmax, is spec 9's per-channel result; a Clip after
//! per-channel sums rounds its bound at each channel's own F (`clip_caps`).

use crate::dnn::data::{Dataset, Source};
use crate::dnn::graph::{for_windows, pad_map, slice_map, Graph, Op, Plan, IN_IDX};
use crate::dnn::int8::{Geometry, Int8Conv, LaneCode};
use crate::dnn::model::argmax;
use crate::dnn::quant::{
    evaluate_images, DotRecord, LayerStats, QuantConfig, QuantEval, StageFormats,
};
use crate::format::{Format, Split};
use crate::golden::{self, bias_to_sum, encode_full, requant_div, Operand, Word};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;

/// How dot products are computed (same integers every way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// [`golden::dot`] per output.
    Reference,
    /// The fastest exact kernel per layer: the int8 convolution
    /// ([`crate::dnn::int8`], AVX-512 VNNI) where the lanes fit in bytes and
    /// the CPU has VNNI, else im2col + float matrix products.
    Gemm,
    /// im2col + float matrix products only (sgemm/dgemm).
    FloatGemm,
    /// The int8 layout with its portable scalar kernel (tests; where the
    /// lanes do not fit in bytes, the float GEMM).
    Int8Portable,
}

impl Engine {
    fn gemm(self) -> bool {
        self != Engine::Reference
    }
}

/// Padding marker in receptive-field tables.
const PAD: u32 = u32::MAX;

/// A tensor during inference.
#[derive(Debug, Clone)]
enum Val {
    /// Encoded words in one format.
    Words(Format, Vec<Word>),
    /// Exact sums: value = s / (d * 2^f).
    Sums(Vec<i64>, i32, i64),
}

/// A node input: moved in (its last use) or borrowed.
enum In<'a> {
    Own(Val),
    Ref(&'a Val),
}

impl In<'_> {
    fn val(&self) -> &Val {
        match self {
            In::Own(v) => v,
            In::Ref(v) => v,
        }
    }

    fn into_val(self) -> Val {
        match self {
            In::Own(v) => v,
            In::Ref(v) => v.clone(),
        }
    }

    /// (F, d) of the tensor as sums.
    fn scale(&self) -> (i32, i64) {
        match self.val() {
            Val::Sums(_, f, d) => (*f, *d),
            Val::Words(fmt, _) => (fmt.fb + fmt.split.g() as i32, 1),
        }
    }
}

/// Static form of a node's output (checked at construction).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Words(Format),
    Sums(i32, i64),
}

/// A MAC node ready to run.
#[derive(Debug, Clone)]
struct QMac {
    node: usize,
    fmt: StageFormats,
    /// Output scale F = FBw + FBa + G (per-channel weight formats: the
    /// largest channel's; channel c's sums are shifted left by `shift[c]`).
    f: i32,
    /// Per output channel: F minus the channel's own F (empty: per tensor).
    shift: Vec<u32>,
    w_words: Vec<Word>,
    w_ops: Vec<Operand>,
    bias: Vec<i64>,
    /// Dot length (per group).
    len: usize,
    out_ch: usize,
    groups: usize,
    /// Output positions per channel.
    npos: usize,
    /// Conv: per position, `len` input indices of group 0 (or [`PAD`]);
    /// dense: empty (identity).
    rf: Vec<u32>,
    /// Input elements per group (offset of group g = g * group_stride).
    group_stride: usize,
    w_sat: u64,
    /// GEMM lanes (1 FxP, 2 FPEC) and weights `[out][len * lanes]`; empty
    /// when the layer runs on the reference.
    lanes: usize,
    /// Weights `[out][len * lanes]` as f32 (sgemm) or f64 (dgemm, `kb > 0`).
    wl32: Vec<f32>,
    wl64: Vec<f64>,
    /// dgemm K block in pairs (0: sgemm).
    kb: usize,
    /// Per group and k: how many of the group's weight rows have Z & ezb at k.
    wz_sum: Vec<u64>,
    /// The byte layout of the int8 kernels (one group, lanes in bytes).
    int8: Option<Int8Conv>,
}

/// How the GEMM engine runs a layer of `split` with dot length `len`:
/// `Some(0)` sgemm in one block (len * max|term| < 2^24), `Some(kb)` dgemm
/// in K blocks of `kb` pairs (kb * max|term| < 2^53), `None` not at all.
/// max|term| bounds |qw * (2^G qa + ea) + ew * qa| (|q| <= 2^(W-1), |est| <= 7).
pub fn gemm_plan(split: &Split, len: usize) -> Option<usize> {
    let g = split.g();
    let q = 1u64 << (split.w - 1);
    let est = if split.is_fxp() { 0 } else { 7 };
    let term = q * ((q << g) + est) + est * q;
    if (len as u64).saturating_mul(term) < (1u64 << 24) {
        return Some(0);
    }
    let kb = ((1u64 << 53) - 1) / term;
    (kb >= 1).then(|| (kb as usize).min(len.max(1)))
}

/// The graph quantized under one configuration.
#[derive(Debug, Clone)]
pub struct QuantGraph {
    /// The configuration (stage i = i-th MAC node).
    pub cfg: QuantConfig,
    graph: Graph,
    plan: Plan,
    macs: Vec<QMac>,
    /// Per node: its MAC index.
    mac_of: Vec<Option<usize>>,
    kinds: Vec<Kind>,
    in_fmt: Format,
    classes: usize,
    engine: Engine,
    /// Per node: the index map of a Slice or Pad (built once).
    maps: Vec<Option<Vec<Option<usize>>>>,
    /// Per Clip node after a per-channel MAC layer: its bound per channel.
    clip_caps: Vec<Option<Vec<i64>>>,
}

/// Per-image scratch of statistics, one per MAC.
type Stats = Vec<LayerStats>;

/// One image part-way through the graph: the encoded input and the
/// tensors still to be read, with their remaining uses.
#[derive(Debug, Clone)]
struct State {
    input: Val,
    vals: Vec<Option<Val>>,
    left: Vec<usize>,
}

/// Images run up to a MAC layer's node under one configuration
/// ([`QuantGraph::cut`]), for the threshold trials of that layer.
#[derive(Debug, Clone)]
pub struct Cut {
    stage: usize,
    node: usize,
    prefix: Vec<StageFormats>,
    split: Split,
    states: Vec<State>,
}

impl QuantGraph {
    /// Encodes weights and biases and checks the graph's scales statically.
    pub fn new(graph: &Graph, cfg: &QuantConfig, engine: Engine) -> Result<Self> {
        let plan = graph.plan()?;
        if plan.macs.len() != cfg.stages.len() {
            bail!(
                "configuration has {} stages, the model {} MAC layers",
                cfg.stages.len(),
                plan.macs.len()
            );
        }
        let split = cfg.split;
        let g = split.g() as i32;
        let mut mac_of = vec![None; graph.nodes.len()];
        let mut macs = Vec::new();
        for (i, (&ni, fmt)) in plan.macs.iter().zip(&cfg.stages).enumerate() {
            if fmt.w.split != split || fmt.a.split != split {
                bail!("stage {i}: formats must use the shared split {split}");
            }
            mac_of[ni] = Some(i);
            let chan = cfg.w_channel_fb.get(i).filter(|c| !c.is_empty());
            macs.push(build_mac(graph, &plan, ni, fmt, chan, g, engine)?);
        }
        // A tensor feeding several MAC layers has one format.
        for (i, m) in macs.iter().enumerate() {
            let src = plan.inputs[m.node][0];
            if let Some(o) = macs[..i].iter().find(|o| plan.inputs[o.node][0] == src) {
                if o.fmt.a != m.fmt.a {
                    bail!(
                        "node \"{}\" and node \"{}\" read one tensor in two activation formats",
                        graph.nodes[o.node].name,
                        graph.nodes[m.node].name
                    );
                }
            }
        }
        let in_fmt = cfg.stages[0].a;
        let kinds = static_kinds(graph, &plan, &macs, &mac_of, in_fmt)?;
        let clip_caps = clip_caps(graph, &plan, &macs, &mac_of, &kinds);
        let out_len: usize = plan.shapes[plan.output].iter().product();
        let maps = graph
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let shape = plan.in_shapes[i].first().copied().unwrap_or([0; 3]);
                match &n.op {
                    Op::Slice { ranges } => {
                        Some(slice_map(shape, ranges).into_iter().map(Some).collect())
                    }
                    Op::Pad { pads } => Some(pad_map(shape, pads)),
                    _ => None,
                }
            })
            .collect();
        Ok(QuantGraph {
            maps,
            clip_caps,
            cfg: cfg.clone(),
            classes: out_len,
            graph: graph.clone(),
            plan,
            macs,
            mac_of,
            kinds,
            in_fmt,
            engine,
        })
    }

    /// MACs per inference, per MAC layer.
    pub fn macs(&self) -> Vec<u64> {
        self.macs
            .iter()
            .map(|m| (m.out_ch * m.npos * m.len) as u64)
            .collect()
    }

    /// MAC layers laid out for the int8 kernels (the others run on the
    /// float GEMM or the reference).
    pub fn int8_layers(&self) -> usize {
        self.macs.iter().filter(|m| m.int8.is_some()).count()
    }

    /// Number of MAC layers.
    pub fn num_stages(&self) -> usize {
        self.macs.len()
    }

    /// Per MAC layer: formats and output F.
    pub fn stage_info(&self) -> Vec<(StageFormats, i32)> {
        self.macs.iter().map(|m| (m.fmt, m.f)).collect()
    }

    /// The state of one image before node 0: the encoded input.
    fn start(&self, img: &[f64], stats: &mut Stats) -> Result<State> {
        let mut input_words = Vec::with_capacity(img.len());
        for &x in img {
            let r = encode_full(x, &self.in_fmt).context("input pixel")?;
            stats[0].act_saturations += r.saturated as u64;
            input_words.push(r.word);
        }
        stats[0].activations += img.len() as u64;
        Ok(State {
            input: Val::Words(self.in_fmt, input_words),
            vals: vec![None; self.graph.nodes.len()],
            left: self.plan.uses.clone(),
        })
    }

    /// Runs one image: the class, stats accumulated; `export` records the
    /// dot products it asks for (those layers on the reference path).
    fn run(
        &self,
        img: &[f64],
        stats: &mut Stats,
        pair_stats: bool,
        export: Option<&mut DotSink>,
    ) -> Result<(usize, Vec<i64>)> {
        let state = self.start(img, stats)?;
        self.finish(state, 0, stats, pair_stats, export)
    }

    /// Runs nodes `from..` of an image's `state`: the class and the last
    /// tensor's sums.
    fn finish(
        &self,
        mut state: State,
        from: usize,
        stats: &mut Stats,
        pair_stats: bool,
        mut export: Option<&mut DotSink>,
    ) -> Result<(usize, Vec<i64>)> {
        for i in from..self.graph.nodes.len() {
            self.step(i, &mut state, stats, pair_stats, &mut export)?;
        }
        let last = state.vals[self.plan.output]
            .take()
            .context("internal: no output tensor")?;
        let (s, _, _) = self.to_sums(&last);
        Ok((argmax(&s[..self.classes.min(s.len())]), s))
    }

    /// Runs node `i` on `state`, freeing the tensors it used last.
    fn step(
        &self,
        i: usize,
        state: &mut State,
        stats: &mut Stats,
        pair_stats: bool,
        export: &mut Option<&mut DotSink>,
    ) -> Result<()> {
        let inputs = &self.plan.inputs[i];
        let State { input, vals, left } = state;
        // An input this node uses for the last time (and only once) is
        // moved in, so elementwise ops work in place.
        let mut owned: Vec<Option<Val>> = inputs
            .iter()
            .map(|&j| {
                let once = inputs.iter().filter(|&&x| x == j).count() == 1;
                if j != IN_IDX && left[j] == 1 && once {
                    vals[j].take()
                } else {
                    None
                }
            })
            .collect();
        let out = {
            let mut ins: Vec<In> = Vec::with_capacity(inputs.len());
            for (slot, &j) in owned.iter_mut().zip(inputs) {
                ins.push(match slot.take() {
                    Some(v) => In::Own(v),
                    None if j == IN_IDX => In::Ref(&*input),
                    None => In::Ref(
                        vals[j]
                            .as_ref()
                            .context("internal: tensor freed too early")?,
                    ),
                });
            }
            if let Some(k) = self.mac_of[i] {
                let ex = match export {
                    Some(sink) if sink.steps[k] > 0 => Some(DotTap {
                        image: sink.image,
                        step: sink.steps[k],
                        sink: &mut sink.records[k],
                    }),
                    _ => None,
                };
                self.run_mac(k, ins[0].val(), &mut stats[k], pair_stats, ex)?
            } else {
                self.run_op(i, &self.graph.nodes[i].op, ins)
            }
        };
        vals[i] = Some(out);
        for &j in inputs {
            if j != IN_IDX {
                left[j] -= 1;
                if left[j] == 0 {
                    vals[j] = None;
                }
            }
        }
        Ok(())
    }

    /// Every image of `data` run up to (not including) MAC `s`'s node: the
    /// tensors alive there. Nothing before that node depends on the
    /// formats of stage `s` or later, so a trial that differs from this
    /// configuration only there resumes from it ([`Self::count_correct_from`]).
    pub fn cut(&self, s: usize, data: &Dataset) -> Result<Cut> {
        let node = *self.plan.macs.get(s).context("cut: no such MAC layer")?;
        let n = self.macs.len();
        let states = data
            .images
            .par_iter()
            .map(|img| {
                let mut st = vec![LayerStats::default(); n];
                let mut state = self.start(img, &mut st)?;
                for i in 0..node {
                    self.step(i, &mut state, &mut st, false, &mut None)?;
                }
                Ok(state)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Cut {
            stage: s,
            node,
            prefix: self.cfg.stages[..s].to_vec(),
            split: self.cfg.split,
            states,
        })
    }

    /// Whether `cut` (taken on `n` images) applies to this configuration:
    /// same split, same formats before its stage, stage > 0.
    fn cut_applies(&self, cut: &Cut, n: usize) -> bool {
        cut.stage > 0
            && cut.split == self.cfg.split
            && self.cfg.stages.get(..cut.stage) == Some(&cut.prefix[..])
            && cut.states.len() == n
            && self.plan.macs.get(cut.stage) == Some(&cut.node)
    }

    /// [`Self::count_correct`] resumed from `cut` (taken on the same
    /// `data`): the same count as a full run. A cut that does not apply
    /// (another split, other formats before its stage, stage 0, another
    /// number of images) is ignored and the images run in full.
    pub fn count_correct_from(&self, data: &Dataset, cut: &Cut) -> Result<usize> {
        if !self.cut_applies(cut, data.len()) {
            return self.count_correct(data);
        }
        (0..data.len())
            .into_par_iter()
            .map(|i| {
                let (c, _) = self.resume(cut, i)?;
                Ok((c == data.labels[i] as usize) as usize)
            })
            .sum::<Result<usize>>()
    }

    /// [`Self::logits`] of image `i` of the cut's data, resumed from `cut`
    /// (`None` when the cut does not apply).
    pub fn logits_from(&self, cut: &Cut, i: usize) -> Result<Option<(usize, Vec<i64>)>> {
        if !self.cut_applies(cut, cut.states.len()) || i >= cut.states.len() {
            return Ok(None);
        }
        self.resume(cut, i).map(Some)
    }

    fn resume(&self, cut: &Cut, i: usize) -> Result<(usize, Vec<i64>)> {
        let mut st = vec![LayerStats::default(); self.macs.len()];
        self.finish(cut.states[i].clone(), cut.node, &mut st, false, None)
    }

    /// The sums of the first input, moved when owned.
    fn take_sums(&self, ins: Vec<In>) -> (Vec<i64>, i32, i64) {
        match ins.into_iter().next() {
            Some(In::Own(Val::Sums(s, f, d))) => (s, f, d),
            Some(x) => self.to_sums(x.val()),
            None => (Vec::new(), 0, 1),
        }
    }

    fn to_sums(&self, v: &Val) -> (Vec<i64>, i32, i64) {
        match v {
            Val::Sums(s, f, d) => (s.clone(), *f, *d),
            Val::Words(fmt, w) => words_to_sums(fmt, w),
        }
    }

    /// Clip(0, max) of node `i` (input shape `shape`): its bound at the
    /// tensor's F, or per channel after a per-channel MAC layer.
    fn clip(&self, i: usize, max: f64, shape: [usize; 3], ins: Vec<In>) -> Val {
        let (mut s, f, d) = self.take_sums(ins);
        // c * d is exact in f64 (c from float32, d < 2^29).
        let cap = bias_to_sum(max * d as f64, f).unwrap_or(i64::MAX);
        match &self.clip_caps[i] {
            Some(caps) => {
                let per = (shape[1] * shape[2]).max(1);
                for (c, part) in s.chunks_mut(per).enumerate() {
                    let cap = caps.get(c).copied().unwrap_or(cap);
                    part.iter_mut().for_each(|v| *v = (*v).max(0).min(cap));
                }
            }
            None => s.iter_mut().for_each(|v| *v = (*v).max(0).min(cap)),
        }
        Val::Sums(s, f, d)
    }

    /// Non-MAC nodes.
    fn run_op(&self, i: usize, op: &Op, ins: Vec<In>) -> Val {
        let shape = self.plan.in_shapes[i].first().copied().unwrap_or([0; 3]);
        let out = self.plan.shapes[i];
        match op {
            Op::Identity | Op::Flatten => ins
                .into_iter()
                .next()
                .map_or(Val::Sums(Vec::new(), 0, 1), In::into_val),
            Op::Slice { .. } | Op::Pad { .. } => {
                let empty = Vec::new();
                let map = self.maps[i].as_ref().unwrap_or(&empty);
                match ins[0].val() {
                    Val::Words(f, w) => {
                        let zero = encode_full(0.0, f).map(|r| r.word).unwrap_or_default();
                        Val::Words(*f, map.iter().map(|j| j.map_or(zero, |j| w[j])).collect())
                    }
                    Val::Sums(s, f, d) => {
                        Val::Sums(map.iter().map(|j| j.map_or(0, |j| s[j])).collect(), *f, *d)
                    }
                }
            }
            Op::Relu => {
                let (mut s, f, d) = self.take_sums(ins);
                s.iter_mut().for_each(|v| *v = (*v).max(0));
                Val::Sums(s, f, d)
            }
            Op::Clip { max } => self.clip(i, *max, shape, ins),
            Op::MaxPool {
                kernel,
                stride,
                pads,
            }
            | Op::AvgPool {
                kernel,
                stride,
                pads,
            } => {
                let (s, f, d) = self.take_sums(ins);
                let avg = matches!(op, Op::AvgPool { .. });
                let [c, h, w] = shape;
                let mut y = Vec::with_capacity(out.iter().product());
                let mut count = 1;
                for ch in 0..c {
                    let base = ch * h * w;
                    for_windows(
                        [h, w],
                        [out[1], out[2]],
                        *kernel,
                        *stride,
                        *pads,
                        |_, _, it| {
                            let (mut m, mut sum, mut n) = (i64::MIN, 0i64, 0i64);
                            for j in it {
                                m = m.max(s[base + j]);
                                sum += s[base + j];
                                n += 1;
                            }
                            count = n;
                            y.push(if avg { sum } else { m });
                        },
                    );
                }
                Val::Sums(y, f, if avg { d * count } else { d })
            }
            Op::GlobalAvgPool => {
                let (s, f, d) = self.take_sums(ins);
                let hw = shape[1] * shape[2];
                Val::Sums(
                    s.chunks(hw).map(|c| c.iter().sum()).collect(),
                    f,
                    d * hw as i64,
                )
            }
            Op::Add | Op::Concat => {
                let scales: Vec<(i32, i64)> = ins.iter().map(|v| v.scale()).collect();
                let fmax = scales.iter().map(|p| p.0).max().unwrap_or(0);
                let d = scales.first().map_or(1, |p| p.1);
                let mut parts = ins.into_iter();
                if matches!(op, Op::Add) {
                    let n: usize = out.iter().product();
                    let (mut acc, f0, _) = match parts.next() {
                        Some(p) => self.take_sums(vec![p]),
                        None => (vec![0; n], fmax, d),
                    };
                    if f0 != fmax {
                        let sh = fmax - f0;
                        acc.iter_mut().for_each(|a| *a <<= sh);
                    }
                    for p in parts {
                        let sh = fmax - p.scale().0;
                        match p.val() {
                            Val::Sums(s, _, _) => {
                                for (a, &v) in acc.iter_mut().zip(s) {
                                    *a += v << sh;
                                }
                            }
                            w @ Val::Words(..) => {
                                let (s, _, _) = self.to_sums(w);
                                for (a, &v) in acc.iter_mut().zip(&s) {
                                    *a += v << sh;
                                }
                            }
                        }
                    }
                    Val::Sums(acc, fmax, d)
                } else {
                    let mut all = Vec::new();
                    for p in parts {
                        let (s, f, _) = self.take_sums(vec![p]);
                        all.extend(s.into_iter().map(|v| v << (fmax - f)));
                    }
                    Val::Sums(all, fmax, d)
                }
            }
            Op::Conv { .. } | Op::Dense { .. } => Val::Sums(Vec::new(), 0, 1),
        }
    }

    /// The input of MAC `k` as words in its activation format (requantizing
    /// sums, or words of another format, once).
    fn mac_input(&self, k: usize, v: &Val, st: &mut LayerStats) -> Vec<Word> {
        let fmt = self.macs[k].fmt.a;
        if let Val::Words(f, w) = v {
            if *f == fmt {
                return w.clone();
            }
        }
        let (s, f, d) = self.to_sums(v);
        st.activations += s.len() as u64;
        let fast = self.engine.gemm();
        s.iter()
            .map(|&x| {
                let r = if fast {
                    requant_fast(x, f, d, &fmt)
                } else {
                    requant_div(x, f, d, &fmt)
                };
                st.act_saturations += r.saturated as u64;
                r.word
            })
            .collect()
    }

    /// The input of MAC `k` as the int8 kernels' padded byte image (and,
    /// with `zmap`, the ezb flag of every padded pixel and channel,
    /// `[c][hp][wp]`), requantizing sums as [`Self::mac_input`] does.
    fn int8_input(
        &self,
        k: usize,
        cv: &Int8Conv,
        v: &Val,
        st: &mut LayerStats,
        zmap: bool,
    ) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
        let fmt = self.macs[k].fmt.a;
        let split = fmt.split;
        let code = cv.code;
        let lanes = |o: &Operand| -> [u8; 2] { code.bytes(o.q, o.est) };
        let pad_w = encode_full(0.0, &fmt).context("padding")?.word;
        let pad_o = Operand::of(&split, &pad_w);
        let mut buf = cv.new_buffer(lanes(&pad_o));
        let mut z = zmap.then(|| vec![pad_o.zero as u8; cv.c * cv.hp * cv.wp]);
        let (c, h, w) = (cv.c, cv.h, cv.w);
        let l2 = cv.lanes == 2;
        // Element (ch, y, x) of the NCHW tensor, in that order.
        let put = |buf: &mut [u8],
                   z: &mut Option<Vec<u8>>,
                   at: usize,
                   zat: usize,
                   l: [u8; 2],
                   zero: bool| {
            buf[at] = l[0];
            if l2 {
                buf[at + 1] = l[1];
            }
            if let Some(z) = z.as_mut() {
                z[zat] = zero as u8;
            }
        };
        let src_words = match v {
            Val::Words(f, w) if *f == fmt => Some(w),
            _ => None,
        };
        let sums: Option<(std::borrow::Cow<[i64]>, i32, i64)> = match v {
            _ if src_words.is_some() => None,
            Val::Sums(s, f, d) => Some((std::borrow::Cow::Borrowed(&s[..]), *f, *d)),
            Val::Words(..) => {
                let (s, f, d) = self.to_sums(v);
                Some((std::borrow::Cow::Owned(s), f, d))
            }
        };
        if let Some((s, _, _)) = &sums {
            st.activations += s.len() as u64;
        }
        let rq = sums.as_ref().map(|(_, f, d)| Requant::new(*f, *d, &fmt));
        let mut sat = 0u64;
        let hw = h * w;
        let (mut t0, mut t1, mut tz) = (vec![0u8; hw], vec![0u8; hw], vec![0u8; hw]);
        for ch in 0..c {
            let plane = ch * hw..(ch + 1) * hw;
            let fast = match (&sums, &rq) {
                (Some((s, _, _)), Some(rq)) if rq.fast => {
                    rq.plane(&s[plane.clone()], [&mut t0, &mut t1, &mut tz], &code)
                }
                _ => None,
            };
            if let Some(n) = fast {
                sat += n;
                for y in 0..h {
                    let at0 = cv.index(ch, y, 0);
                    let row = y * w..(y + 1) * w;
                    for (x, (&a, &b)) in t0[row.clone()].iter().zip(&t1[row.clone()]).enumerate() {
                        buf[at0 + x * cv.cp] = a;
                        if l2 {
                            buf[at0 + x * cv.cp + 1] = b;
                        }
                    }
                    if let Some(z) = z.as_mut() {
                        let zat0 = (ch * cv.hp + y + cv.pt) * cv.wp + cv.pl;
                        z[zat0..zat0 + w].copy_from_slice(&tz[row]);
                    }
                }
                continue;
            }
            for y in 0..h {
                let e0 = (ch * h + y) * w;
                let at0 = cv.index(ch, y, 0);
                let zat0 = (ch * cv.hp + y + cv.pt) * cv.wp + cv.pl;
                for x in 0..w {
                    let (at, zat) = (at0 + x * cv.cp, zat0 + x);
                    let o = match (src_words, &sums, &rq) {
                        (Some(ws), _, _) => Operand::of(&split, &ws[e0 + x]),
                        (None, Some((s, _, _)), Some(rq)) => {
                            let (o, st) = rq.operand(s[e0 + x]);
                            sat += st as u64;
                            o
                        }
                        _ => Operand::default(),
                    };
                    put(&mut buf, &mut z, at, zat, lanes(&o), o.zero);
                }
            }
        }
        st.act_saturations += sat;
        Ok((buf, z))
    }

    fn run_mac(
        &self,
        k: usize,
        v: &Val,
        st: &mut LayerStats,
        pair_stats: bool,
        export: Option<DotTap>,
    ) -> Result<Val> {
        let m = &self.macs[k];
        let split = self.cfg.split;
        if let (Some(cv), None) = (&m.int8, &export) {
            let vnni = self.engine == Engine::Gemm;
            if !vnni || Int8Conv::vnni_available() || m.lanes == 0 {
                let count_sparse = pair_stats && split.z();
                let (buf, zmap) = self.int8_input(k, cv, v, st, count_sparse)?;
                let mut sums = cv.run(&buf, vnni, &m.bias);
                m.align(&mut sums);
                if let Some(z) = zmap {
                    st.sparse_pairs += int8_sparse(m, cv, &z);
                }
                st.pairs += (m.out_ch * m.npos * m.len) as u64;
                return Ok(Val::Sums(sums, m.f, 1));
            }
        }
        let words = self.mac_input(k, v, st);
        let pad_w = encode_full(0.0, &m.fmt.a).context("padding")?.word;
        let mut sums = vec![0i64; m.out_ch * m.npos];
        let count_sparse = pair_stats && split.z();
        if m.lanes > 0 && export.is_none() {
            gemm_mac(
                m,
                &split,
                &words,
                pad_w,
                &mut sums,
                count_sparse.then_some(&mut *st),
            );
        } else {
            reference_mac(
                m,
                &split,
                &words,
                pad_w,
                &mut sums,
                count_sparse.then_some(&mut *st),
                export,
            );
        }
        st.pairs += (m.out_ch * m.npos * m.len) as u64;
        for (i, s) in sums.iter_mut().enumerate() {
            *s += m.bias[i / m.npos];
        }
        m.align(&mut sums);
        Ok(Val::Sums(sums, m.f, 1))
    }

    /// Accuracy and statistics on `data` (parallel over images, in batches
    /// of `batch` images; the result does not depend on either).
    pub fn evaluate(&self, data: &Dataset) -> Result<QuantEval> {
        self.eval_impl(data, true)
    }

    /// Correctly classified images (no pair statistics).
    pub fn count_correct(&self, data: &Dataset) -> Result<usize> {
        Ok(self.eval_impl(data, false)?.correct)
    }

    fn eval_impl(&self, data: &Dataset, pair_stats: bool) -> Result<QuantEval> {
        evaluate_images(data, self.macs.iter().map(|m| m.w_sat), |img, st| {
            Ok(self.run(img, st, pair_stats, None)?.0)
        })
    }

    /// The last tensor's sums for one image (and its class).
    pub fn logits(&self, img: &[f64]) -> Result<(usize, Vec<i64>)> {
        let mut st = vec![LayerStats::default(); self.macs.len()];
        self.run(img, &mut st, false, None)
    }

    /// Every dot product of MAC `k` over `images` (packed words, sum before
    /// bias), ordered by image then output index `[out][pos]`.
    pub fn layer_dot_products(&self, k: usize, images: &[Vec<f64>]) -> Result<Vec<DotRecord>> {
        if k >= self.macs.len() {
            bail!(
                "layer {k} does not exist: the model has {} MAC layers (0..={})",
                self.macs.len(),
                self.macs.len().saturating_sub(1)
            );
        }
        let mut steps = vec![0; self.macs.len()];
        steps[k] = 1;
        Ok(self.record_dots(images, steps)?.swap_remove(k))
    }

    /// Of every MAC layer, at most `max_dots` of its dot products over
    /// `images`, evenly spaced: with n = images x outputs of the layer, the
    /// ones whose index in (image, output) order is a multiple of
    /// ceil(n / max_dots), i.e. `layer_dot_products(k, images)` stepped by
    /// that step, from one run per image.
    pub fn sampled_dot_products(
        &self,
        images: &[Vec<f64>],
        max_dots: usize,
    ) -> Result<Vec<Vec<DotRecord>>> {
        let steps = self
            .macs
            .iter()
            .map(|m| {
                let n = images.len() * m.out_ch * m.npos;
                n.div_ceil(max_dots.max(1)).max(1)
            })
            .collect();
        self.record_dots(images, steps)
    }

    /// One run per image on the reference path of the layers with a
    /// nonzero step, recording their dot products sampled by it
    /// ([`DotSink`]), each layer's sorted by (image, output). The images
    /// run in parallel, each into its own sink.
    fn record_dots(&self, images: &[Vec<f64>], steps: Vec<usize>) -> Result<Vec<Vec<DotRecord>>> {
        let per_image: Vec<Vec<Vec<DotRecord>>> = images
            .par_iter()
            .enumerate()
            .map(|(i, img)| {
                let mut sink = DotSink {
                    image: i,
                    records: vec![Vec::new(); steps.len()],
                    steps: steps.clone(),
                };
                let mut st = vec![LayerStats::default(); self.macs.len()];
                self.run(img, &mut st, false, Some(&mut sink))?;
                Ok(sink.records)
            })
            .collect::<Result<_>>()?;
        let mut records: Vec<Vec<DotRecord>> = vec![Vec::new(); steps.len()];
        for img in per_image {
            for (k, r) in img.into_iter().enumerate() {
                records[k].extend(r);
            }
        }
        for r in &mut records {
            r.sort_by_key(|r| (r.image, r.output));
        }
        Ok(records)
    }

    /// Static form of a node's output (for tests and reports): `None` for
    /// words, else (F, d).
    pub fn node_scale(&self, node: usize) -> Option<(i32, i64)> {
        match self.kinds.get(node)? {
            Kind::Words(_) => None,
            Kind::Sums(f, d) => Some((*f, *d)),
        }
    }

    /// The engine in use.
    pub fn engine(&self) -> Engine {
        self.engine
    }
}

/// What a run records of its MAC layers' dot products (reference path).
struct DotSink {
    /// The image being run (its index among the images given).
    image: usize,
    /// Per MAC layer: record the dot products whose index in (image,
    /// output) order is a multiple of this step; 0: none.
    steps: Vec<usize>,
    /// Per MAC layer: the records.
    records: Vec<Vec<DotRecord>>,
}

/// One layer's share of a [`DotSink`] for one image.
struct DotTap<'a> {
    image: usize,
    step: usize,
    sink: &'a mut Vec<DotRecord>,
}

impl DotTap<'_> {
    /// Whether output `output` of layer `m` is recorded.
    fn takes(&self, m: &QMac, output: usize) -> bool {
        (self.image * m.out_ch * m.npos + output).is_multiple_of(self.step)
    }
}

/// Words to sums: FxP s = q at F = FBa; FPEC s = q * 2^G + est at F = FBa + G.
fn words_to_sums(fmt: &Format, w: &[Word]) -> (Vec<i64>, i32, i64) {
    let g = fmt.split.g();
    let s = w
        .iter()
        .map(|x| {
            let o = Operand::of(&fmt.split, x);
            ((o.q as i64) << g) + o.est as i64
        })
        .collect();
    (s, fmt.fb + g as i32, 1)
}

impl QMac {
    /// Per-channel weight formats: channel c's sums (dot product plus bias,
    /// at the channel's own F) shifted left to the layer's F (exact; the
    /// bound is checked in [`build_mac`]).
    fn align(&self, sums: &mut [i64]) {
        if self.shift.is_empty() {
            return;
        }
        for (c, part) in sums.chunks_mut(self.npos.max(1)).enumerate() {
            let sh = self.shift.get(c).copied().unwrap_or(0);
            if sh > 0 {
                part.iter_mut().for_each(|v| *v <<= sh);
            }
        }
    }
}

/// Output channels of a MAC layer.
fn out_channels(op: &Op) -> usize {
    match op {
        Op::Conv { out_ch, .. } => *out_ch,
        Op::Dense { out, .. } => *out,
        _ => 1,
    }
}

/// Per node, with per-channel weight formats: each channel's own F (spec
/// 9: a MAC layer's F per channel; Add the per-channel maximum of its
/// inputs'; Concat, Slice and Pad select, join or insert channels; Flatten
/// makes every element a channel); `None`: one F for the whole tensor
/// (words, or no per-channel layer upstream).
fn channel_scales(
    graph: &Graph,
    plan: &Plan,
    macs: &[QMac],
    mac_of: &[Option<usize>],
    kinds: &[Kind],
) -> Vec<Option<Vec<i32>>> {
    let mut out: Vec<Option<Vec<i32>>> = Vec::with_capacity(graph.nodes.len());
    for (i, node) in graph.nodes.iter().enumerate() {
        let shape_in = |k: usize| plan.in_shapes[i].get(k).copied().unwrap_or([0; 3]);
        // Input k's per-channel F, explicit (a uniform tensor repeated).
        let explicit = |k: usize, out: &[Option<Vec<i32>>]| -> Vec<i32> {
            let j = plan.inputs[i][k];
            let c = shape_in(k)[0];
            // IN_IDX (usize::MAX) indexes nothing: the input is words.
            let uniform = match kinds.get(j) {
                Some(Kind::Sums(f, _)) => *f,
                Some(Kind::Words(fmt)) => fmt.fb + fmt.split.g() as i32,
                None => 0,
            };
            match out.get(j) {
                Some(Some(v)) => v.clone(),
                _ => vec![uniform; c],
            }
        };
        let any_in = plan.inputs[i]
            .iter()
            .any(|&j| out.get(j).is_some_and(|v| v.is_some()));
        let v = match &node.op {
            Op::Conv { .. } | Op::Dense { .. } => mac_of[i].and_then(|k| {
                let m = &macs[k];
                (!m.shift.is_empty()).then(|| m.shift.iter().map(|&sh| m.f - sh as i32).collect())
            }),
            _ if !any_in => None,
            Op::Relu
            | Op::Clip { .. }
            | Op::MaxPool { .. }
            | Op::AvgPool { .. }
            | Op::GlobalAvgPool
            | Op::Identity => Some(explicit(0, &out)),
            Op::Add => {
                let mut v = explicit(0, &out);
                for k in 1..plan.inputs[i].len() {
                    v.iter_mut()
                        .zip(explicit(k, &out))
                        .for_each(|(a, b)| *a = (*a).max(b));
                }
                Some(v)
            }
            Op::Concat => Some(
                (0..plan.inputs[i].len())
                    .flat_map(|k| explicit(k, &out))
                    .collect(),
            ),
            Op::Slice { ranges } => {
                let [c0, c1, cs] = ranges[0];
                let v = explicit(0, &out);
                Some(
                    (c0..c1.min(v.len()))
                        .step_by(cs.max(1))
                        .map(|c| v[c])
                        .collect(),
                )
            }
            Op::Pad { pads } => {
                let v = explicit(0, &out);
                let top = v.iter().copied().max().unwrap_or(0);
                let mut p = vec![top; pads[0]];
                p.extend(&v);
                p.extend(std::iter::repeat_n(top, pads[3]));
                Some(p)
            }
            Op::Flatten => {
                let [_, h, w] = shape_in(0);
                Some(
                    explicit(0, &out)
                        .into_iter()
                        .flat_map(|f| std::iter::repeat_n(f, h * w))
                        .collect(),
                )
            }
        };
        out.push(v);
    }
    out
}

/// Per Clip node whose input has per-channel F ([`channel_scales`]): its
/// bound per channel, rounded at the channel's own F (spec 9) and shifted
/// to the tensor's F.
fn clip_caps(
    graph: &Graph,
    plan: &Plan,
    macs: &[QMac],
    mac_of: &[Option<usize>],
    kinds: &[Kind],
) -> Vec<Option<Vec<i64>>> {
    if macs.iter().all(|m| m.shift.is_empty()) {
        return vec![None; graph.nodes.len()];
    }
    let scales = channel_scales(graph, plan, macs, mac_of, kinds);
    graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let Op::Clip { max } = node.op else {
                return None;
            };
            let j = plan.inputs[i][0];
            let (Some(Kind::Sums(f, d)), Some(Some(fc))) = (kinds.get(j), scales.get(j)) else {
                return None;
            };
            Some(
                fc.iter()
                    .map(|&fc| {
                        let sh = (f - fc).max(0) as u32;
                        let c = bias_to_sum(max * *d as f64, fc).unwrap_or(i64::MAX);
                        c.checked_mul(1i64 << sh).unwrap_or(i64::MAX)
                    })
                    .collect(),
            )
        })
        .collect()
}

/// Encoded weights (per output channel's format with `chan`), their
/// saturations, the bias in sum units at each channel's own F, and the
/// per-channel shifts to the layer's F (empty: per tensor).
#[allow(clippy::type_complexity)]
fn encode_params(
    node: &crate::dnn::graph::Node,
    fmt: &StageFormats,
    chan: Option<&Vec<i32>>,
    g: i32,
) -> Result<(Vec<Word>, u64, Vec<i64>, Vec<u32>)> {
    let label = || format!("node \"{}\" ({})", node.name, node.op.kind());
    let split = fmt.w.split;
    let (w, b) = node.op.params();
    // Per output channel: the weight format and the shift to the layer's F.
    let n_out = out_channels(&node.op);
    let (w_fmts, shift) = match chan {
        None => (vec![fmt.w], Vec::new()),
        Some(c) => {
            if c.len() != n_out {
                bail!(
                    "{}: {} per-channel weight FBs for {n_out} output channels",
                    label(),
                    c.len()
                );
            }
            let top = c.iter().copied().max().unwrap_or(fmt.w.fb);
            if top != fmt.w.fb {
                bail!(
                    "{}: the stage's FBw {} is not the largest channel FBw {top}",
                    label(),
                    fmt.w.fb
                );
            }
            let fmts = c
                .iter()
                .map(|&fb| Format::new(split, fb, Some(fmt.w.t)).map_err(anyhow::Error::from))
                .collect::<Result<Vec<_>>>()
                .with_context(label)?;
            (fmts, c.iter().map(|&fb| (top - fb) as u32).collect())
        }
    };
    let per = (w.len() / n_out.max(1)).max(1);
    let mut w_sat = 0u64;
    let mut w_words = Vec::with_capacity(w.len());
    for (j, &x) in w.iter().enumerate() {
        let wf = if chan.is_some() {
            &w_fmts[j / per]
        } else {
            &w_fmts[0]
        };
        let r = encode_full(x, wf).with_context(|| format!("{} weight {j}", label()))?;
        w_sat += r.saturated as u64;
        w_words.push(r.word);
    }
    let f = fmt.w.fb + fmt.a.fb + g;
    // The bias is added at the channel's own F (spec 9), before the shift.
    let bias = b
        .iter()
        .enumerate()
        .map(|(c, &x)| {
            let sh = shift.get(c).copied().unwrap_or(0) as i32;
            bias_to_sum(x, f - sh).with_context(|| format!("{} bias", label()))
        })
        .collect::<Result<Vec<_>>>()?;
    if let Some(&top) = shift.iter().max() {
        // |dot| <= per * 2^(W-1) * (2^(W-1+G) + 2 * 7): the shifted sums fit in i64.
        let q = 1i128 << (split.w - 1);
        let bound = per as i128 * q * ((q << g) + 14)
            + bias
                .iter()
                .map(|b| b.unsigned_abs() as i128)
                .max()
                .unwrap_or(0);
        if bound << top >= 1i128 << 62 {
            bail!(
                "{}: per-channel FBw spread of {top} bits overflows the sums",
                label()
            );
        }
    }
    Ok((w_words, w_sat, bias, shift))
}

/// Encodes one MAC node.
fn build_mac(
    graph: &Graph,
    plan: &Plan,
    ni: usize,
    fmt: &StageFormats,
    chan: Option<&Vec<i32>>,
    g: i32,
    engine: Engine,
) -> Result<QMac> {
    let node = &graph.nodes[ni];
    let label = || format!("node \"{}\" ({})", node.name, node.op.kind());
    let split = fmt.w.split;
    let (w_words, w_sat, bias, shift) = encode_params(node, fmt, chan, g)?;
    let w_ops: Vec<Operand> = w_words.iter().map(|x| Operand::of(&split, x)).collect();
    let f = fmt.w.fb + fmt.a.fb + g;
    let in_shape = plan.in_shapes[ni][0];
    let out = plan.shapes[ni];
    let (out_ch, groups, len, rf, group_stride) = match &node.op {
        Op::Conv {
            kernel,
            stride,
            pads,
            groups,
            out_ch,
            ..
        } => {
            let [c, h, wd] = in_shape;
            let cpg = c / groups;
            let len = cpg * kernel[0] * kernel[1];
            if c * h * wd >= PAD as usize {
                bail!("{}: input too large ({c}x{h}x{wd})", label());
            }
            let mut rf = Vec::with_capacity(out[1] * out[2] * len);
            for oy in 0..out[1] {
                for ox in 0..out[2] {
                    for ci in 0..cpg {
                        for ky in 0..kernel[0] {
                            let iy = (oy * stride[0] + ky) as isize - pads[0] as isize;
                            for kx in 0..kernel[1] {
                                let ix = (ox * stride[1] + kx) as isize - pads[1] as isize;
                                rf.push(
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                        PAD
                                    } else {
                                        ((ci * h + iy as usize) * wd + ix as usize) as u32
                                    },
                                );
                            }
                        }
                    }
                }
            }
            (*out_ch, *groups, len, rf, cpg * h * wd)
        }
        Op::Dense { out, .. } => (*out, 1, in_shape.iter().product(), Vec::new(), 0),
        _ => bail!("internal: {} is not a MAC layer", label()),
    };
    let gp = if engine.gemm() {
        gemm_plan(&split, len)
    } else {
        None
    };
    let lanes = match gp {
        Some(_) if split.is_fxp() => 1,
        Some(_) => 2,
        None => 0,
    };
    let kb = gp.unwrap_or(0);
    let mut wl = Vec::new();
    let mut wz = Vec::new();
    if lanes > 0 {
        for o in &w_ops {
            wl.push(o.q as f64);
            if lanes == 2 {
                wl.push(o.est as f64);
            }
            wz.push(o.zero as u8);
        }
    }
    let opg = out_ch / groups;
    let mut wz_sum = vec![0u64; if lanes > 0 { groups * len } else { 0 }];
    if lanes > 0 {
        for (o, row) in wz.chunks_exact(len.max(1)).enumerate() {
            let grp = o / opg;
            wz_sum[grp * len..(grp + 1) * len]
                .iter_mut()
                .zip(row)
                .for_each(|(a, &z)| *a += z as u64);
        }
    }
    let (wl32, wl64) = if kb == 0 {
        (wl.iter().map(|&v| v as f32).collect(), Vec::new())
    } else {
        (Vec::new(), wl)
    };
    let int8 = int8_layout(&node.op, engine, &split, in_shape, out, &w_ops);
    Ok(QMac {
        int8,
        node: ni,
        fmt: *fmt,
        f,
        shift,
        w_words,
        w_ops,
        bias,
        len,
        out_ch,
        groups,
        npos: out[1] * out[2],
        rf,
        group_stride,
        w_sat,
        lanes,
        wl32,
        wl64,
        kb,
        wz_sum,
    })
}

/// The int8 kernels' layout of a MAC node (`None`: grouped, the reference
/// or the float GEMM asked for, or lanes that do not fit in bytes).
fn int8_layout(
    op: &Op,
    engine: Engine,
    split: &Split,
    in_shape: [usize; 3],
    out: [usize; 3],
    w_ops: &[Operand],
) -> Option<Int8Conv> {
    let geo = match (op, engine) {
        (_, Engine::Reference | Engine::FloatGemm) => return None,
        (Op::Conv { groups, .. }, _) if *groups != 1 => return None,
        (
            Op::Conv {
                kernel,
                stride,
                pads,
                ..
            },
            _,
        ) => Geometry {
            input: in_shape,
            kernel: *kernel,
            stride: *stride,
            pads: *pads,
            output: out,
        },
        (Op::Dense { out: n_out, .. }, _) => Geometry {
            input: [in_shape.iter().product(), 1, 1],
            kernel: [1, 1],
            stride: [1, 1],
            pads: [0; 4],
            output: [*n_out, 1, 1],
        },
        _ => return None,
    };
    let wq: Vec<i32> = w_ops.iter().map(|o| o.q).collect();
    let we: Vec<i32> = w_ops.iter().map(|o| o.est).collect();
    Int8Conv::new(split, geo, &wq, &we)
}

/// Per node, words or sums with their F and d; checks Add/Concat divisors
/// and that average pools have one window count.
fn static_kinds(
    graph: &Graph,
    plan: &Plan,
    macs: &[QMac],
    mac_of: &[Option<usize>],
    in_fmt: Format,
) -> Result<Vec<Kind>> {
    let mut kinds: Vec<Kind> = Vec::with_capacity(graph.nodes.len());
    let sums_of = |k: Kind| match k {
        Kind::Words(f) => (f.fb + f.split.g() as i32, 1i64),
        Kind::Sums(f, d) => (f, d),
    };
    for (i, node) in graph.nodes.iter().enumerate() {
        let label = || format!("node \"{}\" ({})", node.name, node.op.kind());
        let ins: Vec<Kind> = plan.inputs[i]
            .iter()
            .map(|&j| {
                if j == IN_IDX {
                    Kind::Words(in_fmt)
                } else {
                    kinds[j]
                }
            })
            .collect();
        let k = match &node.op {
            Op::Conv { .. } | Op::Dense { .. } => {
                let m = &macs[mac_of[i].context("internal: MAC index")?];
                Kind::Sums(m.f, 1)
            }
            Op::Identity | Op::Flatten | Op::Slice { .. } | Op::Pad { .. } => ins[0],
            Op::Relu | Op::Clip { .. } | Op::MaxPool { .. } => {
                let (f, d) = sums_of(ins[0]);
                Kind::Sums(f, d)
            }
            Op::AvgPool {
                kernel,
                stride,
                pads,
            } => {
                let [_, h, w] = plan.in_shapes[i][0];
                let out = plan.shapes[i];
                let mut counts = std::collections::BTreeSet::new();
                for_windows(
                    [h, w],
                    [out[1], out[2]],
                    *kernel,
                    *stride,
                    *pads,
                    |_, _, it| {
                        counts.insert(it.count());
                    },
                );
                if counts.len() != 1 {
                    bail!("{}: windows cover {:?} positions inside the tensor; the bit-exact engine needs one divisor per tensor (use pads that every window covers equally)", label(), counts);
                }
                let (f, d) = sums_of(ins[0]);
                Kind::Sums(f, d * *counts.iter().next().unwrap_or(&1) as i64)
            }
            Op::GlobalAvgPool => {
                let [_, h, w] = plan.in_shapes[i][0];
                let (f, d) = sums_of(ins[0]);
                Kind::Sums(f, d * (h * w) as i64)
            }
            Op::Add | Op::Concat => {
                let sc: Vec<(i32, i64)> = ins.iter().map(|&k| sums_of(k)).collect();
                let d = sc[0].1;
                if let Some(x) = sc.iter().find(|x| x.1 != d) {
                    bail!("{}: inputs have different divisors d ({d} and {}; spec 9: Add/Concat need equal d)", label(), x.1);
                }
                let f = sc.iter().map(|x| x.0).max().unwrap_or(0);
                if sc.iter().any(|x| f - x.0 > 40) {
                    bail!("{}: input scales F differ by more than 40 bits", label());
                }
                Kind::Sums(f, d)
            }
        };
        if let Kind::Sums(_, d) = k {
            if d >= 1 << 28 {
                bail!(
                    "{}: divisor {d} too large (pooling windows above 2^28 positions)",
                    label()
                );
            }
        }
        kinds.push(k);
    }
    Ok(kinds)
}

/// Pairs with both ezb flags of an int8 layer: sum over k = (c, ky, kx) of
/// the weight rows' flags at k times the number of output positions whose
/// k-th input has the flag (`z`: `[c][hp][wp]`), a rectangle of `z` (from
/// prefix sums at stride 1).
fn int8_sparse(m: &QMac, cv: &Int8Conv, z: &[u8]) -> u64 {
    let (hp, wp) = (cv.hp, cv.wp);
    let mut total = 0u64;
    let mut pre = vec![0u32; (hp + 1) * (wp + 1)];
    for ci in 0..cv.c {
        let zc = &z[ci * hp * wp..(ci + 1) * hp * wp];
        let unit = cv.sy == 1 && cv.sx == 1;
        if unit {
            for y in 0..hp {
                let (prev, cur) = pre.split_at_mut((y + 1) * (wp + 1));
                let (prev, cur) = (&prev[y * (wp + 1)..], &mut cur[..wp + 1]);
                let zr = &zc[y * wp..(y + 1) * wp];
                let mut run = 0u32;
                for x in 0..wp {
                    run += zr[x] as u32;
                    cur[x + 1] = prev[x + 1] + run;
                }
            }
        }
        for ky in 0..cv.kh {
            for kx in 0..cv.kw {
                let n = if unit {
                    let at = |y: usize, x: usize| pre[y * (wp + 1) + x] as i64;
                    let (y1, x1) = (ky + cv.oh, kx + cv.ow);
                    (at(y1, x1) - at(ky, x1) - at(y1, kx) + at(ky, kx)) as u64
                } else {
                    let mut n = 0u64;
                    for oy in 0..cv.oh {
                        let row = &zc[(oy * cv.sy + ky) * wp..];
                        for ox in 0..cv.ow {
                            n += row[ox * cv.sx + kx] as u64;
                        }
                    }
                    n
                };
                total += m.wz_sum[(ci * cv.kh + ky) * cv.kw + kx] * n;
            }
        }
    }
    total
}

/// Requantization of one tensor's sums (F, d) to an activation format,
/// as operands: [`requant_fast`]'s integer steps inline with the format's
/// constants hoisted, [`requant_div`] where those do not apply.
struct Requant {
    f: i32,
    d: i64,
    fmt: Format,
    fast: bool,
    k: i32,
    qmin: i64,
    qmax: i64,
    m: u32,
    comp: bool,
    z: bool,
    t_k: u64,
}

impl Requant {
    fn new(f: i32, d: i64, fmt: &Format) -> Self {
        let split = fmt.split;
        let k = f - fmt.fb;
        let (qmin, qmax) = split.q_range();
        Requant {
            f,
            d,
            fmt: *fmt,
            fast: d == 1 && (1..=40).contains(&k),
            k,
            qmin,
            qmax,
            m: split.m(),
            comp: split.comp.is_some(),
            z: split.z(),
            t_k: if (1..=40).contains(&k) {
                (fmt.t as u64) << k
            } else {
                0
            },
        }
    }

    /// One plane of sums to lane bytes `out = [byte 0, byte 1, zero flag]`
    /// (the bytes of [`LaneCode::bytes`]) when [`Self::fast`] holds for every
    /// sum; the saturation count, or `None` (nothing written meaningfully)
    /// when a sum needs [`requant_div`].
    fn plane(&self, s: &[i64], out: [&mut [u8]; 3], code: &LaneCode) -> Option<u64> {
        if !self.fast || s.iter().any(|v| v.unsigned_abs() >= 1 << 50) {
            return None;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: the CPU has the features (checked).
            return Some(unsafe { self.plane_avx512(s, out, code) });
        }
        Some(self.plane_body(s, out, code))
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
    unsafe fn plane_avx512(&self, s: &[i64], out: [&mut [u8]; 3], code: &LaneCode) -> u64 {
        self.plane_body(s, out, code)
    }

    /// [`requant_fast`]'s steps, branch-free, for |s| < 2^50.
    #[inline(always)]
    fn plane_body(&self, s: &[i64], out: [&mut [u8]; 3], code: &LaneCode) -> u64 {
        let n = s.len();
        let [l0, l1, zf] = out;
        let (l0, l1, zf) = (&mut l0[..n], &mut l1[..n], &mut zf[..n]);
        let k = self.k as u32;
        let half = 1i64 << (k - 1);
        let (qmin, qmax) = (self.qmin, self.qmax);
        let (m1, emax) = (self.m + 1, (1i64 << self.m) - 1);
        let (comp, zon, t_k) = (self.comp as i64, self.z, self.t_k as i64);
        let (sh0, e0, off0) = (code.sh0, code.e0 as i64, code.off0 as i64);
        let (c1, e1, off1, r1) = (code.c1 as i64, code.e1 as i64, code.off1 as i64, code.r1);
        let mut sat = 0u64;
        for i in 0..n {
            let v = s[i];
            let q0 = (v + half) >> k;
            let q = q0.max(qmin).min(qmax);
            sat += (q != q0) as u64;
            let r = v - (q << k);
            let mag = r.abs();
            let emb = ((mag << m1) >> k).min(emax);
            let zero = zon & (mag * 64 <= t_k);
            let e = (2 * emb + 1) * comp;
            let est = if zero {
                0
            } else if r > 0 {
                e
            } else {
                -e
            };
            l0[i] = ((q << sh0) + e0 * est + off0) as u8;
            l1[i] = ((c1 * q + e1 * est + off1) >> r1) as u8;
            zf[i] = zero as u8;
        }
        sat
    }

    /// The operand of sum `s` and whether it saturated ([`requant_fast`],
    /// which falls back to [`requant_div`] itself).
    fn operand(&self, s: i64) -> (Operand, bool) {
        let r = requant_fast(s, self.f, self.d, &self.fmt);
        (Operand::of(&self.fmt.split, &r.word), r.saturated)
    }
}

/// Reference dot products: [`golden::dot`] per output.
fn reference_mac(
    m: &QMac,
    split: &Split,
    words: &[Word],
    pad_w: Word,
    sums: &mut [i64],
    mut st: Option<&mut LayerStats>,
    mut export: Option<DotTap>,
) {
    let g = split.g();
    let ops: Vec<Operand> = words.iter().map(|w| Operand::of(split, w)).collect();
    let pad_o = Operand::of(split, &pad_w);
    let opg = m.out_ch / m.groups;
    let mut rf_ops = Vec::with_capacity(m.len);
    let mut rf_words = Vec::with_capacity(m.len);
    for grp in 0..m.groups {
        let off = grp * m.group_stride;
        for pos in 0..m.npos {
            rf_ops.clear();
            rf_words.clear();
            for j in 0..m.len {
                let idx = if m.rf.is_empty() {
                    j as u32
                } else {
                    m.rf[pos * m.len + j]
                };
                if idx == PAD {
                    rf_ops.push(pad_o);
                    rf_words.push(pad_w);
                } else {
                    rf_ops.push(ops[off + idx as usize]);
                    rf_words.push(words[off + idx as usize]);
                }
            }
            for o in grp * opg..(grp + 1) * opg {
                let r = o * m.len..(o + 1) * m.len;
                let s = golden::dot(g, &m.w_ops[r.clone()], &rf_ops);
                if let Some(st) = st.as_deref_mut() {
                    st.sparse_pairs += m.w_ops[r.clone()]
                        .iter()
                        .zip(&rf_ops)
                        .filter(|(w, a)| w.zero && a.zero)
                        .count() as u64;
                }
                sums[o * m.npos + pos] = s;
                let output = o * m.npos + pos;
                if let Some(tap) = export.as_mut().filter(|t| t.takes(m, output)) {
                    tap.sink.push(DotRecord {
                        image: tap.image,
                        output,
                        pairs: m.w_words[r]
                            .iter()
                            .zip(&rf_words)
                            .map(|(w, a)| (golden::pack(split, w), golden::pack(split, a)))
                            .collect(),
                        sum: s,
                    });
                }
            }
        }
    }
}

/// GEMM dot products: im2col of lanes, then one matrix product per group.
fn gemm_mac(
    m: &QMac,
    split: &Split,
    words: &[Word],
    pad_w: Word,
    sums: &mut [i64],
    st: Option<&mut LayerStats>,
) {
    let g = split.g();
    let l = m.lanes;
    let lane = |w: &Word, out: &mut Vec<f64>| {
        let o = Operand::of(split, w);
        if l == 2 {
            out.push(((o.q << g) + o.est) as f64);
        }
        out.push(o.q as f64);
    };
    let mut al: Vec<f64> = Vec::with_capacity(words.len() * l);
    words.iter().for_each(|w| lane(w, &mut al));
    let mut padl = Vec::with_capacity(2);
    lane(&pad_w, &mut padl);
    let kl = m.len * l;
    let opg = m.out_ch / m.groups;
    let mut sparse = 0u64;
    let want_sparse = st.is_some();
    let az: Vec<u8> = if want_sparse {
        words.iter().map(|w| (split.z() && w.ezb) as u8).collect()
    } else {
        Vec::new()
    };
    let pad_z = (split.z() && pad_w.ezb) as u8;
    let mut colz: Vec<u8> = Vec::new();
    let al32: Vec<f32> = if m.kb == 0 {
        al.iter().map(|&v| v as f32).collect()
    } else {
        Vec::new()
    };
    let pad32: Vec<f32> = padl.iter().map(|&v| v as f32).collect();
    for grp in 0..m.groups {
        let off = grp * m.group_stride;
        let out = &mut sums[grp * opg * m.npos..(grp + 1) * opg * m.npos];
        if m.kb == 0 {
            let col = im2col(m, &al32, &pad32, off, l);
            let mut c = vec![0f32; opg * m.npos];
            let w = &m.wl32[grp * opg * kl..(grp + 1) * opg * kl];
            // SAFETY: the slices hold opg x kl, npos x kl and opg x npos
            // elements with the strides given (row-major A and C, B as the
            // transpose of the [npos][kl] im2col matrix).
            unsafe {
                matrixmultiply::sgemm(
                    opg,
                    kl,
                    m.npos,
                    1.0,
                    w.as_ptr(),
                    kl as isize,
                    1,
                    col.as_ptr(),
                    1,
                    kl as isize,
                    0.0,
                    c.as_mut_ptr(),
                    m.npos as isize,
                    1,
                );
            }
            out.iter_mut().zip(&c).for_each(|(o, v)| *o = *v as i64);
        } else {
            let col = im2col(m, &al, &padl, off, l);
            out.iter_mut().for_each(|o| *o = 0);
            let w = &m.wl64[grp * opg * kl..(grp + 1) * opg * kl];
            let mut c = vec![0f64; opg * m.npos];
            let blk = m.kb * l;
            for k0 in (0..kl).step_by(blk) {
                let kk = blk.min(kl - k0);
                // SAFETY: as above, on the K columns k0..k0+kk of A and B.
                unsafe {
                    matrixmultiply::dgemm(
                        opg,
                        kk,
                        m.npos,
                        1.0,
                        w.as_ptr().add(k0),
                        kl as isize,
                        1,
                        col.as_ptr().add(k0),
                        1,
                        kl as isize,
                        0.0,
                        c.as_mut_ptr(),
                        m.npos as isize,
                        1,
                    );
                }
                out.iter_mut().zip(&c).for_each(|(o, v)| *o += *v as i64);
            }
        }
        if want_sparse {
            sparse += group_sparse(m, &az, pad_z, off, grp, &mut colz);
        }
    }
    if let Some(st) = st {
        st.sparse_pairs += sparse;
    }
}

/// Pairs with both ezb flags in group `grp` of a GEMM layer (`az`: the
/// input's flags, `pad_z`: the padding word's): over every (output,
/// position) of the group, sum_k (sum_o wz[o][k]) * (sum_pos colz[pos][k]);
/// `colz` is the caller's scratch for the group's flag columns.
fn group_sparse(m: &QMac, az: &[u8], pad_z: u8, off: usize, grp: usize, colz: &mut Vec<u8>) -> u64 {
    colz.clear();
    if m.rf.is_empty() {
        colz.extend_from_slice(&az[..m.len]);
    } else {
        colz.extend(m.rf.iter().map(|&i| {
            if i == PAD {
                pad_z
            } else {
                az[off + i as usize]
            }
        }));
    }
    let mut csum = vec![0u64; m.len];
    for a in colz.chunks_exact(m.len.max(1)) {
        csum.iter_mut().zip(a).for_each(|(c, &z)| *c += z as u64);
    }
    let wsum = &m.wz_sum[grp * m.len..(grp + 1) * m.len];
    wsum.iter().zip(&csum).map(|(w, c)| w * c).sum()
}

/// The im2col matrix `[npos][len * lanes]` of one group (dense: the input).
fn im2col<T: Copy + Default>(m: &QMac, al: &[T], pad: &[T], off: usize, l: usize) -> Vec<T> {
    let kl = m.len * l;
    if m.rf.is_empty() {
        return al[..kl].to_vec();
    }
    let mut col: Vec<T> = vec![T::default(); m.npos * kl];
    if l == 1 {
        for (c, &idx) in col.iter_mut().zip(&m.rf) {
            *c = if idx == PAD {
                pad[0]
            } else {
                al[off + idx as usize]
            };
        }
    } else {
        for (c, &idx) in col.chunks_exact_mut(2).zip(&m.rf) {
            if idx == PAD {
                c.copy_from_slice(&pad[..2]);
            } else {
                let s = (off + idx as usize) * 2;
                c.copy_from_slice(&al[s..s + 2]);
            }
        }
    }
    col
}

/// Per-MAC calibration ranges by max-abs (as [`crate::dnn::quant::calibrate`]
/// for a layer list): max |w| of each MAC node, max |input| over `calib`.
pub fn calibrate_graph(graph: &Graph, calib: &Dataset) -> Result<crate::dnn::quant::Ranges> {
    let plan = graph.plan()?;
    graph.check_data(calib)?;
    let w_max = plan
        .macs
        .iter()
        .map(|&i| {
            graph.nodes[i]
                .op
                .params()
                .0
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()))
        })
        .collect();
    let a_max = calib
        .images
        .par_iter()
        .map(|img| {
            let vals = graph.forward_all(&plan, img);
            plan.macs
                .iter()
                .map(|&i| {
                    let j = plan.inputs[i][0];
                    let x = if j == IN_IDX { &img[..] } else { &vals[j][..] };
                    x.iter().fold(0.0f64, |m, v| m.max(v.abs()))
                })
                .collect::<Vec<f64>>()
        })
        .reduce(
            || vec![0.0; plan.macs.len()],
            |a, b| a.iter().zip(&b).map(|(x, y)| x.max(*y)).collect(),
        );
    Ok(crate::dnn::quant::Ranges { w_max, a_max })
}

/// Images per batch when streaming a [`Source`]: memory is bounded by
/// this many decoded images (f64) plus one image's tensors per thread.
pub const BATCH: usize = 500;

/// [`calibrate_graph`] over a source read in batches (same maxima).
pub fn calibrate_source(graph: &Graph, src: &dyn Source) -> Result<crate::dnn::quant::Ranges> {
    let mut acc: Option<crate::dnn::quant::Ranges> = None;
    for start in (0..src.len()).step_by(BATCH) {
        let b = src.batch(start, (start + BATCH).min(src.len()))?;
        let r = calibrate_graph(graph, &b)?;
        acc = Some(match acc {
            None => r,
            Some(a) => crate::dnn::quant::Ranges {
                w_max: a.w_max,
                a_max: a
                    .a_max
                    .iter()
                    .zip(&r.a_max)
                    .map(|(x, y)| x.max(*y))
                    .collect(),
            },
        });
    }
    acc.context("the calibration set is empty")
}

/// Float accuracy (percent) over a source read in batches of [`BATCH`]
/// and, per image, whether its float decision is right (one bool per image:
/// memory stays small whatever the source). The percent sums each batch's
/// accuracy back to a count in f64, as the reports of earlier versions did,
/// so those reproduce to the last bit.
pub fn float_correct_source(graph: &Graph, src: &dyn Source) -> Result<(f64, Vec<bool>)> {
    let mut ok = 0.0;
    let mut all = Vec::with_capacity(src.len());
    for start in (0..src.len()).step_by(BATCH) {
        let b = src.batch(start, (start + BATCH).min(src.len()))?;
        let c = graph.float_correct(&b)?;
        ok += crate::dnn::graph::percent(&c) * b.len() as f64 / 100.0;
        all.extend(c);
    }
    Ok((100.0 * ok / src.len().max(1) as f64, all))
}

impl QuantGraph {
    /// [`Self::evaluate`] over a source read in batches of [`BATCH`]
    /// images (the same result; memory bounded by the batch). Returns the
    /// evaluation and the seconds spent in inference (decoding excluded).
    pub fn evaluate_source(
        &self,
        src: &dyn Source,
        progress: &crate::dnn::progress::Progress,
    ) -> Result<(QuantEval, f64)> {
        let (ev, _, secs) = self.evaluate_source_with_float(src, progress, false)?;
        Ok((ev, secs))
    }

    /// [`Self::evaluate_source`], also giving the float accuracy of the same
    /// batches when `float` (each batch decoded once for both).
    pub fn evaluate_source_with_float(
        &self,
        src: &dyn Source,
        progress: &crate::dnn::progress::Progress,
        float: bool,
    ) -> Result<(QuantEval, f64, f64)> {
        let mut float_ok = 0.0;
        let n = self.macs.len();
        let mut total = QuantEval {
            accuracy: 0.0,
            correct: 0,
            samples: 0,
            layers: vec![LayerStats::default(); n],
        };
        let mut secs = 0.0;
        for start in (0..src.len()).step_by(BATCH) {
            let b = src.batch(start, (start + BATCH).min(src.len()))?;
            if float {
                float_ok += self.graph.float_accuracy(&b)? * b.len() as f64 / 100.0;
            }
            let t0 = std::time::Instant::now();
            let ev = self.evaluate(&b)?;
            secs += t0.elapsed().as_secs_f64();
            total.correct += ev.correct;
            total.samples += ev.samples;
            for (a, x) in total.layers.iter_mut().zip(&ev.layers) {
                a.add(x);
                a.weight_saturations = x.weight_saturations;
            }
            progress.inc(b.len() as u64);
        }
        total.accuracy = 100.0 * total.correct as f64 / total.samples.max(1) as f64;
        let fl = 100.0 * float_ok / total.samples.max(1) as f64;
        Ok((total, fl, secs))
    }
}

/// How FB is chosen per tensor (the same method for FxP and FPEC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum CalibMethod {
    /// The largest FB at which the max |value| does not saturate ([`crate::dnn::quant::fb_for`]).
    Max,
    /// Among that FB and the 4 finer ones (which clip the largest values),
    /// the one with the least squared error of plain W-bit rounding and
    /// clamping (the q part, for FxP and FPEC alike) over the weights or the
    /// calibration activations; ties to the smaller FB.
    Mse,
}

impl CalibMethod {
    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            CalibMethod::Max => "max",
            CalibMethod::Mse => "mse",
        }
    }
}

/// Candidate FBs of [`CalibMethod::Mse`] above the max-abs FB.
const MSE_STEPS: i32 = 5;

fn sq_err(x: f64, w: u32, fb: i32) -> f64 {
    let qmax = ((1i64 << (w - 1)) - 1) as f64;
    let s = 2f64.powi(fb);
    let q = (x * s + 0.5).floor().clamp(-qmax - 1.0, qmax);
    let e = x - q / s;
    e * e
}

fn mse_pick(sse: &[f64], fb0: i32) -> i32 {
    let mut best = 0;
    for (i, v) in sse.iter().enumerate() {
        if *v < sse[best] {
            best = i;
        }
    }
    (fb0 + best as i32).clamp(crate::format::FB_RANGE.0, crate::format::FB_RANGE.1)
}

/// Per MAC layer (FBw, FBa) for width `w` by `method`; `ranges` from
/// [`calibrate_source`] (the max-abs rule, and the starting FB of MSE).
pub fn choose_fbs(
    graph: &Graph,
    src: &dyn Source,
    ranges: &crate::dnn::quant::Ranges,
    w: u32,
    method: CalibMethod,
) -> Result<Vec<(i32, i32)>> {
    use crate::dnn::quant::fb_for;
    let base: Vec<(i32, i32)> = ranges
        .w_max
        .iter()
        .zip(&ranges.a_max)
        .map(|(&a, &b)| (fb_for(a, w), fb_for(b, w)))
        .collect();
    if method == CalibMethod::Max {
        return Ok(base);
    }
    let plan = graph.plan()?;
    let steps = MSE_STEPS as usize;
    let fbw: Vec<i32> = plan
        .macs
        .iter()
        .zip(&base)
        .map(|(&i, &(f0, _))| {
            let wts = graph.nodes[i].op.params().0;
            let sse: Vec<f64> = (0..MSE_STEPS)
                .map(|k| wts.iter().map(|&x| sq_err(x, w, f0 + k)).sum())
                .collect();
            mse_pick(&sse, f0)
        })
        .collect();
    let mut sse = vec![0.0; plan.macs.len() * steps];
    for start in (0..src.len()).step_by(BATCH) {
        let b = src.batch(start, (start + BATCH).min(src.len()))?;
        let part = b
            .images
            .par_iter()
            .map(|img| {
                let vals = graph.forward_all(&plan, img);
                let mut s = vec![0.0; plan.macs.len() * steps];
                for (m, &i) in plan.macs.iter().enumerate() {
                    let j = plan.inputs[i][0];
                    let x = if j == IN_IDX { &img[..] } else { &vals[j][..] };
                    for k in 0..steps {
                        s[m * steps + k] += x
                            .iter()
                            .map(|&v| sq_err(v, w, base[m].1 + k as i32))
                            .sum::<f64>();
                    }
                }
                s
            })
            .reduce(
                || vec![0.0; plan.macs.len() * steps],
                |a, b| a.iter().zip(&b).map(|(x, y)| x + y).collect(),
            );
        sse.iter_mut().zip(&part).for_each(|(a, b)| *a += b);
    }
    Ok(fbw
        .into_iter()
        .enumerate()
        .map(|(m, fw)| (fw, mse_pick(&sse[m * steps..(m + 1) * steps], base[m].1)))
        .collect())
}

/// A configuration from per-MAC (FBw, FBa) (T: default, or `t`).
pub fn config_from_fbs(
    split: Split,
    fbs: &[(i32, i32)],
    t: Option<(u32, u32)>,
) -> Result<QuantConfig> {
    let stages = fbs
        .iter()
        .map(|&(fw, fa)| {
            Ok(StageFormats {
                w: Format::new(split, fw, t.map(|t| t.0))?,
                a: Format::new(split, fa, t.map(|t| t.1))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(QuantConfig {
        split,
        stages,
        w_channel_fb: Vec::new(),
    })
}

/// How FBw is chosen (`--weight-fb`; FxP and FPEC alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum WeightFb {
    /// One FBw (and Tw) per MAC layer.
    PerTensor,
    /// FBw per output channel of a MAC layer, one Tw per layer (spec 9's
    /// per-channel weight formats with every channel's Tw equal).
    PerChannel,
}

impl WeightFb {
    /// The per-channel FBw lists of [`channel_fbs`] for width `w`, or none
    /// (per tensor), for [`with_channel_fbs`].
    pub fn channel_fbs(self, graph: &Graph, w: u32, method: CalibMethod) -> Result<Vec<Vec<i32>>> {
        match self {
            WeightFb::PerTensor => Ok(Vec::new()),
            WeightFb::PerChannel => channel_fbs(graph, w, method),
        }
    }

    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            WeightFb::PerTensor => "per-tensor",
            WeightFb::PerChannel => "per-channel",
        }
    }
}

/// Per MAC layer, FBw per output channel for width `w` by `method` over
/// that channel's weights (max-abs, or the MSE pick among it and the 4
/// finer FBs); an all-zero channel takes the FB of the whole layer's
/// weights (its words are 0 at any FB).
pub fn channel_fbs(graph: &Graph, w: u32, method: CalibMethod) -> Result<Vec<Vec<i32>>> {
    use crate::dnn::quant::fb_for;
    let plan = graph.plan()?;
    let pick = |row: &[f64]| {
        let mx = row.iter().fold(0.0f64, |a, x| a.max(x.abs()));
        let f0 = fb_for(mx, w);
        match method {
            CalibMethod::Max => f0,
            CalibMethod::Mse => {
                let sse: Vec<f64> = (0..MSE_STEPS)
                    .map(|k| row.iter().map(|&x| sq_err(x, w, f0 + k)).sum())
                    .collect();
                mse_pick(&sse, f0)
            }
        }
    };
    Ok(plan
        .macs
        .iter()
        .map(|&i| {
            let op = &graph.nodes[i].op;
            let wts = op.params().0;
            let per = (wts.len() / out_channels(op).max(1)).max(1);
            let layer = pick(wts);
            wts.chunks(per)
                .map(|row| {
                    if row.iter().all(|&x| x == 0.0) {
                        layer
                    } else {
                        pick(row)
                    }
                })
                .collect()
        })
        .collect())
}

/// `cfg` with per-channel weight FBs `chan` (from [`channel_fbs`]): each
/// stage's FBw becomes its largest channel FBw, its Tw is kept. An empty
/// `chan` keeps `cfg` per tensor.
pub fn with_channel_fbs(mut cfg: QuantConfig, chan: Vec<Vec<i32>>) -> Result<QuantConfig> {
    if chan.is_empty() {
        return Ok(cfg);
    }
    if chan.len() != cfg.stages.len() {
        bail!(
            "{} per-channel FB lists for {} stages",
            chan.len(),
            cfg.stages.len()
        );
    }
    for (st, c) in cfg.stages.iter_mut().zip(&chan) {
        let top = c.iter().copied().max().unwrap_or(st.w.fb);
        st.w = Format::new(st.w.split, top, Some(st.w.t))?;
    }
    cfg.w_channel_fb = chan;
    Ok(cfg)
}

/// [`requant_div`] in i64 for the common case (d = 1, 1 <= k <= 40,
/// |s| < 2^50): section 5's integer steps; the same word (the GEMM engine's
/// requantizer, cross-checked against the reference engine's).
fn requant_fast(s: i64, f: i32, d: i64, fmt: &Format) -> golden::Rounded {
    let k = f - fmt.fb;
    if d != 1 || !(1..=40).contains(&k) || s.unsigned_abs() >= 1 << 50 {
        return requant_div(s, f, d, fmt);
    }
    let split = fmt.split;
    let (qmin, qmax) = split.q_range();
    let q0 = (s + (1i64 << (k - 1))) >> k;
    let q = q0.clamp(qmin, qmax);
    let r = s - (q << k);
    let m = split.m();
    let mag = r.unsigned_abs();
    let emb = if m == 0 {
        0
    } else {
        ((mag << (m + 1)) >> k).min((1u64 << m) - 1) as u32
    };
    golden::Rounded {
        word: Word {
            q: q as i32,
            edb: split.comp.is_some() && r > 0,
            emb,
            ezb: split.z() && mag * 64 <= (fmt.t as u64) << k,
        },
        saturated: q != q0,
    }
}
