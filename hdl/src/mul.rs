//! The multiplier array shared by every MAC (spec 6.4, last paragraph) and
//! the compensation rows that the `fused` arch feeds into it.
//!
//! [`CsaMul`] is a signed W x W Baugh-Wooley partial-product array, shifted
//! left by G, reduced by a chain of 3:2 carry-save stages and one
//! carry-propagate adder. It takes R extra rows that enter the chain
//! *after* the product rows (measured at 6+2 fused: first in the chain,
//! 1086 fJ/MAC under the glitch model; last, 722; zero-delay the same): the FxP MAC gives none (R = 0, G = 0), the
//! fused FPEC MAC gives the rows of [`CompRows`], so both MACs run the same
//! generator code and an energy ratio measures the compensation alone.
//!
//! [`CompRows`] forms `V = qw*est(a) + qa*est(w)` from rows:
//! est = +-(2*emb + 1) is `q + emb0*2q + emb1*4q`, negated by inverting every enabled row
//! and adding one carry per inverted row (two sparse carry rows). Each row
//! is W bits with its sign bit inverted (the Baugh-Wooley sign-extension
//! trick: a signed row v at shift k is `(v ^ 2^(W-1)) << k` plus the
//! constant `-2^(W-1+k)`), so no row is sign-extended and a disabled row is
//! the constant `2^(W-1) << k`. The rows are reduced by their own short
//! carry-save chain and a (W+K+1)-bit carry-propagate adder into one row,
//! V with its sign bit inverted, which enters the array as its single
//! extra row (constant `-2^(W+K)` in the bias). Measured alternatives at
//! 6+2: the rows one by one into the array made every product stage
//! half-add the low columns (388 cells over FxP 6, against 130 this way);
//! the term left in carry-save form as two extra rows (no adder) cost more
//! under all three activity models (static 702 vs 656, zero-delay 242.7 vs
//! 235.1, glitch 792 vs 722 fJ/MAC).
//! Low-power mode: an operand whose ezb is set gates the other operand's q
//! to zero before anything else, so its rows and carries are constants.

use crate::blocks::{bits_of, settled_block, ShiftExt, SETTLE_MAX};
use rust_hdl::prelude::*;

/// Signed W x W product shifted by G, plus R extra rows:
/// `t = ((a*b) << G) + sum(x) + extra` (mod 2^T), where `extra` is a constant the row
/// generator declares (its rows' sign-extension constants). R1 = R + 1.
///
/// Chain: `(s, c) = (bias, 0)`, then one 3:2 stage per product row
/// `rows[j] = (a_j ? b << (G + j) : 0) ^ masks[j]` (masks: the
/// Baugh-Wooley inversions), then one per extra row, then `t = s + c`. Doublings are written
/// `x + x` (rust-hdl 0.46 simulates shifts through a BigUint); synthesis
/// reduces them to wiring.
pub struct CsaMul<const W: usize, const T: usize, const R: usize, const R1: usize> {
    /// Multiplicand (two's complement).
    pub a: Signal<In, Bits<W>>,
    /// Multiplier (two's complement).
    pub b: Signal<In, Bits<W>>,
    /// Extra rows (added first).
    pub x: [Signal<In, Bits<T>>; R],
    /// Result (two's complement, exact when the true value fits T bits).
    pub t: Signal<Out, Bits<T>>,
    bz: ShiftExt<W, T>,
    bsh: [Signal<Local, Bits<T>>; W],
    rows: [Signal<Local, Bits<T>>; W],
    rowx: [Signal<Local, Bits<T>>; W],
    es: [Signal<Local, Bits<T>>; R1],
    ec: [Signal<Local, Bits<T>>; R1],
    emaj: [Signal<Local, Bits<T>>; R],
    s: [Signal<Local, Bits<T>>; W],
    c: [Signal<Local, Bits<T>>; W],
    maj: [Signal<Local, Bits<T>>; W],
    masks: [Constant<Bits<T>>; W],
    amask: [Constant<Bits<W>>; W],
    zero_t: Constant<Bits<T>>,
    bias: Constant<Bits<T>>,
    settle_changed: bool,
}

settled_block!(CsaMul<W, T, R, R1>, settle_changed, [a, b, x, t, bz, bsh, rows, rowx, es, ec, emaj, s, c, maj, masks, amask, zero_t, bias]);

impl<const W: usize, const T: usize, const R: usize, const R1: usize> CsaMul<W, T, R, R1> {
    /// Product shifted by `g`; `extra` is the constant the extra rows need
    /// (see [`CompRows::extra`]).
    pub fn new(g: usize, extra: i128) -> Self {
        assert!(W >= 2 && T >= 2 * W + g && T <= 64 && R1 == R + 1);
        let w = W as u32;
        let bias = (((1i128 << w) - (1i128 << (2 * w - 1))) << g) + extra;
        Self {
            a: Default::default(),
            b: Default::default(),
            x: std::array::from_fn(|_| Default::default()),
            t: Default::default(),
            bz: ShiftExt::new(g),
            bsh: std::array::from_fn(|_| Default::default()),
            rows: std::array::from_fn(|_| Default::default()),
            rowx: std::array::from_fn(|_| Default::default()),
            es: std::array::from_fn(|_| Default::default()),
            ec: std::array::from_fn(|_| Default::default()),
            emaj: std::array::from_fn(|_| Default::default()),
            s: std::array::from_fn(|_| Default::default()),
            c: std::array::from_fn(|_| Default::default()),
            maj: std::array::from_fn(|_| Default::default()),
            masks: std::array::from_fn(|j| {
                Constant::new(bits_of(
                    if j == W - 1 {
                        (1i128 << (W - 1)) - 1
                    } else {
                        1i128 << (W - 1)
                    } << (j + g),
                ))
            }),
            amask: std::array::from_fn(|j| Constant::new(bits_of(1i128 << j))),
            zero_t: Constant::new(Bits::default()),
            bias: Constant::new(bits_of(bias)),
            settle_changed: false,
        }
    }
}

impl<const W: usize, const T: usize, const R: usize, const R1: usize> Logic
    for CsaMul<W, T, R, R1>
{
    #[hdl_gen]
    fn update(&mut self) {
        self.bz.x.next = self.b.val();
        // Partial-product rows, row j weighted 2^(G+j).
        self.bsh[0].next = self.bz.y.val();
        for j in 1..W {
            self.bsh[j].next = self.bsh[j - 1].val() + self.bsh[j - 1].val();
        }
        for j in 0..W {
            self.rows[j].next = self.zero_t.val();
            if (self.a.val() & self.amask[j].val()).any() {
                self.rows[j].next = self.bsh[j].val();
            }
            self.rowx[j].next = self.rows[j].val() ^ self.masks[j].val();
        }
        // Product rows: (s, c) = (bias, 0) + rowx[0] + ... + rowx[W-1].
        self.s[0].next = self.bias.val() ^ self.rowx[0].val();
        self.maj[0].next = self.bias.val() & self.rowx[0].val();
        self.c[0].next = self.maj[0].val() + self.maj[0].val();
        for j in 1..W {
            self.s[j].next = self.s[j - 1].val() ^ self.c[j - 1].val() ^ self.rowx[j].val();
            self.maj[j].next = (self.s[j - 1].val() & self.c[j - 1].val())
                | (self.s[j - 1].val() & self.rowx[j].val())
                | (self.c[j - 1].val() & self.rowx[j].val());
            self.c[j].next = self.maj[j].val() + self.maj[j].val();
        }
        // Then the extra rows, last: their glitches (the compensation row
        // comes out of a ripple adder) reach one 3:2 stage and the final
        // adder, not the whole array.
        for j in (W - 1)..W {
            self.es[0].next = self.s[j].val();
            self.ec[0].next = self.c[j].val();
        }
        for j in 1..R1 {
            self.es[j].next = self.es[j - 1].val() ^ self.ec[j - 1].val() ^ self.x[j - 1].val();
            self.emaj[j - 1].next = (self.es[j - 1].val() & self.ec[j - 1].val())
                | (self.es[j - 1].val() & self.x[j - 1].val())
                | (self.ec[j - 1].val() & self.x[j - 1].val());
            self.ec[j].next = self.emaj[j - 1].val() + self.emaj[j - 1].val();
        }
        // The one carry-propagate adder.
        for j in R..R1 {
            self.t.next = self.es[j].val() + self.ec[j].val();
        }
    }
}

/// The fused compensation term: `v = (V + 2^(W+K)) mod 2^(W+K+1)` where `V
/// = qw*est(a) + qa*est(w)` (|V| < 2^(W+K), K = M + 1), i.e. V in W+K+1
/// bits with its sign bit inverted, zero above; [`comp_extra`] is the
/// constant the array adds back.
///
/// Row k of a term (k < K) is enabled for k = 0 always and for k >= 1 by
/// emb bit k-1 of the other operand; `neg = !edb & !ezb`. Chain: `(s, c)
/// = (2^W, 0)`, then the carry rows, then the rows of `qw*est(a)`, then
/// those of `qa*est(w)`; `v = (s + c) mod 2^(W+K+1)`. Since the row
/// constants sum to `2^W - 2^(W+K)`, the initial `2^W` turns the sum into
/// V with its sign bit inverted.
pub struct CompRows<const W: usize, const C: usize, const T: usize, const K: usize> {
    /// Weight q.
    pub qw: Signal<In, Bits<W>>,
    /// Activation q.
    pub qa: Signal<In, Bits<W>>,
    /// Weight compensation bits (ezb, edb, emb).
    pub cw: Signal<In, Bits<C>>,
    /// Activation compensation bits.
    pub ca: Signal<In, Bits<C>>,
    /// The term as one row (see above).
    pub v: Signal<Out, Bits<T>>,
    // Term a: qw * est(a), steered by ca. Term w: qa * est(w), by cw.
    ga: Signal<Local, Bit>,
    gw: Signal<Local, Bit>,
    da: Signal<Local, Bit>,
    dw: Signal<Local, Bit>,
    nega: Signal<Local, Bit>,
    negw: Signal<Local, Bit>,
    zqw: ShiftExt<W, T>,
    zqa: ShiftExt<W, T>,
    qga: Signal<Local, Bits<T>>,
    qgw: Signal<Local, Bits<T>>,
    nma: Signal<Local, Bits<T>>,
    nmw: Signal<Local, Bits<T>>,
    xqa: Signal<Local, Bits<T>>,
    xqw: Signal<Local, Bits<T>>,
    xma: [Signal<Local, Bits<T>>; K],
    xmw: [Signal<Local, Bits<T>>; K],
    eba: [Signal<Local, Bit>; K],
    ebw: [Signal<Local, Bit>; K],
    ena: [Signal<Local, Bit>; K],
    enw: [Signal<Local, Bit>; K],
    ra: [Signal<Local, Bits<T>>; K],
    rw: [Signal<Local, Bits<T>>; K],
    cba: [Signal<Local, Bit>; K],
    cbw: [Signal<Local, Bit>; K],
    cva: [Signal<Local, Bits<T>>; K],
    cvw: [Signal<Local, Bits<T>>; K],
    cora: [Signal<Local, Bits<T>>; K],
    corw: [Signal<Local, Bits<T>>; K],
    // The chain: s1 (bias + carries of a), (s2, c2) + carries of w, then
    // (sa, ca_) per row of a, (sw, cw_) per row of w.
    s1: Signal<Local, Bits<T>>,
    m1: Signal<Local, Bits<T>>,
    c1: Signal<Local, Bits<T>>,
    s2: Signal<Local, Bits<T>>,
    m2: Signal<Local, Bits<T>>,
    c2: Signal<Local, Bits<T>>,
    sa: [Signal<Local, Bits<T>>; K],
    ma: [Signal<Local, Bits<T>>; K],
    cca: [Signal<Local, Bits<T>>; K],
    sw: [Signal<Local, Bits<T>>; K],
    mw: [Signal<Local, Bits<T>>; K],
    ccw: [Signal<Local, Bits<T>>; K],
    sum: Signal<Local, Bits<T>>,
    ezb_mask: Constant<Bits<C>>,
    edb_mask: Constant<Bits<C>>,
    emask: [Constant<Bits<C>>; K],
    always: [Constant<Bit>; K],
    onehot: [Constant<Bits<T>>; K],
    ones_w: Constant<Bits<T>>,
    msb: [Constant<Bits<T>>; K],
    zero_t: Constant<Bits<T>>,
    bias: Constant<Bits<T>>,
    vmask: Constant<Bits<T>>,
    settle_changed: bool,
}

settled_block!(
    CompRows<W, C, T, K>,
    settle_changed,
    [qw, qa, cw, ca, v, ga, gw, da, dw, nega, negw, qga, qgw, nma, nmw, zqw, zqa, xqa, xqw, xma, xmw, eba, ebw, ena, enw, ra, rw, cba, cbw, cva, cvw, cora, corw, s1, m1, c1, s2, m2, c2, sa, ma, cca, sw, mw, ccw, sum, ezb_mask, edb_mask, emask, always, onehot, ones_w, msb, zero_t, bias, vmask]
);

/// The constant the array adds for a [`CompRows`] row: `-2^(W+K)`.
pub fn comp_extra(w: u32, k: u32) -> i128 {
    -(1i128 << (w + k))
}

impl<const W: usize, const C: usize, const T: usize, const K: usize> CompRows<W, C, T, K> {
    /// With M = K - 1 emb bits and Z = `z`.
    pub fn new(z: bool) -> Self {
        let m = K - 1;
        assert!((1..=3).contains(&K) && C == z as usize + 1 + m && T > W + K && T <= 64);
        Self {
            qw: Default::default(),
            qa: Default::default(),
            cw: Default::default(),
            ca: Default::default(),
            v: Default::default(),
            ga: Default::default(),
            gw: Default::default(),
            da: Default::default(),
            dw: Default::default(),
            nega: Default::default(),
            negw: Default::default(),
            zqw: ShiftExt::new(0),
            zqa: ShiftExt::new(0),
            qga: Default::default(),
            qgw: Default::default(),
            nma: Default::default(),
            nmw: Default::default(),
            xqa: Default::default(),
            xqw: Default::default(),
            xma: std::array::from_fn(|_| Default::default()),
            xmw: std::array::from_fn(|_| Default::default()),
            eba: std::array::from_fn(|_| Default::default()),
            ebw: std::array::from_fn(|_| Default::default()),
            ena: std::array::from_fn(|_| Default::default()),
            enw: std::array::from_fn(|_| Default::default()),
            ra: std::array::from_fn(|_| Default::default()),
            rw: std::array::from_fn(|_| Default::default()),
            cba: std::array::from_fn(|_| Default::default()),
            cbw: std::array::from_fn(|_| Default::default()),
            cva: std::array::from_fn(|_| Default::default()),
            cvw: std::array::from_fn(|_| Default::default()),
            cora: std::array::from_fn(|_| Default::default()),
            corw: std::array::from_fn(|_| Default::default()),
            s1: Default::default(),
            m1: Default::default(),
            c1: Default::default(),
            s2: Default::default(),
            m2: Default::default(),
            c2: Default::default(),
            sa: std::array::from_fn(|_| Default::default()),
            ma: std::array::from_fn(|_| Default::default()),
            cca: std::array::from_fn(|_| Default::default()),
            sw: std::array::from_fn(|_| Default::default()),
            mw: std::array::from_fn(|_| Default::default()),
            ccw: std::array::from_fn(|_| Default::default()),
            sum: Default::default(),
            ezb_mask: Constant::new(bits_of(if z { 1i128 << (m + 1) } else { 0 })),
            edb_mask: Constant::new(bits_of(1i128 << m)),
            emask: std::array::from_fn(|k| {
                Constant::new(bits_of(if k == 0 { 0 } else { 1i128 << (k - 1) }))
            }),
            always: std::array::from_fn(|k| Constant::new(k == 0)),
            onehot: std::array::from_fn(|k| Constant::new(bits_of(1i128 << k))),
            ones_w: Constant::new(bits_of((1i128 << W) - 1)),
            msb: std::array::from_fn(|k| Constant::new(bits_of(1i128 << (W - 1 + k)))),
            zero_t: Constant::new(Bits::default()),
            bias: Constant::new(bits_of(1i128 << W)),
            vmask: Constant::new(bits_of((1i128 << (W + K + 1)) - 1)),
            settle_changed: false,
        }
    }
}

impl<const W: usize, const C: usize, const T: usize, const K: usize> Logic
    for CompRows<W, C, T, K>
{
    #[hdl_gen]
    fn update(&mut self) {
        // Gating (low-power mode): an operand with ezb set zeroes the other q.
        self.ga.next = (self.ca.val() & self.ezb_mask.val()).any();
        self.gw.next = (self.cw.val() & self.ezb_mask.val()).any();
        self.zqw.x.next = self.qw.val();
        self.zqa.x.next = self.qa.val();
        self.qga.next = self.zqw.y.val();
        if self.ga.val() {
            self.qga.next = self.zero_t.val();
        }
        self.qgw.next = self.zqa.y.val();
        if self.gw.val() {
            self.qgw.next = self.zero_t.val();
        }
        // Direction: edb = 0 means est < 0: invert the rows, add carries.
        self.da.next = (self.ca.val() & self.edb_mask.val()).any();
        self.dw.next = (self.cw.val() & self.edb_mask.val()).any();
        self.nega.next = !self.da.val() & !self.ga.val();
        self.negw.next = !self.dw.val() & !self.gw.val();
        self.nma.next = self.zero_t.val();
        if self.nega.val() {
            self.nma.next = self.ones_w.val();
        }
        self.nmw.next = self.zero_t.val();
        if self.negw.val() {
            self.nmw.next = self.ones_w.val();
        }
        self.xqa.next = self.qga.val() ^ self.nma.val();
        self.xqw.next = self.qgw.val() ^ self.nmw.val();
        // Sign bit inverted, then row k at shift k (doublings).
        self.xma[0].next = self.xqa.val() ^ self.msb[0].val();
        self.xmw[0].next = self.xqw.val() ^ self.msb[0].val();
        for k in 1..K {
            self.xma[k].next = self.xma[k - 1].val() + self.xma[k - 1].val();
            self.xmw[k].next = self.xmw[k - 1].val() + self.xmw[k - 1].val();
        }
        for k in 0..K {
            // Row k: enabled always (k = 0) or by emb bit k-1.
            self.eba[k].next = (self.ca.val() & self.emask[k].val()).any();
            self.ebw[k].next = (self.cw.val() & self.emask[k].val()).any();
            self.ena[k].next = self.always[k].val() | self.eba[k].val();
            self.enw[k].next = self.always[k].val() | self.ebw[k].val();
            self.ra[k].next = self.msb[k].val();
            if self.ena[k].val() {
                self.ra[k].next = self.xma[k].val();
            }
            self.rw[k].next = self.msb[k].val();
            if self.enw[k].val() {
                self.rw[k].next = self.xmw[k].val();
            }
            // The "+1" of each inverted row, at its weight 2^k.
            self.cba[k].next = self.nega.val() & self.ena[k].val();
            self.cbw[k].next = self.negw.val() & self.enw[k].val();
            self.cva[k].next = self.zero_t.val();
            if self.cba[k].val() {
                self.cva[k].next = self.onehot[k].val();
            }
            self.cvw[k].next = self.zero_t.val();
            if self.cbw[k].val() {
                self.cvw[k].next = self.onehot[k].val();
            }
        }
        self.cora[0].next = self.cva[0].val();
        self.corw[0].next = self.cvw[0].val();
        for k in 1..K {
            self.cora[k].next = self.cora[k - 1].val() | self.cva[k].val();
            self.corw[k].next = self.corw[k - 1].val() | self.cvw[k].val();
        }
        // Carry-save chain: bias and the carries of a (disjoint bits), then
        // the carries of w, then the rows.
        for k in (K - 1)..K {
            self.s1.next = self.bias.val() ^ self.cora[k].val();
            self.m1.next = self.bias.val() & self.cora[k].val();
        }
        self.c1.next = self.m1.val() + self.m1.val();
        for k in (K - 1)..K {
            self.s2.next = self.s1.val() ^ self.c1.val() ^ self.corw[k].val();
            self.m2.next = (self.s1.val() & self.c1.val())
                | (self.s1.val() & self.corw[k].val())
                | (self.c1.val() & self.corw[k].val());
        }
        self.c2.next = self.m2.val() + self.m2.val();
        self.sa[0].next = self.s2.val() ^ self.c2.val() ^ self.ra[0].val();
        self.ma[0].next = (self.s2.val() & self.c2.val())
            | (self.s2.val() & self.ra[0].val())
            | (self.c2.val() & self.ra[0].val());
        self.cca[0].next = self.ma[0].val() + self.ma[0].val();
        for k in 1..K {
            self.sa[k].next = self.sa[k - 1].val() ^ self.cca[k - 1].val() ^ self.ra[k].val();
            self.ma[k].next = (self.sa[k - 1].val() & self.cca[k - 1].val())
                | (self.sa[k - 1].val() & self.ra[k].val())
                | (self.cca[k - 1].val() & self.ra[k].val());
            self.cca[k].next = self.ma[k].val() + self.ma[k].val();
        }
        for k in (K - 1)..K {
            self.sw[0].next = self.sa[k].val() ^ self.cca[k].val() ^ self.rw[0].val();
            self.mw[0].next = (self.sa[k].val() & self.cca[k].val())
                | (self.sa[k].val() & self.rw[0].val())
                | (self.cca[k].val() & self.rw[0].val());
        }
        self.ccw[0].next = self.mw[0].val() + self.mw[0].val();
        for k in 1..K {
            self.sw[k].next = self.sw[k - 1].val() ^ self.ccw[k - 1].val() ^ self.rw[k].val();
            self.mw[k].next = (self.sw[k - 1].val() & self.ccw[k - 1].val())
                | (self.sw[k - 1].val() & self.rw[k].val())
                | (self.ccw[k - 1].val() & self.rw[k].val());
            self.ccw[k].next = self.mw[k].val() + self.mw[k].val();
        }
        // One short carry-propagate adder, W+K+1 bits.
        for k in (K - 1)..K {
            self.sum.next = self.sw[k].val() + self.ccw[k].val();
        }
        self.v.next = self.sum.val() & self.vmask.val();
    }
}
