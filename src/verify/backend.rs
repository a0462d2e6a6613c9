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

/// The MAC simulation interface, defined once in `fpec-hdl` (its rust-sim
/// models implement it; so does [`ModelMac`] here): `cycle` applies the
/// inputs, performs one rising edge and returns the outputs read right after.
pub use fpec_hdl::{MacIn, MacOut, MacSim};

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
pub struct SimBackend {
    name: String,
    sim: Box<dyn MacSim>,
}

impl SimBackend {
    /// Wraps `sim` under `name`.
    pub fn new(name: &str, sim: impl MacSim + 'static) -> Self {
        Self::boxed(name, Box::new(sim))
    }
    /// Wraps a boxed `sim` (e.g. a rust-sim model) under `name`.
    pub fn boxed(name: &str, sim: Box<dyn MacSim>) -> Self {
        SimBackend {
            name: name.to_string(),
            sim,
        }
    }
}

impl Backend for SimBackend {
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
