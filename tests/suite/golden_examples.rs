//! Hand-worked examples of the golden model (spec sections 2-5).
//!
//! Every expected value below is a literal worked out by hand from
//! FPEC-SPEC.md; the arithmetic is written out in the comments. Notation:
//! y = x * 2^FB (value in LSBs), q0 = floor(y + 1/2), q = clamp(q0),
//! e = y - q, edb = e > 0, emb = min(floor(|e| * 2^(M+1)), 2^M - 1),
//! ezb = |e| * 64 <= T, est = 0 if ezb else (edb ? + : -)(2 emb + 1) in
//! units of 2^-(FB+G), G = M + 2. Packed layout (MSB..LSB):
//! q[W-1:0] | ezb (if Z) | edb | emb[M-1:0] (if M).

use fpec::format::{Comp, Format, Split};
use fpec::golden::{
    bias_to_sum, dot, dot_parts, encode, encode_full, est, pack, requant, unpack, Operand, Word,
};

/// FPEC(W, FB, M, Z, T); `t = None` is the default T = 8 >> M.
fn fpec(w: u32, m: u32, z: bool, fb: i32, t: Option<u32>) -> Format {
    Format::new(Split::new(w, Some(Comp { m, z })).unwrap(), fb, t).unwrap()
}

fn word(q: i32, ezb: bool, edb: bool, emb: u32) -> Word {
    Word { q, ezb, edb, emb }
}

/// Encodes x and checks the word, the saturation flag, est and the packed bits.
fn check(x: f64, f: &Format, want: Word, sat: bool, want_est: i32, want_bits: u32) {
    let r = encode_full(x, f).unwrap();
    assert_eq!(r.word, want, "word of x = {x:e} in {f:?}");
    assert_eq!(r.saturated, sat, "saturated flag of x = {x:e} in {f:?}");
    assert_eq!(encode(x, f).unwrap(), want);
    assert_eq!(est(&f.split, &r.word), want_est, "est of x = {x:e}");
    assert_eq!(pack(&f.split, &r.word), want_bits, "packed x = {x:e}");
    assert_eq!(unpack(&f.split, want_bits), want, "unpack {want_bits:#x}");
}

// ---------------------------------------------------------------- encoding

/// 6+2 (M=0, Z=1), FB=4, default T = 8 >> 0 = 8.
/// x = 53/64 = 0.828125: y = 53/64 * 16 = 13.25; q0 = floor(13.75) = 13;
/// e = +0.25 -> edb = 1; |e|*64 = 16 > 8 -> ezb = 0; est = +1 (units 2^-6,
/// i.e. +1/4 LSB). Packed: 001101 | 0 | 1 = 0b0011_0101 = 0x35.
#[test]
fn m0_z1_default_t() {
    let f = fpec(6, 0, true, 4, None);
    assert_eq!(f.t, 8);
    check(0.828125, &f, word(13, false, true, 0), false, 1, 0x35);
}

/// Same format, x = 0.8 (not dyadic; f64(0.8) = 0.8000000000000000444...):
/// y = 12.8000000000000007; q0 = floor(13.30...) = 13; e = -0.19999... -> edb = 0;
/// |e|*64 = 12.8 > 8 -> ezb = 0; est = -1. Packed 001101 | 0 | 0 = 0x34.
#[test]
fn m0_z1_non_dyadic() {
    let f = fpec(6, 0, true, 4, None);
    check(0.8, &f, word(13, false, false, 0), false, -1, 0x34);
}

/// 6+2 (M=0, Z=1), FB=4, T=8: the zero threshold, both sides of it.
/// x = 13.125/16 = 0.8203125: y = 13.125, q = 13, e = 1/8, |e|*64 = 8 <= 8
///   -> ezb = 1, edb = 1, est = 0. Packed 001101 | 1 | 1 = 0x37.
/// x = (13 + 9/64)/16 = 0.8212890625: e = 9/64, |e|*64 = 9 > 8 -> ezb = 0,
///   edb = 1, est = +1. Packed 001101 | 0 | 1 = 0x35.
/// x = (13 - 1/8)/16 = 0.8046875: y = 12.875, q0 = floor(13.375) = 13,
///   e = -1/8, |e|*64 = 8 -> ezb = 1, edb = 0, est = 0. Packed 001101|1|0 = 0x36.
#[test]
fn m0_z1_threshold_edges() {
    let f = fpec(6, 0, true, 4, None);
    check(0.8203125, &f, word(13, true, true, 0), false, 0, 0x37);
    check(0.8212890625, &f, word(13, false, true, 0), false, 1, 0x35);
    check(0.8046875, &f, word(13, true, false, 0), false, 0, 0x36);
}

/// Explicit T versus default T, 6+2 (M=0, Z=1), FB=4, x = 0.828125 (e = +1/4,
/// |e|*64 = 16): T = 32 -> 16 <= 32 -> ezb = 1, est 0, packed 001101|1|1 = 0x37;
/// T = 16 -> 16 <= 16 -> ezb = 1 (0x37); T = 15 -> ezb = 0 (0x35);
/// T = 0 -> ezb = 0 (0x35).
/// x = 13/16 = 0.8125 (e = 0): T = 0 -> 0 <= 0 -> ezb = 1, edb = 0 (e > 0 is
/// false), est 0, packed 001101|1|0 = 0x36.
#[test]
fn explicit_t() {
    check(
        0.828125,
        &fpec(6, 0, true, 4, Some(32)),
        word(13, true, true, 0),
        false,
        0,
        0x37,
    );
    check(
        0.828125,
        &fpec(6, 0, true, 4, Some(16)),
        word(13, true, true, 0),
        false,
        0,
        0x37,
    );
    check(
        0.828125,
        &fpec(6, 0, true, 4, Some(15)),
        word(13, false, true, 0),
        false,
        1,
        0x35,
    );
    check(
        0.828125,
        &fpec(6, 0, true, 4, Some(0)),
        word(13, false, true, 0),
        false,
        1,
        0x35,
    );
    check(
        0.8125,
        &fpec(6, 0, true, 4, Some(0)),
        word(13, true, false, 0),
        false,
        0,
        0x36,
    );
}

/// 6+3 (M=1, Z=1), FB=2, default T = 8 >> 1 = 4.
/// x = -1.40625: y = -5.625; q0 = floor(-5.125) = -6; e = -5.625 + 6 = +0.375;
/// edb = 1; emb = min(floor(0.375*4) = 1, 1) = 1; |e|*64 = 24 > 4 -> ezb = 0;
/// est = +(2*1+1) = +3 (units 2^-(2+3): 3/8 LSB).
/// Packed: -6 = 111010 | 0 | 1 | 1 = 0b1_1101_0011 = 0x1D3.
/// x = -1.5: y = -6, e = 0 -> edb 0, emb 0, ezb 1 (0 <= 4), est 0;
/// packed 111010 | 1 | 0 | 0 = 0b1_1101_0100 = 0x1D4.
#[test]
fn m1_z1() {
    let f = fpec(6, 1, true, 2, None);
    assert_eq!(f.t, 4);
    check(-1.40625, &f, word(-6, false, true, 1), false, 3, 0x1D3);
    check(-1.5, &f, word(-6, true, false, 0), false, 0, 0x1D4);
}

/// 4+4 (M=2, Z=1), FB=0, default T = 8 >> 2 = 2.
/// x = 2.6875 = 2 + 11/16: y = 2.6875; q0 = floor(3.1875) = 3; e = -5/16;
/// edb = 0; emb = min(floor(5/16 * 8) = floor(2.5) = 2, 3) = 2; |e|*64 = 20 > 2
/// -> ezb = 0; est = -(2*2+1) = -5 (units 1/16: -5/16 LSB, exact here).
/// Packed: 0011 | 0 | 0 | 10 = 0b0011_0010 = 0x32.
/// x = 1.03125 = 1 + 1/32: y = 1.03125, q = 1, e = 1/32, |e|*64 = 2 <= 2 ->
/// ezb = 1; edb = 1; emb = floor(1/32*8) = 0; est 0. Packed 0001|1|1|00 = 0x1C.
#[test]
fn m2_z1() {
    let f = fpec(4, 2, true, 0, None);
    assert_eq!(f.t, 2);
    check(2.6875, &f, word(3, false, false, 2), false, -5, 0x32);
    check(1.03125, &f, word(1, true, true, 0), false, 0, 0x1C);
}

/// W=5, M=2, Z=0 (C = 3, explicit fields), FB=3; T is irrelevant without ezb.
/// x = 0.46875: y = 3.75; q0 = floor(4.25) = 4; e = -0.25; edb = 0;
/// emb = min(floor(0.25*8) = 2, 3) = 2; est = -5 (units 2^-(3+4)).
/// Packed: 00100 | 0 | 10 = 0b0010_0010 = 0x22.
/// x = 0.3125: y = 2.5 (tie) -> q0 = floor(3) = 3, e = -0.5; edb = 0;
/// emb = min(floor(0.5*8) = 4, 3) = 3 (top bin clamps); est = -7.
/// Packed: 00011 | 0 | 11 = 0b0001_1011 = 0x1B.
/// x = 0.375: y = 3 exactly, e = 0 -> edb 0, emb 0, est = -1 (no ezb to zero
/// it). Packed 00011 | 0 | 00 = 0x18.
#[test]
fn m2_z0() {
    let f = fpec(5, 2, false, 3, Some(32));
    check(0.46875, &f, word(4, false, false, 2), false, -5, 0x22);
    check(0.3125, &f, word(3, false, false, 3), false, -7, 0x1B);
    check(0.375, &f, word(3, false, false, 0), false, -1, 0x18);
}

/// M=1, Z=0 (C = 2 explicit), W=3, FB=1.
/// x = 0.875: y = 1.75; q0 = floor(2.25) = 2; e = -0.25; edb = 0;
/// emb = min(floor(0.25*4) = 1, 1) = 1; est = -3. Packed 010 | 0 | 1 = 0b01001 = 0x09.
#[test]
fn m1_z0() {
    let f = fpec(3, 1, false, 1, None);
    check(0.875, &f, word(2, false, false, 1), false, -3, 0x09);
}

/// Exact ties round half up. 6+1 (M=0, Z=0), FB=1.
/// x = 1.25: y = 2.5, q0 = floor(3.0) = 3, e = -0.5, edb = 0, est = -1.
///   Packed 000011 | 0 = 0b000_0110 = 0x06.
/// x = -1.25: y = -2.5, q0 = floor(-2.0) = -2 (not -3), e = -0.5, edb = 0, est -1.
///   Packed -2 = 111110 | 0 = 0b111_1100 = 0x7C.
/// x = -0.25: y = -0.5, q0 = floor(0) = 0, e = -0.5, edb = 0. Packed 0x00.
/// x = 0.25: y = 0.5, q0 = 1, e = -0.5, edb = 0. Packed 000001|0 = 0x02.
#[test]
fn ties_round_half_up() {
    let f = fpec(6, 0, false, 1, None);
    check(1.25, &f, word(3, false, false, 0), false, -1, 0x06);
    check(-1.25, &f, word(-2, false, false, 0), false, -1, 0x7C);
    check(-0.25, &f, word(0, false, false, 0), false, -1, 0x00);
    check(0.25, &f, word(1, false, false, 0), false, -1, 0x02);
}

/// FxP(4, 0) ties: -2.5 -> floor(-2) = -2 = 0b1110; -3.5 -> floor(-3) = -3 =
/// 0b1101; 0.5 -> 1 = 0b0001; -0.5 -> floor(0) = 0; 6.5 -> floor(7) = 7 = 0b0111;
/// -8.5 -> floor(-8) = -8 = 0b1000 (in range, not saturated).
#[test]
fn fxp_ties() {
    let f = Format::fxp(4, 0).unwrap();
    let fx = |x: f64, q: i32, bits: u32| {
        let r = encode_full(x, &f).unwrap();
        assert_eq!(r.word, word(q, false, false, 0), "x = {x}");
        assert!(!r.saturated, "x = {x}");
        assert_eq!(est(&f.split, &r.word), 0);
        assert_eq!(pack(&f.split, &r.word), bits, "x = {x}");
    };
    fx(-2.5, -2, 0xE);
    fx(-3.5, -3, 0xD);
    fx(0.5, 1, 0x1);
    fx(-0.5, 0, 0x0);
    fx(6.5, 7, 0x7);
    fx(-8.5, -8, 0x8);
}

/// Saturation at the top. 4+2 (M=0, Z=1), FB=2, default T=8. q in [-8, 7].
/// x = 2.0: y = 8, q0 = 8 -> q = 7 (saturated), e = +1, edb = 1, |e|*64 = 64 > 8
///   -> ezb 0, est +1. Packed 0111 | 0 | 1 = 0b01_1101 = 0x1D.
/// x = 1.875: y = 7.5, q0 = floor(8) = 8 -> q = 7, saturated, e = +0.5, edb 1. 0x1D.
/// x = 1.8125: y = 7.25, q0 = floor(7.75) = 7, not saturated, e = 0.25,
///   |e|*64 = 16 > 8, edb 1. 0x1D.
/// x = 1e6: y = 4e6 -> q = 7, e huge positive, edb 1, ezb 0. 0x1D.
#[test]
fn saturation_high() {
    let f = fpec(4, 0, true, 2, None);
    check(2.0, &f, word(7, false, true, 0), true, 1, 0x1D);
    check(1.875, &f, word(7, false, true, 0), true, 1, 0x1D);
    check(1.8125, &f, word(7, false, true, 0), false, 1, 0x1D);
    check(1e6, &f, word(7, false, true, 0), true, 1, 0x1D);
}

/// Saturation at the bottom. 4+2 (M=0, Z=1), FB=2, default T=8.
/// x = -2.25: y = -9, q0 = -9 -> q = -8 (saturated), e = -1, edb 0, ezb 0, est -1.
///   Packed 1000 | 0 | 0 = 0b10_0000 = 0x20.
/// x = -2.125: y = -8.5, q0 = floor(-8) = -8, NOT saturated, e = -0.5, edb 0. 0x20.
/// x = -2.15625: y = -8.625, q0 = floor(-8.125) = -9 -> -8 saturated, e = -0.625. 0x20.
/// With 4+4 (M=2, Z=1), FB=2: x = -2.15625 -> q = -8, e = -0.625,
///   emb = min(floor(0.625*8) = 5, 3) = 3, est = -7; packed 1000|0|0|11 = 0x83.
#[test]
fn saturation_low() {
    let f = fpec(4, 0, true, 2, None);
    check(-2.25, &f, word(-8, false, false, 0), true, -1, 0x20);
    check(-2.125, &f, word(-8, false, false, 0), false, -1, 0x20);
    check(-2.15625, &f, word(-8, false, false, 0), true, -1, 0x20);
    let f4 = fpec(4, 2, true, 2, None);
    check(-2.15625, &f4, word(-8, false, false, 3), true, -7, 0x83);
}

/// Negative FB. 6+3 (M=1, Z=1), FB = -2 (IB = 6-1+2 = 7), default T = 4.
/// x = 37: y = 37/4 = 9.25, q0 = floor(9.75) = 9, e = +0.25, edb 1,
/// emb = min(floor(0.25*4) = 1, 1) = 1 (bin edge belongs to the upper bin),
/// |e|*64 = 16 > 4 -> ezb 0, est = +3 (units 2^-(FB+G) = 2^-1: 9*4 + 1.5 = 37.5).
/// Packed 001001 | 0 | 1 | 1 = 0b0_0100_1011 = 0x4B.
/// x = -200: y = -50 -> q = -32 saturated, e = -18, edb 0, emb 1, est -3.
/// Packed 100000 | 0 | 0 | 1 = 0b1_0000_0001 = 0x101.
#[test]
fn negative_fb() {
    let f = fpec(6, 1, true, -2, None);
    assert_eq!(f.ib(), 7);
    check(37.0, &f, word(9, false, true, 1), false, 3, 0x4B);
    check(-200.0, &f, word(-32, false, false, 1), true, -3, 0x101);
}

/// FB > W. 4+2 (M=0, Z=1), FB = 6 (IB = -3), default T = 8.
/// x = 4.5/64 = 0.0703125: y = 4.5 (tie), q0 = 5, e = -0.5, edb 0, ezb 0 (32 > 8),
///   est -1. Packed 0101 | 0 | 0 = 0b01_0100 = 0x14.
/// x = 0.1: y = 6.4000000000000004, q0 = floor(6.9) = 6, e = 0.4, edb 1, est +1.
///   Packed 0110 | 0 | 1 = 0b01_1001 = 0x19.
/// FB = 8: x = 6/256 = 0.0234375: y = 6, e = 0, ezb 1, edb 0, est 0.
///   Packed 0110 | 1 | 0 = 0b01_1010 = 0x1A.
#[test]
fn fb_greater_than_w() {
    let f = fpec(4, 0, true, 6, None);
    assert_eq!(f.ib(), -3);
    check(0.0703125, &f, word(5, false, false, 0), false, -1, 0x14);
    check(0.1, &f, word(6, false, true, 0), false, 1, 0x19);
    check(
        0.0234375,
        &fpec(4, 0, true, 8, None),
        word(6, true, false, 0),
        false,
        0,
        0x1A,
    );
}

/// Tiny values round to q = 0 with a tiny error of the value's sign.
/// 6+2 (M=0, Z=1), FB=4: x = 1e-300 -> y ~ 1.6e-299, q = 0, e > 0 -> edb 1;
///   T = 8: |e|*64 <= 8 -> ezb 1, est 0, packed 000000|1|1 = 0x03;
///   T = 0: |e|*64 > 0 -> ezb 0, est +1, packed 000000|0|1 = 0x01.
/// 4+4 (M=2, Z=1), FB=32, T=0: x = -5e-324 (smallest subnormal, -2^-1074):
///   y = -2^-1042, q = 0, e < 0: edb 0, emb 0, ezb 0, est -1; packed 0x00.
///   x = 0.0 and -0.0: e = 0, edb 0, ezb 1 (0 <= 0), est 0;
///   packed 0000|1|0|00 = 0x08.
///   x = f64::MIN_POSITIVE (2^-1022): edb 1, emb 0, ezb 0, est +1;
///   packed 0000|0|1|00 = 0x04.
#[test]
fn tiny_values() {
    check(
        1e-300,
        &fpec(6, 0, true, 4, None),
        word(0, true, true, 0),
        false,
        0,
        0x03,
    );
    check(
        1e-300,
        &fpec(6, 0, true, 4, Some(0)),
        word(0, false, true, 0),
        false,
        1,
        0x01,
    );
    let f = fpec(4, 2, true, 32, Some(0));
    check(-5e-324, &f, word(0, false, false, 0), false, -1, 0x00);
    check(0.0, &f, word(0, true, false, 0), false, 0, 0x08);
    check(-0.0, &f, word(0, true, false, 0), false, 0, 0x08);
    check(
        f64::MIN_POSITIVE,
        &f,
        word(0, false, true, 0),
        false,
        1,
        0x04,
    );
}

/// Huge values saturate. 4+4 (M=2, Z=1), FB = 32, default T = 2.
/// x = f64::MAX: q = 7, e huge positive: edb 1, emb = min(huge, 3) = 3, ezb 0,
///   est +7. Packed 0111 | 0 | 1 | 11 = 0b0111_0111 = 0x77.
/// x = -f64::MAX: q = -8, e huge negative: edb 0, emb 3, est -7.
///   Packed 1000 | 0 | 0 | 11 = 0b1000_0011 = 0x83.
/// FB = 22, x = 2^100: y = 2^122 (exactly representable in i128, but |e|*64
///   exceeds 2^128): q = 7 saturated, same fields as f64::MAX -> 0x77.
/// FB = 22, x = -2^103: y = -2^125 -> q = -8 -> 0x83.
#[test]
fn huge_values() {
    let f = fpec(4, 2, true, 32, None);
    check(f64::MAX, &f, word(7, false, true, 3), true, 7, 0x77);
    check(-f64::MAX, &f, word(-8, false, false, 3), true, -7, 0x83);
    let f22 = fpec(4, 2, true, 22, None);
    check(2f64.powi(100), &f22, word(7, false, true, 3), true, 7, 0x77);
    check(
        -(2f64.powi(103)),
        &f22,
        word(-8, false, false, 3),
        true,
        -7,
        0x83,
    );
}

/// NaN and infinities are errors, never encoded.
#[test]
fn non_finite_is_error() {
    let f = fpec(6, 0, true, 4, None);
    assert!(encode(f64::NAN, &f).is_err());
    assert!(encode(f64::INFINITY, &f).is_err());
    assert!(encode(f64::NEG_INFINITY, &f).is_err());
    assert!(bias_to_sum(f64::NAN, 4).is_err());
}

// ------------------------------------------------------------ dot product

/// 6+2 (M=0, Z=1), G = 2. Words, packed q(6) | ezb | edb:
///   w1 = 0x0F = 000011|1|1 : q=3,  ezb 1 -> est 0
///   w2 = 0xF9 = 111110|0|1 : q=-2, est +1
///   w3 = 0x16 = 000101|1|0 : q=5,  ezb 1 -> est 0
///   w4 = 0xE4 = 111001|0|0 : q=-7, est -1
///   a1 = 0x12 = 000100|1|0 : q=4,  ezb 1 -> est 0
///   a2 = 0x1B = 000110|1|1 : q=6,  ezb 1 -> est 0
///   a3 = 0xFD = 111111|0|1 : q=-1, est +1
///   a4 = 0x08 = 000010|0|0 : q=2,  est -1
/// pair 1 (both ezb): qw*qa = 12, comp 0 (sparse).
/// pair 2 (a ezb):    qw*qa = -12, comp = -2*0 + 6*(+1) = 6.
/// pair 3 (w ezb):    qw*qa = -5,  comp = 5*(+1) + (-1)*0 = 5.
/// pair 4 (none):     qw*qa = -14, comp = -7*(-1) + 2*(-1) = 5.
/// acc = 12 - 12 - 5 - 14 = -19; comp = 16; sum = -19*4 + 16 = -60.
#[test]
fn dot_fpec_mixed_sparsity() {
    let s = Split::parse("6+2").unwrap();
    let w: Vec<Operand> = [0x0F, 0xF9, 0x16, 0xE4]
        .iter()
        .map(|&b| Operand::of_bits(&s, b))
        .collect();
    let a: Vec<Operand> = [0x12, 0x1B, 0xFD, 0x08]
        .iter()
        .map(|&b| Operand::of_bits(&s, b))
        .collect();
    assert_eq!(
        w.iter().map(|o| (o.q, o.est, o.zero)).collect::<Vec<_>>(),
        vec![(3, 0, true), (-2, 1, false), (5, 0, true), (-7, -1, false)]
    );
    assert_eq!(
        a.iter().map(|o| (o.q, o.est, o.zero)).collect::<Vec<_>>(),
        vec![(4, 0, true), (6, 0, true), (-1, 1, false), (2, -1, false)]
    );
    assert_eq!(dot_parts(&w, &a), (-19, 16));
    assert_eq!(dot(2, &w, &a), -60);
}

/// Sparse pair: 6+3 (M=1, Z=1), G = 3. Both words have ezb = 1 but nonzero
/// edb/emb, which must be ignored:
///   w = 000011|1|1|1 = 0b0_0001_1111 = 0x01F: q = 3, est 0 (would be +3)
///   a = 111011|1|1|1 = 0b1_1101_1111 = 0x1DF: q = -5, est 0
/// sum = 3*(-5)*8 + 0 = -120; comp = 0.
/// One ezb only: w' = 000011|0|1|1 = 0x01B (q 3, est +3), a as above:
/// comp = 3*0 + (-5)*3 = -15; sum = -120 - 15 = -135.
/// Other way round, a' = 111011|0|0|1 = 0x1D9 (q -5, est -3), w as above
/// (est 0): comp = 3*(-3) + (-5)*0 = -9; sum = -129.
#[test]
fn dot_sparse_and_single_ezb() {
    let s = Split::parse("6+3").unwrap();
    let w = Operand::of_bits(&s, 0x01F);
    let a = Operand::of_bits(&s, 0x1DF);
    assert_eq!((w.q, w.est, w.zero), (3, 0, true));
    assert_eq!((a.q, a.est, a.zero), (-5, 0, true));
    assert_eq!(dot_parts(&[w], &[a]), (-15, 0));
    assert_eq!(dot(3, &[w], &[a]), -120);
    let w1 = Operand::of_bits(&s, 0x01B);
    assert_eq!((w1.q, w1.est, w1.zero), (3, 3, false));
    assert_eq!(dot_parts(&[w1], &[a]), (-15, -15));
    assert_eq!(dot(3, &[w1], &[a]), -135);
    let a1 = Operand::of_bits(&s, 0x1D9);
    assert_eq!((a1.q, a1.est, a1.zero), (-5, -3, false));
    assert_eq!(dot(3, &[w], &[a1]), -129);
}

/// 4+4 (M=2, Z=1), G = 4, est in {+-1, +-3, +-5, +-7}:
///   w = 0111|0|1|11 = 0x77: q 7,  est +7;   a = 1000|0|0|11 = 0x83: q -8, est -7
///   w = 1000|0|0|10 = 0x82: q -8, est -5;   a = 1000|0|1|01 = 0x85: q -8, est +3
/// pair 1: 7*(-8) = -56; comp = 7*(-7) + (-8)*7 = -49 - 56 = -105.
/// pair 2: (-8)*(-8) = 64; comp = -8*3 + (-8)*(-5) = -24 + 40 = 16.
/// acc = 8, comp = -89, sum = 8*16 - 89 = 39.
#[test]
fn dot_m2() {
    let s = Split::parse("4+4").unwrap();
    let w = [Operand::of_bits(&s, 0x77), Operand::of_bits(&s, 0x82)];
    let a = [Operand::of_bits(&s, 0x83), Operand::of_bits(&s, 0x85)];
    assert_eq!((w[0].est, w[1].est, a[0].est, a[1].est), (7, -5, -7, 3));
    assert_eq!(dot_parts(&w, &a), (8, -89));
    assert_eq!(dot(4, &w, &a), 39);
}

/// FxP(8) dot product, G = 0: words are just q.
///   127*(-128) = -16256; (-128)*(-128) = 16384; (-128)*127 = -16256; 5*(-3) = -15.
///   sum = -16256 + 16384 - 16256 - 15 = -16143.
#[test]
fn dot_fxp() {
    let s = Split::fxp(8).unwrap();
    let w: Vec<Operand> = [0x7F, 0x80, 0x80, 0x05]
        .iter()
        .map(|&b| Operand::of_bits(&s, b))
        .collect();
    let a: Vec<Operand> = [0x80, 0x80, 0x7F, 0xFD]
        .iter()
        .map(|&b| Operand::of_bits(&s, b))
        .collect();
    assert_eq!(
        w.iter().chain(&a).map(|o| o.q).collect::<Vec<_>>(),
        vec![127, -128, -128, 5, -128, -128, 127, -3]
    );
    assert!(w.iter().chain(&a).all(|o| o.est == 0 && !o.zero));
    assert_eq!(dot(0, &w, &a), -16143);
    assert_eq!(dot_parts(&w, &a), (-16143, 0));
}

/// Length 4096 of the most negative FPEC 16+4 operands: q = -32768, est = -7.
/// per pair: qw*qa = 2^30; comp = 2 * (-32768)*(-7) = 458752.
/// acc = 4096 * 2^30 = 2^42 = 4398046511104; comp = 4096*458752 = 1879048192;
/// sum = 2^42 * 16 + 1879048192 = 70368744177664 + 1879048192 = 70370623225856.
#[test]
fn dot_extreme_4096() {
    let s = Split::parse("16+4").unwrap();
    // 1000_0000_0000_0000 | 0 | 0 | 11
    let o = Operand::of_bits(&s, 0x80003);
    assert_eq!((o.q, o.est), (-32768, -7));
    let v = vec![o; 4096];
    assert_eq!(dot_parts(&v, &v), (4398046511104, 1879048192));
    assert_eq!(dot(4, &v, &v), 70370623225856);
}

// --------------------------------------------------------- requantization

/// Output 6+3 (M=1, Z=1), FBo = 2, default T = 4; q in [-32, 31].
/// k > 0: f_in = 6, k = 4, s = 89: y = 89/16 = 5.5625; q0 = (89 + 8) >> 4 = 6;
///   r = 89 - 96 = -7 (e = -7/16); edb 0; emb = min(floor(7*4/16) = 1, 1) = 1;
///   ezb: 7*64 = 448 <= 4*16 = 64? no. Packed 000110|0|0|1 = 0b0_0011_0001 = 0x031.
/// Same value encoded from the real 89 * 2^-6 = 1.390625 gives the same word.
#[test]
fn requant_k_positive() {
    let f = fpec(6, 1, true, 2, None);
    let r = requant(89, 6, &f, false);
    assert_eq!(r.word, word(6, false, false, 1));
    assert!(!r.saturated);
    assert_eq!(pack(&f.split, &r.word), 0x031);
    assert_eq!(encode(1.390625, &f).unwrap(), word(6, false, false, 1));
}

/// k = 4 as above. s = -40: y = -2.5 (tie); q0 = (-40 + 8) >> 4 = -32 >> 4 = -2;
///   r = -40 + 32 = -8 (e = -0.5); edb 0; emb = min(floor(8*4/16) = 2, 1) = 1;
///   ezb 0. Packed 111110|0|0|1 = 0b1_1111_0001 = 0x1F1.
/// s = 65: y = 4.0625; q0 = 73 >> 4 = 4; r = 1 (e = 1/16); edb 1;
///   emb = floor(1*4/16) = 0; ezb: 64 <= 4*16 = 64 -> 1. Packed 000100|1|1|0 = 0x026.
/// s = 66: r = 2, 128 > 64 -> ezb 0; emb = floor(8/16) = 0; edb 1.
///   Packed 000100|0|1|0 = 0x022.
#[test]
fn requant_negative_tie_and_threshold() {
    let f = fpec(6, 1, true, 2, None);
    let r = requant(-40, 6, &f, false);
    assert_eq!(r.word, word(-2, false, false, 1));
    assert_eq!(pack(&f.split, &r.word), 0x1F1);
    let r = requant(65, 6, &f, false);
    assert_eq!(r.word, word(4, true, true, 0));
    assert_eq!(pack(&f.split, &r.word), 0x026);
    let r = requant(66, 6, &f, false);
    assert_eq!(r.word, word(4, false, true, 0));
    assert_eq!(pack(&f.split, &r.word), 0x022);
}

/// k = 0 (f_in = FBo = 2): s = -13 -> y = -13 = q, e = 0: edb 0, emb 0,
///   ezb 1. Packed -13 = 110011 | 1 | 0 | 0 = 0b1_1001_1100 = 0x19C.
/// s = 40 -> q0 = 40 -> q = 31 saturated, e = 9: edb 1, emb 1, ezb 0.
///   Packed 011111|0|1|1 = 0b0_1111_1011 = 0x0FB.
#[test]
fn requant_k_zero() {
    let f = fpec(6, 1, true, 2, None);
    let r = requant(-13, 2, &f, false);
    assert_eq!((r.word, r.saturated), (word(-13, true, false, 0), false));
    assert_eq!(pack(&f.split, &r.word), 0x19C);
    let r = requant(40, 2, &f, false);
    assert_eq!((r.word, r.saturated), (word(31, false, true, 1), true));
    assert_eq!(pack(&f.split, &r.word), 0x0FB);
}

/// k < 0: f_in = 0, FBo = 2, k = -2. s = 5 -> y = 5 << 2 = 20, in range, e = 0:
///   ezb 1, edb 0. Packed 010100|1|0|0 = 0b0_1010_0100 = 0x0A4.
/// s = 8 -> y = 32 -> q = 31 saturated, e = +1: edb 1, emb 1, ezb 0 -> 0x0FB.
/// s = -8 -> y = -32 = qmin, not saturated, e = 0 -> 100000|1|0|0 = 0x104.
/// s = -9 -> y = -36 -> q = -32 saturated, e = -4: edb 0, emb 1 -> 100000|0|0|1 = 0x101.
#[test]
fn requant_k_negative() {
    let f = fpec(6, 1, true, 2, None);
    let cases = [
        (5, word(20, true, false, 0), false, 0x0A4),
        (8, word(31, false, true, 1), true, 0x0FB),
        (-8, word(-32, true, false, 0), false, 0x104),
        (-9, word(-32, false, false, 1), true, 0x101),
    ];
    for (s, w, sat, bits) in cases {
        let r = requant(s, 0, &f, false);
        assert_eq!((r.word, r.saturated), (w, sat), "s = {s}");
        assert_eq!(pack(&f.split, &r.word), bits, "s = {s}");
    }
}

/// ReLU. 6+3 (M=1, Z=1), FBo = 2, f_in = 6 (k = 4).
/// s = -89, relu: s -> 0, q = 0, e = 0: ezb 1, edb 0. Packed 000000|1|0|0 = 0x004.
/// s = -89, no relu: y = -5.5625, q0 = (-89 + 8) >> 4 = -81 >> 4 = -6 (floor),
///   r = -89 + 96 = 7 (e = 7/16): edb 1, emb = floor(28/16) = 1, ezb 0.
///   Packed 111010|0|1|1 = 0x1D3.
/// s = 89, relu: unchanged, as in requant_k_positive -> 0x031.
#[test]
fn requant_relu() {
    let f = fpec(6, 1, true, 2, None);
    let r = requant(-89, 6, &f, true);
    assert_eq!(r.word, word(0, true, false, 0));
    assert_eq!(pack(&f.split, &r.word), 0x004);
    let r = requant(-89, 6, &f, false);
    assert_eq!(r.word, word(-6, false, true, 1));
    assert_eq!(pack(&f.split, &r.word), 0x1D3);
    let r = requant(89, 6, &f, true);
    assert_eq!(pack(&f.split, &r.word), 0x031);
}

/// Saturation in requant, k = 4.
/// s = 1000: y = 62.5, q0 = 1008 >> 4 = 63 -> q = 31 saturated; r = 1000 - 31*16
///   = 504 (e = 31.5): edb 1, emb = min(floor(504*4/16) = 126, 1) = 1, ezb 0 -> 0x0FB.
/// s = -1000: y = -62.5, q0 = -992 >> 4 = -62 -> q = -32 saturated;
///   r = -1000 + 512 = -488: edb 0, emb 1, ezb 0 -> 100000|0|0|1 = 0x101.
/// s = -1000 with relu: 0 -> 0x004.
/// FxP(8, 0), f_in = 3: s = 1021 -> y = 127.625, q0 = 1025 >> 3 = 128 -> 127
///   saturated -> 0x7F; s = -1028 -> y = -128.5, q0 = -1024 >> 3 = -128, in range
///   -> 0x80; s = -1029 -> q0 = -1025 >> 3 = -129 -> -128 saturated -> 0x80.
#[test]
fn requant_saturation() {
    let f = fpec(6, 1, true, 2, None);
    let r = requant(1000, 6, &f, false);
    assert_eq!((r.word, r.saturated), (word(31, false, true, 1), true));
    assert_eq!(pack(&f.split, &r.word), 0x0FB);
    let r = requant(-1000, 6, &f, false);
    assert_eq!((r.word, r.saturated), (word(-32, false, false, 1), true));
    assert_eq!(pack(&f.split, &r.word), 0x101);
    let r = requant(-1000, 6, &f, true);
    assert_eq!(pack(&f.split, &r.word), 0x004);

    let x = Format::fxp(8, 0).unwrap();
    let r = requant(1021, 3, &x, false);
    assert_eq!(
        (r.word.q, r.saturated, pack(&x.split, &r.word)),
        (127, true, 0x7F)
    );
    let r = requant(-1028, 3, &x, false);
    assert_eq!(
        (r.word.q, r.saturated, pack(&x.split, &r.word)),
        (-128, false, 0x80)
    );
    let r = requant(-1029, 3, &x, false);
    assert_eq!(
        (r.word.q, r.saturated, pack(&x.split, &r.word)),
        (-128, true, 0x80)
    );
}

/// Output 4+4 (M=2, Z=1, T=2), FBo = 0, f_in = 5 (k = 5). s = 75: y = 75/32 =
/// 2.34375; q0 = (75 + 16) >> 5 = 91 >> 5 = 2; r = 75 - 64 = 11 (e = 11/32);
/// edb 1; emb = min(floor(11*8/32) = 2, 3) = 2; ezb: 11*64 = 704 <= 2*32? no.
/// est +5 (5/16 LSB vs true 11/32). Packed 0010|0|1|10 = 0b0010_0110 = 0x26.
#[test]
fn requant_m2() {
    let f = fpec(4, 2, true, 0, None);
    let r = requant(75, 5, &f, false);
    assert_eq!(r.word, word(2, false, true, 2));
    assert_eq!(est(&f.split, &r.word), 5);
    assert_eq!(pack(&f.split, &r.word), 0x26);
}

/// Bias (spec 9): floor(b * 2^F_in + 1/2). b = -0.3125, F_in = 3: -2.5 -> -2;
/// b = 0.3125 -> 2.5 -> 3; b = 1.0, F_in = -2: 0.25 -> 0; b = 3.0, F_in = 40:
/// 3 * 2^40 = 3298534883328.
#[test]
fn bias_examples() {
    assert_eq!(bias_to_sum(-0.3125, 3).unwrap(), -2);
    assert_eq!(bias_to_sum(0.3125, 3).unwrap(), 3);
    assert_eq!(bias_to_sum(1.0, -2).unwrap(), 0);
    assert_eq!(bias_to_sum(3.0, 40).unwrap(), 3298534883328);
}
