//! Bit-exact quantized inference (spec section 9). No floats inside a
//! quantized layer: weights are encoded once (section 2), the first layer's
//! inputs are encoded in its activation format, every output is a section-4
//! dot product ([`golden::dot`]; a convolution output is the dot product over
//! its receptive field in (c, ky, kx) order, zero-padding positions included
//! as encoded zeros), the bias is added in `sum` units ([`golden::bias_to_sum`]),
//! max-pooling takes the max of `sum` values, hidden layers apply ReLU and
//! [`golden::requant`] into the next layer's activation format, and the class
//! is the argmax of the last layer's sums (ties: lowest index).
//! Stages with W <= 8 compute the same dot products on packed i16 operands
//! summed in i32 (exact by a bound, see `fits_i16_i32`), and a search that
//! changes only later stages can resume from cached stage entries
//! ([`StageEntry`]).
//!
//! **FB rule** (per layer, per operand): with `max` the largest magnitude
//! (weights: of the layer's float weights; activations: of the layer's float
//! input over the calibration split), FB is the largest value in -16..=32 at
//! which `max` does not saturate: start from FB = W - 1 - ceil(log2(max)) and
//! lower it by one while round-half-up(max * 2^FB) > 2^(W-1) - 1. (`max` = 0
//! gives FB = W - 1.)

use crate::dnn::data::Dataset;
use crate::dnn::model::{argmax, check_data, forward_float, maxpool, Layer, Model, Stage};
use crate::format::{Format, Split, FB_RANGE};
use crate::golden::{self, bias_to_sum, encode_full, requant, Operand, Word};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use serde::Serialize;

/// Per-stage calibration ranges (largest magnitudes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranges {
    /// max |w| per stage.
    pub w_max: Vec<f64>,
    /// max |input activation| per stage over the calibration data.
    pub a_max: Vec<f64>,
}

/// Measures [`Ranges`] with the float model on `calib`.
pub fn calibrate(model: &Model, calib: &Dataset) -> Result<Ranges> {
    let stages = model.stages()?;
    check_data(model, calib)?;
    let w_max = stages
        .iter()
        .map(|s| {
            model
                .params(s.layer)
                .0
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()))
        })
        .collect();
    let mut a_max = vec![0.0f64; stages.len()];
    for img in &calib.images {
        let (_, inputs) = forward_float(model, &stages, img);
        for (m, x) in a_max.iter_mut().zip(&inputs) {
            *m = x.iter().fold(*m, |m, v| m.max(v.abs()));
        }
    }
    Ok(Ranges { w_max, a_max })
}

/// The FB rule of the module documentation.
pub fn fb_for(max: f64, w: u32) -> i32 {
    let top = w as i32 - 1;
    if max.is_nan() || max <= 0.0 || !max.is_finite() {
        return top.clamp(FB_RANGE.0, FB_RANGE.1);
    }
    let qmax = (1i64 << (w - 1)) - 1;
    let mut fb = (top - max.log2().ceil() as i32).clamp(FB_RANGE.0, FB_RANGE.1);
    while fb > FB_RANGE.0 && (max * 2f64.powi(fb) + 0.5).floor() as i64 > qmax {
        fb -= 1;
    }
    fb
}

/// Formats of one MAC stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageFormats {
    /// Weight format.
    pub w: Format,
    /// Format of the stage's input activations.
    pub a: Format,
}

/// A complete quantization: one split (shared MAC array), per-stage formats.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuantConfig {
    /// The hardware split.
    pub split: Split,
    /// Per stage.
    pub stages: Vec<StageFormats>,
    /// Per-channel weight formats (spec 9, an option): per stage, FBw per
    /// output channel (then the stage's `w.fb` is their maximum, its `w.t`
    /// the Tw of every channel); empty: one FBw per stage. Graph engine only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub w_channel_fb: Vec<Vec<i32>>,
}

impl QuantConfig {
    /// FB from `ranges`; T per operand from `t` (None: default 8 >> M).
    pub fn from_ranges(split: Split, ranges: &Ranges, t: Option<(u32, u32)>) -> Result<Self> {
        let stages = ranges
            .w_max
            .iter()
            .zip(&ranges.a_max)
            .map(|(&wm, &am)| {
                Ok(StageFormats {
                    w: Format::new(split, fb_for(wm, split.w), t.map(|t| t.0))?,
                    a: Format::new(split, fb_for(am, split.w), t.map(|t| t.1))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(QuantConfig {
            split,
            stages,
            w_channel_fb: Vec::new(),
        })
    }
    /// Sets the zero thresholds of stage `s` (weights, activations).
    pub fn set_t(&mut self, s: usize, tw: u32, ta: u32) -> Result<()> {
        let st = &mut self.stages[s];
        st.w = Format::new(st.w.split, st.w.fb, Some(tw))?;
        st.a = Format::new(st.a.split, st.a.fb, Some(ta))?;
        Ok(())
    }
    /// Overrides the zero thresholds of every stage (weights `tw`,
    /// activations `ta`); `None` keeps each stage's default.
    pub fn override_t(&mut self, tw: Option<u32>, ta: Option<u32>) -> Result<()> {
        if tw.is_none() && ta.is_none() {
            return Ok(());
        }
        for i in 0..self.stages.len() {
            let w = tw.unwrap_or(self.stages[i].w.t);
            let a = ta.unwrap_or(self.stages[i].a.t);
            self.set_t(i, w, a)?;
        }
        Ok(())
    }
}

/// A stage ready to run: pre-encoded weights and biases.
#[derive(Debug, Clone)]
struct QStage {
    st: Stage,
    fmt: StageFormats,
    /// F_in = FBw + FBa + G.
    f_in: i32,
    /// Encoded weights, `[out][dot_len]`.
    w_words: Vec<Word>,
    w_ops: Vec<Operand>,
    bias: Vec<i64>,
    len: usize,
    out_ch: usize,
    kernel: usize,
    w_sat: usize,
    /// Fast path (see [`fits_i16_i32`]): per weight `[q, est]`, and Z & ezb
    /// as 0/1; empty when the stage takes the i64 path.
    w16: Vec<[i16; 2]>,
    wz: Vec<u8>,
    /// Conv stages: the receptive-field index table ([`rf_table`]).
    rf_idx: Vec<u32>,
}

/// Padding marker in a receptive-field index table.
const RF_PAD: u32 = u32::MAX;

/// The receptive-field index table of a conv stage: for each output
/// position (y, x) in row-major order, the input indices of its dot product
/// in (c, ky, kx) order, [`RF_PAD`] for zero-padding positions. Empty for a
/// dense stage.
fn rf_table(st: &Stage, kernel: usize, padding: usize, stride: usize) -> Result<Vec<u32>> {
    if kernel == 0 {
        return Ok(Vec::new());
    }
    let [c, h, w] = st.in_shape;
    let [_, oh, ow] = st.mac_shape;
    if c * h * w >= RF_PAD as usize {
        bail!("layer {}: input too large ({c}x{h}x{w})", st.layer);
    }
    let (k, p, sd) = (kernel, padding as isize, stride);
    let mut t = Vec::with_capacity(oh * ow * c * k * k);
    for y in 0..oh {
        for x in 0..ow {
            for ch in 0..c {
                for ky in 0..k {
                    let iy = (y * sd) as isize + ky as isize - p;
                    for kx in 0..k {
                        let ix = (x * sd) as isize + kx as isize - p;
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                            t.push(RF_PAD);
                        } else {
                            t.push(((ch * h + iy as usize) * w + ix as usize) as u32);
                        }
                    }
                }
            }
        }
    }
    Ok(t)
}

/// True when the dot products of `split` with length `len` can run on the
/// fast path with the same result: each weight as `[q, est]` and each
/// activation as `[q * 2^G + est, q]` in i16, the pairs' products summed in
/// i32 (`q*(qa*2^G + est_a) + qa*est_w` is golden::dot's term). Needs
/// |q| <= 2^(W-1) <= 128, |est| <= 7, G <= 4, so every value fits i16, and
/// len * max|term| < 2^31, so no partial sum can overflow i32.
fn fits_i16_i32(split: &Split, len: usize) -> bool {
    if split.w > 8 || split.g() > 4 {
        return false;
    }
    let q = 1u64 << (split.w - 1);
    let term = q * ((q << split.g()) + 7) + 7 * q;
    (len as u64).saturating_mul(term) < (1u64 << 31)
}

/// [`golden::dot`] on the fast-path layout of [`fits_i16_i32`]: the same
/// sum (the loop compiles to packed 16-bit multiply-adds).
fn dot16(w: &[[i16; 2]], a: &[[i16; 2]]) -> i64 {
    let (w, a) = (w.as_flattened(), a.as_flattened());
    let n = w.len().min(a.len());
    let mut acc = 0i32;
    for (x, y) in w[..n].iter().zip(&a[..n]) {
        acc += *x as i32 * *y as i32;
    }
    acc as i64
}

/// Pairs whose two operands both have Z & ezb (fast-path flags).
fn sparse16(w: &[u8], a: &[u8]) -> u64 {
    let n = w.len().min(a.len());
    w[..n]
        .iter()
        .zip(&a[..n])
        .map(|(x, y)| (x & y) as u32)
        .sum::<u32>() as u64
}

/// An activation in the fast-path layout of [`fits_i16_i32`].
fn act16(g: u32, o: &Operand) -> [i16; 2] {
    [((o.q << g) + o.est) as i16, o.q as i16]
}

/// Where [`QuantModel::run_from`] starts.
enum Entry<'a> {
    /// Stage 0, from an image.
    Image(&'a [f64]),
    /// Stage k, from the sums of stage k - 1.
    Sums(usize, &'a [i64]),
}

/// What [`QuantModel::run_from`] returns.
enum Out {
    /// The class (ran to the end).
    Class(usize),
    /// The sums of the stage it stopped after.
    Sums(Vec<i64>),
}

/// Per image, the sums of stage `stage - 1` (bias added, pooled, before
/// ReLU and requantization): what stage `stage` starts from. They depend
/// only on the formats of the stages before `stage` (kept in `cfg`), so a
/// search that changes later stages (FPEC-Opt's threshold tuning) reuses
/// them instead of rerunning the early layers. Bit-identical by
/// construction: resuming runs the same code from the same values.
#[derive(Debug, Clone)]
pub struct StageEntry {
    /// The stage these sums enter.
    pub stage: usize,
    cfg: Vec<StageFormats>,
    sums: Vec<Vec<i64>>,
}

/// A model quantized under one [`QuantConfig`].
#[derive(Debug, Clone)]
pub struct QuantModel {
    /// The configuration.
    pub cfg: QuantConfig,
    stages: Vec<QStage>,
    classes: usize,
}

/// Per-stage statistics of a quantized run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LayerStats {
    /// (w, a) pairs processed (= MACs).
    pub pairs: u64,
    /// Pairs whose two operands both have ezb = 1.
    pub sparse_pairs: u64,
    /// Input activations of this stage that saturated when encoded/requantized.
    pub act_saturations: u64,
    /// Input activations encoded/requantized.
    pub activations: u64,
    /// Weights that saturated when encoded (static).
    pub weight_saturations: u64,
}

impl LayerStats {
    /// Adds `o`'s counts (not the weight saturations, a per-layer constant).
    pub(crate) fn add(&mut self, o: &LayerStats) {
        self.pairs += o.pairs;
        self.sparse_pairs += o.sparse_pairs;
        self.act_saturations += o.act_saturations;
        self.activations += o.activations;
    }
    /// Compensation sparsity: share of pairs with both ezb = 1.
    pub fn sparsity(&self) -> f64 {
        if self.pairs == 0 {
            0.0
        } else {
            self.sparse_pairs as f64 / self.pairs as f64
        }
    }
}

/// Quantized accuracy and per-layer statistics on `data`, `classify(image,
/// stats)` giving one image's class and adding to its layers' `stats`; the
/// layers' weight saturations from `w_sat`. The one parallel evaluation of
/// the layer-list and graph engines: per image, then summed, so the result
/// does not depend on the thread count.
pub(crate) fn evaluate_images(
    data: &Dataset,
    w_sat: impl ExactSizeIterator<Item = u64>,
    classify: impl Fn(&[f64], &mut Vec<LayerStats>) -> Result<usize> + Sync,
) -> Result<QuantEval> {
    let n = w_sat.len();
    let (correct, mut layers) = data
        .images
        .par_iter()
        .zip(data.labels.par_iter())
        .map(|(img, &lab)| {
            let mut st = vec![LayerStats::default(); n];
            let c = classify(img, &mut st)?;
            Ok::<_, anyhow::Error>(((c == lab as usize) as usize, st))
        })
        .try_reduce(
            || (0usize, vec![LayerStats::default(); n]),
            |(c1, mut s1), (c2, s2)| {
                for (a, b) in s1.iter_mut().zip(&s2) {
                    a.add(b);
                }
                Ok((c1 + c2, s1))
            },
        )?;
    for (l, w) in layers.iter_mut().zip(w_sat) {
        l.weight_saturations = w;
    }
    Ok(QuantEval {
        accuracy: 100.0 * correct as f64 / data.len().max(1) as f64,
        correct,
        samples: data.len(),
        layers,
    })
}

/// Result of a quantized evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuantEval {
    /// Accuracy in percent.
    pub accuracy: f64,
    /// Correctly classified samples.
    pub correct: usize,
    /// Samples.
    pub samples: usize,
    /// Per stage.
    pub layers: Vec<LayerStats>,
}

impl QuantEval {
    /// Sparsity over all stages (pair-weighted).
    pub fn sparsity(&self) -> f64 {
        let p: u64 = self.layers.iter().map(|l| l.pairs).sum();
        let s: u64 = self.layers.iter().map(|l| l.sparse_pairs).sum();
        if p == 0 {
            0.0
        } else {
            s as f64 / p as f64
        }
    }
}

/// One dot product of a stage, for hardware in the loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DotRecord {
    /// Image index (within the images given).
    pub image: usize,
    /// Output index in the stage's MAC output, `[out_ch][y][x]` flattened.
    pub output: usize,
    /// Packed (w, a) words, in dot-product order.
    pub pairs: Vec<(u32, u32)>,
    /// Expected section-4 `sum`, before bias.
    pub sum: i64,
}

impl QuantModel {
    /// Encodes the weights and biases of `model` under `cfg`.
    pub fn new(model: &Model, cfg: &QuantConfig) -> Result<Self> {
        let stages = model.stages()?;
        if stages.len() != cfg.stages.len() {
            bail!(
                "configuration has {} stages, the model {}",
                cfg.stages.len(),
                stages.len()
            );
        }
        if !cfg.w_channel_fb.is_empty() {
            bail!("per-channel weight formats run on the graph engine (QuantGraph), not the layer engine");
        }
        let g = cfg.split.g() as i32;
        let mut qs = Vec::with_capacity(stages.len());
        for (i, (st, fmt)) in stages.iter().zip(&cfg.stages).enumerate() {
            if fmt.w.split != cfg.split || fmt.a.split != cfg.split {
                bail!("stage {i}: formats must use the shared split {}", cfg.split);
            }
            let (w, b) = model.params(st.layer);
            let mut w_sat = 0;
            let mut w_words = Vec::with_capacity(w.len());
            for (j, &x) in w.iter().enumerate() {
                let r = encode_full(x, &fmt.w)
                    .with_context(|| format!("layer {} weight {j}", st.layer))?;
                w_sat += r.saturated as usize;
                w_words.push(r.word);
            }
            let w_ops: Vec<Operand> = w_words
                .iter()
                .map(|wd| Operand::of(&cfg.split, wd))
                .collect();
            let len = st.dot_len(model);
            let (w16, wz) = if fits_i16_i32(&cfg.split, len) {
                w_ops
                    .iter()
                    .map(|o: &Operand| ([o.q as i16, o.est as i16], o.zero as u8))
                    .unzip()
            } else {
                (Vec::new(), Vec::new())
            };
            let f_in = fmt.w.fb + fmt.a.fb + g;
            let bias = b
                .iter()
                .map(|&x| bias_to_sum(x, f_in).with_context(|| format!("layer {} bias", st.layer)))
                .collect::<Result<Vec<_>>>()?;
            let (out_ch, kernel, padding, stride) = match &model.layers[st.layer] {
                Layer::Conv2d {
                    out_ch,
                    kernel,
                    padding,
                    stride,
                    ..
                } => (*out_ch, *kernel, *padding, *stride),
                Layer::Dense { out, .. } => (*out, 0, 0, 1),
                _ => (0, 0, 0, 1),
            };
            qs.push(QStage {
                len,
                st: st.clone(),
                fmt: *fmt,
                f_in,
                w_words,
                w_ops,
                bias,
                out_ch,
                kernel,
                w_sat,
                w16,
                wz,
                rf_idx: rf_table(st, kernel, padding, stride)?,
            });
        }
        Ok(QuantModel {
            cfg: cfg.clone(),
            stages: qs,
            classes: model.classes(),
        })
    }

    /// Static MACs per inference, per stage.
    pub fn macs(&self) -> Vec<u64> {
        self.stages
            .iter()
            .map(|s| (s.st.dots() * s.len) as u64)
            .collect()
    }

    /// Number of stages.
    pub fn num_stages(&self) -> usize {
        self.stages.len()
    }

    /// Receptive-field gather for output position (y, x) of a conv stage,
    /// in (c, ky, kx) order, padding positions as `pad` (from the stage's
    /// index table, see [`rf_table`]).
    fn gather<T: Copy>(s: &QStage, input: &[T], pad: T, y: usize, x: usize, out: &mut Vec<T>) {
        let pos = y * s.st.mac_shape[2] + x;
        out.clear();
        out.extend(s.rf_idx[pos * s.len..(pos + 1) * s.len].iter().map(|&i| {
            if i == RF_PAD {
                pad
            } else {
                input[i as usize]
            }
        }));
    }

    /// Requantizes the sums of stage `si - 1` into stage `si`'s input words
    /// (counting saturations in `st`, the statistics of stage `si`).
    fn requant_into(&self, si: usize, sums: &[i64], st: &mut LayerStats) -> Vec<Word> {
        let prev = &self.stages[si - 1];
        let next = &self.stages[si].fmt.a;
        st.activations += sums.len() as u64;
        sums.iter()
            .map(|&v| {
                let r = requant(v, prev.f_in, next, prev.st.relu);
                st.act_saturations += r.saturated as u64;
                r.word
            })
            .collect()
    }

    /// Runs one image. `stats` (one per stage) are accumulated; when
    /// `export` is `Some((k, sink))`, every dot product of stage k is pushed.
    fn run(
        &self,
        img: &[f64],
        stats: &mut [LayerStats],
        export: Option<(usize, usize, &mut Vec<DotRecord>)>,
    ) -> Result<usize> {
        match self.run_from(Entry::Image(img), stats, export, None, true)? {
            Out::Class(c) => Ok(c),
            Out::Sums(_) => bail!("internal: run stopped early"),
        }
    }

    /// The stage loop behind [`Self::run`]: starts at stage 0 from an image
    /// or at stage k from the sums of stage k - 1 (bias added, pooled, not
    /// yet requantized; see [`StageEntry`]); stops after stage `stop` with
    /// its sums, else returns the class. `pair_stats`: count the sparse
    /// pairs (off for accuracy-only runs; the result is the same).
    /// The stage an entry starts at and its input words (an image encoded in
    /// the first layer's input format, or stage k's sums requantized).
    fn enter(&self, entry: Entry<'_>, stats: &mut [LayerStats]) -> Result<(usize, Vec<Word>)> {
        Ok(match entry {
            Entry::Image(img) => {
                // Encode the first layer's inputs.
                let f0 = &self.stages[0].fmt.a;
                let mut words = Vec::with_capacity(img.len());
                for &x in img {
                    let r = encode_full(x, f0).context("input pixel")?;
                    stats[0].act_saturations += r.saturated as u64;
                    words.push(r.word);
                }
                stats[0].activations += img.len() as u64;
                (0, words)
            }
            Entry::Sums(k, sums) => {
                if k == 0 || k >= self.stages.len() {
                    bail!("internal: cannot enter stage {k} from sums");
                }
                (k, self.requant_into(k, sums, &mut stats[k]))
            }
        })
    }

    fn run_from(
        &self,
        entry: Entry<'_>,
        stats: &mut [LayerStats],
        mut export: Option<(usize, usize, &mut Vec<DotRecord>)>,
        stop: Option<usize>,
        pair_stats: bool,
    ) -> Result<Out> {
        let split = self.cfg.split;
        let g = split.g();
        let count_sparse = split.z() && pair_stats;
        let (start, mut words) = self.enter(entry, stats)?;
        let mut rf_ops: Vec<Operand> = Vec::new();
        let mut rf_words: Vec<Word> = Vec::new();
        let mut rf16: Vec<[i16; 2]> = Vec::new();
        let mut rfz: Vec<u8> = Vec::new();
        for (si, s) in self.stages.iter().enumerate().skip(start) {
            let ops: Vec<Operand> = words.iter().map(|w| Operand::of(&split, w)).collect();
            let fast = !s.w16.is_empty();
            let (a16, az): (Vec<[i16; 2]>, Vec<u8>) = if fast {
                ops.iter().map(|o| (act16(g, o), o.zero as u8)).unzip()
            } else {
                (Vec::new(), Vec::new())
            };
            let want_export = matches!(&export, Some((k, _, _)) if *k == si);
            let ndots = s.st.dots();
            let mut sums = vec![0i64; ndots];
            let st = &mut stats[si];
            let mut dot_one = |o: usize,
                               a: (&[Operand], &[[i16; 2]], &[u8]),
                               a_words: &[Word],
                               out_idx: usize| {
                let r = o * s.len..(o + 1) * s.len;
                let sum = if fast {
                    if count_sparse {
                        st.sparse_pairs += sparse16(&s.wz[r.clone()], a.2);
                    }
                    dot16(&s.w16[r.clone()], a.1)
                } else {
                    let wrow = &s.w_ops[r.clone()];
                    if count_sparse {
                        st.sparse_pairs += wrow
                            .iter()
                            .zip(a.0)
                            .filter(|(w, a)| w.zero && a.zero)
                            .count() as u64;
                    }
                    golden::dot(g, wrow, a.0)
                };
                st.pairs += s.len as u64;
                if want_export {
                    if let Some((_, img_idx, sink)) = export.as_mut() {
                        let wwords = &s.w_words[r];
                        sink.push(DotRecord {
                            image: *img_idx,
                            output: out_idx,
                            pairs: wwords
                                .iter()
                                .zip(a_words)
                                .map(|(w, a)| (golden::pack(&split, w), golden::pack(&split, a)))
                                .collect(),
                            sum,
                        });
                    }
                }
                sum
            };
            if s.kernel == 0 {
                for (o, v) in sums.iter_mut().enumerate() {
                    *v = dot_one(o, (&ops, &a16, &az), &words, o);
                }
            } else {
                let pad_w = encode_full(0.0, &s.fmt.a).context("padding")?.word;
                let pad_o = Operand::of(&split, &pad_w);
                let [_, oh, ow] = s.st.mac_shape;
                for y in 0..oh {
                    for x in 0..ow {
                        if fast {
                            Self::gather(s, &a16, act16(g, &pad_o), y, x, &mut rf16);
                            Self::gather(s, &az, pad_o.zero as u8, y, x, &mut rfz);
                        } else {
                            Self::gather(s, &ops, pad_o, y, x, &mut rf_ops);
                        }
                        if want_export {
                            Self::gather(s, &words, pad_w, y, x, &mut rf_words);
                        }
                        for o in 0..s.out_ch {
                            let idx = (o * oh + y) * ow + x;
                            sums[idx] = dot_one(o, (&rf_ops, &rf16, &rfz), &rf_words, idx);
                        }
                    }
                }
            }
            // Bias in sum units.
            let per_ch = ndots / s.out_ch;
            for (i, v) in sums.iter_mut().enumerate() {
                *v = v.saturating_add(s.bias[i / per_ch]);
            }
            if let Some(p) = s.st.pool {
                sums = maxpool(&sums, s.st.mac_shape, p).0;
            }
            if stop == Some(si) {
                return Ok(Out::Sums(sums));
            }
            if si + 1 == self.stages.len() {
                return Ok(Out::Class(argmax(&sums[..self.classes.min(sums.len())])));
            }
            words = self.requant_into(si + 1, &sums, &mut stats[si + 1]);
        }
        bail!("model has no stages")
    }

    /// The entries of stage `k` for every image of `data`: the sums of
    /// stage k - 1 (see [`StageEntry`]). Stages 0..k of this model must
    /// equal those of the model that later resumes from them.
    pub fn stage_entries(&self, k: usize, data: &Dataset) -> Result<StageEntry> {
        if k == 0 || k >= self.stages.len() {
            bail!(
                "stage entries exist for stages 1..{} only, not {k}",
                self.stages.len()
            );
        }
        let n = self.stages.len();
        let sums = data
            .images
            .par_iter()
            .map(|img| {
                let mut st = vec![LayerStats::default(); n];
                match self.run_from(Entry::Image(img), &mut st, None, Some(k - 1), false)? {
                    Out::Sums(s) => Ok(s),
                    Out::Class(_) => bail!("internal: run did not stop at stage {}", k - 1),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(StageEntry {
            stage: k,
            cfg: self.cfg.stages[..k].to_vec(),
            sums,
        })
    }

    /// Correctly classified samples of `data` (accuracy only, no
    /// statistics), resuming at `entry.stage` from `entry` when given (it
    /// must come from [`Self::stage_entries`] of a configuration whose
    /// stages before `entry.stage` are this one's, and from the same
    /// `data`), else from the images. Same count as [`Self::evaluate`].
    pub fn count_correct(&self, data: &Dataset, entry: Option<&StageEntry>) -> Result<usize> {
        let n = self.stages.len();
        if let Some(e) = entry {
            if e.sums.len() != data.len() || e.cfg[..] != self.cfg.stages[..e.stage.min(n)] {
                bail!("internal: stage entries do not match this configuration or data");
            }
        }
        data.images
            .par_iter()
            .zip(data.labels.par_iter())
            .enumerate()
            .map(|(i, (img, &lab))| {
                let mut st = vec![LayerStats::default(); n];
                let from = match entry {
                    Some(e) => Entry::Sums(e.stage, &e.sums[i]),
                    None => Entry::Image(img),
                };
                match self.run_from(from, &mut st, None, None, false)? {
                    Out::Class(c) => Ok((c == lab as usize) as usize),
                    Out::Sums(_) => bail!("internal: run stopped early"),
                }
            })
            .try_reduce(|| 0, |a, b| Ok(a + b))
    }

    /// Quantized accuracy and statistics on a data set (parallel over images;
    /// the result does not depend on the thread count).
    pub fn evaluate(&self, data: &Dataset) -> Result<QuantEval> {
        evaluate_images(
            data,
            self.stages.iter().map(|s| s.w_sat as u64),
            |img, st| self.run(img, st, None),
        )
    }

    /// Classifies one image (no statistics).
    pub fn classify(&self, img: &[f64]) -> Result<usize> {
        let mut st = vec![LayerStats::default(); self.stages.len()];
        self.run(img, &mut st, None)
    }

    /// Operand export for hardware in the loop: every dot product of stage
    /// `k` (0-based, counting conv2d/dense layers only) over `images`, with
    /// packed (w, a) words and the expected `sum` before bias. Ordered by
    /// image, then output index (`[out_ch][y][x]`).
    pub fn layer_dot_products(&self, k: usize, images: &[Vec<f64>]) -> Result<Vec<DotRecord>> {
        if k >= self.stages.len() {
            bail!(
                "layer {k} does not exist: the model has {} MAC layers (0..={})",
                self.stages.len(),
                self.stages.len() - 1
            );
        }
        let mut out = Vec::new();
        for (i, img) in images.iter().enumerate() {
            let mut st = vec![LayerStats::default(); self.stages.len()];
            self.run(img, &mut st, Some((k, i, &mut out)))?;
        }
        out.sort_by_key(|r| (r.image, r.output));
        Ok(out)
    }

    /// Stage formats and F_in, for reports.
    pub fn stage_info(&self) -> Vec<(StageFormats, i32)> {
        self.stages.iter().map(|s| (s.fmt, s.f_in)).collect()
    }
}
