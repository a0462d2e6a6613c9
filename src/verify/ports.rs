//! The width of `out_sum` in the RTL, asked from Yosys (`read_verilog`,
//! `hierarchy -top` with the parameters, `dump` of the port): the checker
//! compares the low S bits, so a wrong S would hide upper-bit errors.

use super::manifest::Dut;

use anyhow::{bail, Context, Result};

/// Parses the RTLIL `dump` of a wire: `wire width 26 output 9 \out_sum`
/// (no `width` means 1 bit).
pub fn parse_dump_width(text: &str, port: &str) -> Option<u32> {
    let needle = format!("\\{port}");
    text.lines().map(str::trim).find_map(|l| {
        let toks: Vec<&str> = l.split_whitespace().collect();
        if toks.first() != Some(&"wire") || toks.last() != Some(&needle.as_str()) {
            return None;
        }
        match toks.iter().position(|t| *t == "width") {
            Some(i) => toks.get(i + 1).and_then(|w| w.parse().ok()),
            None => Some(1),
        }
    })
}

/// Width of `out_sum` of `dut.top` with `dut.params`; `Ok(None)` when the
/// top has no such port; an error when Yosys is missing or cannot read the
/// files (the caller then only notes that the width was not checked).
pub fn out_sum_width(dut: &Dut) -> Result<Option<u32>> {
    let tmp = tempfile::tempdir().context("cannot create a temporary folder")?;
    let dump = tmp.path().join("port.txt");
    use crate::toolchain::inputs::{check_design, script_path};
    check_design(&dut.top, &dut.files, dut.params.keys())?;
    let mut script = String::new();
    let mut dirs = std::collections::BTreeSet::new();
    for f in &dut.files {
        if let Some(d) = std::path::absolute(f)?.parent() {
            dirs.insert(script_path(d)?);
        }
    }
    let incs: String = dirs.iter().map(|d| format!(" -I{d}")).collect();
    for f in &dut.files {
        script += &format!("read_verilog -sv{incs} {}; ", script_path(f)?);
    }
    script += &format!("hierarchy -top {}", dut.top);
    for (k, v) in &dut.params {
        script += &format!(" -chparam {k} {v}");
    }
    script += &format!(
        "; tee -q -o {} dump {}/w:out_sum",
        script_path(&dump)?,
        dut.top
    );
    let out = crate::toolchain::output(
        crate::toolchain::Tool::Yosys
            .command()
            .arg("-q")
            .arg("-p")
            .arg(&script),
        crate::toolchain::Tool::Yosys,
    )?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let so = String::from_utf8_lossy(&out.stdout);
        let error = err
            .lines()
            .chain(so.lines())
            .find(|l| l.contains("ERROR"))
            .map(|l| l.trim().to_string());
        // Yosys names what is wrong with the input on an ERROR line: the
        // user's Verilog (syntax, a top not in the files) is at fault. A
        // crash or a silent failure is the tool's.
        return match error {
            Some(msg) if out.status.code().is_some() => Err(crate::util::usage(format!(
                "the Verilog of {} does not elaborate (Yosys: {msg}; allowed: Verilog-2005/SV files defining module {})",
                dut.top, dut.top
            ))),
            _ => bail!(
                "yosys failed ({}) reading the files of {}: {}",
                out.status,
                dut.top,
                crate::toolchain::tail(&out, 5).replace('\n', " | ")
            ),
        };
    }
    let text = std::fs::read_to_string(&dump).unwrap_or_default();
    Ok(parse_dump_width(&text, "out_sum"))
}
