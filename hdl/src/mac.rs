//! The MAC tops of spec 6.1: `fpec_mac` (W x W multiplier, product
//! accumulator, sparse compensation adder, output adder) and the FxP
//! baseline `fxp_mac`. Latency 1: the edge that samples the last pair writes
//! both accumulators and sets `done`; `out_valid` is `done` and `out_sum` is
//! the combinational `(acc << G) + comp` of the accumulators, isolated (forced
//! to zero) while `done` is low so the output adder does not switch during
//! accumulation.

use crate::blocks::{bits_of, Accumulator, BwMul, CompAdder, SignExt, SplitWord};
use rust_hdl::prelude::*;

/// `fpec_mac`: W computation bits, N-bit words, P = 2W product, TW-bit
/// compensation term, A/CA-bit accumulators, S-bit sum, M emb bits.
#[derive(LogicBlock)]
pub struct FpecMac<
    const W: usize,
    const C: usize,
    const N: usize,
    const P: usize,
    const TW: usize,
    const A: usize,
    const CA: usize,
    const S: usize,
> {
    /// Clock (rising edge).
    pub clk: Signal<In, Clock>,
    /// Synchronous active-high reset.
    pub rst: Signal<In, Bit>,
    /// A pair is presented this cycle.
    pub in_valid: Signal<In, Bit>,
    /// The pair starts a new dot product.
    pub in_first: Signal<In, Bit>,
    /// The pair ends the dot product.
    pub in_last: Signal<In, Bit>,
    /// Weight word.
    pub w: Signal<In, Bits<N>>,
    /// Activation word.
    pub a: Signal<In, Bits<N>>,
    /// High for one cycle per finished dot product.
    pub out_valid: Signal<Out, Bit>,
    /// The signed sum of spec 4.
    pub out_sum: Signal<Out, Bits<S>>,
    mul: BwMul<W, P>,
    acc: Accumulator<P, A>,
    comp: CompAdder<W, C, TW, CA>,
    oext_acc: SignExt<A, S>,
    oext_comp: SignExt<CA, S>,
    sw: SplitWord<N, W, C>,
    sa: SplitWord<N, W, C>,
    acc_iso: Signal<Local, Bits<A>>,
    comp_iso: Signal<Local, Bits<CA>>,
    acc_sh: Signal<Local, Bits<S>>,
    g: Constant<Bits<8>>,
    zero_a: Constant<Bits<A>>,
    zero_ca: Constant<Bits<CA>>,
    done: DFF<Bit>,
}

impl<
        const W: usize,
        const C: usize,
        const N: usize,
        const P: usize,
        const TW: usize,
        const A: usize,
        const CA: usize,
        const S: usize,
    > FpecMac<W, C, N, P, TW, A, CA, S>
{
    /// With M = `m` emb bits and Z = `z` (the words carry an ezb bit).
    pub fn new(m: usize, z: bool) -> Self {
        assert!(C == 1 + m + z as usize);
        Self {
            clk: Default::default(),
            rst: Default::default(),
            in_valid: Default::default(),
            in_first: Default::default(),
            in_last: Default::default(),
            w: Default::default(),
            a: Default::default(),
            out_valid: Default::default(),
            out_sum: Default::default(),
            mul: Default::default(),
            acc: Default::default(),
            comp: CompAdder::new(m, z),
            oext_acc: Default::default(),
            oext_comp: Default::default(),
            sw: Default::default(),
            sa: Default::default(),
            acc_iso: Default::default(),
            comp_iso: Default::default(),
            acc_sh: Default::default(),
            g: Constant::new(bits_of((m + 2) as i128)),
            zero_a: Constant::new(Bits::default()),
            zero_ca: Constant::new(Bits::default()),
            done: Default::default(),
        }
    }
}

impl<
        const W: usize,
        const C: usize,
        const N: usize,
        const P: usize,
        const TW: usize,
        const A: usize,
        const CA: usize,
        const S: usize,
    > Logic for FpecMac<W, C, N, P, TW, A, CA, S>
{
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, done);
        // Computation bits: word[N-1:C].
        self.sw.x.next = self.w.val();
        self.sa.x.next = self.a.val();
        // Main path: W x W product into the A-bit accumulator.
        self.mul.a.next = self.sw.q.val();
        self.mul.b.next = self.sa.q.val();
        self.acc.clk.next = self.clk.val();
        self.acc.rst.next = self.rst.val();
        self.acc.en.next = self.in_valid.val();
        self.acc.first.next = self.in_first.val();
        self.acc.d.next = self.mul.p.val();
        // Compensation path.
        self.comp.clk.next = self.clk.val();
        self.comp.rst.next = self.rst.val();
        self.comp.valid.next = self.in_valid.val();
        self.comp.first.next = self.in_first.val();
        self.comp.w.next = self.sw.c.val();
        self.comp.a.next = self.sa.c.val();
        self.comp.qw.next = self.sw.q.val();
        self.comp.qa.next = self.sa.q.val();
        // Control.
        self.done.d.next = self.in_valid.val() & self.in_last.val();
        if self.rst.val() {
            self.done.d.next = false;
        }
        // Output adder with operand isolation.
        self.acc_iso.next = self.zero_a.val();
        self.comp_iso.next = self.zero_ca.val();
        if self.done.q.val() {
            self.acc_iso.next = self.acc.q.val();
            if self.comp.live.val() {
                self.comp_iso.next = self.comp.cacc.val();
            }
        }
        self.oext_acc.x.next = self.acc_iso.val();
        self.oext_comp.x.next = self.comp_iso.val();
        self.acc_sh.next = self.oext_acc.y.val() << self.g.val();
        self.out_sum.next = self.acc_sh.val() + self.oext_comp.y.val();
        self.out_valid.next = self.done.q.val();
    }
}

/// `fxp_mac`: the FxP baseline, W x W multiplier and A-bit accumulator
/// (S = A), same control and latency as `fpec_mac`.
#[derive(LogicBlock)]
pub struct FxpMac<const W: usize, const P: usize, const A: usize> {
    /// Clock (rising edge).
    pub clk: Signal<In, Clock>,
    /// Synchronous active-high reset.
    pub rst: Signal<In, Bit>,
    /// A pair is presented this cycle.
    pub in_valid: Signal<In, Bit>,
    /// The pair starts a new dot product.
    pub in_first: Signal<In, Bit>,
    /// The pair ends the dot product.
    pub in_last: Signal<In, Bit>,
    /// Weight word.
    pub w: Signal<In, Bits<W>>,
    /// Activation word.
    pub a: Signal<In, Bits<W>>,
    /// High for one cycle per finished dot product.
    pub out_valid: Signal<Out, Bit>,
    /// The signed sum (= acc).
    pub out_sum: Signal<Out, Bits<A>>,
    mul: BwMul<W, P>,
    acc: Accumulator<P, A>,
    zero_a: Constant<Bits<A>>,
    done: DFF<Bit>,
}

impl<const W: usize, const P: usize, const A: usize> Default for FxpMac<W, P, A> {
    fn default() -> Self {
        Self {
            clk: Default::default(),
            rst: Default::default(),
            in_valid: Default::default(),
            in_first: Default::default(),
            in_last: Default::default(),
            w: Default::default(),
            a: Default::default(),
            out_valid: Default::default(),
            out_sum: Default::default(),
            mul: Default::default(),
            acc: Default::default(),
            zero_a: Constant::new(Bits::default()),
            done: Default::default(),
        }
    }
}

impl<const W: usize, const P: usize, const A: usize> Logic for FxpMac<W, P, A> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, done);
        self.mul.a.next = self.w.val();
        self.mul.b.next = self.a.val();
        self.acc.clk.next = self.clk.val();
        self.acc.rst.next = self.rst.val();
        self.acc.en.next = self.in_valid.val();
        self.acc.first.next = self.in_first.val();
        self.acc.d.next = self.mul.p.val();
        self.done.d.next = self.in_valid.val() & self.in_last.val();
        if self.rst.val() {
            self.done.d.next = false;
        }
        self.out_sum.next = self.zero_a.val();
        if self.done.q.val() {
            self.out_sum.next = self.acc.q.val();
        }
        self.out_valid.next = self.done.q.val();
    }
}
