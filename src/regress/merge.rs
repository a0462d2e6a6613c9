//! Merging shard results of `fpec regress` into one report.
//!
//! Owns: reading `shard-K-of-N.json` files, refusing anything that is not
//! one complete regression (a truncated or unreadable file, shards of
//! different regressions, different shard counts, a missing or duplicate
//! shard, a shard whose units are not the ones its plan gives it) with a
//! one-line usage error before anything is written, and the totals per
//! configuration written as `regress.md` and `regress.json`.

use super::{is_exhaustive, shard_file_name, Plan, ShardResult, UnitResult, Work, FORMAT_VERSION};
use crate::util::{usage, write_atomic, write_json_atomic};
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The shard files given: each argument is a shard file or a folder holding
/// `shard-*-of-*.json` files.
pub fn collect_files(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    collect_named(args, "shard-", "shard-K-of-N.json")
}

/// [`collect_files`] for any shard kind: the files given, and in each
/// folder given the `.json` files whose names begin with `prefix` (sorted);
/// `example` names them in the errors (`shard-K-of-N.json`).
pub fn collect_named(args: &[PathBuf], prefix: &str, example: &str) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for a in args {
        if a.is_file() {
            files.push(a.clone());
        } else if a.is_dir() {
            let rd = std::fs::read_dir(a)
                .map_err(|e| usage(format!("{}: cannot list it: {e}", a.display())))?;
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".json"))
                })
                .collect();
            v.sort();
            files.extend(v);
        } else {
            return Err(usage(format!(
                "{}: no such file or folder (give shard result files or folders holding {example})",
                a.display()
            )));
        }
    }
    if files.is_empty() {
        return Err(usage(format!(
            "no shard result ({example}) in the folders given"
        )));
    }
    Ok(files)
}

/// Largest shard result file read (bytes).
pub const MAX_SHARD_BYTES: u64 = 1 << 30;

/// Reads one shard file.
pub fn load(path: &Path) -> Result<ShardResult> {
    let text = crate::util::read_text_limited(path, MAX_SHARD_BYTES, "shard result")?;
    let r: ShardResult = serde_json::from_str(&text).map_err(|e| {
        usage(format!(
            "{} is not a complete shard result (truncated or not from fpec regress): {e}",
            path.display()
        ))
    })?;
    if r.format != FORMAT_VERSION {
        return Err(usage(format!(
            "{}: shard result format {} (allowed: {FORMAT_VERSION})",
            path.display(),
            r.format
        )));
    }
    super::check_text_checksum(&text, path, "shard result")?;
    Ok(r)
}

/// Largest seconds a shard or a unit may claim (about 30 years).
const MAX_SECS: f64 = 1e9;

fn check_secs(what: &str, secs: f64) -> std::result::Result<(), String> {
    if !(secs.is_finite() && (0.0..=MAX_SECS).contains(&secs)) {
        return Err(format!("{what} secs = {secs} (allowed 0..={MAX_SECS:e})"));
    }
    Ok(())
}

/// Checks one unit's record against the unit its plan gives (same config,
/// chunk and work were checked before): exactly the plan's backends, each
/// with the pairs and products the work yields, seconds in range, and
/// failure reports and reproduce command agreeing with the mismatch counts.
/// Returns what is wrong.
pub fn check_unit(plan: &Plan, g: &UnitResult) -> std::result::Result<(), String> {
    let at = format!("{} chunk {}", g.config, g.chunk);
    let names: Vec<&str> = g.backends.iter().map(|b| b.name.as_str()).collect();
    let want = g.work.backends();
    if names != want {
        return Err(format!(
            "{at}: backends [{}] (allowed: exactly [{}])",
            names.join(", "),
            want.join(", ")
        ));
    }
    let lmax = plan.spec.max_len.max(1);
    for b in &g.backends {
        let (name, p, n) = (&b.name, b.pairs, b.products);
        let ok = match g.work {
            Work::Sample { products, .. } => {
                n == products && p >= n && p <= products.saturating_mul(lmax)
            }
            Work::Random { pairs, .. } => {
                p >= pairs && p < pairs.saturating_add(lmax) && n >= 1 && n <= p
            }
            Work::Walk {
                from, to, prod_len, ..
            } => p == to - from && n <= p && n >= (to - from) / prod_len.max(1),
        };
        if !ok {
            return Err(format!(
                "{at}: {name} checked {n} products / {p} pairs, which its work {:?} cannot give (Lmax {lmax})",
                g.work
            ));
        }
        check_secs(&format!("{at}: {name}"), b.secs)?;
    }
    if let Some(b0) = g.backends.first() {
        if let Some(b) = g
            .backends
            .iter()
            .find(|b| (b.pairs, b.products) != (b0.pairs, b0.products))
        {
            return Err(format!(
                "{at}: {} checked {} pairs but {} {} (one stimulus for every backend)",
                b0.name, b0.pairs, b.name, b.pairs
            ));
        }
    }
    let failing = g.backends.iter().filter(|b| b.mismatches > 0).count();
    if g.reports.len() != failing {
        return Err(format!(
            "{at}: {} mismatch report(s) but {failing} backend(s) with mismatches (they must agree)",
            g.reports.len()
        ));
    }
    match (&g.repro, failing > 0) {
        (Some(r), false) => Err(format!(
            "{at}: a reproduce command ({}) but 0 mismatches (they must agree)",
            crate::toolchain::inputs::shorten(r)
        )),
        (None, true) => Err(format!("{at}: mismatches but no reproduce command")),
        (Some(r), true)
            if !(r.starts_with(&format!("fpec regress --config {} ", g.config))
                && r.contains(&format!(" --chunk {} ", g.chunk))) =>
        {
            Err(format!(
                "{at}: reproduce command {:?} is not this unit's",
                crate::toolchain::inputs::shorten(r)
            ))
        }
        _ => Ok(()),
    }
}

/// Checks that `shards` (with their paths) form exactly one complete
/// regression; returns its plan and the shards ordered by K.
pub fn validate(mut shards: Vec<(PathBuf, ShardResult)>) -> Result<(Plan, Vec<ShardResult>)> {
    let (p0, first) = match shards.first() {
        Some((p, r)) => (p.clone(), r.clone()),
        None => return Err(usage("no shard result given")),
    };
    let plan = Plan::new(first.plan.clone())
        .map_err(|e| usage(format!("{}: bad plan: {e:#}", p0.display())))?;
    let fp = plan.fingerprint();
    for (p, r) in &shards {
        if r.fingerprint != fp || r.plan != first.plan {
            return Err(usage(format!(
                "{} and {} are shards of different regressions (seed {} vs {}, {} vs {} configurations, pairs {} vs {}, fingerprint {} vs {}); merge shards of one run only",
                p0.display(),
                p.display(),
                first.plan.seed,
                r.plan.seed,
                first.plan.configs.len(),
                r.plan.configs.len(),
                first.plan.pairs,
                r.plan.pairs,
                fp,
                r.fingerprint
            )));
        }
        if r.shards != first.shards {
            return Err(usage(format!(
                "{} is shard {}/{} but {} is of {} shards; merge shards of one run only",
                p.display(),
                r.shard,
                r.shards,
                p0.display(),
                first.shards
            )));
        }
        if r.shard >= r.shards {
            return Err(usage(format!(
                "{}: shard {}/{} is out of range (allowed 0..={})",
                p.display(),
                r.shard,
                r.shards,
                r.shards.saturating_sub(1)
            )));
        }
    }
    let n = first.shards;
    shards.sort_by_key(|(_, r)| r.shard);
    let keys: Vec<(&Path, u64)> = shards.iter().map(|(p, r)| (p.as_path(), r.shard)).collect();
    check_complete(&keys, n, "fpec regress")?;
    for (p, r) in &shards {
        let want_len = plan.shard_unit_count(r.shard, n);
        let ok = want_len == r.units.len() as u64
            && plan.shard_units(r.shard, n).zip(&r.units).all(|(u, g)| {
                plan.configs[u.config].id() == g.config && u.chunk == g.chunk && u.work == g.work
            });
        if !ok {
            return Err(usage(format!(
                "{}: shard {}/{n} holds {} units, not the {} its plan gives it (edited, or a partial --chunk run?)",
                p.display(),
                r.shard,
                r.units.len(),
                want_len
            )));
        }
        for g in &r.units {
            check_unit(&plan, g).map_err(|e| {
                usage(format!(
                    "{}: shard {}/{n} is inconsistent: {e}; nothing merged",
                    p.display(),
                    r.shard
                ))
            })?;
        }
        check_secs("shard", r.secs).map_err(|e| usage(format!("{}: {e}", p.display())))?;
    }
    Ok((plan, shards.into_iter().map(|(_, r)| r).collect()))
}

/// Checks that `keys` (path, K), sorted by K, hold every shard 0..N-1 of
/// `n` exactly once: a usage error naming the duplicate or the missing ones.
pub fn check_complete(keys: &[(&Path, u64)], n: u64, cmd: &str) -> Result<()> {
    for w in keys.windows(2) {
        if w[0].1 == w[1].1 {
            return Err(usage(format!(
                "shard {}/{n} is given twice ({} and {}); give each shard once",
                w[0].1,
                w[0].0.display(),
                w[1].0.display()
            )));
        }
    }
    let missing: Vec<String> = (0..n)
        .filter(|k| !keys.iter().any(|x| x.1 == *k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(10).map(String::as_str).collect();
        return Err(usage(format!(
            "{} of {n} shards missing: {}{} (rerun them with {cmd} --shard K/{n}); nothing merged",
            missing.len(),
            shown.join(", "),
            if missing.len() > 10 { ", ..." } else { "" }
        )));
    }
    Ok(())
}

/// Totals of one backend within a configuration.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BackendTotal {
    /// Dot products.
    pub products: u64,
    /// Pairs.
    pub pairs: u64,
    /// Mismatches.
    pub mismatches: u64,
    /// Seconds.
    pub secs: f64,
}

/// Totals of one configuration.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigTotal {
    /// Configuration id.
    pub config: String,
    /// `random` or `exhaustive`.
    pub mode: String,
    /// Units (sample included).
    pub units: u64,
    /// Pairs checked on Verilator in the volume units.
    pub pairs: u64,
    /// Products checked on Verilator in the volume units.
    pub products: u64,
    /// Mismatches over every unit and backend.
    pub mismatches: u64,
    /// Per backend over every unit (the sample included).
    pub backends: BTreeMap<String, BackendTotal>,
    /// Seeds of the random units, in chunk order (sample first).
    pub seeds: Vec<u64>,
    /// Seconds of simulation and checking (all units and backends).
    pub secs: f64,
    /// Reproduce commands of failing units.
    pub failures: Vec<String>,
    /// Mismatch reports.
    pub reports: Vec<String>,
}

/// The merged report.
#[derive(Debug, Clone, Serialize)]
pub struct Merged {
    /// The regression.
    pub plan: super::PlanSpec,
    /// Its fingerprint.
    pub fingerprint: String,
    /// Shard count.
    pub shards: u64,
    /// Per configuration.
    pub configs: Vec<ConfigTotal>,
    /// Sum of the volume pairs.
    pub pairs: u64,
    /// Sum of the mismatches.
    pub mismatches: u64,
    /// Sum of the shards' wall seconds.
    pub shard_secs: f64,
    /// Longest shard wall time.
    pub max_shard_secs: f64,
}

/// Combines validated shards.
pub fn combine(plan: &Plan, shards: &[ShardResult]) -> Merged {
    let mut totals: Vec<ConfigTotal> = plan
        .configs
        .iter()
        .map(|c| ConfigTotal {
            config: c.id(),
            mode: if is_exhaustive(&plan.spec, c) {
                "exhaustive".into()
            } else {
                "random".into()
            },
            units: 0,
            pairs: 0,
            products: 0,
            mismatches: 0,
            backends: BTreeMap::new(),
            seeds: Vec::new(),
            secs: 0.0,
            failures: Vec::new(),
            reports: Vec::new(),
        })
        .collect();
    let index: BTreeMap<String, usize> = totals
        .iter()
        .enumerate()
        .map(|(i, t)| (t.config.clone(), i))
        .collect();
    let units: Vec<&UnitResult> = shards.iter().flat_map(|s| &s.units).collect();
    for u in units {
        let Some(&i) = index.get(&u.config) else {
            continue;
        };
        let t = &mut totals[i];
        t.units += 1;
        if let Some(s) = u.work.seed() {
            t.seeds.push(s);
        }
        for b in &u.backends {
            t.mismatches += b.mismatches;
            t.secs += b.secs;
            if b.name == "verilator" && !matches!(u.work, Work::Sample { .. }) {
                t.pairs += b.pairs;
                t.products += b.products;
            }
            let e = t.backends.entry(b.name.clone()).or_default();
            e.products += b.products;
            e.pairs += b.pairs;
            e.mismatches += b.mismatches;
            e.secs += b.secs;
        }
        if let Some(r) = &u.repro {
            t.failures.push(r.clone());
        }
        t.reports.extend(u.reports.iter().cloned());
    }
    Merged {
        plan: plan.spec.clone(),
        fingerprint: plan.fingerprint(),
        shards: shards.len() as u64,
        pairs: totals.iter().map(|t| t.pairs).sum(),
        mismatches: totals.iter().map(|t| t.mismatches).sum(),
        configs: totals,
        shard_secs: shards.iter().map(|s| s.secs).sum(),
        max_shard_secs: shards.iter().map(|s| s.secs).fold(0.0, f64::max),
    }
}

/// `regress.md`.
pub fn markdown(m: &Merged) -> String {
    let s = &m.plan;
    let mut md = String::from("# fpec regress\n\n");
    let _ = writeln!(
        md,
        "Regression {} : {} configurations, base seed {}, pair budget {} per configuration (random mode), \
         chunks of {} pairs, Lmax {}, sample of {} dot products per configuration on Verilator, Icarus and rust-sim{}. \
         Merged from {} shard(s) ({}); longest shard {:.1} s, sum {:.1} s.\n",
        m.fingerprint,
        s.configs.len(),
        s.seed,
        s.pairs,
        s.chunk_pairs,
        s.max_len,
        s.sample_products,
        if s.exhaustive {
            "; exhaustive walk (every (w, a) pair as a one-pair product, then again as Lmax-long products in a permuted order) for N <= 12"
        } else {
            ""
        },
        m.shards,
        (0..m.shards)
            .map(|k| shard_file_name(k, m.shards))
            .take(3)
            .collect::<Vec<_>>()
            .join(", ")
            + if m.shards > 3 { ", ..." } else { "" },
        m.max_shard_secs,
        m.shard_secs
    );
    let _ = writeln!(
        md,
        "**Total: {} pairs checked on Verilator, {} mismatches.**\n",
        m.pairs, m.mismatches
    );
    let _ = writeln!(
        md,
        "| config | mode | units | pairs (Verilator) | products | sample pairs (icarus / rust-sim) | mismatches | seconds | pairs/s (Verilator) | seeds |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for t in &m.configs {
        let bp = |n: &str| t.backends.get(n).map_or(0, |b| b.pairs);
        let vsecs = t.backends.get("verilator").map_or(0.0, |b| b.secs);
        let seeds = match t.seeds.as_slice() {
            [] => "-".to_string(),
            [a] => format!("{a}"),
            [a, .., b] => format!("{a} .. {b} ({})", t.seeds.len()),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} / {} | {} | {:.1} | {:.3e} | {} |",
            t.config,
            t.mode,
            t.units,
            t.pairs,
            t.products,
            bp("icarus"),
            bp("rust-sim"),
            t.mismatches,
            t.secs,
            t.pairs as f64 / vsecs.max(1e-9),
            seeds
        );
    }
    let failing: Vec<&super::merge::ConfigTotal> =
        m.configs.iter().filter(|t| t.mismatches > 0).collect();
    if !failing.is_empty() {
        let _ = writeln!(md, "\n## Failures\n");
        for t in failing {
            let _ = writeln!(md, "### {}\n", t.config);
            for r in &t.failures {
                let _ = writeln!(md, "- reproduce: `{r}`");
            }
            for r in &t.reports {
                let _ = writeln!(md, "- report: `{r}`");
            }
            md.push('\n');
        }
    }
    let _ = writeln!(
        md,
        "\nEvery seed of every unit is in `regress.json` (`configs[].seeds`). Seeds derive from (base seed, configuration, chunk), so any shard count gives the same units."
    );
    md
}

/// Merges the shard results in `args` and writes `regress.md` and
/// `regress.json` into `out`. Usage errors (exit 2) before anything is
/// written; returns the merged totals.
pub fn merge(args: &[PathBuf], out: &Path) -> Result<Merged> {
    let files = collect_files(args)?;
    let mut shards = Vec::new();
    for f in files {
        let r = load(&f)?;
        shards.push((f, r));
    }
    let (plan, shards) = validate(shards)?;
    let m = combine(&plan, &shards);
    write(&m, out)?;
    Ok(m)
}

/// Writes `regress.md` and `regress.json` into `out`.
pub fn write(m: &Merged, out: &Path) -> Result<()> {
    crate::toolchain::cache::mkdir(out)?;
    write_atomic(&out.join("regress.md"), markdown(m).as_bytes())?;
    write_json_atomic(&out.join("regress.json"), m)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_checksum_catches_any_byte() {
        let text = "{\n  \"a\": 1,\n  \"checksum\": \"\"\n}\n";
        let sealed = super::super::seal_text(text).unwrap();
        let (found, want) = super::super::text_checksum(&sealed).unwrap();
        assert_eq!(found, want);
        for edit in [
            sealed.replace("1,", "2,"),
            sealed.replace("\"a\"", "\"b\""),
            sealed.clone() + " ",
        ] {
            let (f, w) = super::super::text_checksum(&edit).unwrap();
            assert_ne!(f, w, "{edit}");
        }
        assert!(super::super::text_checksum("{}").is_none());
    }
}
