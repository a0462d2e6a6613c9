//! Check of the combinational requantizer `fpec_requant` (spec 5, 6.2)
//! under Verilator: every S-bit sum when S <= 20, seeded random values plus
//! the extremes otherwise, against `golden::requant`.

use super::check::{mask, sext};
use super::manifest::RequantDut;
use crate::golden::{pack, requant};
use crate::toolchain::render;
use crate::toolchain::verilator::{build_exe, Build, CHECK};
use anyhow::{bail, Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

const HARNESS: &str = include_str!("../../testbenches/verilator_requant.cpp.tera");

/// Outcome of the requantizer check.
#[derive(Debug, Clone, Default)]
pub struct RequantResult {
    /// Values checked.
    pub values: u64,
    /// Whether every S-bit value was checked.
    pub exhaustive: bool,
    /// Mismatches.
    pub n_mismatch: u64,
    /// First mismatches: (sum, expected word, got word).
    pub first: Vec<(i64, u32, u32)>,
}

/// The expected output word for `sum`.
pub fn expected(r: &RequantDut, sum: i64) -> u32 {
    // FBo = 0 and F_in = k: only k = F_in - FBo matters (spec 5).
    let w = requant(sum, r.k, &r.out, r.relu).word;
    pack(&r.out.split, &w)
}

/// Checks `r` with seed `seed`.
pub fn check(r: &RequantDut, seed: u64, cache: &Path) -> Result<RequantResult> {
    let s = r.in_width;
    let mut ctx = tera::Context::new();
    ctx.insert("in_mask", &format!("0x{:x}", mask(u64::MAX, s)));
    ctx.insert("out_mask", &format!("0x{:x}", (1u64 << r.out_width) - 1));
    let harness = render("verilator_requant.cpp.tera", HARNESS, &ctx)?;
    let exe = build_exe(
        cache,
        &Build {
            top: &r.top,
            files: &r.files,
            params: &r.params,
            harness: &harness,
            prefix: "Vrq",
            profile: CHECK,
        },
    )?;
    let exhaustive = s <= 20;
    let values: Vec<u64> = if exhaustive {
        (0..1u64 << s).collect()
    } else {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_4e0a);
        let lo = -(1i64 << (s.min(64) - 1));
        let hi = if s >= 64 {
            i64::MAX
        } else {
            (1i64 << (s - 1)) - 1
        };
        let mut v: Vec<u64> = [lo, hi, 0, -1, 1, lo + 1, hi - 1]
            .iter()
            .map(|&x| mask(x as u64, s))
            .collect();
        for i in 0..(1u64 << 20) {
            // Half uniform over S bits, half small magnitudes near the
            // rounding boundaries of k.
            let x: u64 = if i % 2 == 0 {
                rng.gen()
            } else {
                let sh = rng.gen_range(0..s.min(40));
                (rng.gen::<i64>() >> (63 - sh)) as u64
            };
            v.push(mask(x, s));
        }
        v
    };
    let mut child = crate::util::own_group(&mut Command::new(&exe))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let _guard = crate::util::ChildGuard::new(&child);
    let mut stdin = child.stdin.take().context("no stdin pipe")?;
    let mut stdout = child.stdout.take().context("no stdout pipe")?;
    let vals = &values;
    let (got, wres) = std::thread::scope(|sc| {
        let wr = sc.spawn(move || -> Result<()> {
            let mut buf = Vec::with_capacity(vals.len() * 8);
            for v in vals {
                buf.extend_from_slice(&v.to_le_bytes());
            }
            stdin
                .write_all(&buf)
                .context("writing to the requant harness")?;
            Ok(())
        });
        let mut out = Vec::new();
        let rd = stdout
            .read_to_end(&mut out)
            .context("reading the requant harness");
        let w = wr
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("writer panicked")));
        (rd.map(|_| out), w)
    });
    let status = child.wait().context("waiting for the requant harness")?;
    let got = got?;
    wres?;
    if !status.success() || got.len() != values.len() * 4 {
        bail!(
            "requant harness failed ({status}, {} of {} results)",
            got.len() / 4,
            values.len()
        );
    }
    let mut res = RequantResult {
        values: values.len() as u64,
        exhaustive,
        ..Default::default()
    };
    for (i, v) in values.iter().enumerate() {
        let g = u32::from_le_bytes([got[4 * i], got[4 * i + 1], got[4 * i + 2], got[4 * i + 3]]);
        let sum = sext(*v, s);
        let e = expected(r, sum);
        if e != g {
            res.n_mismatch += 1;
            if res.first.len() < 8 {
                res.first.push((sum, e, g));
            }
        }
    }
    Ok(res)
}
