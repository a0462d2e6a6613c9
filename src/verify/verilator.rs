//! Verilator backend: the design compiled with `--cc`, driven by a C++
//! harness rendered from `testbenches/verilator_harness.cpp.tera`. Stimulus
//! goes in through a pipe, only reads with out_valid high come back.
//!
//! Builds are cached by a hash of Verilator's version, the flags, the
//! Verilog and the harness. The Verilator runtime (`verilated.cpp`,
//! `verilated_threads.cpp`) is compiled once per cache folder and linked
//! explicitly (TOOLCHAIN-NOTES: `--build` without `--exe` leaves
//! libverilated empty).

use super::backend::Backend;
use super::check::Got;
use super::manifest::Dut;
use super::stimulus::Stimulus;
use super::tools::{absolute, cached_dir, mkdir, render, run_cmd, tool_version, Hasher};
use anyhow::{bail, Context, Result};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const HARNESS: &str = include_str!("../../testbenches/verilator_harness.cpp.tera");
const VFLAGS: &[&str] = &[
    "--cc",
    "-O3",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "--noassert",
    "-Wno-fatal",
    "-Wno-lint",
    "-Wno-style",
];
const CXXFLAGS: &[&str] = &["-O2", "-std=c++17", "-faligned-new", "-w"];

/// Where Verilator's runtime sources live.
fn verilator_root() -> Result<PathBuf> {
    if let Ok(r) = std::env::var("VERILATOR_ROOT") {
        if !r.is_empty() {
            return Ok(PathBuf::from(r));
        }
    }
    let out = run_cmd(
        Command::new("verilator")
            .arg("--getenv")
            .arg("VERILATOR_ROOT"),
        "verilator --getenv",
    )?;
    Ok(PathBuf::from(out.trim()))
}

fn includes(root: &Path) -> Vec<String> {
    vec![
        format!("-I{}", root.join("include").display()),
        format!("-I{}", root.join("include/vltstd").display()),
    ]
}

/// The compiled runtime objects, cached under `cache`.
fn runtime(cache: &Path, version: &str) -> Result<Vec<PathBuf>> {
    let root = verilator_root()?;
    let mut h = Hasher::default();
    h.feed(version.as_bytes())
        .feed(CXXFLAGS.join(" ").as_bytes());
    let dir = cache.join(format!("verilated-{}", &h.hex()[..16]));
    let srcs = ["verilated.cpp", "verilated_threads.cpp"];
    let dir = cached_dir(&dir, |tmp| {
        for s in srcs {
            let obj = tmp.join(s.replace(".cpp", ".o"));
            run_cmd(
                Command::new("g++")
                    .args(CXXFLAGS)
                    .args(includes(&root))
                    .arg("-c")
                    .arg(root.join("include").join(s))
                    .arg("-o")
                    .arg(&obj),
                &format!("compiling Verilator runtime {s}"),
            )?;
        }
        Ok(())
    })?;
    Ok(srcs
        .iter()
        .map(|s| dir.join(s.replace(".cpp", ".o")))
        .collect())
}

/// A built simulator executable for one design.
pub struct VerilatorBackend {
    exe: PathBuf,
    stderr_log: PathBuf,
}

/// Verilator `-G` value of a parameter.
fn gparam(name: &str, v: i64) -> String {
    format!("-G{name}={v}")
}

/// Builds (or reuses from `cache`) an executable from `harness` (C++ that
/// includes `<prefix>.h`) and the Verilog `files` with top `top`.
pub fn build_exe(
    cache: &Path,
    top: &str,
    files: &[PathBuf],
    params: &std::collections::BTreeMap<String, i64>,
    harness: &str,
    prefix: &str,
) -> Result<PathBuf> {
    let version = tool_version("verilator", "--version")?;
    let mut h = Hasher::default();
    h.feed(version.as_bytes())
        .feed(VFLAGS.join(" ").as_bytes())
        .feed(CXXFLAGS.join(" ").as_bytes())
        .feed(harness.as_bytes())
        .feed(prefix.as_bytes())
        .feed(top.as_bytes());
    for (k, v) in params {
        h.feed(gparam(k, *v).as_bytes());
    }
    let mut abs = Vec::new();
    for f in files {
        h.feed_file(f)?;
        abs.push(absolute(f)?);
    }
    let cache = absolute(&mkdir(cache)?)?;
    let rt = runtime(&cache, &version)?;
    let dir = cache.join(format!("vlt-{top}-{}", &h.hex()[..20]));
    let dir = cached_dir(&dir, |tmp| {
        let obj = tmp.join("obj");
        std::fs::write(tmp.join("harness.cpp"), harness)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        let mut cmd = Command::new("verilator");
        cmd.args(VFLAGS)
            .arg("--prefix")
            .arg(prefix)
            .arg("--top-module")
            .arg(top)
            .arg("-Mdir")
            .arg(&obj);
        for (k, v) in params {
            cmd.arg(gparam(k, *v));
        }
        cmd.args(&abs);
        run_cmd(&mut cmd, "verilator")?;
        let mut cpps: Vec<PathBuf> = std::fs::read_dir(&obj)
            .with_context(|| format!("cannot list {}", obj.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
            .collect();
        cpps.sort();
        let root = verilator_root()?;
        run_cmd(
            Command::new("g++")
                .args(CXXFLAGS)
                .args(includes(&root))
                .arg(format!("-I{}", obj.display()))
                .arg(tmp.join("harness.cpp"))
                .args(&cpps)
                .args(&rt)
                .arg("-pthread")
                .arg("-o")
                .arg(tmp.join("sim")),
            "compiling the Verilator model and harness",
        )?;
        // The generated C++ is not needed any more.
        let _ = std::fs::remove_dir_all(&obj);
        Ok(())
    })?;
    Ok(dir.join("sim"))
}

impl VerilatorBackend {
    /// Builds (or reuses from `cache`) the simulator of `dut`.
    pub fn build(dut: &Dut, cache: &Path) -> Result<Self> {
        let mut ctx = tera::Context::new();
        ctx.insert(
            "sum_mask",
            &format!("0x{:x}", super::check::mask(u64::MAX, dut.sum_width)),
        );
        ctx.insert("word_mask", &format!("0x{:x}", (1u64 << dut.n()) - 1));
        let harness = render("verilator_harness.cpp.tera", HARNESS, &ctx)?;
        let exe = build_exe(cache, &dut.top, &dut.files, &dut.params, &harness, "Vdut")?;
        let stderr_log = exe.with_file_name("last-stderr.txt");
        Ok(VerilatorBackend { exe, stderr_log })
    }

    /// Raw loop: drives `stim` `reps` times, records nothing; returns
    /// (cycles, seconds) as measured inside the harness.
    pub fn raw(&self, stim: &Stimulus, reps: u32, scratch: &Path) -> Result<(u64, f64)> {
        let path = scratch.join("raw-stim.bin");
        {
            let _g = crate::util::CleanupGuard::new(&path);
            let f = std::fs::File::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = std::io::BufWriter::new(f);
            for r in stim.iter() {
                w.write_all(&r.to_le_bytes())
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            w.flush()
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        let _g = crate::util::CleanupGuard::new(&path);
        let out = run_cmd(
            Command::new(&self.exe)
                .arg("raw")
                .arg(&path)
                .arg(reps.to_string()),
            "verilator raw run",
        )?;
        let mut it = out.split_whitespace();
        let cycles: u64 = it
            .next()
            .and_then(|s| s.parse().ok())
            .context("bad raw output")?;
        let secs: f64 = it
            .next()
            .and_then(|s| s.parse().ok())
            .context("bad raw output")?;
        Ok((cycles, secs))
    }
}

impl Backend for VerilatorBackend {
    fn name(&self) -> &str {
        "verilator"
    }
    fn run(&mut self, stim: &Stimulus, sink: &mut dyn FnMut(u64, Got)) -> Result<()> {
        let errf = std::fs::File::create(&self.stderr_log)
            .with_context(|| format!("cannot create {}", self.stderr_log.display()))?;
        let mut child = crate::util::own_group(&mut Command::new(&self.exe))
            .arg("check")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(errf)
            .spawn()
            .with_context(|| format!("cannot start {}", self.exe.display()))?;
        let _guard = crate::util::ChildGuard::new(&child);
        let mut stdin = child.stdin.take().context("no stdin pipe")?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let (read_res, write_res) = std::thread::scope(|s| {
            let writer = s.spawn(move || -> Result<u64> {
                let mut buf = Vec::with_capacity(1 << 19);
                let mut n = 0u64;
                for r in stim.iter() {
                    n += 1;
                    buf.extend_from_slice(&r.to_le_bytes());
                    if buf.len() >= 1 << 19 {
                        stdin
                            .write_all(&buf)
                            .context("writing stimulus to the harness")?;
                        buf.clear();
                    }
                }
                stdin
                    .write_all(&buf)
                    .context("writing stimulus to the harness")?;
                drop(stdin);
                Ok(n)
            });
            let mut rd = BufReader::with_capacity(1 << 18, stdout);
            let mut rec = [0u8; 16];
            let read = (|| -> Result<u64> {
                loop {
                    rd.read_exact(&mut rec)
                        .context("the Verilator harness stopped early (crashed?)")?;
                    let c = u64::from_le_bytes(rec[..8].try_into().unwrap_or_default());
                    let v = u64::from_le_bytes(rec[8..].try_into().unwrap_or_default());
                    if c == u64::MAX {
                        return Ok(v);
                    }
                    sink(c, Some(v));
                }
            })();
            let w = writer
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("writer thread panicked")));
            (read, w)
        });
        let status = child.wait().context("waiting for the Verilator harness")?;
        let cycles = read_res?;
        let n = write_res?;
        if !status.success() {
            bail!(
                "Verilator harness exited with {status}; see {}",
                self.stderr_log.display()
            );
        }
        if cycles != n {
            bail!("Verilator harness ran {cycles} cycles, expected {n}");
        }
        Ok(())
    }
}
