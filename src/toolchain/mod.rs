//! The toolchain layer: finding the external programs (Verilator, Icarus
//! Verilog, Yosys, the C++ compiler) with the same environment overrides
//! everywhere, running them with captured output and one kind of error, and
//! the one content-hashed build cache ([`cache`]). The drivers that build
//! things with a tool live here too ([`verilator`], [`icarus`]); what a
//! build is *for* (a checking bench, a toggle counter) stays with its user.

pub mod cache;
pub mod icarus;
pub mod inputs;
pub mod verilator;

use anyhow::{bail, Context, Result};
use std::process::Command;

/// An external program fpec runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `verilator` (`$FPEC_VERILATOR`).
    Verilator,
    /// `iverilog` (`$FPEC_IVERILOG`).
    Iverilog,
    /// `vvp` (`$FPEC_VVP`).
    Vvp,
    /// `yosys` (`$FPEC_YOSYS`).
    Yosys,
    /// The C++ compiler for Verilator models (`$CXX`, default `g++`).
    Cxx,
}

impl Tool {
    /// The environment variable that overrides the program.
    pub fn env_var(self) -> &'static str {
        match self {
            Tool::Verilator => "FPEC_VERILATOR",
            Tool::Iverilog => "FPEC_IVERILOG",
            Tool::Vvp => "FPEC_VVP",
            Tool::Yosys => "FPEC_YOSYS",
            Tool::Cxx => "CXX",
        }
    }
    /// What the program is, for messages.
    pub fn what(self) -> &'static str {
        match self {
            Tool::Verilator => "Verilator",
            Tool::Iverilog | Tool::Vvp => "Icarus Verilog",
            Tool::Yosys => "Yosys",
            Tool::Cxx => "a C++ compiler",
        }
    }
    fn default_program(self) -> &'static str {
        match self {
            Tool::Verilator => "verilator",
            Tool::Iverilog => "iverilog",
            Tool::Vvp => "vvp",
            Tool::Yosys => "yosys",
            Tool::Cxx => "g++",
        }
    }
    /// The program to run: the override when set and not empty, else the
    /// default name (looked up on PATH).
    pub fn program(self) -> String {
        std::env::var(self.env_var())
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| self.default_program().to_string())
    }
    /// A command for the program.
    pub fn command(self) -> Command {
        Command::new(self.program())
    }
    /// The version line (`--version`, `-V` for Yosys and Icarus), part of
    /// every cache key built with the tool.
    pub fn version(self) -> Result<String> {
        let arg = match self {
            Tool::Yosys | Tool::Iverilog | Tool::Vvp => "-V",
            _ => "--version",
        };
        let out = run(
            self.command().arg(arg),
            self,
            &format!("{} {arg}", self.program()),
        )?;
        Ok(out.lines().next().unwrap_or("").trim().to_string())
    }
}

/// The error for a program that cannot be started.
pub fn missing_program(prog: &str, what: &str, e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        anyhow::anyhow!("cannot run `{prog}`: program not found ({what} is required; install it or put it on PATH)")
    } else {
        anyhow::anyhow!("cannot run `{prog}` ({what}): {e}")
    }
}

/// Runs `cmd` (a command of `tool`) with captured output, in its own
/// process group (killed on SIGINT/SIGTERM); fails with the last lines of
/// its stderr and stdout when it fails. Returns stdout.
pub fn run(cmd: &mut Command, tool: Tool, what: &str) -> Result<String> {
    let out = output(cmd, tool)?;
    if !out.status.success() {
        bail!("{what} failed ({}):\n{}", out.status, tail(&out, 30));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `cmd` with captured output; only failing to start is an error.
pub fn output(cmd: &mut Command, tool: Tool) -> Result<std::process::Output> {
    crate::util::output(cmd)
        .map_err(|e| missing_program(&cmd.get_program().to_string_lossy(), tool.what(), e))
}

/// The last `n` lines of a finished command's stderr then stdout.
pub fn tail(out: &std::process::Output, n: usize) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    let so = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = err.lines().chain(so.lines()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Renders a tera template given as text.
pub fn render(name: &str, template: &str, ctx: &tera::Context) -> Result<String> {
    tera::Tera::one_off(template, ctx, false)
        .with_context(|| format!("cannot render template {name}"))
}
