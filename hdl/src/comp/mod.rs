//! The compensation blocks of the `fused` arch, one module per block:
//! [`rows`], the compensation term `qw*est(a) + qa*est(w)` as rows that
//! enter the multiplier's bit heap.
pub mod rows;
