//! The Verilog files fpec ships. A block's rust-hdl Verilog (one text) is
//! split into files: modules renamed after the requested top (`top$mul` ->
//! `fpec_mac__mul`, hierarchy separator `__`), one module per file named
//! after it (Verilator's DECLFILENAME rule), trailing blanks removed,
//! leaves first, a header that names the generator. A top module is
//! written from its [`TopPlan`] ([`top_files`]): ports, wires, instances
//! (their ports as [`crate::plan::Kind::ports`] names them), assignments.
//! The output is a pure function of its input, so regenerating gives the
//! same bytes.

use crate::plan::{Dir, Drive, NetId, Pins, Role, TopPlan};
use crate::HdlError;
use std::fmt::Write;

/// One emitted Verilog file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerilogFile {
    /// File name (`<module>.v`).
    pub name: String,
    /// Module defined in it.
    pub module: String,
    /// Contents.
    pub text: String,
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Renames rust-hdl identifiers: a `$` between identifier characters becomes
/// `__`; a leading `top` module prefix becomes `top_name`.
fn rename(text: &str, top_name: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 64);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // `top` as a whole identifier, or as the head of `top$...`.
        if c == 't'
            && (i == 0 || !is_ident(chars[i - 1]) && chars[i - 1] != '$')
            && chars[i..].starts_with(&['t', 'o', 'p'])
            && chars.get(i + 3).is_none_or(|&n| !is_ident(n))
        {
            out.push_str(top_name);
            i += 3;
            continue;
        }
        if c == '$'
            && i > 0
            && is_ident(chars[i - 1])
            && chars.get(i + 1).is_some_and(|&n| is_ident(n))
        {
            out.push_str("__");
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

/// Splits rust-hdl output into per-module files, renamed for `top_name`.
pub fn split_modules(raw: &str, top_name: &str, header: &str) -> Vec<VerilogFile> {
    let text = rename(raw, top_name);
    let mut files = Vec::new();
    let mut cur: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("module ") {
            let name: String = rest.chars().take_while(|&c| is_ident(c)).collect();
            cur = Some((name, vec![line]));
            continue;
        }
        if let Some((name, body)) = cur.as_mut() {
            if line.starts_with("endmodule") {
                body.push("endmodule");
                let mut t = String::from(header);
                t.push_str("`default_nettype none\n\n");
                // Collapse runs of blank lines.
                let mut blank = false;
                for l in body.iter() {
                    if l.is_empty() {
                        if blank {
                            continue;
                        }
                        blank = true;
                    } else {
                        blank = false;
                    }
                    t.push_str(l);
                    t.push('\n');
                }
                t.push_str("\n`default_nettype wire\n");
                files.push(VerilogFile {
                    name: format!("{name}.v"),
                    module: name.clone(),
                    text: t,
                });
                cur = None;
            } else {
                body.push(line);
            }
        }
    }
    // Leaves first: deeper hierarchy names before their parents, top last.
    files.sort_by(|a, b| {
        let da = a.module.matches("__").count();
        let db = b.module.matches("__").count();
        db.cmp(&da).then(a.module.cmp(&b.module))
    });
    files
}

fn v_range(n: u32) -> String {
    if n == 1 {
        String::new()
    } else {
        format!("[{}:0] ", n - 1)
    }
}

/// What a use of net `id` writes: its name, or for an inline net its
/// driver's expression.
fn v_use(p: &TopPlan, id: NetId) -> String {
    let net = &p.nets[id];
    match net.role {
        Role::Inline => v_drive(p, id),
        _ => net.name.clone(),
    }
}

/// The expression of net `id`'s driver.
fn v_drive(p: &TopPlan, id: NetId) -> String {
    let net = &p.nets[id];
    match net.drive {
        Drive::Input | Drive::Inst(_) => net.name.clone(),
        Drive::Slice { of, hi, lo } => format!("{}[{hi}:{lo}]", v_use(p, of)),
        Drive::Unused { of, hi, lo } => format!("^{}[{hi}:{lo}]", v_use(p, of)),
        Drive::Alias(of) => v_use(p, of),
        Drive::Sext(of) => {
            let (e, n, to) = (v_use(p, of), p.nets[of].width, net.width);
            if to == n {
                e
            } else {
                format!("{{{{{}{{{e}[{}]}}}}, {e}}}", to - n, n - 1)
            }
        }
    }
}

/// The connections of instance `k`, one `.port(expr)` per Verilog port.
fn v_conns(p: &TopPlan, k: usize) -> Vec<String> {
    let inst = &p.insts[k];
    let mut v = Vec::new();
    for (spec, nets) in inst.block.kind().ports().iter().zip(&inst.conns) {
        match spec.pins {
            Pins::One => v.extend(
                nets.iter()
                    .map(|&n| format!(".{}({})", spec.name, v_use(p, n))),
            ),
            Pins::Array => v.extend(
                nets.iter()
                    .enumerate()
                    .map(|(e, &n)| format!(".{}__{e}({})", spec.name, v_use(p, n))),
            ),
            Pins::Split { lo, hi, hi_bit } => {
                let l = inst.block.split_at();
                for &n in nets {
                    let e = v_use(p, n);
                    v.push(format!(".{lo}({e}[{}:0])", l - 1));
                    v.push(if hi_bit {
                        format!(".{hi}({e}[{l}])")
                    } else {
                        format!(".{hi}({e}[{}:{l}])", p.nets[n].width - 1)
                    });
                }
            }
        }
    }
    v
}

/// The top module `top` of plan `p`, its instances' modules named
/// `<top>__<instance>`.
fn top_module(p: &TopPlan, top: &str, header: &str) -> String {
    let mut t = String::from(header);
    t.push_str("`default_nettype none\n\n");
    let names: Vec<&str> = p.ports.iter().map(|&i| p.nets[i].name.as_str()).collect();
    let _ = writeln!(t, "module {top}({});\n", names.join(","));
    for &i in &p.ports {
        let net = &p.nets[i];
        let dir = match net.role {
            Role::Port(Dir::Out) => "output",
            _ => "input",
        };
        let _ = writeln!(t, "    {dir} wire {}{};", v_range(net.width), net.name);
    }
    t.push('\n');
    let mut tail = Vec::new();
    for (id, net) in p.nets.iter().enumerate() {
        let decl = format!("wire {}{}", v_range(net.width), net.name);
        match (net.role, net.drive) {
            (Role::Wire, Drive::Inst(_)) => {
                let _ = writeln!(t, "    {decl};");
            }
            (Role::Wire, Drive::Unused { .. }) => {
                tail.push(format!("{decl} = {};", v_drive(p, id)))
            }
            (Role::Wire, _) => {
                let _ = writeln!(t, "    {decl} = {};", v_drive(p, id));
            }
            (Role::Port(Dir::Out), Drive::Inst(_))
            | (Role::Port(Dir::In), _)
            | (Role::Inline, _) => {}
            (Role::Port(Dir::Out), _) => {
                tail.push(format!("assign {} = {};", net.name, v_drive(p, id)))
            }
        }
    }
    for (k, i) in p.insts.iter().enumerate() {
        let _ = writeln!(t, "\n    {top}__{} {}(", i.name, i.name);
        let conns: Vec<String> = v_conns(p, k)
            .iter()
            .map(|c| format!("        {c}"))
            .collect();
        t.push_str(&conns.join(",\n"));
        t.push_str("\n    );\n");
    }
    if !tail.is_empty() {
        t.push('\n');
        for l in &tail {
            let _ = writeln!(t, "    {l}");
        }
    }
    t.push_str("\nendmodule\n\n`default_nettype wire\n");
    t
}

/// The files of a top: each instance's modules (from its rust-hdl Verilog
/// `verilog[k]`, renamed `<top>__<instance>`), leaves first, in instance
/// order, then the top module written from the plan.
pub fn top_files(
    p: &TopPlan,
    verilog: &[String],
    top: &str,
    header: &str,
) -> Result<Vec<VerilogFile>, HdlError> {
    p.check()
        .map_err(|e| HdlError(format!("internal: the plan of {top}: {e}")))?;
    if verilog.len() != p.insts.len() {
        return Err(HdlError(format!(
            "internal: {top} has {} instances but {} Verilog texts",
            p.insts.len(),
            verilog.len()
        )));
    }
    let mut files = Vec::new();
    for (i, v) in p.insts.iter().zip(verilog) {
        files.extend(split_modules(v, &format!("{top}__{}", i.name), header));
    }
    files.push(VerilogFile {
        name: format!("{top}.v"),
        module: top.to_string(),
        text: top_module(p, top, header),
    });
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_hierarchy_but_not_system_tasks() {
        let r = rename(
            "module top$acc$r(d); x = $signed(acc$q); top u(); stop",
            "fpec_mac",
        );
        assert_eq!(
            r,
            "module fpec_mac__acc__r(d); x = $signed(acc__q); fpec_mac u(); stop"
        );
    }
}
