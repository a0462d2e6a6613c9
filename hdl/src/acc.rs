//! Accumulation and control: [`AccCtl`], the one accumulator with the MAC
//! control (done flag, output isolation) that every MAC uses, and the
//! blocks only the `split` arch needs ([`EstTerms`], [`CompAcc`],
//! [`OutAdd`]). Sign extension between blocks of different widths is
//! wiring in the top level (see `top`), so these blocks are keyed by one
//! width each.

use crate::blocks::{bits_of, low_mask, settled_block, EstMul, SETTLE_MAX};
use rust_hdl::prelude::*;

/// The accumulator and control of every MAC (spec 6.1, latency 1).
///
/// The S-bit sum is held as a low part of L bits (binary) and a high part
/// of K = S - L bits (an up/down counter in reflected Gray code). The addend
/// is the T-bit term (T = L + 1) given as its low L bits `dl` and its sign
/// `ds`; on a valid pair the low part adds `dl` (its base is 0 on `first`)
/// and the high part steps by `carry - ds`, which is -1, 0 or +1. So the
/// high part (and no adder of sign-extension bits) switches only when the
/// sum's high part really changes, and then one flop toggles (Gray code;
/// the step across zero, -1 <-> 0, too). The edge that samples the last
/// pair sets `done`, so `out_valid = done` one edge later, and `out_lo`,
/// `out_hi` (binary, the top wires them as `{out_hi, out_lo}`) are the sum
/// while `done` and zero otherwise: the Gray-to-binary conversion sits
/// after the isolation, in its own module, so it does not switch during
/// accumulation. `rst` clears everything.
#[derive(LogicBlock)]
pub struct AccCtl<const S: usize, const L: usize, const K: usize> {
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
    /// Addend: low L bits of the T-bit two's-complement term.
    pub dl: Signal<In, Bits<L>>,
    /// Addend: the term's sign (bit L).
    pub ds: Signal<In, Bit>,
    /// A finished dot product.
    pub out_valid: Signal<Out, Bit>,
    /// Its sum, low L bits (zero while `out_valid` is low).
    pub out_lo: Signal<Out, Bits<L>>,
    /// Its sum, high K bits, binary (zero while `out_valid` is low).
    pub out_hi: Signal<Out, Bits<K>>,
    base: Signal<Local, Bits<L>>,
    inc: Signal<Local, Bit>,
    dec: Signal<Local, Bit>,
    gfirst: Signal<Local, Bits<K>>,
    g_iso: Signal<Local, Bits<K>>,
    zero_l: Constant<Bits<L>>,
    zero_k: Constant<Bits<K>>,
    top_k: Constant<Bits<K>>,
    add: AddCarry<L>,
    step: GrayStep<K>,
    conv: GrayBin<K>,
    lo: DFF<Bits<L>>,
    g: DFF<Bits<K>>,
    done: DFF<Bit>,
}

impl<const S: usize, const L: usize, const K: usize> Default for AccCtl<S, L, K> {
    fn default() -> Self {
        const { assert!(L >= 1 && K >= 1 && L + K == S && S <= 64) };
        Self {
            clk: Default::default(),
            rst: Default::default(),
            valid: Default::default(),
            first: Default::default(),
            last: Default::default(),
            dl: Default::default(),
            ds: Default::default(),
            out_valid: Default::default(),
            out_lo: Default::default(),
            out_hi: Default::default(),
            base: Default::default(),
            inc: Default::default(),
            dec: Default::default(),
            gfirst: Default::default(),
            g_iso: Default::default(),
            zero_l: Constant::new(Bits::default()),
            zero_k: Constant::new(Bits::default()),
            top_k: Constant::new(bits_of(1i128 << (K - 1))),
            add: Default::default(),
            step: Default::default(),
            conv: Default::default(),
            lo: Default::default(),
            g: Default::default(),
            done: Default::default(),
        }
    }
}

impl<const S: usize, const L: usize, const K: usize> Logic for AccCtl<S, L, K> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, lo, g, done);
        self.base.next = self.lo.q.val();
        if self.first.val() {
            self.base.next = self.zero_l.val();
        }
        self.add.a.next = self.base.val();
        self.add.b.next = self.dl.val();
        self.inc.next = self.add.co.val() & !self.ds.val();
        self.dec.next = !self.add.co.val() & self.ds.val();
        self.step.g.next = self.g.q.val();
        self.step.inc.next = self.inc.val();
        self.step.dec.next = self.dec.val();
        // On `first` the base is 0, so no carry: the high part is -ds.
        self.gfirst.next = self.zero_k.val();
        if self.ds.val() {
            self.gfirst.next = self.top_k.val();
        }
        if self.valid.val() {
            self.lo.d.next = self.add.y.val();
            self.g.d.next = self.step.y.val();
            if self.first.val() {
                self.g.d.next = self.gfirst.val();
            }
        }
        self.done.d.next = self.valid.val() & self.last.val();
        if self.rst.val() {
            self.lo.d.next = self.zero_l.val();
            self.g.d.next = self.zero_k.val();
            self.done.d.next = false;
        }
        self.out_lo.next = self.zero_l.val();
        self.g_iso.next = self.zero_k.val();
        if self.done.q.val() {
            self.out_lo.next = self.lo.q.val();
            self.g_iso.next = self.g.q.val();
        }
        self.conv.x.next = self.g_iso.val();
        self.out_hi.next = self.conv.y.val();
        self.out_valid.next = self.done.q.val();
    }
}

/// `{co, y} = a + b` (L-bit unsigned operands, carry out). A
/// `Verilog::Custom` leaf (rust-hdl has no carry out or concatenation).
#[derive(Default)]
pub struct AddCarry<const L: usize> {
    /// Operand.
    pub a: Signal<In, Bits<L>>,
    /// Operand.
    pub b: Signal<In, Bits<L>>,
    /// Sum mod 2^L.
    pub y: Signal<Out, Bits<L>>,
    /// Carry out.
    pub co: Signal<Out, Bit>,
    settle_changed: bool,
}

settled_block!(AddCarry<L>, settle_changed, [a, b, y, co]);

impl<const L: usize> Logic for AddCarry<L> {
    fn update(&mut self) {
        let s = self.a.val().to_u64() + self.b.val().to_u64();
        self.y.next = Bits::from(s & low_mask(L));
        self.co.next = (s >> L) & 1 == 1;
    }
    fn connect(&mut self) {
        self.y.connect();
        self.co.connect();
    }
    fn hdl(&self) -> Verilog {
        const { assert!(L >= 1 && L < 64) };
        Verilog::Custom("always @(*) {co, y} = {1'b0, a} + {1'b0, b};\n".to_string())
    }
}

/// One step of a K-bit reflected-Gray up/down counter: `y = g ^ f`, where
/// f flips bit 0 when (inc and parity even) or (dec and parity odd), and
/// otherwise (on inc or dec) the bit above the lowest set bit, the top bit
/// when that is the top bit or g = 0 (the wrap -1 <-> 0). `inc` and `dec`
/// are never high together. A `Verilog::Custom` leaf (per-bit logic).
#[derive(Default)]
pub struct GrayStep<const K: usize> {
    /// Counter state (Gray).
    pub g: Signal<In, Bits<K>>,
    /// Count up.
    pub inc: Signal<In, Bit>,
    /// Count down.
    pub dec: Signal<In, Bit>,
    /// Next state.
    pub y: Signal<Out, Bits<K>>,
    settle_changed: bool,
}

settled_block!(GrayStep<K>, settle_changed, [g, inc, dec, y]);

impl<const K: usize> Logic for GrayStep<K> {
    fn update(&mut self) {
        let g = self.g.val().to_u64();
        let (inc, dec) = (self.inc.val(), self.dec.val());
        let p = g.count_ones() & 1 == 1;
        let f0 = (inc && !p) || (dec && p);
        let fh = (inc && p) || (dec && !p);
        let f = if K == 1 {
            (f0 || fh) as u64
        } else {
            let mut f = f0 as u64;
            for i in 1..K {
                let sel = if i + 1 == K {
                    g & low_mask(K - 2) == 0
                } else {
                    (g >> (i - 1)) & 1 == 1 && g & low_mask(i - 1) == 0
                };
                if fh && sel {
                    f |= 1 << i;
                }
            }
            f
        };
        self.y.next = Bits::from(g ^ f);
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        const { assert!(K >= 1 && K < 64) };
        if K == 1 {
            return Verilog::Custom("always @(*) y = g ^ (inc | dec);\n".to_string());
        }
        let mut bits = Vec::new();
        for i in (0..K).rev() {
            bits.push(if i == 0 {
                "g[0] ^ f0".to_string()
            } else if i + 1 == K {
                if K == 2 {
                    format!("g[{i}] ^ fh")
                } else {
                    format!("g[{i}] ^ (fh & ~|g[{}:0])", K - 3)
                }
            } else if i == 1 {
                "g[1] ^ (fh & g[0])".to_string()
            } else {
                format!("g[{i}] ^ (fh & g[{}] & ~|g[{}:0])", i - 1, i - 2)
            });
        }
        Verilog::Custom(format!(
            "wire p = ^g;\nwire f0 = (inc & ~p) | (dec & p);\nwire fh = (inc & p) | (dec & ~p);\nalways @(*) y = {{{}}};\n",
            bits.join(", ")
        ))
    }
}

/// Gray to binary: `y[i] = g[K-1] ^ ... ^ g[i]`, written as one chain of
/// XORs. A `Verilog::Custom` leaf.
#[derive(Default)]
pub struct GrayBin<const K: usize> {
    /// Gray code.
    pub x: Signal<In, Bits<K>>,
    /// Binary.
    pub y: Signal<Out, Bits<K>>,
    settle_changed: bool,
}

settled_block!(GrayBin<K>, settle_changed, [x, y]);

impl<const K: usize> Logic for GrayBin<K> {
    fn update(&mut self) {
        let g = self.x.val().to_u64();
        let mut b = 0u64;
        let mut acc = 0u64;
        for i in (0..K).rev() {
            acc ^= (g >> i) & 1;
            b |= acc << i;
        }
        self.y.next = Bits::from(b);
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        const { assert!(K >= 1 && K < 64) };
        let mut e = format!("x[{}]", K - 1);
        let mut bits = vec![e.clone()];
        for i in (0..K - 1).rev() {
            e = format!("x[{i}] ^ ({e})");
            bits.push(e.clone());
        }
        Verilog::Custom(if K == 1 {
            "always @(*) y = x;\n".to_string()
        } else {
            format!("always @(*) y = {{{}}};\n", bits.join(", "))
        })
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

settled_block!(
    OutAdd<S>,
    settle_changed,
    [acc, comp, valid, live, sum, comp_iso, acc_sh, g, zero]
);

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
