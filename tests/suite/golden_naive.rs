//! Exhaustive and seeded random sweeps of the golden model against a
//! deliberately naive reference written straight from FPEC-SPEC.md sections
//! 2, 3, 4 and 5 with exact rationals (num-rational / num-bigint).
//!
//! The naive reference shares no code with `fpec::golden`: it turns x into
//! an exact rational, multiplies by 2^FB, rounds half up with `floor`, clamps,
//! and reads edb/emb/ezb off the rational error e = y - q. Random sweeps use a
//! fixed, printed ChaCha8 seed.

use fpec::format::{Comp, Format, Split};
use fpec::golden::{dot, dot_parts, encode_full, est, pack, requant, unpack, Operand, Word};
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

// ------------------------------------------------------ naive reference

/// Result of the naive encoding: all fields plus the saturation flag.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Naive {
    q: i64,
    ezb: bool,
    edb: bool,
    emb: u32,
    saturated: bool,
}

fn int(v: i64) -> BigRational {
    BigRational::from_integer(BigInt::from(v))
}

/// 2^e as an exact rational, any sign of e.
fn pow2(e: i64) -> BigRational {
    let p = BigInt::one() << (e.unsigned_abs() as usize);
    if e >= 0 {
        BigRational::from_integer(p)
    } else {
        BigRational::new(BigInt::one(), p)
    }
}

/// Spec 2 steps 2-6 applied to the exact value y (in LSBs of `fmt`).
fn naive_round(y: &BigRational, fmt: &Format) -> Naive {
    let w = fmt.split.w as i64;
    let half = BigRational::new(BigInt::one(), BigInt::from(2));
    // q0 = floor(y + 1/2)
    let q0 = (y + &half).floor().to_integer();
    let qmin = -(BigInt::one() << ((w - 1) as usize));
    let qmax = (BigInt::one() << ((w - 1) as usize)) - BigInt::one();
    let q = if q0 < qmin {
        qmin.clone()
    } else if q0 > qmax {
        qmax.clone()
    } else {
        q0.clone()
    };
    let saturated = q != q0;
    // e = y - q
    let e = y - BigRational::from_integer(q.clone());
    let ae = e.abs();
    let (edb, emb, ezb) = match fmt.split.comp {
        None => (false, 0, false),
        Some(c) => {
            let edb = e > BigRational::zero();
            let emb = if c.m == 0 {
                0
            } else {
                // min(floor(|e| * 2^(M+1)), 2^M - 1)
                let bin = (&ae * pow2(c.m as i64 + 1)).floor().to_integer();
                let top = BigInt::from((1u32 << c.m) - 1);
                if bin > top {
                    top.to_u32().unwrap()
                } else {
                    bin.to_u32().unwrap()
                }
            };
            // |e| * 64 <= T
            let ezb = c.z && &ae * int(64) <= int(fmt.t as i64);
            (edb, emb, ezb)
        }
    };
    Naive {
        q: q.to_i64().unwrap(),
        ezb,
        edb,
        emb,
        saturated,
    }
}

/// Spec 2: the exact value x * 2^FB, then the naive rounding.
fn naive_encode(x: f64, fmt: &Format) -> Naive {
    let y = BigRational::from_float(x).unwrap() * pow2(fmt.fb as i64);
    naive_round(&y, fmt)
}

/// Spec 5: y = s / 2^k exactly, with s = max(sum, 0) under ReLU.
fn naive_requant(sum: i64, f_in: i32, fmt: &Format, relu: bool) -> Naive {
    let s = if relu && sum < 0 { 0 } else { sum };
    let k = f_in as i64 - fmt.fb as i64;
    let y = int(s) * pow2(-k);
    naive_round(&y, fmt)
}

/// Spec 3 from the fields.
fn naive_est(fmt_split: &Split, w: &Word) -> i64 {
    match fmt_split.comp {
        None => 0,
        Some(c) => {
            if c.z && w.ezb {
                0
            } else {
                let mag = 2 * w.emb as i64 + 1;
                if w.edb {
                    mag
                } else {
                    -mag
                }
            }
        }
    }
}

fn same(got: &fpec::golden::Rounded, want: &Naive) -> bool {
    got.word.q as i64 == want.q
        && got.word.ezb == want.ezb
        && got.word.edb == want.edb
        && got.word.emb == want.emb
        && got.saturated == want.saturated
}

/// Every split of width w: FxP and each (M, Z).
fn splits(w: u32) -> Vec<Split> {
    let mut v = vec![Split::fxp(w).unwrap()];
    for m in 0..=2 {
        for z in [false, true] {
            v.push(Split::new(w, Some(Comp { m, z })).unwrap());
        }
    }
    v
}

/// Every split of width w with the T values worth trying (0, default, 32
/// when Z = 1; the default otherwise), at fractional bits fb.
fn formats(w: u32, fb: i32) -> Vec<Format> {
    let mut v = Vec::new();
    for s in splits(w) {
        if s.z() {
            for t in [Some(0), None, Some(32)] {
                v.push(Format::new(s, fb, t).unwrap());
            }
        } else {
            v.push(Format::new(s, fb, None).unwrap());
        }
    }
    v
}

/// 2^e exactly as an f64 (normal or subnormal range).
fn p2(e: i32) -> f64 {
    assert!((-1074..=1023).contains(&e));
    if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e + 1074))
    }
}

fn seed_rng(name: &str, seed: u64) -> ChaCha8Rng {
    println!("{name}: ChaCha8Rng seed = {seed:#x}");
    ChaCha8Rng::seed_from_u64(seed)
}

// ------------------------------------------------------------- encoding

/// Every x on the grid of 2^-(FB+7) (1/128 LSB) over |y| <= 2^(W-1) + 2, for
/// W 2..=5, FB -3..=6, every (M, Z), several T. The grid hits every bin edge
/// of M <= 2, every threshold T/64 and every tie exactly.
#[test]
fn encode_exhaustive_grid() {
    let mut checked = 0u64;
    for w in 2..=5u32 {
        for fb in -3..=6i32 {
            let fmts = formats(w, fb);
            let lim = ((1i64 << (w - 1)) + 2) * 128;
            for j in -lim..=lim {
                // x = j * 2^-(FB+7), exact in f64 (|j| < 2^12).
                let x = j as f64 * p2(-(fb + 7));
                // y = x * 2^FB, exact.
                let y = BigRational::from_float(x).unwrap() * pow2(fb as i64);
                for f in &fmts {
                    let got = encode_full(x, f).unwrap();
                    let want = naive_round(&y, f);
                    assert!(
                        same(&got, &want),
                        "x = {x:e} (j = {j}) in {f:?}: golden {got:?}, naive {want:?}"
                    );
                    checked += 1;
                }
            }
        }
    }
    println!("encode_exhaustive_grid: {checked} cases");
}

/// Seeded random f64 values (all exponents, values near the format's range,
/// near ties) in random formats over the full W/FB/M/Z/T ranges.
#[test]
fn encode_random_vs_naive() {
    let mut rng = seed_rng("encode_random_vs_naive", 0x5eed_0001);
    for i in 0..60_000 {
        let w = rng.gen_range(2..=16u32);
        let split = match rng.gen_range(0..7) {
            0 => Split::fxp(w).unwrap(),
            c => Split::new(
                w,
                Some(Comp {
                    m: (c - 1) / 2,
                    z: c % 2 == 0,
                }),
            )
            .unwrap(),
        };
        let fb = rng.gen_range(-16..=32i32);
        let t = rng.gen_range(0..=32u32);
        let f = Format::new(split, fb, Some(t)).unwrap();
        let x = match rng.gen_range(0..4) {
            // Any finite f64, every exponent.
            0 => loop {
                let x = f64::from_bits(rng.gen());
                if x.is_finite() {
                    break x;
                }
            },
            // Near the representable range, arbitrary fraction.
            1 => {
                let lim = (1i64 << w) as f64;
                rng.gen_range(-lim..lim) * p2(-fb)
            }
            // Exact ties and their neighbours (one ulp off).
            2 => {
                let n = rng.gen_range(-(1i64 << w)..(1i64 << w)) as f64 + 0.5;
                let y = match rng.gen_range(0..3) {
                    0 => n,
                    1 => f64::from_bits(n.to_bits() + 1),
                    _ => f64::from_bits(n.to_bits() - 1),
                };
                y * p2(-fb)
            }
            // Small errors around thresholds: q + d/64 +- tiny.
            _ => {
                let q = rng.gen_range(-(1i64 << (w - 1))..(1i64 << (w - 1))) as f64;
                let d = rng.gen_range(-33..=33) as f64 / 64.0;
                (q + d) * p2(-fb)
            }
        };
        let got = encode_full(x, &f).unwrap();
        let want = naive_encode(x, &f);
        assert!(
            same(&got, &want),
            "case {i}: x = {x:e} ({:#018x}) in {f:?}: golden {got:?}, naive {want:?}",
            x.to_bits()
        );
    }
}

/// Powers of two and edge values over every exponent that matters, every
/// W/M/Z and extreme FB: covers the paths where y is huge or tiny.
#[test]
fn encode_edge_values_vs_naive() {
    let specials = [
        0.0,
        -0.0,
        f64::MAX,
        -f64::MAX,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        5e-324,
        -5e-324,
        f64::EPSILON,
    ];
    let mut checked = 0u64;
    for fb in [-16, -1, 0, 7, 32] {
        // Every exponent where y = x * 2^FB is within 2^+-140 (where the
        // integer paths of the golden model switch), every 53rd elsewhere.
        let mut xs = specials.to_vec();
        for e in -1074..=1023i32 {
            if (e + fb).abs() <= 140 || e % 53 == 0 {
                let p = p2(e);
                xs.extend([p, -p, p * 1.5, -p * 1.5, p * (1.0 - f64::EPSILON / 2.0)]);
            }
        }
        for &x in &xs {
            let y = BigRational::from_float(x).unwrap() * pow2(fb as i64);
            for w in [2u32, 8, 16] {
                for f in formats(w, fb) {
                    let got = encode_full(x, &f).unwrap();
                    let want = naive_round(&y, &f);
                    assert!(
                        same(&got, &want),
                        "x = {x:e} in {f:?}: golden {got:?}, naive {want:?}"
                    );
                    checked += 1;
                }
            }
        }
    }
    println!("encode_edge_values_vs_naive: {checked} cases");
}

// ------------------------------------------------------- requantization

/// Every sum with |s / 2^k| <= 2^(Wo-1) + 2 (all s for k <= 0 in a range past
/// saturation), Wo 2..=5, k -4..=8, every (M, Z), several T, ReLU on and off.
#[test]
fn requant_exhaustive_vs_naive() {
    let fbos = [0, 3, -2, 6];
    let mut checked = 0u64;
    for w in 2..=5u32 {
        for k in -4..=8i32 {
            let fbo = fbos[k.rem_euclid(4) as usize];
            let f_in = k + fbo;
            let fmts = formats(w, fbo);
            let lim = ((1i64 << (w - 1)) + 2) << k.max(0);
            for s in -lim..=lim {
                // y = s / 2^k exactly; with ReLU, max(s, 0) / 2^k.
                let y = int(s) * pow2(-(k as i64));
                let y_relu = int(s.max(0)) * pow2(-(k as i64));
                for f in &fmts {
                    for (relu, y) in [(false, &y), (true, &y_relu)] {
                        let got = requant(s, f_in, f, relu);
                        let want = naive_round(y, f);
                        assert!(
                            same(&got, &want),
                            "s = {s}, f_in = {f_in} (k = {k}), relu = {relu}, {f:?}: golden {got:?}, naive {want:?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    println!("requant_exhaustive_vs_naive: {checked} cases");
}

/// Seeded random sums over the whole i64 range (incl. i64::MIN/MAX) and
/// k -70..=130 in random output formats.
#[test]
fn requant_random_vs_naive() {
    let mut rng = seed_rng("requant_random_vs_naive", 0x5eed_0002);
    for i in 0..40_000 {
        let w = rng.gen_range(2..=16u32);
        let ss = splits(w);
        let split = ss[rng.gen_range(0..ss.len())];
        let fbo = rng.gen_range(-16..=32i32);
        let f = Format::new(split, fbo, Some(rng.gen_range(0..=32))).unwrap();
        let k = rng.gen_range(-70..=130i32);
        let s: i64 = match rng.gen_range(0..5) {
            0 => i64::MIN,
            1 => i64::MAX,
            2 => rng.gen(),
            3 => rng.gen::<i64>() >> rng.gen_range(0..63),
            _ => rng.gen_range(-1000..=1000),
        };
        let relu = rng.gen_bool(0.3);
        let got = requant(s, k + fbo, &f, relu);
        let want = naive_requant(s, k + fbo, &f, relu);
        assert!(
            same(&got, &want),
            "case {i}: s = {s}, k = {k}, relu = {relu}, {f:?}: golden {got:?}, naive {want:?}"
        );
    }
}

// ------------------------------------------------------------ pack/unpack

/// For every W in 2..=6, every split and every N-bit pattern: unpack matches
/// a naive field extraction, and pack(unpack(b)) == b.
#[test]
fn pack_unpack_every_word() {
    for w in 2..=6u32 {
        for s in splits(w) {
            let c = s.c();
            let n = w + c;
            for bits in 0..(1u32 << n) {
                // Naive: q is the top W bits as a signed number.
                let raw = (bits / (1 << c)) as i64;
                let q = if raw >= 1 << (w - 1) {
                    raw - (1 << w)
                } else {
                    raw
                };
                let comp = bits % (1 << c);
                let (ezb, edb, emb) = match s.comp {
                    None => (false, false, 0),
                    Some(cp) => (
                        cp.z && (comp >> (cp.m + 1)) == 1,
                        (comp >> cp.m) % 2 == 1,
                        comp % (1 << cp.m),
                    ),
                };
                let word = unpack(&s, bits);
                assert_eq!(
                    word,
                    Word {
                        q: q as i32,
                        ezb,
                        edb,
                        emb
                    },
                    "unpack {bits:#b} in {s}"
                );
                assert_eq!(pack(&s, &word), bits, "pack(unpack({bits:#b})) in {s}");
                assert_eq!(est(&s, &word) as i64, naive_est(&s, &word));
                // Bits above N are ignored.
                assert_eq!(unpack(&s, bits | (0xABCD << n)), word);
            }
        }
    }
}

// --------------------------------------------------------- dot products

/// A random operand word; a share of them are the extremes (most negative /
/// most positive q with the largest |est|).
fn random_word(rng: &mut ChaCha8Rng, s: &Split, extreme_share: f64) -> u32 {
    let n = s.n();
    let c = s.c();
    if rng.gen_bool(extreme_share) {
        let q: u32 = if rng.gen_bool(0.7) {
            1 << (s.w - 1) // most negative
        } else {
            (1 << (s.w - 1)) - 1 // most positive
        };
        // ezb = 0, edb random, emb all ones.
        let m = s.m();
        let edb = rng.gen_range(0..2u32);
        let comp = if c == 0 {
            0
        } else {
            (edb << m) | ((1 << m) - 1)
        };
        (q << c) | comp
    } else {
        rng.gen_range(0..(1u32 << n))
    }
}

/// Naive spec 4 with i128 over packed words decoded by hand.
fn naive_dot(s: &Split, w: &[u32], a: &[u32]) -> (i128, i128, i128) {
    let g = s.g();
    let (mut acc, mut comp) = (0i128, 0i128);
    for (&wb, &ab) in w.iter().zip(a) {
        let ww = unpack(s, wb);
        let aw = unpack(s, ab);
        let (ew, ea) = (naive_est(s, &ww) as i128, naive_est(s, &aw) as i128);
        acc += ww.q as i128 * aw.q as i128;
        comp += ww.q as i128 * ea + aw.q as i128 * ew;
    }
    (acc, comp, acc * (1i128 << g) + comp)
}

#[test]
fn dot_vs_naive_i128() {
    let mut rng = seed_rng("dot_vs_naive_i128", 0x5eed_0003);
    let specs = [
        "2+0", "8+0", "16+0", "6+2", "8+2", "8+4", "4+4", "16+1", "16+4", "2+3",
    ];
    for spec in specs {
        let s = Split::parse(spec).unwrap();
        for (len, share) in [
            (1usize, 0.5),
            (17, 0.2),
            (4096, 0.0),
            (4096, 0.3),
            (4096, 1.0),
        ] {
            for _ in 0..4 {
                let wb: Vec<u32> = (0..len).map(|_| random_word(&mut rng, &s, share)).collect();
                let ab: Vec<u32> = (0..len).map(|_| random_word(&mut rng, &s, share)).collect();
                let wo: Vec<Operand> = wb.iter().map(|&b| Operand::of_bits(&s, b)).collect();
                let ao: Vec<Operand> = ab.iter().map(|&b| Operand::of_bits(&s, b)).collect();
                let (acc, comp, sum) = naive_dot(&s, &wb, &ab);
                assert_eq!(dot(s.g(), &wo, &ao) as i128, sum, "{spec} len {len}");
                let (ga, gc) = dot_parts(&wo, &ao);
                assert_eq!((ga as i128, gc as i128), (acc, comp), "{spec} len {len}");
            }
        }
        // All most-negative times most-negative, length 4096 (worst |acc|).
        let most_neg = (1u32 << (s.w - 1)) << s.c() | if s.c() > 0 { (1 << s.m()) - 1 } else { 0 };
        let v = vec![most_neg; 4096];
        let o: Vec<Operand> = v.iter().map(|&b| Operand::of_bits(&s, b)).collect();
        let (_, _, sum) = naive_dot(&s, &v, &v);
        assert_eq!(dot(s.g(), &o, &o) as i128, sum, "{spec} all most negative");
        // And most negative times most positive.
        let most_pos =
            ((1u32 << (s.w - 1)) - 1) << s.c() | if s.c() > 0 { (1 << (s.m() + 1)) - 1 } else { 0 };
        let vp = vec![most_pos; 4096];
        let op: Vec<Operand> = vp.iter().map(|&b| Operand::of_bits(&s, b)).collect();
        let (_, _, sum) = naive_dot(&s, &v, &vp);
        assert_eq!(
            dot(s.g(), &o, &op) as i128,
            sum,
            "{spec} most negative x most positive"
        );
    }
}

/// Sanity of the naive reference itself on hand-worked values, so a bug in
/// it cannot hide a bug in the golden model.
#[test]
fn naive_reference_self_check() {
    let f = Format::new(Split::parse("6+3").unwrap(), 2, None).unwrap();
    // -1.40625 * 4 = -5.625 -> q = -6, e = +0.375: edb 1, emb 1, ezb 0.
    assert_eq!(
        naive_encode(-1.40625, &f),
        Naive {
            q: -6,
            ezb: false,
            edb: true,
            emb: 1,
            saturated: false
        }
    );
    // -2.5 in FxP(4, 0) -> -2 (half up).
    let x = Format::fxp(4, 0).unwrap();
    assert_eq!(naive_encode(-2.5, &x).q, -2);
    // 40 at k = 0 into 6+3 -> 31 saturated, e = 9.
    let n = naive_requant(40, 2, &f, false);
    assert_eq!(
        (n.q, n.saturated, n.edb, n.emb, n.ezb),
        (31, true, true, 1, false)
    );
    assert!(pow2(-3) * int(8) == int(1));
    let _ = int(0).is_zero();
}

/// Spec 9 bias: floor(b * 2^F_in + 1/2) exactly, for seeded random b and
/// F_in where the result fits in i64 (the golden model clamps beyond).
#[test]
fn bias_random_vs_naive() {
    use fpec::golden::bias_to_sum;
    let mut rng = seed_rng("bias_random_vs_naive", 0x5eed_0004);
    let half = BigRational::new(BigInt::one(), BigInt::from(2));
    for i in 0..20_000 {
        let f_in = rng.gen_range(-40..=60i32);
        let b = match rng.gen_range(0..3) {
            0 => rng.gen_range(-4.0..4.0),
            // exact ties: (n + 1/2) * 2^-F_in
            1 => (rng.gen_range(-1000i64..1000) as f64 + 0.5) * p2(-f_in),
            _ => rng.gen_range(-1e-3..1e-3),
        };
        let v = (BigRational::from_float(b).unwrap() * pow2(f_in as i64) + &half)
            .floor()
            .to_integer();
        let want = v.to_i64().expect("test range keeps the bias in i64");
        assert_eq!(
            bias_to_sum(b, f_in).unwrap(),
            want,
            "case {i}: b = {b:e}, F_in = {f_in}"
        );
    }
}
