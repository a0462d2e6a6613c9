//! `fpec verify` (not yet built).

/// Arguments of `fpec verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {}

/// Runs `fpec verify`.
pub fn run(_args: VerifyArgs) -> anyhow::Result<()> {
    anyhow::bail!("fpec verify is not built yet")
}
