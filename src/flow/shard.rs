//! Sharding of `fpec flow` sweeps (library side; the command line is
//! `commands::flow`): which configurations shard K of N runs,
//! its result file `OUT/flow-shard-K-of-N.json` (the per-configuration
//! results and the FxP 8/16 baselines, written atomically), and
//! `fpec flow merge DIR...`, which checks the shards form one complete sweep
//! (same configurations and options, every shard once; a usage error
//! otherwise, nothing written) and writes `summary.md`, `summary.json` and
//! `energy.svg` with the flow's own rendering. The per-configuration
//! `report.md` / `report.json` are written by each shard as in an
//! unsharded run.

use super::{fill_overhead, write_summary, ConfigResult, Costed, FlowOptions};
use crate::energy::Workload;
use crate::format::Split;
use crate::gen::Arch;
use crate::regress::merge::check_complete;
use crate::util::{usage, write_atomic};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Version of the flow shard file.
const FORMAT_VERSION: u32 = 1;

/// What decides a sweep's results: two shards merge only when equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FlowSpec {
    /// Every configuration of the sweep (`bits_dir` names), in order.
    configs: Vec<String>,
    max_len: u64,
    workload: String,
    vectors: u64,
    seed: u64,
}

/// The result file of one flow shard.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FlowShard {
    format: u32,
    spec: FlowSpec,
    shard: u64,
    shards: u64,
    results: Vec<ConfigResult>,
    baselines: Vec<Costed>,
}

/// The configurations of shard `k` of `n` (all without a shard): job i goes
/// to shard floor(i * n / len), a contiguous slice.
pub fn select(jobs: &[(Split, Arch)], shard: Option<(u64, u64)>) -> Vec<(Split, Arch)> {
    let Some((k, n)) = shard else {
        return jobs.to_vec();
    };
    let len = jobs.len() as u64;
    jobs.iter()
        .enumerate()
        .filter(|(i, _)| (*i as u64 * n) / len.max(1) == k)
        .map(|(_, j)| *j)
        .collect()
}

/// The id of a result, as `flow::bits_dir` names it.
fn result_id(r: &ConfigResult) -> String {
    if r.arch == "split" {
        format!("{}-split", r.bits)
    } else {
        r.bits.clone()
    }
}

/// Writes `OUT/flow-shard-K-of-N.json` atomically.
pub(crate) fn write_shard(
    out: &Path,
    k: u64,
    n: u64,
    args: &FlowOptions,
    configs: Vec<String>,
    results: &[ConfigResult],
    baselines: &[Costed],
) -> Result<PathBuf> {
    let s = FlowShard {
        format: FORMAT_VERSION,
        spec: FlowSpec {
            configs,
            max_len: args.max_len,
            workload: args.workload.clone(),
            vectors: args.vectors,
            seed: args.seed,
        },
        shard: k,
        shards: n,
        results: results.to_vec(),
        baselines: baselines.to_vec(),
    };
    let p = out.join(format!("flow-shard-{k}-of-{n}.json"));
    write_atomic(&p, (serde_json::to_string_pretty(&s)? + "\n").as_bytes())?;
    Ok(p)
}

fn load(p: &Path) -> Result<FlowShard> {
    let text = std::fs::read_to_string(p)
        .map_err(|e| usage(format!("{}: cannot read: {e}", p.display())))?;
    let s: FlowShard = serde_json::from_str(&text).map_err(|e| {
        usage(format!(
            "{} is not a complete flow shard result (truncated or not from fpec flow --shard): {e}",
            p.display()
        ))
    })?;
    if s.format != FORMAT_VERSION || s.baselines.len() != 2 {
        return Err(usage(format!(
            "{}: not a flow shard result of this fpec (format {}, allowed {FORMAT_VERSION})",
            p.display(),
            s.format
        )));
    }
    Ok(s)
}

/// `fpec flow merge`: merges the shard results in `dirs` (files, or
/// folders holding them) into OUT's summary (default: the first DIR).
pub fn merge(dirs: &[PathBuf], out: Option<&Path>) -> Result<()> {
    let mut files = Vec::new();
    for d in dirs {
        if d.is_file() {
            files.push(d.clone());
        } else if d.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(d)
                .map_err(|e| usage(format!("{}: cannot list it: {e}", d.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .is_some_and(|n| n.starts_with("flow-shard-") && n.ends_with(".json"))
                })
                .collect();
            v.sort();
            files.extend(v);
        } else {
            return Err(usage(format!("{}: no such file or folder", d.display())));
        }
    }
    let mut shards = Vec::new();
    for f in files {
        let s = load(&f)?;
        shards.push((f, s));
    }
    let Some((p0, first)) = shards.first().map(|(p, s)| (p.clone(), s.clone())) else {
        return Err(usage(
            "no flow shard result (flow-shard-K-of-N.json) in the folders given",
        ));
    };
    for (p, s) in &shards {
        if s.spec != first.spec || s.shards != first.shards {
            return Err(usage(format!(
                "{} and {} are shards of different sweeps (configurations, options or shard count differ: {}/{} vs {}/{}); merge shards of one run only",
                p0.display(),
                p.display(),
                first.shard,
                first.shards,
                s.shard,
                s.shards
            )));
        }
    }
    let n = first.shards;
    shards.sort_by_key(|(_, s)| s.shard);
    let keys: Vec<(&Path, u64)> = shards.iter().map(|(p, s)| (p.as_path(), s.shard)).collect();
    check_complete(&keys, n, "fpec flow")?;
    let mut results: Vec<ConfigResult> = shards
        .iter()
        .flat_map(|(_, s)| s.results.iter().cloned())
        .collect();
    let ids: Vec<String> = results.iter().map(result_id).collect();
    if ids != first.spec.configs {
        return Err(usage(format!(
            "the shards hold configurations {} but the sweep has {} (edited shard files?)",
            ids.join(" "),
            first.spec.configs.join(" ")
        )));
    }
    fill_overhead(&mut results);
    let workload = if first.spec.workload == "uniform" {
        Workload::Uniform { len: 64 }
    } else {
        Workload::Dnn { len: 64 }
    };
    let out = out.map(Path::to_path_buf).unwrap_or_else(|| {
        if dirs[0].is_dir() {
            dirs[0].clone()
        } else {
            dirs[0]
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        }
    });
    crate::toolchain::cache::mkdir(&out)?;
    write_summary(&out, &results, &first.baselines, &workload)?;
    println!(
        "flow merge: {n} shards, {} configurations; summary {}",
        results.len(),
        out.join("summary.md").display()
    );
    let bad: u64 = results.iter().map(|r| r.verify_mismatches).sum();
    let unclean = results.iter().filter(|r| !r.lint_clean).count();
    if bad > 0 || unclean > 0 {
        bail!("flow: {bad} verification mismatches, {unclean} configuration(s) not lint-clean");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_partitions_in_order() {
        let jobs: Vec<(Split, Arch)> = (2..=8)
            .map(|w| (Split::fxp(w).unwrap(), Arch::Fused))
            .collect();
        for n in 1..=9u64 {
            let mut all = Vec::new();
            for k in 0..n {
                all.extend(select(&jobs, Some((k, n))));
            }
            assert_eq!(all, jobs, "n = {n}");
        }
    }
}
