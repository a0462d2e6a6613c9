//! Expected values (golden model) and the comparison of a backend's outputs.
//!
//! The [`Scanner`] walks the stimulus exactly as spec 6.1 defines the
//! protocol and yields, in cycle order, every dot product whose result must
//! be read: if edge t samples the `in_last` pair, `out_valid` must be high
//! on the read right after edge t + latency - 1, and low on every other read.
//! A reset at edge r clears the product in progress and every result not yet
//! read by then (read cycle >= r).

use super::manifest::Dut;
use super::stimulus::{rec_a, rec_w, Iter, Stimulus, FIRST, LAST, RST, VALID};
use crate::golden::{dot, Operand};
use std::collections::VecDeque;

/// One finished dot product and its expected result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Product {
    /// Index among all products started in the stimulus (0-based).
    pub index: u64,
    /// Global index of its first pair (all valid pairs counted, 0-based).
    pub first_pair: u64,
    /// Number of pairs L.
    pub len: u64,
    /// Cycle (edge index) of its first pair.
    pub first_cycle: u64,
    /// Cycle of its in_last pair.
    pub last_cycle: u64,
    /// Read (cycle) at which out_valid must be high.
    pub out_cycle: u64,
    /// Expected out_sum.
    pub sum: i64,
}

/// Streams the expected results of a stimulus.
pub struct Scanner<'a> {
    stim: Iter<'a>,
    ended: bool,
    dut: &'a Dut,
    pos: u64,
    started: u64,
    pairs: u64,
    cur: Option<Product>,
    w_ops: Vec<Operand>,
    a_ops: Vec<Operand>,
    pending: VecDeque<Product>,
}

impl<'a> Scanner<'a> {
    /// A scanner at cycle 0.
    pub fn new(stim: &'a Stimulus, dut: &'a Dut) -> Self {
        Scanner {
            stim: stim.iter(),
            ended: false,
            dut,
            pos: 0,
            started: 0,
            pairs: 0,
            cur: None,
            w_ops: Vec::new(),
            a_ops: Vec::new(),
            pending: VecDeque::new(),
        }
    }

    fn step(&mut self) {
        let c = self.pos;
        let Some(r) = self.stim.next() else {
            self.ended = true;
            return;
        };
        self.pos += 1;
        if r & RST != 0 {
            self.cur = None;
            while self.pending.back().is_some_and(|p| p.out_cycle >= c) {
                self.pending.pop_back();
            }
            return;
        }
        if r & VALID == 0 {
            return;
        }
        let split = &self.dut.split;
        if r & FIRST != 0 || self.cur.is_none() {
            self.cur = Some(Product {
                index: self.started,
                first_pair: self.pairs,
                len: 0,
                first_cycle: c,
                last_cycle: c,
                out_cycle: 0,
                sum: 0,
            });
            self.started += 1;
            self.w_ops.clear();
            self.a_ops.clear();
        }
        self.pairs += 1;
        self.w_ops.push(Operand::of_bits(split, rec_w(r)));
        self.a_ops.push(Operand::of_bits(split, rec_a(r)));
        if let Some(p) = self.cur.as_mut() {
            p.len += 1;
            if r & LAST != 0 {
                p.last_cycle = c;
                p.out_cycle = c + self.dut.latency as u64 - 1;
                p.sum = dot(split.g(), &self.w_ops, &self.a_ops);
                self.pending.push_back(*p);
                self.cur = None;
            }
        }
    }

    /// The next expected result, or None when the stimulus has no more
    /// (results that would be read after the last cycle are not expected).
    pub fn next_expected(&mut self) -> Option<Product> {
        loop {
            if let Some(p) = self.pending.front() {
                if p.out_cycle < self.pos {
                    return self.pending.pop_front();
                }
            }
            if self.ended {
                return None;
            }
            self.step();
        }
    }
}

/// What a backend read from `out_sum` (None: X or Z bits).
pub type Got = Option<u64>;

/// One disagreement.
#[derive(Debug, Clone)]
pub struct Mismatch {
    /// Read (cycle) where it shows.
    pub cycle: u64,
    /// The product concerned (for a spurious out_valid: the latest product
    /// due at or before that cycle, or the next one).
    pub product: Option<Product>,
    /// Expected out_sum, None when out_valid must be low.
    pub expected: Option<i64>,
    /// What was read: None when out_valid was low; Some(None) for X.
    pub got: Option<Got>,
}

impl Mismatch {
    /// One-line description.
    pub fn describe(&self, s: u32) -> String {
        let fmt_v = |v: i64| {
            format!(
                "{v} (0x{:0w$x})",
                mask(v as u64, s),
                w = s.div_ceil(4) as usize
            )
        };
        let exp = match self.expected {
            Some(v) => format!("out_valid=1 out_sum={}", fmt_v(v)),
            None => "out_valid=0".to_string(),
        };
        let got = match self.got {
            None => "out_valid=0".to_string(),
            Some(None) => "out_valid=1 out_sum=X".to_string(),
            Some(Some(raw)) => format!("out_valid=1 out_sum={}", fmt_v(sext(raw, s))),
        };
        format!("read after edge {}: expected {exp}, got {got}", self.cycle)
    }
}

/// Low `s` bits of `v`.
pub fn mask(v: u64, s: u32) -> u64 {
    if s >= 64 {
        v
    } else {
        v & ((1u64 << s) - 1)
    }
}

/// Sign-extends the low `s` bits of `v`.
pub fn sext(v: u64, s: u32) -> i64 {
    fpec_hdl::sim::sext(v, s as usize)
}

/// Compares a backend's stream of (cycle, out_sum) reads with out_valid high
/// against the expected results.
pub struct Checker<'a> {
    scan: Scanner<'a>,
    next: Option<Product>,
    last: Option<Product>,
    s: u32,
    /// Products checked.
    pub products: u64,
    /// Pairs in the checked products.
    pub pairs: u64,
    /// Number of mismatches.
    pub n_mismatch: u64,
    /// The first mismatches (up to 16), in order.
    pub mismatches: Vec<Mismatch>,
    last_cycle: Option<u64>,
}

impl<'a> Checker<'a> {
    /// A checker for `stim` on `dut`.
    pub fn new(stim: &'a Stimulus, dut: &'a Dut) -> Self {
        let mut scan = Scanner::new(stim, dut);
        let next = scan.next_expected();
        Checker {
            scan,
            next,
            last: None,
            s: dut.sum_width,
            products: 0,
            pairs: 0,
            n_mismatch: 0,
            mismatches: Vec::new(),
            last_cycle: None,
        }
    }

    fn record(&mut self, m: Mismatch) {
        self.n_mismatch += 1;
        if self.mismatches.len() < 16 {
            self.mismatches.push(m);
        }
    }

    fn advance(&mut self) {
        if let Some(p) = self.next {
            self.products += 1;
            self.pairs += p.len;
            self.last = Some(p);
        }
        self.next = self.scan.next_expected();
    }

    /// Records the expected results for which `unread` holds as missing (no
    /// read at their cycle), in order, until one for which it does not.
    fn miss_while(&mut self, unread: impl Fn(&Product) -> bool) {
        while let Some(p) = self.next.filter(|p| unread(p)) {
            self.record(Mismatch {
                cycle: p.out_cycle,
                product: Some(p),
                expected: Some(p.sum),
                got: None,
            });
            self.advance();
        }
    }

    /// A read with out_valid high at `cycle` (reads must come in increasing
    /// cycle order).
    pub fn got(&mut self, cycle: u64, val: Got) {
        if self.last_cycle.is_some_and(|c| c >= cycle) {
            // Out of order or repeated: a harness fault; count it.
            self.record(Mismatch {
                cycle,
                product: self.last,
                expected: None,
                got: Some(val),
            });
            return;
        }
        self.last_cycle = Some(cycle);
        self.miss_while(|p| p.out_cycle < cycle);
        match self.next {
            Some(p) if p.out_cycle == cycle => {
                let ok = val.is_some_and(|raw| sext(raw, self.s) == p.sum);
                if !ok {
                    self.record(Mismatch {
                        cycle,
                        product: Some(p),
                        expected: Some(p.sum),
                        got: Some(val),
                    });
                }
                self.advance();
            }
            _ => {
                let product = self.last.or(self.next);
                self.record(Mismatch {
                    cycle,
                    product,
                    expected: None,
                    got: Some(val),
                });
            }
        }
    }

    /// End of the run: every result not read is missing.
    pub fn finish(mut self) -> CheckResult {
        self.miss_while(|_| true);
        CheckResult {
            products: self.products,
            pairs: self.pairs,
            n_mismatch: self.n_mismatch,
            mismatches: self.mismatches,
        }
    }
}

/// Outcome of one backend run.
#[derive(Debug, Clone, Default)]
pub struct CheckResult {
    /// Products checked.
    pub products: u64,
    /// Pairs in them.
    pub pairs: u64,
    /// Mismatch count.
    pub n_mismatch: u64,
    /// First mismatches.
    pub mismatches: Vec<Mismatch>,
}

/// Simulated sums compared with expected ones, index by index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SumDiff {
    /// Indices where the two lists differ (a missing or an extra result
    /// counts once).
    pub mismatches: usize,
    /// The first differences: (index, expected, got).
    pub first: Vec<(usize, Option<i64>, Option<i64>)>,
}

/// The one sum comparison of the tool (hardware in the loop, gate-level
/// energy runs): `got[i]` against `expected[i]`, keeping the first `keep`
/// differences.
pub fn diff_sums(expected: &[i64], got: &[Option<i64>], keep: usize) -> SumDiff {
    let mut d = SumDiff::default();
    for i in 0..expected.len().max(got.len()) {
        let e = expected.get(i).copied();
        let g = got.get(i).copied().flatten();
        if e.is_none() || g != e {
            d.mismatches += 1;
            if d.first.len() < keep {
                d.first.push((i, e, g));
            }
        }
    }
    d
}
