//! Bit-exact DNN accuracy studies (spec section 9) and FPEC-Opt.
//!
//! - [`data`]: the [`data::Source`] of batches, image folders, `.npy`/`.npz`,
//!   the digits data set, the shipped 10k MNIST set, MNIST IDX
//!   files, the fixed split;
//! - [`progress`]: images/s and ETA of long runs on a terminal;
//! - [`model`]: the version-1 JSON model file (a layer list), validation, float inference;
//! - [`graph`]: the network graph (spec 9 revised, JSON version 2), float inference;
//! - [`gquant`]: bit-exact inference over graphs (reference and GEMM engines), calibration methods;
//! - [`gopt`]: FPEC-Opt over graphs;
//! - [`onnx`]: ONNX import/export and [`onnx::load`], the one model-loading
//!   function of the CLI (JSON or `.onnx`);
//! - [`train`]: deterministic float training (MLP, CNN, LeNet-5);
//! - [`quant`]: bit-exact quantized inference and operand export;
//! - [`opt`]: FPEC-Opt (configuration sweep, threshold tuning, reports) and
//!   the [`energy_model::MacEnergy`] hook for the energy model;
//! - [`opt_shard`]: `fpec dnn opt --shard K/N` result files and their merge;
//! - [`hil`]: hardware in the loop, `fpec dnn verify-layer`: one layer's
//!   real dot products run on the generated MAC under Verilator, every
//!   `sum` compared with the golden inference's.

pub mod data;
pub mod energy_model;
pub mod gopt;
pub mod gquant;
pub mod graph;
pub mod hil;
pub mod int8;
pub mod model;
pub mod onnx;
pub mod opt;
pub mod opt_shard;
pub mod progress;
pub mod quant;
pub mod train;
