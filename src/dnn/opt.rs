//! FPEC-Opt: sweep hardware configurations, tune per-layer zero thresholds on
//! the calibration split, and cost each configuration with a [`MacEnergy`]
//! model.
//!
//! Per configuration: FB per layer and operand from calibration ranges (the
//! rule in [`crate::dnn::quant`]); all T start at 0; then, layer by layer,
//! weights then activations, T is raised one step at a time (up to 32) as
//! long as calibration accuracy stays within `budget` percentage points of
//! the float calibration accuracy (the first step that leaves the budget
//! stops that operand). Reported accuracy, sparsity and energy are measured
//! on the test split; "within budget" means test accuracy >= float test
//! accuracy - budget. Energy per inference = sum over layers of
//! MACs x energy per MAC, the latter from [`MacEnergy`] given that layer's
//! packed operand pairs (the dot products of the first `activity_images` test images).

use crate::dnn::data::Dataset;
use crate::dnn::model::{float_accuracy, Model};
use crate::dnn::quant::{calibrate, QuantConfig, QuantModel, StageEntry};
use crate::format::{Comp, Split};
use crate::plot::{Axis, Chart, HLine, Line, Marker, Point, Series, PALETTE};
use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use super::energy_model::{real_mac_energy, AnalyticTestDouble, MacEnergy};

/// The configurations FPEC-Opt sweeps: FxP W = 4..=16, FPEC W = 3..=8 with
/// each canonical compensation set C = 1..=4.
pub fn sweep_splits() -> Result<Vec<Split>> {
    let mut v = Vec::new();
    for w in 4..=16 {
        v.push(Split::fxp(w)?);
    }
    for w in 3..=8 {
        for c in 1..=4 {
            v.push(Split::new(w, Some(Comp::canonical(c)?))?);
        }
    }
    Ok(v)
}

/// Options of a sweep.
#[derive(Debug, Clone)]
pub struct OptOptions {
    /// Accuracy budget in percentage points vs float.
    pub budget: f64,
    /// Test images whose operand pairs are given to the energy model.
    pub activity_images: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// One evaluated configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigResult {
    /// `W+C`.
    pub bits: String,
    /// FxP or FPEC.
    pub fxp: bool,
    /// Test accuracy (percent).
    pub accuracy: f64,
    /// Calibration accuracy after threshold tuning (percent).
    pub calibration_accuracy: f64,
    /// Energy per inference (fJ).
    pub energy_fj_per_inference: f64,
    /// Compensation sparsity on the test split.
    pub sparsity: f64,
    /// Test accuracy >= float test accuracy - budget.
    pub within_budget: bool,
    /// Per layer: (FBw, FBa, Tw, Ta).
    pub layers: Vec<LayerChoice>,
    /// On the accuracy/energy Pareto front.
    pub pareto: bool,
}

/// Per-layer choices of a configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerChoice {
    /// Weight FB (per-channel weight formats: the largest channel's).
    pub fb_w: i32,
    /// Per-channel weight formats: FBw per output channel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fb_w_channels: Vec<i32>,
    /// Activation FB.
    pub fb_a: i32,
    /// Weight T.
    pub t_w: u32,
    /// Activation T.
    pub t_a: u32,
    /// MACs per inference.
    pub macs: u64,
    /// Energy per MAC (fJ).
    pub energy_fj_per_mac: f64,
    /// Sparsity of this layer on the test split.
    pub sparsity: f64,
}

/// Short summary of one configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pick {
    /// `W+C`.
    pub bits: String,
    /// Test accuracy.
    pub accuracy: f64,
    /// Energy per inference (fJ).
    pub energy_fj_per_inference: f64,
}

/// The whole sweep.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OptReport {
    /// Energy model description.
    pub energy_model: String,
    /// Float test accuracy.
    pub float_accuracy: f64,
    /// Float calibration accuracy.
    pub float_calibration_accuracy: f64,
    /// Budget (percentage points).
    pub budget: f64,
    /// Every configuration.
    pub configs: Vec<ConfigResult>,
    /// Cheapest FPEC within budget.
    pub best_fpec: Option<Pick>,
    /// Cheapest FxP within budget.
    pub best_fxp: Option<Pick>,
    /// FxP 8-bit.
    pub fxp8: Option<Pick>,
    /// FxP 16-bit.
    pub fxp16: Option<Pick>,
    /// best FPEC energy / FxP 8 energy.
    pub ratio_vs_fxp8: Option<f64>,
    /// best FPEC energy / FxP 16 energy.
    pub ratio_vs_fxp16: Option<f64>,
    /// best FPEC energy / cheapest FxP within budget (iso-accuracy).
    pub ratio_vs_best_fxp: Option<f64>,
    /// How FB was chosen (graph searches; the same for FxP and FPEC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<String>,
}

fn pick(c: &ConfigResult) -> Pick {
    Pick {
        bits: c.bits.clone(),
        accuracy: c.accuracy,
        energy_fj_per_inference: c.energy_fj_per_inference,
    }
}

/// The threshold search shared by both engines: for each stage in order,
/// raises its Tw, then its Ta, one step at a time (at most to 32) while
/// `accuracy(trial, stage)` stays >= `floor`, keeping the last trial that
/// did. A trial differs from the kept configuration only in that stage's T.
pub(crate) fn raise_thresholds(
    mut cfg: QuantConfig,
    mut acc: f64,
    floor: f64,
    mut accuracy: impl FnMut(&QuantConfig, usize) -> Result<f64>,
) -> Result<(QuantConfig, f64)> {
    if !cfg.split.z() {
        return Ok((cfg, acc));
    }
    for s in 0..cfg.stages.len() {
        for operand in 0..2 {
            loop {
                let (tw, ta) = (cfg.stages[s].w.t, cfg.stages[s].a.t);
                let cur = if operand == 0 { tw } else { ta };
                if cur >= 32 {
                    break;
                }
                let mut trial = cfg.clone();
                if operand == 0 {
                    trial.set_t(s, tw + 1, ta)?;
                } else {
                    trial.set_t(s, tw, ta + 1)?;
                }
                let a = accuracy(&trial, s)?;
                if a < floor {
                    break;
                }
                cfg = trial;
                acc = a;
            }
        }
    }
    Ok((cfg, acc))
}

fn tune(
    model: &Model,
    base: QuantConfig,
    calib: &Dataset,
    floor: f64,
) -> Result<(QuantConfig, f64)> {
    // Accuracy as `QuantModel::evaluate` computes it; a trial that changes
    // stage s resumes from the cached entries of stage s (the stages before
    // it are fixed by then, and equal in every trial of stage s), which
    // gives the same count as a full run.
    let acc_of = |cfg: &QuantConfig, entry: Option<&StageEntry>| -> Result<f64> {
        let c = QuantModel::new(model, cfg)?.count_correct(calib, entry)?;
        Ok(100.0 * c as f64 / calib.len().max(1) as f64)
    };
    let acc = acc_of(&base, None)?;
    let mut cached: Option<(usize, StageEntry)> = None;
    raise_thresholds(base, acc, floor, |trial, s| {
        if s == 0 {
            return acc_of(trial, None);
        }
        if cached.as_ref().map(|(k, _)| *k) != Some(s) {
            cached = Some((s, QuantModel::new(model, trial)?.stage_entries(s, calib)?));
        }
        acc_of(trial, cached.as_ref().map(|(_, e)| e))
    })
}

/// Runs FPEC-Opt on `model` with the fixed calibration and test splits.
pub fn run_opt(
    model: &Model,
    calib: &Dataset,
    test: &Dataset,
    energy: &dyn MacEnergy,
    opts: &OptOptions,
) -> Result<OptReport> {
    let ranges = calibrate(model, calib)?;
    let float_cal = float_accuracy(model, calib)?;
    let float_test = float_accuracy(model, test)?;
    let floor_cal = float_cal - opts.budget;
    let splits = sweep_splits()?;
    let bar = if opts.progress {
        indicatif::ProgressBar::new(splits.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("FPEC-Opt {bar:30} {pos}/{len} configs {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let activity = test.take(opts.activity_images.max(1));
    let configs = splits
        .par_iter()
        .map(|split| -> Result<ConfigResult> {
            let base = QuantConfig::from_ranges(*split, &ranges, Some((0, 0)))?;
            let (cfg, cal_acc) =
                tune(model, base, calib, floor_cal).with_context(|| format!("tuning {split}"))?;
            let qm = QuantModel::new(model, &cfg)?;
            let ev = qm.evaluate(test)?;
            let macs = qm.macs();
            let mut layers = Vec::new();
            let mut energy_inf = 0.0;
            for (k, ((fmt, _), m)) in qm.stage_info().iter().zip(&macs).enumerate() {
                let recs = qm.layer_dot_products(k, &activity.images)?;
                let dots: Vec<Vec<(u32, u32)>> = recs.into_iter().map(|r| r.pairs).collect();
                let e = energy
                    .energy_fj_per_mac(split, &dots)
                    .with_context(|| format!("energy of {split}, layer {k}"))?;
                energy_inf += e * *m as f64;
                layers.push(LayerChoice {
                    fb_w_channels: Vec::new(),
                    fb_w: fmt.w.fb,
                    fb_a: fmt.a.fb,
                    t_w: fmt.w.t,
                    t_a: fmt.a.t,
                    macs: *m,
                    energy_fj_per_mac: e,
                    sparsity: ev.layers[k].sparsity(),
                });
            }
            bar.inc(1);
            Ok(ConfigResult {
                bits: split.to_string(),
                fxp: split.is_fxp(),
                accuracy: ev.accuracy,
                calibration_accuracy: cal_acc,
                energy_fj_per_inference: energy_inf,
                sparsity: ev.sparsity(),
                within_budget: ev.accuracy >= float_test - opts.budget,
                layers,
                pareto: false,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    bar.finish_and_clear();
    Ok(summarize(
        configs,
        energy.describe(),
        float_test,
        float_cal,
        opts.budget,
    ))
}

/// Pareto flags, the picks and the ratios of a search's configurations (both
/// engines' searches and the shard merge). Pareto front: no other config is
/// at most as costly and strictly more accurate, or strictly cheaper and at
/// least as accurate.
pub fn summarize(
    mut configs: Vec<ConfigResult>,
    energy_model: String,
    float_test: f64,
    float_cal: f64,
    budget: f64,
) -> OptReport {
    let snapshot: Vec<(f64, f64)> = configs
        .iter()
        .map(|c| (c.energy_fj_per_inference, c.accuracy))
        .collect();
    for (i, c) in configs.iter_mut().enumerate() {
        let (e, a) = snapshot[i];
        c.pareto = !snapshot
            .iter()
            .enumerate()
            .any(|(j, &(e2, a2))| j != i && ((e2 <= e && a2 > a) || (e2 < e && a2 >= a)));
    }
    let cheapest = |fxp: bool| {
        configs
            .iter()
            .filter(|c| c.fxp == fxp && c.within_budget)
            .min_by(|a, b| {
                a.energy_fj_per_inference
                    .total_cmp(&b.energy_fj_per_inference)
            })
            .map(pick)
    };
    let best_fpec = cheapest(false);
    let best_fxp = cheapest(true);
    let find = |b: &str| configs.iter().find(|c| c.bits == b).map(pick);
    let (fxp8, fxp16) = (find("8+0"), find("16+0"));
    let ratio = |base: &Option<Pick>| match (&best_fpec, base) {
        (Some(f), Some(b)) if b.energy_fj_per_inference > 0.0 => {
            Some(f.energy_fj_per_inference / b.energy_fj_per_inference)
        }
        _ => None,
    };
    OptReport {
        energy_model,
        float_accuracy: float_test,
        float_calibration_accuracy: float_cal,
        budget,
        ratio_vs_fxp8: ratio(&fxp8),
        ratio_vs_fxp16: ratio(&fxp16),
        ratio_vs_best_fxp: ratio(&best_fxp),
        calibration: None,
        configs,
        best_fpec,
        best_fxp,
        fxp8,
        fxp16,
    }
}

/// The report as JSON (the keys of `fpec dnn opt --json`).
pub fn report_json(r: &OptReport) -> Result<String> {
    Ok(serde_json::to_string_pretty(r)? + "\n")
}

fn fmt_pick(p: &Option<Pick>) -> String {
    match p {
        Some(p) => format!(
            "{} ({:.2} %, {:.1} fJ/inference)",
            p.bits, p.accuracy, p.energy_fj_per_inference
        ),
        None => "none".into(),
    }
}

/// The Markdown report.
pub fn report_md(r: &OptReport, model_name: &str) -> String {
    let mut s = format!(
        "# FPEC-Opt report: {model_name}\n\n\
         Energy model: {}\n\n\
         Float accuracy (test split): {:.2} %; budget: {} percentage points.\n\n\
         - Cheapest FxP within budget: {}\n- Cheapest FPEC within budget: {}\n\
         - FxP 8: {}\n- FxP 16: {}\n",
        r.energy_model,
        r.float_accuracy,
        r.budget,
        fmt_pick(&r.best_fxp),
        fmt_pick(&r.best_fpec),
        fmt_pick(&r.fxp8),
        fmt_pick(&r.fxp16)
    );
    if let Some(c) = &r.calibration {
        s += &format!("- Calibration (FxP and FPEC alike): {c}\n");
    }
    let f = |x: Option<f64>| x.map_or("n/a".into(), |v| format!("{v:.3}"));
    s += &format!(
        "- Best FPEC energy / FxP 8: {}; / FxP 16: {}; / cheapest FxP within budget: {}\n",
        f(r.ratio_vs_fxp8),
        f(r.ratio_vs_fxp16),
        f(r.ratio_vs_best_fxp)
    );
    let g = |x: Option<f64>| x.map_or("n/a".into(), |v| format!("{:.2}x", 1.0 / v));
    s += &format!(
        "- **Gain of the cheapest FPEC within budget** (energy of the baseline / FPEC's; > 1x: FPEC is cheaper): \
         over FxP 8 {}, over FxP 16 {}, over the cheapest FxP within the same budget {}\n\n",
        g(r.ratio_vs_fxp8),
        g(r.ratio_vs_fxp16),
        g(r.ratio_vs_best_fxp)
    );
    s += "| bits | test acc. % | cal. acc. % | fJ/inference | sparsity | in budget | Pareto | per layer FBw/FBa/Tw/Ta |\n|---|---|---|---|---|---|---|---|\n";
    for c in &r.configs {
        let lay: Vec<String> = c
            .layers
            .iter()
            .map(|l| {
                // Per-channel FBw as its range over the channels.
                let fw = match (l.fb_w_channels.iter().min(), l.fb_w_channels.iter().max()) {
                    (Some(lo), Some(hi)) if lo != hi => format!("{lo}..{hi}"),
                    _ => l.fb_w.to_string(),
                };
                format!("{fw}/{}/{}/{}", l.fb_a, l.t_w, l.t_a)
            })
            .collect();
        s += &format!(
            "| {} | {:.2} | {:.2} | {:.1} | {:.3} | {} | {} | {} |\n",
            c.bits,
            c.accuracy,
            c.calibration_accuracy,
            c.energy_fj_per_inference,
            c.sparsity,
            if c.within_budget { "yes" } else { "no" },
            if c.pareto { "*" } else { "" },
            lay.join(" ")
        );
    }
    s
}

/// The data of the accuracy/energy plot: the fields of `dnn-report.json`
/// it reads (so the plot can be redrawn from a committed report; other keys
/// are ignored). The model name is not in the JSON: the title is passed in.
#[derive(Debug, Clone, Deserialize)]
pub struct PlotData {
    /// Energy model description (the subtitle).
    pub energy_model: String,
    /// Float test accuracy.
    pub float_accuracy: f64,
    /// Budget (percentage points).
    pub budget: f64,
    /// Every configuration.
    pub configs: Vec<PlotConfig>,
}

/// One configuration in [`PlotData`].
#[derive(Debug, Clone, Deserialize)]
pub struct PlotConfig {
    /// `W+C`.
    pub bits: String,
    /// FxP or FPEC.
    pub fxp: bool,
    /// Test accuracy (percent).
    pub accuracy: f64,
    /// Energy per inference (fJ).
    pub energy_fj_per_inference: f64,
    /// On the Pareto front.
    pub pareto: bool,
}

impl PlotData {
    /// The plot data of a sweep.
    pub fn of(r: &OptReport) -> Self {
        PlotData {
            energy_model: r.energy_model.clone(),
            float_accuracy: r.float_accuracy,
            budget: r.budget,
            configs: r
                .configs
                .iter()
                .map(|c| PlotConfig {
                    bits: c.bits.clone(),
                    fxp: c.fxp,
                    accuracy: c.accuracy,
                    energy_fj_per_inference: c.energy_fj_per_inference,
                    pareto: c.pareto,
                })
                .collect(),
        }
    }
}

/// The plot title for `model_name` and `budget`.
pub fn plot_title(model_name: &str, budget: f64) -> String {
    format!("FPEC-Opt: {model_name} (budget {budget} pp)")
}

/// Test accuracy vs energy per inference (log x axis, nJ): FxP and FPEC
/// configurations, the Pareto front joined and labelled, the accuracy floor
/// (float - budget) as a dashed line.
pub fn report_chart(d: &PlotData, title: &str) -> Chart {
    let tip = |kind: &str, c: &PlotConfig| {
        format!(
            "{kind} {}: {:.2} %, {:.4} nJ/inference",
            c.bits,
            c.accuracy,
            c.energy_fj_per_inference / 1e6
        )
    };
    let series = |name: &str, fxp: bool, color: &str, marker: Marker| Series {
        name: name.to_string(),
        color: color.to_string(),
        marker,
        line: Line::None,
        points: d
            .configs
            .iter()
            .filter(|c| c.fxp == fxp)
            .map(|c| Point::new(c.energy_fj_per_inference, c.accuracy).tip(tip(name, c)))
            .collect(),
    };
    let mut front: Vec<&PlotConfig> = d.configs.iter().filter(|c| c.pareto).collect();
    front.sort_by(|a, b| {
        a.energy_fj_per_inference
            .total_cmp(&b.energy_fj_per_inference)
    });
    let mut y = Axis::linear("test accuracy", "%");
    y.include.push(d.float_accuracy);
    Chart {
        title: title.to_string(),
        subtitle: Some(format!("energy model: {}", d.energy_model)),
        x: Axis::energy("energy per inference", true),
        y,
        series: vec![
            series("FxP", true, PALETTE[0], Marker::Circle),
            series("FPEC", false, PALETTE[1], Marker::Square),
            Series {
                name: "Pareto front".into(),
                color: PALETTE[3].into(),
                marker: Marker::Ring,
                line: Line::Solid,
                points: front
                    .iter()
                    .map(|c| Point::new(c.energy_fj_per_inference, c.accuracy).label(&c.bits))
                    .collect(),
            },
        ],
        hlines: vec![HLine {
            y: d.float_accuracy - d.budget,
            name: format!("float - budget ({:.2} %)", d.float_accuracy - d.budget),
            color: "#777777".into(),
        }],
        plot_width: 560.0,
        plot_height: 360.0,
    }
}

/// Accuracy vs energy as SVG (see [`report_chart`]).
pub fn report_svg(r: &OptReport, title: &str) -> String {
    report_chart(&PlotData::of(r), title).to_svg()
}

/// The plot of the text of a `dnn-report.json` (redrawing a committed
/// report without rerunning the search).
pub fn report_chart_from_json(json: &str, title: &str) -> Result<Chart> {
    let d: PlotData = serde_json::from_str(json).context("not a dnn-report.json")?;
    Ok(report_chart(&d, title))
}

/// Writes `dnn-report.md`, `dnn-report.json` and `dnn-report.svg` into
/// `dir`. Everything is rendered first; each file is then written
/// atomically, so an error never leaves a half-written file.
pub fn write_reports(r: &OptReport, model_name: &str, dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let md = report_md(r, model_name);
    let json = report_json(r)?;
    let svg = report_svg(r, &plot_title(model_name, r.budget));
    crate::util::write_atomic(&dir.join("dnn-report.md"), md.as_bytes())?;
    crate::util::write_atomic(&dir.join("dnn-report.json"), json.as_bytes())?;
    crate::util::write_atomic(&dir.join("dnn-report.svg"), svg.as_bytes())?;
    Ok(())
}
