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
use crate::toolchain::Tool;

use crate::util::{usage, write_atomic};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The synthesis script template (tera).
pub const SYNTH_TEMPLATE: &str = include_str!("../../synth-scripts/synth.ys.tera");
/// The default block classification rules.
pub const DEFAULT_BLOCKS: &str = include_str!("../../data/blocks.toml");

/// Runs `yosys -V` and returns its first line (e.g. `Yosys 0.23 (git sha1 ...)`).
pub fn yosys_version() -> Result<String> {
    Tool::Yosys.version()
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
    pub params: Vec<(String, i64)>,
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
        if !dir.join("manifest.json").is_file() {
            return Err(usage(format!(
                "{} is not a generated folder: it has no manifest.json",
                dir.display()
            )));
        }
        let (m, dir) = crate::manifest::Manifest::load(dir)?;
        let split = m.split()?;
        // FPEC labels name their arch (`unknown` for older manifests).
        let label = if split.is_fxp() {
            m.bits()
        } else {
            format!("{} {}", m.bits(), m.arch())
        };
        Ok(Design {
            label,
            top: m.top.clone(),
            files: m.mac_files(&dir),
            params: Vec::new(),
            split: Some(split),
            max_len: Some(m.max_len),
            sum_width: Some(m.sum_width),
            latency: Some(m.latency),
        })
    }

    /// The design of the common `DIR [--rtl FILE... --top NAME --param
    /// NAME=VALUE...]` flags: a generated folder, or user RTL.
    pub fn of(dir: &Path, rtl: &[PathBuf], top: Option<&str>, params: &[String]) -> Result<Design> {
        if rtl.is_empty() {
            if top.is_some() || !params.is_empty() {
                return Err(usage("--top and --param go with --rtl"));
            }
            Design::from_dir(dir)
        } else {
            let top = top.ok_or_else(|| usage("--rtl needs --top NAME"))?;
            Design::from_rtl(rtl, top, params)
        }
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
        let ps = params
            .iter()
            .map(|p| crate::util::parse_param(p))
            .collect::<Result<Vec<_>>>()?;
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

mod blocks;
pub mod floor;
mod netlist;
pub use blocks::*;
pub use netlist::*;

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
    /// Per-part counts (block and sub-instance, see `Netlist::cells_by_part`).
    pub cells_by_part: BTreeMap<String, u64>,
    /// The flattened netlist.
    pub netlist: Netlist,
    /// Liberty area (um^2, from `stat -liberty`), liberty mode only.
    pub liberty_area: Option<f64>,
}

#[derive(Serialize)]
struct ParamCtx<'a> {
    name: &'a str,
    value: i64,
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
        .map(|(n, v)| ParamCtx { name: n, value: *v })
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
    let _g_tmp = crate::util::CleanupGuard::new(tmp.path());
    let status = crate::toolchain::output(
        Tool::Yosys
            .command()
            .current_dir(tmp.path())
            .arg("-q")
            .arg("-l")
            .arg(&tmp_log)
            .arg("-s")
            .arg(&script_path),
        Tool::Yosys,
    )?;
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
        cells_by_part: netlist.cells_by_part(),
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
