//! Activity models and workloads: the dot products a toggle simulation
//! runs, and the share of pairs the low-power mode skips.

use crate::format::{Format, Split};
use crate::golden::Operand;
use crate::util::usage;
use anyhow::Result;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The activity model a command asks for (`--activity`), before its
/// parameters (toggle rate, seed, MACs) make it an [`Activity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ActivityKind {
    /// Toggle rate per cell.
    Static,
    /// Verilator, zero-delay toggle counts on the synthesized netlist.
    Sim,
    /// Icarus, unit gate delays: glitches counted too.
    Glitch,
}

/// The workload a command asks for (`--workload`), before its length makes
/// it a [`Workload`]; recorded by name (`uniform`, `dnn`) in flow shards.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadKind {
    /// Uniformly random words.
    Uniform,
    /// Gaussian weights, ReLU activations, encoded by the golden model.
    Dnn,
}

impl WorkloadKind {
    /// The workload of this kind with dot products of `len`.
    pub fn with_len(self, len: usize) -> Workload {
        match self {
            WorkloadKind::Uniform => Workload::Uniform { len },
            WorkloadKind::Dnn => Workload::Dnn { len },
        }
    }
}

/// The activity model.
#[derive(Debug, Clone, PartialEq)]
pub enum Activity {
    /// Every cell output toggles with this probability per cycle.
    Static {
        /// Toggle probability per cycle, 0..=1.
        toggle_rate: f64,
    },
    /// Toggles counted by simulating the gate-level netlist under Verilator.
    Sim {
        /// Workload seed.
        seed: u64,
        /// MACs to simulate (rounded up to whole dot products; an explicit
        /// `Workload::Pairs` list is simulated whole instead).
        macs: usize,
    },
    /// Toggles counted by simulating the gate-level netlist under Icarus
    /// with a unit delay on every gate: glitches included.
    Glitch {
        /// Workload seed.
        seed: u64,
        /// MACs to simulate (as for `Sim`).
        macs: usize,
    },
}

impl Activity {
    /// Name used in outputs.
    pub fn name(&self) -> String {
        match self {
            Activity::Static { toggle_rate } => format!("static (toggle rate {toggle_rate})"),
            Activity::Sim { seed, macs } => format!(
                "sim (Verilator, zero-delay toggles of the synthesized netlist, seed {seed}, {macs} MACs)"
            ),
            Activity::Glitch { seed, macs } => format!(
                "glitch (Icarus, unit-delay toggles of the synthesized netlist, glitches included, seed {seed}, {macs} MACs)"
            ),
        }
    }
    /// Short name: `static`, `sim` or `glitch`.
    pub fn kind(&self) -> &'static str {
        match self {
            Activity::Static { .. } => "static",
            Activity::Sim { .. } => "sim",
            Activity::Glitch { .. } => "glitch",
        }
    }
}

/// The operands a simulated MAC sees.
#[derive(Debug, Clone, PartialEq)]
pub enum Workload {
    /// Uniformly random N-bit words, dot products of length `len`.
    Uniform {
        /// Dot-product length.
        len: usize,
    },
    /// Gaussian weights N(0, 1) and ReLU(N(0, 1)) activations (exact zeros),
    /// both encoded with `golden::encode` at FB = W - 3 (default T).
    Dnn {
        /// Dot-product length.
        len: usize,
    },
    /// The `Dnn` operands with the sparse mode under control (FPEC, Z = 1):
    /// encoded with the zero threshold `ezb_threshold` (64ths of an LSB,
    /// spec 2) when given; when `sparsity` is given, exactly
    /// round(sparsity * len) pairs of each dot product (chosen at random
    /// from the seed) are made sparse (both ezb set) and no other pair is
    /// (the activation's ezb is cleared where both were set).
    DnnSparse {
        /// Dot-product length.
        len: usize,
        /// Share of sparse pairs, 0..=1.
        sparsity: Option<f64>,
        /// Zero threshold T, 0..=32.
        ezb_threshold: Option<u32>,
    },
    /// Explicit packed (w, a) pairs (e.g. a layer's real operands), cut into
    /// dot products of length `len` (the last one may be shorter).
    Pairs {
        /// The pairs.
        pairs: Vec<(u32, u32)>,
        /// Dot-product length.
        len: usize,
    },
}

impl Workload {
    /// Name used in outputs.
    pub fn name(&self) -> String {
        match self {
            Workload::Uniform { len } => format!("uniform (len {len})"),
            Workload::Dnn { len } => {
                format!("dnn (len {len}; w ~ N(0,1), a = ReLU(N(0,1)), FB = W-3)")
            }
            Workload::DnnSparse {
                len,
                sparsity,
                ezb_threshold,
            } => format!(
                "dnn (len {len}; w ~ N(0,1), a = ReLU(N(0,1)), FB = W-3){}{}",
                ezb_threshold.map_or(String::new(), |t| format!(", ezb threshold T = {t}")),
                sparsity.map_or(String::new(), |s| format!(
                    ", {:.0} % sparse pairs",
                    100.0 * s
                ))
            ),
            Workload::Pairs { pairs, len } => format!("pairs ({} given, len {len})", pairs.len()),
        }
    }
    /// Short name.
    pub fn kind(&self) -> &'static str {
        match self {
            Workload::Uniform { .. } => "uniform",
            Workload::Dnn { .. } | Workload::DnnSparse { .. } => "dnn",
            Workload::Pairs { .. } => "pairs",
        }
    }
    fn len(&self) -> usize {
        match self {
            Workload::Uniform { len }
            | Workload::Dnn { len }
            | Workload::DnnSparse { len, .. }
            | Workload::Pairs { len, .. } => *len,
        }
    }

    /// The dot products (lists of packed pairs) for `split`.
    pub fn dot_products(
        &self,
        split: &Split,
        seed: u64,
        macs: usize,
    ) -> Result<Vec<Vec<(u32, u32)>>> {
        let len = self.len();
        if len == 0 {
            return Err(usage("workload dot-product length must be >= 1"));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let ndots = macs.div_ceil(len).max(1);
        let mask = if split.n() >= 32 {
            u32::MAX
        } else {
            (1u32 << split.n()) - 1
        };
        match self {
            Workload::Uniform { .. } => Ok((0..ndots)
                .map(|_| {
                    (0..len)
                        .map(|_| (rng.gen::<u32>() & mask, rng.gen::<u32>() & mask))
                        .collect()
                })
                .collect()),
            Workload::Dnn { .. } => {
                let fb = split.w as i32 - 3;
                let fmt = Format::new(*split, fb, None)?;
                (0..ndots)
                    .map(|_| {
                        (0..len)
                            .map(|_| crate::operands::dnn_pair(&mut rng, &fmt, &fmt, 1.0))
                            .collect()
                    })
                    .collect()
            }
            Workload::DnnSparse {
                sparsity,
                ezb_threshold,
                ..
            } => {
                check_sparse(split, *sparsity, *ezb_threshold)?;
                let fb = split.w as i32 - 3;
                let fmt = Format::new(*split, fb, *ezb_threshold)?;
                let ezb = 1u32 << (split.m() + 1);
                (0..ndots)
                    .map(|_| {
                        let mut d: Vec<(u32, u32)> = (0..len)
                            .map(|_| crate::operands::dnn_pair(&mut rng, &fmt, &fmt, 1.0))
                            .collect::<Result<_>>()?;
                        if let Some(sh) = sparsity {
                            let k = (sh * len as f64).round() as usize;
                            let mut idx: Vec<usize> = (0..len).collect();
                            idx.shuffle(&mut rng);
                            for (j, &i) in idx.iter().enumerate() {
                                let (w, a) = &mut d[i];
                                if j < k {
                                    *w |= ezb;
                                    *a |= ezb;
                                } else if *w & ezb != 0 && *a & ezb != 0 {
                                    *a &= !ezb;
                                }
                            }
                        }
                        Ok(d)
                    })
                    .collect()
            }
            Workload::Pairs { pairs, .. } => {
                if pairs.is_empty() {
                    return Err(usage("workload: the list of pairs is empty"));
                }
                if let Some(p) = pairs.iter().find(|(w, a)| w & !mask != 0 || a & !mask != 0) {
                    return Err(usage(format!(
                        "workload pair ({:#x}, {:#x}) does not fit in N = {} bits",
                        p.0,
                        p.1,
                        split.n()
                    )));
                }
                Ok(pairs.chunks(len).map(|c| c.to_vec()).collect())
            }
        }
    }
}

/// Checks the sparse-mode controls: `sparsity` in 0..=1, `ezb_threshold`
/// in 0..=32, and a split that has sparse pairs at all (FPEC with Z = 1).
pub fn check_sparse(
    split: &Split,
    sparsity: Option<f64>,
    ezb_threshold: Option<u32>,
) -> Result<()> {
    if let Some(s) = sparsity {
        if !(0.0..=1.0).contains(&s) {
            return Err(usage(format!(
                "--sparsity {s} is out of range (allowed 0..=1)"
            )));
        }
    }
    if let Some(t) = ezb_threshold {
        if t > 32 {
            return Err(usage(format!(
                "--ezb-threshold {t} is out of range (allowed 0..=32)"
            )));
        }
    }
    if (sparsity.is_some() || ezb_threshold.is_some()) && !split.z() {
        return Err(usage(format!(
            "--sparsity/--ezb-threshold need an FPEC design with an ezb bit (Z = 1); {split} has none, so no pair is sparse"
        )));
    }
    Ok(())
}

/// Share of pairs whose two operands both have ezb = 1 (Z = 1 only).
pub fn skipped_share(split: &Split, dots: &[Vec<(u32, u32)>]) -> Option<f64> {
    if !split.z() {
        return None;
    }
    let mut n = 0usize;
    let mut skip = 0usize;
    for d in dots {
        for &(w, a) in d {
            n += 1;
            if Operand::of_bits(split, w).zero && Operand::of_bits(split, a).zero {
                skip += 1;
            }
        }
    }
    Some(if n == 0 { 0.0 } else { skip as f64 / n as f64 })
}
