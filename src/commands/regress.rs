//! `fpec regress` and `fpec regress merge`: thin CLI over [`crate::regress`].
//! Every argument is checked (one-line usage error, exit 2) before anything
//! is generated or written.

use super::args::{parse_max_len, parse_seed};
use crate::flow::ArchChoice;
use crate::gen::Arch;
use crate::regress::{self, merge, Plan, PlanSpec, RunOptions};
use crate::util::usage;
use anyhow::{bail, Result};
use std::path::PathBuf;

crate::ranged_arg!(parse_sample, u64, "--sample-products", 0, 100000);
crate::ranged_arg!(parse_chunk, u64, "--chunk", 0, u64::MAX);

/// Arguments of `fpec regress`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RegressArgs {
    /// `merge DIR...`: combine shard results.
    #[command(subcommand)]
    pub cmd: Option<RegressCmd>,
    /// Bit split(s) W+C or ranges A..B+C (default: all 105 splits, W 2..16 x FxP and every (M, Z)).
    #[arg(long, value_name = "W+C")]
    pub bits: Vec<String>,
    /// Arch(s) of the FPEC splits: fused, split or all (default all).
    #[arg(long, value_enum)]
    pub arch: Vec<ArchChoice>,
    /// Configuration id(s) instead of --bits/--arch, e.g. 6+2-fused, 6+3-m1z0-split, 8+0-fxp.
    #[arg(long, value_name = "ID")]
    pub config: Vec<String>,
    /// Pair budget per configuration (random mode), e.g. 1e8 (1..=1e13).
    #[arg(long, default_value = "1e8")]
    pub pairs: String,
    /// Pairs per chunk, the unit of work and of seeding (1..=1e10; keep it
    /// fixed across the shards of one regression).
    #[arg(long, default_value = "4194304")]
    pub chunk_pairs: String,
    /// Every (w, a) pair (one-pair products, then Lmax-long products) for
    /// the configurations with N <= 12, instead of the random budget.
    #[arg(long)]
    pub exhaustive: bool,
    /// Dot products of the seeded sample run on Verilator, Icarus and rust-sim (0..=100000).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_sample, default_value_t = 20)]
    pub sample_products: u64,
    /// Lmax of the generated MACs (1..=65536).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_max_len, default_value_t = 4096)]
    pub max_len: u64,
    /// Base seed (each chunk's seed derives from it, the configuration and the chunk index).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_seed, default_value_t = 1)]
    pub seed: u64,
    /// Run shard K of N (0 <= K < N) and write OUT/shard-K-of-N.json only.
    #[arg(long, value_name = "K/N", allow_hyphen_values = true)]
    pub shard: Option<String>,
    /// Rerun only chunk I of one --config (what a failure's reproduce command does).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_chunk)]
    pub chunk: Option<u64>,
    /// Output folder.
    #[arg(long, default_value = "out/regress")]
    pub out: PathBuf,
    /// Build cache folder (default $FPEC_CACHE or out/cache, shared by every command).
    #[arg(long)]
    pub cache: Option<PathBuf>,
}

/// Subcommands of `fpec regress`.
#[derive(clap::Subcommand, Debug)]
pub enum RegressCmd {
    /// Combine shard results (files or folders of shard-K-of-N.json) into regress.md/json.
    Merge(MergeArgs),
}

/// Arguments of `fpec regress merge`.
#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Shard result files, or folders holding them.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where regress.md and regress.json go (default: the first DIR).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Parses a count given as an integer or in e-notation (`1e8`, `2.5e6`).
pub fn parse_count(s: &str, what: &str, lo: u64, hi: u64) -> Result<u64> {
    let bad = || {
        usage(format!(
            "{what} {s} is not a whole number in range (allowed {lo}..={hi}, e.g. 100000 or 1e8)"
        ))
    };
    let t = s.trim();
    let v: u64 = match t.parse::<u64>() {
        Ok(v) => v,
        Err(_) => {
            let f: f64 = t.parse().map_err(|_| bad())?;
            if !f.is_finite() || f < 0.0 || f.fract() != 0.0 || f > hi as f64 {
                return Err(bad());
            }
            f as u64
        }
    };
    if v < lo || v > hi {
        return Err(bad());
    }
    Ok(v)
}

/// The plan the arguments describe.
fn plan_of(a: &RegressArgs) -> Result<Plan> {
    let pairs = parse_count(&a.pairs, "--pairs", 1, 10_000_000_000_000)?;
    let chunk_pairs = parse_count(&a.chunk_pairs, "--chunk-pairs", 1, 10_000_000_000)?;
    crate::gen::check_max_len(a.max_len)?;
    let configs: Vec<String> = if !a.config.is_empty() {
        if !a.bits.is_empty() || !a.arch.is_empty() {
            return Err(usage(
                "--config conflicts with --bits/--arch (a configuration id names both); give one of them",
            ));
        }
        let mut v: Vec<String> = Vec::new();
        for c in &a.config {
            let id = regress::Config::parse(c)?.id();
            if !v.contains(&id) {
                v.push(id);
            }
        }
        v
    } else {
        let splits = if a.bits.is_empty() {
            regress::all_splits()
        } else {
            crate::flow::expand_bits(&a.bits)?
        };
        if !a.arch.is_empty() {
            crate::flow::check_archs_apply(&a.arch, &splits)?;
        }
        let archs = if a.arch.is_empty() {
            Arch::ALL.to_vec()
        } else {
            crate::flow::expand_archs(&a.arch)
        };
        regress::configs_of(&splits, &archs)
            .iter()
            .map(|c| c.id())
            .collect()
    };
    Plan::new(PlanSpec {
        seed: a.seed,
        pairs,
        chunk_pairs,
        exhaustive: a.exhaustive,
        sample_products: a.sample_products,
        max_len: a.max_len,
        configs,
    })
}

/// The report files of a regression, and how the first begins.
const REPORT: &[&str] = &["regress.md", "regress.json"];
const REPORT_HEADER: &str = "# fpec regress";

/// Runs `fpec regress`.
pub fn run(a: RegressArgs) -> Result<()> {
    if let Some(RegressCmd::Merge(m)) = a.cmd {
        return run_merge(m);
    }
    let plan = plan_of(&a)?;
    let shard = a.shard.as_deref().map(regress::parse_shard).transpose()?;
    if let Some(ch) = a.chunk {
        if plan.configs.len() != 1 {
            return Err(usage(format!(
                "--chunk {ch} needs exactly one --config (the reproduce command of a failure gives it)"
            )));
        }
        if shard.is_some() {
            return Err(usage("--chunk conflicts with --shard; give one of them"));
        }
        let n = plan.config_unit_count(0);
        if ch >= n {
            return Err(usage(format!(
                "--chunk {ch} is out of range (allowed 0..={} for {})",
                n.saturating_sub(1),
                plan.spec.configs[0]
            )));
        }
    }
    let (k, n) = shard.unwrap_or((0, 1));
    crate::util::check_out_dir(&a.out, "--out")?;
    if let Some(c) = &a.cache {
        crate::util::check_out_dir(c, "--cache")?;
    }
    if shard.is_none() && a.chunk.is_none() {
        crate::util::check_overwritable(&a.out, "--out", REPORT, REPORT_HEADER)?;
    }
    let opts = RunOptions {
        out: a.out.clone(),
        cache: a
            .cache
            .clone()
            .unwrap_or_else(crate::toolchain::cache::cache_root),
        only_chunk: a.chunk,
    };
    let r = regress::run_shard(&plan, k, n, &opts)?;
    let bad: u64 = r
        .units
        .iter()
        .flat_map(|u| &u.backends)
        .map(|b| b.mismatches)
        .sum();
    if a.chunk.is_some() {
        // A reproduction run: reports only, no shard file to merge.
        if bad > 0 {
            bail!(
                "regress: {bad} mismatches; reports in {}",
                a.out.join("failures").display()
            );
        }
        println!("regress: chunk passed");
        return Ok(());
    }
    let path = regress::write_shard(&a.out, &r)?;
    println!("shard result: {}", path.display());
    if shard.is_none() {
        let m = merge::combine(&plan, std::slice::from_ref(&r));
        merge::write(&m, &a.out)?;
        crate::util::record_written(&a.out, REPORT)?;
        println!(
            "regress: {} configurations, {} pairs, {} mismatches; report {}",
            m.configs.len(),
            m.pairs,
            m.mismatches,
            a.out.join("regress.md").display()
        );
    }
    if bad > 0 {
        bail!(
            "regress: {bad} mismatches (seed {}); reproduce commands in {}",
            plan.spec.seed,
            path.display()
        );
    }
    Ok(())
}

fn run_merge(m: MergeArgs) -> Result<()> {
    let out = crate::util::merge_out_dir(m.out.as_deref(), &m.dirs, REPORT, REPORT_HEADER)?;
    let merged = merge::merge(&m.dirs, &out)?;
    crate::util::record_written(&out, REPORT)?;
    println!(
        "regress merge: {} shards, {} configurations, {} pairs, {} mismatches; report {}",
        merged.shards,
        merged.configs.len(),
        merged.pairs,
        merged.mismatches,
        out.join("regress.md").display()
    );
    if merged.mismatches > 0 {
        bail!(
            "regress: {} mismatches; see {}",
            merged.mismatches,
            out.join("regress.md").display()
        );
    }
    Ok(())
}
