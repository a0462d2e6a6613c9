//! One module per subcommand: its clap arguments and its `run`.
pub mod dnn;
pub mod dnn_onnx;
pub mod encode;
pub mod energy;
pub mod flow;
pub mod gen;
pub mod synth;
pub mod verify;
