//! The mismatch report of spec 7: seed, backend, dot-product index, pair
//! and cycle ranges, every field of the offending words, expected vs got,
//! the reproducing command, and a VCD of the failing dot product (replayed
//! after a reset under Icarus).

use super::check::{mask, CheckResult, Mismatch, Product};
use super::icarus::IcarusBackend;
use super::manifest::Dut;
use super::stimulus::{rec_a, rec_w, Stimulus, RST, VALID};
use super::Options;
use crate::golden::{est, unpack};
use crate::util::write_atomic;
use anyhow::Result;
use std::fmt::Write as _;
use std::path::PathBuf;

/// One line describing a packed word: raw hex and every field.
pub fn word_fields(dut: &Dut, bits: u32) -> String {
    let s = &dut.split;
    let w = unpack(s, bits);
    let hex = format!("0x{:0d$x}", bits, d = s.n().div_ceil(4) as usize);
    if s.is_fxp() {
        format!("{hex} q={:>6}", w.q)
    } else {
        let ezb = if s.z() {
            format!("{}", w.ezb as u8)
        } else {
            "-".into()
        };
        let emb = if s.m() > 0 {
            format!("{}", w.emb)
        } else {
            "-".into()
        };
        format!(
            "{hex} q={:>6} ezb={ezb} edb={} emb={emb} est={:>3}",
            w.q,
            w.edb as u8,
            est(s, &w)
        )
    }
}

/// The pairs of product `p`: (global pair index, cycle, w, a).
/// `recs` holds the records from cycle `p.first_cycle` on.
fn pairs_of(recs: &[u64], p: &Product) -> Vec<(u64, u64, u32, u32)> {
    let mut v = Vec::new();
    let mut k = p.first_pair;
    for (c, &r) in (p.first_cycle..=p.last_cycle).zip(recs) {
        if r & VALID != 0 && r & RST == 0 {
            v.push((k, c, rec_w(r), rec_a(r)));
            k += 1;
        }
    }
    v
}

fn describe_product(p: &Product) -> String {
    format!(
        "dot product #{} (L = {}): pairs {}..={}, cycles {}..={}, result due on the read after edge {}",
        p.index,
        p.len,
        p.first_pair,
        p.first_pair + p.len - 1,
        p.first_cycle,
        p.last_cycle,
        p.out_cycle
    )
}

/// Writes the report of `res` (which has mismatches) for backend `name`;
/// prints it and returns its path.
pub fn write(
    dut: &Dut,
    opts: &Options,
    name: &str,
    stim: &Stimulus,
    res: &CheckResult,
) -> Result<PathBuf> {
    let mut t = String::new();
    let repro = opts.repro.replace("{backend}", name);
    let s = dut.sum_width;
    let _ = writeln!(t, "MISMATCH: backend {name}, seed {}", opts.seed);
    let _ = writeln!(t, "reproduce: {repro}");
    let _ = writeln!(
        t,
        "design: top {} ({}), S = {s}, latency {}, Lmax {}",
        dut.top, dut.split, dut.latency, dut.max_len
    );
    let _ = writeln!(t, "{} mismatches; the first ones:", res.n_mismatch);
    for m in &res.mismatches {
        let _ = writeln!(t, "  - {}", m.describe(s));
        if let Some(p) = &m.product {
            let _ = writeln!(t, "    {}", describe_product(p));
        }
    }
    let first: &Mismatch = match res.mismatches.first() {
        Some(m) => m,
        None => return Ok(opts.out.clone()),
    };
    let mut vcd_note = String::new();
    let mut listing_note = String::new();
    if let Some(p) = &first.product {
        let _ = writeln!(t, "\nfirst mismatch in detail:\n  {}", describe_product(p));
        let _ = writeln!(t, "  {}", first.describe(s));
        if let Some(e) = first.expected {
            let _ = writeln!(
                t,
                "  expected sum = {e} = 0x{:x} (S = {s} bits)",
                mask(e as u64, s)
            );
        }
        // One pass over the (possibly streamed) stimulus: the product and
        // a few cycles after the read.
        let end = p.out_cycle.max(first.cycle).max(p.last_cycle) + 3;
        let window = stim.window(p.first_cycle, end);
        let pairs = pairs_of(&window, p);
        let _ = writeln!(t, "  pairs (first 8 of {}):", pairs.len());
        let _ = writeln!(t, "    {:>8} {:>8}  w | a", "pair", "cycle");
        for (k, c, w, a) in pairs.iter().take(8) {
            let _ = writeln!(
                t,
                "    {k:>8} {c:>8}  w {} | a {}",
                word_fields(dut, *w),
                word_fields(dut, *a)
            );
        }
        // The whole product, with the running golden sum.
        let mut full = String::new();
        let _ = writeln!(full, "# {name} seed {} {}", opts.seed, describe_product(p));
        let _ = writeln!(full, "# pair cycle | w fields | a fields | running sum");
        let g = dut.g();
        let mut run = 0i64;
        for (k, c, w, a) in &pairs {
            let ow = crate::golden::Operand::of_bits(&dut.split, *w);
            let oa = crate::golden::Operand::of_bits(&dut.split, *a);
            run += crate::golden::dot(g, &[ow], &[oa]);
            let _ = writeln!(
                full,
                "{k} {c} | {} | {} | {run}",
                word_fields(dut, *w),
                word_fields(dut, *a)
            );
        }
        let lpath = opts
            .out
            .join(format!("mismatch-{name}-product{}.txt", p.index));
        write_atomic(&lpath, full.as_bytes())?;
        listing_note = format!("every pair: {}", lpath.display());
        // VCD: reset, then the product and a few cycles after the read.
        let vend = (p.out_cycle.max(first.cycle) + 3 - p.first_cycle) as usize;
        let mut recs = vec![RST, RST];
        recs.extend(window.iter().take(vend).copied());
        let vcd = opts
            .out
            .join(format!("mismatch-{name}-product{}.vcd", p.index));
        vcd_note = match IcarusBackend::build(dut, &opts.cache, &opts.out)
            .and_then(|ib| ib.replay_vcd(&recs, &vcd))
        {
            Ok(()) => format!(
                "VCD (Icarus replay after 2 reset cycles; cycle c of the run is cycle c - {} + 2 there): {}",
                p.first_cycle,
                vcd.display()
            ),
            Err(e) => format!("VCD: not written ({e:#})"),
        };
    }
    let _ = writeln!(t, "  {listing_note}");
    let _ = writeln!(t, "  {vcd_note}");
    let path = opts.out.join(format!("mismatch-{name}.txt"));
    write_atomic(&path, t.as_bytes())?;
    eprint!("{t}");
    eprintln!("report: {}", path.display());
    Ok(path)
}
