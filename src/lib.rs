//! fpec: generate, verify and cost the hardware of Compensated-DNN (FPEC).
//!
//! The library does all the work; `src/main.rs` only parses the command line.
//! Module map:
//! - [`format`](mod@format): number formats and their validation (spec 1);
//! - [`golden`]: the bit-exact software reference (spec 2-5);
//! - [`dnn`]: bit-exact DNN inference and FPEC-Opt (spec 9);
//! - [`manifest`]: `manifest.json`, its reader, writer and checks (spec 6.3);
//! - [`gen`], [`requant_gen`]: the generator flow over `fpec-hdl` (spec 6);
//! - [`toolchain`]: Verilator, Icarus, Yosys, the C++ compiler, the build cache;
//! - [`verify`]: simulation against the golden model (spec 7);
//! - [`synth`], [`energy`], [`liberty`]: Yosys synthesis and the energy model (spec 8);
//! - [`operands`]: operand generators shared by stimuli and workloads;
//! - [`plot`]: the SVG charts of every report;
//! - [`commands`], [`cli`]: the command line, a thin layer over the above;
//! - [`regress`]: sharded regression at volume over many configurations;
//! - [`util`]: atomic file output and the error kinds the CLI maps to exit codes.

pub mod cli;
pub mod commands;
pub mod dnn;
pub mod energy;
pub mod flow;
pub mod format;
pub mod gen;
pub mod golden;
pub mod liberty;
pub mod manifest;
pub mod operands;
pub mod plot;
pub mod regress;
pub mod requant_gen;
pub mod synth;
pub mod toolchain;
pub mod util;
pub mod verify;
