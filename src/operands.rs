//! Operand generators shared by the verifier's stimulus
//! (`verify::stimulus`) and the energy workloads (`energy::Workload`): one
//! DNN-like distribution, so that "DNN-like operands" mean the same thing in
//! a verification run and in an energy figure.

use crate::format::Format;
use crate::golden::{encode, pack};
use anyhow::Result;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// One DNN-like (w, a) pair of packed words: the weight `w_scale * N(0, 1)`
/// encoded in `wfmt`, the activation `ReLU(N(0, 1))` in `afmt` (drawn in
/// that order from `rng`). The two formats share the split.
pub fn dnn_pair<R: Rng>(
    rng: &mut R,
    wfmt: &Format,
    afmt: &Format,
    w_scale: f64,
) -> Result<(u32, u32)> {
    let x: f64 = StandardNormal.sample(rng);
    let y: f64 = StandardNormal.sample(rng);
    let w = encode(w_scale * x, wfmt)?;
    let a = encode(y.max(0.0), afmt)?;
    Ok((pack(&wfmt.split, &w), pack(&afmt.split, &a)))
}
