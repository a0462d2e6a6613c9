//! Hardware in the loop for one network layer (`fpec dnn verify-layer`):
//! the dot products of a layer, as the golden model computes them, are the
//! stimulus; the RTL must return the same `sum` for each.
//!
//! [`layer_stimulus`] collects the layer's real operand pairs;
//! [`verify_layer_rtl`] generates the MAC for the split, runs those pairs
//! through it under Verilator (`fpec::verify`) and compares every `sum` with
//! the golden inference's.

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
    t: Option<u32>,
) -> Result<(QuantConfig, Vec<DotRecord>)> {
    let ranges = calibrate(model, calib)?;
    let mut cfg = QuantConfig::from_ranges(split, &ranges, None)?;
    cfg.override_t(t, t)?;
    let qm = QuantModel::new(model, &cfg)?;
    let recs = qm.layer_dot_products(k, &test.take(images).images)?;
    Ok((cfg, recs))
}

/// Outcome of a hardware-in-the-loop run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerCheck {
    /// Dot products sent.
    pub products: usize,
    /// Pairs sent.
    pub pairs: usize,
    /// Products whose hardware sum differs from the golden inference.
    pub mismatches: usize,
    /// First mismatches: (record index, expected, got).
    pub first: Vec<(usize, Option<i64>, Option<i64>)>,
    /// The Verilog files simulated (the generated MAC).
    pub files: Vec<std::path::PathBuf>,
}

/// Generates the MAC for `split` (Lmax = the next power of two covering the
/// longest product, at least 4096), runs every record back to back under
/// Verilator, and compares each `out_sum` with the record's golden `sum`.
/// `work` holds the generated RTL and the Verilator build cache.
pub fn verify_layer_rtl(
    split: Split,
    arch: crate::gen::Arch,
    max_len: u64,
    records: &[DotRecord],
    work: &std::path::Path,
) -> Result<LayerCheck> {
    use crate::verify::backend::Backend;
    use crate::verify::stimulus::{pair, Stimulus, RST};
    let longest = records.iter().map(|r| r.pairs.len()).max().unwrap_or(1) as u64;
    if longest > max_len {
        return Err(crate::util::usage(format!(
            "--max-len {max_len} is shorter than the layer's dot products ({longest} pairs); allowed {longest}..={}",
            crate::manifest::GEN_MAX_LEN.1
        )));
    }
    let rtl = work.join(format!(
        "mac-{}-{max_len}",
        crate::gen::config_dir_name(&split, arch)
    ));
    let req = crate::gen::GenRequest {
        arch,
        ..crate::gen::GenRequest::mac(split, max_len)
    };
    crate::gen::generate(&req, &rtl)?;
    let dut = crate::verify::manifest::load(&rtl.join("manifest.json"))?;
    let mut be = crate::verify::verilator::VerilatorBackend::build(
        &dut,
        &crate::toolchain::cache::cache_root(),
    )?;
    let mut cycles = vec![RST, RST];
    for r in records {
        anyhow::ensure!(!r.pairs.is_empty(), "empty dot product in layer stimulus");
        let n = r.pairs.len();
        for (i, (w, a)) in r.pairs.iter().enumerate() {
            cycles.push(pair(*w, *a, i == 0, i + 1 == n));
        }
    }
    cycles.extend(std::iter::repeat_n(0, dut.latency as usize + 2));
    let stim = Stimulus::Cycles(cycles);
    let mut got: Vec<Option<i64>> = Vec::with_capacity(records.len());
    let s = dut.sum_width;
    be.run(&stim, &mut |_, v| {
        got.push(v.map(|x| crate::verify::check::sext(x, s)))
    })?;
    let mut out = LayerCheck {
        products: records.len(),
        pairs: records.iter().map(|r| r.pairs.len()).sum(),
        mismatches: 0,
        first: Vec::new(),
        files: dut.files.clone(),
    };
    let want: Vec<i64> = records.iter().map(|r| r.sum).collect();
    let d = crate::verify::check::diff_sums(&want, &got, 10);
    out.mismatches = d.mismatches;
    out.first = d.first;
    Ok(out)
}
