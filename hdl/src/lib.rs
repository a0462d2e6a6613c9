//! fpec-hdl: the hardware of fpec described in rust-hdl.
//!
//! - [`mul`]: the multiplier array every MAC shares (partial products,
//!   [`heap`] reduction, one adder);
//! - [`comp`]: the fused compensation blocks ([`comp::rows`]);
//! - [`heap`]: the bit heap (Dadda tree) every array reduces with;
//! - [`acc`]: the accumulator with the MAC control, and the blocks of the
//!   `split` arch;
//! - [`requant`]: the requantizer core (spec 5);
//! - [`blocks`]: leaf widgets (extenders, `EstMul`);
//! - `dispatch`: run-time widths to rust-hdl types, per block;
//! - [`plan`]: the wiring of every top, written once (ports, nets,
//!   instances with their block, key widths, cost class and port map; the
//!   blocks' port names);
//! - [`top`]: the tops of spec 6.1/6.2 built from their plans (Verilog and
//!   rust-sim);
//! - [`sim`]: the cycle interface of the `rust-sim` backend;
//! - [`emit`]: Verilog files as shipped (renaming, one module per file);
//! - [`format`]: the number format (split W+C, M, Z; FB, T) with its ranges;
//! - widths (this module): exact datapath widths from W, M, Z and Lmax.

pub mod acc;
pub mod blocks;
pub mod comp;
pub mod dispatch;
pub mod emit;
pub mod format;
pub mod heap;
pub mod mul;
pub mod plan;
pub mod requant;
pub mod sim;
pub mod top;

pub use plan::Arch;
pub use sim::{MacIn, MacOut, MacSim};

include!("widths.rs");

/// Latency of every generated MAC (spec 6.1): the edge that samples the last
/// pair writes the result, so synchronous logic sees `out_valid` one edge later.
pub const LATENCY: u32 = 1;

/// A hardware configuration request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacConfig {
    /// The bit split: W, and for FPEC the field set (M, Z).
    pub split: format::Split,
    /// Lmax, the longest dot product (MAX_LEN_RANGE).
    pub max_len: u64,
    /// Microarchitecture (spec 6.4); ignored for FxP.
    pub arch: Arch,
}

/// Errors of the hardware generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HdlError(pub String);

impl std::fmt::Display for HdlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HdlError {}

impl MacConfig {
    /// Checks the ranges (those of [`format::Split::new`], and Lmax) and
    /// returns the widths.
    pub fn widths(&self) -> Result<Widths, HdlError> {
        let split = format::Split::new(self.split.w, self.split.comp).map_err(|e| HdlError(e.0))?;
        if !(MAX_LEN_RANGE.0..=MAX_LEN_RANGE.1).contains(&self.max_len) {
            return Err(HdlError(format!(
                "max_len = {} is out of range (allowed {}..={})",
                self.max_len, MAX_LEN_RANGE.0, MAX_LEN_RANGE.1
            )));
        }
        Ok(widths(
            split.w,
            split.m(),
            split.z(),
            !split.is_fxp(),
            sized_len(self.max_len),
        ))
    }
    /// Name of the top module (`fpec_mac` or `fxp_mac`).
    pub fn top(&self) -> &'static str {
        if !self.split.is_fxp() {
            "fpec_mac"
        } else {
            "fxp_mac"
        }
    }
}

pub use requant::RequantParams;

fn check_requant(p: &RequantParams) -> Result<(), HdlError> {
    if !(2..=16).contains(&p.wo) || p.mo > 2 || p.to > 32 || !(-64..=127).contains(&p.k) {
        return Err(HdlError(format!(
            "requantizer parameters out of range: {p:?}"
        )));
    }
    Ok(())
}

/// Generates `fpec_requant` files (leaves first).
pub fn generate_requant(
    p: &RequantParams,
    header: &str,
) -> Result<Vec<emit::VerilogFile>, HdlError> {
    check_requant(p)?;
    top::RequantTop::new(p)?.files("fpec_requant", header)
}

/// Evaluates the rust-hdl requantizer model on `sums` (rust-hdl simulator).
pub fn requant_sim(p: &RequantParams, sums: &[i64]) -> Result<Vec<u32>, HdlError> {
    check_requant(p)?;
    let mut r = top::RequantTop::new(p)?;
    Ok(sums.iter().map(|&s| r.eval(s)).collect())
}

/// Generates the Verilog files of a MAC (leaves first, top last); `header`
/// is prepended to every file.
pub fn generate_mac(cfg: &MacConfig, header: &str) -> Result<Vec<emit::VerilogFile>, HdlError> {
    top::Mac::new(cfg)?.files(cfg.top(), header)
}

/// The wiring plan of the MAC top of `cfg` (its instances and their cost
/// classes included), after the range checks.
pub fn mac_plan(cfg: &MacConfig) -> Result<plan::TopPlan, HdlError> {
    Ok(plan::plan(&cfg.widths()?, cfg.arch))
}

/// A `rust-sim` simulator of the MAC.
pub fn mac_sim(cfg: &MacConfig) -> Result<Box<dyn MacSim>, HdlError> {
    Ok(Box::new(top::Mac::new(cfg)?))
}

/// Checks that every block of `cfg` has an instance (without generating).
pub fn dispatches(cfg: &MacConfig) -> Result<(), HdlError> {
    top::Mac::new(cfg).map(|_| ())
}

/// Checks that the requantizer `p` has an instance.
pub fn requant_dispatches(p: &RequantParams) -> Result<(), HdlError> {
    check_requant(p)?;
    top::RequantTop::new(p).map(|_| ())
}
