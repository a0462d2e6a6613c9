// Datapath widths of the generated hardware (shared by build.rs and the library).
//
// Every width is the smallest two's-complement width that holds the exact
// worst-case range of its signal for dot products of length <= max_len and any
// operand values (spec 4: no overflow). Ranges are computed with i128 interval
// arithmetic from W, M and Lmax; nothing is guessed.

/// The generator's accepted range of Lmax (`--max-len`).
pub const MAX_LEN_RANGE: (u64, u64) = (1, 65536);

/// The length the accumulators are sized for: the next power of two >= Lmax.
/// For a power-of-two Lmax (the default 4096) every width is the exact
/// minimum; otherwise a width may be one bit above the minimum for Lmax.
pub const fn sized_len(max_len: u64) -> u64 {
    max_len.next_power_of_two()
}

/// Smallest signed width n with -2^(n-1) <= lo and hi <= 2^(n-1) - 1
/// (requires lo <= 0 <= hi).
pub const fn signed_bits(lo: i128, hi: i128) -> u32 {
    let a = 128 - hi.leading_zeros();
    let b = 128 - (-lo - 1).leading_zeros();
    1 + if a > b { a } else { b }
}

/// Widths of one MAC configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Widths {
    /// W, computation bits.
    pub w: u32,
    /// M, emb bits (0 for FxP).
    pub m: u32,
    /// Z, ezb present.
    pub z: bool,
    /// FxP (no compensation) when false.
    pub fpec: bool,
    /// C compensation bits.
    pub c: u32,
    /// N = W + C packed word width.
    pub n: u32,
    /// G guard bits.
    pub g: u32,
    /// P product width (2W).
    pub p: u32,
    /// A product-accumulator width.
    pub a: u32,
    /// T, width of one fused term `(qw*qa << G) + qw*est(a) + qa*est(w)`
    /// (= P for FxP).
    pub t: u32,
    /// TW compensation-term width (qw*est(a) + qa*est(w)).
    pub tw: u32,
    /// CA compensation-accumulator width.
    pub ca: u32,
    /// S output sum width.
    pub s: u32,
}

/// Computes the widths; `m`, `z` are ignored when `fpec` is false.
pub const fn widths(w: u32, m: u32, z: bool, fpec: bool, max_len: u64) -> Widths {
    let l = max_len as i128;
    let qmin = -(1i128 << (w - 1));
    let qmax = (1i128 << (w - 1)) - 1;
    let (plo, phi) = (qmin * qmax, qmin * qmin);
    let p = signed_bits(plo, phi);
    let a = signed_bits(l * plo, l * phi);
    if !fpec {
        return Widths { w, m: 0, z: false, fpec, c: 0, n: w, g: 0, p, a, t: p, tw: 0, ca: 0, s: a };
    }
    let c = z as u32 + 1 + m;
    let g = m + 2;
    let emax = (1i128 << (m + 1)) - 1;
    // t = qw*est(a) + qa*est(w); each product lies in [qmin*emax, -qmin*emax].
    let (tlo, thi) = (2 * qmin * emax, -2 * qmin * emax);
    let tw = signed_bits(tlo, thi);
    let ca = signed_bits(l * tlo, l * thi);
    let t = signed_bits(plo * (1 << g) + tlo, phi * (1 << g) + thi);
    let s = signed_bits(l * plo * (1 << g) + l * tlo, l * phi * (1 << g) + l * thi);
    Widths { w, m, z, fpec, c, n: w + c, g, p, a, t, tw, ca, s }
}

/// The least output width S that any correct MAC may have for dot products
/// of up to `max_len` terms (spec 4 worst case, exact: the extreme terms
/// `(qw*qa << G) + qw*ea + qa*ew` over the corners of q and the error
/// estimates, times Lmax). The generator's `widths(..).s` is never below it
/// (it sizes for the next power of two of Lmax and bounds the two parts of
/// a term separately); the verifier checks hand-written RTL against it.
#[allow(dead_code)]
pub fn min_sum_width(w: u32, m: u32, z: bool, fpec: bool, max_len: u64) -> u32 {
    let _ = z;
    let qmin = -(1i128 << (w - 1));
    let qmax = (1i128 << (w - 1)) - 1;
    let (emax, g) = if fpec { ((1i128 << (m + 1)) - 1, m + 2) } else { (0, 0) };
    let (mut lo, mut hi) = (0i128, 0i128);
    for qw in [qmin, qmax] {
        for qa in [qmin, qmax] {
            for ew in [-emax, emax] {
                for ea in [-emax, emax] {
                    let t = ((qw * qa) << g) + qw * ea + qa * ew;
                    lo = lo.min(t);
                    hi = hi.max(t);
                }
            }
        }
    }
    let l = max_len as i128;
    signed_bits(lo * l, hi * l)
}
