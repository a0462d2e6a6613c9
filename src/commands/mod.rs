//! One module per subcommand: its clap arguments and its `run`.
pub mod dnn;
pub mod encode;
pub mod energy;
pub mod flow;
pub mod flow_merge;
pub mod gen;
pub mod regress;
pub mod synth;
pub mod verify;
