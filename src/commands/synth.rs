//! `fpec synth` (not yet built).

/// Arguments of `fpec synth`.
#[derive(clap::Args, Debug)]
pub struct SynthArgs {}

/// Runs `fpec synth`.
pub fn run(_args: SynthArgs) -> anyhow::Result<()> {
    anyhow::bail!("fpec synth is not built yet")
}
