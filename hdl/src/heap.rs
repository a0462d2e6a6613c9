//! The bit heap: a Dadda reduction of weighted bits to two rows, the one
//! reduction tree of every multiplier array (FxP and FPEC alike).
//!
//! [`BitHeap`] takes P + R rows of T bits, each with a *support* (the
//! columns where it may hold a one; every other bit is structurally zero)
//! and a constant, and gives two rows `s`, `c` with
//! `s + c = sum(rows) + constant (mod 2^T)`. The plan ([`HeapPlan`]) is a
//! column-wise Dadda reduction (heights 2, 3, 4, 6, 9, ...; full adders
//! where a column must lose two bits, half adders only where it must lose
//! one), so a row enters only the columns it occupies: nothing is
//! half-added across columns a row does not reach. The plan is fixed at
//! generation from the supports; rust-hdl has no bit-level wiring by plan
//! (no concatenation, no indexed assignment), so the block is a
//! `Verilog::Custom` leaf of full- and half-adder equations, and its Rust
//! model below evaluates the same plan. It is cross-checked against the
//! maths ([`reference`](fn@reference)) in its own tests (rust-sim and Icarus on the
//! emitted Verilog, exhaustive at small widths) and by every MAC
//! verification.
//!
//! Cost class: `multiplier` (it is instantiated inside the array).

use crate::blocks::{low_mask, settled_block, SETTLE_MAX};
use rust_hdl::prelude::*;
use std::fmt::Write;

/// One bit of the heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Src {
    /// Bit `bit` of input row `row` (rows 0..P are `p`, then `x`).
    In(usize, usize),
    /// The constant one.
    One,
    /// Net `n` of the plan (an adder output).
    Net(usize),
}

/// A full adder (`c` is `Some`) or half adder: sum net `s`, carry net
/// `co` (None when the carry would leave column T-1: dropped, mod 2^T).
#[derive(Debug, Clone, Copy)]
pub struct Op {
    a: Src,
    b: Src,
    c: Option<Src>,
    s: usize,
    co: Option<usize>,
}

/// The reduction plan of one heap.
#[derive(Debug, Clone)]
pub struct HeapPlan {
    t: usize,
    p: usize,
    ops: Vec<Op>,
    nets: usize,
    s: Vec<Option<Src>>,
    c: Vec<Option<Src>>,
    unused: Vec<(usize, usize)>,
}

/// Dadda's height sequence 2, 3, 4, 6, 9, ... below `h`, largest first.
fn dadda_targets(h: usize) -> Vec<usize> {
    let mut d = vec![2usize];
    while d[d.len() - 1] * 3 / 2 < h {
        let n = d[d.len() - 1] * 3 / 2;
        d.push(n);
    }
    d.retain(|&x| x < h);
    d.reverse();
    d
}

impl HeapPlan {
    /// The plan for rows with supports `sup` (masks of T bits; the first
    /// `p` rows are the block's `p` inputs) and the constant `ones`.
    pub fn new(t: usize, p: usize, sup: &[u64], ones: u64) -> HeapPlan {
        let mut cols: Vec<Vec<Src>> = vec![Vec::new(); t];
        let mut unused = Vec::new();
        for (r, &m) in sup.iter().enumerate() {
            for (i, col) in cols.iter_mut().enumerate() {
                if (m >> i) & 1 == 1 {
                    col.push(Src::In(r, i));
                } else {
                    unused.push((r, i));
                }
            }
        }
        for (i, col) in cols.iter_mut().enumerate() {
            if (ones >> i) & 1 == 1 {
                col.push(Src::One);
            }
        }
        let mut plan = HeapPlan {
            t,
            p,
            ops: Vec::new(),
            nets: 0,
            s: Vec::new(),
            c: Vec::new(),
            unused,
        };
        let h = cols.iter().map(Vec::len).max().unwrap_or(0);
        for d in dadda_targets(h) {
            cols = plan.stage(cols, d);
        }
        for col in &cols {
            plan.s.push(col.first().copied());
            plan.c.push(col.get(1).copied());
        }
        plan
    }

    fn net(&mut self) -> usize {
        self.nets += 1;
        self.nets - 1
    }

    /// One Dadda stage: every column down to at most `d` bits, counting
    /// the carries that arrive from the column below in the same stage.
    fn stage(&mut self, cols: Vec<Vec<Src>>, d: usize) -> Vec<Vec<Src>> {
        let t = self.t;
        let mut next: Vec<Vec<Src>> = vec![Vec::new(); t];
        for (i, col) in cols.into_iter().enumerate() {
            let mut bits: std::collections::VecDeque<Src> = col.into();
            let mut h = bits.len() + next[i].len();
            while h > d && bits.len() >= 2 {
                let full = h - d >= 2 && bits.len() >= 3;
                let a = bits.pop_front().unwrap_or(Src::One);
                let b = bits.pop_front().unwrap_or(Src::One);
                let c = if full { bits.pop_front() } else { None };
                let s = self.net();
                let co = if i + 1 < t { Some(self.net()) } else { None };
                self.ops.push(Op { a, b, c, s, co });
                next[i].push(Src::Net(s));
                if let Some(n) = co {
                    next[i + 1].push(Src::Net(n));
                }
                h -= if full { 2 } else { 1 };
            }
            next[i].extend(bits);
        }
        next
    }

    /// Full and half adders of the plan.
    pub fn adders(&self) -> (usize, usize) {
        let fa = self.ops.iter().filter(|o| o.c.is_some()).count();
        (fa, self.ops.len() - fa)
    }

    /// Evaluates the plan on `rows` (P + R values): (s, c).
    pub fn eval(&self, rows: &[u64]) -> (u64, u64) {
        let mut nets = vec![false; self.nets];
        self.eval_with(rows, &mut nets)
    }

    /// [`HeapPlan::eval`] with a caller's buffer for the nets (no
    /// allocation per evaluation: rust-sim calls this every settle pass).
    pub fn eval_with(&self, rows: &[u64], nets: &mut Vec<bool>) -> (u64, u64) {
        nets.resize(self.nets, false);
        let nets = nets.as_mut_slice();
        let get = |nets: &[bool], x: Src| match x {
            Src::In(r, i) => (rows[r] >> i) & 1 == 1,
            Src::One => true,
            Src::Net(n) => nets[n],
        };
        for o in &self.ops {
            let (a, b) = (get(nets, o.a), get(nets, o.b));
            let c = o.c.map(|c| get(nets, c)).unwrap_or(false);
            nets[o.s] = a ^ b ^ c;
            if let Some(n) = o.co {
                nets[n] = (a & b) | (c & (a ^ b));
            }
        }
        let row = |v: &[Option<Src>]| {
            v.iter().enumerate().fold(0u64, |acc, (i, x)| {
                acc | ((x.is_some_and(|x| get(nets, x)) as u64) << i)
            })
        };
        (row(&self.s), row(&self.c))
    }

    fn v_src(&self, x: Src) -> String {
        match x {
            Src::In(r, i) if r < self.p => format!("p__{r}[{i}]"),
            Src::In(r, i) => format!("x__{}[{i}]", r - self.p),
            Src::One => "1'b1".to_string(),
            Src::Net(n) => format!("h{n}"),
        }
    }

    /// The Verilog body: one equation per adder output, the two rows, and
    /// the structurally-zero input bits read into one `unused` wire.
    pub fn verilog(&self) -> String {
        let mut v = String::new();
        for o in &self.ops {
            let (a, b) = (self.v_src(o.a), self.v_src(o.b));
            match o.c {
                Some(c) => {
                    let c = self.v_src(c);
                    let _ = writeln!(v, "wire h{} = {a} ^ {b} ^ {c};", o.s);
                    if let Some(n) = o.co {
                        let _ = writeln!(v, "wire h{n} = ({a} & {b}) | ({c} & ({a} ^ {b}));");
                    }
                }
                None => {
                    let _ = writeln!(v, "wire h{} = {a} ^ {b};", o.s);
                    if let Some(n) = o.co {
                        let _ = writeln!(v, "wire h{n} = {a} & {b};");
                    }
                }
            }
        }
        for (name, row) in [("s", &self.s), ("c", &self.c)] {
            let bits: Vec<String> = row
                .iter()
                .rev()
                .map(|x| x.map_or("1'b0".to_string(), |x| self.v_src(x)))
                .collect();
            let _ = writeln!(v, "always @(*) {name} = {{{}}};", bits.join(", "));
        }
        if !self.unused.is_empty() {
            let bits: Vec<String> = self
                .unused
                .iter()
                .map(|&(r, i)| self.v_src(Src::In(r, i)))
                .collect();
            let _ = writeln!(v, "wire unused_bits = ^{{{}}};", bits.join(", "));
        }
        v
    }
}

/// The reference, from the maths: `sum(rows) + constant (mod 2^T)`.
pub fn reference(t: usize, rows: &[u64], ones: u64) -> u64 {
    rows.iter().fold(ones, |acc, &r| acc.wrapping_add(r)) & low_mask(t)
}

/// P + R rows of T bits reduced to `s`, `c` (see the module doc).
pub struct BitHeap<const T: usize, const P: usize, const R: usize> {
    /// The first P rows (the product's partial products).
    pub p: [Signal<In, Bits<T>>; P],
    /// The R extra rows.
    pub x: [Signal<In, Bits<T>>; R],
    /// Sum row.
    pub s: Signal<Out, Bits<T>>,
    /// Carry row.
    pub c: Signal<Out, Bits<T>>,
    plan: HeapPlan,
    nets: Vec<bool>,
    last: Option<(Vec<u64>, u64, u64)>,
    settle_changed: bool,
}

settled_block!(BitHeap<T, P, R>, settle_changed, [p, x, s, c]);

impl<const T: usize, const P: usize, const R: usize> BitHeap<T, P, R> {
    /// With supports `sup` (P + R masks) and the constant `ones` (mod 2^T).
    pub fn new(sup: &[u64], ones: u64) -> Self {
        assert!(sup.len() == P + R && (1..=64).contains(&T));
        Self {
            p: std::array::from_fn(|_| Default::default()),
            x: std::array::from_fn(|_| Default::default()),
            s: Default::default(),
            c: Default::default(),
            plan: HeapPlan::new(T, P, sup, ones & low_mask(T)),
            nets: Vec::new(),
            last: None,
            settle_changed: false,
        }
    }
    /// The plan.
    pub fn plan(&self) -> &HeapPlan {
        &self.plan
    }
}

impl<const T: usize, const P: usize, const R: usize> Logic for BitHeap<T, P, R> {
    fn update(&mut self) {
        let mut rows = [0u64; 64];
        for (k, r) in self.p.iter().chain(self.x.iter()).enumerate() {
            rows[k] = r.val().to_u64();
        }
        // rust-hdl's settling calls update() many times per cycle: the plan
        // is evaluated only when an input row changed.
        let (s, c) = match &self.last {
            Some((prev, s, c)) if prev.as_slice() == &rows[..P + R] => (*s, *c),
            _ => {
                let (s, c) = self.plan.eval_with(&rows[..P + R], &mut self.nets);
                self.last = Some((rows[..P + R].to_vec(), s, c));
                (s, c)
            }
        };
        self.s.next = Bits::from(s);
        self.c.next = Bits::from(c);
    }
    fn connect(&mut self) {
        self.s.connect();
        self.c.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(self.plan.verilog())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(t: usize, sup: &[u64], ones: u64) {
        let plan = HeapPlan::new(t, sup.len(), sup, ones);
        let free: Vec<(usize, usize)> = sup
            .iter()
            .enumerate()
            .flat_map(|(r, &m)| {
                (0..t)
                    .filter(move |i| (m >> i) & 1 == 1)
                    .map(move |i| (r, i))
            })
            .collect();
        assert!(free.len() <= 16, "sweep too large");
        for n in 0..1u64 << free.len() {
            let mut rows = vec![0u64; sup.len()];
            for (k, &(r, i)) in free.iter().enumerate() {
                rows[r] |= ((n >> k) & 1) << i;
            }
            let (s, c) = plan.eval(&rows);
            assert_eq!(
                s.wrapping_add(c) & low_mask(t),
                reference(t, &rows, ones),
                "T {t} rows {rows:?}"
            );
        }
    }

    #[test]
    fn corner_cases() {
        // Nothing, a constant alone, one row, a full column.
        sweep(4, &[], 0b1010);
        sweep(4, &[0b1111], 0);
        sweep(3, &[0b111, 0b111, 0b111, 0b111], 0b111);
        // A carry out of the top column is dropped (mod 2^T).
        sweep(2, &[0b11, 0b11, 0b10, 0b10], 0b10);
    }

    #[test]
    fn exhaustive_small_arrays() {
        // Partial-product shapes: W rows of W bits, shifted.
        for w in 2..=4usize {
            let sup: Vec<u64> = (0..w).map(|j| low_mask(w) << j).collect();
            sweep(2 * w, &sup, 0b101 << 1);
        }
        // Sparse rows in free columns (the compensation carries).
        sweep(6, &[0b111100, 0b011110, 0b000111, 0b1, 0b100], 0b100000);
    }

    #[test]
    fn dadda_heights() {
        assert_eq!(dadda_targets(2), Vec::<usize>::new());
        assert_eq!(dadda_targets(3), vec![2]);
        assert_eq!(dadda_targets(10), vec![9, 6, 4, 3, 2]);
        // A column never ends above two bits, and 8 rows of 8 bits need
        // about one full adder per bit beyond the last two rows.
        let sup: Vec<u64> = (0..8).map(|j| 0xffu64 << j).collect();
        let plan = HeapPlan::new(16, 8, &sup, 0);
        assert!(plan
            .c
            .iter()
            .zip(&plan.s)
            .all(|(c, s)| c.is_none() || s.is_some()));
        let (fa, ha) = plan.adders();
        assert!((35..=49).contains(&fa) && ha <= 8, "FA {fa} HA {ha}");
    }
}
