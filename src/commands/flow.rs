//! `fpec flow`: the command line of the main job ([`crate::flow`]).

use super::args::{parse_max_len, parse_seed, parse_vectors};
use crate::energy::WorkloadKind;
use crate::flow::{ArchChoice, FlowOptions};
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `fpec flow`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FlowArgs {
    /// `merge DIR...`: summary, table and SVG from the shards of a sharded sweep.
    #[command(subcommand)]
    pub cmd: Option<FlowCmd>,
    /// Bit split(s) W+C; repeat for a sweep, or give a range `3..8+2`.
    #[arg(long, value_name = "W+C", default_values_t = vec!["6+2".to_string()])]
    pub bits: Vec<String>,
    /// Error-magnitude bits M (0..=2) of every compensated split (C must
    /// equal Z+1+M); FxP splits of the sweep have no such field.
    #[arg(long, allow_negative_numbers = true, value_parser = super::args::parse_emb)]
    pub emb: Option<u32>,
    /// No error-zero bit (Z = 0) in every compensated split.
    #[arg(long)]
    pub no_ezb: bool,
    /// Maximum dot-product length (1..=65536).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_max_len, default_value_t = 4096)]
    pub max_len: u64,
    /// Output folder.
    #[arg(long, default_value = "out/flow")]
    pub out: PathBuf,
    /// Workload of the simulated activity: uniform or dnn.
    #[arg(long, value_enum, default_value_t = super::args::DEFAULT_WORKLOAD)]
    pub workload: WorkloadKind,
    /// Dot products verified per backend.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_vectors, default_value_t = super::args::DEFAULT_VECTORS)]
    pub vectors: u64,
    /// Seed of verification and workload.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_seed, default_value_t = super::args::DEFAULT_SEED)]
    pub seed: u64,
    /// Microarchitecture(s) of the FPEC MACs (spec 6.4): fused (default),
    /// split, or all (side by side); repeatable.
    #[arg(long, value_enum, default_values_t = vec![ArchChoice::Fused])]
    pub arch: Vec<ArchChoice>,
    /// Share of sparse pairs (both ezb = 1) in each dot product of the
    /// FPEC configurations' dnn workload, 0..=1 (Z = 1 only; FxP runs keep
    /// the plain workload).
    #[arg(long, allow_negative_numbers = true, value_name = "S")]
    pub sparsity: Option<f64>,
    /// Zero threshold T (64ths of an LSB, 0..=32) of the FPEC
    /// configurations' dnn workload (Z = 1 only).
    #[arg(long, allow_negative_numbers = true, value_name = "T")]
    pub ezb_threshold: Option<i64>,
    /// Instead of the flow: the sparse-mode curve of every --bits (FPEC,
    /// Z = 1): sim and glitch energy per MAC at 0, 25, 50, 75 and 100 %
    /// sparse pairs beside FxP W, into OUT/sparse-curve.{md,json,svg}.
    #[arg(long)]
    pub sparsity_curve: bool,
    /// Run shard K of N of the configurations: their reports and
    /// OUT/flow-shard-K-of-N.json; `fpec flow merge OUT` writes the summary.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
}

/// Subcommands of `fpec flow`.
#[derive(clap::Subcommand, Debug)]
pub enum FlowCmd {
    /// Summary, table and SVG from flow-shard-K-of-N.json files (or folders holding them).
    Merge(FlowMergeArgs),
}

/// Arguments of `fpec flow merge`.
#[derive(clap::Args, Debug)]
pub struct FlowMergeArgs {
    /// Shard result files, or folders holding them.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where summary.md/json and energy.svg go (default: the first DIR).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The files of a flow summary, and how the first begins.
const SUMMARY: &[&str] = &["summary.md", "summary.json", "energy.svg"];
const SUMMARY_HEADER: &str = "# fpec flow summary";
/// What `--sparsity-curve` writes into `--out`, and its report's first line.
const CURVE: &[&str] = &["sparse-curve.md", "sparse-curve.json", "sparse-curve.svg"];
const CURVE_HEADER: &str = "# Sparse mode: energy per MAC";

/// Runs `fpec flow merge`: the output folder is checked (not `/` or `.`,
/// no summary fpec did not write) before the shards are read.
fn run_merge(m: FlowMergeArgs) -> Result<()> {
    let out = crate::util::merge_out_dir(m.out.as_deref(), &m.dirs, SUMMARY, SUMMARY_HEADER)?;
    let r = crate::flow::shard::merge(&m.dirs, Some(&out));
    if out.join(SUMMARY[0]).is_file() {
        crate::util::record_written(&out, SUMMARY)?;
    }
    r
}

/// Runs `fpec flow`.
pub fn run(a: FlowArgs) -> Result<()> {
    if let Some(FlowCmd::Merge(m)) = a.cmd {
        return run_merge(m);
    }
    if a.sparsity_curve {
        if a.sparsity.is_some() || a.ezb_threshold.is_some() || a.shard.is_some() {
            return Err(crate::util::usage(
                "--sparsity-curve sets the share of sparse pairs itself and runs unsharded (no --sparsity, --ezb-threshold or --shard)",
            ));
        }
        let splits = crate::flow::expand_bits_with(&a.bits, a.emb, a.no_ezb)?;
        crate::util::check_out_dir(&a.out, "--out")?;
        crate::util::check_overwritable(&a.out, "--out", CURVE, CURVE_HEADER)?;
        crate::flow::curve::run(&splits, a.max_len, a.seed, &a.out)?;
        return crate::util::record_written(&a.out, CURVE);
    }
    let shard = a
        .shard
        .as_deref()
        .map(crate::regress::parse_shard)
        .transpose()?;
    let splits = crate::flow::expand_bits_with(&a.bits, a.emb, a.no_ezb)?;
    if a.arch != [ArchChoice::Fused] {
        crate::flow::check_archs_apply(&a.arch, &splits)?;
    }
    crate::util::check_out_dir(&a.out, "--out")?;
    if shard.is_none() {
        crate::util::check_overwritable(&a.out, "--out", SUMMARY, SUMMARY_HEADER)?;
    }
    let out = a.out.clone();
    let r = crate::flow::run(&FlowOptions {
        shard,
        emb: a.emb,
        no_ezb: a.no_ezb,
        bits: a.bits,
        max_len: a.max_len,
        out: a.out,
        workload: a.workload,
        vectors: a.vectors,
        seed: a.seed,
        arch: a.arch,
        sparsity: a.sparsity,
        ezb_threshold: a.ezb_threshold,
    });
    if shard.is_none() && out.join(SUMMARY[0]).is_file() {
        crate::util::record_written(&out, SUMMARY)?;
    }
    r
}
