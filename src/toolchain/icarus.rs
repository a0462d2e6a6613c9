//! The one Icarus Verilog driver: `iverilog -g2005` of a bench and its
//! design into a `.vvp` file, and `vvp -n` runs of it with plusargs.

use super::{run, Tool};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// The flags of every compilation besides `-s`, `-o` and the files: the
/// language and one `-I` per folder of `files` (part of the cache key).
pub fn flags(files: &[PathBuf]) -> Result<Vec<String>> {
    let mut v = vec!["-g2005".to_string()];
    for d in super::cache::include_dirs(files)? {
        v.push(format!("-I{}", d.display()));
    }
    Ok(v)
}

/// Compiles `files` (bench first or last, any order) with top `top` into
/// `vvp`.
pub fn compile(top: &str, files: &[PathBuf], vvp: &Path) -> Result<()> {
    super::inputs::check_design(top, files, std::iter::empty())?;
    run(
        Tool::Iverilog
            .command()
            .args(flags(files)?)
            .arg("-s")
            .arg(top)
            .arg("-o")
            .arg(vvp)
            .args(files),
        Tool::Iverilog,
        &format!("iverilog ({top})"),
    )?;
    Ok(())
}

/// Runs `vvp -n VVP PLUSARGS...` in `cwd` (or the current folder) and
/// returns what it printed; a run that prints `error:` first fails too.
pub fn simulate(vvp: &Path, plusargs: &[String], cwd: Option<&Path>) -> Result<String> {
    let mut cmd = Tool::Vvp.command();
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    cmd.arg("-n").arg(vvp).args(plusargs);
    let text = run(&mut cmd, Tool::Vvp, &format!("vvp {}", vvp.display()))?;
    if text.starts_with("error:") {
        bail!(
            "vvp {} failed: {}",
            vvp.display(),
            text.lines().next().unwrap_or("")
        );
    }
    Ok(text)
}
