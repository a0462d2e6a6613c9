//! `fpec flow` (not yet built).

/// Arguments of `fpec flow`.
#[derive(clap::Args, Debug)]
pub struct FlowArgs {}

/// Runs `fpec flow`.
pub fn run(_args: FlowArgs) -> anyhow::Result<()> {
    anyhow::bail!("fpec flow is not built yet")
}
