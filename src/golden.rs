//! The bit-exact software reference ("golden model") of spec sections 2-5:
//! encoding reals, pack/unpack, the error estimate, the compensated dot
//! product and requantization. Integer-exact everywhere: encoding a finite
//! f64 is done by writing it as `mant * 2^exp` and requantizing that
//! integer, so encode and requant share one exact rounding routine.

use crate::format::{Format, Split};

/// One FPEC (or FxP) word, unpacked. For FxP the compensation fields are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Word {
    /// q, the W-bit two's-complement computation value.
    pub q: i32,
    /// ezb, error-zero bit (false when Z = 0).
    pub ezb: bool,
    /// edb, error-direction bit: true means the true value is above q.
    pub edb: bool,
    /// emb, error-magnitude bits (0 when M = 0).
    pub emb: u32,
}

/// Errors of the golden model on user input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GoldenError {
    /// NaN or infinity cannot be encoded.
    #[error("cannot encode {0}: only finite values are allowed")]
    NotFinite(f64),
}

/// Result of rounding an exact value `s * 2^-k` into a format: the word and
/// whether q saturated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounded {
    /// The word.
    pub word: Word,
    /// True when q0 was outside the W-bit range and clamped.
    pub saturated: bool,
}

/// Section 5 (and, through it, section 2): rounds the exact value
/// `s / 2^k` (in LSBs of `fmt`) to the nearest q (half up), clamps, and
/// derives edb/emb/ezb from the exact error. `k` may be any integer
/// (-k must not overflow i32). Exact for |s| < 2^64, which covers every
/// caller here (an i64 sum or a 53-bit f64 mantissa); larger |s| may
/// overflow the i128/u128 intermediates.
pub fn round_scaled(s: i128, k: i32, fmt: &Format) -> Rounded {
    let split = fmt.split;
    let (qmin, qmax) = split.q_range();
    let (qmin, qmax) = (qmin as i128, qmax as i128);
    let m = split.m();
    // The error is e = r / 2^kk with r an exact integer.
    let (q, r, kk): (i128, i128, u32);
    let saturated;
    if k > 0 {
        if k >= 120 {
            // Only reached from encode with tiny inputs (|s| < 2^53 <= 2^(k-1)):
            // q0 = 0 and the error is s / 2^k.
            return Rounded {
                word: comp_fields_far(s, fmt),
                saturated: false,
            };
        }
        let k = k as u32;
        let q0 = (s + (1i128 << (k - 1))) >> k;
        q = q0.clamp(qmin, qmax);
        saturated = q != q0;
        r = s - (q << k);
        kk = k;
    } else {
        let sh = (-k) as u32;
        // s << sh, saturating analytically when it does not fit in 2^120
        // (so that |r| * 64 and |r| << (M+1) below cannot overflow u128).
        let y = if s == 0 {
            Some(0)
        } else if sh >= 120 || (s.unsigned_abs() >> (120 - sh)) != 0 {
            None
        } else {
            Some(s << sh)
        };
        match y {
            Some(y) => {
                q = y.clamp(qmin, qmax);
                saturated = q != y;
                r = y - q;
            }
            None => {
                // Huge magnitude: saturated, |e| far above any threshold.
                q = if s > 0 { qmax } else { qmin };
                saturated = true;
                r = if s > 0 { 1 << 100 } else { -(1 << 100) };
            }
        }
        kk = 0;
    }
    // FxP words carry no compensation fields (all 0, see `Word`).
    let edb = split.comp.is_some() && r > 0;
    let mag = r.unsigned_abs();
    let emb = if m == 0 {
        0
    } else {
        let bin = (mag << (m + 1)) >> kk;
        bin.min((1u128 << m) - 1) as u32
    };
    let ezb = split.z() && mag * 64 <= (fmt.t as u128) << kk;
    Rounded {
        word: Word {
            q: q as i32,
            ezb,
            edb,
            emb,
        },
        saturated,
    }
}

/// Compensation fields for q = 0 and an error r / 2^k with k >= 120 and
/// |r| < 2^64: every magnitude bin rounds to 0, ezb holds when T > 0 or r = 0.
fn comp_fields_far(r: i128, fmt: &Format) -> Word {
    Word {
        q: 0,
        edb: fmt.split.comp.is_some() && r > 0,
        emb: 0,
        ezb: fmt.split.z() && (r == 0 || fmt.t > 0),
    }
}

/// Section 2: encodes a finite real into `fmt`. NaN and infinities are errors.
pub fn encode(x: f64, fmt: &Format) -> Result<Word, GoldenError> {
    encode_full(x, fmt).map(|r| r.word)
}

/// Like [`encode`], also telling whether q saturated.
pub fn encode_full(x: f64, fmt: &Format) -> Result<Rounded, GoldenError> {
    if !x.is_finite() {
        return Err(GoldenError::NotFinite(x));
    }
    let (mant, exp) = decompose(x);
    // y = x * 2^FB = mant * 2^(exp + FB) = mant / 2^k with k = -(exp + FB).
    let k = -(exp + fmt.fb);
    Ok(round_scaled(mant as i128, k, fmt))
}

/// Writes a finite f64 exactly as `mant * 2^exp` with |mant| < 2^53.
pub fn decompose(x: f64) -> (i64, i32) {
    if x == 0.0 {
        return (0, 0);
    }
    let bits = x.to_bits();
    let sign = if bits >> 63 == 1 { -1i64 } else { 1 };
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let frac = (bits & ((1u64 << 52) - 1)) as i64;
    let (mant, exp) = if biased == 0 {
        (frac, -1074)
    } else {
        (frac | (1i64 << 52), biased - 1075)
    };
    (sign * mant, exp)
}

/// Section 5: requantizes a dot-product `sum` at scale `f_in` into `out`,
/// after ReLU when `relu`. k = f_in - FBo.
pub fn requant(sum: i64, f_in: i32, out: &Format, relu: bool) -> Rounded {
    let s = if relu { sum.max(0) } else { sum };
    round_scaled(s as i128, f_in - out.fb, out)
}

/// Packs a word into its N-bit layout: `q`, then ezb (if Z), edb, emb (if M).
/// FxP words are just q in W bits.
pub fn pack(split: &Split, word: &Word) -> u32 {
    let q = (word.q as u32) & ((1u32 << split.w) - 1);
    match split.comp {
        None => q,
        Some(c) => {
            let mut comp = 0u32;
            if c.z {
                comp = word.ezb as u32;
            }
            comp = (comp << 1) | word.edb as u32;
            comp = (comp << c.m) | (word.emb & ((1u32 << c.m) - 1));
            (q << c.c()) | comp
        }
    }
}

/// Unpacks an N-bit word (bits above N are ignored).
pub fn unpack(split: &Split, bits: u32) -> Word {
    let c = split.c();
    let w = split.w;
    let raw_q = (bits >> c) & ((1u32 << w) - 1);
    // Sign-extend W bits.
    let q = ((raw_q << (32 - w)) as i32) >> (32 - w);
    match split.comp {
        None => Word {
            q,
            ..Word::default()
        },
        Some(cp) => {
            let emb = bits & ((1u32 << cp.m) - 1);
            let edb = (bits >> cp.m) & 1 == 1;
            let ezb = cp.z && (bits >> (cp.m + 1)) & 1 == 1;
            Word { q, ezb, edb, emb }
        }
    }
}

/// Section 3: the error estimate in units of 2^-(FB+G); 0 for FxP.
pub fn est(split: &Split, word: &Word) -> i32 {
    match split.comp {
        None => 0,
        Some(c) if c.z && word.ezb => 0,
        Some(_) => {
            let mag = 2 * word.emb as i32 + 1;
            if word.edb {
                mag
            } else {
                -mag
            }
        }
    }
}

/// A word reduced to what the dot product needs: q and its estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Operand {
    /// q.
    pub q: i32,
    /// est(word), see [`est`].
    pub est: i32,
    /// ezb with Z = 1 (the pair is sparse when both operands have it).
    pub zero: bool,
}

impl Operand {
    /// Decodes a word for the dot product.
    pub fn of(split: &Split, word: &Word) -> Self {
        Operand {
            q: word.q,
            est: est(split, word),
            zero: split.z() && word.ezb,
        }
    }
    /// Decodes a packed word.
    pub fn of_bits(split: &Split, bits: u32) -> Self {
        Operand::of(split, &unpack(split, bits))
    }
}

/// Section 4: the compensated dot product
/// `sum = (sum qw*qa) * 2^G + sum (qw*est(a) + qa*est(w))`.
/// `g` is G (0 for FxP, where every est is 0). The slices must have equal length.
pub fn dot(g: u32, w: &[Operand], a: &[Operand]) -> i64 {
    debug_assert_eq!(w.len(), a.len());
    // sum_i qw*(qa*2^G + est_a) + qa*est_w: two multiplies per pair, exact in
    // i64 (|term| < 2^35 for W <= 16, |est| <= 7, G <= 4). Four independent
    // accumulators let the two multiplies of neighbouring pairs overlap.
    #[inline(always)]
    fn term(g: u32, w: &Operand, a: &Operand) -> i64 {
        w.q as i64 * (((a.q as i64) << g) + a.est as i64) + a.q as i64 * w.est as i64
    }
    let n = w.len().min(a.len());
    let (w, a) = (&w[..n], &a[..n]);
    let (w4, a4) = (w.chunks_exact(4), a.chunks_exact(4));
    let (wr, ar) = (w4.remainder(), a4.remainder());
    let mut acc = [0i64; 4];
    for (w4, a4) in w4.zip(a4) {
        for j in 0..4 {
            acc[j] += term(g, &w4[j], &a4[j]);
        }
    }
    let tail: i64 = wr.iter().zip(ar).map(|(w, a)| term(g, w, a)).sum();
    acc[0] + acc[1] + acc[2] + acc[3] + tail
}

/// Section 4 split into its parts: (acc, comp), with sum = acc * 2^G + comp.
pub fn dot_parts(w: &[Operand], a: &[Operand]) -> (i64, i64) {
    let mut acc = 0i64;
    let mut comp = 0i64;
    for (w, a) in w.iter().zip(a) {
        acc += w.q as i64 * a.q as i64;
        comp += w.q as i64 * a.est as i64 + a.q as i64 * w.est as i64;
    }
    (acc, comp)
}

/// Bias in `sum` units (spec 9): floor(b * 2^f_in + 1/2), exact, no saturation.
pub fn bias_to_sum(b: f64, f_in: i32) -> Result<i64, GoldenError> {
    if !b.is_finite() {
        return Err(GoldenError::NotFinite(b));
    }
    let (mant, exp) = decompose(b);
    let k = -(exp + f_in);
    let s = mant as i128;
    let v = if k > 0 {
        if k >= 120 {
            0
        } else {
            (s + (1i128 << (k - 1))) >> k
        }
    } else {
        let sh = (-k) as u32;
        if s != 0 && (sh >= 100 || (s.unsigned_abs() >> (126 - sh)) != 0) {
            if s > 0 {
                i64::MAX as i128
            } else {
                i64::MIN as i128
            }
        } else {
            s << sh
        }
    };
    Ok(v.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// Spec 9's requantization generalized to a divisor: the exact value
/// `s / (d * 2^f)` into `out` (no ReLU; apply it to `s` first). With
/// k = f - FBo, n = s * 2^max(0, -k), D = d * 2^max(0, k): q0 = floor((2n + D) / 2D),
/// q = clamp(q0), r = n - q * D; edb = r > 0; emb = min(floor(|r| * 2^(M+1) / D), 2^M - 1);
/// ezb = |r| * 64 <= T * D. For d = 1 this is [`round_scaled`] (section 5).
/// `d` must be in 1..2^40 (products of pooling window sizes).
pub fn requant_div(s: i64, f: i32, d: i64, out: &Format) -> Rounded {
    let k = f - out.fb;
    if d == 1 {
        return round_scaled(s as i128, k, out);
    }
    // |s| < 2^63, d < 2^40: n < 2^124 (kn <= 60), 2D < 2^122 (kp <= 80).
    let (kp, kn) = (k.max(0) as u32, (-k).max(0) as u32);
    let (qmin, qmax) = out.split.q_range();
    if s != 0 && kn > 60 {
        // |n| >= 2^60 far above any q * D (D = d < 2^40, |q| <= 2^15): saturated,
        // the error has the sign of s and a magnitude above every threshold.
        return Rounded {
            word: Word {
                q: if s > 0 { qmax as i32 } else { qmin as i32 },
                edb: out.split.comp.is_some() && s > 0,
                emb: (1u32 << out.split.m()) - 1,
                ezb: false,
            },
            saturated: true,
        };
    }
    if kp > 80 {
        // D >= 2^81 > 2^6 * |s|: q0 = 0, r = s, emb = 0 (exact, as in encode).
        return Rounded {
            word: comp_fields_far(s as i128, out),
            saturated: false,
        };
    }
    let n = (s as i128) << kn;
    let dd = (d as i128) << kp;
    let q0 = (2 * n + dd).div_euclid(2 * dd);
    let q = q0.clamp(qmin as i128, qmax as i128);
    let r = n - q * dd;
    let split = out.split;
    let m = split.m();
    let mag = r.unsigned_abs();
    let emb = if m == 0 {
        0
    } else {
        (mag.saturating_mul(1 << (m + 1)) / dd as u128).min((1u128 << m) - 1) as u32
    };
    Rounded {
        word: Word {
            q: q as i32,
            edb: split.comp.is_some() && r > 0,
            emb,
            ezb: split.z() && mag.saturating_mul(64) <= out.t as u128 * dd as u128,
        },
        saturated: q != q0,
    }
}
