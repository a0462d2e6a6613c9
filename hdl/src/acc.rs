//! Accumulation and control: [`AccCtl`], the one accumulator with the MAC
//! control (done flag, output isolation) that every MAC uses, and the
//! blocks only the `split` arch needs ([`EstTerms`], [`CompAcc`],
//! [`OutAdd`]). Sign extension between blocks of different widths is
//! wiring in the top level (see `top`), so these blocks are keyed by one
//! width each.

use crate::blocks::{bits_of, settled_block, EstMul, SETTLE_MAX};
use rust_hdl::prelude::*;

/// The accumulator and control of every MAC (spec 6.1, latency 1): on a
/// valid pair `r <= (first ? 0 : r) + d`; the edge that samples the last
/// pair sets `done`, so `out_valid = done` one edge later and `out_sum` is
/// `r` while `done` (isolated to zero otherwise, so whatever follows does
/// not switch during accumulation). `rst` clears everything.
#[derive(LogicBlock)]
pub struct AccCtl<const S: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// A pair is presented.
    pub valid: Signal<In, Bit>,
    /// The pair starts a dot product.
    pub first: Signal<In, Bit>,
    /// The pair ends it.
    pub last: Signal<In, Bit>,
    /// Addend (two's complement, already sign-extended to S).
    pub d: Signal<In, Bits<S>>,
    /// A finished dot product.
    pub out_valid: Signal<Out, Bit>,
    /// Its sum (zero while `out_valid` is low).
    pub out_sum: Signal<Out, Bits<S>>,
    base: Signal<Local, Bits<S>>,
    zero: Constant<Bits<S>>,
    r: DFF<Bits<S>>,
    done: DFF<Bit>,
}

impl<const S: usize> Default for AccCtl<S> {
    fn default() -> Self {
        Self {
            clk: Default::default(),
            rst: Default::default(),
            valid: Default::default(),
            first: Default::default(),
            last: Default::default(),
            d: Default::default(),
            out_valid: Default::default(),
            out_sum: Default::default(),
            base: Default::default(),
            zero: Constant::new(Bits::default()),
            r: Default::default(),
            done: Default::default(),
        }
    }
}

impl<const S: usize> Logic for AccCtl<S> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, r, done);
        self.base.next = self.r.q.val();
        if self.first.val() {
            self.base.next = self.zero.val();
        }
        if self.valid.val() {
            self.r.d.next = self.base.val() + self.d.val();
        }
        self.done.d.next = self.valid.val() & self.last.val();
        if self.rst.val() {
            self.r.d.next = self.zero.val();
            self.done.d.next = false;
        }
        self.out_sum.next = self.zero.val();
        if self.done.q.val() {
            self.out_sum.next = self.r.q.val();
        }
        self.out_valid.next = self.done.q.val();
    }
}

/// `split` arch: the compensation term `qw*est(a) + qa*est(w)` (two
/// [`EstMul`]s, each gating its q to zero when the other operand's ezb is
/// set) and `skip`, both ezb set.
pub struct EstTerms<const W: usize, const C: usize, const TW: usize> {
    /// Weight q.
    pub qw: Signal<In, Bits<W>>,
    /// Activation q.
    pub qa: Signal<In, Bits<W>>,
    /// Weight compensation bits.
    pub cw: Signal<In, Bits<C>>,
    /// Activation compensation bits.
    pub ca: Signal<In, Bits<C>>,
    /// The term.
    pub term: Signal<Out, Bits<TW>>,
    /// Both ezb set (sparse pair).
    pub skip: Signal<Out, Bit>,
    est_a: EstMul<W, C, TW>,
    est_w: EstMul<W, C, TW>,
    wz: Signal<Local, Bit>,
    az: Signal<Local, Bit>,
    ezb_mask: Constant<Bits<C>>,
    settle_changed: bool,
}

settled_block!(EstTerms<W, C, TW>, settle_changed, [qw, qa, cw, ca, term, skip, est_a, est_w, wz, az, ezb_mask]);

impl<const W: usize, const C: usize, const TW: usize> EstTerms<W, C, TW> {
    /// With M = `m` emb bits and Z = `z`.
    pub fn new(m: usize, z: bool) -> Self {
        Self {
            qw: Default::default(),
            qa: Default::default(),
            cw: Default::default(),
            ca: Default::default(),
            term: Default::default(),
            skip: Default::default(),
            est_a: EstMul::new(m, z),
            est_w: EstMul::new(m, z),
            wz: Default::default(),
            az: Default::default(),
            ezb_mask: Constant::new(bits_of(if z { 1i128 << (m + 1) } else { 0 })),
            settle_changed: false,
        }
    }
}

impl<const W: usize, const C: usize, const TW: usize> Logic for EstTerms<W, C, TW> {
    #[hdl_gen]
    fn update(&mut self) {
        self.est_a.q.next = self.qw.val();
        self.est_a.word.next = self.ca.val();
        self.est_w.q.next = self.qa.val();
        self.est_w.word.next = self.cw.val();
        self.term.next = self.est_a.t.val() + self.est_w.t.val();
        self.wz.next = (self.cw.val() & self.ezb_mask.val()).any();
        self.az.next = (self.ca.val() & self.ezb_mask.val()).any();
        self.skip.next = self.wz.val() & self.az.val();
    }
}

/// `split` arch: the compensation accumulator. Not enabled on a sparse pair
/// (`skip`); a skipped pair that starts a product sets `stale` (the
/// register holds the previous product's value), so `live` is low until
/// the next enabled pair, which starts from 0.
#[derive(LogicBlock)]
pub struct CompAcc<const CA: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// A pair is presented.
    pub valid: Signal<In, Bit>,
    /// The pair starts a dot product.
    pub first: Signal<In, Bit>,
    /// The pair is sparse.
    pub skip: Signal<In, Bit>,
    /// The term, sign-extended to CA.
    pub d: Signal<In, Bits<CA>>,
    /// Compensation sum so far (meaningful when `live`).
    pub cacc: Signal<Out, Bits<CA>>,
    /// The register holds this product's sum (else the sum is 0).
    pub live: Signal<Out, Bit>,
    base: Signal<Local, Bits<CA>>,
    en_l: Signal<Local, Bit>,
    zero: Constant<Bits<CA>>,
    r: DFF<Bits<CA>>,
    stale: DFF<Bit>,
}

impl<const CA: usize> Default for CompAcc<CA> {
    fn default() -> Self {
        Self {
            clk: Default::default(),
            rst: Default::default(),
            valid: Default::default(),
            first: Default::default(),
            skip: Default::default(),
            d: Default::default(),
            cacc: Default::default(),
            live: Default::default(),
            base: Default::default(),
            en_l: Default::default(),
            zero: Constant::new(Bits::default()),
            r: Default::default(),
            stale: Default::default(),
        }
    }
}

impl<const CA: usize> Logic for CompAcc<CA> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, r, stale);
        self.en_l.next = self.valid.val() & !self.skip.val();
        self.base.next = self.r.q.val();
        if self.first.val() | self.stale.q.val() {
            self.base.next = self.zero.val();
        }
        if self.en_l.val() {
            self.r.d.next = self.base.val() + self.d.val();
            self.stale.d.next = false;
        } else if self.valid.val() & self.first.val() {
            self.stale.d.next = true;
        }
        if self.rst.val() {
            self.r.d.next = self.zero.val();
            self.stale.d.next = false;
        }
        self.cacc.next = self.r.q.val();
        self.live.next = !self.stale.q.val();
    }
}

/// `split` arch: the output adder `sum = (acc << G) + (valid & live ? comp :
/// 0)`; `acc` arrives isolated by [`AccCtl`], `comp` is isolated here.
pub struct OutAdd<const S: usize> {
    /// Product sum (sign-extended to S, zero unless valid).
    pub acc: Signal<In, Bits<S>>,
    /// Compensation sum (sign-extended to S).
    pub comp: Signal<In, Bits<S>>,
    /// The product is finished.
    pub valid: Signal<In, Bit>,
    /// `comp` holds this product's sum.
    pub live: Signal<In, Bit>,
    /// The sum of spec 4.
    pub sum: Signal<Out, Bits<S>>,
    comp_iso: Signal<Local, Bits<S>>,
    acc_sh: Signal<Local, Bits<S>>,
    g: Constant<Bits<8>>,
    zero: Constant<Bits<S>>,
    settle_changed: bool,
}

settled_block!(OutAdd<S>, settle_changed, [acc, comp, valid, live, sum, comp_iso, acc_sh, g, zero]);

impl<const S: usize> OutAdd<S> {
    /// With G = `g` guard bits.
    pub fn new(g: usize) -> Self {
        Self {
            acc: Default::default(),
            comp: Default::default(),
            valid: Default::default(),
            live: Default::default(),
            sum: Default::default(),
            comp_iso: Default::default(),
            acc_sh: Default::default(),
            g: Constant::new(bits_of(g as i128)),
            zero: Constant::new(Bits::default()),
            settle_changed: false,
        }
    }
}

impl<const S: usize> Logic for OutAdd<S> {
    #[hdl_gen]
    fn update(&mut self) {
        self.comp_iso.next = self.zero.val();
        if self.valid.val() & self.live.val() {
            self.comp_iso.next = self.comp.val();
        }
        self.acc_sh.next = self.acc.val() << self.g.val();
        self.sum.next = self.acc_sh.val() + self.comp_iso.val();
    }
}
