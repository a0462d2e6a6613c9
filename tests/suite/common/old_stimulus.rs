//! A verbatim copy of the stimulus generator as it was before streaming
//! (records built up front in a Vec), to prove the streamed one gives the
//! same records for the same seed.
#![allow(dead_code)]
use fpec::format::{Format, Split};
use fpec::golden::{encode, pack, Word};
use fpec::verify::manifest::Dut;
use fpec::verify::stimulus::{pair, A_SHIFT, FIRST, LAST, RST};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

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

struct Gen<'a> {
    split: &'a Split,
    rng: ChaCha8Rng,
    out: Vec<u64>,
    n_mask: u64,
    lmax: u64,
    wfmt: Format,
    afmt: Format,
    code_offset: u64,
}

impl Gen<'_> {
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
        pack(self.split, w)
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
                Kind::Dnn => {
                    let x: f64 = StandardNormal.sample(&mut self.rng);
                    let x = 0.5 * x;
                    let y: f64 = StandardNormal.sample(&mut self.rng);
                    let y = y.max(0.0);
                    let w = encode(x, &self.wfmt).map(|w| self.word(&w)).unwrap_or(0);
                    let a = encode(y, &self.afmt).map(|a| self.word(&a)).unwrap_or(0);
                    (w, a)
                }
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

/// `n` finished dot products (plus interrupted ones) from `seed`.
pub fn random(dut: &Dut, n: u64, seed: u64) -> (Vec<u64>, StimStats) {
    let split = &dut.split;
    let w = split.w as i32;
    let mk_fmt = |fb: i32| {
        Format::new(*split, fb, None).unwrap_or(Format {
            split: *split,
            fb: 0,
            t: 0,
        })
    };
    let mut g = Gen {
        split,
        rng: ChaCha8Rng::seed_from_u64(seed),
        out: Vec::new(),
        n_mask: (1u64 << split.n()) - 1,
        lmax: dut.max_len,
        wfmt: mk_fmt(w - 2),
        afmt: mk_fmt(w - 3),
        code_offset: 0,
    };
    let mut st = StimStats::default();
    g.reset(2);
    let lmax = dut.max_len;
    let codes_len = (1u64 << (2 * split.c())).min(lmax);
    let fixed: [(Kind, u64); 8] = [
        (Kind::Uniform, 1),
        (Kind::MaxPos, lmax),
        (Kind::AllMax, lmax),
        (Kind::MaxNeg, lmax),
        (Kind::CompCodes, codes_len),
        (Kind::Dnn, lmax.min(64)),
        (Kind::Uniform, lmax),
        (Kind::Sparse, lmax.min(32)),
    ];
    let mut done = 0u64;
    let mut idx = 0usize;
    while done < n {
        let (kind, len) = if idx < fixed.len() {
            fixed[idx]
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
        idx += 1;
        if kind == Kind::CompCodes {
            g.code_offset = g.rng.gen_range(0..1u64 << (2 * split.c()));
        }
        let ops = g.operands(kind, len);
        let gaps = g.rng.gen_bool(0.3);
        // Sometimes: a reset interrupts this product, which is then sent again.
        if idx > fixed.len() && len >= 2 && g.rng.gen_bool(0.03) {
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
        done += 1;
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
    for _ in 0..dut.latency + 2 {
        g.idle();
    }
    (g.out, st)
}
