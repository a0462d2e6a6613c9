//! Hardware in the loop for one network layer (`fpec dnn verify-layer`):
//! the dot products of a layer, as the golden model computes them, are the
//! stimulus; the RTL must return the same `sum` for each.
//!
//! [`layer_stimulus`] is complete. [`verify_layer_rtl`] is the hook for the
//! Verilator verifier (`fpec::verify`), which is wired at integration.

use crate::dnn::data::Dataset;
use crate::dnn::model::Model;
use crate::dnn::quant::{calibrate, DotRecord, QuantConfig, QuantModel};
use crate::format::Split;
use anyhow::Result;

/// Every dot product of MAC layer `k` (0-based over conv2d/dense layers) for
/// the first `images` samples of `test`, with FB from `calib` ranges and
/// default thresholds: packed (w, a) words and expected `sum` (before bias).
pub fn layer_stimulus(
    model: &Model,
    split: Split,
    k: usize,
    calib: &Dataset,
    test: &Dataset,
    images: usize,
) -> Result<(QuantConfig, Vec<DotRecord>)> {
    let ranges = calibrate(model, calib)?;
    let cfg = QuantConfig::from_ranges(split, &ranges, None)?;
    let qm = QuantModel::new(model, &cfg)?;
    let recs = qm.layer_dot_products(k, &test.take(images).images)?;
    Ok((cfg, recs))
}

/// Runs the stimulus through the generated MAC under Verilator and compares
/// every `sum`. Not wired yet: returns an error saying so.
pub fn verify_layer_rtl(split: Split, k: usize, records: &[DotRecord]) -> Result<()> {
    anyhow::bail!(
        "verify-layer: the Verilator back end is not wired yet (fpec::verify); \
         {} dot products of layer {k} for {split} are ready (fpec::dnn::hil::layer_stimulus) \
         but cannot be run on RTL in this build",
        records.len()
    )
}
