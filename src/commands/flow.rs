//! `fpec flow` (minimal): generate, lint, verify, synthesize and cost one
//! configuration, next to the FxP 8/16 baselines and the hand-written MAC,
//! with a Markdown + JSON report in `OUT/report.md` / `OUT/report.json`.

use crate::energy::{baseline_folder, evaluate, Activity, EnergyOptions, EnergyTable, Workload};
use crate::format::Split;
use crate::synth::{Design, SynthOptions};
use crate::util::{usage, write_atomic};
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

/// The hand-written behavioural MAC (quality-of-results baseline).
const HANDWRITTEN: &str = include_str!("../../testbenches/handwritten_fpec_mac.v");

/// Arguments of `fpec flow`.
#[derive(clap::Args, Debug)]
pub struct FlowArgs {
    /// Bit split W+C of the configuration.
    #[arg(long)]
    pub bits: String,
    /// Maximum dot-product length.
    #[arg(long, default_value_t = 4096)]
    pub max_len: u64,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Activity model of the energy step: static or sim.
    #[arg(long, default_value = "sim", value_parser = ["static", "sim"])]
    pub activity: String,
    /// Workload of the sim activity: uniform or dnn.
    #[arg(long, default_value = "dnn", value_parser = ["uniform", "dnn"])]
    pub workload: String,
    /// Dot products verified per backend.
    #[arg(long, default_value_t = 1000)]
    pub vectors: u64,
    /// Seed of verification and workload.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Runs `fpec flow`.
pub fn run(args: FlowArgs) -> Result<()> {
    let split = Split::parse(&args.bits)?;
    if args.max_len == 0 {
        return Err(usage("--max-len must be >= 1"));
    }
    let out = args.out.clone();
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut md = format!("# fpec flow report: {split}, max_len {}\n\n", args.max_len);

    // 1. Generate.
    let mac_dir = out.join("mac");
    let m = crate::gen::generate(&crate::gen::GenRequest::mac(split, args.max_len), &mac_dir)?;
    println!("gen: {} in {}", m.top, mac_dir.display());
    let _ = writeln!(
        md,
        "## Generate\n\n`{}` in `{}`, S = {}, latency {}.\n",
        m.top,
        mac_dir.display(),
        m.sum_width,
        m.latency
    );

    // 2. Lint.
    let mut lint = Command::new("verilator");
    lint.current_dir(&mac_dir)
        .args(["--lint-only", "-Wall", "--top-module", &m.top]);
    for f in &m.files {
        lint.arg(f);
    }
    let lo = lint
        .output()
        .map_err(|e| crate::synth::missing_program("verilator", "Verilator", e))?;
    let lint_ok = lo.status.success() && lo.stderr.is_empty();
    println!("lint: {}", if lint_ok { "clean" } else { "WARNINGS" });
    let _ = writeln!(
        md,
        "## Lint\n\n`verilator --lint-only -Wall`: {}.\n",
        if lint_ok {
            "clean"
        } else {
            "warnings (see below)"
        }
    );
    if !lint_ok {
        let _ = writeln!(md, "```\n{}\n```\n", String::from_utf8_lossy(&lo.stderr));
    }

    // 3. Verify.
    let dut = crate::verify::manifest::load(&mac_dir.join("manifest.json"))?;
    let vopts = crate::verify::Options {
        backends: vec!["verilator".into(), "icarus".into(), "rust-sim".into()],
        vectors: args.vectors,
        seed: args.seed,
        exhaustive: false,
        out: out.join("verify"),
        cache: out.join("cache"),
        repro: format!(
            "fpec verify {} --backend {{backend}} --vectors {} --seed {}",
            mac_dir.display(),
            args.vectors,
            args.seed
        ),
        rust_sim_required: false,
    };
    let outs = crate::verify::run(&dut, &vopts)?;
    let _ = writeln!(md, "## Verify (seed {}, {} dot products)\n\n| backend | products | pairs | mismatches |\n|---|---|---|---|", args.seed, args.vectors);
    let mut bad = 0;
    for o in &outs {
        bad += o.result.n_mismatch;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            o.name, o.result.products, o.result.pairs, o.result.n_mismatch
        );
    }
    md.push('\n');

    // 4. Synthesize and cost: configuration, FxP 8/16, hand-written MAC.
    let activity = if args.activity == "sim" {
        Activity::Sim {
            seed: args.seed,
            macs: 4096,
        }
    } else {
        Activity::Static { toggle_rate: 0.5 }
    };
    let workload = if args.workload == "uniform" {
        Workload::Uniform { len: 64 }
    } else {
        Workload::Dnn { len: 64 }
    };
    let opts = EnergyOptions {
        activity,
        workload,
        table: EnergyTable::builtin()?,
        synth: SynthOptions::default(),
    };
    let main = evaluate(&Design::from_dir(&mac_dir)?, &mac_dir, &opts)?;
    let mut rows = vec![("generated ".to_string() + &main.config, main.clone())];
    for w in [8u32, 16] {
        let d = out.join(format!("fxp{w}"));
        let bd = baseline_folder(w, args.max_len, &d)?;
        rows.push((format!("FxP {w}"), evaluate(&bd, &d, &opts)?));
    }
    if let Some(c) = split.comp {
        let hdir = out.join("handwritten");
        std::fs::create_dir_all(&hdir)?;
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
        hd.latency = Some(1);
        hd.label = format!("{split} (hand-written)");
        rows.push(("hand-written".to_string(), evaluate(&hd, &hdir, &opts)?));
    }
    let _ = writeln!(
        md,
        "## Energy per MAC\n\n{}; activity: {}; workload: {}; table: {}.\n\n| design | cells | fJ/MAC | comp path fJ/MAC | FxP8 / it | FxP16 / it |\n|---|---|---|---|---|---|",
        main.yosys_version, main.activity, main.workload, main.energy_table
    );
    let e8 = rows[1].1.energy_fj_per_mac;
    let e16 = rows[2].1.energy_fj_per_mac;
    for (name, r) in &rows {
        let cells: u64 = r.cells_by_type.values().sum();
        let _ = writeln!(
            md,
            "| {name} | {cells} | {:.1} | {:.1} | {:.3} | {:.3} |",
            r.energy_fj_per_mac,
            r.comp_path_fj_per_mac,
            e8 / r.energy_fj_per_mac,
            e16 / r.energy_fj_per_mac
        );
    }
    if let Some(s) = main.pairs_skipped_share {
        let _ = writeln!(md, "\nPairs skipped (both ezb = 1): {:.1} %.", 100.0 * s);
    }
    let _ = writeln!(
        md,
        "\nCells by block (generated): {:?}",
        main.cells_by_block
    );
    let json = serde_json::json!({
        "config": main.config,
        "lint_clean": lint_ok,
        "verify_mismatches": bad,
        "energy": rows.iter().map(|(n, r)| (n.clone(), serde_json::to_value(r).unwrap_or_default())).collect::<serde_json::Map<_, _>>(),
        "ratio_vs_fxp8": e8 / main.energy_fj_per_mac,
        "ratio_vs_fxp16": e16 / main.energy_fj_per_mac,
    });
    write_atomic(&out.join("report.md"), md.as_bytes())?;
    write_atomic(
        &out.join("report.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    print!("{md}");
    println!("report: {}", out.join("report.md").display());
    if bad > 0 || !lint_ok {
        bail!(
            "flow: {} verification mismatches, lint {}",
            bad,
            if lint_ok { "clean" } else { "not clean" }
        );
    }
    Ok(())
}
