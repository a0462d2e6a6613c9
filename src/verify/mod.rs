//! `fpec verify`: diff hardware (generated, or someone else's RTL following
//! spec 6.1) against the golden model, cycle by cycle (spec 7).
//!
//! - [`stimulus`]: seeded stimulus, one record per cycle, same on every backend;
//! - [`check`]: expected results from the golden model and the comparison;
//! - [`backend`]: the [`backend::Backend`] trait and the cycle-simulator
//!   adapter ([`backend::MacSim`], same semantics as `fpec_hdl::MacSim`);
//! - [`verilator`], [`icarus`]: the tool backends (harnesses rendered from
//!   `testbenches/*.tera`, builds cached by content hash);
//! - [`requant`]: the requantizer check;
//! - [`report`]: the mismatch report (spec 7) and its VCD.

pub mod backend;
pub mod check;
pub mod icarus;
pub mod manifest;
pub mod ports;
pub mod report;
pub mod requant;
pub mod stimulus;
pub mod verilator;

use anyhow::{bail, Context, Result};
use backend::Backend;
use check::{CheckResult, Checker};
use manifest::Dut;
use std::path::PathBuf;
use std::time::Instant;
use stimulus::Stimulus;

/// `--backend`: one simulator, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    /// Verilator (cycle-based, two-state).
    Verilator,
    /// Icarus Verilog (event-driven, four-state).
    Icarus,
    /// The rust-hdl model of a generated MAC.
    RustSim,
    /// Every backend (rust-sim only for a generated design).
    All,
}

impl BackendChoice {
    /// The backend names it runs ([`make_backend`]); `all` runs rust-sim
    /// only when `generated`.
    pub fn backends(self, generated: bool) -> Vec<String> {
        let names: &[&str] = match self {
            BackendChoice::Verilator => &["verilator"],
            BackendChoice::Icarus => &["icarus"],
            BackendChoice::RustSim => &["rust-sim"],
            BackendChoice::All if generated => &["verilator", "icarus", "rust-sim"],
            BackendChoice::All => &["verilator", "icarus"],
        };
        names.iter().map(|n| n.to_string()).collect()
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Backends, in order (no "all").
    pub backends: Vec<String>,
    /// Number of dot products (random mode).
    pub vectors: u64,
    /// Seed.
    pub seed: u64,
    /// Every word pair instead of random products.
    pub exhaustive: bool,
    /// Reports, VCDs and run files go here.
    pub out: PathBuf,
    /// Build cache.
    pub cache: PathBuf,
    /// The command that reproduces this run, with `{backend}` to fill in
    /// (the seed is already in it).
    pub repro: String,
    /// Whether rust-sim was asked for explicitly (an error when missing) or
    /// through `all` (skipped with a note).
    pub rust_sim_required: bool,
    /// Run the backends concurrently (rayon); each backend's time is then
    /// measured under contention.
    pub parallel: bool,
}

/// The single hook for the rust-hdl simulator: returns the `rust-sim`
/// backend of `dut`, the `fpec_hdl` model of the MAC that `fpec gen` emits
/// for the manifest's (format, W, M, Z, Lmax), behind [`backend::MacSim`].
pub fn rust_sim_backend(dut: &Dut) -> Result<Box<dyn Backend>> {
    let cfg = dut
        .rust_sim
        .clone()
        .map_err(|why| crate::util::usage(format!("rust-sim: {why}")))?;
    let sim = fpec_hdl::mac_sim(&cfg).map_err(|e| crate::util::usage(format!("rust-sim: {e}")))?;
    Ok(Box::new(backend::SimBackend::boxed("rust-sim", sim)))
}

/// Per-backend outcome.
#[derive(Debug, Clone)]
pub struct BackendOutcome {
    /// Backend name.
    pub name: String,
    /// Comparison result.
    pub result: CheckResult,
    /// Seconds for the run (stimulus through check, build excluded).
    pub secs: f64,
    /// Path of the mismatch report, when written.
    pub report: Option<PathBuf>,
}

/// Builds the backend `name` for `dut`.
pub fn make_backend(name: &str, dut: &Dut, opts: &Options) -> Result<Box<dyn Backend>> {
    match name {
        "verilator" => Ok(Box::new(verilator::VerilatorBackend::build(
            dut,
            &opts.cache,
        )?)),
        "icarus" => Ok(Box::new(icarus::IcarusBackend::build(
            dut,
            &opts.cache,
            &opts.out,
        )?)),
        "rust-sim" => rust_sim_backend(dut),
        other => bail!("unknown backend {other}"),
    }
}

/// Runs one backend over `stim` and checks it.
pub fn run_backend(be: &mut dyn Backend, stim: &Stimulus, dut: &Dut) -> Result<(CheckResult, f64)> {
    let t0 = Instant::now();
    let mut chk = Checker::new(stim, dut);
    be.run(stim, &mut |c, v| chk.got(c, v))?;
    let res = chk.finish();
    Ok((res, t0.elapsed().as_secs_f64()))
}

/// A short hash naming a design's default output folder: its top, files
/// (contents), parameters and description.
pub fn design_hash(dut: &Dut) -> Result<String> {
    let mut h = crate::toolchain::cache::Hasher::default();
    h.feed(dut.top.as_bytes())
        .feed(dut.split.to_string().as_bytes())
        .feed(&dut.sum_width.to_le_bytes())
        .feed(&dut.latency.to_le_bytes())
        .feed(&dut.max_len.to_le_bytes());
    for (k, v) in &dut.params {
        h.feed(format!("{k}={v}").as_bytes());
    }
    for f in &dut.files {
        h.feed_file(f).map_err(crate::util::as_usage)?;
    }
    Ok(h.hex()[..12].to_string())
}

/// Removes the reports of an earlier run in `out` (mismatch files, VCDs,
/// Icarus output), so that what is there after a run belongs to that run.
pub fn clear_stale_reports(out: &std::path::Path) -> Result<()> {
    let Ok(rd) = std::fs::read_dir(out) else {
        return Ok(());
    };
    for e in rd.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let stale = name.starts_with("mismatch-")
            || (name.starts_with("icarus-")
                && (name.ends_with("-out.txt") || name.ends_with("-stim.hex")))
            || name == "raw-stim.bin";
        if stale && e.path().is_file() {
            std::fs::remove_file(e.path())
                .with_context(|| format!("cannot remove the stale {}", e.path().display()))?;
        }
    }
    Ok(())
}

/// The stimulus for `opts`.
pub fn make_stimulus(dut: &Dut, opts: &Options) -> Stimulus {
    if opts.exhaustive {
        stimulus::exhaustive(dut)
    } else {
        stimulus::random_stream(dut, opts.vectors, opts.seed)
    }
}

/// The Verilog files of `dut`, space-separated, as the run logs them.
pub fn files_simulated(dut: &Dut) -> String {
    dut.files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs every backend of `opts` on `dut`; prints the seed and one summary
/// line per backend; writes a report for each failing backend. Returns the
/// outcomes (the caller decides the exit code).
pub fn run(dut: &Dut, opts: &Options) -> Result<Vec<BackendOutcome>> {
    println!(
        "design: {} {} arch {}, Lmax {}, S {}, latency {}",
        dut.top, dut.split, dut.arch, dut.max_len, dut.sum_width, dut.latency
    );
    println!("files simulated: {}", files_simulated(dut));
    println!("seed {}", opts.seed);
    crate::toolchain::cache::mkdir(&opts.out)?;
    clear_stale_reports(&opts.out)?;
    let stim = make_stimulus(dut, opts);
    // Build and run one backend; `None` when rust-sim is skipped.
    let one = |name: &String| -> Result<Option<(CheckResult, f64)>> {
        let mut be = match make_backend(name, dut, opts) {
            Ok(b) => b,
            Err(e) if name == "rust-sim" && !opts.rust_sim_required => {
                println!("rust-sim: skipped ({e})");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        run_backend(be.as_mut(), &stim, dut).map(Some)
    };
    let runs: Vec<Result<Option<(CheckResult, f64)>>> = if opts.parallel {
        use rayon::prelude::*;
        opts.backends.par_iter().map(one).collect()
    } else {
        opts.backends.iter().map(one).collect()
    };
    let mut outs = Vec::new();
    for (name, run) in opts.backends.iter().zip(runs) {
        let Some((result, secs)) = run? else {
            continue;
        };
        println!(
            "{}: {} dot products, {} pairs, {} mismatches ({:.2} s)",
            name, result.products, result.pairs, result.n_mismatch, secs
        );
        let report = if result.n_mismatch > 0 {
            Some(report::write(dut, opts, name, &stim, &result)?)
        } else {
            None
        };
        outs.push(BackendOutcome {
            name: name.clone(),
            result,
            secs,
            report,
        });
    }
    if let Some(r) = &dut.requant {
        if opts.backends.iter().any(|b| b == "verilator") {
            let rr = requant::check(r, opts.seed, &opts.cache)?;
            println!(
                "requant {}: {} values ({}), {} mismatches",
                r.top,
                rr.values,
                if rr.exhaustive {
                    "every S-bit sum"
                } else {
                    "seeded random"
                },
                rr.n_mismatch
            );
            for (sum, e, g) in &rr.first {
                println!(
                    "  requant mismatch: sum = {sum}: expected word 0x{e:x}, got 0x{g:x} (seed {}, {})",
                    opts.seed,
                    opts.repro.replace("{backend}", "verilator")
                );
            }
            outs.push(BackendOutcome {
                name: format!("requant-{}", r.top),
                result: CheckResult {
                    products: rr.values,
                    pairs: 0,
                    n_mismatch: rr.n_mismatch,
                    mismatches: Vec::new(),
                },
                secs: 0.0,
                report: None,
            });
        }
    }
    Ok(outs)
}

/// Benchmark: Verilator checking path vs the raw harness loop on the same
/// stimulus, and Icarus; prints pairs per second.
pub fn bench(dut: &Dut, opts: &Options) -> Result<()> {
    println!("seed {}", opts.seed);
    crate::toolchain::cache::mkdir(&opts.out)?;
    let stim = make_stimulus(dut, opts);
    let (mut pairs, mut cycles) = (0f64, 0f64);
    for r in stim.iter() {
        cycles += 1.0;
        if r & stimulus::VALID != 0 {
            pairs += 1.0;
        }
    }
    let mut vb = verilator::VerilatorBackend::build(dut, &opts.cache)?;
    // Warm-up, then best of three for both paths.
    let mut best_chk = f64::MAX;
    let mut best_raw = f64::MAX;
    for _ in 0..3 {
        let (res, secs) = run_backend(&mut vb, &stim, dut)?;
        if res.n_mismatch > 0 {
            bail!("bench: {} mismatches under verilator", res.n_mismatch);
        }
        best_chk = best_chk.min(secs);
        let (_, raw) = vb.raw(&stim, 1, &opts.out)?;
        best_raw = best_raw.min(raw);
    }
    println!(
        "verilator check: {cycles} cycles, {pairs} pairs, {:.3} s, {:.3e} pairs/s",
        best_chk,
        pairs / best_chk
    );
    println!(
        "verilator raw:   {cycles} cycles, {pairs} pairs, {:.3} s, {:.3e} pairs/s",
        best_raw,
        pairs / best_raw
    );
    println!("check / raw = {:.1} %", 100.0 * best_raw / best_chk);
    if opts.backends.iter().any(|b| b == "rust-sim") {
        let mut rb = rust_sim_backend(dut)?;
        let (res, secs) = run_backend(rb.as_mut(), &stim, dut)?;
        println!(
            "rust-sim check:  {cycles} cycles, {pairs} pairs, {:.3} s, {:.3e} pairs/s ({} mismatches)",
            secs,
            pairs / secs,
            res.n_mismatch
        );
    }
    if opts.backends.iter().any(|b| b == "icarus") {
        let mut ib = icarus::IcarusBackend::build(dut, &opts.cache, &opts.out)?;
        let (res, secs) = run_backend(&mut ib, &stim, dut)?;
        println!(
            "icarus check:    {cycles} cycles, {pairs} pairs, {:.3} s, {:.3e} pairs/s ({} mismatches)",
            secs,
            pairs / secs,
            res.n_mismatch
        );
    }
    Ok(())
}
