//! `fpec verify`: thin CLI over [`crate::verify`].

use super::args::{parse_emb, parse_rtl_max_len as parse_max_len, parse_seed, parse_vectors};
use crate::format::Split;
use crate::util::usage;
use crate::verify::{self, manifest, BackendChoice, Options};
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;

crate::ranged_arg!(parse_latency, u32, "--latency", 1, 64);
crate::ranged_arg!(parse_sum_width, u32, "--sum-width", 2, 64);

/// Arguments of `fpec verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// Folder holding manifest.json and the Verilog written by `fpec gen`.
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Simulator(s): verilator, icarus, rust-sim or all.
    #[arg(long, value_enum, default_value_t = BackendChoice::All)]
    pub backend: BackendChoice,
    /// Number of dot products (1..=10000000; default 300, as in flow; not with --exhaustive).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_vectors)]
    pub vectors: Option<u64>,
    /// Seed of the stimulus (printed; default 1, as in every command).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_seed)]
    pub seed: Option<u64>,
    /// Every (w, a) word pair as a one-pair dot product (W <= 8).
    #[arg(long)]
    pub exhaustive: bool,
    /// Someone else's RTL (spec 6.1 ports), in compile order.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub rtl: Vec<PathBuf>,
    /// Top module of --rtl.
    #[arg(long)]
    pub top: Option<String>,
    /// Manifest describing --rtl (instead of --bits and friends).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Bit split W+C of --rtl.
    #[arg(long, value_name = "W+C")]
    pub bits: Option<String>,
    /// Error-magnitude bits M (0..=2), overriding the canonical set.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_emb)]
    pub emb: Option<u32>,
    /// No error-zero bit (Z = 0).
    #[arg(long)]
    pub no_ezb: bool,
    /// Lmax of --rtl (default 4096).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_max_len)]
    pub max_len: Option<u64>,
    /// Latency of --rtl in cycles.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_latency)]
    pub latency: Option<u32>,
    /// Width S of out_sum of --rtl.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_sum_width)]
    pub sum_width: Option<u32>,
    /// Verilog parameter of the --rtl top (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Output folder for reports and VCDs (default `out/verify/<top>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Build cache folder (default $FPEC_CACHE or out/cache, shared by every command).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Measure pairs/s: Verilator checking path vs raw loop, and Icarus.
    #[arg(long)]
    pub bench: bool,
}

/// The flags of `--rtl` that a manifest gives (format, Lmax, timing), each
/// with whether it was given, in the order errors name them.
fn manifest_flags(a: &VerifyArgs) -> [(&'static str, bool); 6] {
    [
        ("--bits", a.bits.is_some()),
        ("--emb", a.emb.is_some()),
        ("--no-ezb", a.no_ezb),
        ("--max-len", a.max_len.is_some()),
        ("--latency", a.latency.is_some()),
        ("--sum-width", a.sum_width.is_some()),
    ]
}

/// The first given flag of `flags`.
fn first_given(flags: &[(&'static str, bool)]) -> Option<&'static str> {
    flags.iter().find(|f| f.1).map(|f| f.0)
}

/// The device under test from the arguments.
fn dut_of(a: &VerifyArgs) -> Result<manifest::Dut> {
    if a.dir.is_some() {
        // With DIR the manifest describes the design: flags describing --rtl
        // would be silently ignored, so they are errors.
        let given = first_given(&manifest_flags(a)).or_else(|| {
            first_given(&[
                ("--param", !a.params.is_empty()),
                ("--top", a.top.is_some()),
                ("--manifest", a.manifest.is_some()),
            ])
        });
        if let Some(f) = given {
            return Err(usage(format!(
                "{f} describes --rtl designs; with DIR the manifest gives it (drop {f} or use --rtl)"
            )));
        }
    }
    for f in &a.rtl {
        if !f.is_file() {
            return Err(usage(format!(
                "--rtl {}: no such file (allowed: existing Verilog files)",
                f.display()
            )));
        }
    }
    if a.manifest.is_some() {
        if let Some(f) = first_given(&manifest_flags(a)) {
            return Err(usage(format!(
                "{f} conflicts with --manifest (the manifest gives it)"
            )));
        }
    }
    match (&a.dir, a.rtl.is_empty()) {
        (Some(_), false) => Err(usage("give either DIR or --rtl FILE..., not both")),
        (None, true) => Err(usage(
            "give DIR (with manifest.json) or --rtl FILE... --top NAME",
        )),
        (Some(dir), true) => manifest::load(&dir.join("manifest.json")),
        (None, false) => {
            let top = a
                .top
                .clone()
                .ok_or_else(|| usage("--rtl needs --top NAME"))?;
            let mut params = BTreeMap::new();
            for p in &a.params {
                let (k, v) = crate::util::parse_param(p)?;
                params.insert(k, v);
            }
            if let Some(m) = &a.manifest {
                let mut d = manifest::load(m)?;
                d.top = top;
                d.files = a.rtl.clone();
                d.params.extend(params);
                return Ok(d);
            }
            let bits = a
                .bits
                .as_deref()
                .ok_or_else(|| usage("--rtl needs --manifest FILE or --bits W+C"))?;
            let split = Split::parse_with(bits, a.emb, a.no_ezb)?;
            let latency = a
                .latency
                .ok_or_else(|| usage("--rtl needs --latency K (1..=64)"))?;
            let sum_width = a
                .sum_width
                .ok_or_else(|| usage("--rtl needs --sum-width S (2..=64)"))?;
            let max_len = a.max_len.unwrap_or(4096);
            crate::manifest::check_ranges(max_len, sum_width, latency)?;
            crate::manifest::check_sum_width(&split, max_len, sum_width, "--sum-width")?;
            Ok(manifest::Dut {
                top,
                files: a.rtl.clone(),
                params,
                split,
                max_len,
                sum_width,
                latency,
                requant: None,
                arch: "unknown".to_string(),
                rust_sim: Err("not applicable: not generated by fpec (--rtl)".to_string()),
            })
        }
    }
}

/// The command line that reproduces this run: the original arguments with
/// `--seed S` and `--backend {backend}` substituted.
fn repro_command(seed: u64) -> String {
    let args: Vec<String> = std::env::args().collect();
    let start = args.iter().position(|a| a == "verify").map_or(1, |i| i + 1);
    let mut out = vec!["fpec".to_string(), "verify".to_string()];
    let mut i = start;
    while i < args.len() {
        let a = &args[i];
        if a == "--seed" || a == "--backend" {
            i += 2;
            continue;
        }
        if a.starts_with("--seed=") || a.starts_with("--backend=") || a == "--bench" {
            i += 1;
            continue;
        }
        out.push(if a.contains(' ') {
            format!("'{a}'")
        } else {
            a.clone()
        });
        i += 1;
    }
    out.push(format!("--seed {seed} --backend {{backend}}"));
    out.join(" ")
}

/// Runs `fpec verify`.
pub fn run(a: VerifyArgs) -> Result<()> {
    if a.exhaustive && a.vectors.is_some() {
        return Err(usage(
            "--vectors conflicts with --exhaustive (the sweep runs every word pair); give one of them",
        ));
    }
    let vectors = a.vectors.unwrap_or(super::args::DEFAULT_VECTORS);
    if !(1..=10_000_000).contains(&vectors) {
        return Err(usage(format!(
            "--vectors {vectors} is out of range (allowed 1..=10000000)"
        )));
    }
    let dut = dut_of(&a)?;
    crate::toolchain::inputs::check_design(&dut.top, &dut.files, dut.params.keys())?;
    if let Some(r) = &dut.requant {
        crate::toolchain::inputs::check_design(&r.top, &r.files, r.params.keys())?;
    }
    // The width of out_sum in the RTL must be the S the checker assumes.
    match verify::ports::out_sum_width(&dut) {
        Ok(Some(w)) if w != dut.sum_width => {
            let what = if a.sum_width.is_some() {
                "--sum-width"
            } else {
                "sum_width ="
            };
            return Err(usage(format!(
                "{what} {} does not match the RTL: out_sum of {} is {w} bits (allowed: {w})",
                dut.sum_width, dut.top
            )));
        }
        Ok(_) => {}
        Err(e) if e.downcast_ref::<crate::util::UsageError>().is_some() => return Err(e),
        Err(e) => eprintln!("note: out_sum width not checked against the RTL ({e:#})"),
    }
    if a.exhaustive && dut.split.w > 8 {
        return Err(usage(format!(
            "--exhaustive needs W <= 8 (W = {} here; allowed 2..=8)",
            dut.split.w
        )));
    }
    if dut.n() > 20 {
        return Err(usage(format!(
            "N = {} is out of range (allowed 2..=20)",
            dut.n()
        )));
    }
    if !a.rtl.is_empty() && a.backend == BackendChoice::RustSim {
        return Err(usage("--backend rust-sim needs a generated DIR, not --rtl"));
    }
    let backends = a.backend.backends(a.rtl.is_empty());
    let seed = a.seed.unwrap_or(super::args::DEFAULT_SEED);
    // Default output folder: one per design (top, split and a hash of the
    // RTL and its description), so designs never share mismatch files.
    let out = match a.out.clone() {
        Some(o) => o,
        None => PathBuf::from("out/verify").join(format!(
            "{}-{}-{}",
            dut.top,
            dut.split
                .to_string()
                .replace(['(', ')', ',', '=', ' ', '/'], "_"),
            verify::design_hash(&dut)?
        )),
    };
    crate::util::check_out_dir(&out, "--out")?;
    if let Some(c) = &a.cache {
        crate::util::check_out_dir(c, "--cache")?;
    }
    let cache = a
        .cache
        .clone()
        .unwrap_or_else(crate::toolchain::cache::cache_root);
    let opts = Options {
        backends,
        vectors,
        seed,
        exhaustive: a.exhaustive,
        out,
        cache,
        repro: repro_command(seed),
        rust_sim_required: a.backend == BackendChoice::RustSim,
        parallel: false,
    };
    if a.bench {
        return verify::bench(&dut, &opts);
    }
    let outs = verify::run(&dut, &opts)?;
    let bad: u64 = outs.iter().map(|o| o.result.n_mismatch).sum();
    if bad > 0 {
        bail!(
            "verification failed: {bad} mismatches (seed {}; reports in {})",
            opts.seed,
            opts.out.display()
        );
    }
    Ok(())
}
