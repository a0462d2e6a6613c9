//! Cycle-by-cycle simulation of the rust-hdl models (the `rust-sim`
//! backend): a manual `simulate()` loop behind the [`MacSim`] trait, with
//! the same cycle semantics as the Verilator and Icarus harnesses.

use rust_hdl::prelude::*;

/// Inputs applied before one rising edge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MacIn {
    /// Synchronous reset.
    pub rst: bool,
    /// A pair is presented.
    pub in_valid: bool,
    /// The pair starts a dot product.
    pub in_first: bool,
    /// The pair ends a dot product.
    pub in_last: bool,
    /// Weight word (N bits).
    pub w: u32,
    /// Activation word (N bits).
    pub a: u32,
}

/// Outputs read right after the edge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MacOut {
    /// out_valid.
    pub out_valid: bool,
    /// out_sum, sign-extended from S bits.
    pub out_sum: i64,
}

/// A MAC model that can be clocked.
pub trait MacSim: Send {
    /// Applies `i`, performs one rising edge, returns the outputs after it.
    fn cycle(&mut self, i: &MacIn) -> MacOut;
}

/// The port set shared by `FpecMac` and `FxpMac`, so one simulator wrapper
/// serves both.
pub trait MacPorts: Block {
    /// Sets the inputs.
    fn set_inputs(&mut self, i: &MacIn);
    /// Sets the clock level.
    fn set_clock(&mut self, level: bool);
    /// Reads the outputs.
    fn outputs(&self) -> MacOut;
}

/// Sign-extends the low `s` bits of `v`.
pub fn sext(v: u64, s: usize) -> i64 {
    if s >= 64 {
        v as i64
    } else {
        ((v << (64 - s)) as i64) >> (64 - s)
    }
}

/// The `rust-sim` backend: wraps a connected rust-hdl block.
pub struct RustSim<T: MacPorts> {
    uut: T,
}

impl<T: MacPorts> RustSim<T> {
    /// Connects the block and settles it with the clock low.
    pub fn new(mut uut: T) -> Self {
        uut.connect_all();
        uut.set_clock(false);
        simulate(&mut uut, 100);
        RustSim { uut }
    }
}

impl<T: MacPorts + Send> MacSim for RustSim<T> {
    fn cycle(&mut self, i: &MacIn) -> MacOut {
        self.uut.set_inputs(i);
        self.uut.set_clock(false);
        simulate(&mut self.uut, 100);
        self.uut.set_clock(true);
        simulate(&mut self.uut, 100);
        self.uut.outputs()
    }
}

macro_rules! impl_ports {
    ($ty:ty, [$($g:ident),*], $s:expr) => {
        impl<$(const $g: usize),*> MacPorts for $ty {
            fn set_inputs(&mut self, i: &MacIn) {
                self.rst.next = i.rst;
                self.in_valid.next = i.in_valid;
                self.in_first.next = i.in_first;
                self.in_last.next = i.in_last;
                self.w.next = (i.w as u64).into();
                self.a.next = (i.a as u64).into();
            }
            fn set_clock(&mut self, level: bool) {
                self.clk.next = Clock::from(level);
            }
            fn outputs(&self) -> MacOut {
                MacOut {
                    out_valid: self.out_valid.val(),
                    out_sum: sext(self.out_sum.val().to_u64(), $s),
                }
            }
        }
    };
}

impl_ports!(crate::mac::FpecMac<W, C, N, P, TW, A, CA, S>, [W, C, N, P, TW, A, CA, S], S);
impl_ports!(crate::mac::FxpMac<W, P, A>, [W, P, A], A);
