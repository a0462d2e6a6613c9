//! One module per subcommand: its clap arguments and its `run`, a thin
//! layer over the library; [`args`] holds the argument groups they share.
pub mod args;
pub mod dnn;
pub mod encode;
pub mod energy;
pub mod flow;
pub mod gen;
pub mod regress;
pub mod report;
pub mod synth;
pub mod verify;
