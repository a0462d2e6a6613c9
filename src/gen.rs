//! The generator flow: a request (bit split, Lmax, optional requantizer) to
//! a folder of Verilog files plus `manifest.json` (spec 6.3), written
//! atomically: everything goes to a temporary folder beside the target,
//! which is renamed into place only when complete.

use crate::format::{Format, Split};
use crate::util::usage;
use anyhow::{Context, Result};
pub use fpec_hdl::Arch;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Generator name and version, recorded in manifests and file headers.
pub const GENERATOR: &str = concat!("fpec ", env!("CARGO_PKG_VERSION"), " (rust-hdl 0.46)");
/// Default Lmax (spec 4).
pub const DEFAULT_MAX_LEN: u64 = 4096;

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

/// The requantizer part of a manifest (spec 6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequantManifest {
    /// Top module name.
    pub top: String,
    /// Output split `Wo+Co`.
    pub bits: String,
    /// Wo.
    #[serde(rename = "W")]
    pub w: u32,
    /// Mo.
    #[serde(rename = "M")]
    pub m: u32,
    /// Zo.
    #[serde(rename = "Z")]
    pub z: u32,
    /// Co.
    #[serde(rename = "C")]
    pub c: u32,
    /// No.
    #[serde(rename = "N")]
    pub n: u32,
    /// To.
    #[serde(rename = "T")]
    pub t: u32,
    /// k = F_in - FBo.
    pub fb_shift: i32,
    /// ReLU before rounding.
    pub relu: bool,
    /// Input width S.
    pub in_width: u32,
    /// Output width No.
    pub out_width: u32,
    /// Verilog files in compile order.
    pub files: Vec<String>,
}

/// `manifest.json` (spec 6.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Generator and version.
    pub generator: String,
    /// "fpec" or "fxp".
    pub format: String,
    /// Top module.
    pub top: String,
    /// Bit split `W+C`.
    pub bits: String,
    /// W.
    #[serde(rename = "W")]
    pub w: u32,
    /// M.
    #[serde(rename = "M")]
    pub m: u32,
    /// Z (0/1).
    #[serde(rename = "Z")]
    pub z: u32,
    /// C.
    #[serde(rename = "C")]
    pub c: u32,
    /// G.
    #[serde(rename = "G")]
    pub g: u32,
    /// N.
    #[serde(rename = "N")]
    pub n: u32,
    /// Default zero threshold T of the format (encoding side; not hardware).
    #[serde(rename = "T")]
    pub t: u32,
    /// Lmax.
    pub max_len: u64,
    /// S.
    pub sum_width: u32,
    /// Latency (spec 6.1).
    pub latency: u32,
    /// Microarchitecture (spec 6.4): `fused`, `split`, `fxp` (FxP has one),
    /// or `unknown` when an older or hand-written manifest has none.
    #[serde(default = "unknown_arch")]
    pub arch: String,
    /// Verilog files in compile order (top last).
    pub files: Vec<String>,
    /// Internal widths.
    pub widths: WidthReport,
    /// The requantizer, when generated.
    pub requant: Option<RequantManifest>,
}

fn unknown_arch() -> String {
    "unknown".to_string()
}

/// The `arch` a manifest records for a split.
pub fn arch_name(split: &Split, arch: Arch) -> &'static str {
    if split.is_fxp() {
        "fxp"
    } else {
        arch.name()
    }
}

/// Parses `--arch` for a split: an unknown name, or `split` for an FxP
/// split, is a usage error naming the allowed values.
pub fn parse_arch(name: &str, split: &Split) -> Result<Arch> {
    let a = Arch::parse(name).map_err(|e| usage(format!("--arch: {e}")))?;
    if split.is_fxp() && a != Arch::Fused {
        return Err(usage(format!(
            "--arch {name} does not apply to the FxP split {split} (FxP has one arch; allowed: fused, the default)"
        )));
    }
    Ok(a)
}

impl Manifest {
    /// Reads `manifest.json` from a folder (or a file path).
    pub fn load(path: &Path) -> Result<(Manifest, PathBuf)> {
        let file = if path.is_dir() {
            path.join("manifest.json")
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let m: Manifest = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid fpec manifest", file.display()))?;
        let dir = file
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Ok((m, dir))
    }
    /// The hardware bit split.
    pub fn split(&self) -> Result<Split> {
        let comp = if self.format == "fpec" {
            Some(crate::format::Comp::new(self.m, self.z == 1)?)
        } else {
            None
        };
        Ok(Split::new(self.w, comp)?)
    }
}

/// Output format of the optional requantizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequantRequest {
    /// Output format (its FB is irrelevant to hardware: only k matters).
    pub out: Format,
    /// k = F_in - FBo.
    pub shift: i32,
    /// ReLU first.
    pub relu: bool,
}

/// A generation request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenRequest {
    /// Hardware split.
    pub split: Split,
    /// Zero threshold T recorded for encoders (default 8 >> M).
    pub t: u32,
    /// Lmax.
    pub max_len: u64,
    /// Microarchitecture (ignored for FxP).
    pub arch: Arch,
    /// Optional requantizer.
    pub requant: Option<RequantRequest>,
}

impl GenRequest {
    /// A MAC-only request with default T.
    pub fn mac(split: Split, max_len: u64) -> Self {
        GenRequest {
            split,
            t: split.comp.map_or(0, |c| c.default_t()),
            max_len,
            arch: Arch::default(),
            requant: None,
        }
    }
    /// The `fpec gen` command line that reproduces this request.
    pub fn command_line(&self) -> String {
        let mut s = format!("fpec gen --bits {}+{}", self.split.w, self.split.c());
        if let Some(c) = self.split.comp {
            if crate::format::Comp::canonical(c.c()).ok() != Some(c) {
                s += &format!(" --emb {}", c.m);
                if !c.z {
                    s += " --no-ezb";
                }
            }
            if self.t != c.default_t() {
                s += &format!(" --ezb-threshold {}", self.t);
            }
        }
        if self.max_len != DEFAULT_MAX_LEN {
            s += &format!(" --max-len {}", self.max_len);
        }
        if !self.split.is_fxp() && self.arch != Arch::default() {
            s += &format!(" --arch {}", self.arch);
        }
        if let Some(r) = self.requant {
            s += &format!(
                " --requant-bits {}+{} --shift {}",
                r.out.split.w,
                r.out.split.c(),
                r.shift
            );
            if r.relu {
                s += " --relu";
            }
        }
        s
    }
}

/// Checks `--max-len` against the generator's range.
pub fn check_max_len(max_len: u64) -> Result<()> {
    let (lo, hi) = fpec_hdl::MAX_LEN_RANGE;
    if !(lo..=hi).contains(&max_len) {
        return Err(usage(format!(
            "--max-len {max_len} is out of range (allowed {lo}..={hi})"
        )));
    }
    Ok(())
}

/// The fpec-hdl configuration of a split.
pub fn hw_config(split: &Split, max_len: u64, arch: Arch) -> fpec_hdl::MacConfig {
    fpec_hdl::MacConfig {
        w: split.w,
        m: split.m(),
        z: split.z(),
        fpec: !split.is_fxp(),
        max_len,
        arch,
    }
}

/// The rust-sim model of a split (for `fpec verify --backend rust-sim`).
pub fn rust_sim(split: &Split, max_len: u64, arch: Arch) -> Result<Box<dyn fpec_hdl::MacSim>> {
    fpec_hdl::mac_sim(&hw_config(split, max_len, arch)).map_err(|e| usage(e.to_string()))
}

/// Builds the files and manifest of a request in memory.
pub fn build(req: &GenRequest) -> Result<(Manifest, Vec<(String, String)>)> {
    let cfg = hw_config(&req.split, req.max_len, req.arch);
    let x = cfg.widths().map_err(|e| usage(e.to_string()))?;
    let arch = arch_name(&req.split, req.arch);
    let header = format!(
        "// Generated by {GENERATOR} for {} {} (W={}, M={}, Z={}), Lmax={}, arch {arch}.\n\
         // Do not edit; regenerate with: {}\n",
        if req.split.is_fxp() { "FxP" } else { "FPEC" },
        req.split,
        req.split.w,
        req.split.m(),
        req.split.z() as u32,
        req.max_len,
        req.command_line(),
    );
    let vfiles = fpec_hdl::generate_mac(&cfg, &header).map_err(|e| anyhow::anyhow!(e))?;
    let mut files: Vec<(String, String)> = vfiles.into_iter().map(|f| (f.name, f.text)).collect();
    let requant = match &req.requant {
        None => None,
        Some(r) => {
            let (rm, rfiles) = crate::requant_gen::build(r, x.s, &header)?;
            files.extend(rfiles);
            Some(rm)
        }
    };
    let manifest = Manifest {
        generator: GENERATOR.to_string(),
        format: if req.split.is_fxp() { "fxp" } else { "fpec" }.to_string(),
        top: cfg.top().to_string(),
        bits: format!("{}+{}", req.split.w, req.split.c()),
        w: x.w,
        m: x.m,
        z: x.z as u32,
        c: x.c,
        g: x.g,
        n: x.n,
        t: req.t,
        max_len: req.max_len,
        sum_width: x.s,
        latency: fpec_hdl::LATENCY,
        arch: arch.to_string(),
        files: files
            .iter()
            .filter(|(n, _)| !n.starts_with("fpec_requant"))
            .map(|(n, _)| n.clone())
            .collect(),
        widths: if x.fpec && req.arch == Arch::Fused {
            WidthReport {
                product: x.p,
                term: x.t,
                acc: x.s,
                comp_term: 0,
                comp_acc: 0,
            }
        } else {
            WidthReport {
                product: x.p,
                term: x.p,
                acc: x.a,
                comp_term: x.tw,
                comp_acc: x.ca,
            }
        },
        requant,
    };
    Ok((manifest, files))
}

/// Generates a request into `out` atomically and returns the manifest.
pub fn generate(req: &GenRequest, out: &Path) -> Result<Manifest> {
    let (manifest, files) = build(req)?;
    let mut json = serde_json::to_string_pretty(&manifest)?;
    json.push('\n');
    let mut all = files;
    all.push(("manifest.json".to_string(), json));
    write_dir_atomic(out, &all)?;
    Ok(manifest)
}

/// Name of the marker file `fpec gen` writes into every folder it
/// generates; only folders holding it (and nothing but what fpec wrote) are
/// ever replaced.
pub const MARKER: &str = ".fpec-gen";
/// Contents of [`MARKER`].
pub const MARKER_TEXT: &str =
    "This folder was written by `fpec gen`; the next `fpec gen --out` here replaces it.\n";
/// Subfolders other fpec commands write into a generated folder.
const FPEC_SUBDIRS: &[&str] = &["energy", "synth"];

/// Checks that `out` may be (re)written: absent, empty, or written by
/// `fpec gen` (marker present, and nothing in it that fpec did not write).
fn check_replaceable(out: &Path) -> Result<()> {
    if out.file_name().is_none() {
        return Err(usage(format!(
            "--out {} must name a folder to create or replace (not '.', '..' or '/')",
            out.display()
        )));
    }
    if let (Ok(cwd), Ok(abs)) = (std::env::current_dir(), out.canonicalize()) {
        if cwd.starts_with(&abs) {
            return Err(usage(format!(
                "--out {} is the current folder or one above it; give a new or generated folder",
                out.display()
            )));
        }
    }
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(usage(format!(
            "--out {} exists and is not a folder",
            out.display()
        )));
    }
    let entries: Vec<String> = std::fs::read_dir(out)
        .map_err(|e| usage(format!("--out {}: cannot list it: {e}", out.display())))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    if !out.join(MARKER).is_file() {
        return Err(usage(format!(
            "--out {} is a non-empty folder that fpec gen did not write (no {MARKER}); refusing to replace it",
            out.display()
        )));
    }
    let mut known: Vec<String> = vec![MARKER.into(), "manifest.json".into()];
    known.extend(FPEC_SUBDIRS.iter().map(|s| s.to_string()));
    if let Ok((m, _)) = Manifest::load(out) {
        known.extend(m.files.iter().cloned());
        if let Some(r) = &m.requant {
            known.extend(r.files.iter().cloned());
        }
    }
    if let Some(extra) = entries.iter().find(|e| !known.contains(e)) {
        return Err(usage(format!(
            "--out {} holds {extra}, which fpec gen did not write; refusing to replace it (move it away first)",
            out.display()
        )));
    }
    Ok(())
}

/// Removes staging folders of earlier `fpec gen` runs in `parent` that died
/// (SIGKILL, power loss): `.fpec-gen-<pid>-*` and `.fpec-old-<pid>-<name>`;
/// an old folder whose target is missing is put back.
fn sweep_stale(parent: &Path) {
    let Ok(rd) = std::fs::read_dir(parent) else {
        return;
    };
    for e in rd.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let (rest, old) = if let Some(r) = name.strip_prefix(".fpec-gen-") {
            (r, false)
        } else if let Some(r) = name.strip_prefix(".fpec-old-") {
            (r, true)
        } else {
            continue;
        };
        let Some((pid, tail)) = rest.split_once('-') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() || crate::util::pid_alive(pid) {
            continue;
        }
        let p = e.path();
        if old && !tail.is_empty() && !parent.join(tail).exists() {
            let _ = std::fs::rename(&p, parent.join(tail));
        } else {
            let _ = std::fs::remove_dir_all(&p);
        }
    }
}

/// Writes `files` as the complete contents of folder `out`, plus the
/// [`MARKER`]: first into a temporary sibling folder, then renamed into
/// place. An existing `out` is replaced only if it is empty or an earlier
/// `fpec gen` output holding nothing else (else a usage error, nothing
/// touched). Interrupted runs (SIGINT/SIGTERM) leave no temporary folder.
pub fn write_dir_atomic(out: &Path, files: &[(String, String)]) -> Result<()> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    check_replaceable(out)?;
    std::fs::create_dir_all(&parent).map_err(|e| {
        usage(format!(
            "--out {}: cannot create {}: {e}",
            out.display(),
            parent.display()
        ))
    })?;
    sweep_stale(&parent);
    let pid = std::process::id();
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".fpec-gen-{pid}-"))
        .tempdir_in(&parent)
        .map_err(|e| usage(format!("--out {} is not writable: {e}", out.display())))?;
    let _g_tmp = crate::util::CleanupGuard::new(tmp.path());
    for (name, text) in files {
        std::fs::write(tmp.path().join(name), text)
            .with_context(|| format!("cannot write {name} in {}", tmp.path().display()))?;
    }
    std::fs::write(tmp.path().join(MARKER), MARKER_TEXT)
        .with_context(|| format!("cannot write {MARKER} in {}", tmp.path().display()))?;
    let staged = tmp.keep();
    if out.exists() {
        let old = parent.join(format!(
            ".fpec-old-{pid}-{}",
            out.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ));
        let _g_old = crate::util::CleanupGuard::restore(&old, out);
        std::fs::rename(out, &old).with_context(|| format!("cannot replace {}", out.display()))?;
        if let Err(e) = std::fs::rename(&staged, out) {
            let _ = std::fs::rename(&old, out);
            let _ = std::fs::remove_dir_all(&staged);
            return Err(e).with_context(|| format!("cannot rename into {}", out.display()));
        }
        std::fs::remove_dir_all(&old)
            .with_context(|| format!("cannot remove {}", old.display()))?;
    } else if let Err(e) = std::fs::rename(&staged, out) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(e).with_context(|| format!("cannot rename into {}", out.display()));
    }
    Ok(())
}
