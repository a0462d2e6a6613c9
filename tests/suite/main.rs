//! The whole test suite as one test binary: one build and one link instead
//! of one per file, and the test harness runs the tests of every file on
//! every core. Each module is one former test file (`cargo test NAME::`
//! runs one, e.g. `cargo test verify_rtl::`). Everything runs the real
//! tools (Verilator, Icarus, Yosys); nothing is mocked.

mod common;
mod dnn_cli;
mod dnn_data;
mod dnn_graph;
mod dnn_graph_onnx;
mod dnn_lenet;
mod dnn_model;
mod dnn_onnx;
mod dnn_opt;
mod dnn_opt_shard;
mod dnn_quant;
mod dnn_sources;
mod dnn_stride;
mod energy_sparse;
mod flow_shard;
mod gen_cli;
mod gen_lint;
mod golden_examples;
mod golden_naive;
mod golden_props;
mod hdl_blocks;
mod hdl_dispatch;
mod hdl_requant;
mod hdl_rustsim;
mod plot;
mod regress_cli;
mod regress_parallel;
mod synth_cli;
mod synth_energy;
mod synth_stat;
mod trust_bad_input;
mod trust_hostile;
mod verify_gen;
mod verify_model;
mod verify_mutants;
mod verify_rtl;
mod verify_sweep;
