//! Argument groups shared by the commands (one CLI grammar): the operand
//! format (`--bits`, `--emb`, `--no-ezb`, `--ezb-threshold`) and the
//! hardware (`--arch`, `--max-len`), each with one parser and one message
//! per bad value, naming the flag that carried it.

use crate::energy::WorkloadKind;
use crate::format::{Format, Split};
use crate::gen::{Arch, DEFAULT_MAX_LEN};
use crate::util::usage;
use anyhow::Result;

/// Default seed of every seeded command (verify, flow, energy, dnn); the
/// seed in use is always printed.
pub const DEFAULT_SEED: u64 = 1;
/// Default number of dot products verified per backend (verify, flow):
/// about 170 k pairs at the default Lmax, which Icarus runs in seconds.
pub const DEFAULT_VECTORS: u64 = 300;
/// Default workload of simulated activity (energy, flow).
pub const DEFAULT_WORKLOAD: WorkloadKind = WorkloadKind::Dnn;

crate::ranged_arg!(parse_seed, u64, "--seed", 0, u64::MAX);
crate::ranged_arg!(parse_vectors, u64, "--vectors", 1, 10000000);
crate::ranged_arg!(parse_emb, u32, "--emb", 0, 2);
crate::ranged_arg!(parse_ezb_threshold, u32, "--ezb-threshold", 0, 32);
crate::ranged_arg!(
    parse_max_len,
    u64,
    "--max-len",
    crate::manifest::GEN_MAX_LEN.0,
    crate::manifest::GEN_MAX_LEN.1
);
crate::ranged_arg!(
    parse_rtl_max_len,
    u64,
    "--max-len",
    crate::manifest::RTL_MAX_LEN.0,
    crate::manifest::RTL_MAX_LEN.1
);

/// The operand format of one configuration.
#[derive(clap::Args, Debug, Clone)]
pub struct FormatArgs {
    /// Bit split W+C (W 2..=16, C 0..=4; 8+0 is FxP).
    #[arg(long, value_name = "W+C")]
    pub bits: String,
    /// Error-magnitude bits M (0..=2), overriding the canonical field set.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_emb)]
    pub emb: Option<u32>,
    /// No error-zero bit (Z = 0).
    #[arg(long)]
    pub no_ezb: bool,
    /// Zero threshold T in 64ths of an LSB (0..=32; default 8 >> M).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_ezb_threshold)]
    pub ezb_threshold: Option<u32>,
}

impl FormatArgs {
    /// The checked split.
    pub fn split(&self) -> Result<Split> {
        Ok(Split::parse_with(&self.bits, self.emb, self.no_ezb)?)
    }
    /// The checked format with `fb` fractional bits (T from
    /// `--ezb-threshold`, which needs C >= 1).
    pub fn format(&self, fb: i32) -> Result<Format> {
        let split = self.split()?;
        if split.is_fxp() && self.ezb_threshold.is_some() {
            return Err(usage("--ezb-threshold needs a compensated split (C >= 1)"));
        }
        Ok(Format::new(split, fb, self.ezb_threshold)?)
    }
}

/// The hardware of one configuration.
#[derive(clap::Args, Debug, Clone)]
pub struct HwArgs {
    /// Microarchitecture of an FPEC MAC (spec 6.4): fused (default) or split.
    #[arg(long, value_enum, default_value_t = Arch::Fused)]
    pub arch: Arch,
    /// Longest dot product Lmax (1..=65536); sizes the accumulators.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_max_len, default_value_t = DEFAULT_MAX_LEN)]
    pub max_len: u64,
}

impl HwArgs {
    /// The checked arch for `split` (FxP has one).
    pub fn arch(&self, split: &Split) -> Result<Arch> {
        crate::gen::check_arch(self.arch, split)
    }
}

/// Someone else's RTL instead of a generated folder (synth, energy; verify
/// has its own, with the port widths it needs).
#[derive(clap::Args, Debug, Clone)]
pub struct RtlArgs {
    /// Your own Verilog files instead of a generated folder (spec 6.1 ports).
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub rtl: Vec<std::path::PathBuf>,
    /// Top module of --rtl.
    #[arg(long)]
    pub top: Option<String>,
    /// Parameter override of the --rtl top, NAME=VALUE (repeatable;
    /// VALUE an integer or a Verilog literal such as 8'd3).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

impl RtlArgs {
    /// The design: the generated folder `dir`, or the RTL.
    pub fn design(&self, dir: &std::path::Path) -> Result<crate::synth::Design> {
        crate::synth::Design::of(dir, &self.rtl, self.top.as_deref(), &self.params)
    }
}
