//! `fpec energy`: energy per MAC at 14 nm of a configuration and, from the
//! same flow in the same run, of FxP 8-bit and 16-bit MACs with the same
//! max_len; prints the ratios (baseline / configuration).

use super::args::{parse_rtl_max_len as parse_max_len, parse_seed};
use crate::energy::{
    evaluate, Activity, ActivityKind, EnergyOptions, EnergyReport, EnergyTable, Workload,
    WorkloadKind,
};
use crate::format::Split;
use crate::gen::Arch;
use crate::synth::{Design, SynthOptions};
use crate::util::{usage, write_atomic};
use std::path::PathBuf;

crate::ranged_arg!(parse_len, usize, "--len", 1, 65536);
crate::ranged_arg!(parse_macs, usize, "--macs", 1, 1000000);

/// Arguments of `fpec energy`.
#[derive(clap::Args, Debug)]
pub struct EnergyArgs {
    /// Generated folder (with manifest.json); with --rtl, the output folder.
    pub dir: PathBuf,
    /// Activity model: `static` (toggle rate per cell), `sim` (Verilator,
    /// zero-delay toggle counts on the synthesized netlist) or `glitch`
    /// (Icarus, unit gate delays: glitches counted too).
    #[arg(long, value_enum, default_value_t = ActivityKind::Static)]
    pub activity: ActivityKind,
    /// Toggle probability per cycle of the static model.
    #[arg(long, value_name = "R")]
    pub toggle_rate: Option<f64>,
    /// Workload of the sim model: `uniform` words or `dnn` (Gaussian weights,
    /// ReLU activations, encoded by the golden model); default dnn; not
    /// with --activity static (it has no workload).
    #[arg(long, value_enum)]
    pub workload: Option<WorkloadKind>,
    /// Dot-product length of the workload.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_len, default_value_t = 64)]
    pub len: usize,
    /// MACs to simulate.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_macs, default_value_t = 4096)]
    pub macs: usize,
    /// Workload seed.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_seed, default_value_t = super::args::DEFAULT_SEED)]
    pub seed: u64,
    /// Share of sparse pairs (both ezb = 1) in each dot product of the dnn
    /// workload, 0..=1 (sim and glitch activity; FPEC with Z = 1 only).
    #[arg(long, allow_negative_numbers = true, value_name = "S")]
    pub sparsity: Option<f64>,
    /// Zero threshold T (64ths of an LSB, 0..=32) with which the dnn
    /// workload is encoded (sim and glitch activity; FPEC with Z = 1 only).
    #[arg(long, allow_negative_numbers = true, value_name = "T")]
    pub ezb_threshold: Option<i64>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Energy table replacing data/energy-14nm.toml.
    #[arg(long, value_name = "FILE")]
    pub energy_table: Option<PathBuf>,
    /// Map to this liberty file; energy and area from its own tables.
    #[arg(long, value_name = "FILE")]
    pub liberty: Option<PathBuf>,
    #[command(flatten)]
    pub rtl: super::args::RtlArgs,
    /// Word format of --rtl's ports, W+C (needed by --activity sim).
    #[arg(long)]
    pub bits: Option<String>,
    /// Error-magnitude bits M (0..=2) of --bits, overriding the canonical set.
    #[arg(long, allow_negative_numbers = true, value_parser = super::args::parse_emb)]
    pub emb: Option<u32>,
    /// No error-zero bit (Z = 0) in --bits.
    #[arg(long)]
    pub no_ezb: bool,
    /// max_len of the FxP baselines with --rtl (a generated folder's manifest gives it).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_max_len)]
    pub max_len: Option<u64>,
    /// Skip the FxP 8/16 baselines.
    #[arg(long)]
    pub no_baselines: bool,
    /// Generate and cost in one go: with --bits (and no --rtl), DIR is
    /// written by `fpec gen` in this microarchitecture (fused or split;
    /// default fused) before it is costed.
    #[arg(long, value_enum)]
    pub arch: Option<Arch>,
}

/// `fpec energy DIR --bits ...` generates into DIR: refused when DIR
/// already holds another configuration (it would be replaced silently).
fn check_not_other_design(
    dir: &std::path::Path,
    req: &crate::gen::GenRequest,
) -> anyhow::Result<()> {
    if !dir.join("manifest.json").is_file() {
        return Ok(());
    }
    let (want, _) = crate::gen::build(req)?;
    let (have, _) = crate::manifest::Manifest::load(dir)?;
    if (have.bits(), have.arch(), have.max_len, have.m, have.z)
        != (want.bits(), want.arch(), want.max_len, want.m, want.z)
    {
        return Err(usage(format!(
            "{} holds the {} {} design (Lmax {}); --bits would replace it with {} {} (allowed: a new folder, or drop --bits to cost it)",
            dir.display(),
            have.bits(),
            have.arch(),
            have.max_len,
            want.bits(),
            want.arch()
        )));
    }
    Ok(())
}

/// Options that contradict each other or would be ignored (before any
/// work): `--max-len` on a generated folder, `--workload` with static
/// activity, a toggle rate outside 0..=1.
fn check_flags(args: &EnergyArgs) -> anyhow::Result<()> {
    if args.rtl.rtl.is_empty() && args.max_len.is_some() {
        return Err(usage(
            "--max-len goes with --rtl or --bits (a generated folder's manifest gives its Lmax)",
        ));
    }
    if args.activity == ActivityKind::Static && args.workload.is_some() {
        return Err(usage(
            "--workload goes with --activity sim or glitch (static activity has no workload)",
        ));
    }
    if let Some(r) = args.toggle_rate {
        if !(r.is_finite() && (0.0..=1.0).contains(&r)) {
            return Err(usage(format!(
                "--toggle-rate {r} is out of range (allowed 0..=1)"
            )));
        }
    }
    Ok(())
}

/// The generation `--bits` asks for (no `--rtl`): DIR is written by `fpec
/// gen` before it is costed. `--emb`/`--no-ezb` need `--bits`; `--arch`
/// needs `--bits` and no `--rtl`.
fn gen_request(args: &EnergyArgs) -> anyhow::Result<Option<crate::gen::GenRequest>> {
    if args.bits.is_none() && (args.emb.is_some() || args.no_ezb) {
        return Err(usage("--emb/--no-ezb go with --bits W+C"));
    }
    if !args.rtl.rtl.is_empty() {
        if args.arch.is_some() {
            return Err(usage(
                "--arch goes with --bits and a folder to generate, not with --rtl",
            ));
        }
        return Ok(None);
    }
    match (&args.bits, args.arch) {
        (Some(b), arch) => {
            let split = Split::parse_with(b, args.emb, args.no_ezb)?;
            let arch = crate::gen::check_arch(arch.unwrap_or_default(), &split)?;
            let max_len = args.max_len.unwrap_or(crate::gen::DEFAULT_MAX_LEN);
            crate::gen::check_max_len(max_len)?;
            Ok(Some(crate::gen::GenRequest {
                arch,
                ..crate::gen::GenRequest::mac(split, max_len)
            }))
        }
        (None, Some(_)) => Err(usage(
            "--arch goes with --bits W+C (a generated folder's manifest gives its arch)",
        )),
        (None, None) => Ok(None),
    }
}

/// The design to cost: DIR, or `--rtl` with its `--bits` and `--max-len`.
fn design_of(args: &EnergyArgs) -> anyhow::Result<Design> {
    let mut design = args.rtl.design(&args.dir)?;
    if let Some(b) = &args.bits {
        let split = Split::parse_with(b, args.emb, args.no_ezb)?;
        design.split = Some(split);
        design.label = format!("{} ({})", split, design.top);
    }
    if let Some(m) = args.max_len {
        if m == 0 {
            return Err(usage("--max-len must be >= 1"));
        }
        design.max_len = Some(m);
    }
    Ok(design)
}

/// The energy table: built in, `--energy-table`, or from `--liberty`.
fn table_of(args: &EnergyArgs) -> anyhow::Result<EnergyTable> {
    let table = match &args.energy_table {
        Some(p) => EnergyTable::load(p)?,
        None => EnergyTable::builtin()?,
    };
    Ok(match &args.liberty {
        Some(l) => crate::liberty::energy_table(l)?,
        None => table,
    })
}

/// The activity model with its parameters (checked: `--toggle-rate` with
/// static only, `--liberty` with static only).
fn activity_of(args: &EnergyArgs, table: &EnergyTable) -> anyhow::Result<Activity> {
    let activity = match args.activity {
        ActivityKind::Sim | ActivityKind::Glitch => {
            if args.toggle_rate.is_some() {
                return Err(usage("--toggle-rate goes with --activity static"));
            }
            if args.macs == 0 {
                return Err(usage("--macs must be >= 1"));
            }
            if args.activity == ActivityKind::Glitch {
                Activity::Glitch {
                    seed: args.seed,
                    macs: args.macs,
                }
            } else {
                Activity::Sim {
                    seed: args.seed,
                    macs: args.macs,
                }
            }
        }
        ActivityKind::Static => Activity::Static {
            toggle_rate: args
                .toggle_rate
                .or(table.meta.default_toggle_rate)
                .unwrap_or(0.5),
        },
    };
    if args.liberty.is_some() && !matches!(activity, Activity::Static { .. }) {
        return Err(usage(
            "--liberty supports --activity static only (the toggle simulator knows generic gates)",
        ));
    }
    Ok(activity)
}

/// `--len` within 1..=the design's Lmax.
fn check_len(args: &EnergyArgs, design: &Design) -> anyhow::Result<()> {
    if args.len == 0 {
        return Err(usage("--len must be >= 1"));
    }
    if let Some(lmax) = design.max_len {
        if args.len as u64 > lmax {
            return Err(usage(format!(
                "--len {} is above the design's Lmax (allowed 1..={lmax})",
                args.len
            )));
        }
    }
    Ok(())
}

/// FxP 8 and 16 at the design's Lmax, generated into DIR/energy and costed
/// by the same flow on the plain workload `base` (FxP has no sparse pairs).
fn fxp_baselines(
    args: &EnergyArgs,
    design: &Design,
    opts: &EnergyOptions,
    base: &Workload,
) -> anyhow::Result<Vec<(String, EnergyReport)>> {
    let mut baselines = Vec::new();
    if args.no_baselines {
        return Ok(baselines);
    }
    let max_len = design.max_len.unwrap_or(4096);
    for w in [8u32, 16] {
        let bdir = args.dir.join("energy").join(format!("fxp{w}"));
        crate::gen::generate_baseline(w, max_len, &bdir)?;
        let bd = Design::from_dir(&bdir)?;
        let bopts = EnergyOptions {
            workload: base.clone(),
            ..opts.clone()
        };
        baselines.push((format!("fxp{w}"), evaluate(&bd, &bdir, &bopts)?));
    }
    Ok(baselines)
}

/// What `fpec energy` found: the design, its baselines, its row model.
struct Costing {
    main: EnergyReport,
    baselines: Vec<(String, EnergyReport)>,
    floor: Option<crate::synth::floor::RowModel>,
    /// The baselines' Lmax.
    max_len: u64,
}

impl Costing {
    /// `energy.json`.
    fn json(&self) -> serde_json::Value {
        let main = &self.main;
        let ratio = |k: &str| {
            self.baselines
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, r)| r.energy_fj_per_mac / main.energy_fj_per_mac)
        };
        let base_map: serde_json::Map<String, serde_json::Value> = self
            .baselines
            .iter()
            .map(|(n, r)| (n.clone(), serde_json::json!(r.energy_fj_per_mac)))
            .collect();
        serde_json::json!({
            "config": main.config,
            "top": main.top,
            "activity": main.activity,
            "workload": main.workload,
            "yosys_version": main.yosys_version,
            "energy_table": main.energy_table,
            "cells_by_type": main.cells_by_type,
            "cells_by_block": main.cells_by_block,
            "energy_fj_per_mac": main.energy_fj_per_mac,
            "energy_by_block_fj": main.energy_by_block_fj,
            "comp_path_fj_per_mac": main.comp_path_fj_per_mac,
            "pairs_skipped_share": main.pairs_skipped_share,
            "macs_simulated": main.macs_simulated,
            "toggles_per_mac": main.toggles_per_mac,
            "area_um2": main.area_um2,
            "baselines": base_map,
            "baseline_max_len": self.max_len,
            "ratio_vs_fxp8": ratio("fxp8"),
            "ratio_vs_fxp16": ratio("fxp16"),
            "row_model": self.floor,
        })
    }

    /// The text report on stdout.
    fn print(&self) {
        let main = &self.main;
        println!("energy per MAC, {} (top {})", main.config, main.top);
        println!("  activity: {}", main.activity);
        println!("  workload: {}", main.workload);
        println!("  {}; table: {}", main.yosys_version, main.energy_table);
        let total: u64 = main.cells_by_type.values().sum();
        println!("  cells: {total}");
        for (b, n) in &main.cells_by_block {
            let e = main.energy_by_block_fj.get(b).copied().unwrap_or(0.0);
            println!("    {b:<13} {n:>6} cells {e:>10.2} fJ/MAC");
        }
        println!("  energy: {:.2} fJ/MAC", main.energy_fj_per_mac);
        println!(
            "  compensation path: {:.2} fJ/MAC",
            main.comp_path_fj_per_mac
        );
        if let Some(s) = main.pairs_skipped_share {
            println!("  pairs skipped (both ezb = 1): {:.1} %", 100.0 * s);
        }
        if let Some(a) = main.area_um2 {
            println!("  area: {a:.3} um^2");
        }
        if let Some(f) = &self.floor {
            println!("  {}", f.describe());
            for b in &f.blocks {
                println!(
                    "    {:<13} {:>6} cells, row model {:>8.1} (cells / model {})",
                    b.block,
                    b.cells,
                    b.model,
                    b.ratio_text()
                );
            }
            println!(
                "    all           {:>6} cells, row model {:>8.1} (cells / model {:.3})",
                f.cells,
                f.model,
                f.ratio()
            );
        }
        for (n, r) in &self.baselines {
            println!(
                "  baseline {n} (same flow, max_len {}): {:.2} fJ/MAC, ratio {n} / {} = {:.3}",
                self.max_len,
                r.energy_fj_per_mac,
                main.config,
                r.energy_fj_per_mac / main.energy_fj_per_mac
            );
        }
    }
}

/// Runs `fpec energy`: every flag checked before any work, then the
/// design, its FxP baselines and its row model costed.
pub fn run(args: EnergyArgs) -> anyhow::Result<()> {
    if let Some(req) = gen_request(&args)? {
        // Generate DIR first, then cost it like any generated folder.
        check_not_other_design(&args.dir, &req)?;
        crate::gen::generate(&req, &args.dir)?;
        return run(EnergyArgs {
            bits: None,
            emb: None,
            no_ezb: false,
            arch: None,
            max_len: None,
            ..args
        });
    }
    check_flags(&args)?;
    let design = design_of(&args)?;
    let table = table_of(&args)?;
    let activity = activity_of(&args, &table)?;
    check_len(&args, &design)?;
    let base = args
        .workload
        .unwrap_or(super::args::DEFAULT_WORKLOAD)
        .with_len(args.len);
    let workload = sparse_workload(&args, &design, &activity, &base)?;
    let opts = EnergyOptions {
        activity,
        workload,
        table,
        synth: SynthOptions {
            liberty: args.liberty.clone(),
            blocks: None,
        },
    };
    let main = evaluate(&design, &args.dir, &opts)?;
    let baselines = fxp_baselines(&args, &design, &opts, &base)?;
    // The row model, at the unit costs of FxP W synthesized by the same flow.
    let floor = match &design.split {
        Some(sp) if !sp.is_fxp() => crate::synth::floor::with_companion(
            &design,
            &main.cells_by_block,
            &args.dir.join("energy").join(format!("fxp{}-floor", sp.w)),
            &opts.synth,
        )?,
        _ => None,
    };
    let costing = Costing {
        main,
        baselines,
        floor,
        max_len: design.max_len.unwrap_or(4096),
    };
    let text = serde_json::to_string_pretty(&costing.json())?;
    std::fs::create_dir_all(args.dir.join("energy"))?;
    write_atomic(
        &args.dir.join("energy").join("energy.json"),
        text.as_bytes(),
    )?;
    if args.json {
        println!("{text}");
    } else {
        costing.print();
    }
    Ok(())
}

/// The workload with `--sparsity` / `--ezb-threshold` applied (checked:
/// ranges, a dnn workload under sim or glitch activity, an FPEC design
/// with Z = 1), or `base` when neither is given.
fn sparse_workload(
    args: &EnergyArgs,
    design: &Design,
    activity: &Activity,
    base: &Workload,
) -> anyhow::Result<Workload> {
    if args.sparsity.is_none() && args.ezb_threshold.is_none() {
        return Ok(base.clone());
    }
    let thr = match args.ezb_threshold {
        Some(t) if !(0..=32).contains(&t) => {
            return Err(usage(format!(
                "--ezb-threshold {t} is out of range (allowed 0..=32)"
            )))
        }
        t => t.map(|t| t as u32),
    };
    let split = design.split.ok_or_else(|| {
        usage("--sparsity/--ezb-threshold need the word format (--bits W+C with --rtl)")
    })?;
    crate::energy::check_sparse(&split, args.sparsity, thr)?;
    if matches!(activity, Activity::Static { .. }) || !matches!(base, Workload::Dnn { .. }) {
        return Err(usage(
            "--sparsity/--ezb-threshold set the dnn workload of --activity sim or glitch",
        ));
    }
    Ok(Workload::DnnSparse {
        len: args.len,
        sparsity: args.sparsity,
        ezb_threshold: thr,
    })
}
