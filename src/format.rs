//! Number formats of spec section 1: the one format type, defined in
//! `fpec-hdl` ([`fpec_hdl::format`]) so the hardware, the golden model and
//! the command line share its ranges and derived widths.

pub use fpec_hdl::format::*;
