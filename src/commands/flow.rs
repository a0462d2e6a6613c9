//! `fpec flow`, the main job: for each requested bit split, generate, lint,
//! verify on every backend, synthesize and cost it under the three activity
//! models (static, sim, glitch), next to the FxP 8/16-bit baselines (same flow, same Lmax) and,
//! for FPEC, the hand-written behavioural MAC. Each configuration gets
//! `OUT/<bits>/report.md` and `report.json`; a sweep also gets
//! `OUT/summary.md`, `summary.json` and `OUT/energy.svg` (energy per MAC
//! against W for FxP and each FPEC variant). Configurations run in parallel
//! (rayon) with a progress bar.

use crate::energy::{
    baseline_folder, evaluate_synthesized, Activity, EnergyOptions, EnergyReport, EnergyTable,
    Workload,
};
use crate::format::{parse_bits, Split};
use crate::gen::Arch;
use crate::synth::{Design, SynthOptions};
use crate::util::RunGuarded;
use crate::util::{usage, write_atomic};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The hand-written behavioural MAC (quality-of-results baseline).
const HANDWRITTEN: &str = include_str!("../../testbenches/handwritten_fpec_mac.v");

crate::ranged_arg!(parse_max_len, u64, "--max-len", 1, 65536);
crate::ranged_arg!(parse_vectors, u64, "--vectors", 1, 10000000);
crate::ranged_arg!(parse_seed, u64, "--seed", 0, u64::MAX);

/// Arguments of `fpec flow`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FlowArgs {
    /// `merge DIR...`: summary, table and SVG from the shards of a sharded sweep.
    #[command(subcommand)]
    pub cmd: Option<super::flow_merge::FlowCmd>,
    /// Bit split(s) W+C; repeat for a sweep, or give a range `3..8+2`.
    #[arg(long, value_name = "W+C", default_values_t = vec!["6+2".to_string()])]
    pub bits: Vec<String>,
    /// Maximum dot-product length (1..=65536).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_max_len, default_value_t = 4096)]
    pub max_len: u64,
    /// Output folder.
    #[arg(long, default_value = "out/flow")]
    pub out: PathBuf,
    /// Workload of the simulated activity: uniform or dnn.
    #[arg(long, default_value = "dnn", value_parser = ["uniform", "dnn"])]
    pub workload: String,
    /// Dot products verified per backend.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_vectors, default_value_t = 300)]
    pub vectors: u64,
    /// Seed of verification and workload.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_seed, default_value_t = 1)]
    pub seed: u64,
    /// Microarchitecture(s) of the FPEC MACs (spec 6.4): fused (default),
    /// split, or all (side by side); repeatable.
    #[arg(long, default_values_t = vec!["fused".to_string()])]
    pub arch: Vec<String>,
    /// Run shard K of N of the configurations: their reports and
    /// OUT/flow-shard-K-of-N.json; `fpec flow merge OUT` writes the summary.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
}

/// The archs asked for (`all` = every arch), each once, default first.
pub fn expand_archs(names: &[String]) -> Result<Vec<Arch>> {
    let mut v = Vec::new();
    for n in names {
        if n == "all" {
            v.extend(Arch::ALL);
        } else {
            v.push(Arch::parse(n).map_err(|_| {
                usage(format!(
                    "--arch {n} is unknown (allowed: fused, split, all)"
                ))
            })?);
        }
    }
    Ok(Arch::ALL.into_iter().filter(|a| v.contains(a)).collect())
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
    let mut v = Vec::new();
    for s in specs {
        if let Some((range, c)) = s.split_once("..").map(|(a, rest)| (a, rest)) {
            let (b, c) = c
                .split_once('+')
                .ok_or_else(|| usage(format!("--bits '{s}' is not of the form A..B+C")))?;
            let a: u32 = range
                .trim()
                .parse()
                .map_err(|_| usage(format!("--bits '{s}' is not of the form A..B+C")))?;
            let b: u32 = b
                .trim()
                .parse()
                .map_err(|_| usage(format!("--bits '{s}' is not of the form A..B+C")))?;
            if a > b {
                return Err(usage(format!("--bits '{s}': empty range {a}..{b}")));
            }
            for w in a..=b {
                v.push(Split::parse(&format!("{w}+{c}"))?);
            }
        } else {
            parse_bits(s)?;
            v.push(Split::parse(s)?);
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
    pub(crate) bits: String,
    pub(crate) arch: String,
    w: u32,
    fpec: bool,
    latency: u32,
    sum_width: u32,
    pub(crate) lint_clean: bool,
    pub(crate) verify_mismatches: u64,
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
        write_atomic(
            &sr.dir.join(format!("energy-{}.json", opts.activity.kind())),
            (serde_json::to_string_pretty(&r)? + "\n").as_bytes(),
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

fn lint(dir: &Path, top: &str, files: &[String]) -> Result<(bool, String)> {
    let lo = Command::new("verilator")
        .current_dir(dir)
        .args(["--lint-only", "-Wall", "--top-module", top])
        .args(files)
        .output_guarded()
        .map_err(|e| crate::synth::missing_program("verilator", "Verilator", e))?;
    let text = String::from_utf8_lossy(&lo.stderr).into_owned();
    Ok((lo.status.success() && text.trim().is_empty(), text))
}

/// Runs `fpec flow`.
pub fn run(args: FlowArgs) -> Result<()> {
    if let Some(super::flow_merge::FlowCmd::Merge(m)) = args.cmd {
        return super::flow_merge::run(m);
    }
    let splits = expand_bits(&args.bits)?;
    let archs = expand_archs(&args.arch)?;
    let all_jobs = jobs(&splits, &archs)?;
    let shard = args
        .shard
        .as_deref()
        .map(super::regress::parse_shard)
        .transpose()?;
    let jobs = super::flow_merge::select(&all_jobs, shard);
    crate::gen::check_max_len(args.max_len)?;
    let out = args.out.clone();
    std::fs::create_dir_all(&out)
        .map_err(|e| usage(format!("--out {}: cannot create: {e}", out.display())))?;
    let workload = if args.workload == "uniform" {
        Workload::Uniform { len: 64 }
    } else {
        Workload::Dnn { len: 64 }
    };
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
                    let bd = baseline_folder(w, args.max_len, &d)?;
                    let c = cost(&format!("FxP {w}"), &bd, &d, &workload, args.seed);
                    pb.inc(1);
                    c
                })
                .collect()
        },
        || -> Result<Vec<Computed>> {
            jobs.par_iter()
                .map(|(split, arch)| {
                    let r = compute(
                        *split,
                        *arch,
                        &args,
                        &out.join(bits_dir(split, *arch)),
                        &workload,
                    );
                    pb.inc(1);
                    r
                })
                .collect()
        },
    );
    let baselines = baselines?;
    let mut results: Vec<ConfigResult> = computed?
        .into_iter()
        .map(|c| write_report(c, &args, &baselines))
        .collect::<Result<_>>()?;
    fill_overhead(&mut results);
    pb.finish_and_clear();
    if let Some((k, n)) = shard {
        let ids: Vec<String> = all_jobs.iter().map(|(s, a)| bits_dir(s, *a)).collect();
        let p = super::flow_merge::write_shard(&out, k, n, &args, ids, &results, &baselines)?;
        println!("shard result: {}", p.display());
    } else if results.len() > 1 {
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

/// `W+C` (fused and FxP) or `W+C-split`.
pub(crate) fn bits_dir(split: &Split, arch: Arch) -> String {
    if split.is_fxp() || arch == Arch::Fused {
        format!("{}+{}", split.w, split.c())
    } else {
        format!("{}+{}-{arch}", split.w, split.c())
    }
}

/// What a configuration produces before the baselines are known.
struct Computed {
    split: Split,
    arch: Arch,
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
    args: &FlowArgs,
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
    let (lint_ok, lint_text) = lint(&mac_dir, &m.top, &m.files)?;
    // 3. Verify on every backend, 4. synthesize and cost: concurrently.
    let dut = crate::verify::manifest::load(&mac_dir.join("manifest.json"))?;
    let vopts = crate::verify::Options {
        backends: vec!["verilator".into(), "icarus".into(), "rust-sim".into()],
        vectors: args.vectors,
        seed: args.seed,
        exhaustive: false,
        out: out.join("verify"),
        cache: crate::verify::tools::cache_root(),
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
            &format!("generated {} {}", m.bits, m.arch),
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
        arch,
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

/// Writes `report.md` and `report.json` of one configuration.
fn write_report(c: Computed, args: &FlowArgs, baselines: &[Costed]) -> Result<ConfigResult> {
    let Computed {
        split,
        arch,
        out,
        mac_dir,
        m,
        lint_ok,
        lint_text,
        outs,
        main,
        hand,
    } = c;
    let out = out.as_path();
    let mut md = format!(
        "# fpec flow report: {split}, arch {}, Lmax {}\n\n",
        m.arch, args.max_len
    );
    let _ = writeln!(
        md,
        "## Configuration\n\n`{}` {} arch {} (W={}, M={}, Z={}, N={}), generated in `{}` by {}.\n\n\
         | latency | S (sum) | product | term | acc | comp term | comp acc |\n|---|---|---|---|---|---|---|\n\
         | {} | {} | {} | {} | {} | {} | {} |\n",
        m.top,
        m.bits,
        m.arch,
        m.w,
        m.m,
        m.z,
        m.n,
        mac_dir.display(),
        m.generator,
        m.latency,
        m.sum_width,
        m.widths.product,
        m.widths.term,
        m.widths.acc,
        m.widths.comp_term,
        m.widths.comp_acc
    );
    let _ = writeln!(
        md,
        "## Lint\n\n`verilator --lint-only -Wall`: {}.\n",
        if lint_ok {
            "clean, no warning"
        } else {
            "WARNINGS"
        }
    );
    if !lint_ok {
        let _ = writeln!(md, "```\n{lint_text}\n```\n");
    }
    let _ = writeln!(
        md,
        "## Verification (seed {}, {} dot products per backend)\n\n\
         Reproduce: `fpec verify {} --backend all --vectors {} --seed {}`\n\n\
         The backends ran concurrently with each other and with synthesis, so \
         their times are wall times under contention.\n\n\
         | backend | products | pairs | mismatches | seconds |\n|---|---|---|---|---|",
        args.seed,
        args.vectors,
        mac_dir.display(),
        args.vectors,
        args.seed
    );
    let mut bad = 0;
    let mut vsum = Vec::new();
    for o in &outs {
        bad += o.result.n_mismatch;
        vsum.push((
            o.name.clone(),
            o.result.products,
            o.result.pairs,
            o.result.n_mismatch,
        ));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.2} |",
            o.name, o.result.products, o.result.pairs, o.result.n_mismatch, o.secs
        );
    }
    md.push('\n');
    let mut rows: Vec<Costed> = vec![main.clone()];
    rows.extend(baselines.iter().cloned());
    if let Some(h) = &hand {
        rows.push(h.clone());
    }
    let e8 = (
        baselines[0].static_.energy_fj_per_mac,
        baselines[0].sim.energy_fj_per_mac,
    );
    let e16 = (
        baselines[1].static_.energy_fj_per_mac,
        baselines[1].sim.energy_fj_per_mac,
    );
    let (g8, g16) = (
        baselines[0].glitch.energy_fj_per_mac,
        baselines[1].glitch.energy_fj_per_mac,
    );
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
    for r in &rows {
        let cells: u64 = r.sim.cells_by_type.values().sum();
        let (es, em, eg) = (
            r.static_.energy_fj_per_mac,
            r.sim.energy_fj_per_mac,
            r.glitch.energy_fj_per_mac,
        );
        let _ = writeln!(
            md,
            "| {} | {cells} | {es:.1} | {em:.1} | {eg:.1} | {:.1} | {:.3}, {:.3}, {:.3} | {:.3}, {:.3}, {:.3} |",
            r.name,
            r.sim.comp_path_fj_per_mac,
            e8.0 / es,
            e8.1 / em,
            g8 / eg,
            e16.0 / es,
            e16.1 / em,
            g16 / eg
        );
    }
    if let Some(s) = main.sim.pairs_skipped_share {
        let _ = writeln!(
            md,
            "\nPairs skipped by the sparse compensation adder (both ezb = 1): {:.1} %.",
            100.0 * s
        );
    }
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
    let _ = writeln!(md, "\n| cell type | count |\n|---|---|");
    for (t, n) in &main.sim.cells_by_type {
        let _ = writeln!(md, "| {t} | {n} |");
    }
    let _ = arch;
    let result = ConfigResult {
        bits: m.bits.clone(),
        arch: m.arch.clone(),
        w: m.w,
        fpec: !split.is_fxp(),
        latency: m.latency,
        sum_width: m.sum_width,
        lint_clean: lint_ok,
        verify_mismatches: bad,
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
    };
    let json = serde_json::json!({
        "config": m.bits,
        "arch": m.arch,
        "manifest": m,
        "lint_clean": lint_ok,
        "verify": { "seed": args.seed, "vectors": args.vectors, "mismatches": bad,
                    "backends": result.verify },
        "yosys_version": main.sim.yosys_version,
        "energy": rows.iter().map(|r| serde_json::json!({
            "design": r.name, "static": r.static_, "sim": r.sim, "glitch": r.glitch })).collect::<Vec<_>>(),
        "ratio_vs_fxp8": { "static": e8.0 / result.energy_static_fj, "sim": e8.1 / result.energy_sim_fj,
                           "glitch": g8 / result.energy_glitch_fj },
        "ratio_vs_fxp16": { "static": e16.0 / result.energy_static_fj, "sim": e16.1 / result.energy_sim_fj,
                            "glitch": g16 / result.energy_glitch_fj },
    });
    write_atomic(&out.join("report.md"), md.as_bytes())?;
    write_atomic(
        &out.join("report.json"),
        (serde_json::to_string_pretty(&json)? + "\n").as_bytes(),
    )?;
    println!(
        "{} {}: lint {}, {} mismatches, fJ/MAC static {:.1}, sim {:.1} (FxP8/it {:.3}, FxP16/it {:.3}), glitch {:.1} (FxP8/it {:.3}, FxP16/it {:.3}); report {}",
        m.bits,
        m.arch,
        if lint_ok { "clean" } else { "NOT clean" },
        bad,
        result.energy_static_fj,
        result.energy_sim_fj,
        e8.1 / result.energy_sim_fj,
        e16.1 / result.energy_sim_fj,
        result.energy_glitch_fj,
        g8 / result.energy_glitch_fj,
        g16 / result.energy_glitch_fj,
        out.join("report.md").display()
    );
    Ok(result)
}

pub(crate) fn write_summary(
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
         FxP8/it = FxP 8 energy / this design's (> 1: this design is cheaper).\n\n\
         | bits | arch | cells | static fJ/MAC | sim fJ/MAC | glitch fJ/MAC | overhead (static / sim / glitch) | FxP8/it (static / sim / glitch) | FxP16/it (static / sim / glitch) | skipped | hand-written sim fJ/MAC | mismatches |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
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
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {} |",
            r.bits,
            r.arch,
            r.cells,
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
    write_atomic(
        &out.join("summary.json"),
        (serde_json::to_string_pretty(&json)? + "\n").as_bytes(),
    )?;
    write_atomic(
        &out.join("energy.svg"),
        energy_svg(results, baselines).as_bytes(),
    )?;
    Ok(())
}

/// Energy per MAC (sim activity) against W: one polyline per family (FxP,
/// FPEC with C = 1..4), the FxP 8/16 baselines as points.
fn energy_svg(results: &[ConfigResult], baselines: &[Costed]) -> String {
    let (w0, h0, ml, mb, mt, mr) = (640.0, 420.0, 70.0, 50.0, 30.0, 150.0);
    let mut pts: Vec<(String, u32, f64)> = results
        .iter()
        .map(|r| {
            let fam = if r.fpec {
                format!(
                    "FPEC +{} {}",
                    r.bits.split('+').nth(1).unwrap_or("?"),
                    r.arch
                )
            } else {
                "FxP".to_string()
            };
            (fam, r.w, r.energy_sim_fj)
        })
        .collect();
    pts.push((
        "FxP baselines".into(),
        8,
        baselines[0].sim.energy_fj_per_mac,
    ));
    pts.push((
        "FxP baselines".into(),
        16,
        baselines[1].sim.energy_fj_per_mac,
    ));
    let wmax = pts.iter().map(|p| p.1).max().unwrap_or(16).max(2) as f64;
    let emax = pts.iter().map(|p| p.2).fold(1.0, f64::max) * 1.1;
    let x = |w: f64| ml + (w - 1.0) / (wmax) * (w0 - ml - mr);
    let y = |e: f64| h0 - mb - e / emax * (h0 - mb - mt);
    let colors = [
        "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
    ];
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w0}\" height=\"{h0}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"18\" text-anchor=\"middle\">Energy per MAC (14 nm, simulated activity) vs W</text>\n\
         <line x1=\"{ml}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n<line x1=\"{ml}\" y1=\"{mt}\" x2=\"{ml}\" y2=\"{}\" stroke=\"black\"/>\n",
        (w0 - mr + ml) / 2.0,
        h0 - mb,
        w0 - mr,
        h0 - mb,
        h0 - mb
    );
    for w in 2..=(wmax as u32) {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{w}</text>",
            x(w as f64),
            h0 - mb + 16.0
        );
    }
    for i in 0..=5 {
        let e = emax * i as f64 / 5.0;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{e:.0}</text>",
            ml - 6.0,
            y(e) + 4.0
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">W (computation bits)</text>",
        (w0 - mr + ml) / 2.0,
        h0 - 10.0
    );
    let _ = writeln!(s, "<text x=\"16\" y=\"{}\" transform=\"rotate(-90 16 {})\" text-anchor=\"middle\">fJ per MAC</text>", h0 / 2.0, h0 / 2.0);
    let mut fams: Vec<String> = pts.iter().map(|p| p.0.clone()).collect();
    fams.sort();
    fams.dedup();
    for (i, f) in fams.iter().enumerate() {
        let c = colors[i % colors.len()];
        let mut fp: Vec<&(String, u32, f64)> = pts.iter().filter(|p| &p.0 == f).collect();
        fp.sort_by_key(|p| p.1);
        if f != "FxP baselines" && fp.len() > 1 {
            let path: Vec<String> = fp
                .iter()
                .map(|p| format!("{:.1},{:.1}", x(p.1 as f64), y(p.2)))
                .collect();
            let _ = writeln!(
                s,
                "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>",
                path.join(" ")
            );
        }
        for p in &fp {
            let _ = writeln!(s, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{c}\"><title>{} W={} {:.1} fJ</title></circle>", x(p.1 as f64), y(p.2), p.0, p.1, p.2);
        }
        let ly = mt + 10.0 + 18.0 * i as f64;
        let _ = writeln!(s, "<circle cx=\"{}\" cy=\"{ly}\" r=\"4\" fill=\"{c}\"/><text x=\"{}\" y=\"{}\">{f}</text>", w0 - mr + 14.0, w0 - mr + 24.0, ly + 4.0);
    }
    s.push_str("</svg>\n");
    s
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
    }
}
