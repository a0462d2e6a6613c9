//! `fpec energy` (not yet built).

/// Arguments of `fpec energy`.
#[derive(clap::Args, Debug)]
pub struct EnergyArgs {}

/// Runs `fpec energy`.
pub fn run(_args: EnergyArgs) -> anyhow::Result<()> {
    anyhow::bail!("fpec energy is not built yet")
}
