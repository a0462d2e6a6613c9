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
use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::Serialize;

/// Energy per MAC of a hardware split, the hook for the synthesis-based
/// energy model (spec 8).
///
/// Called once per (configuration, layer), from rayon worker threads (hence
/// `Sync`); an implementation that synthesizes or builds a simulator should
/// cache per split. `layer_dots` are the layer's real dot products (each a
/// list of packed (w, a) words, as `fpec::energy`'s stimulus takes them) for
/// simulated switching activity; it is never empty.
pub trait MacEnergy: Sync {
    /// Short description shown in reports (model name, technology, source).
    fn describe(&self) -> String;
    /// Energy per MAC in femtojoules for `split`, given that layer's dot
    /// products.
    fn energy_fj_per_mac(&self, split: &Split, layer_dots: &[Vec<(u32, u32)>]) -> Result<f64>;
}

/// **Test double only — not an energy model.** An analytic stand-in used by
/// the test suite so FPEC-Opt can be exercised without synthesis:
/// `E = W^2 + (1 - s) * C * W` (arbitrary units labelled fJ), with `s` the
/// share of pairs whose two words both have ezb = 1. It has no physical
/// basis; numbers computed with it must never be reported as results.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalyticTestDouble;

impl MacEnergy for AnalyticTestDouble {
    fn describe(&self) -> String {
        "ANALYTIC TEST DOUBLE (W^2 + (1-sparsity)*C*W; no physical basis; NOT A RESULT)".into()
    }
    fn energy_fj_per_mac(&self, split: &Split, dots: &[Vec<(u32, u32)>]) -> Result<f64> {
        let w = split.w as f64;
        let c = split.c() as f64;
        let sparse = if split.z() {
            let m = split.m();
            let ezb = |x: u32| (x >> (m + 1)) & 1 == 1;
            let n: usize = dots.iter().map(Vec::len).sum();
            dots.iter()
                .flatten()
                .filter(|(a, b)| ezb(*a) && ezb(*b))
                .count() as f64
                / n.max(1) as f64
        } else {
            0.0
        };
        Ok(w * w + (1.0 - sparse) * c * w)
    }
}

/// The real energy model: synthesis-based (spec 8, `fpec::energy`), with
/// activity simulated on each layer's own operands; work files under `work`.
pub fn real_mac_energy(
    work: &std::path::Path,
    arch: crate::gen::Arch,
) -> Result<Box<dyn MacEnergy>> {
    Ok(Box::new(crate::dnn::energy_model::SynthMacEnergy::new(
        work, arch,
    )?))
}

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
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct LayerChoice {
    /// Weight FB.
    pub fb_w: i32,
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
#[derive(Debug, Clone, Serialize)]
pub struct Pick {
    /// `W+C`.
    pub bits: String,
    /// Test accuracy.
    pub accuracy: f64,
    /// Energy per inference (fJ).
    pub energy_fj_per_inference: f64,
}

/// The whole sweep.
#[derive(Debug, Clone, Serialize)]
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
}

fn pick(c: &ConfigResult) -> Pick {
    Pick {
        bits: c.bits.clone(),
        accuracy: c.accuracy,
        energy_fj_per_inference: c.energy_fj_per_inference,
    }
}

fn tune(
    model: &Model,
    base: QuantConfig,
    calib: &Dataset,
    floor: f64,
) -> Result<(QuantConfig, f64)> {
    // Accuracy as `QuantModel::evaluate` computes it; a trial that changes
    // stage s resumes from the cached entries of stage s (the stages before
    // it are fixed by then), which gives the same count as a full run.
    let acc_of = |cfg: &QuantConfig, entry: Option<&StageEntry>| -> Result<f64> {
        let c = QuantModel::new(model, cfg)?.count_correct(calib, entry)?;
        Ok(100.0 * c as f64 / calib.len().max(1) as f64)
    };
    let mut cfg = base;
    let mut acc = acc_of(&cfg, None)?;
    if !cfg.split.z() {
        return Ok((cfg, acc));
    }
    for s in 0..cfg.stages.len() {
        let entry = match s {
            0 => None,
            _ => Some(QuantModel::new(model, &cfg)?.stage_entries(s, calib)?),
        };
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
                let a = acc_of(&trial, entry.as_ref())?;
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
    let mut configs = splits
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
    // Pareto front: no other config is at most as costly and strictly more
    // accurate, or strictly cheaper and at least as accurate.
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
    Ok(OptReport {
        energy_model: energy.describe(),
        float_accuracy: float_test,
        float_calibration_accuracy: float_cal,
        budget: opts.budget,
        ratio_vs_fxp8: ratio(&fxp8),
        ratio_vs_fxp16: ratio(&fxp16),
        ratio_vs_best_fxp: ratio(&best_fxp),
        configs,
        best_fpec,
        best_fxp,
        fxp8,
        fxp16,
    })
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
            .map(|l| format!("{}/{}/{}/{}", l.fb_w, l.fb_a, l.t_w, l.t_a))
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

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Accuracy vs energy (log x axis) as SVG, Pareto front joined by a line.
pub fn report_svg(r: &OptReport, title: &str) -> String {
    let (w, h, ml, mr, mt, mb) = (720.0, 480.0, 70.0, 20.0, 48.0, 60.0);
    let pts: Vec<&ConfigResult> = r
        .configs
        .iter()
        .filter(|c| c.energy_fj_per_inference > 0.0)
        .collect();
    let (mut emin, mut emax) = (f64::MAX, f64::MIN);
    let (mut amin, mut amax) = (f64::MAX, f64::MIN);
    for c in &pts {
        emin = emin.min(c.energy_fj_per_inference.log10());
        emax = emax.max(c.energy_fj_per_inference.log10());
        amin = amin.min(c.accuracy);
        amax = amax.max(c.accuracy);
    }
    if pts.is_empty() {
        (emin, emax, amin, amax) = (0.0, 1.0, 0.0, 100.0);
    }
    if emax - emin < 1e-9 {
        emax = emin + 1.0;
    }
    amin = amin.min(r.float_accuracy - r.budget).max(0.0);
    amax = amax.max(r.float_accuracy).min(100.0);
    if amax - amin < 1e-9 {
        amax = amin + 1.0;
    }
    let x = |e: f64| ml + (e.log10() - emin) / (emax - emin) * (w - ml - mr);
    let y = |a: f64| mt + (amax - a) / (amax - amin) * (h - mt - mb);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n\
         <text x=\"{}\" y=\"36\" text-anchor=\"middle\" font-size=\"10\" fill=\"gray\">energy model: {}</text>\n\
         <line x1=\"{ml}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n\
         <line x1=\"{ml}\" y1=\"{mt}\" x2=\"{ml}\" y2=\"{}\" stroke=\"black\"/>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">energy per inference (fJ, log scale)</text>\n\
         <text x=\"16\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {})\">test accuracy (%)</text>\n",
        w / 2.0,
        esc(title),
        w / 2.0,
        esc(&r.energy_model),
        h - mb,
        w - mr,
        h - mb,
        h - mb,
        (ml + w - mr) / 2.0,
        h - 15.0,
        (mt + h - mb) / 2.0,
        (mt + h - mb) / 2.0
    );
    for i in 0..=4 {
        let e = emin + (emax - emin) * i as f64 / 4.0;
        let xv = ml + (e - emin) / (emax - emin) * (w - ml - mr);
        s += &format!(
            "<text x=\"{xv:.1}\" y=\"{}\" text-anchor=\"middle\">{:.3e}</text>\n",
            h - mb + 16.0,
            10f64.powf(e)
        );
        let a = amin + (amax - amin) * i as f64 / 4.0;
        s += &format!(
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{a:.1}</text>\n",
            ml - 4.0,
            y(a) + 4.0
        );
    }
    let fy = y(r.float_accuracy - r.budget);
    s += &format!(
        "<line x1=\"{ml}\" y1=\"{fy:.1}\" x2=\"{}\" y2=\"{fy:.1}\" stroke=\"gray\" stroke-dasharray=\"4 3\"/>\n<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"gray\">float - budget</text>\n",
        w - mr,
        w - mr,
        fy - 3.0
    );
    let mut front: Vec<&&ConfigResult> = pts.iter().filter(|c| c.pareto).collect();
    front.sort_by(|a, b| {
        a.energy_fj_per_inference
            .total_cmp(&b.energy_fj_per_inference)
    });
    let path: Vec<String> = front
        .iter()
        .map(|c| format!("{:.1},{:.1}", x(c.energy_fj_per_inference), y(c.accuracy)))
        .collect();
    if path.len() > 1 {
        s += &format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\"/>\n",
            path.join(" ")
        );
    }
    for c in &pts {
        let (px, py) = (x(c.energy_fj_per_inference), y(c.accuracy));
        let stroke = if c.pareto { "#d62728" } else { "none" };
        if c.fxp {
            s += &format!("<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"4\" fill=\"#1f77b4\" stroke=\"{stroke}\" stroke-width=\"2\"><title>FxP {} {:.2} %</title></circle>\n", c.bits, c.accuracy);
        } else {
            s += &format!("<rect x=\"{:.1}\" y=\"{:.1}\" width=\"8\" height=\"8\" fill=\"#ff7f0e\" stroke=\"{stroke}\" stroke-width=\"2\"><title>FPEC {} {:.2} %</title></rect>\n", px - 4.0, py - 4.0, c.bits, c.accuracy);
        }
        if c.pareto {
            s += &format!(
                "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
                px + 6.0,
                py - 6.0,
                c.bits
            );
        }
    }
    s += &format!(
        "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"#1f77b4\"/><text x=\"{}\" y=\"{}\">FxP</text>\n\
         <rect x=\"{}\" y=\"{}\" width=\"8\" height=\"8\" fill=\"#ff7f0e\"/><text x=\"{}\" y=\"{}\">FPEC</text>\n\
         <line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#d62728\" stroke-width=\"1.5\"/><text x=\"{}\" y=\"{}\">Pareto front</text>\n</svg>\n",
        w - 150.0, mt + 10.0, w - 140.0, mt + 14.0,
        w - 154.0, mt + 22.0, w - 140.0, mt + 30.0,
        w - 158.0, mt + 42.0, w - 146.0, mt + 42.0, w - 140.0, mt + 46.0
    );
    s
}

/// Writes `dnn-report.md`, `dnn-report.json` and `dnn-report.svg` into
/// `dir`. Everything is rendered first; each file is then written
/// atomically, so an error never leaves a half-written file.
pub fn write_reports(r: &OptReport, model_name: &str, dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let md = report_md(r, model_name);
    let json = report_json(r)?;
    let svg = report_svg(
        r,
        &format!("FPEC-Opt: {model_name} (budget {} pp)", r.budget),
    );
    crate::util::write_atomic(&dir.join("dnn-report.md"), md.as_bytes())?;
    crate::util::write_atomic(&dir.join("dnn-report.json"), json.as_bytes())?;
    crate::util::write_atomic(&dir.join("dnn-report.svg"), svg.as_bytes())?;
    Ok(())
}
