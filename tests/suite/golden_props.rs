//! Property tests of the golden model (proptest; failing cases are shrunk
//! and persisted by proptest, and its seed is reported on failure).

use fpec::format::{Comp, Format, Split};
use fpec::golden::{encode, encode_full, est, pack, requant, unpack, Word};
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};
use proptest::prelude::*;

/// 2^e exactly as an f64 (normal or subnormal range).
fn p2(e: i32) -> f64 {
    assert!((-1074..=1023).contains(&e));
    if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e + 1074))
    }
}

/// 2^e as an exact rational.
fn pow2(e: i64) -> BigRational {
    let p = BigInt::one() << (e.unsigned_abs() as usize);
    if e >= 0 {
        BigRational::from_integer(p)
    } else {
        BigRational::new(BigInt::one(), p)
    }
}

/// Split from W and a selector 0..7: 0 = FxP, else (M, Z) = ((c-1)/2, c even).
fn split_of(w: u32, c: u32) -> Split {
    if c == 0 {
        Split::fxp(w).unwrap()
    } else {
        Split::new(
            w,
            Some(Comp {
                m: (c - 1) / 2,
                z: c.is_multiple_of(2),
            }),
        )
        .unwrap()
    }
}

fn arb_split() -> impl Strategy<Value = Split> {
    (2u32..=16, 0u32..7).prop_map(|(w, c)| split_of(w, c))
}

/// Any format: W 2..=16, every (M, Z), FB -16..=32, T 0..=32 or default.
fn arb_format() -> impl Strategy<Value = Format> {
    (arb_split(), -16i32..=32, prop::option::of(0u32..=32))
        .prop_map(|(s, fb, t)| Format::new(s, fb, t).unwrap())
}

/// Any finite f64: raw bit patterns (every exponent, subnormals, +-MAX) or
/// y = n + f/64 near the q range, or a mantissa placed so that y = x * 2^FB lands around 2^ey for ey in
/// -140..=140 (the region where the integer paths change).
fn arb_x_for(fb: i32) -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>()
            .prop_map(f64::from_bits)
            .prop_filter("finite", |x| x.is_finite()),
        (-(1i64 << 53)..(1i64 << 53), -140i32..=140).prop_map(move |(m, ey)| {
            // x = m * 2^(ey - 52 - fb); exponent stays inside f64's range.
            let e = (ey - 52 - fb).clamp(-1074, 970);
            m as f64 * p2(e)
        }),
        // y = n + f/64 near the q range: ties, bin edges and thresholds.
        (-40i64..40, 0i64..64).prop_map(move |(n, f)| (n as f64 + f as f64 / 64.0) * p2(-fb)),
        (-(1i64 << 16)..(1i64 << 16), 0i64..64)
            .prop_map(move |(n, f)| (n as f64 + f as f64 / 64.0) * p2(-fb)),
        Just(f64::MAX),
        Just(-f64::MAX),
        Just(5e-324),
        Just(-5e-324),
        Just(f64::MIN_POSITIVE),
        Just(0.0),
        Just(-0.0),
    ]
}

fn arb_format_and_x() -> impl Strategy<Value = (Format, f64)> {
    arb_format().prop_flat_map(|f| (Just(f), arb_x_for(f.fb)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, .. ProptestConfig::default() })]

    /// Spec 5 last line: requantizing the integer s at scale f_in equals
    /// encoding its exact real value s * 2^-(f_in) (|s| < 2^53 so that the
    /// value is exactly an f64), with and without ReLU.
    #[test]
    fn requant_equals_encode(
        f in arb_format(),
        s in prop_oneof![-(1i64 << 53) + 1..(1i64 << 53), -5000i64..5000],
        k in -60i32..=200,
        relu in any::<bool>(),
    ) {
        let f_in = k + f.fb;
        let v = if relu { s.max(0) } else { s };
        // value = s * 2^-f_in, in LSBs of f: y = s * 2^-k.
        let x = v as f64 * p2(-f_in);
        prop_assert_eq!(x * p2(f_in), v as f64, "x not exact");
        let r = requant(s, f_in, &f, relu);
        let e = encode_full(x, &f).unwrap();
        prop_assert_eq!(r, e, "s = {}, f_in = {}, x = {:e}", s, f_in, x);
    }

    /// pack(unpack(bits)) == bits for every N-bit pattern, and
    /// unpack(pack(word)) == word for every valid word.
    #[test]
    fn pack_unpack_round_trip(s in arb_split(), bits in any::<u32>(), q in any::<i32>(),
                              ezb in any::<bool>(), edb in any::<bool>(), emb in any::<u32>()) {
        let n = s.n();
        let b = bits & ((1u32 << n) - 1);
        prop_assert_eq!(pack(&s, &unpack(&s, b)), b);
        prop_assert_eq!(unpack(&s, bits), unpack(&s, b));
        let (qmin, qmax) = s.q_range();
        let q = (q as i64).rem_euclid(qmax - qmin + 1) + qmin;
        let word = match s.comp {
            None => Word { q: q as i32, ..Word::default() },
            Some(c) => Word { q: q as i32, ezb: c.z && ezb, edb, emb: emb % (1 << c.m) },
        };
        let p = pack(&s, &word);
        prop_assert!(p < (1u32 << n));
        prop_assert_eq!(unpack(&s, p), word);
    }

    /// Encoding never panics for any finite f64 in any format, rejects
    /// non-finite input, and its fields are in range.
    #[test]
    fn encode_total((f, x) in arb_format_and_x()) {
        let w = encode(x, &f).unwrap();
        let (qmin, qmax) = f.split.q_range();
        prop_assert!((qmin..=qmax).contains(&(w.q as i64)));
        prop_assert!(w.emb < (1 << f.split.m()));
        if !f.split.z() { prop_assert!(!w.ezb); }
        if f.split.is_fxp() { prop_assert!(!w.edb && w.emb == 0); }
        prop_assert!(encode(f64::NAN, &f).is_err());
        prop_assert!(encode(f64::INFINITY, &f).is_err());
        prop_assert!(encode(f64::NEG_INFINITY, &f).is_err());
    }

    /// Error bounds, checked with exact rationals:
    /// - unsaturated: -1/2 <= e < 1/2 LSB (|e| <= 1/2, ties go up); saturated: e >= 1/2 at the top,
    ///   e < -1/2 at the bottom;
    /// - est is 0 exactly when Z and ezb; then |e| <= T/64;
    /// - otherwise est has the sign of e > 0 (edb), is odd, |est| <= 2^(M+1)-1,
    ///   and when unsaturated est * 2^-G is the centre of e's magnitude bin:
    ///   |e - est/2^G| <= 2^-(M+2).
    #[test]
    fn error_and_estimate_bins((f, x) in arb_format_and_x()) {
        let r = encode_full(x, &f).unwrap();
        let w = r.word;
        let y = BigRational::from_float(x).unwrap() * pow2(f.fb as i64);
        let e = &y - BigRational::from_integer(BigInt::from(w.q));
        let half = pow2(-1);
        let (qmin, qmax) = f.split.q_range();
        if r.saturated {
            if w.q as i64 == qmax {
                prop_assert!(e >= half);
            } else {
                prop_assert_eq!(w.q as i64, qmin);
                prop_assert!(e < -half.clone());
            }
        } else {
            // Round half up: q = floor(y + 1/2) gives -1/2 <= e < 1/2.
            prop_assert!(e >= -half.clone() && e < half, "e = {}", e);
        }
        let Some(c) = f.split.comp else { return Ok(()); };
        let g = f.split.g() as i64;
        let est_v = est(&f.split, &w);
        prop_assert_eq!(w.edb, e > BigRational::zero());
        if c.z && w.ezb {
            prop_assert_eq!(est_v, 0);
            prop_assert!(e.abs() * BigRational::from_integer(64.into())
                <= BigRational::from_integer(f.t.into()));
        } else {
            prop_assert!(est_v % 2 != 0);
            prop_assert_eq!(est_v > 0, w.edb);
            prop_assert!(est_v.abs() < (1 << (c.m + 1)));
            if c.z {
                prop_assert!(e.abs() * BigRational::from_integer(64.into())
                    > BigRational::from_integer(f.t.into()));
            }
            if !r.saturated {
                let est_r = BigRational::from_integer(est_v.into()) * pow2(-g);
                prop_assert!((&e - est_r).abs() <= pow2(-(c.m as i64 + 2)),
                    "e = {}, est = {}", e, est_v);
            }
        }
    }

    /// requant never panics for any i64 sum and any f_in in a wide range.
    #[test]
    fn requant_total(f in arb_format(), s in any::<i64>(), f_in in -300i32..=300, relu in any::<bool>()) {
        let r = requant(s, f_in, &f, relu);
        let (qmin, qmax) = f.split.q_range();
        prop_assert!((qmin..=qmax).contains(&(r.word.q as i64)));
        if relu && s <= 0 { prop_assert_eq!(r.word.q, 0); }
    }
}

/// Deterministic companion of `encode_total`: every W 2..=16, every (M, Z),
/// every FB -16..=32, T in {0, default, 32}, and every power of two 2^e
/// (e -1074..=1023, both signs) plus 0, +-f64::MAX and the subnormal
/// extremes: encode must not panic, q stays in range, and the saturation
/// flag follows the sign of huge inputs.
#[test]
fn encode_total_grid() {
    let mut xs = vec![
        0.0,
        -0.0,
        f64::MAX,
        -f64::MAX,
        5e-324,
        -5e-324,
        f64::MIN_POSITIVE,
    ];
    for e in -1074..=1023 {
        xs.push(p2(e));
        xs.push(-p2(e));
    }
    let mut n = 0u64;
    for w in 2..=16u32 {
        for c in 0..7u32 {
            let s = split_of(w, c);
            let (qmin, qmax) = s.q_range();
            for fb in -16..=32 {
                for t in [Some(0), None, Some(32)] {
                    let f = Format::new(s, fb, t).unwrap();
                    for &x in &xs {
                        let r = encode_full(x, &f).unwrap();
                        let q = r.word.q as i64;
                        assert!((qmin..=qmax).contains(&q), "x = {x:e}, {f:?}");
                        if x.abs() >= 1e300 {
                            assert!(r.saturated && q == if x > 0.0 { qmax } else { qmin });
                        }
                        n += 1;
                    }
                }
            }
        }
    }
    println!("encode_total_grid: {n} encodings");
}
