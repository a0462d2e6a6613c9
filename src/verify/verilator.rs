//! Verilator backend: the design compiled with `--cc`, driven by a C++
//! harness rendered from `testbenches/verilator_harness.cpp.tera`. Stimulus
//! goes in through a pipe, only reads with out_valid high come back.
//! Built by the toolchain's one Verilator driver (cached by content hash).

use super::backend::Backend;
use super::check::Got;
use super::manifest::Dut;
use super::stimulus::Stimulus;
use crate::toolchain::verilator::{build_exe, Build, CHECK};
use crate::toolchain::{render, run, Tool};
use anyhow::{bail, Context, Result};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const HARNESS: &str = include_str!("../../testbenches/verilator_harness.cpp.tera");
/// A built simulator executable for one design.
pub struct VerilatorBackend {
    exe: PathBuf,
    stderr_log: PathBuf,
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
        let exe = build_exe(
            cache,
            &Build {
                top: &dut.top,
                files: &dut.files,
                params: &dut.params,
                harness: &harness,
                prefix: "Vdut",
                profile: CHECK,
            },
        )?;
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
        let out = run(
            Command::new(&self.exe)
                .arg("raw")
                .arg(&path)
                .arg(reps.to_string()),
            Tool::Verilator,
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
