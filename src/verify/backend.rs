//! The backends: one trait, so every simulator sees the same stimulus and
//! the same checker.

use super::check::Got;
use super::stimulus::{rec_a, rec_w, Stimulus, FIRST, LAST, RST, VALID};
use anyhow::Result;

/// A simulator of the MAC driven cycle by cycle over a whole stimulus.
pub trait Backend {
    /// Name shown in summaries and reports (`verilator`, `icarus`, `rust-sim`).
    fn name(&self) -> &str;
    /// Drives `stim` from cycle 0 (one rising edge per record) and calls
    /// `sink(cycle, out_sum)` for every read right after an edge where
    /// `out_valid` is high (not low: 1, X or Z), in cycle order.
    fn run(&mut self, stim: &Stimulus, sink: &mut dyn FnMut(u64, Got)) -> Result<()>;
}

/// Inputs of one cycle (same shape as `fpec_hdl::MacIn`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MacIn {
    /// Synchronous reset.
    pub rst: bool,
    /// A pair is presented.
    pub in_valid: bool,
    /// First pair of a product.
    pub in_first: bool,
    /// Last pair of a product.
    pub in_last: bool,
    /// Packed weight word.
    pub w: u32,
    /// Packed activation word.
    pub a: u32,
}

/// Outputs read right after an edge (same shape as `fpec_hdl::MacOut`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MacOut {
    /// out_valid.
    pub out_valid: bool,
    /// out_sum (its low S bits are compared, as a signed S-bit value).
    pub out_sum: i64,
}

/// A cycle-based simulator (same semantics as `fpec_hdl::MacSim`): `cycle`
/// applies the inputs, performs one rising edge and returns the outputs as
/// read right after that edge.
///
/// Plugging in rust-hdl: `impl MacSim for` an adapter around the
/// `fpec_hdl` simulator (a two-line forwarding impl), then hand a
/// `SimBackend::new("rust-sim", adapter)` to [`super::run_backend`]; or see
/// [`super::rust_sim_backend`], the single hook the CLI calls.
pub trait MacSim {
    /// One clock cycle.
    fn cycle(&mut self, i: &MacIn) -> MacOut;
}

/// Decodes a stimulus record.
pub fn mac_in(r: u64) -> MacIn {
    MacIn {
        rst: r & RST != 0,
        in_valid: r & VALID != 0,
        in_first: r & FIRST != 0,
        in_last: r & LAST != 0,
        w: rec_w(r),
        a: rec_a(r),
    }
}

/// Runs any [`MacSim`] as a [`Backend`].
pub struct SimBackend<T: MacSim> {
    name: String,
    sim: T,
}

impl<T: MacSim> SimBackend<T> {
    /// Wraps `sim` under `name`.
    pub fn new(name: &str, sim: T) -> Self {
        SimBackend {
            name: name.to_string(),
            sim,
        }
    }
}

impl<T: MacSim> Backend for SimBackend<T> {
    fn name(&self) -> &str {
        &self.name
    }
    fn run(&mut self, stim: &Stimulus, sink: &mut dyn FnMut(u64, Got)) -> Result<()> {
        for (c, r) in stim.iter().enumerate() {
            let o = self.sim.cycle(&mac_in(r));
            if o.out_valid {
                sink(c as u64, Some(o.out_sum as u64));
            }
        }
        Ok(())
    }
}

/// A cycle model of a correct MAC written from spec 4 and 6.1, with any
/// latency: used to test the checker itself (it is not a backend of the CLI).
pub struct ModelMac {
    split: crate::format::Split,
    acc: i64,
    /// Results in flight: (valid, sum), index 0 is what the next read shows.
    pipe: Vec<(bool, i64)>,
}

impl ModelMac {
    /// A model of `split` with `latency` >= 1.
    pub fn new(split: crate::format::Split, latency: u32) -> Self {
        ModelMac {
            split,
            acc: 0,
            pipe: vec![(false, 0); latency.max(1) as usize],
        }
    }
}

impl MacSim for ModelMac {
    fn cycle(&mut self, i: &MacIn) -> MacOut {
        use crate::golden::{dot, Operand};
        if i.rst {
            self.acc = 0;
            self.pipe.iter_mut().for_each(|p| *p = (false, 0));
            return MacOut::default();
        }
        let mut res = (false, 0);
        if i.in_valid {
            let w = Operand::of_bits(&self.split, i.w);
            let a = Operand::of_bits(&self.split, i.a);
            let t = dot(self.split.g(), &[w], &[a]);
            self.acc = if i.in_first { t } else { self.acc + t };
            if i.in_last {
                res = (true, self.acc);
            }
        }
        // Shift: the newest result enters at the back.
        self.pipe.remove(0);
        self.pipe.push(res);
        let (v, s) = self.pipe[0];
        MacOut {
            out_valid: v,
            out_sum: s,
        }
    }
}
