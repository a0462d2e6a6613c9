//! The multiplier array shared by every MAC (spec 6.4, last paragraph).
//!
//! [`CsaMul`] is a signed W x W Baugh-Wooley partial-product array, shifted
//! left by G, whose W rows and R extra rows go into one bit heap
//! ([`crate::heap::BitHeap`], a Dadda tree) and one carry-propagate adder.
//! The FxP MAC gives no extra row (R = 0, G = 0); the fused FPEC MAC gives
//! the rows of [`crate::comp::rows::CompRows`] (the compensation term as
//! shifted, conditionally inverted copies of q and their carry-ins), which
//! enter the heap in the columns they occupy, beside the partial products.
//! So both MACs run the same generator code (the same partial products,
//! tree and adder) and an energy ratio measures the compensation alone.
//!
//! Measured before (BENCHMARKS.md, session 3 and "MAC at its physical cost
//! (issue 19)"): a linear carry-save chain with the compensation reduced to
//! one row by its own adder, added across every column of the last 3:2
//! stage.
//!
//! Cost class: `multiplier`.

use crate::blocks::{bits_of, low_mask, settled_block, Cpa, ShiftExt, SETTLE_MAX};
use crate::heap::BitHeap;
use rust_hdl::prelude::*;

/// Supports of the W partial-product rows: row j occupies columns
/// G+j .. G+j+W-1 (its Baugh-Wooley inversions included).
pub fn pp_supports(w: usize, g: usize) -> Vec<u64> {
    (0..w).map(|j| low_mask(w) << (g + j)).collect()
}

/// The array's constant: the Baugh-Wooley correction `(2^W - 2^(2W-1)) <<
/// G` plus the extra rows' constant `extra`, mod 2^T.
pub fn bias(w: usize, g: usize, t: usize, extra: i128) -> u64 {
    let w = w as u32;
    let b = (((1i128 << w) - (1i128 << (2 * w - 1))) << g) + extra;
    (b as u64) & low_mask(t)
}

/// Signed W x W product shifted by G, plus R extra rows:
/// `t = ((a*b) << G) + sum(x) + extra` (mod 2^T), where `extra` is a
/// constant the row generator declares (its rows' sign-extension
/// constants) and each extra row stays inside its declared support.
///
/// Partial-product rows `rows[j] = (a_j ? b << (G + j) : 0) ^ masks[j]`
/// (masks: the Baugh-Wooley inversions); the heap reduces them, the extra
/// rows and the constant to two rows; `t = s + c` ([`Cpa`]). Doublings are written
/// `x + x` (rust-hdl 0.46 simulates shifts through a BigUint); synthesis
/// reduces them to wiring.
pub struct CsaMul<const W: usize, const T: usize, const R: usize> {
    /// Multiplicand (two's complement).
    pub a: Signal<In, Bits<W>>,
    /// Multiplier (two's complement).
    pub b: Signal<In, Bits<W>>,
    /// Extra rows.
    pub x: [Signal<In, Bits<T>>; R],
    /// Result (two's complement, exact when the true value fits T bits).
    pub t: Signal<Out, Bits<T>>,
    bz: ShiftExt<W, T>,
    heap: BitHeap<T, W, R>,
    cpa: Cpa<T>,
    bsh: [Signal<Local, Bits<T>>; W],
    rows: [Signal<Local, Bits<T>>; W],
    masks: [Constant<Bits<T>>; W],
    amask: [Constant<Bits<W>>; W],
    zero_t: Constant<Bits<T>>,
    settle_changed: bool,
}

settled_block!(CsaMul<W, T, R>, settle_changed, [a, b, x, t, bz, heap, cpa, bsh, rows, masks, amask, zero_t]);

impl<const W: usize, const T: usize, const R: usize> CsaMul<W, T, R> {
    /// Product shifted by `g`; `extra` is the constant of the extra rows
    /// and `sup` their supports (see [`crate::comp::rows`]).
    pub fn new(g: usize, extra: i128, sup: &[u64]) -> Self {
        assert!(W >= 2 && T >= 2 * W + g && T <= 64 && sup.len() == R);
        let mut all = pp_supports(W, g);
        all.extend_from_slice(sup);
        Self {
            a: Default::default(),
            b: Default::default(),
            x: std::array::from_fn(|_| Default::default()),
            t: Default::default(),
            bz: ShiftExt::new(g),
            heap: BitHeap::new(&all, bias(W, g, T, extra)),
            cpa: Default::default(),
            bsh: std::array::from_fn(|_| Default::default()),
            rows: std::array::from_fn(|_| Default::default()),
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
            settle_changed: false,
        }
    }
}

impl<const W: usize, const T: usize, const R: usize> Logic for CsaMul<W, T, R> {
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
            self.heap.p[j].next = self.rows[j].val() ^ self.masks[j].val();
        }
        for j in 0..R {
            self.heap.x[j].next = self.x[j].val();
        }
        // The one carry-propagate adder.
        self.cpa.a.next = self.heap.s.val();
        self.cpa.b.next = self.heap.c.val();
        self.t.next = self.cpa.y.val();
    }
}

/// The array from the maths: `((a*b) << G) + sum(x) + extra` mod 2^T.
pub fn reference(w: u32, t: u32, g: u32, extra: i128, a: u64, b: u64, x: &[u64]) -> u64 {
    let sx = |v: u64| ((v << (64 - w)) as i64) >> (64 - w);
    let p = (sx(a) as i128 * sx(b) as i128) << g;
    let s: i128 = p + x.iter().map(|&v| v as i128).sum::<i128>() + extra;
    (s as u64) & low_mask(t as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval<const W: usize, const T: usize, const R: usize>(
        m: &mut CsaMul<W, T, R>,
        a: u64,
        b: u64,
        x: &[u64],
    ) -> u64 {
        m.a.next = a.into();
        m.b.next = b.into();
        for (s, &v) in m.x.iter_mut().zip(x) {
            s.next = v.into();
        }
        simulate(m, 100);
        m.t.val().to_u64()
    }

    #[test]
    fn fxp_arrays_exhaustive() {
        fn one<const W: usize, const T: usize>() {
            let mut m = CsaMul::<W, T, 0>::new(0, 0, &[]);
            m.connect_all();
            for a in 0..1u64 << W {
                for b in 0..1u64 << W {
                    let want = reference(W as u32, T as u32, 0, 0, a, b, &[]);
                    assert_eq!(eval(&mut m, a, b, &[]), want, "W {W}: {a} * {b}");
                }
            }
        }
        one::<2, 4>();
        one::<3, 6>();
        one::<4, 8>();
        one::<5, 10>();
    }

    #[test]
    fn corner_cases_and_extra_rows() {
        // The most negative operands, and extra rows inside their supports.
        let mut m = CsaMul::<3, 8, 2>::new(2, -(1i128 << 4), &[0b1111, 0b11110]);
        m.connect_all();
        for a in 0..8u64 {
            for b in 0..8u64 {
                for x0 in 0..16u64 {
                    for x1 in [0u64, 2, 14, 30] {
                        let want = reference(3, 8, 2, -(1i128 << 4), a, b, &[x0, x1]);
                        assert_eq!(eval(&mut m, a, b, &[x0, x1]), want, "{a} {b} {x0} {x1}");
                    }
                }
            }
        }
    }
}
