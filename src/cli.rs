//! Command-line front end: the subcommand table and the mapping of errors to
//! exit codes. One rule: anything wrong with what the user gave (arguments,
//! files, manifests, data) exits 2 (a [`UsageError`]); a tool or check that
//! failed on good input (a verification mismatch, a simulator or Yosys
//! failure) exits 1. SIGINT/SIGTERM remove temporary files, kill child
//! processes and exit 130/143. Each subcommand lives in [`crate::commands`].

use crate::commands;
use crate::util::UsageError;
use clap::{Parser, Subcommand};

/// fpec: generate, verify and cost Compensated-DNN (FPEC) MAC hardware.
#[derive(Parser, Debug)]
#[command(name = "fpec", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate Verilog and manifest.json for a bit split (spec 6).
    Gen(commands::gen::GenArgs),
    /// Encode real values into FPEC/FxP words (spec 2).
    Encode(commands::encode::EncodeArgs),
    /// Diff hardware (generated or your own RTL) against the golden model.
    Verify(commands::verify::VerifyArgs),
    /// Synthesize a configuration with Yosys to generic gates.
    Synth(commands::synth::SynthArgs),
    /// Energy per MAC at 14 nm, against FxP 8/16-bit baselines.
    Energy(commands::energy::EnergyArgs),
    /// The main job: generate, lint, verify, synthesize and cost, with a report.
    Flow(commands::flow::FlowArgs),
    /// Bit-exact DNN inference and the FPEC-Opt precision search.
    Dnn(commands::dnn::DnnArgs),
    /// Work on written reports: redraw a plot from its JSON.
    Report(commands::report::ReportArgs),
    /// Regression at volume over many configurations, sharded; `regress merge` combines shards.
    Regress(commands::regress::RegressArgs),
}

/// A value outside a flag's fixed set (`--arch`, `--activity`,
/// `--workload`, `--backend`: the `ValueEnum`s) in the grammar of every
/// other usage error: `error: --arch foo is not allowed (allowed: fused,
/// split)`.
fn unknown_value(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::InvalidValue {
        return None;
    }
    let (Some(ContextValue::String(arg)), Some(ContextValue::String(value))) = (
        e.get(ContextKind::InvalidArg),
        e.get(ContextKind::InvalidValue),
    ) else {
        return None;
    };
    let Some(ContextValue::Strings(allowed)) = e.get(ContextKind::ValidValue) else {
        return None;
    };
    // clap names the flag with its value placeholder: `--arch <ARCH>`.
    let flag = arg.split_whitespace().next().unwrap_or(arg);
    let value = if value.is_empty() { "''" } else { value };
    Some(format!(
        "error: {flag} {value} is not allowed (allowed: {})",
        allowed.join(", ")
    ))
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    crate::util::install_signal_cleanup();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            if let Some(line) = unknown_value(&e) {
                eprintln!("{line}");
                return 2;
            }
            // One line, exit 2: clap's message without the usage/help tips.
            let text = e.to_string();
            let line: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| {
                    !l.is_empty()
                        && !l.starts_with("For more information")
                        && !l.starts_with("Usage:")
                })
                .collect();
            eprintln!("{}", line.join(" "));
            return 2;
        }
    };
    let res = match cli.command {
        Command::Gen(a) => commands::gen::run(a),
        Command::Encode(a) => commands::encode::run(a),
        Command::Verify(a) => commands::verify::run(a),
        Command::Synth(a) => commands::synth::run(a),
        Command::Energy(a) => commands::energy::run(a),
        Command::Flow(a) => commands::flow::run(a),
        Command::Dnn(a) => commands::dnn::run(a),
        Command::Report(a) => commands::report::run(a),
        Command::Regress(a) => commands::regress::run(a),
    };
    match res {
        Ok(()) => 0,
        Err(e) => {
            if let Some(u) = e.downcast_ref::<UsageError>() {
                eprintln!("error: {u}");
                2
            } else if let Some(f) = e.downcast_ref::<crate::format::FormatError>() {
                eprintln!("error: {f}");
                2
            } else {
                eprintln!("error: {e:#}");
                1
            }
        }
    }
}
