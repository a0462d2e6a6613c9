//! `fpec dnn` (not yet built).

/// Arguments of `fpec dnn`.
#[derive(clap::Args, Debug)]
pub struct DnnArgs {}

/// Runs `fpec dnn`.
pub fn run(_args: DnnArgs) -> anyhow::Result<()> {
    anyhow::bail!("fpec dnn is not built yet")
}
