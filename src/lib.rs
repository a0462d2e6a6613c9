//! fpec: generate, verify and cost the hardware of Compensated-DNN (FPEC).
//!
//! The library does all the work; `src/main.rs` only parses the command line.
//! Module map:
//! - [`format`]: number formats and their validation (spec 1);
//! - [`golden`]: the bit-exact software reference (spec 2-5);
//! - [`dnn`]: bit-exact DNN inference and FPEC-Opt (spec 9);
//! - [`regress`]: sharded regression at volume over many configurations;
//! - [`util`]: atomic file output and the error kinds the CLI maps to exit codes.

pub mod cli;
pub mod commands;
pub mod dnn;
pub mod energy;
pub mod format;
pub mod gen;
pub mod golden;
pub mod liberty;
pub mod regress;
pub mod requant_gen;
pub mod synth;
pub mod util;
pub mod verify;
