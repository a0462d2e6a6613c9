//! FPEC-Opt over a [`Graph`] (any network, e.g. an imported ResNet): the
//! search of [`crate::dnn::opt`] (same sweep, same report types) on the
//! graph engine, with the calibration method of both FxP and FPEC chosen
//! by the caller ([`CalibMethod`]), the threshold trials run on a
//! calibration subset, hopeless candidates stopped on a test subset, and
//! the test set streamed once per surviving candidate.
//!
//! Per configuration: FB per tensor by `method` (and, with
//! [`WeightFb::PerChannel`], FBw per output channel by the same method);
//! all T start at 0; then,
//! MAC layer by MAC layer, weights then activations, T is raised one step at
//! a time (up to 32) while the accuracy on the first `tune_images`
//! calibration images stays within `budget` of the float accuracy on them.
//! Early stop, before the threshold trials: a configuration whose accuracy
//! at T = 0 on the first `early_images` test images is more than
//! `budget + early_margin` points below the float accuracy there is reported
//! with that subset accuracy (untuned), marked `stopped_early`, never within
//! budget. Energy per inference = sum over
//! layers of MACs x energy per MAC from [`MacEnergy`], given at most
//! `max_dots` dot products per layer (evenly spaced) of the first
//! `activity_images` test images.

use crate::dnn::data::{Dataset, Source};
use crate::dnn::gquant::{
    choose_fbs, config_from_fbs, float_correct_source, with_channel_fbs, CalibMethod, Engine,
    QuantGraph, WeightFb,
};
use crate::dnn::graph::{percent, Graph};
use crate::dnn::opt::{
    summarize, sweep_splits, ConfigResult, LayerChoice, MacEnergy, OptOptions, OptReport,
};
use crate::dnn::quant::{QuantConfig, Ranges};
use crate::format::Split;
use anyhow::{Context, Result};
use std::collections::HashMap;

/// Graph-specific options of the search.
#[derive(Debug, Clone)]
pub struct GraphOptOptions {
    /// FB method (FxP and FPEC alike).
    pub method: CalibMethod,
    /// FBw per layer or per output channel (FxP and FPEC alike).
    pub weight_fb: WeightFb,
    /// Calibration images used by the threshold trials.
    pub tune_images: usize,
    /// Test images of the early-stop check (0: no early stop).
    pub early_images: usize,
    /// Margin (points) beyond the budget before a candidate is stopped.
    pub early_margin: f64,
    /// Dot products per layer given to the energy model.
    pub max_dots: usize,
    /// Only configurations whose index i satisfies i % n == k (`--shard k/n`).
    pub shard: (usize, usize),
    /// Print each phase's wall time on stderr (`--timings`).
    pub timings: bool,
}

/// Phase wall times on stderr when enabled (`dnn opt --timings`).
struct Timer {
    on: bool,
    t: std::time::Instant,
}

impl Timer {
    fn new(on: bool) -> Self {
        Timer {
            on,
            t: std::time::Instant::now(),
        }
    }
    /// Prints `what` and the time since the last lap, and restarts.
    fn lap(&mut self, what: impl FnOnce() -> String) {
        if self.on {
            eprintln!(
                "timing: {:>8.2} s  {}",
                self.t.elapsed().as_secs_f64(),
                what()
            );
        }
        self.t = std::time::Instant::now();
    }
}

fn acc(qm: &QuantGraph, d: &Dataset) -> Result<f64> {
    Ok(100.0 * qm.count_correct(d)? as f64 / d.len().max(1) as f64)
}

/// Raises T layer by layer while the tuning accuracy stays >= `floor`
/// ([`crate::dnn::opt::raise_thresholds`], the search of both engines).
/// A trial of stage s > 0 resumes from the images run up to that stage's
/// node under the accepted formats ([`QuantGraph::cut`]): the same count as
/// a full run, since nothing before it depends on stage s.
fn tune(graph: &Graph, cfg: QuantConfig, tune: &Dataset, floor: f64) -> Result<(QuantConfig, f64)> {
    let best = acc(&QuantGraph::new(graph, &cfg, Engine::Gemm)?, tune)?;
    let mut cut: Option<(usize, crate::dnn::gquant::Cut)> = None;
    let n = tune.len().max(1) as f64;
    crate::dnn::opt::raise_thresholds(cfg, best, floor, |trial, s| {
        let q = QuantGraph::new(graph, trial, Engine::Gemm)?;
        if s == 0 {
            return acc(&q, tune);
        }
        let here = match cut.take() {
            Some((k, c)) if k == s => c,
            _ => q.cut(s, tune)?,
        };
        let c = q.count_correct_from(tune, &here)?;
        cut = Some((s, here));
        Ok(100.0 * c as f64 / n)
    })
}

/// Energy per MAC of each layer from at most `max_dots` dot products
/// (evenly spaced, [`QuantGraph::sampled_dot_products`]); the layers'
/// simulator runs in parallel (each is one single-threaded process).
fn layer_energy(
    qm: &QuantGraph,
    split: &Split,
    activity: &Dataset,
    energy: &dyn MacEnergy,
    max_dots: usize,
) -> Result<Vec<f64>> {
    use rayon::prelude::*;
    let layers = qm.sampled_dot_products(&activity.images, max_dots)?;
    layers
        .into_par_iter()
        .enumerate()
        .map(|(k, recs)| {
            let dots: Vec<Vec<(u32, u32)>> = recs.into_iter().map(|r| r.pairs).collect();
            energy
                .energy_fj_per_mac(split, &dots)
                .with_context(|| format!("energy of {split}, layer {k}"))
        })
        .collect()
}

/// Everything one configuration needs that does not depend on it.
struct Ctx<'a> {
    graph: &'a Graph,
    calib: &'a Dataset,
    test: &'a dyn Source,
    early: Dataset,
    float_early: f64,
    float_test: f64,
    floor_tune: f64,
    activity: Dataset,
    tune_set: Dataset,
}

fn run_config(
    c: &Ctx,
    split: Split,
    fbs: &(Vec<(i32, i32)>, Vec<Vec<i32>>),
    energy: &dyn MacEnergy,
    opts: &OptOptions,
    go: &GraphOptOptions,
) -> Result<ConfigResult> {
    let base = with_channel_fbs(config_from_fbs(split, &fbs.0, Some((0, 0)))?, fbs.1.clone())?;
    // Early stop before the threshold trials: raising T never makes a
    // configuration more accurate than its T = 0 base by design (the trials
    // keep the tuning accuracy within budget), so a base that is hopeless on
    // the early subset is reported as it is, untuned.
    let mut tm = Timer::new(go.timings);
    let q0 = QuantGraph::new(c.graph, &base, Engine::Gemm)?;
    let hopeless =
        go.early_images > 0 && acc(&q0, &c.early)? < c.float_early - opts.budget - go.early_margin;
    tm.lap(|| format!("{split}: early check on {} test images", c.early.len()));
    let (qm, cal_acc, ev) = if hopeless {
        let ev = q0.evaluate(&c.early)?;
        let cal = acc(&q0, &c.tune_set)?;
        tm.lap(|| format!("{split}: stopped early, its subset and tuning accuracy"));
        (q0, cal, ev)
    } else {
        let (cfg, cal_acc) = tune(c.graph, base, &c.tune_set, c.floor_tune)
            .with_context(|| format!("tuning {split}"))?;
        tm.lap(|| format!("{split}: threshold trials"));
        let qm = QuantGraph::new(c.graph, &cfg, Engine::Gemm)?;
        let ev = qm
            .evaluate_source(c.test, &crate::dnn::progress::Progress::hidden())?
            .0;
        tm.lap(|| format!("{split}: test set ({} images)", c.test.len()));
        (qm, cal_acc, ev)
    };
    let stopped = hopeless;
    let macs = qm.macs();
    let e = layer_energy(&qm, &split, &c.activity, energy, go.max_dots)?;
    tm.lap(|| format!("{split}: energy model"));
    let layers = qm
        .stage_info()
        .iter()
        .enumerate()
        .map(|(k, (fmt, _))| LayerChoice {
            fb_w: fmt.w.fb,
            fb_w_channels: qm.cfg.w_channel_fb.get(k).cloned().unwrap_or_default(),
            fb_a: fmt.a.fb,
            t_w: fmt.w.t,
            t_a: fmt.a.t,
            macs: macs[k],
            energy_fj_per_mac: e[k],
            sparsity: ev.layers[k].sparsity(),
        })
        .collect();
    let _ = c.calib;
    Ok(ConfigResult {
        bits: if stopped {
            format!("{split} (stopped early)")
        } else {
            split.to_string()
        },
        fxp: split.is_fxp(),
        accuracy: ev.accuracy,
        calibration_accuracy: cal_acc,
        energy_fj_per_inference: e.iter().zip(&macs).map(|(e, m)| e * *m as f64).sum(),
        sparsity: ev.sparsity(),
        within_budget: !stopped && ev.accuracy >= c.float_test - opts.budget,
        layers,
        pareto: false,
    })
}

/// Runs FPEC-Opt on `graph` (calibration set in memory, test set streamed).
pub fn run_opt_graph(
    graph: &Graph,
    calib: &Dataset,
    ranges: &Ranges,
    test: &dyn Source,
    energy: &dyn MacEnergy,
    opts: &OptOptions,
    go: &GraphOptOptions,
) -> Result<OptReport> {
    let mut tm = Timer::new(go.timings);
    let tune_set = calib.take(go.tune_images.max(1));
    let early = test.batch(0, go.early_images.min(test.len()))?;
    let activity = test.batch(0, opts.activity_images.max(1).min(test.len()))?;
    // One float pass over each set: the tuning set is the calibration set's
    // head and the early subset the test set's, so their accuracies come
    // from the same per-image decisions.
    let cal_correct = graph.float_correct(calib)?;
    let float_cal = percent(&cal_correct);
    tm.lap(|| format!("float accuracy on {} calibration images", calib.len()));
    let (float_test, test_correct) = float_correct_source(graph, test)?;
    let c = Ctx {
        graph,
        calib,
        test,
        float_early: percent(&test_correct[..early.len()]),
        float_test,
        floor_tune: percent(&cal_correct[..tune_set.len()]) - opts.budget,
        early,
        activity,
        tune_set,
    };
    tm.lap(|| format!("float accuracy on the test set ({} images)", test.len()));
    let splits: Vec<Split> = sweep_splits()?
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % go.shard.1 == go.shard.0)
        .map(|(_, s)| s)
        .collect();
    // The synthesized MACs of every configuration, two at a time (each
    // synthesis and simulator build is one single-threaded process).
    {
        use rayon::prelude::*;
        let bar = crate::dnn::progress::Progress::new(splits.len() as u64, "energy models");
        splits.par_iter().try_for_each(|s| {
            energy.prepare(s)?;
            bar.inc(1);
            Ok::<_, anyhow::Error>(())
        })?;
        bar.finish();
    }
    tm.lap(|| format!("energy models of {} configurations", splits.len()));
    type Fbs = (Vec<(i32, i32)>, Vec<Vec<i32>>);
    let mut fb_cache: HashMap<u32, Fbs> = HashMap::new();
    let bar = crate::dnn::progress::Progress::new(splits.len() as u64, "FPEC-Opt configs");
    let mut configs = Vec::new();
    for split in splits {
        if let std::collections::hash_map::Entry::Vacant(e) = fb_cache.entry(split.w) {
            let chan = go.weight_fb.channel_fbs(graph, split.w, go.method)?;
            e.insert((choose_fbs(graph, calib, ranges, split.w, go.method)?, chan));
            tm.lap(|| format!("FB choice for W = {}", split.w));
        }
        let name = split.to_string();
        configs.push(run_config(
            &c,
            split,
            &fb_cache[&split.w],
            energy,
            opts,
            go,
        )?);
        bar.inc(1);
        tm.lap(|| format!("{name}: whole configuration (FB choice excluded)"));
    }
    bar.finish();
    let mut r = summarize(
        configs,
        energy.describe(),
        c.float_test,
        float_cal,
        opts.budget,
    );
    r.calibration = Some(format!(
        "FB per tensor by {} over {} calibration images; T tuned on the first {}; early stop on the first {} test images (margin {} pp); weights {}",
        go.method.name(),
        calib.len(),
        c.tune_set.len(),
        c.early.len(),
        go.early_margin,
        match go.weight_fb {
            WeightFb::PerTensor => "per tensor",
            WeightFb::PerChannel => "per output channel (FBw per channel by the same method, one Tw per layer; the table shows each layer's FBw range over its channels, the JSON every channel's FBw)",
        }
    ));
    Ok(r)
}
