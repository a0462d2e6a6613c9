//! Leaf widgets shared by the MAC blocks: the sign and shift extenders
//! (`Verilog::Custom` wiring leaves) and `EstMul`, one `q * est(word)`
//! product of the split compensation path; plus the `settled_block!` helper
//! that makes combinational blocks settle locally in rust-sim.
//!
//! Coding rule (TOOLCHAIN-NOTES): one operator per assignment where a cast
//! or slice is involved, every intermediate in an explicitly sized `Local`,
//! all arithmetic on `Bits` (two's complement, modular), constants as
//! `Constant`s so the Verilog never names a Rust const generic.

use rust_hdl::prelude::*;

/// Upper bound of the local settling loop of `settled_block!` (far above
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
pub(crate) use settled_block;

/// All-ones mask of the low `n` bits (n <= 64).
pub(crate) const fn low_mask(n: usize) -> u64 {
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

/// Zero extension of an X-bit value to Y bits followed by a left shift by
/// `sh` (fixed at generation, Y >= X + sh): `y = {0.., x, sh'b0}`. Pure
/// wiring; a `Verilog::Custom` leaf like [`SignExt`].
pub struct ShiftExt<const X: usize, const Y: usize> {
    /// Input.
    pub x: Signal<In, Bits<X>>,
    /// Output.
    pub y: Signal<Out, Bits<Y>>,
    sh: usize,
    settle_changed: bool,
}

settled_block!(ShiftExt<X, Y>, settle_changed, [x, y]);

impl<const X: usize, const Y: usize> ShiftExt<X, Y> {
    /// Shifts by `sh` bits.
    pub fn new(sh: usize) -> Self {
        assert!(X >= 1 && Y >= X + sh && Y <= 64);
        Self {
            x: Default::default(),
            y: Default::default(),
            sh,
            settle_changed: false,
        }
    }
}

impl<const X: usize, const Y: usize> Default for ShiftExt<X, Y> {
    fn default() -> Self {
        Self::new(0)
    }
}

impl<const X: usize, const Y: usize> Logic for ShiftExt<X, Y> {
    fn update(&mut self) {
        self.y.next = Bits::from((self.x.val().to_u64() << self.sh) & low_mask(Y));
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        let top = Y - X - self.sh;
        let mut parts = Vec::new();
        if top > 0 {
            parts.push(format!("{{{top}{{1'b0}}}}"));
        }
        parts.push("x".to_string());
        if self.sh > 0 {
            parts.push(format!("{{{}{{1'b0}}}}", self.sh));
        }
        Verilog::Custom(if parts.len() == 1 {
            "always @(*) y = x;\n".to_string()
        } else {
            format!("always @(*) y = {{{}}};\n", parts.join(", "))
        })
    }
}

/// The carry-propagate adder of a multiplier array: `y = a + b` (mod 2^T),
/// its own block so that its cells are counted apart from the tree's
/// (the row model's final-adder bits).
pub struct Cpa<const T: usize> {
    /// Operand.
    pub a: Signal<In, Bits<T>>,
    /// Operand.
    pub b: Signal<In, Bits<T>>,
    /// Sum.
    pub y: Signal<Out, Bits<T>>,
    settle_changed: bool,
}

settled_block!(Cpa<T>, settle_changed, [a, b, y]);

impl<const T: usize> Default for Cpa<T> {
    fn default() -> Self {
        Self {
            a: Default::default(),
            b: Default::default(),
            y: Default::default(),
            settle_changed: false,
        }
    }
}

impl<const T: usize> Logic for Cpa<T> {
    #[hdl_gen]
    fn update(&mut self) {
        self.y.next = self.a.val() + self.b.val();
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
