//! `fpec synth`: Yosys synthesis of a generated folder (or of user RTL) to
//! the generic gate set; writes `DIR/synth/` (see [`crate::synth`]).

use crate::synth::{synthesize, SynthOptions};
use std::path::PathBuf;

/// Arguments of `fpec synth`.
#[derive(clap::Args, Debug)]
pub struct SynthArgs {
    /// Generated folder (with manifest.json); with --rtl, the output folder.
    pub dir: PathBuf,
    #[command(flatten)]
    pub rtl: super::args::RtlArgs,
    /// Map to this liberty file (dfflibmap + abc -liberty) instead of generic gates.
    #[arg(long, value_name = "FILE")]
    pub liberty: Option<PathBuf>,
    /// Block classification rules replacing data/blocks.toml.
    #[arg(long, value_name = "FILE")]
    pub blocks: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `fpec synth`.
pub fn run(args: SynthArgs) -> anyhow::Result<()> {
    let design = args.rtl.design(&args.dir)?;
    let opts = SynthOptions {
        liberty: args.liberty.clone(),
        blocks: args.blocks.clone(),
    };
    let r = synthesize(&design, &args.dir, &opts)?;
    if args.json {
        let text = std::fs::read_to_string(r.dir.join("report.json"))?;
        println!("{text}");
        return Ok(());
    }
    println!(
        "{} ({}) synthesized by {}",
        design.label, r.top, r.yosys_version
    );
    print!("{}", crate::synth::gate_table(&r));
    if let Some(a) = r.liberty_area {
        println!("liberty area: {a:.3} um^2");
    }
    println!(
        "outputs: {} (stat.json, netlist.v, netlist.json, gates.txt, report.json, yosys.log)",
        r.dir.display()
    );
    Ok(())
}
