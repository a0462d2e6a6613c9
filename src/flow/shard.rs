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
use crate::energy::WorkloadKind;
use crate::format::Split;
use crate::gen::Arch;
use crate::regress::merge::check_complete;
use crate::util::{usage, write_atomic};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Version of the flow shard file (2: with a content checksum).
const FORMAT_VERSION: u32 = 2;

/// What decides a sweep's results: two shards merge only when equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FlowSpec {
    /// Every configuration of the sweep (`bits_dir` names), in order.
    configs: Vec<String>,
    max_len: u64,
    workload: WorkloadKind,
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
    /// [`crate::regress::text_checksum`] of the file (empty while
    /// computing it).
    #[serde(default)]
    checksum: String,
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
            workload: args.workload,
            vectors: args.vectors,
            seed: args.seed,
        },
        shard: k,
        shards: n,
        results: results.to_vec(),
        baselines: baselines.to_vec(),
        checksum: String::new(),
    };
    let p = out.join(format!("flow-shard-{k}-of-{n}.json"));
    let text = crate::regress::seal_text(&(serde_json::to_string_pretty(&s)? + "\n"))?;
    write_atomic(&p, text.as_bytes())?;
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
    crate::regress::check_text_checksum(&text, p, "flow shard result")?;
    Ok(s)
}

/// Largest energy per MAC a record may claim (fJ): a million times the
/// FxP 16 MAC.
const MAX_FJ: f64 = 1e9;

fn check_fj(what: &str, v: f64, zero_ok: bool) -> std::result::Result<(), String> {
    let lo_ok = if zero_ok { v >= 0.0 } else { v > 0.0 };
    if !(v.is_finite() && lo_ok && v <= MAX_FJ) {
        let lo = if zero_ok { "0" } else { "above 0" };
        return Err(format!(
            "{what} = {v} fJ (allowed {lo} ..= {MAX_FJ:e}, finite)"
        ));
    }
    Ok(())
}

fn check_report(name: &str, r: &crate::energy::EnergyReport) -> std::result::Result<(), String> {
    check_fj(
        &format!("{name} {} energy", r.activity),
        r.energy_fj_per_mac,
        false,
    )?;
    check_fj(
        &format!("{name} {} compensation path", r.activity),
        r.comp_path_fj_per_mac,
        true,
    )?;
    for (b, e) in &r.energy_by_block_fj {
        check_fj(&format!("{name} {} block {b}", r.activity), *e, true)?;
    }
    Ok(())
}

/// Checks one configuration's record: the total of mismatches is the sum
/// of its per-backend counts, Verilator and Icarus ran the sweep's
/// products, energies are finite and in range. Returns what is wrong.
fn check_result(r: &ConfigResult, spec: &FlowSpec) -> std::result::Result<(), String> {
    let id = result_id(r);
    let sum: u64 = r.verify.iter().map(|v| v.3).sum();
    if sum != r.verify_mismatches {
        return Err(format!(
            "{id}: verify_mismatches = {} but its backends count {sum} (they must agree)",
            r.verify_mismatches
        ));
    }
    for need in ["verilator", "icarus"] {
        if !r.verify.iter().any(|v| v.0 == need) {
            return Err(format!(
                "{id}: no {need} run recorded (allowed: verilator and icarus both run)"
            ));
        }
    }
    for (name, products, pairs, _) in r.verify.iter().filter(|v| !v.0.starts_with("requant-")) {
        let lmax = spec.max_len.max(1);
        if *products != spec.vectors || pairs < products || *pairs > products.saturating_mul(lmax) {
            return Err(format!(
                "{id}: {name} checked {products} products / {pairs} pairs (allowed: {} products of 1..={lmax} pairs)",
                spec.vectors
            ));
        }
    }
    if r.cells == 0 {
        return Err(format!("{id}: cells = 0 (allowed: at least 1)"));
    }
    check_fj(&format!("{id} static energy"), r.energy_static_fj, false)?;
    check_fj(&format!("{id} sim energy"), r.energy_sim_fj, false)?;
    check_fj(&format!("{id} glitch energy"), r.energy_glitch_fj, false)?;
    check_fj(&format!("{id} compensation path"), r.comp_path_sim_fj, true)?;
    for (what, v) in [
        ("handwritten sim", r.handwritten_sim_fj),
        ("handwritten static", r.handwritten_static_fj),
    ] {
        if let Some(v) = v {
            check_fj(&format!("{id} {what} energy"), v, false)?;
        }
    }
    if let Some(sh) = r.pairs_skipped_share {
        if !(0.0..=1.0).contains(&sh) {
            return Err(format!("{id}: pairs_skipped_share = {sh} (allowed 0..=1)"));
        }
    }
    Ok(())
}

/// Checks every record of shard `s` (read from `p`): it holds exactly the
/// configurations [`select`] gives it, each consistent ([`check_result`]),
/// and baselines with energies in range.
fn check_shard(p: &Path, s: &FlowShard) -> Result<()> {
    let bad = |e: String| {
        usage(format!(
            "{}: shard {}/{} is inconsistent: {e}; nothing merged",
            p.display(),
            s.shard,
            s.shards
        ))
    };
    let len = s.spec.configs.len() as u64;
    let want: Vec<&String> = s
        .spec
        .configs
        .iter()
        .enumerate()
        .filter(|(i, _)| (*i as u64 * s.shards) / len.max(1) == s.shard)
        .map(|(_, c)| c)
        .collect();
    let got: Vec<String> = s.results.iter().map(result_id).collect();
    if got.iter().collect::<Vec<_>>() != want {
        return Err(bad(format!(
            "it holds configurations [{}], its plan gives it [{}]",
            got.join(" "),
            want.iter()
                .map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        )));
    }
    for r in &s.results {
        check_result(r, &s.spec).map_err(bad)?;
    }
    for b in &s.baselines {
        for r in [&b.static_, &b.sim, &b.glitch] {
            check_report(&b.name, r).map_err(bad)?;
        }
    }
    Ok(())
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
        check_shard(&f, &s)?;
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
    let workload = first.spec.workload.with_len(64);
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
