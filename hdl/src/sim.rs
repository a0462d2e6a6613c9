//! The cycle interface of the `rust-sim` backend ([`MacSim`]): the MAC
//! tops of `top` implement it by clocking their rust-hdl blocks, with the
//! same cycle semantics as the Verilator and Icarus harnesses.

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

/// Sign-extends the low `s` bits of `v`.
pub fn sext(v: u64, s: usize) -> i64 {
    if s >= 64 {
        v as i64
    } else {
        ((v << (64 - s)) as i64) >> (64 - s)
    }
}
