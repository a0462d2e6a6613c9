//! The device under test: read from a generator's `manifest.json` (spec 6.3)
//! or described on the command line for someone else's RTL (`--rtl`).

use crate::format::{Comp, Format, Split};
use crate::util::usage;
use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Accepts 0/1 or false/true.
fn de_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    match v {
        serde_json::Value::Bool(b) => Ok(b),
        serde_json::Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
        serde_json::Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
        other => Err(serde::de::Error::custom(format!(
            "expected 0, 1, false or true, got {other}"
        ))),
    }
}

/// `manifest.json` as written by `fpec gen` (fields the verifier needs).
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// Generator name and version.
    #[serde(default)]
    pub generator: Option<String>,
    /// "fpec" or "fxp".
    pub format: String,
    /// Top module name.
    pub top: String,
    /// Bit split `W+C` (checked against W and C).
    #[serde(default)]
    pub bits: Option<String>,
    /// W.
    #[serde(rename = "W")]
    pub w: u32,
    /// M.
    #[serde(rename = "M", default)]
    pub m: u32,
    /// Z.
    #[serde(rename = "Z", default, deserialize_with = "de_flag")]
    pub z: bool,
    /// C (checked against M, Z and the format).
    #[serde(rename = "C", default)]
    pub c: Option<u32>,
    /// G (checked against M).
    #[serde(rename = "G", default)]
    pub g: Option<u32>,
    /// N (checked against W, M, Z).
    #[serde(rename = "N", default)]
    pub n: Option<u32>,
    /// Lmax.
    pub max_len: u64,
    /// S.
    pub sum_width: u32,
    /// Latency in cycles (>= 1).
    pub latency: u32,
    /// Microarchitecture (spec 6.4); absent in older or hand-written
    /// manifests (reported as `unknown`).
    #[serde(default)]
    pub arch: Option<String>,
    /// Verilog files relative to the manifest folder, compile order.
    #[serde(default)]
    pub files: Vec<String>,
    /// Verilog parameters of the top (not written by `fpec gen`; for RTL
    /// described by a hand-written manifest).
    #[serde(default)]
    pub params: BTreeMap<String, i64>,
    /// The requantizer, when generated.
    #[serde(default)]
    pub requant: Option<RequantManifest>,
}

/// The `requant` object of a manifest (spec 6.2).
#[derive(Debug, Clone, Deserialize)]
pub struct RequantManifest {
    /// Top module name (`fpec_requant`).
    pub top: String,
    /// Output W.
    #[serde(rename = "W")]
    pub w: u32,
    /// Output M.
    #[serde(rename = "M", default)]
    pub m: u32,
    /// Output Z.
    #[serde(rename = "Z", default, deserialize_with = "de_flag")]
    pub z: bool,
    /// Output C (0 for FxP output).
    #[serde(rename = "C", default)]
    pub c: Option<u32>,
    /// Output N.
    #[serde(rename = "N")]
    pub n: u32,
    /// Output zero threshold.
    #[serde(rename = "T", default)]
    pub t: Option<u32>,
    /// k = F_in - FBo.
    pub fb_shift: i32,
    /// ReLU before requantization.
    #[serde(default)]
    pub relu: bool,
    /// Input width S.
    pub in_width: u32,
    /// Output width No.
    pub out_width: u32,
    /// Verilog files relative to the manifest folder.
    pub files: Vec<String>,
    /// Verilog parameters of the requantizer top (hand-written RTL only).
    #[serde(default)]
    pub params: BTreeMap<String, i64>,
}

/// The MAC to verify, with everything the test benches need.
#[derive(Debug, Clone)]
pub struct Dut {
    /// Top module name.
    pub top: String,
    /// Verilog files in compile order (absolute or relative to cwd).
    pub files: Vec<PathBuf>,
    /// Verilog parameters to override.
    pub params: BTreeMap<String, i64>,
    /// Operand split (W, M, Z).
    pub split: Split,
    /// Lmax.
    pub max_len: u64,
    /// S.
    pub sum_width: u32,
    /// Latency.
    pub latency: u32,
    /// Requantizer, when present.
    pub requant: Option<RequantDut>,
    /// Microarchitecture as the manifest records it (`unknown` when absent).
    pub arch: String,
    /// The fpec-hdl model that rust-sim may run for this design: only for a
    /// folder `fpec gen` wrote whose files are present and identical to what
    /// fpec-hdl emits for its (format, W, M, Z, Lmax, arch); otherwise why
    /// rust-sim does not apply (it then never counts as a pass).
    pub rust_sim: std::result::Result<fpec_hdl::MacConfig, String>,
}

/// The requantizer to verify.
#[derive(Debug, Clone)]
pub struct RequantDut {
    /// Top module name.
    pub top: String,
    /// Verilog files.
    pub files: Vec<PathBuf>,
    /// Verilog parameters to override.
    pub params: BTreeMap<String, i64>,
    /// Output format, with FBo = 0 and F_in = k (only k matters).
    pub out: Format,
    /// k.
    pub k: i32,
    /// ReLU.
    pub relu: bool,
    /// Input width S.
    pub in_width: u32,
    /// Output width No.
    pub out_width: u32,
}

impl Dut {
    /// N, the packed word width.
    pub fn n(&self) -> u32 {
        self.split.n()
    }
    /// G.
    pub fn g(&self) -> u32 {
        self.split.g()
    }
}

/// Reads and checks `path` (a manifest.json). Files are resolved against the
/// manifest's folder.
pub fn load(path: &Path) -> Result<Dut> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read manifest {}: {e}", path.display())))?;
    let m: Manifest = serde_json::from_str(&text)
        .map_err(|e| usage(format!("bad manifest {}: {e}", path.display())))?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    from_manifest(&m, &dir).with_context(|| format!("manifest {}", path.display()))
}

/// The text of a generated file below its header comment.
fn body(text: &str) -> &str {
    let mut rest = text;
    while rest.starts_with("//") {
        rest = rest.split_once('\n').map_or("", |(_, r)| r);
    }
    rest
}

/// Whether rust-sim models the files of `m`: generated by fpec, with an
/// arch it knows, and every MAC file identical (below the header) to what
/// fpec-hdl emits for the manifest's configuration.
fn rust_sim_config(
    m: &Manifest,
    dir: &Path,
    split: &Split,
) -> std::result::Result<fpec_hdl::MacConfig, String> {
    if !m
        .generator
        .as_deref()
        .is_some_and(|g| g.starts_with("fpec "))
    {
        return Err("the manifest names no fpec generator".into());
    }
    let arch = match (split.is_fxp(), m.arch.as_deref()) {
        (true, Some("fxp") | None) => fpec_hdl::Arch::Fused,
        (false, Some(a)) => fpec_hdl::Arch::parse(a).map_err(|e| e.to_string())?,
        (_, a) => {
            return Err(format!(
                "arch {} does not match format {}",
                a.unwrap_or("unknown"),
                m.format
            ))
        }
    };
    let cfg = crate::gen::hw_config(split, m.max_len, arch);
    let want = fpec_hdl::generate_mac(&cfg, "").map_err(|e| e.to_string())?;
    let mac_files: Vec<&String> = m
        .files
        .iter()
        .filter(|f| !f.starts_with("fpec_requant"))
        .collect();
    let names: Vec<&String> = want.iter().map(|f| &f.name).collect();
    if mac_files != names {
        return Err("its files are not the ones fpec-hdl emits for this configuration".into());
    }
    for f in &want {
        let p = dir.join(&f.name);
        let text =
            std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        if body(&text) != body(&f.text) {
            return Err(format!("{} differs from what fpec-hdl emits", f.name));
        }
    }
    if m.top != cfg.top() {
        return Err(format!("top {} is not {}", m.top, cfg.top()));
    }
    Ok(cfg)
}

/// Checks a parsed manifest; `dir` is the folder its file names are relative to.
pub fn from_manifest(m: &Manifest, dir: &Path) -> Result<Dut> {
    let split = match m.format.as_str() {
        "fxp" => Split::fxp(m.w)?,
        "fpec" => Split::new(m.w, Some(Comp::new(m.m, m.z)?))?,
        other => {
            return Err(usage(format!(
                "manifest format = '{other}' is not allowed (allowed: fpec, fxp)"
            )))
        }
    };
    if let Some(n) = m.n {
        if n != split.n() {
            return Err(usage(format!(
                "manifest N = {n} does not match W + C = {} for {split}",
                split.n()
            )));
        }
    }
    if let Some(g) = m.g {
        if g != split.g() {
            return Err(usage(format!(
                "manifest G = {g} does not match {} for {split}",
                split.g()
            )));
        }
    }
    if let Some(c) = m.c {
        if c != split.c() {
            return Err(usage(format!(
                "manifest C = {c} does not match M = {}, Z = {} for {split} (allowed: {})",
                m.m,
                m.z as u32,
                split.c()
            )));
        }
    }
    if let Some(b) = &m.bits {
        let want = format!("{}+{}", split.w, split.c());
        if b.trim() != want {
            return Err(usage(format!(
                "manifest bits = '{b}' does not match W = {}, C = {} (allowed: '{want}')",
                split.w,
                split.c()
            )));
        }
    }
    check_ranges(m.max_len, m.sum_width, m.latency)?;
    check_sum_width(&split, m.max_len, m.sum_width, "manifest sum_width =")?;
    if m.files.is_empty() {
        return Err(usage(
            "manifest files = [] (need at least one Verilog file)",
        ));
    }
    for f in m
        .files
        .iter()
        .chain(m.requant.iter().flat_map(|r| r.files.iter()))
    {
        if !dir.join(f).is_file() {
            return Err(usage(format!(
                "manifest files: {} does not exist (relative to {})",
                f,
                dir.display()
            )));
        }
    }
    let requant = match &m.requant {
        None => None,
        Some(r) => Some(requant_dut(r, dir, m.sum_width)?),
    };
    let rust_sim = rust_sim_config(m, dir, &split)
        .map_err(|why| format!("not applicable: not generated by fpec ({why})"));
    Ok(Dut {
        arch: m.arch.clone().unwrap_or_else(|| "unknown".to_string()),
        rust_sim,
        top: m.top.clone(),
        files: m.files.iter().map(|f| dir.join(f)).collect(),
        params: m.params.clone(),
        split,
        max_len: m.max_len,
        sum_width: m.sum_width,
        latency: m.latency,
        requant,
    })
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

/// Range checks shared by manifests and command-line descriptions.
pub fn check_ranges(max_len: u64, sum_width: u32, latency: u32) -> Result<()> {
    if !(1..=1 << 24).contains(&max_len) {
        return Err(usage(format!(
            "max_len = {max_len} is out of range (allowed 1..=16777216)"
        )));
    }
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

fn requant_dut(r: &RequantManifest, dir: &Path, s: u32) -> Result<RequantDut> {
    let c =
        r.c.unwrap_or(if r.n > r.w { r.z as u32 + 1 + r.m } else { 0 });
    let split = if c == 0 {
        Split::fxp(r.w)?
    } else {
        Split::new(r.w, Some(Comp::new(r.m, r.z)?))?
    };
    if split.n() != r.n || r.out_width != r.n {
        return Err(usage(format!(
            "requant N = {} / out_width = {} do not match W + C = {} for {split}",
            r.n,
            r.out_width,
            split.n()
        )));
    }
    if r.in_width != s {
        return Err(usage(format!(
            "requant in_width = {} differs from sum_width = {s}",
            r.in_width
        )));
    }
    if !(-64..=64).contains(&r.fb_shift) {
        return Err(usage(format!(
            "requant fb_shift = {} is out of range (allowed -64..=64)",
            r.fb_shift
        )));
    }
    let out = Format::new(split, 0, if split.is_fxp() { None } else { r.t })?;
    Ok(RequantDut {
        top: r.top.clone(),
        files: r.files.iter().map(|f| dir.join(f)).collect(),
        params: r.params.clone(),
        out,
        k: r.fb_shift,
        relu: r.relu,
        in_width: r.in_width,
        out_width: r.out_width,
    })
}

/// The smallest signed width holding every `sum` of up to `max_len` pairs
/// (spec 4 worst case): useful to size hand-written RTL.
pub fn min_sum_width(split: &Split, max_len: u64) -> u32 {
    let (qmin, qmax) = split.q_range();
    let emax: i64 = if split.is_fxp() {
        0
    } else {
        (1i64 << (split.m() + 1)) - 1
    };
    let g = split.g();
    let (mut lo, mut hi) = (0i128, 0i128);
    for qw in [qmin, qmax] {
        for qa in [qmin, qmax] {
            for ew in [-emax, emax] {
                for ea in [-emax, emax] {
                    let t = ((qw * qa) << g) + qw * ea + qa * ew;
                    lo = lo.min(t as i128);
                    hi = hi.max(t as i128);
                }
            }
        }
    }
    let (lo, hi) = (lo * max_len as i128, hi * max_len as i128);
    let mut s = 1u32;
    while !(-(1i128 << (s - 1)) <= lo && hi < (1i128 << (s - 1))) {
        s += 1;
    }
    s
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
    }
}
