//! The reports of `fpec flow`: per configuration `report.md`/`report.json`,
//! the sweep's `summary.md`/`summary.json`, and the energy chart.

use super::{Computed, ConfigResult, Costed, FlowOptions};
use crate::energy::Workload;
use crate::plot::{Axis, Chart, Line, Marker, Point, Series, PALETTE};
use crate::synth::floor::{RowModel, Units};
use crate::util::{write_atomic, write_json_atomic};
use anyhow::{Context, Result};
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::Path;

/// Energy per MAC of a costed design under the three activity models
/// (static, sim, glitch).
fn energies(c: &Costed) -> [f64; 3] {
    [
        c.static_.energy_fj_per_mac,
        c.sim.energy_fj_per_mac,
        c.glitch.energy_fj_per_mac,
    ]
}

/// What one configuration's report says, gathered before it is rendered.
struct Report<'a> {
    c: Computed,
    args: &'a FlowOptions,
    /// The generated MAC, FxP 8 and 16, the hand-written MAC if any.
    rows: Vec<Costed>,
    /// [`energies`] of FxP 8 and FxP 16.
    fxp8: [f64; 3],
    fxp16: [f64; 3],
    floor: Option<RowModel>,
    result: ConfigResult,
}

impl<'a> Report<'a> {
    fn new(
        c: Computed,
        args: &'a FlowOptions,
        baselines: &[Costed],
        units: Option<Units>,
    ) -> Report<'a> {
        let (m, main, hand) = (&c.m, &c.main, &c.hand);
        let mut rows: Vec<Costed> = vec![main.clone()];
        rows.extend(baselines.iter().cloned());
        if let Some(h) = hand {
            rows.push(h.clone());
        }
        let floor = units
            .filter(|_| !c.split.is_fxp())
            .map(|u| RowModel::new(m.w, m.m, m.sum_width, u, &main.static_.cells_by_block));
        let vsum: Vec<(String, u64, u64, u64)> = c
            .outs
            .iter()
            .map(|o| {
                let r = &o.result;
                (o.name.clone(), r.products, r.pairs, r.n_mismatch)
            })
            .collect();
        let result = ConfigResult {
            bits: m.bits(),
            arch: m.arch().to_string(),
            w: m.w,
            fpec: !c.split.is_fxp(),
            latency: m.latency,
            sum_width: m.sum_width,
            lint_clean: c.lint_ok,
            verify_mismatches: c.outs.iter().map(|o| o.result.n_mismatch).sum(),
            verify: vsum,
            cells: main.sim.cells_by_type.values().sum(),
            energy_static_fj: main.static_.energy_fj_per_mac,
            energy_sim_fj: main.sim.energy_fj_per_mac,
            energy_glitch_fj: main.glitch.energy_fj_per_mac,
            comp_path_sim_fj: main.sim.comp_path_fj_per_mac,
            pairs_skipped_share: main.sim.pairs_skipped_share,
            handwritten_sim_fj: hand.as_ref().map(|h| h.sim.energy_fj_per_mac),
            handwritten_static_fj: hand.as_ref().map(|h| h.static_.energy_fj_per_mac),
            overhead: None,
            row_model_cells: floor.as_ref().map(|f| f.model),
        };
        Report {
            fxp8: energies(&baselines[0]),
            fxp16: energies(&baselines[1]),
            c,
            args,
            rows,
            floor,
            result,
        }
    }

    /// `report.md`.
    fn markdown(&self) -> String {
        let mut md = String::new();
        self.md_configuration(&mut md);
        self.md_verification(&mut md);
        self.md_energy(&mut md);
        self.md_gates(&mut md);
        md
    }

    /// Title, configuration table and lint.
    fn md_configuration(&self, md: &mut String) {
        let (c, m) = (&self.c, &self.c.m);
        let _ = writeln!(
            md,
            "# fpec flow report: {}, arch {}, Lmax {}\n",
            c.split,
            m.arch(),
            self.args.max_len
        );
        let wd = m.widths.clone().unwrap_or(crate::manifest::WidthReport {
            product: 0,
            term: 0,
            acc: 0,
            comp_term: 0,
            comp_acc: 0,
        });
        let _ = writeln!(
            md,
            "## Configuration\n\n`{}` {} arch {} ({}), generated in `{}` by {}.\n\n\
             | latency | S (sum) | product | term | acc | comp term | comp acc |\n|---|---|---|---|---|---|---|\n\
             | {} | {} | {} | {} | {} | {} | {} |\n",
            m.top,
            m.bits(),
            m.arch(),
            m.fields(c.split.n()),
            c.mac_dir.display(),
            m.generator.as_deref().unwrap_or("?"),
            m.latency,
            m.sum_width,
            wd.product,
            wd.term,
            wd.acc,
            wd.comp_term,
            wd.comp_acc
        );
        let _ = writeln!(
            md,
            "## Lint\n\n`verilator --lint-only -Wall`: {}.\n",
            if c.lint_ok {
                "clean, no warning"
            } else {
                "WARNINGS"
            }
        );
        if !c.lint_ok {
            let _ = writeln!(md, "```\n{}\n```\n", c.lint_text);
        }
    }

    /// The backends' table.
    fn md_verification(&self, md: &mut String) {
        let args = self.args;
        let _ = writeln!(
            md,
            "## Verification (seed {}, {} dot products per backend)\n\n\
             Reproduce: `fpec verify {} --backend all --vectors {} --seed {}`\n\n\
             The backends ran concurrently with each other and with synthesis, so \
             their times are wall times under contention.\n\n\
             | backend | products | pairs | mismatches | seconds |\n|---|---|---|---|---|",
            args.seed,
            args.vectors,
            self.c.mac_dir.display(),
            args.vectors,
            args.seed
        );
        for o in &self.c.outs {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {:.2} |",
                o.name, o.result.products, o.result.pairs, o.result.n_mismatch, o.secs
            );
        }
        md.push('\n');
    }

    /// Energy per MAC of every row, against FxP 8 and 16.
    fn md_energy(&self, md: &mut String) {
        let main = &self.c.main;
        let _ = writeln!(
            md,
            "## Energy per MAC (14 nm)\n\n{}; table: {}.\n\
             Activity models: **static** = every cell output toggles with probability 0.5 per cycle; \
             **sim** = {}; **glitch** = {}; workload {}.\n\n\
             | design | cells | static fJ/MAC | sim fJ/MAC | glitch fJ/MAC | sim comp path fJ/MAC | FxP8 / it (static, sim, glitch) | FxP16 / it (static, sim, glitch) |\n\
             |---|---|---|---|---|---|---|---|",
            main.sim.yosys_version,
            main.sim.energy_table,
            main.sim.activity,
            main.glitch.activity,
            main.sim.workload
        );
        let (b8, b16) = (self.fxp8, self.fxp16);
        for r in &self.rows {
            let cells: u64 = r.sim.cells_by_type.values().sum();
            let [es, em, eg] = energies(r);
            let _ = writeln!(
                md,
                "| {} | {cells} | {es:.1} | {em:.1} | {eg:.1} | {:.1} | {:.3}, {:.3}, {:.3} | {:.3}, {:.3}, {:.3} |",
                r.name,
                r.sim.comp_path_fj_per_mac,
                b8[0] / es,
                b8[1] / em,
                b8[2] / eg,
                b16[0] / es,
                b16[1] / em,
                b16[2] / eg
            );
        }
        if let Some(s) = main.sim.pairs_skipped_share {
            let _ = writeln!(
                md,
                "\nPairs skipped by the sparse compensation adder (both ezb = 1): {:.1} %.",
                100.0 * s
            );
        }
    }

    /// Cells and energy per block, the row model, cells per type.
    fn md_gates(&self, md: &mut String) {
        let main = &self.c.main;
        let _ = writeln!(
            md,
            "\n### Gate counts of the generated MAC\n\n| block | cells | sim fJ/MAC | glitch fJ/MAC |\n|---|---|---|---|"
        );
        for (b, n) in &main.sim.cells_by_block {
            let e = main.sim.energy_by_block_fj.get(b).copied().unwrap_or(0.0);
            let g = main
                .glitch
                .energy_by_block_fj
                .get(b)
                .copied()
                .unwrap_or(0.0);
            let _ = writeln!(md, "| {b} | {n} | {e:.1} | {g:.1} |");
        }
        if let Some(f) = &self.floor {
            let _ = writeln!(
                md,
                "\n### Against the row model (the first-principles floor)\n\n{}.\n\n{}",
                f.describe(),
                f.markdown()
            );
        }
        let _ = writeln!(md, "\n| cell type | count |\n|---|---|");
        for (t, n) in &main.sim.cells_by_type {
            let _ = writeln!(md, "| {t} | {n} |");
        }
    }

    /// `report.json`.
    fn json(&self) -> serde_json::Value {
        let (m, r, args) = (&self.c.m, &self.result, self.args);
        let ratios = |b: [f64; 3]| {
            serde_json::json!({ "static": b[0] / r.energy_static_fj, "sim": b[1] / r.energy_sim_fj,
                                "glitch": b[2] / r.energy_glitch_fj })
        };
        serde_json::json!({
            "config": m.bits(),
            "arch": m.arch(),
            "manifest": m,
            "lint_clean": self.c.lint_ok,
            "verify": { "seed": args.seed, "vectors": args.vectors, "mismatches": r.verify_mismatches,
                        "backends": r.verify },
            "yosys_version": self.c.main.sim.yosys_version,
            "row_model": self.floor,
            "energy": self.rows.iter().map(|r| serde_json::json!({
                "design": r.name, "static": r.static_, "sim": r.sim, "glitch": r.glitch })).collect::<Vec<_>>(),
            "ratio_vs_fxp8": ratios(self.fxp8),
            "ratio_vs_fxp16": ratios(self.fxp16),
        })
    }

    /// The one line printed per configuration.
    fn line(&self) -> String {
        let (m, r) = (&self.c.m, &self.result);
        format!(
            "{} {}: lint {}, {} mismatches, fJ/MAC static {:.1}, sim {:.1} (FxP8/it {:.3}, FxP16/it {:.3}), glitch {:.1} (FxP8/it {:.3}, FxP16/it {:.3}); report {}",
            m.bits(),
            m.arch(),
            if self.c.lint_ok { "clean" } else { "NOT clean" },
            r.verify_mismatches,
            r.energy_static_fj,
            r.energy_sim_fj,
            self.fxp8[1] / r.energy_sim_fj,
            self.fxp16[1] / r.energy_sim_fj,
            r.energy_glitch_fj,
            self.fxp8[2] / r.energy_glitch_fj,
            self.fxp16[2] / r.energy_glitch_fj,
            self.c.out.join("report.md").display()
        )
    }
}

/// Writes `report.md` and `report.json` of one configuration.
pub(super) fn write_report(
    c: Computed,
    args: &FlowOptions,
    baselines: &[Costed],
    units: Option<Units>,
) -> Result<ConfigResult> {
    let report = Report::new(c, args, baselines, units);
    let out = report.c.out.as_path();
    write_atomic(&out.join("report.md"), report.markdown().as_bytes())?;
    write_json_atomic(&out.join("report.json"), &report.json())?;
    println!("{}", report.line());
    Ok(report.result)
}

pub(super) fn write_summary(
    out: &Path,
    results: &[ConfigResult],
    baselines: &[Costed],
    workload: &Workload,
) -> Result<()> {
    let (b8, b16) = (&baselines[0], &baselines[1]);
    let mut md = format!(
        "# fpec flow summary\n\nWorkload of the sim and glitch activity: {}. Baselines: FxP 8 {:.1} / {:.1} / {:.1} fJ/MAC, \
         FxP 16 {:.1} / {:.1} / {:.1} fJ/MAC (static / sim / glitch).\n\n\
         Overhead = this FPEC MAC / FxP W (same W, same run, same flow): what the compensation costs. \
         FxP8/it = FxP 8 energy / this design's (> 1: this design is cheaper). \
         Cells / row model: synthesized cells over the first-principles count at the unit costs of FxP W of the same run \
         (per block in each report).\n\n\
         | bits | arch | cells | cells / row model | static fJ/MAC | sim fJ/MAC | glitch fJ/MAC | overhead (static / sim / glitch) | FxP8/it (static / sim / glitch) | FxP16/it (static / sim / glitch) | skipped | hand-written sim fJ/MAC | mismatches |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        workload.name(),
        b8.static_.energy_fj_per_mac,
        b8.sim.energy_fj_per_mac,
        b8.glitch.energy_fj_per_mac,
        b16.static_.energy_fj_per_mac,
        b16.sim.energy_fj_per_mac,
        b16.glitch.energy_fj_per_mac
    );
    for r in results {
        let ratios = |b: &Costed| {
            format!(
                "{:.3} / {:.3} / {:.3}",
                b.static_.energy_fj_per_mac / r.energy_static_fj,
                b.sim.energy_fj_per_mac / r.energy_sim_fj,
                b.glitch.energy_fj_per_mac / r.energy_glitch_fj
            )
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {} |",
            r.bits,
            r.arch,
            r.cells,
            r.row_model_cells
                .map_or("-".to_string(), |f| format!("{:.3}", r.cells as f64 / f)),
            r.energy_static_fj,
            r.energy_sim_fj,
            r.energy_glitch_fj,
            r.overhead.map_or("-".to_string(), |o| format!(
                "{:.3} / {:.3} / {:.3}",
                o[0], o[1], o[2]
            )),
            ratios(b8),
            ratios(b16),
            r.pairs_skipped_share
                .map_or("-".to_string(), |s| format!("{:.1} %", 100.0 * s)),
            r.handwritten_sim_fj
                .map_or("-".to_string(), |e| format!("{e:.1}")),
            r.verify_mismatches
        );
    }
    md.push_str("\nPlot: `energy.svg` (sim activity).\n");
    write_atomic(&out.join("summary.md"), md.as_bytes())?;
    let json = serde_json::json!({ "configs": results,
        "baselines": { "fxp8": { "static": b8.static_.energy_fj_per_mac, "sim": b8.sim.energy_fj_per_mac,
                                 "glitch": b8.glitch.energy_fj_per_mac },
                       "fxp16": { "static": b16.static_.energy_fj_per_mac, "sim": b16.sim.energy_fj_per_mac,
                                  "glitch": b16.glitch.energy_fj_per_mac } } });
    write_json_atomic(&out.join("summary.json"), &json)?;
    write_atomic(
        &out.join("energy.svg"),
        energy_svg(results, baselines).as_bytes(),
    )?;
    Ok(())
}

/// One configuration as the energy plot needs it: the fields of
/// `summary.json`'s `configs` it reads (other keys are ignored), so the plot
/// can be redrawn from a committed summary.
#[derive(Debug, Clone, Deserialize)]
pub struct EnergyPoint {
    /// `W+C`.
    pub bits: String,
    /// fused, split or fxp.
    pub arch: String,
    /// W.
    pub w: u32,
    /// FPEC (else FxP).
    pub fpec: bool,
    /// Energy per MAC under simulated activity (fJ).
    pub energy_sim_fj: f64,
}

#[derive(Deserialize)]
struct SummaryPlot {
    configs: Vec<EnergyPoint>,
    baselines: SummaryBaselines,
}

#[derive(Deserialize)]
struct SummaryBaselines {
    fxp8: SimEnergy,
    fxp16: SimEnergy,
}

#[derive(Deserialize)]
struct SimEnergy {
    sim: f64,
}

/// Energy per MAC (sim activity) against W: one line per family (FxP, and
/// FPEC per C and arch: colour by C, solid/circles for fused, dashed/squares
/// for split), the FxP 8/16 baselines as diamonds.
pub fn energy_chart(points: &[EnergyPoint], fxp8_sim_fj: f64, fxp16_sim_fj: f64) -> Chart {
    use std::collections::BTreeMap;
    // (0, "") = FxP; (C, arch) = FPEC +C arch.
    let mut fams: BTreeMap<(u32, String), Vec<&EnergyPoint>> = BTreeMap::new();
    for p in points {
        let key = if p.fpec {
            let c = p
                .bits
                .split('+')
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            (c.max(1), p.arch.clone())
        } else {
            (0, String::new())
        };
        fams.entry(key).or_default().push(p);
    }
    let tip = |name: &str, w: u32, e: f64| format!("{name} W={w}: {e:.1} fJ/MAC");
    let mut series = Vec::new();
    for ((c, arch), mut pts) in fams {
        pts.sort_by_key(|p| p.w);
        let name = if c == 0 {
            "FxP".to_string()
        } else {
            format!("FPEC +{c} {arch}")
        };
        let color = match c {
            0 => "#333333",
            1 => PALETTE[4],
            2 => PALETTE[0],
            3 => PALETTE[2],
            4 => PALETTE[1],
            _ => PALETTE[5],
        };
        let (marker, line) = match arch.as_str() {
            "" | "fused" => (Marker::Circle, Line::Solid),
            "split" => (Marker::Square, Line::Dashed),
            _ => (Marker::Triangle, Line::Dashed),
        };
        series.push(Series {
            points: pts
                .iter()
                .map(|p| {
                    Point::new(p.w as f64, p.energy_sim_fj).tip(tip(&name, p.w, p.energy_sim_fj))
                })
                .collect(),
            name,
            color: color.to_string(),
            marker,
            line,
        });
    }
    series.push(Series {
        name: "FxP 8/16 baselines".into(),
        color: PALETTE[3].into(),
        marker: Marker::Diamond,
        line: Line::None,
        points: [(8, fxp8_sim_fj), (16, fxp16_sim_fj)]
            .into_iter()
            .map(|(w, e)| Point::new(w as f64, e).tip(tip("FxP baseline", w, e)))
            .collect(),
    });
    let mut x = Axis::linear("W (computation bits)", "");
    x.integer = true;
    Chart {
        title: "Energy per MAC (14 nm, simulated activity) vs W".into(),
        subtitle: None,
        x,
        y: Axis::energy("energy per MAC", false),
        series,
        hlines: Vec::new(),
        plot_width: 560.0,
        plot_height: 360.0,
    }
}

/// The energy plot of the text of a `summary.json` (redrawing a committed
/// sweep without rerunning it).
pub fn energy_chart_from_summary(json: &str) -> Result<Chart> {
    let s: SummaryPlot = serde_json::from_str(json).context("not a flow summary.json")?;
    Ok(energy_chart(
        &s.configs,
        s.baselines.fxp8.sim,
        s.baselines.fxp16.sim,
    ))
}

fn energy_svg(results: &[ConfigResult], baselines: &[Costed]) -> String {
    let points: Vec<EnergyPoint> = results
        .iter()
        .map(|r| EnergyPoint {
            bits: r.bits.clone(),
            arch: r.arch.clone(),
            w: r.w,
            fpec: r.fpec,
            energy_sim_fj: r.energy_sim_fj,
        })
        .collect();
    energy_chart(
        &points,
        baselines[0].sim.energy_fj_per_mac,
        baselines[1].sim.energy_fj_per_mac,
    )
    .to_svg()
}
