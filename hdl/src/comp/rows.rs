//! The fused compensation rows: `V = qw*est(a) + qa*est(w)` (spec 3, 6.4)
//! as shifted, conditionally inverted copies of q that enter the
//! multiplier's bit heap directly (no adder of their own).
//!
//! Per term `q * est(other)`, est = +-(2*emb + 1) in canonical signed
//! digits, at most two rows:
//! - M = 0: est = +-1, one row `+-q`;
//! - M = 1: est = +-(1 + 2*emb0), rows `+-q` and `+-2q` (when emb0);
//! - M = 2: est = +-1, +-3 = 4 - 1, +-5 = 4 + 1, +-7 = 8 - 1: rows `+-q`
//!   (negated for 3 and 7) and `+-4q` or `+-8q` (none for 1), the second a
//!   W+1-bit field at shift 2 (a multiplexer per bit).
//!
//! A signed field f of n bits at shift b is sent as `(f ^ neg) ^ 2^(n-1)`
//! (every bit inverted when negative, the sign bit inverted: the
//! Baugh-Wooley sign-extension trick), so no row is sign-extended; the
//! constants `-2^(n-1+b)` of all rows fold into one ([`extra`], which the
//! array adds to its own), and the "+1" of each negated row is one bit in
//! a carry-in row at the row's shift (columns no product bit occupies). A
//! disabled row is the constant `2^(n-1) << b`. Low-power mode: an operand
//! whose ezb is set gates the other operand's q to zero and clears its
//! negations and enables first, so its rows are constants; a sparse pair
//! (both ezb) changes no row.
//!
//! Outputs `x[0..R]`: the first rows of term a (`qw*est(a)`) and term w,
//! their carry-in rows, then (M >= 1) their second rows. [`supports`] gives
//! the columns each may occupy. Cost class: `compensation`.

use crate::blocks::{bits_of, low_mask, settled_block, ShiftExt, SETTLE_MAX};
use rust_hdl::prelude::*;

pub use crate::plan::{row_count, rows_per_term};

/// Shift and width (b, n) of a term's second row.
const fn second_row(w: u32, m: u32) -> (u32, u32) {
    if m == 1 {
        (1, w)
    } else {
        (2, w + 1)
    }
}

/// The columns each output row may occupy (masks), in output order.
pub fn supports(w: u32, m: u32) -> Vec<u64> {
    let first = low_mask(w as usize);
    let mut v = vec![first, first];
    let (b, n) = second_row(w, m);
    let cin = if m == 0 { 1 } else { 1 | (1 << b) };
    v.extend([cin, cin]);
    if m > 0 {
        let r1 = low_mask(n as usize) << b;
        v.extend([r1, r1]);
    }
    v
}

/// The constant the array adds for these rows: minus every row's
/// sign-inversion constant.
pub fn extra(w: u32, m: u32) -> i128 {
    let mut c = 1i128 << (w - 1);
    if m > 0 {
        let (b, n) = second_row(w, m);
        c += 1i128 << (n - 1 + b);
    }
    -2 * c
}

/// est of a compensation field (spec 3), in units of 2^-(FB+G).
pub fn est(c: u64, m: u32, z: bool) -> i64 {
    let emb = (c & low_mask(m as usize)) as i64;
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

/// The reference, from the maths: `qw*est(ca) + qa*est(cw)`, as the value
/// the rows and [`extra`] add up to (mod 2^T).
// One argument per port and parameter of the block, as its bench drives it.
#[allow(clippy::too_many_arguments)]
pub fn reference(w: u32, m: u32, z: bool, t: u32, qw: u64, qa: u64, cw: u64, ca: u64) -> u64 {
    let sx = |v: u64| ((v << (64 - w)) as i64) >> (64 - w);
    let v = sx(qw) * est(ca, m, z) + sx(qa) * est(cw, m, z);
    (v as u64) & low_mask(t as usize)
}

/// The compensation rows (see the module doc). N1 = 2 when M >= 1 (the
/// second rows of both terms), else 0; R = 4 + N1 outputs.
pub struct CompRows<const W: usize, const C: usize, const T: usize, const N1: usize, const R: usize>
{
    /// Weight q.
    pub qw: Signal<In, Bits<W>>,
    /// Activation q.
    pub qa: Signal<In, Bits<W>>,
    /// Weight compensation bits (ezb, edb, emb).
    pub cw: Signal<In, Bits<C>>,
    /// Activation compensation bits.
    pub ca: Signal<In, Bits<C>>,
    /// The rows (see the module doc).
    pub x: [Signal<Out, Bits<T>>; R],
    zqw: ShiftExt<W, T>,
    zqa: ShiftExt<W, T>,
    // Per term k (0: qw steered by ca, 1: qa steered by cw).
    qz: [Signal<Local, Bits<T>>; 2],
    o: [Signal<Local, Bits<C>>; 2],
    g: [Signal<Local, Bit>; 2],
    edb: [Signal<Local, Bit>; 2],
    e0: [Signal<Local, Bit>; 2],
    neg: [Signal<Local, Bit>; 2],
    n0: [Signal<Local, Bit>; 2],
    qg: [Signal<Local, Bits<T>>; 2],
    nm0: [Signal<Local, Bits<T>>; 2],
    x0: [Signal<Local, Bits<T>>; 2],
    c0b: [Signal<Local, Bits<T>>; 2],
    // Second rows (M >= 1).
    e1: [Signal<Local, Bit>; N1],
    en1: [Signal<Local, Bit>; N1],
    sel8: [Signal<Local, Bit>; N1],
    n1: [Signal<Local, Bit>; N1],
    sgn: [Signal<Local, Bit>; N1],
    d1: [Signal<Local, Bits<T>>; N1],
    d2: [Signal<Local, Bits<T>>; N1],
    d3: [Signal<Local, Bits<T>>; N1],
    fb: [Signal<Local, Bits<T>>; N1],
    f1: [Signal<Local, Bits<T>>; N1],
    nm1: [Signal<Local, Bits<T>>; N1],
    x1: [Signal<Local, Bits<T>>; N1],
    c1b: [Signal<Local, Bits<T>>; N1],
    ezb_mask: Constant<Bits<C>>,
    edb_mask: Constant<Bits<C>>,
    emb0_mask: Constant<Bits<C>>,
    emb1_mask: [Constant<Bits<C>>; N1],
    csd: Constant<Bit>,
    qmsb: [Constant<Bits<T>>; N1],
    topb: [Constant<Bits<T>>; N1],
    ones0: Constant<Bits<T>>,
    msb0: Constant<Bits<T>>,
    one0: Constant<Bits<T>>,
    ones1: [Constant<Bits<T>>; N1],
    msb1: [Constant<Bits<T>>; N1],
    one1: [Constant<Bits<T>>; N1],
    zero_t: Constant<Bits<T>>,
    settle_changed: bool,
}

settled_block!(
    CompRows<W, C, T, N1, R>,
    settle_changed,
    [qw, qa, cw, ca, x, zqw, zqa, qz, o, g, edb, e0, e1, neg, n0, qg, nm0, x0, c0b, en1, sel8, n1, sgn, d1, d2, d3, fb, f1, nm1, x1, c1b, ezb_mask, edb_mask, emb0_mask, emb1_mask, csd, qmsb, topb, ones0, msb0, one0, ones1, msb1, one1, zero_t]
);

impl<const W: usize, const C: usize, const T: usize, const N1: usize, const R: usize>
    CompRows<W, C, T, N1, R>
{
    /// With M = `m` emb bits and Z = `z`.
    pub fn new(m: u32, z: bool) -> Self {
        let (w, mu) = (W as u32, m as usize);
        assert!(m <= 2 && C == z as usize + 1 + mu && N1 == 2 * (m > 0) as usize);
        assert!(R == 4 + N1 && T >= W + 4 && T <= 64);
        let (b1, n1) = second_row(w, m.max(1));
        let k = |v: i128| Constant::new(bits_of(v));
        Self {
            qw: Default::default(),
            qa: Default::default(),
            cw: Default::default(),
            ca: Default::default(),
            x: std::array::from_fn(|_| Default::default()),
            zqw: ShiftExt::new(0),
            zqa: ShiftExt::new(0),
            qz: Default::default(),
            o: Default::default(),
            g: Default::default(),
            edb: Default::default(),
            e0: Default::default(),
            e1: std::array::from_fn(|_| Default::default()),
            neg: Default::default(),
            n0: Default::default(),
            qg: Default::default(),
            nm0: Default::default(),
            x0: Default::default(),
            c0b: Default::default(),
            en1: std::array::from_fn(|_| Default::default()),
            sel8: std::array::from_fn(|_| Default::default()),
            n1: std::array::from_fn(|_| Default::default()),
            sgn: std::array::from_fn(|_| Default::default()),
            d1: std::array::from_fn(|_| Default::default()),
            d2: std::array::from_fn(|_| Default::default()),
            d3: std::array::from_fn(|_| Default::default()),
            fb: std::array::from_fn(|_| Default::default()),
            f1: std::array::from_fn(|_| Default::default()),
            nm1: std::array::from_fn(|_| Default::default()),
            x1: std::array::from_fn(|_| Default::default()),
            c1b: std::array::from_fn(|_| Default::default()),
            ezb_mask: Constant::new(bits_of(if z { 1i128 << (m + 1) } else { 0 })),
            edb_mask: Constant::new(bits_of(1i128 << m)),
            emb0_mask: Constant::new(bits_of(if m >= 1 { 1 } else { 0 })),
            emb1_mask: std::array::from_fn(|_| Constant::new(bits_of(if m >= 2 { 2 } else { 0 }))),
            csd: Constant::new(m == 2),
            qmsb: std::array::from_fn(|_| k(1i128 << (W - 1))),
            topb: std::array::from_fn(|_| k(if m == 2 { 1i128 << (w + 2) } else { 0 })),
            ones0: k((1i128 << W) - 1),
            msb0: k(1i128 << (W - 1)),
            one0: k(1),
            ones1: std::array::from_fn(|_| k(((1i128 << n1) - 1) << b1)),
            msb1: std::array::from_fn(|_| k(1i128 << (n1 - 1 + b1))),
            one1: std::array::from_fn(|_| k(1i128 << b1)),
            zero_t: k(0),
            settle_changed: false,
        }
    }
}

impl<const W: usize, const C: usize, const T: usize, const N1: usize, const R: usize> Logic
    for CompRows<W, C, T, N1, R>
{
    #[hdl_gen]
    fn update(&mut self) {
        self.zqw.x.next = self.qw.val();
        self.zqa.x.next = self.qa.val();
        self.qz[0].next = self.zqw.y.val();
        self.qz[1].next = self.zqa.y.val();
        self.o[0].next = self.ca.val();
        self.o[1].next = self.cw.val();
        for k in 0..2 {
            // Gating (low-power mode): the other operand's ezb zeroes q.
            self.g[k].next = (self.o[k].val() & self.ezb_mask.val()).any();
            self.edb[k].next = (self.o[k].val() & self.edb_mask.val()).any();
            self.e0[k].next = (self.o[k].val() & self.emb0_mask.val()).any();
            self.qg[k].next = self.qz[k].val();
            if self.g[k].val() {
                self.qg[k].next = self.zero_t.val();
            }
            // est < 0 when edb = 0; the first row of 3 = 4 - 1 and 7 = 8 - 1
            // (M = 2) is negated once more.
            self.neg[k].next = !self.edb[k].val() & !self.g[k].val();
            self.n0[k].next =
                self.neg[k].val() ^ (self.e0[k].val() & self.csd.val() & !self.g[k].val());
            self.nm0[k].next = self.zero_t.val();
            if self.n0[k].val() {
                self.nm0[k].next = self.ones0.val();
            }
            self.x0[k].next = self.qg[k].val() ^ self.nm0[k].val();
            self.x[k].next = self.x0[k].val() ^ self.msb0.val();
            self.c0b[k].next = self.zero_t.val();
            if self.n0[k].val() {
                self.c0b[k].next = self.one0.val();
            }
            self.x[2 + k].next = self.c0b[k].val();
        }
        for k in 0..N1 {
            // Second row: 2q (M = 1); 4q, or 8q for emb = 3 (M = 2).
            self.e1[k].next = (self.o[k].val() & self.emb1_mask[k].val()).any();
            self.en1[k].next = (self.e0[k].val() | self.e1[k].val()) & !self.g[k].val();
            self.sel8[k].next = self.e0[k].val() & self.e1[k].val();
            self.n1[k].next = !self.edb[k].val() & self.en1[k].val();
            self.d1[k].next = self.qg[k].val() + self.qg[k].val();
            self.d2[k].next = self.d1[k].val() + self.d1[k].val();
            self.d3[k].next = self.d2[k].val() + self.d2[k].val();
            self.sgn[k].next = (self.qg[k].val() & self.qmsb[k].val()).any();
            self.fb[k].next = self.d1[k].val();
            if self.csd.val() {
                self.fb[k].next = self.d2[k].val();
                if self.sgn[k].val() {
                    self.fb[k].next = self.d2[k].val() | self.topb[k].val();
                }
            }
            self.f1[k].next = self.zero_t.val();
            if self.en1[k].val() {
                self.f1[k].next = self.fb[k].val();
                if self.sel8[k].val() {
                    self.f1[k].next = self.d3[k].val();
                }
            }
            self.nm1[k].next = self.zero_t.val();
            if self.n1[k].val() {
                self.nm1[k].next = self.ones1[k].val();
            }
            self.x1[k].next = self.f1[k].val() ^ self.nm1[k].val();
            self.x[4 + k].next = self.x1[k].val() ^ self.msb1[k].val();
            self.c1b[k].next = self.zero_t.val();
            if self.n1[k].val() {
                self.c1b[k].next = self.one1[k].val();
            }
            self.x[2 + k].next = self.c0b[k].val() | self.c1b[k].val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep<const W: usize, const C: usize, const T: usize, const N1: usize, const R: usize>(
        m: u32,
        z: bool,
    ) {
        let mut b = CompRows::<W, C, T, N1, R>::new(m, z);
        b.connect_all();
        let (w, c) = (W as u32, C as u32);
        let sup = supports(w, m);
        let ex = extra(w, m);
        let mut sparse_rows: Option<Vec<u64>> = None;
        for n in 0..1u64 << (2 * w + 2 * c) {
            let (qw, qa) = (n & low_mask(W), (n >> w) & low_mask(W));
            let (cw, ca) = ((n >> (2 * w)) & low_mask(C), n >> (2 * w + c));
            b.qw.next = qw.into();
            b.qa.next = qa.into();
            b.cw.next = cw.into();
            b.ca.next = ca.into();
            simulate(&mut b, 100);
            let rows: Vec<u64> = b.x.iter().map(|s| s.val().to_u64()).collect();
            for (r, (&v, &s)) in rows.iter().zip(&sup).enumerate() {
                assert_eq!(v & !s, 0, "W {w} M {m}: row {r} outside its support");
            }
            let sum = rows.iter().fold(ex as u64, |a, &v| a.wrapping_add(v)) & low_mask(T);
            assert_eq!(
                sum,
                reference(w, m, z, T as u32, qw, qa, cw, ca),
                "W {w} M {m} Z {z}: qw {qw} qa {qa} cw {cw} ca {ca}"
            );
            // Low-power mode: every sparse pair gives the same rows.
            let ezb = |x: u64| z && (x >> (m + 1)) & 1 == 1;
            if ezb(cw) && ezb(ca) {
                match &sparse_rows {
                    None => sparse_rows = Some(rows),
                    Some(first) => assert_eq!(first, &rows, "sparse rows change"),
                }
            }
        }
    }

    #[test]
    fn exhaustive_small_widths() {
        // W = 2, 3 for every (M, Z): T = 2W + M + 2 as in the MAC.
        sweep::<2, 1, 6, 0, 4>(0, false);
        sweep::<2, 2, 6, 0, 4>(0, true);
        sweep::<2, 2, 7, 2, 6>(1, false);
        sweep::<2, 3, 7, 2, 6>(1, true);
        sweep::<2, 3, 8, 2, 6>(2, false);
        sweep::<2, 4, 8, 2, 6>(2, true);
        sweep::<3, 2, 8, 0, 4>(0, true);
        sweep::<3, 3, 9, 2, 6>(1, true);
        sweep::<3, 4, 10, 2, 6>(2, true);
    }

    #[test]
    fn corner_cases() {
        // The most negative q times est = -7 and +7 (M = 2): 28 and -28.
        // ca = 0b0011: ezb 0, edb 0, emb 3, est = -7; 0b0111: est = +7.
        assert_eq!(reference(3, 2, true, 10, 0b100, 0, 0b0011, 0b0011), 28);
        assert_eq!(
            reference(3, 2, true, 10, 0b100, 0, 0, 0b0111),
            (-28i64 as u64) & 0x3ff
        );
        // Constants: M = 0 rows' inversions, and both rows for M = 2.
        assert_eq!(extra(6, 0), -64);
        assert_eq!(extra(6, 2), -2 * (32 + 256));
        assert_eq!(row_count(0), 4);
        assert_eq!(row_count(2), 6);
        assert_eq!(supports(4, 2)[5], 0b11111 << 2);
    }
}
