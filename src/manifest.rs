//! `manifest.json` (spec 6.3): the one type every command reads and `fpec
//! gen` writes, its reader (which also accepts hand-written manifests for
//! someone else's RTL: optional keys may be absent, `Z` may be a boolean),
//! its writer, and the checks of a manifest against itself (bits, C, G, N,
//! sum width and the Lmax range), done once here for verify, synth, energy
//! and flow.

use crate::format::{Comp, Split};
use crate::util::usage;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The Lmax range of hardware `fpec gen` builds (sizes its accumulators).
pub const GEN_MAX_LEN: (u64, u64) = fpec_hdl::MAX_LEN_RANGE;
/// Largest manifest.json read (bytes).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// The Lmax range the verifier accepts for RTL it did not generate.
pub const RTL_MAX_LEN: (u64, u64) = (1, 1 << 24);

/// Datapath widths recorded for auditing (beyond the spec's minimum keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidthReport {
    /// Product width P = 2W.
    pub product: u32,
    /// Fused term width T (the array's output: `(qw*qa << G)` plus the
    /// compensation rows); P for FxP and split.
    #[serde(default)]
    pub term: u32,
    /// Accumulator width: S for fused, A (the product accumulator) for
    /// split and FxP.
    pub acc: u32,
    /// Compensation term width (0 for FxP).
    pub comp_term: u32,
    /// Compensation accumulator width (0 for FxP).
    pub comp_acc: u32,
}

/// Accepts 0/1 or false/true; written as 0/1.
fn de_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    match v {
        serde_json::Value::Bool(b) => Ok(b as u32),
        serde_json::Value::Number(n) if n.as_u64() == Some(0) => Ok(0),
        serde_json::Value::Number(n) if n.as_u64() == Some(1) => Ok(1),
        other => Err(serde::de::Error::custom(format!(
            "expected 0, 1, false or true, got {other}"
        ))),
    }
}

fn is_empty(p: &BTreeMap<String, i64>) -> bool {
    p.is_empty()
}

/// The requantizer part of a manifest (spec 6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequantManifest {
    /// Top module name (`fpec_requant`).
    pub top: String,
    /// Output split `Wo+Co`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits: Option<String>,
    /// Wo.
    #[serde(rename = "W")]
    pub w: u32,
    /// Mo.
    #[serde(rename = "M", default)]
    pub m: u32,
    /// Zo (0/1).
    #[serde(rename = "Z", default, deserialize_with = "de_flag")]
    pub z: u32,
    /// Co (0 for an FxP output); derived from N when absent.
    #[serde(rename = "C", default)]
    pub c: Option<u32>,
    /// No.
    #[serde(rename = "N")]
    pub n: u32,
    /// To, the output zero threshold.
    #[serde(rename = "T", default)]
    pub t: Option<u32>,
    /// k = F_in - FBo.
    pub fb_shift: i32,
    /// ReLU before rounding.
    #[serde(default)]
    pub relu: bool,
    /// Input width S.
    pub in_width: u32,
    /// Output width No.
    pub out_width: u32,
    /// Verilog files relative to the manifest folder, compile order.
    pub files: Vec<String>,
    /// Verilog parameters of the requantizer top (hand-written RTL only).
    #[serde(default, skip_serializing_if = "is_empty")]
    pub params: BTreeMap<String, i64>,
}

/// `manifest.json` (spec 6.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Generator and version (absent in hand-written manifests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    /// "fpec" or "fxp".
    pub format: String,
    /// Top module.
    pub top: String,
    /// Bit split `W+C` (checked against W and C).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits: Option<String>,
    /// W.
    #[serde(rename = "W")]
    pub w: u32,
    /// M.
    #[serde(rename = "M", default)]
    pub m: u32,
    /// Z (0/1; `false`/`true` accepted).
    #[serde(rename = "Z", default, deserialize_with = "de_flag")]
    pub z: u32,
    /// C (checked against M, Z and the format).
    #[serde(rename = "C", default, skip_serializing_if = "Option::is_none")]
    pub c: Option<u32>,
    /// G (checked against M).
    #[serde(rename = "G", default, skip_serializing_if = "Option::is_none")]
    pub g: Option<u32>,
    /// N (checked against W, M, Z).
    #[serde(rename = "N", default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Default zero threshold T of the format (encoding side; not hardware).
    #[serde(rename = "T", default, skip_serializing_if = "Option::is_none")]
    pub t: Option<u32>,
    /// Lmax.
    pub max_len: u64,
    /// S.
    pub sum_width: u32,
    /// Latency in cycles (spec 6.1).
    pub latency: u32,
    /// Microarchitecture (spec 6.4): `fused`, `split`, `fxp` (FxP has one);
    /// absent in older or hand-written manifests (see [`Manifest::arch`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Verilog files relative to the manifest folder, compile order (top last).
    #[serde(default)]
    pub files: Vec<String>,
    /// Internal widths (written by `fpec gen`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub widths: Option<WidthReport>,
    /// Verilog parameters of the top (not written by `fpec gen`; for RTL
    /// described by a hand-written manifest).
    #[serde(default, skip_serializing_if = "is_empty")]
    pub params: BTreeMap<String, i64>,
    /// The requantizer, when generated (`null` otherwise).
    #[serde(default)]
    pub requant: Option<RequantManifest>,
}

impl Manifest {
    /// Reads `manifest.json` from a folder (or a file path); returns it
    /// with the folder its file names are relative to. A missing or
    /// malformed manifest is a usage error naming the file.
    pub fn load(path: &Path) -> Result<(Manifest, PathBuf)> {
        let file = if path.is_dir() {
            path.join("manifest.json")
        } else {
            path.to_path_buf()
        };
        let text = crate::util::read_text_limited(&file, MAX_MANIFEST_BYTES, "manifest")?;
        let m = Self::parse(&text).map_err(|e| {
            usage(format!(
                "bad manifest {}: {e} (allowed: a JSON object with the keys of spec 6.3)",
                file.display()
            ))
        })?;
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        m.check_names(&dir)
            .map_err(|e| usage(format!("manifest {}: {e:#}", file.display())))?;
        Ok((m, dir))
    }

    /// Checks every value of the manifest that reaches a tool: the tops and
    /// parameter names are Verilog identifiers, every file entry resolves
    /// to a regular file inside `dir` (see
    /// [`crate::toolchain::inputs::resolve_inside`]).
    pub fn check_names(&self, dir: &Path) -> Result<()> {
        use crate::toolchain::inputs::{ident, resolve_inside};
        ident("top =", &self.top)?;
        for k in self.params.keys() {
            ident("params:", k)?;
        }
        for f in &self.files {
            resolve_inside(dir, f, "files:")?;
        }
        if let Some(r) = &self.requant {
            ident("requant top =", &r.top)?;
            for k in r.params.keys() {
                ident("requant params:", k)?;
            }
            for f in &r.files {
                resolve_inside(dir, f, "requant files:")?;
            }
        }
        Ok(())
    }

    /// Parses manifest text.
    pub fn parse(text: &str) -> std::result::Result<Manifest, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The manifest as `fpec gen` writes it (pretty JSON, final newline).
    pub fn to_json(&self) -> Result<String> {
        let mut json = serde_json::to_string_pretty(self)?;
        json.push('\n');
        Ok(json)
    }

    /// The arch the manifest records, `unknown` when it has none.
    pub fn arch(&self) -> &str {
        self.arch.as_deref().unwrap_or("unknown")
    }

    /// `W=.., M=.., Z=.., N=..` (N = `n`, the word width of its split), as
    /// `fpec gen` and the flow report name a configuration.
    pub fn fields(&self, n: u32) -> String {
        format!("W={}, M={}, Z={}, N={n}", self.w, self.m, self.z)
    }

    /// The bit split `W+C` as recorded (or derived from W, M, Z).
    pub fn bits(&self) -> String {
        match (&self.bits, self.split()) {
            (Some(b), _) => b.clone(),
            (None, Ok(s)) => format!("{}+{}", s.w, s.c()),
            (None, Err(_)) => format!("{}+?", self.w),
        }
    }

    /// The hardware split, checked against every redundant key present
    /// (N, G, C, bits): a mismatch is a usage error naming both values.
    pub fn split(&self) -> Result<Split> {
        let split = match self.format.as_str() {
            "fxp" => Split::fxp(self.w)?,
            "fpec" => Split::new(self.w, Some(Comp::new(self.m, self.z == 1)?))?,
            other => {
                return Err(usage(format!(
                    "manifest format = '{other}' is not allowed (allowed: fpec, fxp)"
                )))
            }
        };
        if let Some(n) = self.n {
            if n != split.n() {
                return Err(usage(format!(
                    "manifest N = {n} does not match W + C = {} for {split} (allowed: {})",
                    split.n(),
                    split.n()
                )));
            }
        }
        if let Some(g) = self.g {
            if g != split.g() {
                return Err(usage(format!(
                    "manifest G = {g} does not match {} for {split} (allowed: {})",
                    split.g(),
                    split.g()
                )));
            }
        }
        if let Some(c) = self.c {
            if c != split.c() {
                return Err(usage(format!(
                    "manifest C = {c} does not match M = {}, Z = {} for {split} (allowed: {})",
                    self.m,
                    self.z,
                    split.c()
                )));
            }
        }
        if let Some(b) = &self.bits {
            let want = format!("{}+{}", split.w, split.c());
            if b.trim() != want {
                return Err(usage(format!(
                    "manifest bits = '{b}' does not match W = {}, C = {} (allowed: '{want}')",
                    split.w,
                    split.c()
                )));
            }
        }
        Ok(split)
    }

    /// [`Manifest::split`] plus the range checks of Lmax, S and latency and
    /// the check that S holds every sum (spec 4).
    pub fn checked_split(&self) -> Result<Split> {
        let split = self.split()?;
        check_ranges(self.max_len, self.sum_width, self.latency)?;
        check_sum_width(&split, self.max_len, self.sum_width, "manifest sum_width =")?;
        Ok(split)
    }

    /// Files of the MAC (the requantizer's excluded) under `dir`, each
    /// checked to resolve inside it.
    pub fn mac_files(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        self.files
            .iter()
            .map(|f| crate::toolchain::inputs::resolve_inside(dir, f, "manifest files:"))
            .collect()
    }
}

/// Checks an Lmax against `range` (one of [`GEN_MAX_LEN`], [`RTL_MAX_LEN`]);
/// `what` names the flag or key in the message.
pub fn check_max_len(max_len: u64, range: (u64, u64), what: &str) -> Result<()> {
    let (lo, hi) = range;
    if !(lo..=hi).contains(&max_len) {
        return Err(usage(format!(
            "{what} {max_len} is out of range (allowed {lo}..={hi})"
        )));
    }
    Ok(())
}

/// Range checks shared by manifests and command-line descriptions of RTL.
pub fn check_ranges(max_len: u64, sum_width: u32, latency: u32) -> Result<()> {
    check_max_len(max_len, RTL_MAX_LEN, "max_len =")?;
    if !(2..=64).contains(&sum_width) {
        return Err(usage(format!(
            "sum_width = {sum_width} is out of range (allowed 2..=64)"
        )));
    }
    if !(1..=64).contains(&latency) {
        return Err(usage(format!(
            "latency = {latency} is out of range (allowed 1..=64)"
        )));
    }
    Ok(())
}

/// Checks that S holds every sum of up to Lmax pairs (spec 4: no width may
/// overflow); `what` names the value in the message.
pub fn check_sum_width(split: &Split, max_len: u64, sum_width: u32, what: &str) -> Result<()> {
    let min = min_sum_width(split, max_len);
    if sum_width < min {
        return Err(usage(format!(
            "{what} {sum_width} is too narrow for {split} with Lmax = {max_len} (allowed {min}..=64)"
        )));
    }
    Ok(())
}

/// The smallest signed width holding every `sum` of up to `max_len` pairs
/// (spec 4 worst case): the S that `fpec gen` builds, and the least a
/// hand-written RTL may have. One computation, in fpec-hdl's widths.
pub fn min_sum_width(split: &Split, max_len: u64) -> u32 {
    fpec_hdl::min_sum_width(split.w, split.m(), split.z(), !split.is_fxp(), max_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_width_of_small_split() {
        // FxP 2 bits, L = 1: q in -2..1, products -2..4 -> 4 bits.
        let s = Split::fxp(2).unwrap();
        assert_eq!(min_sum_width(&s, 1), 4);
        // 6+2 (M=0, G=2): max term 32*32*4 + 2*32 = 4160 -> with 4096 pairs
        // 17039360 < 2^25 -> 26 bits.
        let s = Split::parse("6+2").unwrap();
        assert_eq!(min_sum_width(&s, 4096), 26);
        // Beyond the generator's Lmax (hand-written RTL): 6+2, 2^24 pairs:
        // 4160 * 2^24 < 2^37 -> 38 bits.
        assert_eq!(min_sum_width(&s, 1 << 24), 38);
    }

    #[test]
    fn hand_written_manifest_reads() {
        let m = Manifest::parse(
            r#"{"format":"fpec","top":"x","W":6,"Z":true,"max_len":16,"sum_width":20,"latency":1,"files":["a.v"]}"#,
        )
        .unwrap();
        assert_eq!(m.z, 1);
        assert_eq!(m.arch(), "unknown");
        assert_eq!(m.bits(), "6+2");
        assert!(m.requant.is_none());
    }
}
