//! Sharded FPEC-Opt: `fpec dnn opt --shard K/N` runs the configurations
//! i of [`sweep_splits`] with i % N == K and writes their [`OptReport`] as
//! `OUT/dnn-opt-shard-K-of-N.json` ([`OptShard`]); `fpec dnn opt-merge`
//! reads the N files ([`merge`]), checks that they are the shards of one
//! search (same model, shard count, budget, energy model, float accuracies
//! and calibration; each shard once, each holding the configurations its
//! index gives it; a one-line usage error naming the file otherwise, nothing
//! written), puts the configurations back in sweep order and recomputes the
//! Pareto front, picks and ratios with [`summarize`], so the merged report
//! equals an unsharded run's. Floats are read back exactly
//! ([`parse_exact`]): the merged numbers are the shards' bit for bit.

use crate::dnn::opt::summarize;
use crate::dnn::opt::{sweep_splits, OptReport};
use crate::util::{usage, write_json_atomic};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The `format` of a shard file.
pub const FORMAT: &str = "fpec-dnn-opt-shard";
/// The `version` of a shard file.
pub const VERSION: u32 = 1;
/// How a shard file fpec wrote begins (pretty JSON).
pub const HEADER: &str = "{\n  \"format\": \"fpec-dnn-opt-shard\"";
/// Largest shard file read (bytes).
pub const MAX_SHARD_BYTES: u64 = 256 << 20;

/// The result file of one shard.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptShard {
    /// [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The model's file name (as the report titles it).
    pub model: String,
    /// [K, N].
    pub shard: [u64; 2],
    /// The report of this shard's configurations (picks and ratios of the
    /// subset; the merge recomputes them).
    pub report: OptReport,
}

/// `dnn-opt-shard-K-of-N.json`.
pub fn file_name(k: u64, n: u64) -> String {
    format!("dnn-opt-shard-{k}-of-{n}.json")
}

/// Writes `dir/dnn-opt-shard-K-of-N.json` atomically; returns its path.
pub fn write_shard(
    dir: &Path,
    model: &str,
    (k, n): (u64, u64),
    report: &OptReport,
) -> Result<PathBuf> {
    let s = OptShard {
        format: FORMAT.into(),
        version: VERSION,
        model: model.into(),
        shard: [k, n],
        report: report.clone(),
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let p = dir.join(file_name(k, n));
    write_json_atomic(&p, &s)?;
    Ok(p)
}

/// Parses JSON with every non-integer number read by Rust's correctly
/// rounded `f64` parser (serde_json's default one may be an ulp off), so a
/// report written and read back keeps its numbers bit for bit.
pub fn parse_exact<T: serde::de::DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    const MARK: &str = "\u{1}f64:";
    // Outside strings, each number with a fraction or exponent becomes a
    // marked string; strings are copied as they are.
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            out.push_str(&text[start..i]);
        } else if c == b'-' || c.is_ascii_digit() {
            let start = i;
            while i < b.len() && matches!(b[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                i += 1;
            }
            let tok = &text[start..i];
            if tok.contains(['.', 'e', 'E']) && tok.parse::<f64>().is_ok_and(f64::is_finite) {
                out.push_str(&format!("\"\\u0001f64:{tok}\""));
            } else {
                out.push_str(tok);
            }
        } else {
            let start = i;
            i += 1;
            while i < b.len() && !matches!(b[i], b'"' | b'-' | b'0'..=b'9') {
                i += 1;
            }
            out.push_str(&text[start..i]);
        }
    }
    fn restore(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => {
                if let Some(x) = s.strip_prefix(MARK).and_then(|t| t.parse::<f64>().ok()) {
                    if let Some(n) = serde_json::Number::from_f64(x) {
                        *v = serde_json::Value::Number(n);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(restore),
            serde_json::Value::Object(m) => m.values_mut().for_each(restore),
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_str(&out)?;
    restore(&mut v);
    serde_json::from_value(v)
}

/// The configurations shard k of n runs: their `bits`, in sweep order.
fn planned(k: u64, n: u64) -> Result<Vec<String>> {
    Ok(sweep_splits()?
        .iter()
        .enumerate()
        .filter(|(i, _)| *i as u64 % n == k)
        .map(|(_, s)| s.to_string())
        .collect())
}

/// A configuration's split, without the early-stop mark.
fn plain_bits(bits: &str) -> &str {
    bits.strip_suffix(" (stopped early)").unwrap_or(bits)
}

/// Reads and checks one shard file (format, version, shard number, the
/// configurations of its plan); any problem is a usage error naming it.
pub fn load(p: &Path) -> Result<OptShard> {
    let text = crate::util::read_text_limited(p, MAX_SHARD_BYTES, "shard file")?;
    let s: OptShard = parse_exact(&text).map_err(|e| {
        usage(format!(
            "{} is not a complete FPEC-Opt shard file (truncated, edited or not from fpec dnn opt --shard): {e}",
            p.display()
        ))
    })?;
    if s.format != FORMAT || s.version != VERSION {
        return Err(usage(format!(
            "{}: format {:?} version {} (allowed: {FORMAT:?} version {VERSION})",
            p.display(),
            s.format,
            s.version
        )));
    }
    let [k, n] = s.shard;
    if n == 0 || n > crate::regress::MAX_SHARDS || k >= n {
        return Err(usage(format!(
            "{}: shard {k}/{n} (allowed K/N with 0 <= K < N <= {})",
            p.display(),
            crate::regress::MAX_SHARDS
        )));
    }
    let want = planned(k, n)?;
    let got: Vec<&str> = s
        .report
        .configs
        .iter()
        .map(|c| plain_bits(&c.bits))
        .collect();
    if got != want {
        return Err(usage(format!(
            "{}: shard {k}/{n} holds configurations [{}], its plan gives it [{}]; nothing merged",
            p.display(),
            got.join(" "),
            want.join(" ")
        )));
    }
    Ok(s)
}

/// What must be equal in every shard of one search.
fn spec(s: &OptShard) -> (&str, u64, [u64; 3], &str, Option<&str>) {
    let r = &s.report;
    (
        &s.model,
        s.shard[1],
        [r.budget, r.float_accuracy, r.float_calibration_accuracy].map(f64::to_bits),
        &r.energy_model,
        r.calibration.as_deref(),
    )
}

/// Merges the shard files `inputs` (files, or folders holding
/// `dnn-opt-shard-*-of-*.json`): the model's file name and the whole report.
pub fn merge(inputs: &[PathBuf]) -> Result<(String, OptReport)> {
    let files = crate::regress::merge::collect_named(
        inputs,
        "dnn-opt-shard-",
        "dnn-opt-shard-K-of-N.json",
    )?;
    let mut shards = Vec::new();
    for f in files {
        let s = load(&f)?;
        shards.push((f, s));
    }
    let (p0, first) = (shards[0].0.clone(), shards[0].1.clone());
    for (p, s) in &shards {
        if spec(s) != spec(&first) {
            return Err(usage(format!(
                "{} and {} are shards of different searches (model, shard count, budget, energy model, float accuracy or calibration differ); merge the shards of one run only",
                p0.display(),
                p.display()
            )));
        }
    }
    let n = first.shard[1];
    shards.sort_by_key(|(_, s)| s.shard[0]);
    let keys: Vec<(&Path, u64)> = shards
        .iter()
        .map(|(p, s)| (p.as_path(), s.shard[0]))
        .collect();
    crate::regress::merge::check_complete(&keys, n, "fpec dnn opt")?;
    let total = sweep_splits()?.len();
    let configs = (0..total)
        .map(|i| shards[i % n as usize].1.report.configs[i / n as usize].clone())
        .collect();
    let r = &first.report;
    let mut merged = summarize(
        configs,
        r.energy_model.clone(),
        r.float_accuracy,
        r.float_calibration_accuracy,
        r.budget,
    );
    merged.calibration = r.calibration.clone();
    Ok((first.model, merged))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_exact_keeps_every_float_and_string() {
        let mut x = 0.123_456_789_f64;
        let mut v = Vec::new();
        for i in 0..2000 {
            x = (x * 7.77 + 0.1).fract();
            v.push((
                format!("{i}: -1.5e3 \"q\" {x}"),
                x * 100.0,
                -x / 3.0,
                i as u64,
            ));
        }
        let text = serde_json::to_string_pretty(&v).unwrap();
        let back: Vec<(String, f64, f64, u64)> = parse_exact(&text).unwrap();
        for (a, b) in v.iter().zip(&back) {
            assert_eq!(a.0, b.0);
            assert_eq!(a.1.to_bits(), b.1.to_bits(), "{}", a.1);
            assert_eq!(a.2.to_bits(), b.2.to_bits(), "{}", a.2);
            assert_eq!(a.3, b.3);
        }
    }
}
