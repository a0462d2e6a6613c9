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
    let mut script = String::new();
    for f in dut
        .files
        .iter()
        .map(|f| std::path::absolute(f).unwrap_or_else(|_| f.clone()))
        .chain([dump.clone()])
    {
        let t = f.to_string_lossy();
        if t.contains(|c: char| c.is_whitespace() || c == ';' || c == '"') {
            bail!("path {t} has blanks or ';' (Yosys script)");
        }
    }
    for f in &dut.files {
        let abs = std::path::absolute(f).unwrap_or_else(|_| f.clone());
        script += &format!("read_verilog -sv {}; ", abs.display());
    }
    script += &format!("hierarchy -top {}", dut.top);
    for (k, v) in &dut.params {
        script += &format!(" -chparam {k} {v}");
    }
    script += &format!("; tee -q -o {} dump {}/w:out_sum", dump.display(), dut.top);
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
        let msg = err
            .lines()
            .chain(so.lines())
            .find(|l| l.contains("ERROR"))
            .unwrap_or("failed")
            .trim()
            .to_string();
        bail!("yosys: {msg}");
    }
    let text = std::fs::read_to_string(&dump).unwrap_or_default();
    Ok(parse_dump_width(&text, "out_sum"))
}
