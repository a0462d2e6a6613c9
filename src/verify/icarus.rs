//! Icarus Verilog backend: `iverilog -g2005` with the test bench rendered
//! from `testbenches/icarus_tb.v.tera`; the stimulus goes through a text
//! file read with `$fscanf`, outputs come back through `$fwrite`. Also
//! replays one dot product into a VCD for mismatch reports.

use super::backend::Backend;
use super::check::Got;
use super::manifest::Dut;
use super::stimulus::Stimulus;
use crate::toolchain::cache::{absolute, cached_dir, mkdir, Hasher};
use crate::toolchain::{icarus, render, Tool};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

const TB: &str = include_str!("../../testbenches/icarus_tb.v.tera");

/// A compiled Icarus simulation of one design.
pub struct IcarusBackend {
    vvp: PathBuf,
    scratch: PathBuf,
}

#[derive(serde::Serialize)]
struct Param {
    name: String,
    value: i64,
}

impl IcarusBackend {
    /// Compiles (or reuses from `cache`) the test bench of `dut`; run files
    /// go to `scratch`.
    pub fn build(dut: &Dut, cache: &Path, scratch: &Path) -> Result<Self> {
        crate::toolchain::inputs::check_design(&dut.top, &dut.files, dut.params.keys())?;
        let version = Tool::Iverilog.version()?;
        let mut ctx = tera::Context::new();
        ctx.insert("n", &dut.n());
        ctx.insert("s", &dut.sum_width);
        ctx.insert("top", &dut.top);
        let params: Vec<Param> = dut
            .params
            .iter()
            .map(|(k, v)| Param {
                name: k.clone(),
                value: *v,
            })
            .collect();
        ctx.insert("params", &params);
        let tb = render("icarus_tb.v.tera", TB, &ctx)?;
        let mut files = Vec::new();
        for f in &dut.files {
            files.push(absolute(f)?);
        }
        // The key: every input of the build (both tools, the flags, the
        // bench, every source and everything it includes).
        let mut h = Hasher::default();
        h.feed(version.as_bytes())
            .feed(Tool::Iverilog.program().as_bytes())
            .feed(Tool::Vvp.version()?.as_bytes())
            .feed(Tool::Vvp.program().as_bytes())
            .feed(icarus::flags(&[])?.join(" ").as_bytes())
            .feed(b"-I<folder of every source>")
            .feed(tb.as_bytes());
        crate::toolchain::cache::feed_sources(
            &mut h,
            &files,
            &crate::toolchain::cache::include_dirs(&files)?,
        )?;
        let cache = absolute(&mkdir(cache)?)?;
        let dir = cache.join(format!("ivl-{}-{}", dut.top, &h.hex()[..20]));
        let dir = cached_dir(&dir, |tmp| {
            let tbf = tmp.join("tb.v");
            std::fs::write(&tbf, &tb).with_context(|| format!("cannot write {}", tbf.display()))?;
            let mut all = vec![tbf];
            all.extend(files.iter().cloned());
            icarus::compile("fpec_verify_tb", &all, &tmp.join("sim.vvp"))?;
            Ok(())
        })?;
        Ok(IcarusBackend {
            vvp: dir.join("sim.vvp"),
            scratch: absolute(&mkdir(scratch)?)?,
        })
    }

    /// Runs cycles `recs` and returns the output lines parsed; with `vcd`,
    /// dumps every signal there.
    fn sim(
        &self,
        recs: &mut dyn Iterator<Item = u64>,
        tag: &str,
        vcd: Option<&Path>,
        sink: &mut dyn FnMut(u64, Got),
    ) -> Result<(u64, u64)> {
        let stim = self.scratch.join(format!("icarus-{tag}-stim.hex"));
        let out = self.scratch.join(format!("icarus-{tag}-out.txt"));
        let _g_stim = crate::util::CleanupGuard::new(&stim);
        let mut cycles = 0u64;
        {
            let f = std::fs::File::create(&stim)
                .with_context(|| format!("cannot create {}", stim.display()))?;
            let mut w = BufWriter::new(f);
            for r in recs {
                cycles += 1;
                writeln!(w, "{r:011x}")
                    .with_context(|| format!("cannot write {}", stim.display()))?;
            }
            w.flush()
                .with_context(|| format!("cannot write {}", stim.display()))?;
        }
        let mut plus = vec![
            format!("+stim={}", stim.display()),
            format!("+out={}", out.display()),
        ];
        if let Some(v) = vcd {
            plus.push(format!("+vcd={}", absolute(v)?.display()));
        }
        icarus::simulate(&self.vvp, &plus, None)?;
        let f =
            std::fs::File::open(&out).with_context(|| format!("cannot read {}", out.display()))?;
        let mut end = None;
        for line in std::io::BufReader::new(f).lines() {
            let line = line.with_context(|| format!("cannot read {}", out.display()))?;
            let mut it = line.split_whitespace();
            let (Some(c), Some(v)) = (it.next(), it.next()) else {
                continue;
            };
            if c == "end" {
                end = v.parse().ok();
                continue;
            }
            let c: u64 = c
                .parse()
                .with_context(|| format!("bad line '{line}' in {}", out.display()))?;
            let got = u64::from_str_radix(v, 16).ok();
            sink(c, got);
        }
        let _ = std::fs::remove_file(&stim);
        let Some(end) = end else {
            bail!(
                "Icarus stopped before the end of the stimulus ({})",
                out.display()
            );
        };
        Ok((cycles, end))
    }

    /// Replays `recs` with a VCD dump into `vcd`.
    pub fn replay_vcd(&self, recs: &[u64], vcd: &Path) -> Result<()> {
        self.sim(
            &mut recs.iter().copied(),
            "replay",
            Some(vcd),
            &mut |_, _| {},
        )
        .map(|_| ())
    }
}

impl Backend for IcarusBackend {
    fn name(&self) -> &str {
        "icarus"
    }
    fn run(&mut self, stim: &Stimulus, sink: &mut dyn FnMut(u64, Got)) -> Result<()> {
        let (n, end) = self.sim(&mut stim.iter(), "run", None, sink)?;
        if end != n {
            bail!("Icarus ran {end} cycles, expected {n}");
        }
        Ok(())
    }
}
