//! The leaf blocks of the MAC, each a small rust-hdl widget with explicit
//! ports: the Baugh-Wooley multiplier, the sparse compensation adder with its
//! accumulator, the product accumulator and a sign extender.
//!
//! Coding rule (TOOLCHAIN-NOTES): one operator per assignment where a cast
//! or slice is involved, every intermediate in an explicitly sized `Local`,
//! all arithmetic on `Bits` (two's complement, modular), constants as
//! `Constant`s so the Verilog never names a Rust const generic.

use rust_hdl::prelude::*;

/// Upper bound of the local settling loop of [`settled_block!`] (far above
/// the deepest block: the multiplier settles in about 3W + 3 passes).
pub const SETTLE_MAX: usize = 256;

/// Implements `Block` exactly as `#[derive(LogicBlock)]` does (same
/// `connect_all` and `accept`, so the same Verilog), except that
/// `update_all` settles a purely combinational block locally: it repeats
/// `update()` and the commit of its fields until nothing changes, and
/// reports whether anything changed on the way. A chain of k dependent
/// signals inside the block then costs one pass of the whole design instead
/// of k. This is the `rust-sim` speed lever; the result is the same fixed
/// point, because the block has no state and its inputs are fixed while it
/// settles.
macro_rules! settled_block {
    ($name:ident <$($g:ident),*>, $flag:ident, [$($f:ident),* $(,)?]) => {
        impl<$(const $g: usize),*> Block for $name<$($g),*> {
            fn connect_all(&mut self) {
                self.connect();
                $(self.$f.connect_all();)*
            }
            fn update_all(&mut self) {
                let mut any = false;
                for _ in 0..SETTLE_MAX {
                    self.update();
                    $(self.$f.update_all();)*
                    if !($(self.$f.has_changed())||*) {
                        break;
                    }
                    any = true;
                }
                self.$flag = any;
            }
            fn has_changed(&self) -> bool {
                self.$flag
            }
            fn accept(&self, name: &str, probe: &mut dyn Probe) {
                probe.visit_start_scope(name, self);
                $(self.$f.accept(stringify!($f), probe);)*
                probe.visit_end_scope(name, self);
            }
        }
    };
}

/// All-ones mask of the low `n` bits (n <= 64).
const fn low_mask(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// `Bits<N>` holding the two's-complement pattern of `v` (wrapped to N bits).
pub fn bits_of<const N: usize>(v: i128) -> Bits<N> {
    let mut b = Bits::<N>::default();
    for i in 0..N {
        if (v >> i.min(127)) & 1 == 1 {
            b = b.replace_bit(i, true);
        }
    }
    b
}

/// Signed W x W -> P (= 2W) multiplier, built structurally as a Baugh-Wooley
/// partial-product array reduced by a carry-save adder array: row j is
/// `rows[j] = (a_j ? b << j : 0) ^ masks[j]` with the Baugh-Wooley
/// inversions (row W-1: its low W-1 bits; other rows: their top bit); a
/// chain of 3:2 compressors (`s`, `c`, bitwise, no carry propagation) adds
/// the rows and the constant `2^W + 2^(2W-1)`, and a single P-bit adder
/// resolves `p = s + c (mod 2^2W)`. Only one carry-propagate adder, so the
/// array glitches far less than a chain of ripple adders would (see the
/// `glitch` activity model). Doublings (`b << j`, the carries' `<< 1`) are
/// written `x + x`, which synthesis reduces to wiring, because rust-hdl 0.46
/// simulates every shift through a heap-allocated BigUint.
pub struct BwMul<const W: usize, const P: usize> {
    /// Multiplicand (two's complement).
    pub a: Signal<In, Bits<W>>,
    /// Multiplier (two's complement).
    pub b: Signal<In, Bits<W>>,
    /// Product (two's complement, exact).
    pub p: Signal<Out, Bits<P>>,
    bz: ZeroExt<W, P>,
    bsh: [Signal<Local, Bits<P>>; W],
    rows: [Signal<Local, Bits<P>>; W],
    rowx: [Signal<Local, Bits<P>>; W],
    s: [Signal<Local, Bits<P>>; W],
    c: [Signal<Local, Bits<P>>; W],
    maj: [Signal<Local, Bits<P>>; W],
    masks: [Constant<Bits<P>>; W],
    amask: [Constant<Bits<W>>; W],
    zero_p: Constant<Bits<P>>,
    bias: Constant<Bits<P>>,
    settle_changed: bool,
}

settled_block!(BwMul<W, P>, settle_changed, [a, b, p, bz, bsh, rows, rowx, s, c, maj, masks, amask, zero_p, bias]);

impl<const W: usize, const P: usize> Default for BwMul<W, P> {
    fn default() -> Self {
        const { assert!(P == 2 * W && W >= 2) };
        Self {
            a: Default::default(),
            b: Default::default(),
            p: Default::default(),
            bz: Default::default(),
            bsh: std::array::from_fn(|_| Default::default()),
            rows: std::array::from_fn(|_| Default::default()),
            rowx: std::array::from_fn(|_| Default::default()),
            s: std::array::from_fn(|_| Default::default()),
            c: std::array::from_fn(|_| Default::default()),
            maj: std::array::from_fn(|_| Default::default()),
            masks: std::array::from_fn(|j| {
                Constant::new(bits_of(
                    if j == W - 1 {
                        (1i128 << (W - 1)) - 1
                    } else {
                        1i128 << (W - 1)
                    } << j,
                ))
            }),
            amask: std::array::from_fn(|j| Constant::new(bits_of(1i128 << j))),
            zero_p: Constant::new(Bits::default()),
            bias: Constant::new(bits_of((1i128 << W) + (1i128 << (2 * W - 1)))),
            settle_changed: false,
        }
    }
}

impl<const W: usize, const P: usize> Logic for BwMul<W, P> {
    #[hdl_gen]
    fn update(&mut self) {
        self.bz.x.next = self.b.val();
        // Partial-product rows, row j weighted 2^j.
        self.bsh[0].next = self.bz.y.val();
        for j in 1..W {
            self.bsh[j].next = self.bsh[j - 1].val() + self.bsh[j - 1].val();
        }
        for j in 0..W {
            self.rows[j].next = self.zero_p.val();
            if (self.a.val() & self.amask[j].val()).any() {
                self.rows[j].next = self.bsh[j].val();
            }
            self.rowx[j].next = self.rows[j].val() ^ self.masks[j].val();
        }
        // Carry-save array: (s, c) += rows[j]; stage 0 holds row 0 and the
        // Baugh-Wooley constant.
        self.s[0].next = self.rowx[0].val() ^ self.bias.val();
        self.maj[0].next = self.rowx[0].val() & self.bias.val();
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
            self.p.next = self.s[j].val() + self.c[j].val();
        }
    }
}

/// Sign extension of an X-bit two's-complement value to Y bits (Y >= X).
/// A leaf written as `Verilog::Custom` (rust-hdl has no concatenation, and
/// its `bit_cast` emits a width-mismatched mask); its Rust model below is
/// cross-checked against the Verilog by every verification run.
#[derive(Default)]
pub struct SignExt<const X: usize, const Y: usize> {
    /// Input.
    pub x: Signal<In, Bits<X>>,
    /// Output.
    pub y: Signal<Out, Bits<Y>>,
    settle_changed: bool,
}

settled_block!(SignExt<X, Y>, settle_changed, [x, y]);

impl<const X: usize, const Y: usize> Logic for SignExt<X, Y> {
    fn update(&mut self) {
        if Y <= 64 {
            // Fast path on u64 (the general one below builds masks bit by bit).
            let v = self.x.val().to_u64();
            let s = (((v << (64 - X)) as i64) >> (64 - X)) as u64;
            self.y.next = Bits::from(s & low_mask(Y));
            return;
        }
        let z: Bits<Y> = bit_cast::<Y, X>(self.x.val());
        self.y.next = if self.x.val().get_bit(X - 1) {
            z | bits_of::<Y>(((1i128 << Y) - 1) ^ ((1i128 << X) - 1))
        } else {
            z
        };
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        const { assert!(Y >= X && X >= 1) };
        Verilog::Custom(if Y == X {
            "always @(*) y = x;\n".to_string()
        } else {
            format!("always @(*) y = {{{{{}{{x[{}]}}}}, x}};\n", Y - X, X - 1)
        })
    }
}

/// Zero extension of an X-bit value to Y bits (Y > X); `Verilog::Custom`
/// leaf like [`SignExt`].
#[derive(Default)]
pub struct ZeroExt<const X: usize, const Y: usize> {
    /// Input.
    pub x: Signal<In, Bits<X>>,
    /// Output.
    pub y: Signal<Out, Bits<Y>>,
    settle_changed: bool,
}

settled_block!(ZeroExt<X, Y>, settle_changed, [x, y]);

impl<const X: usize, const Y: usize> Logic for ZeroExt<X, Y> {
    fn update(&mut self) {
        self.y.next = bit_cast::<Y, X>(self.x.val());
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        const { assert!(Y > X && X >= 1) };
        Verilog::Custom(format!("always @(*) y = {{{{{}{{1'b0}}}}, x}};\n", Y - X))
    }
}

/// Splits an N-bit packed word into q (`word[N-1:C]`) and the C
/// compensation bits (`word[C-1:0]`); `Verilog::Custom` leaf like [`SignExt`].
#[derive(Default)]
pub struct SplitWord<const N: usize, const W: usize, const C: usize> {
    /// Packed word.
    pub x: Signal<In, Bits<N>>,
    /// q, the computation bits.
    pub q: Signal<Out, Bits<W>>,
    /// The compensation bits (ezb, edb, emb).
    pub c: Signal<Out, Bits<C>>,
    settle_changed: bool,
}

settled_block!(SplitWord<N, W, C>, settle_changed, [x, q, c]);

impl<const N: usize, const W: usize, const C: usize> Logic for SplitWord<N, W, C> {
    fn update(&mut self) {
        let v = self.x.val().to_u64();
        self.q.next = Bits::from((v >> C) & low_mask(W));
        self.c.next = Bits::from(v & low_mask(C));
    }
    fn connect(&mut self) {
        self.q.connect();
        self.c.connect();
    }
    fn hdl(&self) -> Verilog {
        const { assert!(N == W + C && C >= 1) };
        Verilog::Custom(format!(
            "always @(*) begin\n    q = x[{}:{}];\n    c = x[{}:0];\nend\n",
            N - 1,
            C,
            C - 1
        ))
    }
}

/// Product accumulator: on a valid pair, `q <= (first ? 0 : q) + sext(d)`;
/// synchronous reset clears it. D-bit input, A-bit register.
#[derive(LogicBlock)]
pub struct Accumulator<const D: usize, const A: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Accumulate this cycle.
    pub en: Signal<In, Bit>,
    /// Start a new sum (with `en`).
    pub first: Signal<In, Bit>,
    /// Addend (two's complement).
    pub d: Signal<In, Bits<D>>,
    /// Accumulated value.
    pub q: Signal<Out, Bits<A>>,
    ext: SignExt<D, A>,
    base: Signal<Local, Bits<A>>,
    zero: Constant<Bits<A>>,
    r: DFF<Bits<A>>,
}

impl<const D: usize, const A: usize> Default for Accumulator<D, A> {
    fn default() -> Self {
        Self {
            clk: Default::default(),
            rst: Default::default(),
            en: Default::default(),
            first: Default::default(),
            d: Default::default(),
            q: Default::default(),
            ext: Default::default(),
            base: Default::default(),
            zero: Constant::new(Bits::default()),
            r: Default::default(),
        }
    }
}

impl<const D: usize, const A: usize> Logic for Accumulator<D, A> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, r);
        self.ext.x.next = self.d.val();
        self.base.next = self.r.q.val();
        if self.first.val() {
            self.base.next = self.zero.val();
        }
        if self.en.val() {
            self.r.d.next = self.base.val() + self.ext.y.val();
        }
        if self.rst.val() {
            self.r.d.next = self.zero.val();
        }
        self.q.next = self.r.q.val();
    }
}

/// One product of the compensation term: `q * est(word)` (spec 3), where
/// `word` is the *other* operand's packed N-bit word. est = 0 when Z and ezb
/// (then q is gated to zero at the input, so nothing downstream switches);
/// otherwise `(edb ? +1 : -1) * (2*emb + 1)`, realised as
/// `q + emb0*(q<<1) + emb1*(q<<2)` and a conditional two's-complement
/// negation. Terms of absent emb bits are constant zero (M is fixed).
pub struct EstMul<const W: usize, const C: usize, const TW: usize> {
    /// Own computation value q.
    pub q: Signal<In, Bits<W>>,
    /// The other operand's compensation bits.
    pub word: Signal<In, Bits<C>>,
    /// q * est(word), two's complement.
    pub t: Signal<Out, Bits<TW>>,
    ext: SignExt<W, TW>,
    gated: Signal<Local, Bits<W>>,
    sh1: Signal<Local, Bits<TW>>,
    sh2: Signal<Local, Bits<TW>>,
    t1: Signal<Local, Bits<TW>>,
    t2: Signal<Local, Bits<TW>>,
    s1: Signal<Local, Bits<TW>>,
    odd: Signal<Local, Bits<TW>>,
    inv: Signal<Local, Bits<TW>>,
    zero_w: Constant<Bits<W>>,
    zero_t: Constant<Bits<TW>>,
    one: Constant<Bits<TW>>,
    emb0_mask: Constant<Bits<C>>,
    emb1_mask: Constant<Bits<C>>,
    ezb_mask: Constant<Bits<C>>,
    edb_mask: Constant<Bits<C>>,
    settle_changed: bool,
}

settled_block!(
    EstMul<W, C, TW>,
    settle_changed,
    [q, word, t, ext, gated, sh1, sh2, t1, t2, s1, odd, inv, zero_w, zero_t, one, emb0_mask, emb1_mask, ezb_mask, edb_mask]
);

impl<const W: usize, const C: usize, const TW: usize> EstMul<W, C, TW> {
    /// With M = `m` emb bits and Z = `z`.
    pub fn new(m: usize, z: bool) -> Self {
        assert!(m <= 2 && C == 1 + m + z as usize && TW > W);
        Self {
            q: Default::default(),
            word: Default::default(),
            t: Default::default(),
            ext: Default::default(),
            gated: Default::default(),
            sh1: Default::default(),
            sh2: Default::default(),
            t1: Default::default(),
            t2: Default::default(),
            s1: Default::default(),
            odd: Default::default(),
            inv: Default::default(),
            zero_w: Constant::new(Bits::default()),
            zero_t: Constant::new(Bits::default()),
            one: Constant::new(bits_of(1)),
            emb0_mask: Constant::new(bits_of(if m >= 1 { 1 } else { 0 })),
            emb1_mask: Constant::new(bits_of(if m >= 2 { 2 } else { 0 })),
            ezb_mask: Constant::new(bits_of(if z { 1i128 << (m + 1) } else { 0 })),
            edb_mask: Constant::new(bits_of(1i128 << m)),
            settle_changed: false,
        }
    }
}

impl<const W: usize, const C: usize, const TW: usize> Logic for EstMul<W, C, TW> {
    #[hdl_gen]
    fn update(&mut self) {
        self.gated.next = self.q.val();
        if (self.word.val() & self.ezb_mask.val()).any() {
            self.gated.next = self.zero_w.val();
        }
        self.ext.x.next = self.gated.val();
        // 2q and 4q as sums (see `BwMul` on shifts).
        self.sh1.next = self.ext.y.val() + self.ext.y.val();
        self.sh2.next = self.sh1.val() + self.sh1.val();
        self.t1.next = self.zero_t.val();
        if (self.word.val() & self.emb0_mask.val()).any() {
            self.t1.next = self.sh1.val();
        }
        self.t2.next = self.zero_t.val();
        if (self.word.val() & self.emb1_mask.val()).any() {
            self.t2.next = self.sh2.val();
        }
        self.s1.next = self.ext.y.val() + self.t1.val();
        self.odd.next = self.s1.val() + self.t2.val();
        self.inv.next = !self.odd.val();
        self.t.next = self.odd.val();
        if !(self.word.val() & self.edb_mask.val()).any() {
            self.t.next = self.inv.val() + self.one.val();
        }
    }
}

/// The sparse compensation adder (spec 4): computes
/// `t = qw*est(a) + qa*est(w)` and accumulates it in its own narrow CA-bit
/// register. When both operands have ezb = 1 (Z = 1) the pair is skipped:
/// the accumulator's enable is low and its value unchanged. A skipped pair
/// that starts a product sets `stale` (the register holds the previous
/// product's value), so the next enabled pair or the output treats it as 0.
#[derive(LogicBlock)]
pub struct CompAdder<const W: usize, const C: usize, const TW: usize, const CA: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// A pair is presented.
    pub valid: Signal<In, Bit>,
    /// The pair starts a new dot product.
    pub first: Signal<In, Bit>,
    /// Weight compensation bits.
    pub w: Signal<In, Bits<C>>,
    /// Activation compensation bits.
    pub a: Signal<In, Bits<C>>,
    /// Weight q.
    pub qw: Signal<In, Bits<W>>,
    /// Activation q.
    pub qa: Signal<In, Bits<W>>,
    /// Compensation sum so far (meaningful when `live`).
    pub cacc: Signal<Out, Bits<CA>>,
    /// The register holds this product's sum (else the sum is 0).
    pub live: Signal<Out, Bit>,
    est_a: EstMul<W, C, TW>,
    est_w: EstMul<W, C, TW>,
    ext: SignExt<TW, CA>,
    term: Signal<Local, Bits<TW>>,
    base: Signal<Local, Bits<CA>>,
    wz: Signal<Local, Bit>,
    az: Signal<Local, Bit>,
    skip: Signal<Local, Bit>,
    en_l: Signal<Local, Bit>,
    zero: Constant<Bits<CA>>,
    ezb_mask: Constant<Bits<C>>,
    r: DFF<Bits<CA>>,
    stale: DFF<Bit>,
}

impl<const W: usize, const C: usize, const TW: usize, const CA: usize> CompAdder<W, C, TW, CA> {
    /// With M = `m` emb bits and Z = `z`.
    pub fn new(m: usize, z: bool) -> Self {
        Self {
            clk: Default::default(),
            rst: Default::default(),
            valid: Default::default(),
            first: Default::default(),
            w: Default::default(),
            a: Default::default(),
            qw: Default::default(),
            qa: Default::default(),
            cacc: Default::default(),
            live: Default::default(),
            est_a: EstMul::new(m, z),
            est_w: EstMul::new(m, z),
            ext: Default::default(),
            term: Default::default(),
            base: Default::default(),
            wz: Default::default(),
            az: Default::default(),
            skip: Default::default(),
            en_l: Default::default(),
            zero: Constant::new(Bits::default()),
            ezb_mask: Constant::new(bits_of(if z { 1i128 << (m + 1) } else { 0 })),
            r: Default::default(),
            stale: Default::default(),
        }
    }
}

impl<const W: usize, const C: usize, const TW: usize, const CA: usize> Logic
    for CompAdder<W, C, TW, CA>
{
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, r, stale);
        // qw * est(a) and qa * est(w).
        self.est_a.q.next = self.qw.val();
        self.est_a.word.next = self.a.val();
        self.est_w.q.next = self.qa.val();
        self.est_w.word.next = self.w.val();
        self.term.next = self.est_a.t.val() + self.est_w.t.val();
        self.ext.x.next = self.term.val();
        // Sparse: both ezb set means no work.
        self.wz.next = (self.w.val() & self.ezb_mask.val()).any();
        self.az.next = (self.a.val() & self.ezb_mask.val()).any();
        self.skip.next = self.wz.val() & self.az.val();
        self.en_l.next = self.valid.val() & !self.skip.val();
        self.base.next = self.r.q.val();
        if self.first.val() | self.stale.q.val() {
            self.base.next = self.zero.val();
        }
        if self.en_l.val() {
            self.r.d.next = self.base.val() + self.ext.y.val();
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
