//! fpec-hdl: the hardware of fpec described in rust-hdl.
//!
//! - [`blocks`]: leaf widgets (Baugh-Wooley multiplier, sparse compensation
//!   adder, accumulators, extenders);
//! - [`mac`]: the `fpec_mac` and `fxp_mac` tops of spec 6.1;
//! - [`sim`]: the cycle-by-cycle `rust-sim` backend;
//! - [`emit`]: Verilog files as shipped (renaming, one module per file);
//! - widths (this module): exact datapath widths from W, M, Z and Lmax.
//!
//! rust-hdl widths are const generics, so run-time configurations are mapped
//! to types by a table that `build.rs` writes for every width tuple a user
//! can request.

pub mod blocks;
pub mod emit;
pub mod mac;
pub mod requant;
pub mod sim;

use rust_hdl::prelude::*;
pub use sim::{MacIn, MacOut, MacSim};

include!("widths.rs");

/// Latency of every generated MAC (spec 6.1): the edge that samples the last
/// pair writes the result, so synchronous logic sees `out_valid` one edge later.
pub const LATENCY: u32 = 1;

/// A hardware configuration request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacConfig {
    /// W, computation bits (2..=16).
    pub w: u32,
    /// M, emb bits (0..=2); ignored for FxP.
    pub m: u32,
    /// Z, ezb present; ignored for FxP.
    pub z: bool,
    /// FPEC (true) or FxP (false).
    pub fpec: bool,
    /// Lmax, the longest dot product (MAX_LEN_RANGE).
    pub max_len: u64,
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
    /// Checks the ranges and returns the widths.
    pub fn widths(&self) -> Result<Widths, HdlError> {
        if !(2..=16).contains(&self.w) {
            return Err(HdlError(format!(
                "W = {} is out of range (allowed 2..=16)",
                self.w
            )));
        }
        if self.fpec && self.m > 2 {
            return Err(HdlError(format!(
                "M = {} is out of range (allowed 0..=2)",
                self.m
            )));
        }
        if !(MAX_LEN_RANGE.0..=MAX_LEN_RANGE.1).contains(&self.max_len) {
            return Err(HdlError(format!(
                "max_len = {} is out of range (allowed {}..={})",
                self.max_len, MAX_LEN_RANGE.0, MAX_LEN_RANGE.1
            )));
        }
        Ok(widths(
            self.w,
            self.m,
            self.z,
            self.fpec,
            sized_len(self.max_len),
        ))
    }
    /// Name of the top module (`fpec_mac` or `fxp_mac`).
    pub fn top(&self) -> &'static str {
        if self.fpec {
            "fpec_mac"
        } else {
            "fxp_mac"
        }
    }
}

/// A MAC configuration bound to its rust-hdl types.
pub(crate) trait MacModel {
    /// rust-hdl's Verilog for the design (after rust-hdl's own checks).
    fn verilog(&self) -> Result<String, HdlError>;
    /// A fresh simulator.
    fn sim(&self) -> Box<dyn MacSim>;
}

fn checked_verilog<B: Block>(mut uut: B) -> Result<String, HdlError> {
    uut.connect_all();
    check_all(&uut).map_err(|e| HdlError(format!("rust-hdl check failed: {e:?}")))?;
    Ok(generate_verilog_unchecked(&uut))
}

struct FpecModel<
    const W: usize,
    const C: usize,
    const N: usize,
    const P: usize,
    const TW: usize,
    const A: usize,
    const CA: usize,
    const S: usize,
> {
    m: usize,
    z: bool,
}

impl<
        const W: usize,
        const C: usize,
        const N: usize,
        const P: usize,
        const TW: usize,
        const A: usize,
        const CA: usize,
        const S: usize,
    > MacModel for FpecModel<W, C, N, P, TW, A, CA, S>
{
    fn verilog(&self) -> Result<String, HdlError> {
        checked_verilog(mac::FpecMac::<W, C, N, P, TW, A, CA, S>::new(
            self.m, self.z,
        ))
    }
    fn sim(&self) -> Box<dyn MacSim> {
        Box::new(sim::RustSim::new(
            mac::FpecMac::<W, C, N, P, TW, A, CA, S>::new(self.m, self.z),
        ))
    }
}

struct FxpModel<const W: usize, const P: usize, const A: usize>;

impl<const W: usize, const P: usize, const A: usize> MacModel for FxpModel<W, P, A> {
    fn verilog(&self) -> Result<String, HdlError> {
        checked_verilog(mac::FxpMac::<W, P, A>::default())
    }
    fn sim(&self) -> Box<dyn MacSim> {
        Box::new(sim::RustSim::new(mac::FxpMac::<W, P, A>::default()))
    }
}

/// A requantizer bound to its rust-hdl types.
pub(crate) trait RequantModel {
    fn verilog(&self) -> Result<String, HdlError>;
    fn eval(&self, sums: &[i64]) -> Vec<u32>;
}

struct RequantInst<const S: usize, const X: usize, const NO: usize>(RequantParams);

impl<const S: usize, const X: usize, const NO: usize> RequantModel for RequantInst<S, X, NO> {
    fn verilog(&self) -> Result<String, HdlError> {
        checked_verilog(requant::Requant::<S, X, NO>::new(&self.0))
    }
    fn eval(&self, sums: &[i64]) -> Vec<u32> {
        let mut uut = requant::Requant::<S, X, NO>::new(&self.0);
        uut.connect_all();
        sums.iter()
            .map(|&s| {
                let mask = if S >= 64 { u64::MAX } else { (1u64 << S) - 1 };
                uut.sum.next = ((s as u64) & mask).into();
                simulate(&mut uut, 100);
                uut.word.val().to_u64() as u32
            })
            .collect()
    }
}

pub use requant::RequantParams;

include!(concat!(env!("OUT_DIR"), "/dispatch.rs"));

fn requant_of(p: &RequantParams) -> Result<Box<dyn RequantModel>, HdlError> {
    if !(2..=16).contains(&p.wo) || p.mo > 2 || p.to > 32 || !(-64..=127).contains(&p.k) {
        return Err(HdlError(format!(
            "requantizer parameters out of range: {p:?}"
        )));
    }
    requant_model(p).ok_or_else(|| {
        HdlError(format!(
            "no requantizer instance for sum width {} and output width {}",
            p.s,
            p.no()
        ))
    })
}

/// Generates `fpec_requant` files (leaves first).
pub fn generate_requant(
    p: &RequantParams,
    header: &str,
) -> Result<Vec<emit::VerilogFile>, HdlError> {
    let raw = requant_of(p)?.verilog()?;
    Ok(emit::split_modules(&raw, "fpec_requant", header))
}

/// Evaluates the rust-hdl requantizer model on `sums` (rust-hdl simulator).
pub fn requant_sim(p: &RequantParams, sums: &[i64]) -> Result<Vec<u32>, HdlError> {
    Ok(requant_of(p)?.eval(sums))
}

fn model(cfg: &MacConfig) -> Result<Box<dyn MacModel>, HdlError> {
    let x = cfg.widths()?;
    let m = if cfg.fpec {
        fpec_model(&x)
    } else {
        fxp_model(&x)
    };
    m.ok_or_else(|| HdlError(format!("no hardware instance for widths {x:?}")))
}

/// Generates the Verilog files of a MAC (leaves first, top last); `header`
/// is prepended to every file.
pub fn generate_mac(cfg: &MacConfig, header: &str) -> Result<Vec<emit::VerilogFile>, HdlError> {
    let raw = model(cfg)?.verilog()?;
    Ok(emit::split_modules(&raw, cfg.top(), header))
}

/// A `rust-sim` simulator of the MAC.
pub fn mac_sim(cfg: &MacConfig) -> Result<Box<dyn MacSim>, HdlError> {
    Ok(model(cfg)?.sim())
}
