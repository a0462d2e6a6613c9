//! Synthesis with Yosys to a fixed generic gate set (spec 8), and the
//! gate-level netlist model the energy model and the toggle simulation use.
//!
//! The Yosys script is rendered from `synth-scripts/synth.ys.tera` (embedded
//! in the binary). Outputs, all in `<out>/synth/`:
//! - `synth.ys`, `yosys.log`: the script and Yosys's full log;
//! - `stat.json`: `stat -json` of the flattened design (per-type counts);
//! - `hier.json`: the design before flattening (instance -> module map);
//! - `netlist.json`, `netlist.v`: the flattened gate-level netlist;
//! - `gates.txt`: per-type and per-block gate table;
//! - `report.json`: Yosys version, top, cells by type, by block.
//!
//! Cells are assigned to blocks (multiplier, compensation, accumulator,
//! requantizer, control) by the data-driven rules of `data/blocks.toml`.

use crate::format::Split;
use crate::util::RunGuarded;
use crate::util::{usage, write_atomic};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The synthesis script template (tera).
pub const SYNTH_TEMPLATE: &str = include_str!("../synth-scripts/synth.ys.tera");
/// The default block classification rules.
pub const DEFAULT_BLOCKS: &str = include_str!("../data/blocks.toml");

/// Name of the Yosys program: `$FPEC_YOSYS` or `yosys`.
pub fn yosys_program() -> String {
    std::env::var("FPEC_YOSYS").unwrap_or_else(|_| "yosys".to_string())
}

/// Runs `yosys -V` and returns its first line (e.g. `Yosys 0.23 (git sha1 ...)`).
pub fn yosys_version() -> Result<String> {
    let prog = yosys_program();
    let out = Command::new(&prog)
        .arg("-V")
        .output_guarded()
        .map_err(|e| missing_program(&prog, "Yosys", e))?;
    if !out.status.success() {
        bail!("`{prog} -V` failed with {}", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string())
}

/// The error for a program that cannot be started.
pub fn missing_program(prog: &str, what: &str, e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        anyhow::anyhow!("cannot run `{prog}`: program not found ({what} is required; install it or put it on PATH)")
    } else {
        anyhow::anyhow!("cannot run `{prog}` ({what}): {e}")
    }
}

/// The fields of a generated folder's `manifest.json` that synthesis and
/// the energy model need (spec 6.3).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ManifestInfo {
    /// "fpec" or "fxp".
    pub format: String,
    /// Top module name.
    pub top: String,
    /// `W+C` bit split.
    #[serde(default)]
    pub bits: Option<String>,
    /// W.
    #[serde(rename = "W")]
    pub w: u32,
    /// M.
    #[serde(rename = "M", default)]
    pub m: u32,
    /// Z (0/1).
    #[serde(rename = "Z", default)]
    pub z: u32,
    /// Maximum dot-product length.
    pub max_len: u64,
    /// Output width S.
    pub sum_width: u32,
    /// Latency in cycles.
    pub latency: u32,
    /// Verilog files, relative to the folder, in compile order.
    pub files: Vec<String>,
    /// Microarchitecture (spec 6.4); absent in older manifests.
    #[serde(default)]
    pub arch: Option<String>,
}

/// Something to synthesize: RTL files, a top, parameters, and (when known)
/// the word format its ports carry.
#[derive(Debug, Clone, Serialize)]
pub struct Design {
    /// Label for reports, e.g. `6+2`.
    pub label: String,
    /// Top module.
    pub top: String,
    /// Verilog files in compile order (absolute or relative to the cwd).
    pub files: Vec<PathBuf>,
    /// Parameter overrides of the top, `(name, value)`.
    pub params: Vec<(String, String)>,
    /// Word format of `w`/`a` (spec 6.1 ports), when known.
    pub split: Option<Split>,
    /// Maximum dot-product length, when known.
    pub max_len: Option<u64>,
    /// Output width S of `out_sum`, when known.
    pub sum_width: Option<u32>,
    /// Latency, when known.
    pub latency: Option<u32>,
}

impl Design {
    /// Reads a generated folder (`manifest.json` + Verilog files).
    pub fn from_dir(dir: &Path) -> Result<Design> {
        let mpath = dir.join("manifest.json");
        let text = std::fs::read_to_string(&mpath).map_err(|e| {
            usage(format!(
                "{} is not a generated folder: cannot read {}: {e}",
                dir.display(),
                mpath.display()
            ))
        })?;
        let m: ManifestInfo = serde_json::from_str(&text)
            .map_err(|e| usage(format!("{}: bad manifest: {e}", mpath.display())))?;
        let split = if m.format == "fxp" {
            Split::fxp(m.w)?
        } else {
            Split::new(m.w, Some(crate::format::Comp::new(m.m, m.z == 1)?))?
        };
        let bits = m.bits.clone().unwrap_or_else(|| split.to_string());
        // FPEC labels name their arch (`unknown` for older manifests).
        let label = if split.is_fxp() {
            bits
        } else {
            format!("{bits} {}", m.arch.as_deref().unwrap_or("unknown"))
        };
        Ok(Design {
            label,
            top: m.top.clone(),
            files: m.files.iter().map(|f| dir.join(f)).collect(),
            params: Vec::new(),
            split: Some(split),
            max_len: Some(m.max_len),
            sum_width: Some(m.sum_width),
            latency: Some(m.latency),
        })
    }

    /// User RTL: files, top and parameter overrides (`NAME=VALUE`).
    pub fn from_rtl(files: &[PathBuf], top: &str, params: &[String]) -> Result<Design> {
        if files.is_empty() {
            return Err(usage("--rtl needs at least one Verilog file"));
        }
        for f in files {
            if !f.is_file() {
                return Err(usage(format!("--rtl {}: no such file", f.display())));
            }
        }
        let mut ps = Vec::new();
        for p in params {
            let (n, v) = p
                .split_once('=')
                .ok_or_else(|| usage(format!("--param '{p}' is not NAME=VALUE")))?;
            let ok_name = !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            let ok_val = !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '\'' || c == '_' || c == '-');
            if !ok_name || !ok_val {
                return Err(usage(format!("--param '{p}': bad name or value")));
            }
            ps.push((n.to_string(), v.to_string()));
        }
        Ok(Design {
            label: top.to_string(),
            top: top.to_string(),
            files: files.to_vec(),
            params: ps,
            split: None,
            max_len: None,
            sum_width: None,
            latency: None,
        })
    }
}

/// Options of a synthesis run.
#[derive(Debug, Clone, Default)]
pub struct SynthOptions {
    /// Map to this liberty file instead of the generic gate set.
    pub liberty: Option<PathBuf>,
    /// Block rules file replacing `data/blocks.toml`.
    pub blocks: Option<PathBuf>,
}

/// One bit of a connection: a net id or a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bit {
    /// Net number (Yosys JSON bit id).
    Net(u64),
    /// Constant `0`, `1`, `x` or `z`.
    Const(char),
}

/// A top-level port of the netlist.
#[derive(Debug, Clone)]
pub struct Port {
    /// Name.
    pub name: String,
    /// "input" or "output" (or "inout").
    pub dir: String,
    /// Bits, LSB first.
    pub bits: Vec<Bit>,
}

/// A gate of the flattened netlist.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Yosys cell name (with the `$flatten\inst.` prefix).
    pub name: String,
    /// Cell type, e.g. `$_NAND_`.
    pub ty: String,
    /// Block (from the classification rules).
    pub block: String,
    /// Pin connections (one bit each for generic cells).
    pub conns: BTreeMap<String, Vec<Bit>>,
    /// Output pin names.
    pub outputs: Vec<String>,
}

/// The flattened gate-level netlist.
#[derive(Debug, Clone)]
pub struct Netlist {
    /// Top module.
    pub top: String,
    /// Ports.
    pub ports: Vec<Port>,
    /// Cells.
    pub cells: Vec<Cell>,
}

impl Netlist {
    /// Counts per cell type.
    pub fn cells_by_type(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for c in &self.cells {
            *m.entry(c.ty.clone()).or_insert(0) += 1;
        }
        m
    }
    /// Counts per block.
    pub fn cells_by_block(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for c in &self.cells {
            *m.entry(c.block.clone()).or_insert(0) += 1;
        }
        m
    }
    /// A port by name.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }
}

/// Block classification rules (`data/blocks.toml`).
#[derive(Debug, Clone, Deserialize)]
pub struct BlockRules {
    /// Block of gates matching no rule (and of the top's own gates).
    pub fallback: String,
    /// Ordered rules; the first match wins.
    #[serde(default)]
    pub rule: Vec<BlockRule>,
}

/// One classification rule.
#[derive(Debug, Clone, Deserialize)]
pub struct BlockRule {
    /// Substring of the module name (after the `<top>_` prefix), case-insensitive.
    pub contains: String,
    /// Block name.
    pub block: String,
}

impl BlockRules {
    /// Parses rules; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<BlockRules> {
        toml::from_str(text).map_err(|e| usage(format!("{origin}: {e}")))
    }
    /// The default rules.
    pub fn default_rules() -> Result<BlockRules> {
        BlockRules::parse(DEFAULT_BLOCKS, "data/blocks.toml (built in)")
    }
    /// Block of a child module of `top`.
    pub fn classify(&self, top: &str, module: &str) -> String {
        let prefix = format!("{top}_");
        let name = module
            .strip_prefix(&prefix)
            .unwrap_or(module)
            .to_lowercase();
        for r in &self.rule {
            if name.contains(&r.contains.to_lowercase()) {
                return r.block.clone();
            }
        }
        self.fallback.clone()
    }
}

/// The outcome of [`synthesize`].
#[derive(Debug, Clone)]
pub struct SynthResult {
    /// `yosys -V`.
    pub yosys_version: String,
    /// Folder holding the outputs (`<out>/synth`).
    pub dir: PathBuf,
    /// Top.
    pub top: String,
    /// Per-type counts from `stat.json`.
    pub cells_by_type: BTreeMap<String, u64>,
    /// Per-block counts.
    pub cells_by_block: BTreeMap<String, u64>,
    /// The flattened netlist.
    pub netlist: Netlist,
    /// Liberty area (um^2, from `stat -liberty`), liberty mode only.
    pub liberty_area: Option<f64>,
}

#[derive(Serialize)]
struct ParamCtx<'a> {
    name: &'a str,
    value: &'a str,
}

fn quote_ok(p: &Path) -> Result<String> {
    let s = p.to_string_lossy().to_string();
    if s.contains('"') || s.chars().any(char::is_whitespace) {
        return Err(usage(format!(
            "path {s:?} cannot be passed to Yosys (no spaces or quotes allowed)"
        )));
    }
    Ok(s)
}

/// Renders the Yosys script for `design` writing into `out`.
pub fn render_script(design: &Design, out: &Path, opts: &SynthOptions) -> Result<String> {
    let mut ctx = tera::Context::new();
    let files: Vec<String> = design
        .files
        .iter()
        .map(|f| {
            let abs = std::path::absolute(f).unwrap_or_else(|_| f.clone());
            quote_ok(&abs)
        })
        .collect::<Result<_>>()?;
    ctx.insert("files", &files);
    let params: Vec<ParamCtx> = design
        .params
        .iter()
        .map(|(n, v)| ParamCtx { name: n, value: v })
        .collect();
    ctx.insert("params", &params);
    if !design
        .top
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(usage(format!(
            "--top '{}' is not a plain identifier",
            design.top
        )));
    }
    ctx.insert("top", &design.top);
    let _ = out;
    let lib = match &opts.liberty {
        Some(l) => Some(quote_ok(
            &std::path::absolute(l).unwrap_or_else(|_| l.clone()),
        )?),
        None => None,
    };
    ctx.insert("liberty", &lib);
    tera::Tera::one_off(SYNTH_TEMPLATE, &ctx, false)
        .context("rendering synth-scripts/synth.ys.tera")
}

/// Runs Yosys on `design`; outputs go to `<out_root>/synth/`.
pub fn synthesize(design: &Design, out_root: &Path, opts: &SynthOptions) -> Result<SynthResult> {
    let version = yosys_version()?;
    let dir = out_root.join("synth");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))?;
    if let Some(l) = &opts.liberty {
        if !l.is_file() {
            return Err(usage(format!("--liberty {}: no such file", l.display())));
        }
    }
    let rules = match &opts.blocks {
        Some(p) => {
            let t = std::fs::read_to_string(p)
                .map_err(|e| usage(format!("cannot read {}: {e}", p.display())))?;
            BlockRules::parse(&t, &p.display().to_string())?
        }
        None => BlockRules::default_rules()?,
    };
    // Results of an earlier run must not sit beside this run's log: remove
    // them first (a failing run then leaves only its own log and script).
    for f in [
        "stat.json",
        "hier.json",
        "netlist.json",
        "netlist.v",
        "stat-liberty.txt",
        "gates.txt",
        "report.json",
        "energy.json",
    ] {
        let p = dir.join(f);
        if p.exists() {
            std::fs::remove_file(&p)
                .with_context(|| format!("cannot remove the stale {}", p.display()))?;
        }
    }
    // Yosys runs in a temporary folder; results are renamed into place.
    let tmp = tempfile::Builder::new()
        .prefix(".synth-")
        .tempdir_in(&dir)
        .with_context(|| format!("cannot create a temporary folder in {}", dir.display()))?;
    let script = render_script(design, tmp.path(), opts)?;
    let script_path = tmp.path().join("synth.ys");
    std::fs::write(&script_path, &script)?;
    let log_path = dir.join("yosys.log");
    let tmp_log = tmp.path().join("yosys.log");
    let prog = yosys_program();
    let _g_tmp = crate::util::CleanupGuard::new(tmp.path());
    let status = crate::util::output(
        Command::new(&prog)
            .current_dir(tmp.path())
            .arg("-q")
            .arg("-l")
            .arg(&tmp_log)
            .arg("-s")
            .arg(&script_path),
    )
    .map_err(|e| missing_program(&prog, "Yosys", e))?;
    // Keep the log and script where the user can find them, even on failure.
    let _ = std::fs::rename(&tmp_log, &log_path);
    write_atomic(&dir.join("synth.ys"), script.as_bytes())?;
    if !status.status.success() {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let mut tail: Vec<&str> = log.lines().rev().take(15).collect();
        tail.reverse();
        let stderr = String::from_utf8_lossy(&status.stderr);
        bail!(
            "Yosys failed ({}) on {}; log: {}\n--- last lines of the log ---\n{}\n{}",
            status.status,
            design.top,
            log_path.display(),
            tail.join("\n"),
            stderr.trim()
        );
    }
    for f in [
        "stat.json",
        "hier.json",
        "netlist.json",
        "netlist.v",
        "stat-liberty.txt",
    ] {
        let src = tmp.path().join(f);
        if src.exists() {
            std::fs::rename(&src, dir.join(f))
                .with_context(|| format!("cannot move {f} into {}", dir.display()))?;
        }
    }
    let stat_text = std::fs::read_to_string(dir.join("stat.json"))?;
    let cells_by_type = parse_stat_json(&stat_text, &design.top)?;
    let hier = std::fs::read_to_string(dir.join("hier.json"))?;
    let inst_map = parse_instances(&hier, &design.top)?;
    let net_text = std::fs::read_to_string(dir.join("netlist.json"))?;
    let netlist = parse_netlist(&net_text, &design.top, &inst_map, &rules)?;
    let from_net = netlist.cells_by_type();
    if from_net != cells_by_type {
        bail!("internal: stat.json counts {cells_by_type:?} differ from netlist.json {from_net:?}");
    }
    let liberty_area = match std::fs::read_to_string(dir.join("stat-liberty.txt")) {
        Ok(t) => parse_liberty_area(&t),
        Err(_) => None,
    };
    let res = SynthResult {
        yosys_version: version,
        dir: dir.clone(),
        top: design.top.clone(),
        cells_by_block: netlist.cells_by_block(),
        cells_by_type,
        netlist,
        liberty_area,
    };
    write_atomic(&dir.join("gates.txt"), gate_table(&res).as_bytes())?;
    let report = serde_json::json!({
        "yosys_version": res.yosys_version,
        "top": res.top,
        "label": design.label,
        "params": design.params,
        "liberty": opts.liberty,
        "cells_total": res.netlist.cells.len(),
        "cells_by_type": res.cells_by_type,
        "cells_by_block": res.cells_by_block,
        "cells_by_block_and_type": by_block_and_type(&res.netlist),
        "liberty_area_um2": res.liberty_area,
    });
    write_atomic(
        &dir.join("report.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    Ok(res)
}

fn by_block_and_type(n: &Netlist) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut m: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for c in &n.cells {
        *m.entry(c.block.clone())
            .or_default()
            .entry(c.ty.clone())
            .or_insert(0) += 1;
    }
    m
}

/// The per-type and per-block gate table (`gates.txt`).
pub fn gate_table(r: &SynthResult) -> String {
    let bb = by_block_and_type(&r.netlist);
    let blocks: Vec<&String> = bb.keys().collect();
    let mut s = format!(
        "# {} synthesized by {}\n# cells by type (columns: total, then per block)\n{:<12} {:>7}",
        r.top, r.yosys_version, "type", "total"
    );
    for b in &blocks {
        s += &format!(" {:>13}", b);
    }
    s += "\n";
    for (ty, n) in &r.cells_by_type {
        s += &format!("{:<12} {:>7}", ty, n);
        for b in &blocks {
            let v = bb.get(*b).and_then(|m| m.get(ty)).copied().unwrap_or(0);
            s += &format!(" {:>13}", v);
        }
        s += "\n";
    }
    s += &format!("{:<12} {:>7}", "total", r.netlist.cells.len());
    for b in &blocks {
        s += &format!(" {:>13}", r.cells_by_block.get(*b).copied().unwrap_or(0));
    }
    s += "\n";
    s
}

/// Per-type counts of the top module from a `stat -json` output.
pub fn parse_stat_json(text: &str, top: &str) -> Result<BTreeMap<String, u64>> {
    let v: serde_json::Value = serde_json::from_str(text).context("stat.json is not JSON")?;
    let modules = v
        .get("modules")
        .and_then(|m| m.as_object())
        .context("stat.json has no `modules`")?;
    let key = format!("\\{top}");
    let m = modules
        .get(&key)
        .or_else(|| modules.get(top))
        .or_else(|| {
            if modules.len() == 1 {
                modules.values().next()
            } else {
                None
            }
        })
        .with_context(|| format!("stat.json has no module {top}"))?;
    let by = m
        .get("num_cells_by_type")
        .and_then(|x| x.as_object())
        .context("stat.json: no num_cells_by_type")?;
    let mut out = BTreeMap::new();
    for (k, n) in by {
        out.insert(
            k.clone(),
            n.as_u64()
                .with_context(|| format!("stat.json: count of {k} is not an integer"))?,
        );
    }
    Ok(out)
}

/// Strips Yosys's `$paramod\NAME\P=V...` decoration and a leading `\`.
fn base_module_name(ty: &str) -> String {
    let t = ty.strip_prefix("$paramod").unwrap_or(ty);
    let t = t.trim_start_matches('\\');
    t.split('\\').next().unwrap_or(t).to_string()
}

/// Instance name -> module name of the top's direct children (from `hier.json`).
pub fn parse_instances(text: &str, top: &str) -> Result<BTreeMap<String, String>> {
    let v: serde_json::Value = serde_json::from_str(text).context("hier.json is not JSON")?;
    let modules = v
        .get("modules")
        .and_then(|m| m.as_object())
        .context("hier.json has no modules")?;
    let topm = modules
        .iter()
        .find(|(name, m)| {
            base_module_name(name) == top
                || m.get("attributes")
                    .and_then(|a| a.get("top"))
                    .is_some_and(|t| t.as_str().is_some_and(|s| s.ends_with('1')))
        })
        .map(|(_, m)| m)
        .with_context(|| format!("hier.json has no module {top}"))?;
    let mut map = BTreeMap::new();
    if let Some(cells) = topm.get("cells").and_then(|c| c.as_object()) {
        for (name, c) in cells {
            let ty = c.get("type").and_then(|t| t.as_str()).unwrap_or("");
            if !ty.starts_with('$') || ty.starts_with("$paramod") {
                map.insert(
                    name.trim_start_matches('\\').to_string(),
                    base_module_name(ty),
                );
            }
        }
    }
    Ok(map)
}

/// The top-level instance a flattened cell came from, if any.
fn instance_of(cell_name: &str) -> Option<&str> {
    let rest = if let Some(r) = cell_name.strip_prefix("$flatten") {
        r
    } else if !cell_name.starts_with('$') {
        cell_name
    } else {
        return None;
    };
    let rest = rest.trim_start_matches('\\');
    rest.split_once('.').map(|(i, _)| i)
}

fn parse_bits(v: &serde_json::Value, what: &str) -> Result<Vec<Bit>> {
    let arr = v
        .as_array()
        .with_context(|| format!("netlist.json: {what} is not a bit list"))?;
    arr.iter()
        .map(|b| {
            if let Some(n) = b.as_u64() {
                Ok(Bit::Net(n))
            } else if let Some(s) = b.as_str() {
                let c = s.chars().next().unwrap_or('x');
                Ok(Bit::Const(c))
            } else {
                bail!("netlist.json: bad bit {b} in {what}")
            }
        })
        .collect()
}

/// Parses the flattened `write_json` netlist, classifying cells by block.
pub fn parse_netlist(
    text: &str,
    top: &str,
    instances: &BTreeMap<String, String>,
    rules: &BlockRules,
) -> Result<Netlist> {
    let v: serde_json::Value = serde_json::from_str(text).context("netlist.json is not JSON")?;
    let modules = v
        .get("modules")
        .and_then(|m| m.as_object())
        .context("netlist.json has no modules")?;
    let m = modules
        .iter()
        .find(|(n, _)| base_module_name(n) == top)
        .map(|(_, m)| m)
        .or_else(|| {
            if modules.len() == 1 {
                modules.values().next()
            } else {
                None
            }
        })
        .with_context(|| format!("netlist.json has no module {top}"))?;
    let mut ports = Vec::new();
    if let Some(ps) = m.get("ports").and_then(|p| p.as_object()) {
        for (name, p) in ps {
            ports.push(Port {
                name: name.clone(),
                dir: p
                    .get("direction")
                    .and_then(|d| d.as_str())
                    .unwrap_or("")
                    .to_string(),
                bits: parse_bits(
                    p.get("bits").unwrap_or(&serde_json::Value::Null),
                    &format!("port {name}"),
                )?,
            });
        }
    }
    let mut cells = Vec::new();
    if let Some(cs) = m.get("cells").and_then(|c| c.as_object()) {
        for (name, c) in cs {
            let ty = c
                .get("type")
                .and_then(|t| t.as_str())
                .with_context(|| format!("netlist.json: cell {name} has no type"))?
                .to_string();
            let block = match instance_of(name) {
                Some(inst) => match instances.get(inst) {
                    Some(module) => rules.classify(top, module),
                    None => rules.fallback.clone(),
                },
                None => rules.fallback.clone(),
            };
            let mut conns = BTreeMap::new();
            if let Some(cc) = c.get("connections").and_then(|x| x.as_object()) {
                for (pin, bits) in cc {
                    conns.insert(pin.clone(), parse_bits(bits, &format!("{name}.{pin}"))?);
                }
            }
            let mut outputs = Vec::new();
            if let Some(pd) = c.get("port_directions").and_then(|x| x.as_object()) {
                for (pin, d) in pd {
                    if d.as_str() == Some("output") {
                        outputs.push(pin.clone());
                    }
                }
            }
            cells.push(Cell {
                name: name.clone(),
                ty,
                block,
                conns,
                outputs,
            });
        }
    }
    Ok(Netlist {
        top: top.to_string(),
        ports,
        cells,
    })
}

/// `Chip area for module '...': 123.4` from `stat -liberty` text.
pub fn parse_liberty_area(text: &str) -> Option<f64> {
    text.lines()
        .rev()
        .filter(|l| l.contains("Chip area"))
        .find_map(|l| l.rsplit(':').next()?.trim().parse::<f64>().ok())
}
