//! Per-block references, FloPoCo style: each hardware block of fpec-hdl
//! against a small software model written from the maths (not from the
//! block), exhaustively at small widths, in rust-sim and in Icarus (the
//! block's own Verilog, driven by a generated bench that walks every input
//! combination). A block bug shows up here, at the block, before any MAC
//! test.

use fpec_hdl::comp::rows;
use fpec_hdl::dispatch::{self, BlockDyn};
use fpec_hdl::emit::split_modules;
use std::fmt::Write as _;
use std::process::Command;

fn mask(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

fn sx(v: u64, n: u32) -> i64 {
    ((v << (64 - n)) as i64) >> (64 - n)
}

/// est of a compensation field (spec 3), in units of 2^-(FB+G).
fn est(c: u64, m: u32, z: bool) -> i64 {
    let emb = (c & mask(m)) as i64;
    let edb = (c >> m) & 1 == 1;
    let ezb = z && (c >> (m + 1)) & 1 == 1;
    if ezb {
        0
    } else if edb {
        2 * emb + 1
    } else {
        -(2 * emb + 1)
    }
}

/// Runs a combinational block's Verilog under Icarus over every value of
/// its inputs (`ins`: port name and width, first port least significant in
/// the counter) and returns (counter, output) pairs.
fn icarus_walk(block: &dyn BlockDyn, ins: &[(&str, u32)], out: (&str, u32)) -> Vec<(u64, u64)> {
    icarus_walk_outs(block, ins, &[out])
        .into_iter()
        .map(|(n, v)| (n, v[0]))
        .collect()
}

/// [`icarus_walk`] with several outputs, printed in order.
fn icarus_walk_outs(
    block: &dyn BlockDyn,
    ins: &[(&str, u32)],
    outs: &[(&str, u32)],
) -> Vec<(u64, Vec<u64>)> {
    let dir = tempfile::tempdir().unwrap();
    let files = split_modules(&block.verilog().unwrap(), "blk", "");
    let mut names = Vec::new();
    for f in &files {
        std::fs::write(dir.path().join(&f.name), &f.text).unwrap();
        names.push(f.name.clone());
    }
    let total: u32 = ins.iter().map(|p| p.1).sum();
    let mut tb = String::from("`timescale 1ns/1ps\nmodule tb;\n");
    let _ = writeln!(tb, "reg [{}:0] n;", total);
    let mut conns = Vec::new();
    let mut lo = 0;
    for (p, w) in ins {
        let _ = writeln!(tb, "wire [{}:0] {p} = n[{}:{lo}];", w - 1, lo + w - 1);
        conns.push(format!(".{p}({p})"));
        lo += w;
    }
    for out in outs {
        let _ = writeln!(tb, "wire [{}:0] {};", out.1 - 1, out.0);
        conns.push(format!(".{0}({0})", out.0));
    }
    let _ = writeln!(tb, "blk u({});", conns.join(", "));
    let fmt = vec!["%0d"; outs.len() + 1].join(" ");
    let onames: Vec<&str> = outs.iter().map(|o| o.0).collect();
    let _ = writeln!(
        tb,
        "initial begin\n  for (n = 0; n < {}; n = n + 1) begin\n    #1 $display(\"{fmt}\", n, {});\n  end\n  $finish;\nend\nendmodule",
        1u64 << total,
        onames.join(", ")
    );
    std::fs::write(dir.path().join("tb.v"), tb).unwrap();
    let exe = dir.path().join("sim");
    let st = Command::new("iverilog")
        .current_dir(dir.path())
        .args(["-g2005", "-o"])
        .arg(&exe)
        .arg("tb.v")
        .args(&names)
        .status()
        .expect("iverilog");
    assert!(st.success());
    let o = Command::new("vvp").arg(&exe).output().expect("vvp");
    let v: Vec<(u64, Vec<u64>)> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let n = it.next()?.parse().ok()?;
            let vals: Vec<u64> = it.filter_map(|x| x.parse().ok()).collect();
            (vals.len() == outs.len()).then_some((n, vals))
        })
        .collect();
    assert_eq!(
        v.len() as u64,
        1u64 << total,
        "Icarus printed {} of {} results",
        v.len(),
        1u64 << total
    );
    v
}

/// The multiplier array: t = (a*b << G) + sum(x) + extra (mod 2^T).
fn mul_model(w: u32, t: u32, g: u32, extra: i128, a: u64, b: u64, x: &[u64]) -> u64 {
    let p = (sx(a, w) as i128 * sx(b, w) as i128) << g;
    let s: i128 = p + x.iter().map(|&v| v as i128).sum::<i128>() + extra;
    (s as u64) & mask(t)
}

#[test]
fn multiplier_array_fxp_exhaustive() {
    for w in 2..=5u32 {
        let mut m = dispatch::mul(w, 2 * w, 0, 0, &[]).unwrap();
        for a in 0..1u64 << w {
            for b in 0..1u64 << w {
                assert_eq!(
                    m.eval(a, b, &[]),
                    mul_model(w, 2 * w, 0, 0, a, b, &[]),
                    "W {w}: {a} * {b}"
                );
            }
        }
        for (n, got) in icarus_walk(m.as_ref(), &[("a", w), ("b", w)], ("t", 2 * w)) {
            let (a, b) = (n & mask(w), n >> w);
            assert_eq!(
                got,
                mul_model(w, 2 * w, 0, 0, a, b, &[]),
                "icarus W {w}: {a} * {b}"
            );
        }
    }
}

#[test]
fn multiplier_array_with_compensation_rows() {
    // The fused shape: T = 2W + G, the rows of comp::rows (random values
    // inside their supports, seeded), their constant.
    let mut seed = 0x19u64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for (w, m) in [(2u32, 0u32), (2, 1), (3, 0), (2, 2), (3, 2), (4, 1)] {
        let g = m + 2;
        let t = 2 * w + g;
        let sup = rows::supports(w, m);
        let extra = rows::extra(w, m);
        let mut blk = dispatch::mul(w, t, g, extra, &sup).unwrap();
        for a in 0..1u64 << w {
            for b in 0..1u64 << w {
                for _ in 0..64 {
                    let x: Vec<u64> = sup.iter().map(|&s| rnd() & s).collect();
                    let want = mul_model(w, t, g, extra, a, b, &x);
                    assert_eq!(blk.eval(a, b, &x), want, "W {w} M {m}: {a} * {b} + {x:?}");
                }
            }
        }
    }
}

/// The fused compensation rows: every row inside its support, and the rows
/// plus their constant add up to V = qw*est(ca) + qa*est(cw) (mod 2^T).
fn rows_check(w: u32, m: u32, z: bool, t: u32, n: u64, got: &[u64], what: &str) {
    let c = z as u32 + 1 + m;
    let (qw, qa) = (n & mask(w), (n >> w) & mask(w));
    let (cw, ca) = ((n >> (2 * w)) & mask(c), n >> (2 * w + c));
    let sup = rows::supports(w, m);
    for (r, (&v, &s)) in got.iter().zip(&sup).enumerate() {
        assert_eq!(
            v & !s,
            0,
            "{what} W {w} M {m} Z {z}: row {r} outside its support"
        );
    }
    let sum = got
        .iter()
        .fold(rows::extra(w, m) as u64, |a, &v| a.wrapping_add(v))
        & mask(t);
    let v = sx(qw, w) * est(ca, m, z) + sx(qa, w) * est(cw, m, z);
    assert_eq!(sum, (v as u64) & mask(t), "{what} W {w} M {m} Z {z}: {n}");
}

#[test]
fn compensation_rows_exhaustive() {
    for w in 2..=3u32 {
        for m in 0..=2u32 {
            for z in [false, true] {
                let c = z as u32 + 1 + m;
                let t = 2 * w + m + 2;
                let r = rows::row_count(m) as usize;
                let mut blk = dispatch::rows(w, c, t, m, z).unwrap();
                let mut out = vec![0u64; r];
                for n in 0..1u64 << (2 * w + 2 * c) {
                    let (qw, qa) = (n & mask(w), (n >> w) & mask(w));
                    let (cw, ca) = ((n >> (2 * w)) & mask(c), n >> (2 * w + c));
                    blk.eval(qw, qa, cw, ca, &mut out);
                    rows_check(w, m, z, t, n, &out, "rust-sim");
                }
                let names = ["x__0", "x__1", "x__2", "x__3", "x__4", "x__5"];
                let outs: Vec<(&str, u32)> = names[..r].iter().map(|&p| (p, t)).collect();
                for (n, got) in icarus_walk_outs(
                    blk.as_ref(),
                    &[("qw", w), ("qa", w), ("cw", c), ("ca", c)],
                    &outs,
                ) {
                    rows_check(w, m, z, t, n, &got, "icarus");
                }
            }
        }
    }
}

#[test]
fn accumulator_and_control_against_a_model() {
    // Every addend, first/last/valid/rst pattern over long random runs, for
    // several (S, T): the T-bit term is added sign-extended (low part plus a
    // Gray-coded up/down counter above it, whose wrap-around is exercised).
    // FxP W = 2 at Lmax 1, 2, 4, 16 and W = 3 at Lmax 1 and 4: counters of
    // 1, 2, 3 and 5 bits.
    for (s, t) in [(4u32, 4u32), (5, 4), (6, 4), (8, 4), (6, 6), (8, 6)] {
        acc_run(s, t);
    }
}

fn acc_run(s: u32, t: u32) {
    let mut blk = dispatch::acc(s, t).unwrap();
    let mut seed = 0x5eedu64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut r = 0u64;
    for cyc in 0..20000 {
        let x = rnd();
        let (rst, valid, first, last) = (x % 53 == 0, x & 2 != 0, x & 4 != 0, x & 8 != 0);
        let d = (x >> 8) & mask(t);
        let (v, sum) = blk.cycle(rst, valid, first, last, d);
        // Model: the edge updates r and done; outputs follow the new state.
        let done = if rst {
            r = 0;
            false
        } else {
            if valid {
                r = ((if first { 0 } else { r }).wrapping_add(sx(d, t) as u64)) & mask(s);
            }
            valid && last
        };
        assert_eq!(v, done, "S {s} T {t} cycle {cyc}");
        assert_eq!(sum, if done { r } else { 0 }, "S {s} T {t} cycle {cyc}");
    }
}
