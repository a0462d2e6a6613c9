//! The main job (`fpec flow`): for each requested bit split, generate, lint,
//! verify on every backend, synthesize and cost it under the three activity
//! models (static, sim, glitch), next to the FxP 8/16-bit baselines (same flow, same Lmax) and,
//! for FPEC, the hand-written behavioural MAC. Each configuration gets
//! `OUT/<bits>/report.md` and `report.json`; a sweep also gets
//! `OUT/summary.md`, `summary.json` and `OUT/energy.svg` (energy per MAC
//! against W for FxP and each FPEC variant). Configurations run in parallel
//! (rayon) with a progress bar.

use crate::energy::{
    evaluate_synthesized, Activity, EnergyOptions, EnergyReport, EnergyTable, Workload,
    WorkloadKind,
};
use crate::format::{parse_bits, Split};
use crate::gen::Arch;
use crate::synth::floor::Units;
use crate::synth::{Design, SynthOptions};

use crate::util::{usage, write_atomic, write_json_atomic};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};

pub mod curve;
mod report;
pub mod shard;
pub use report::{energy_chart, energy_chart_from_summary, EnergyPoint};
use report::{write_report, write_summary};

/// What `fpec flow` runs (the command line's values, checked by `run`).
#[derive(Debug, Clone)]
pub struct FlowOptions {
    /// Bit split(s) W+C; repeat for a sweep, or give a range `3..8+2`.
    pub bits: Vec<String>,
    /// Maximum dot-product length (1..=65536).
    pub max_len: u64,
    /// Output folder.
    pub out: PathBuf,
    /// Workload of the simulated activity: uniform or dnn.
    pub workload: WorkloadKind,
    /// Dot products verified per backend.
    pub vectors: u64,
    /// Seed of verification and workload.
    pub seed: u64,
    /// Microarchitecture(s) of the FPEC MACs (spec 6.4): fused (default),
    /// split, or all (side by side); repeatable.
    pub arch: Vec<ArchChoice>,
    /// Explicit M of every compensated split (`--emb`).
    pub emb: Option<u32>,
    /// No error-zero bit in every compensated split (`--no-ezb`).
    pub no_ezb: bool,
    /// Shard K of N (0-based) of the configurations, or all of them.
    pub shard: Option<(u64, u64)>,
    /// Share of sparse pairs of the FPEC workload (`--sparsity`).
    pub sparsity: Option<f64>,
    /// Zero threshold of the FPEC workload (`--ezb-threshold`).
    pub ezb_threshold: Option<i64>,
}

impl FlowOptions {
    /// The FPEC workload's sparse-mode controls, checked against every
    /// requested split (each must have sparse pairs: FPEC, Z = 1).
    fn sparse_controls(&self, splits: &[Split]) -> Result<Option<(Option<f64>, Option<u32>)>> {
        if self.sparsity.is_none() && self.ezb_threshold.is_none() {
            return Ok(None);
        }
        let thr = match self.ezb_threshold {
            Some(t) if !(0..=32).contains(&t) => {
                return Err(usage(format!(
                    "--ezb-threshold {t} is out of range (allowed 0..=32)"
                )))
            }
            t => t.map(|t| t as u32),
        };
        if self.workload != WorkloadKind::Dnn {
            return Err(usage(
                "--sparsity/--ezb-threshold set the dnn workload (--workload dnn)",
            ));
        }
        for s in splits {
            crate::energy::check_sparse(s, self.sparsity, thr)?;
        }
        Ok(Some((self.sparsity, thr)))
    }
}

/// The hand-written behavioural MAC (quality-of-results baseline).
const HANDWRITTEN: &str = include_str!("../../testbenches/handwritten_fpec_mac.v");

/// `--arch` of flow and regress: one arch, or `all` (side by side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ArchChoice {
    /// The fused arch (spec 6.4).
    Fused,
    /// The split arch (spec 6.4).
    Split,
    /// Every arch.
    All,
}

impl ArchChoice {
    /// The archs it stands for.
    fn archs(self) -> &'static [Arch] {
        match self {
            ArchChoice::Fused => &[Arch::Fused],
            ArchChoice::Split => &[Arch::Split],
            ArchChoice::All => &Arch::ALL,
        }
    }
}

/// An `--arch` given explicitly needs a compensated split among `splits`
/// (FxP has one arch): a usage error naming the values otherwise.
pub fn check_archs_apply(choices: &[ArchChoice], splits: &[Split]) -> Result<()> {
    if !splits.iter().all(|s| s.is_fxp()) {
        return Ok(());
    }
    let names: Vec<String> = choices
        .iter()
        .filter_map(clap::ValueEnum::to_possible_value)
        .map(|v| v.get_name().to_string())
        .collect();
    Err(usage(format!(
        "--arch {} applies to compensated splits, but every --bits is FxP (allowed: --arch with a W+C split, C >= 1)",
        names.join(",")
    )))
}

/// The archs asked for, each once, default first.
pub fn expand_archs(choices: &[ArchChoice]) -> Vec<Arch> {
    let v: Vec<Arch> = choices.iter().flat_map(|c| c.archs()).copied().collect();
    Arch::ALL.into_iter().filter(|a| v.contains(a)).collect()
}

/// The configurations of a run: every FPEC split in every arch asked for,
/// every FxP split once, and FxP W for every FPEC W (the companion that
/// the compensation overhead FPEC W+C / FxP W is measured against).
fn jobs(splits: &[Split], archs: &[Arch]) -> Result<Vec<(Split, Arch)>> {
    let mut v: Vec<(Split, Arch)> = Vec::new();
    for s in splits {
        if s.is_fxp() {
            v.push((*s, Arch::Fused));
        } else {
            v.extend(archs.iter().map(|a| (*s, *a)));
        }
    }
    for s in splits.iter().filter(|s| !s.is_fxp()) {
        let f = Split::fxp(s.w)?;
        if !v.iter().any(|(x, _)| *x == f) {
            v.push((f, Arch::Fused));
        }
    }
    v.dedup();
    Ok(v)
}

/// Expands `--bits` values: `W+C` or `A..B+C` (inclusive range of W).
pub fn expand_bits(specs: &[String]) -> Result<Vec<Split>> {
    expand_bits_with(specs, None, false)
}

/// [`expand_bits`] with explicit compensation fields (`--emb`, `--no-ezb`)
/// applied to every compensated split of the sweep (FxP splits have none).
pub fn expand_bits_with(specs: &[String], emb: Option<u32>, no_ezb: bool) -> Result<Vec<Split>> {
    let one = |s: &str| -> Result<Split> {
        let (_, c) = parse_bits(s)?;
        Ok(if c == 0 {
            Split::parse(s)?
        } else {
            Split::parse_with(s, emb, no_ezb)?
        })
    };
    let mut v = Vec::new();
    for s in specs {
        if let Some((range, c)) = s.split_once("..") {
            let bad_range = || {
                let (w, c) = (crate::format::W_RANGE, crate::format::C_RANGE);
                usage(format!(
                    "--bits '{s}' is not of the form A..B+C (allowed W {}..={} for A <= B, C {}..={}; e.g. 3..8+2)",
                    w.0, w.1, c.0, c.1
                ))
            };
            let (b, c) = c.split_once('+').ok_or_else(bad_range)?;
            let a: u32 = range.trim().parse().map_err(|_| bad_range())?;
            let b: u32 = b.trim().parse().map_err(|_| bad_range())?;
            if a > b {
                return Err(usage(format!(
                    "--bits '{s}': empty range {a}..{b} (allowed A <= B)"
                )));
            }
            for w in a..=b {
                v.push(one(&format!("{w}+{c}"))?);
            }
        } else {
            v.push(one(s)?);
        }
    }
    v.dedup();
    Ok(v)
}

/// One design costed under both activity models.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct Costed {
    name: String,
    static_: EnergyReport,
    sim: EnergyReport,
    glitch: EnergyReport,
}

/// MACs of the unit-delay (glitch) simulation in the flow: Icarus is slower
/// than Verilator, and 1024 MACs (16 dot products of 64) average well.
const GLITCH_MACS: usize = 1024;

/// Result of one configuration.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct ConfigResult {
    bits: String,
    arch: String,
    w: u32,
    fpec: bool,
    latency: u32,
    sum_width: u32,
    lint_clean: bool,
    verify_mismatches: u64,
    verify: Vec<(String, u64, u64, u64)>,
    cells: u64,
    energy_static_fj: f64,
    energy_sim_fj: f64,
    energy_glitch_fj: f64,
    comp_path_sim_fj: f64,
    pairs_skipped_share: Option<f64>,
    handwritten_sim_fj: Option<f64>,
    handwritten_static_fj: Option<f64>,
    /// Compensation overhead: this FPEC MAC's energy over FxP W's from the
    /// same run (static, sim, glitch); None for FxP.
    overhead: Option<[f64; 3]>,
    /// Row-model cells (FPEC with FxP W in the same run), see
    /// `synth::floor`.
    #[serde(default)]
    row_model_cells: Option<f64>,
}

/// Synthesizes `design` once (into `dir/synth`) and costs it under the
/// three activity models; writes `energy-{static,sim,glitch}.json` there.
fn cost(name: &str, design: &Design, dir: &Path, workload: &Workload, seed: u64) -> Result<Costed> {
    let mut opts = EnergyOptions {
        activity: Activity::Static { toggle_rate: 0.5 },
        workload: workload.clone(),
        table: EnergyTable::builtin()?,
        synth: SynthOptions::default(),
    };
    let sr = crate::synth::synthesize(design, dir, &opts.synth)?;
    let mut reports = Vec::with_capacity(3);
    for activity in [
        Activity::Static { toggle_rate: 0.5 },
        Activity::Sim { seed, macs: 4096 },
        Activity::Glitch {
            seed,
            macs: GLITCH_MACS,
        },
    ] {
        opts.activity = activity;
        let r = evaluate_synthesized(design, &sr, &opts)?;
        write_json_atomic(
            &sr.dir.join(format!("energy-{}.json", opts.activity.kind())),
            &r,
        )?;
        reports.push(r);
    }
    let [static_, sim, glitch]: [EnergyReport; 3] = reports
        .try_into()
        .map_err(|_| anyhow::anyhow!("three activity models, three reports"))?;
    Ok(Costed {
        name: name.to_string(),
        static_,
        sim,
        glitch,
    })
}

/// Runs `fpec flow`.
pub fn run(args: &FlowOptions) -> Result<()> {
    let splits = expand_bits_with(&args.bits, args.emb, args.no_ezb)?;
    if (args.emb.is_some() || args.no_ezb) && splits.iter().all(|s| s.is_fxp()) {
        return Err(usage(
            "--emb/--no-ezb need a compensated split (C >= 1) among --bits",
        ));
    }
    let sparse = args.sparse_controls(&splits)?;
    let archs = expand_archs(&args.arch);
    let all_jobs = jobs(&splits, &archs)?;
    let jobs = shard::select(&all_jobs, args.shard);
    crate::gen::check_max_len(args.max_len)?;
    let out = args.out.clone();
    std::fs::create_dir_all(&out)
        .map_err(|e| usage(format!("--out {}: cannot create: {e}", out.display())))?;
    let workload = args.workload.with_len(64);
    let t0 = std::time::Instant::now();
    let pb = indicatif::ProgressBar::new(jobs.len() as u64 + 2);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    // Everything that does not need the baselines runs concurrently with
    // them: FxP 8 and 16 (same Lmax, once per run) and, per configuration,
    // generation, lint, the three backends and the synthesis of the
    // generated and the hand-written MAC. Reports are written at the end.
    let (baselines, computed) = rayon::join(
        || -> Result<Vec<Costed>> {
            [8u32, 16]
                .par_iter()
                .map(|&w| {
                    let d = out.join(format!("baseline-fxp{w}"));
                    crate::gen::generate_baseline(w, args.max_len, &d)?;
                    let bd = Design::from_dir(&d)?;
                    let c = cost(&format!("FxP {w}"), &bd, &d, &workload, args.seed);
                    pb.inc(1);
                    c
                })
                .collect()
        },
        || -> Result<Vec<Computed>> {
            jobs.par_iter()
                .map(|(split, arch)| {
                    let wl = match sparse {
                        Some((sparsity, ezb_threshold)) if split.z() => Workload::DnnSparse {
                            len: 64,
                            sparsity,
                            ezb_threshold,
                        },
                        _ => workload.clone(),
                    };
                    let r = compute(
                        *split,
                        *arch,
                        args,
                        &out.join(crate::gen::config_dir_name(split, *arch)),
                        &wl,
                    );
                    pb.inc(1);
                    r
                })
                .collect()
        },
    );
    let baselines = baselines?;
    let computed = computed?;
    // Row-model unit costs of every FxP W of this run (its companions).
    let units: Vec<Units> = computed
        .iter()
        .filter(|c| c.split.is_fxp())
        .filter_map(|c| Units::from_fxp(c.m.w, c.m.sum_width, &c.main.static_.cells_by_part).ok())
        .collect();
    let mut results: Vec<ConfigResult> = computed
        .into_iter()
        .map(|c| {
            let u = units.iter().find(|u| u.fxp_w == c.m.w).copied();
            write_report(c, args, &baselines, u)
        })
        .collect::<Result<_>>()?;
    fill_overhead(&mut results);
    pb.finish_and_clear();
    if let Some((k, n)) = args.shard {
        let ids: Vec<String> = all_jobs
            .iter()
            .map(|(s, a)| crate::gen::config_dir_name(s, *a))
            .collect();
        let p = shard::write_shard(&out, k, n, args, ids, &results, &baselines)?;
        println!("shard result: {}", p.display());
    } else {
        write_summary(&out, &results, &baselines, &workload)?;
        println!("summary: {}", out.join("summary.md").display());
    }
    println!(
        "flow: {} configuration(s) in {:.1} s",
        results.len(),
        t0.elapsed().as_secs_f64()
    );
    let bad: u64 = results.iter().map(|r| r.verify_mismatches).sum();
    let unclean = results.iter().filter(|r| !r.lint_clean).count();
    if bad > 0 || unclean > 0 {
        bail!("flow: {bad} verification mismatches, {unclean} configuration(s) not lint-clean");
    }
    Ok(())
}

/// Compensation overhead of each FPEC result over the FxP W result of the
/// same run (None when FxP W is not among `results`).
pub(crate) fn fill_overhead(results: &mut [ConfigResult]) {
    let fxp: Vec<(u32, [f64; 3])> = results
        .iter()
        .filter(|r| !r.fpec)
        .map(|r| {
            (
                r.w,
                [r.energy_static_fj, r.energy_sim_fj, r.energy_glitch_fj],
            )
        })
        .collect();
    for r in results.iter_mut().filter(|r| r.fpec) {
        r.overhead = fxp.iter().find(|f| f.0 == r.w).map(|(_, e)| {
            [
                r.energy_static_fj / e[0],
                r.energy_sim_fj / e[1],
                r.energy_glitch_fj / e[2],
            ]
        });
    }
}

/// What a configuration produces before the baselines are known.
struct Computed {
    split: Split,
    out: PathBuf,
    mac_dir: PathBuf,
    m: crate::gen::Manifest,
    lint_ok: bool,
    lint_text: String,
    outs: Vec<crate::verify::BackendOutcome>,
    main: Costed,
    hand: Option<Costed>,
}

/// Generates, lints, verifies and costs one configuration. After the lint,
/// the three backends, the generated MAC's synthesis and the hand-written
/// MAC's synthesis are independent and run concurrently.
fn compute(
    split: Split,
    arch: Arch,
    args: &FlowOptions,
    out: &Path,
    workload: &Workload,
) -> Result<Computed> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    // 1. Generate.
    let mac_dir = out.join("mac");
    let req = crate::gen::GenRequest {
        arch,
        ..crate::gen::GenRequest::mac(split, args.max_len)
    };
    let m = crate::gen::generate(&req, &mac_dir)?;
    // 2. Lint.
    let (lint_ok, lint_text) = crate::toolchain::verilator::lint(&mac_dir, &m.top, &m.files)?;
    // 3. Verify on every backend, 4. synthesize and cost: concurrently.
    let dut = crate::verify::manifest::load(&mac_dir.join("manifest.json"))?;
    let vopts = crate::verify::Options {
        backends: vec!["verilator".into(), "icarus".into(), "rust-sim".into()],
        vectors: args.vectors,
        seed: args.seed,
        exhaustive: false,
        out: out.join("verify"),
        cache: crate::toolchain::cache::cache_root(),
        repro: format!(
            "fpec verify {} --backend {{backend}} --vectors {} --seed {}",
            mac_dir.display(),
            args.vectors,
            args.seed
        ),
        rust_sim_required: true,
        parallel: true,
    };
    let cost_main = || {
        cost(
            &format!("generated {} {}", m.bits(), m.arch()),
            &Design::from_dir(&mac_dir)?,
            &mac_dir,
            workload,
            args.seed,
        )
    };
    let cost_hand = || -> Result<Option<Costed>> {
        // The hand-written MAC is a behavioural fused MAC: the reference
        // of the fused arch.
        let Some(c) = split.comp.filter(|_| arch == Arch::Fused) else {
            return Ok(None);
        };
        let hdir = out.join("handwritten");
        std::fs::create_dir_all(&hdir)
            .with_context(|| format!("cannot create {}", hdir.display()))?;
        let hv = hdir.join("handwritten_fpec_mac.v");
        write_atomic(&hv, HANDWRITTEN.as_bytes())?;
        let params = vec![
            format!("W={}", split.w),
            format!("M={}", c.m),
            format!("Z={}", c.z as u32),
            format!("S={}", m.sum_width),
        ];
        let mut hd = Design::from_rtl(&[hv], "handwritten_fpec_mac", &params)?;
        hd.split = Some(split);
        hd.sum_width = Some(m.sum_width);
        hd.max_len = Some(args.max_len);
        hd.latency = Some(1);
        hd.label = format!("{split} (hand-written)");
        cost(
            "hand-written (testbenches/)",
            &hd,
            &hdir,
            workload,
            args.seed,
        )
        .map(Some)
    };
    let (outs, (main, hand)) = rayon::join(
        || crate::verify::run(&dut, &vopts),
        || rayon::join(cost_main, cost_hand),
    );
    Ok(Computed {
        split,
        out: out.to_path_buf(),
        mac_dir,
        m,
        lint_ok,
        lint_text,
        outs: outs?,
        main: main?,
        hand: hand?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_ranges_expand() {
        let v = expand_bits(&["3..5+2".to_string(), "8+0".to_string()]).unwrap();
        let names: Vec<String> = v.iter().map(|s| format!("{}+{}", s.w, s.c())).collect();
        assert_eq!(names, ["3+2", "4+2", "5+2", "8+0"]);
        assert!(expand_bits(&["5..3+2".to_string()]).is_err());
        assert!(expand_bits(&["3..17+2".to_string()]).is_err());
        // Explicit fields apply to the compensated splits only: 6+3 with
        // M = 1, Z = 0 is C = 0 + 1 + 1 = 2, so 6+3 does not match and 6+2 does.
        let v =
            expand_bits_with(&["5..6+2".to_string(), "8+0".to_string()], Some(1), true).unwrap();
        let f: Vec<(u32, u32, bool)> = v.iter().map(|s| (s.w, s.m(), s.z())).collect();
        assert_eq!(f, [(5, 1, false), (6, 1, false), (8, 0, false)]);
        assert!(expand_bits_with(&["6+3".to_string()], Some(1), true).is_err());
    }
}
