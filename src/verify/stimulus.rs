//! Seeded stimulus for the MAC (spec 6.1 protocol), one `u64` record per
//! clock cycle, identical on every backend for the same seed.
//!
//! Record layout: bits 0..20 `w`, 20..40 `a` (N <= 20), bit 40 `in_valid`,
//! 41 `in_first`, 42 `in_last`, 43 `rst`.

use super::manifest::Dut;
use crate::format::{Format, Split};
use crate::golden::{pack, Word};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Shift of `a` in a record.
pub const A_SHIFT: u32 = 20;
/// Mask of one word field.
pub const WORD_MASK: u64 = (1 << 20) - 1;
/// `in_valid` bit.
pub const VALID: u64 = 1 << 40;
/// `in_first` bit.
pub const FIRST: u64 = 1 << 41;
/// `in_last` bit.
pub const LAST: u64 = 1 << 42;
/// `rst` bit.
pub const RST: u64 = 1 << 43;

/// Field accessors of a record.
pub fn rec_w(r: u64) -> u32 {
    (r & WORD_MASK) as u32
}
/// `a` of a record.
pub fn rec_a(r: u64) -> u32 {
    ((r >> A_SHIFT) & WORD_MASK) as u32
}
/// Builds a valid pair record.
pub fn pair(w: u32, a: u32, first: bool, last: bool) -> u64 {
    VALID
        | (w as u64 & WORD_MASK)
        | ((a as u64 & WORD_MASK) << A_SHIFT)
        | if first { FIRST } else { 0 }
        | if last { LAST } else { 0 }
}

/// A stimulus: explicit cycles, the exhaustive sweep or the seeded random
/// run, the last two computed on demand (memory stays flat whatever the
/// number of cycles).
#[derive(Debug, Clone)]
pub enum Stimulus {
    /// Explicit records.
    Cycles(Vec<u64>),
    /// Two reset cycles, every (w, a) pair of N-bit words as a one-pair dot
    /// product back to back (w major), then `tail` idle cycles.
    Exhaustive {
        /// N.
        n: u32,
        /// Idle cycles at the end (>= latency).
        tail: u64,
    },
    /// The seeded random run of [`random`], generated while it is read.
    Random(RandomSpec),
    /// A slice of the exhaustive walk of [`Sweep`] (the regression's
    /// exhaustive chunks), computed on demand.
    Sweep(Sweep),
}

/// Multiplier of the permuted walk: odd, so `j -> j * K mod 2^(2N)` is a
/// bijection of the (w, a) pair indices (every pair exactly once per full
/// walk, in an order that mixes w and a).
const WALK_MUL: u64 = 0x9e37_79b9_7f4a_7c15;

/// Walk indices `from..to` of the 2^(2N) (w, a) pairs, as dot products of
/// `prod_len` pairs (the last one shorter when the range ends first):
/// two reset cycles, the pairs back to back, then `tail` idle cycles. With
/// `permuted` the pair of index j is `j * WALK_MUL mod 2^(2N)` (w in the
/// high N bits), else j itself (w major, as [`Stimulus::Exhaustive`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    /// N (word width).
    pub n: u32,
    /// First walk index.
    pub from: u64,
    /// One past the last walk index (<= 2^(2N)).
    pub to: u64,
    /// Pairs per dot product (>= 1).
    pub prod_len: u64,
    /// Permuted walk.
    pub permuted: bool,
    /// Idle cycles at the end (>= latency).
    pub tail: u64,
}

impl Sweep {
    fn len(&self) -> u64 {
        2 + self.to.saturating_sub(self.from) + self.tail
    }
    fn rec(&self, i: u64) -> u64 {
        if i < 2 {
            return RST;
        }
        let k = i - 2;
        if self.from + k >= self.to {
            return 0;
        }
        let j = self.from + k;
        let mask = (1u64 << (2 * self.n)) - 1;
        let idx = if self.permuted {
            j.wrapping_mul(WALK_MUL) & mask
        } else {
            j
        };
        let wmask = (1u64 << self.n) - 1;
        let pos = k % self.prod_len.max(1);
        let last = pos + 1 == self.prod_len.max(1) || j + 1 == self.to;
        pair((idx >> self.n) as u32, (idx & wmask) as u32, pos == 0, last)
    }
}

/// Parameters of a streamed random stimulus.
#[derive(Debug, Clone)]
pub struct RandomSpec {
    split: Split,
    max_len: u64,
    latency: u32,
    n: u64,
    /// Stop after the product that reaches this many pairs (u64::MAX: no limit).
    max_pairs: u64,
    seed: u64,
    len: std::sync::OnceLock<u64>,
}

impl Stimulus {
    /// Number of cycles. For a random stimulus this costs one generation
    /// pass the first time (then cached); streaming consumers count as they
    /// go instead.
    pub fn len(&self) -> u64 {
        match self {
            Stimulus::Cycles(v) => v.len() as u64,
            Stimulus::Exhaustive { n, tail } => 2 + (1u64 << (2 * n)) + tail,
            Stimulus::Random(r) => *r.len.get_or_init(|| self.iter().count() as u64),
            Stimulus::Sweep(s) => s.len(),
        }
    }
    /// Is it empty?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The record of cycle `i` (< len). For a random stimulus this walks the
    /// stimulus from the start: use [`Stimulus::iter`] or
    /// [`Stimulus::window`] to read many records.
    pub fn get(&self, i: u64) -> u64 {
        match self {
            Stimulus::Cycles(v) => v[i as usize],
            Stimulus::Exhaustive { n, .. } => exhaustive_rec(*n, i),
            Stimulus::Random(_) => self.iter().nth(i as usize).unwrap_or(0),
            Stimulus::Sweep(s) => s.rec(i),
        }
    }
    /// Records of cycles `from..to` (fewer when the stimulus ends first).
    pub fn window(&self, from: u64, to: u64) -> Vec<u64> {
        if to <= from {
            return Vec::new();
        }
        self.iter()
            .skip(from as usize)
            .take((to - from) as usize)
            .collect()
    }
    /// All records in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(match self {
            Stimulus::Cycles(v) => IterKind::Slice(v.iter()),
            Stimulus::Exhaustive { n, .. } => IterKind::Exh {
                n: *n,
                i: 0,
                len: self.len(),
            },
            Stimulus::Random(r) => IterKind::Rand {
                gen: Box::new(RandomGen::new(r)),
                pos: 0,
            },
            Stimulus::Sweep(s) => IterKind::Sweep {
                s: *s,
                i: 0,
                len: s.len(),
            },
        })
    }
}

fn exhaustive_rec(n: u32, i: u64) -> u64 {
    if i < 2 {
        return RST;
    }
    let j = i - 2;
    if j >= 1u64 << (2 * n) {
        return 0;
    }
    let mask = (1u64 << n) - 1;
    pair((j >> n) as u32, (j & mask) as u32, true, true)
}

/// Iterator over the records of a [`Stimulus`].
pub struct Iter<'a>(IterKind<'a>);

enum IterKind<'a> {
    Slice(std::slice::Iter<'a, u64>),
    Exh { n: u32, i: u64, len: u64 },
    Rand { gen: Box<RandomGen>, pos: usize },
    Sweep { s: Sweep, i: u64, len: u64 },
}

impl Iterator for Iter<'_> {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        match &mut self.0 {
            IterKind::Slice(it) => it.next().copied(),
            IterKind::Exh { n, i, len } => {
                if *i >= *len {
                    return None;
                }
                *i += 1;
                Some(exhaustive_rec(*n, *i - 1))
            }
            IterKind::Sweep { s, i, len } => {
                if *i >= *len {
                    return None;
                }
                *i += 1;
                Some(s.rec(*i - 1))
            }
            IterKind::Rand { gen, pos } => loop {
                if let Some(&r) = gen.g.out.get(*pos) {
                    *pos += 1;
                    return Some(r);
                }
                *pos = 0;
                if !gen.fill() {
                    return None;
                }
            },
        }
    }
}

/// The exhaustive sweep for `dut` (caller checks W <= 8).
pub fn exhaustive(dut: &Dut) -> Stimulus {
    Stimulus::Exhaustive {
        n: dut.n(),
        tail: dut.latency as u64 + 2,
    }
}

/// Operand mix of one dot product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Uniform random words.
    Uniform,
    /// Most negative q times most negative q, compensation adding: the
    /// largest positive sum.
    MaxPos,
    /// All fields at their maximum.
    AllMax,
    /// Most negative q times largest q, compensation subtracting: the most
    /// negative sum.
    MaxNeg,
    /// Every pair of compensation codes, random q.
    CompCodes,
    /// Gaussian weights, ReLU activations (many exact zeros), encoded.
    Dnn,
    /// Random words with ezb set often (sparse compensation).
    Sparse,
}

struct Gen {
    split: Split,
    rng: ChaCha8Rng,
    out: Vec<u64>,
    n_mask: u64,
    lmax: u64,
    wfmt: Format,
    afmt: Format,
    code_offset: u64,
}

impl Gen {
    fn idle(&mut self) {
        let g: u64 = self.rng.gen();
        // Garbage on w, a, in_first, in_last; in_valid and rst low.
        self.out.push(g & self.garbage_mask());
    }
    fn garbage_mask(&self) -> u64 {
        self.n_mask | (self.n_mask << A_SHIFT) | FIRST | LAST
    }
    fn reset(&mut self, cycles: u32) {
        for _ in 0..cycles {
            let g: u64 = self.rng.gen();
            self.out.push(RST | (g & self.garbage_mask()));
        }
    }
    fn word(&self, w: &Word) -> u32 {
        pack(&self.split, w)
    }
    fn random_word(&mut self) -> u32 {
        (self.rng.gen::<u64>() & self.n_mask) as u32
    }
    fn comp_max(&self) -> u32 {
        (1u32 << self.split.m()) - 1
    }
    /// The operand pairs of one product of `kind` and length `len`.
    fn operands(&mut self, kind: Kind, len: u64) -> Vec<(u32, u32)> {
        let (qmin, qmax) = self.split.q_range();
        let emax = self.comp_max();
        let mk = |q: i64, edb: bool| Word {
            q: q as i32,
            ezb: false,
            edb,
            emb: emax,
        };
        let c = self.split.c();
        (0..len)
            .map(|i| match kind {
                Kind::Uniform => (self.random_word(), self.random_word()),
                Kind::MaxPos => (self.word(&mk(qmin, false)), self.word(&mk(qmin, false))),
                // q = max, edb and emb set, ezb clear: the largest estimate.
                Kind::AllMax => (self.word(&mk(qmax, true)), self.word(&mk(qmax, true))),
                Kind::MaxNeg => (self.word(&mk(qmin, false)), self.word(&mk(qmax, true))),
                Kind::CompCodes => {
                    let codes = 1u64 << c;
                    let j = i + self.code_offset;
                    let cw = (j % codes) as u32;
                    let ca = ((j / codes) % codes) as u32;
                    let qw = self.random_word() >> c << c;
                    let qa = self.random_word() >> c << c;
                    (qw | cw, qa | ca)
                }
                Kind::Dnn => crate::operands::dnn_pair(&mut self.rng, &self.wfmt, &self.afmt, 0.5)
                    .unwrap_or((0, 0)),
                Kind::Sparse => {
                    let mut w = self.random_word();
                    let mut a = self.random_word();
                    if self.split.z() {
                        let ezb = 1u32 << (c - 1);
                        if self.rng.gen_bool(0.7) {
                            w |= ezb;
                        }
                        if self.rng.gen_bool(0.7) {
                            a |= ezb;
                        }
                    }
                    (w, a)
                }
            })
            .collect()
    }
    /// Log-uniform length in 1..=Lmax.
    fn random_len(&mut self) -> u64 {
        let ln = ((self.lmax + 1) as f64).ln();
        let l = (self.rng.gen::<f64>() * ln).exp().floor() as u64;
        l.clamp(1, self.lmax)
    }
    /// Emits pairs of one product, with idle cycles inside when `gaps`.
    /// With `cut = Some(k)`, stops after k pairs (no in_last).
    fn emit(&mut self, ops: &[(u32, u32)], gaps: bool, cut: Option<usize>) {
        let len = ops.len();
        let stop = cut.unwrap_or(len);
        for (i, &(w, a)) in ops.iter().enumerate().take(stop) {
            if gaps && i > 0 && self.rng.gen_bool(0.1) {
                let k = self.rng.gen_range(1..=3);
                for _ in 0..k {
                    self.idle();
                }
            }
            self.out.push(pair(w, a, i == 0, i + 1 == len));
        }
    }
}

/// Summary of a generated stimulus.
#[derive(Debug, Clone, Copy, Default)]
pub struct StimStats {
    /// Products started (finished or not).
    pub started: u64,
    /// Products interrupted by a reset.
    pub interrupted: u64,
}

/// The random generator as a state machine: [`RandomGen::fill`] emits the
/// records of one dot product (and what follows it) at a time, drawing from
/// the RNG in exactly the order of the original all-at-once generator, so a
/// seed gives the same records as before.
struct RandomGen {
    g: Gen,
    st: StimStats,
    n: u64,
    max_pairs: u64,
    pairs: u64,
    latency: u32,
    fixed: [(Kind, u64); 8],
    done: u64,
    idx: usize,
    /// 0: reset not yet emitted; 1: products; 2: tail emitted.
    phase: u8,
}

impl RandomGen {
    fn new(spec: &RandomSpec) -> Self {
        let split = spec.split;
        let w = split.w as i32;
        let mk_fmt =
            |fb: i32| Format::new(split, fb, None).unwrap_or(Format { split, fb: 0, t: 0 });
        let lmax = spec.max_len;
        let codes_len = (1u64 << (2 * split.c())).min(lmax);
        RandomGen {
            g: Gen {
                split,
                rng: ChaCha8Rng::seed_from_u64(spec.seed),
                out: Vec::new(),
                n_mask: (1u64 << split.n()) - 1,
                lmax,
                wfmt: mk_fmt(w - 2),
                afmt: mk_fmt(w - 3),
                code_offset: 0,
            },
            st: StimStats::default(),
            n: spec.n,
            max_pairs: spec.max_pairs,
            pairs: 0,
            latency: spec.latency,
            fixed: [
                (Kind::Uniform, 1),
                (Kind::MaxPos, lmax),
                (Kind::AllMax, lmax),
                (Kind::MaxNeg, lmax),
                (Kind::CompCodes, codes_len),
                (Kind::Dnn, lmax.min(64)),
                (Kind::Uniform, lmax),
                (Kind::Sparse, lmax.min(32)),
            ],
            done: 0,
            idx: 0,
            phase: 0,
        }
    }

    /// Replaces `g.out` with the next records; false at the end.
    fn fill(&mut self) -> bool {
        self.g.out.clear();
        match self.phase {
            0 => {
                self.g.reset(2);
                self.phase = 1;
                true
            }
            1 if self.done < self.n && self.pairs < self.max_pairs => {
                self.product();
                true
            }
            1 => {
                for _ in 0..self.latency + 2 {
                    self.g.idle();
                }
                self.phase = 2;
                true
            }
            _ => false,
        }
    }

    fn product(&mut self) {
        let g = &mut self.g;
        let st = &mut self.st;
        let lmax = g.lmax;
        let c = g.split.c();
        let (kind, len) = if self.idx < self.fixed.len() {
            self.fixed[self.idx]
        } else {
            let kind = match g.rng.gen_range(0..10) {
                0..=3 => Kind::Uniform,
                4 | 5 => Kind::Dnn,
                6 => Kind::Sparse,
                7 => Kind::CompCodes,
                8 => [Kind::MaxPos, Kind::MaxNeg, Kind::AllMax][g.rng.gen_range(0..3)],
                _ => Kind::Uniform,
            };
            let len = if g.rng.gen_bool(0.02) {
                lmax
            } else {
                g.random_len()
            };
            (kind, len)
        };
        self.idx += 1;
        if kind == Kind::CompCodes {
            g.code_offset = g.rng.gen_range(0..1u64 << (2 * c));
        }
        let ops = g.operands(kind, len);
        let gaps = g.rng.gen_bool(0.3);
        // Sometimes: a reset interrupts this product, which is then sent again.
        if self.idx > self.fixed.len() && len >= 2 && g.rng.gen_bool(0.03) {
            let cut = g.rng.gen_range(1..len) as usize;
            g.emit(&ops, gaps, Some(cut));
            if g.rng.gen_bool(0.5) {
                g.idle();
            }
            let k = g.rng.gen_range(1..=3);
            g.reset(k);
            st.started += 1;
            st.interrupted += 1;
        }
        g.emit(&ops, gaps, None);
        st.started += 1;
        self.done += 1;
        self.pairs += len;
        // Between products: back to back, idle garbage, or a reset.
        match g.rng.gen_range(0..100) {
            0..=49 => {}
            50..=97 => {
                let k = g.rng.gen_range(1..=4);
                for _ in 0..k {
                    g.idle();
                }
            }
            _ => {
                // A reset right after in_last: with latency > 1 it may drop
                // the pending result (the checker knows).
                let k = g.rng.gen_range(1..=2);
                g.reset(k);
            }
        }
    }
}

fn spec_of(dut: &Dut, n: u64, seed: u64) -> RandomSpec {
    RandomSpec {
        split: dut.split,
        max_len: dut.max_len,
        latency: dut.latency,
        n,
        max_pairs: u64::MAX,
        seed,
        len: std::sync::OnceLock::new(),
    }
}

/// `n` finished dot products (plus interrupted ones) from `seed`, streamed:
/// nothing is generated until the stimulus is read.
pub fn random_stream(dut: &Dut, n: u64, seed: u64) -> Stimulus {
    Stimulus::Random(spec_of(dut, n, seed))
}

/// Finished dot products from `seed` until their pairs reach `pairs` (the
/// last product may go past it), streamed: the same records as
/// [`random_stream`] with the same seed, cut after that product.
pub fn random_pairs(dut: &Dut, pairs: u64, seed: u64) -> Stimulus {
    let mut spec = spec_of(dut, u64::MAX, seed);
    spec.max_pairs = pairs;
    Stimulus::Random(spec)
}

/// `n` finished dot products (plus interrupted ones) from `seed`, with
/// their statistics (one generation pass, which also caches the length).
pub fn random(dut: &Dut, n: u64, seed: u64) -> (Stimulus, StimStats) {
    let spec = spec_of(dut, n, seed);
    let mut gen = RandomGen::new(&spec);
    let mut cycles = 0u64;
    while gen.fill() {
        cycles += gen.g.out.len() as u64;
    }
    let _ = spec.len.set(cycles);
    (Stimulus::Random(spec), gen.st)
}
