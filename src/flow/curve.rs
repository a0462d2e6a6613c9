//! The sparse-mode curve of `fpec flow --sparsity-curve`: energy per MAC
//! of FPEC MACs against the share of sparse pairs (both ezb = 1), beside
//! their FxP W companions, from one run of one flow. Each design is
//! synthesized once; its sim (zero-delay) and glitch (unit-delay) energies
//! are then measured on the dnn workload with exactly that share of sparse
//! pairs per dot product (`Workload::DnnSparse`); FxP W takes the plain dnn
//! workload (it has no sparse pairs). Writes `sparse-curve.{md,json,svg}`.

use super::GLITCH_MACS;
use crate::energy::{evaluate_synthesized, Activity, EnergyOptions, EnergyTable, Workload};
use crate::format::Split;
use crate::plot::{Axis, Chart, Line, Marker, Point, Series, PALETTE};
use crate::synth::{Design, SynthOptions};
use crate::util::{usage, write_atomic, write_json_atomic};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// The shares of sparse pairs of the curve.
pub const SHARES: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// One design's curve.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Curve {
    /// Bit split, e.g. `6+2`.
    pub bits: String,
    /// W.
    pub w: u32,
    /// Per share: (share, sim fJ/MAC, glitch fJ/MAC).
    pub points: Vec<(f64, f64, f64)>,
    /// FxP W of the same run: (sim, glitch) fJ/MAC.
    pub fxp: (f64, f64),
}

/// The sim and glitch energy of the synthesized `design` on `workload`.
fn sim_glitch(design: &Design, dir: &Path, workload: &Workload, seed: u64) -> Result<(f64, f64)> {
    let mut opts = EnergyOptions {
        activity: Activity::Sim { seed, macs: 4096 },
        workload: workload.clone(),
        table: EnergyTable::builtin()?,
        synth: SynthOptions::default(),
    };
    let sr = crate::synth::synthesize(design, dir, &opts.synth)?;
    let sim = evaluate_synthesized(design, &sr, &opts)?.energy_fj_per_mac;
    opts.activity = Activity::Glitch {
        seed,
        macs: GLITCH_MACS,
    };
    let glitch = evaluate_synthesized(design, &sr, &opts)?.energy_fj_per_mac;
    Ok((sim, glitch))
}

/// Runs the curve for `splits` (FPEC, Z = 1) into `out`.
pub fn run(splits: &[Split], max_len: u64, seed: u64, out: &Path) -> Result<Vec<Curve>> {
    if splits.is_empty() {
        return Err(usage("--sparsity-curve needs at least one --bits"));
    }
    for s in splits {
        crate::energy::check_sparse(s, Some(0.0), None).map_err(|_| {
            usage(format!(
                "--sparsity-curve: {s} has no ezb bit (Z = 1), so no pair is sparse"
            ))
        })?;
    }
    std::fs::create_dir_all(out)
        .map_err(|e| usage(format!("--out {}: cannot create: {e}", out.display())))?;
    let mut curves = Vec::new();
    for split in splits {
        let dir = out.join(split.to_string());
        let m = crate::gen::generate(&crate::gen::GenRequest::mac(*split, max_len), &dir)?;
        let design = Design::from_dir(&dir)?;
        let mut points = Vec::new();
        for &share in &SHARES {
            let wl = Workload::DnnSparse {
                len: 64,
                sparsity: Some(share),
                ezb_threshold: None,
            };
            let (s, g) = sim_glitch(&design, &dir, &wl, seed)?;
            println!(
                "{split} at {:.0} % sparse pairs: sim {s:.1}, glitch {g:.1} fJ/MAC",
                100.0 * share
            );
            points.push((share, s, g));
        }
        let fdir = out.join(format!("{}+0", m.w));
        crate::gen::generate_baseline(m.w, max_len, &fdir)?;
        let fxp = sim_glitch(
            &Design::from_dir(&fdir)?,
            &fdir,
            &Workload::Dnn { len: 64 },
            seed,
        )?;
        curves.push(Curve {
            bits: split.to_string(),
            w: m.w,
            points,
            fxp,
        });
    }
    write(&curves, seed, out)?;
    Ok(curves)
}

fn write(curves: &[Curve], seed: u64, out: &Path) -> Result<()> {
    let mut md = format!(
        "# Sparse mode: energy per MAC vs the share of sparse pairs\n\n\
         Workload: dnn (len 64; w ~ N(0,1), a = ReLU(N(0,1)), FB = W-3), seed {seed}, with exactly \
         the given share of sparse pairs (both ezb = 1) per dot product; FxP W: the plain dnn workload. \
         fJ/MAC, sim (zero-delay, 4096 MACs) / glitch (unit-delay, {GLITCH_MACS} MACs); \
         (x FxP W) = this / FxP W of the same run.\n\n| bits |"
    );
    for s in SHARES {
        let _ = write!(md, " {:.0} % |", 100.0 * s);
    }
    md.push_str(" FxP W |\n|---|");
    md.push_str(&"---|".repeat(SHARES.len() + 1));
    md.push('\n');
    for c in curves {
        let _ = write!(md, "| {} |", c.bits);
        for &(_, s, g) in &c.points {
            let _ = write!(
                md,
                " {s:.1} / {g:.1} ({:.2}x / {:.2}x) |",
                s / c.fxp.0,
                g / c.fxp.1
            );
        }
        let _ = writeln!(md, " {:.1} / {:.1} |", c.fxp.0, c.fxp.1);
    }
    md.push_str("\nPlot: `sparse-curve.svg` (sim activity).\n");
    write_atomic(&out.join("sparse-curve.md"), md.as_bytes())?;
    let json = serde_json::json!({ "sparse_curve": curves, "seed": seed });
    write_json_atomic(&out.join("sparse-curve.json"), &json)?;
    write_atomic(
        &out.join("sparse-curve.svg"),
        chart(curves).to_svg().as_bytes(),
    )?;
    println!("sparse curve: {}", out.join("sparse-curve.md").display());
    Ok(())
}

/// The chart: one solid line per design (sim energy vs share), its FxP W
/// as a dashed level line in the same colour.
pub fn chart(curves: &[Curve]) -> Chart {
    let mut series = Vec::new();
    for (i, c) in curves.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()].to_string();
        series.push(Series {
            name: format!("FPEC {}", c.bits),
            color: color.clone(),
            marker: Marker::Circle,
            line: Line::Solid,
            points: c
                .points
                .iter()
                .map(|&(sh, s, _)| {
                    Point::new(100.0 * sh, s).tip(format!(
                        "{} at {:.0} %: {s:.1} fJ/MAC",
                        c.bits,
                        100.0 * sh
                    ))
                })
                .collect(),
        });
        series.push(Series {
            name: format!("FxP {}", c.w),
            color,
            marker: Marker::Square,
            line: Line::Dashed,
            points: [0.0, 100.0]
                .iter()
                .map(|&x| Point::new(x, c.fxp.0).tip(format!("FxP {}: {:.1} fJ/MAC", c.w, c.fxp.0)))
                .collect(),
        });
    }
    Chart {
        title: "Energy per MAC (14 nm, zero-delay) vs sparse pairs".into(),
        subtitle: None,
        x: Axis::linear("sparse pairs (both ezb = 1)", "%"),
        y: Axis::energy("energy per MAC", false),
        series,
        hlines: Vec::new(),
        plot_width: 520.0,
        plot_height: 320.0,
    }
}

/// The chart from a `sparse-curve.json` (for `fpec report plot`).
pub fn chart_from_json(json: &str) -> Result<Chart> {
    #[derive(Deserialize)]
    struct J {
        sparse_curve: Vec<Curve>,
    }
    let j: J = serde_json::from_str(json).context("not a sparse-curve.json")?;
    Ok(chart(&j.sparse_curve))
}
