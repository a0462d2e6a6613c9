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
                "{} is not a generated folder: it has no manifest.json (allowed: a folder written by fpec gen, or --rtl FILE... --top NAME)",
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
            files: m.mac_files(&dir)?,
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
    crate::toolchain::inputs::script_path(p)
}

/// Yosys errors that mean the input is wrong, not the tool.
const INPUT_ERRORS: &[&str] = &[
    "syntax error",
    "not found",
    "defparam",
    "Can't find",
    "Re-definition",
    "is not part of the design",
    "Can't open input file",
    "Missing ",
    "Unknown module",
    "does not have a parameter",
    "does not have a port",
];

/// Where a failing run's log and script go (the previous results stay).
pub const FAILED_LOG: &str = "yosys-failed.log";
/// See [`FAILED_LOG`].
pub const FAILED_SCRIPT: &str = "synth-failed.ys";

/// The results fpec writes into a `synth/` (or `energy/`) folder besides
/// `synth.ys` and `yosys.log`: Yosys' outputs, then the files derived from
/// them. A successful run removes those of an earlier run that it does not
/// write itself, and the last failure's log and script ([`STALE_AFTER_SYNTH`]).
pub const RESULT_FILES: &[&str] = &[
    "stat.json",
    "hier.json",
    "netlist.json",
    "netlist.v",
    "stat-liberty.txt",
    "gates.txt",
    "report.json",
    "energy.json",
];

/// What a successful synthesis removes when it does not write it: every
/// [`RESULT_FILES`] entry, [`FAILED_LOG`] and [`FAILED_SCRIPT`].
pub const STALE_AFTER_SYNTH: [&str; 10] = {
    let mut all = [FAILED_LOG; 10];
    let mut i = 0;
    while i < RESULT_FILES.len() {
        all[i] = RESULT_FILES[i];
        i += 1;
    }
    all[9] = FAILED_SCRIPT;
    all
};

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
    crate::toolchain::inputs::check_design(
        &design.top,
        &design.files,
        design.params.iter().map(|p| &p.0),
    )?;
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

/// The error of a failed Yosys run. The previous results (a good netlist
/// and report) stay as they were; this run's log and script go beside them
/// under their own names ([`FAILED_LOG`], [`FAILED_SCRIPT`]), so nothing
/// stale sits beside a failing log. Yosys rejecting what it read is a
/// usage error (exit 2); a crash is named as one.
fn yosys_failed(
    design: &Design,
    dir: &Path,
    tmp_log: &Path,
    script: &str,
    status: &std::process::Output,
) -> anyhow::Error {
    // The previous results (a good netlist and report) stay as they
    // were; this run's log and script go beside them under their own
    // names, so nothing stale sits beside a failing log.
    let (flog, fscript) = (dir.join(FAILED_LOG), dir.join(FAILED_SCRIPT));
    if std::fs::rename(tmp_log, &flog).is_err() {
        // No log written (Yosys died first): keep what it printed.
        if let Err(e) = write_atomic(&flog, crate::toolchain::tail(status, 200).as_bytes()) {
            return e;
        }
    }
    if let Err(e) = write_atomic(&fscript, script.as_bytes()) {
        return e;
    }
    let log = std::fs::read_to_string(&flog).unwrap_or_default();
    let mut tail: Vec<&str> = log.lines().rev().take(15).collect();
    tail.reverse();
    let stderr = String::from_utf8_lossy(&status.stderr);
    // Yosys rejecting what it read (syntax, a missing top or module, a
    // parameter that does not exist) is the user's input: exit 2.
    let input_error = log
        .lines()
        .chain(stderr.lines())
        .find(|l| l.contains("ERROR") && INPUT_ERRORS.iter().any(|p| l.contains(p)));
    if let (Some(l), Some(_)) = (input_error, status.status.code()) {
        return usage(format!(
            "the Verilog of {} does not elaborate (Yosys: {}; allowed: Verilog files defining module {} and its parameters); log: {}",
            design.top,
            l.trim(),
            design.top,
            flog.display()
        ));
    }
    let what = if status.status.code().is_none() {
        "Yosys crashed"
    } else {
        "Yosys failed"
    };
    anyhow::anyhow!(
        "{what} ({}) on {}; log: {} (previous results in {} kept)\n--- last lines of the log ---\n{}\n{}",
        status.status,
        design.top,
        flog.display(),
        dir.display(),
        tail.join("\n"),
        stderr.trim()
    )
}

/// Every input checked before anything is created: the design's names and
/// files, and `--liberty` (a malformed one is the user's; Yosys may crash
/// on it).
fn check_inputs(design: &Design, opts: &SynthOptions) -> Result<()> {
    crate::toolchain::inputs::check_design(
        &design.top,
        &design.files,
        design.params.iter().map(|p| &p.0),
    )?;
    if let Some(l) = &opts.liberty {
        if !l.is_file() {
            return Err(usage(format!(
                "--liberty {}: no such file (allowed: a regular liberty file)",
                l.display()
            )));
        }
        crate::liberty::energy_table(l)?;
    }
    Ok(())
}

/// `<out_root>/synth`, created and resolved (a file in the way is a usage
/// error).
fn synth_dir(out_root: &Path) -> Result<PathBuf> {
    let dir = out_root.join("synth");
    if out_root.is_file() || dir.is_file() {
        return Err(usage(format!(
            "{} is a file (allowed: a folder for synth/)",
            if dir.is_file() {
                dir.display()
            } else {
                out_root.display()
            }
        )));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    dir.canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))
}

/// The block rules: `opts.blocks`, or `data/blocks.toml`.
fn block_rules(opts: &SynthOptions) -> Result<BlockRules> {
    match &opts.blocks {
        Some(p) => {
            let t = std::fs::read_to_string(p)
                .map_err(|e| usage(format!("cannot read {}: {e}", p.display())))?;
            BlockRules::parse(&t, &p.display().to_string())
        }
        None => BlockRules::default_rules(),
    }
}

/// Runs Yosys in a temporary folder inside `dir`; on success every result,
/// the log and the script are renamed into `dir`, then the results of an
/// earlier run that this one does not produce removed. On failure the
/// earlier results stay.
fn run_yosys(design: &Design, dir: &Path, opts: &SynthOptions) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix(".synth-")
        .tempdir_in(dir)
        .with_context(|| format!("cannot create a temporary folder in {}", dir.display()))?;
    let script = render_script(design, tmp.path(), opts)?;
    let script_path = tmp.path().join("synth.ys");
    std::fs::write(&script_path, &script)?;
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
    if !status.status.success() {
        return Err(yosys_failed(design, dir, &tmp_log, &script, &status));
    }
    let produced: Vec<&str> = STALE_AFTER_SYNTH
        .iter()
        .copied()
        .filter(|f| tmp.path().join(f).exists())
        .collect();
    std::fs::rename(&tmp_log, dir.join("yosys.log"))
        .with_context(|| format!("cannot move yosys.log into {}", dir.display()))?;
    std::fs::rename(&script_path, dir.join("synth.ys"))
        .with_context(|| format!("cannot move synth.ys into {}", dir.display()))?;
    // Yosys' own outputs (the first five results; the rest are derived).
    for f in &RESULT_FILES[..5] {
        let src = tmp.path().join(f);
        if src.exists() {
            std::fs::rename(&src, dir.join(f))
                .with_context(|| format!("cannot move {f} into {}", dir.display()))?;
        }
    }
    for f in STALE_AFTER_SYNTH.iter().filter(|f| !produced.contains(f)) {
        let p = dir.join(f);
        if p.exists() {
            std::fs::remove_file(&p)
                .with_context(|| format!("cannot remove the stale {}", p.display()))?;
        }
    }
    Ok(())
}

/// The results Yosys wrote into `dir`, read and cross-checked (stat.json
/// against the netlist's own counts).
fn read_results(
    design: &Design,
    dir: &Path,
    rules: &BlockRules,
    yosys_version: String,
) -> Result<SynthResult> {
    let stat_text = std::fs::read_to_string(dir.join("stat.json"))?;
    let cells_by_type = parse_stat_json(&stat_text, &design.top)?;
    let hier = std::fs::read_to_string(dir.join("hier.json"))?;
    let inst_map = parse_instances(&hier, &design.top)?;
    let net_text = std::fs::read_to_string(dir.join("netlist.json"))?;
    let netlist = parse_netlist(&net_text, &design.top, &inst_map, rules)?;
    let from_net = netlist.cells_by_type();
    if from_net != cells_by_type {
        bail!("internal: stat.json counts {cells_by_type:?} differ from netlist.json {from_net:?}");
    }
    let liberty_area = match std::fs::read_to_string(dir.join("stat-liberty.txt")) {
        Ok(t) => parse_liberty_area(&t),
        Err(_) => None,
    };
    Ok(SynthResult {
        yosys_version,
        dir: dir.to_path_buf(),
        top: design.top.clone(),
        cells_by_block: netlist.cells_by_block(),
        cells_by_part: netlist.cells_by_part(),
        cells_by_type,
        netlist,
        liberty_area,
    })
}

/// `gates.txt` and `report.json` of a synthesis.
fn write_synth_reports(design: &Design, opts: &SynthOptions, res: &SynthResult) -> Result<()> {
    write_atomic(&res.dir.join("gates.txt"), gate_table(res).as_bytes())?;
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
        &res.dir.join("report.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )
}

/// Runs Yosys on `design`; outputs go to `<out_root>/synth/`.
pub fn synthesize(design: &Design, out_root: &Path, opts: &SynthOptions) -> Result<SynthResult> {
    check_inputs(design, opts)?;
    let version = yosys_version()?;
    let dir = synth_dir(out_root)?;
    let rules = block_rules(opts)?;
    run_yosys(design, &dir, opts)?;
    let res = read_results(design, &dir, &rules, version)?;
    write_synth_reports(design, opts, &res)?;
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
