//! Turns rust-hdl's single Verilog text into the files fpec ships: modules
//! renamed after the requested top (`top$mul` -> `fpec_mac__mul`, hierarchy
//! separator `__`), one module per file named after it (Verilator's
//! DECLFILENAME rule), trailing blanks removed, leaves first, a header that
//! names the generator. The output is a pure function of its input, so
//! regenerating gives the same bytes.

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
