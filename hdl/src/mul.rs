//! The multiplier array shared by every MAC (spec 6.4, last paragraph) and
//! the compensation rows that the `fused` arch feeds into it.
//!
//! [`CsaMul`] is a signed W x W Baugh-Wooley partial-product array, shifted
//! left by G, reduced by a chain of 3:2 carry-save stages and one
//! carry-propagate adder. It takes R extra rows that enter the chain
//! *before* the product rows: the FxP MAC gives none (R = 0, G = 0), the
//! fused FPEC MAC gives the rows of [`CompRows`], so both MACs run the same
//! generator code and an energy ratio measures the compensation alone.
//!
//! [`CompRows`] forms `qw*est(a) + qa*est(w)` as rows: est = +-(2*emb + 1)
//! is `q + emb0*2q + emb1*4q`, negated by inverting every enabled row and
//! adding one carry per inverted row (two sparse carry rows, first in the
//! chain). Each row is W bits with its sign bit inverted (the Baugh-Wooley
//! sign-extension trick: a signed row v at shift k is `(v ^ 2^(W-1)) << k`
//! plus the constant `-2^(W-1+k)`, folded into the array's bias), so no row
//! is sign-extended and a disabled row is the constant `2^(W-1) << k`.
//! Low-power mode: an operand whose ezb is set gates the other operand's q
//! to zero before anything else, so its rows and carries are constants.

use crate::blocks::{bits_of, settled_block, ShiftExt, SETTLE_MAX};
use rust_hdl::prelude::*;

/// Signed W x W product shifted by G, plus R extra rows: `t = ((a*b) << G)
/// + sum(x) + extra` (mod 2^T), where `extra` is a constant the row
/// generator declares (its rows' sign-extension constants). R1 = R + 1.
///
/// Chain: `(s, c) = (bias, 0)`, then one 3:2 stage per extra row, then one
/// per product row `rows[j] = (a_j ? b << (G + j) : 0) ^ masks[j]` (masks:
/// the Baugh-Wooley inversions), then `t = s + c`. Doublings are written
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

impl<const W: usize, const T: usize, const R: usize, const R1: usize> Logic for CsaMul<W, T, R, R1> {
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
        // Extra rows first: (s, c) = (bias, 0) + x[0] + ... + x[R-1].
        self.es[0].next = self.bias.val();
        self.ec[0].next = self.zero_t.val();
        for j in 1..R1 {
            self.es[j].next = self.es[j - 1].val() ^ self.ec[j - 1].val() ^ self.x[j - 1].val();
            self.emaj[j - 1].next = (self.es[j - 1].val() & self.ec[j - 1].val())
                | (self.es[j - 1].val() & self.x[j - 1].val())
                | (self.ec[j - 1].val() & self.x[j - 1].val());
            self.ec[j].next = self.emaj[j - 1].val() + self.emaj[j - 1].val();
        }
        // Then the product rows.
        for j in R..R1 {
            self.s[0].next = self.es[j].val() ^ self.ec[j].val() ^ self.rowx[0].val();
            self.maj[0].next = (self.es[j].val() & self.ec[j].val())
                | (self.es[j].val() & self.rowx[0].val())
                | (self.ec[j].val() & self.rowx[0].val());
        }
        self.c[0].next = self.maj[0].val() + self.maj[0].val();
        for j in 1..W {
            self.s[j].next = self.s[j - 1].val() ^ self.c[j - 1].val() ^ self.rowx[j].val();
            self.maj[j].next = (self.s[j - 1].val() & self.c[j - 1].val())
                | (self.s[j - 1].val() & self.rowx[j].val())
                | (self.c[j - 1].val() & self.rowx[j].val());
            self.c[j].next = self.maj[j].val() + self.maj[j].val();
        }
        // The one carry-propagate adder.
        for j in (W - 1)..W {
            self.t.next = self.s[j].val() + self.c[j].val();
        }
    }
}

/// The fused compensation rows, in the array's order `[cin_a, cin_w, ra
/// (K), rw (K)]` with K = M + 1 rows per term and R = 2K + 2: their sum
/// plus `top::rows_extra(W, K)` is `qw*est(a) + qa*est(w)` (mod 2^T). Row k of a term is enabled for k = 0 always and
/// for k >= 1 by emb bit k-1 of the other operand; `neg = !edb & !ezb`.
pub struct CompRows<const W: usize, const C: usize, const T: usize, const K: usize, const R: usize> {
    /// Weight q.
    pub qw: Signal<In, Bits<W>>,
    /// Activation q.
    pub qa: Signal<In, Bits<W>>,
    /// Weight compensation bits (ezb, edb, emb).
    pub cw: Signal<In, Bits<C>>,
    /// Activation compensation bits.
    pub ca: Signal<In, Bits<C>>,
    /// Carries of the inverted rows of `qw*est(a)` (x[0] of the array).
    pub cin_a: Signal<Out, Bits<T>>,
    /// Carries of the inverted rows of `qa*est(w)` (x[1]).
    pub cin_w: Signal<Out, Bits<T>>,
    /// Rows of `qw*est(a)`, row k at shift k (x[2..2+K]).
    pub ra: [Signal<Out, Bits<T>>; K],
    /// Rows of `qa*est(w)` (x[2+K..R]).
    pub rw: [Signal<Out, Bits<T>>; K],
    // Term a: qw * est(a), steered by ca. Term w: qa * est(w), by cw.
    ga: Signal<Local, Bit>,
    gw: Signal<Local, Bit>,
    da: Signal<Local, Bit>,
    dw: Signal<Local, Bit>,
    nega: Signal<Local, Bit>,
    negw: Signal<Local, Bit>,
    qga: Signal<Local, Bits<W>>,
    qgw: Signal<Local, Bits<W>>,
    nma: Signal<Local, Bits<W>>,
    nmw: Signal<Local, Bits<W>>,
    xqa: Signal<Local, Bits<W>>,
    xqw: Signal<Local, Bits<W>>,
    xma: Signal<Local, Bits<W>>,
    xmw: Signal<Local, Bits<W>>,
    eba: [Signal<Local, Bit>; K],
    ebw: [Signal<Local, Bit>; K],
    ena: [Signal<Local, Bit>; K],
    enw: [Signal<Local, Bit>; K],
    pata: [Signal<Local, Bits<W>>; K],
    patw: [Signal<Local, Bits<W>>; K],
    sha: [ShiftExt<W, T>; K],
    shw: [ShiftExt<W, T>; K],
    cba: [Signal<Local, Bit>; K],
    cbw: [Signal<Local, Bit>; K],
    cva: [Signal<Local, Bits<T>>; K],
    cvw: [Signal<Local, Bits<T>>; K],
    cora: [Signal<Local, Bits<T>>; K],
    corw: [Signal<Local, Bits<T>>; K],
    ezb_mask: Constant<Bits<C>>,
    edb_mask: Constant<Bits<C>>,
    emask: [Constant<Bits<C>>; K],
    always: [Constant<Bit>; K],
    onehot: [Constant<Bits<T>>; K],
    ones_w: Constant<Bits<W>>,
    zero_w: Constant<Bits<W>>,
    msb_w: Constant<Bits<W>>,
    zero_t: Constant<Bits<T>>,
    settle_changed: bool,
}

settled_block!(
    CompRows<W, C, T, K, R>,
    settle_changed,
    [qw, qa, cw, ca, cin_a, cin_w, ra, rw, ga, gw, da, dw, nega, negw, qga, qgw, nma, nmw, xqa, xqw, xma, xmw, eba, ebw, ena, enw, pata, patw, sha, shw, cba, cbw, cva, cvw, cora, corw, ezb_mask, edb_mask, emask, always, onehot, ones_w, zero_w, msb_w, zero_t]
);

impl<const W: usize, const C: usize, const T: usize, const K: usize, const R: usize>
    CompRows<W, C, T, K, R>
{
    /// With M = K - 1 emb bits and Z = `z`.
    pub fn new(z: bool) -> Self {
        let m = K - 1;
        assert!(K >= 1 && K <= 3 && R == 2 * K + 2 && C == z as usize + 1 + m && T >= W + K);
        Self {
            qw: Default::default(),
            qa: Default::default(),
            cw: Default::default(),
            ca: Default::default(),
            cin_a: Default::default(),
            cin_w: Default::default(),
            ra: std::array::from_fn(|_| Default::default()),
            rw: std::array::from_fn(|_| Default::default()),
            ga: Default::default(),
            gw: Default::default(),
            da: Default::default(),
            dw: Default::default(),
            nega: Default::default(),
            negw: Default::default(),
            qga: Default::default(),
            qgw: Default::default(),
            nma: Default::default(),
            nmw: Default::default(),
            xqa: Default::default(),
            xqw: Default::default(),
            xma: Default::default(),
            xmw: Default::default(),
            eba: std::array::from_fn(|_| Default::default()),
            ebw: std::array::from_fn(|_| Default::default()),
            ena: std::array::from_fn(|_| Default::default()),
            enw: std::array::from_fn(|_| Default::default()),
            pata: std::array::from_fn(|_| Default::default()),
            patw: std::array::from_fn(|_| Default::default()),
            sha: std::array::from_fn(ShiftExt::new),
            shw: std::array::from_fn(ShiftExt::new),
            cba: std::array::from_fn(|_| Default::default()),
            cbw: std::array::from_fn(|_| Default::default()),
            cva: std::array::from_fn(|_| Default::default()),
            cvw: std::array::from_fn(|_| Default::default()),
            cora: std::array::from_fn(|_| Default::default()),
            corw: std::array::from_fn(|_| Default::default()),
            ezb_mask: Constant::new(bits_of(if z { 1i128 << (m + 1) } else { 0 })),
            edb_mask: Constant::new(bits_of(1i128 << m)),
            emask: std::array::from_fn(|k| Constant::new(bits_of(if k == 0 { 0 } else { 1i128 << (k - 1) }))),
            always: std::array::from_fn(|k| Constant::new(k == 0)),
            onehot: std::array::from_fn(|k| Constant::new(bits_of(1i128 << k))),
            ones_w: Constant::new(bits_of(-1)),
            zero_w: Constant::new(Bits::default()),
            msb_w: Constant::new(bits_of(1i128 << (W - 1))),
            zero_t: Constant::new(Bits::default()),
            settle_changed: false,
        }
    }
}

impl<const W: usize, const C: usize, const T: usize, const K: usize, const R: usize> Logic
    for CompRows<W, C, T, K, R>
{
    #[hdl_gen]
    fn update(&mut self) {
        // Gating (low-power mode): an operand with ezb set zeroes the other q.
        self.ga.next = (self.ca.val() & self.ezb_mask.val()).any();
        self.gw.next = (self.cw.val() & self.ezb_mask.val()).any();
        self.qga.next = self.qw.val();
        if self.ga.val() {
            self.qga.next = self.zero_w.val();
        }
        self.qgw.next = self.qa.val();
        if self.gw.val() {
            self.qgw.next = self.zero_w.val();
        }
        // Direction: edb = 0 means est < 0: invert the rows, add carries.
        self.da.next = (self.ca.val() & self.edb_mask.val()).any();
        self.dw.next = (self.cw.val() & self.edb_mask.val()).any();
        self.nega.next = !self.da.val() & !self.ga.val();
        self.negw.next = !self.dw.val() & !self.gw.val();
        self.nma.next = self.zero_w.val();
        if self.nega.val() {
            self.nma.next = self.ones_w.val();
        }
        self.nmw.next = self.zero_w.val();
        if self.negw.val() {
            self.nmw.next = self.ones_w.val();
        }
        self.xqa.next = self.qga.val() ^ self.nma.val();
        self.xqw.next = self.qgw.val() ^ self.nmw.val();
        self.xma.next = self.xqa.val() ^ self.msb_w.val();
        self.xmw.next = self.xqw.val() ^ self.msb_w.val();
        for k in 0..K {
            // Row k: enabled always (k = 0) or by emb bit k-1.
            self.eba[k].next = (self.ca.val() & self.emask[k].val()).any();
            self.ebw[k].next = (self.cw.val() & self.emask[k].val()).any();
            self.ena[k].next = self.always[k].val() | self.eba[k].val();
            self.enw[k].next = self.always[k].val() | self.ebw[k].val();
            self.pata[k].next = self.msb_w.val();
            if self.ena[k].val() {
                self.pata[k].next = self.xma.val();
            }
            self.patw[k].next = self.msb_w.val();
            if self.enw[k].val() {
                self.patw[k].next = self.xmw.val();
            }
            self.sha[k].x.next = self.pata[k].val();
            self.shw[k].x.next = self.patw[k].val();
            self.ra[k].next = self.sha[k].y.val();
            self.rw[k].next = self.shw[k].y.val();
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
        for k in (K - 1)..K {
            self.cin_a.next = self.cora[k].val();
            self.cin_w.next = self.corw[k].val();
        }
    }
}
