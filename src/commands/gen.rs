//! `fpec gen` (not yet built).

/// Arguments of `fpec gen`.
#[derive(clap::Args, Debug)]
pub struct GenArgs {}

/// Runs `fpec gen`.
pub fn run(_args: GenArgs) -> anyhow::Result<()> {
    anyhow::bail!("fpec gen is not built yet")
}
