//! Energy table from a liberty file (`fpec energy --liberty FILE`).
//!
//! A documented simplification of the library's own tables, per cell:
//! - combinational cell: energy per output toggle = mean of every entry of
//!   the `rise_power` and `fall_power` tables of the output pins'
//!   `internal_power` groups, plus the load term 1/2 * C * V^2 with C = the
//!   library's mean input-pin capacitance (a fan-out of one) and V =
//!   `nom_voltage`;
//! - flop (a cell with an `ff` group): per cycle with Q stable = the mean
//!   rise + mean fall internal energy of the clock pin (both clock edges);
//!   per Q toggle = the output pins' mean internal energy plus the load term.
//!
//! Units: internal power tables are read as capacitance unit x voltage^2
//! (`capacitive_load_unit (1, ff)` with 1 V gives fJ); pF scales by 1000.
//! Area comes from `stat -liberty` (see [`crate::synth`]).

use crate::energy::{CellEnergy, EnergyTable, TableMeta};
use crate::util::usage;
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Default)]
struct Group {
    kind: String,
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Group>,
}

impl Group {
    fn attr(&self, k: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
    }
}

fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        match rest[i + 2..].find("*/") {
            Some(j) => rest = &rest[i + 2 + j + 2..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.replace("\\\n", " ")
}

/// Parses statements until `}` or the end.
fn parse_body(s: &[u8], pos: &mut usize, out: &mut Group) -> Result<()> {
    loop {
        while *pos < s.len() && (s[*pos].is_ascii_whitespace() || s[*pos] == b';') {
            *pos += 1;
        }
        if *pos >= s.len() {
            return Ok(());
        }
        if s[*pos] == b'}' {
            *pos += 1;
            return Ok(());
        }
        let start = *pos;
        while *pos < s.len() && !matches!(s[*pos], b'(' | b':' | b'{' | b'}' | b';') {
            *pos += 1;
        }
        let key = String::from_utf8_lossy(&s[start..*pos]).trim().to_string();
        if *pos >= s.len() {
            return Ok(());
        }
        match s[*pos] {
            b':' => {
                *pos += 1;
                let vs = *pos;
                let mut inq = false;
                while *pos < s.len() && (inq || !matches!(s[*pos], b';' | b'\n' | b'}')) {
                    if s[*pos] == b'"' {
                        inq = !inq;
                    }
                    *pos += 1;
                }
                let v = String::from_utf8_lossy(&s[vs..*pos])
                    .trim()
                    .trim_matches('"')
                    .to_string();
                out.attrs.push((key, v));
            }
            b'(' => {
                *pos += 1;
                let vs = *pos;
                let mut depth = 1;
                while *pos < s.len() && depth > 0 {
                    match s[*pos] {
                        b'(' => depth += 1,
                        b')' => depth -= 1,
                        _ => {}
                    }
                    *pos += 1;
                }
                let arg = String::from_utf8_lossy(&s[vs..pos.saturating_sub(1)]).to_string();
                while *pos < s.len() && s[*pos].is_ascii_whitespace() {
                    *pos += 1;
                }
                if *pos < s.len() && s[*pos] == b'{' {
                    *pos += 1;
                    let mut g = Group {
                        kind: key,
                        name: arg.trim().trim_matches('"').to_string(),
                        ..Group::default()
                    };
                    parse_body(s, pos, &mut g)?;
                    out.children.push(g);
                } else {
                    out.attrs.push((key, arg));
                }
            }
            _ => {
                *pos += 1;
            }
        }
    }
}

fn numbers(v: &str) -> Vec<f64> {
    v.split(|c: char| c == ',' || c == '"' || c.is_whitespace() || c == '\\')
        .filter_map(|t| t.trim().parse::<f64>().ok())
        .collect()
}

fn mean_tables(pin: &Group, which: &[&str]) -> Option<f64> {
    let mut vals = Vec::new();
    for ip in pin.children.iter().filter(|g| g.kind == "internal_power") {
        for t in ip
            .children
            .iter()
            .filter(|g| which.contains(&g.kind.as_str()))
        {
            if let Some(v) = t.attr("values") {
                vals.extend(numbers(v));
            }
        }
    }
    if vals.is_empty() {
        None
    } else {
        Some(vals.iter().sum::<f64>() / vals.len() as f64)
    }
}

fn unit_scale(lib: &Group) -> f64 {
    // capacitive_load_unit (1, ff) or (1, pf); voltage assumed in V.
    match lib.attr("capacitive_load_unit") {
        Some(u) if u.to_lowercase().contains("pf") => {
            1000.0 * numbers(u).first().copied().unwrap_or(1.0)
        }
        Some(u) => numbers(u).first().copied().unwrap_or(1.0),
        None => 1.0,
    }
}

/// The energy of one cell: its output pins' mean internal-power entries
/// plus the input load `load`; a flop also pays its clock pin per cycle.
fn cell_energy(c: &Group, scale: f64, load: f64) -> CellEnergy {
    let is_ff = c.children.iter().any(|g| g.kind == "ff");
    let outs: Vec<&Group> = c
        .children
        .iter()
        .filter(|g| g.kind == "pin" && g.attr("direction") == Some("output"))
        .collect();
    let out_e: Vec<f64> = outs
        .iter()
        .filter_map(|p| mean_tables(p, &["rise_power", "fall_power", "power"]))
        .collect();
    let out_mean = if out_e.is_empty() {
        0.0
    } else {
        out_e.iter().sum::<f64>() / out_e.len() as f64
    } * scale;
    if !is_ff {
        return CellEnergy::Comb {
            per_toggle: out_mean + load,
        };
    }
    let clk = c
        .children
        .iter()
        .find(|g| g.kind == "pin" && g.attr("clock") == Some("true"));
    let per_cycle = clk
        .map(|p| {
            mean_tables(p, &["rise_power"]).unwrap_or(0.0)
                + mean_tables(p, &["fall_power"]).unwrap_or(0.0)
        })
        .unwrap_or(0.0)
        * scale;
    CellEnergy::Flop {
        per_cycle,
        per_q_toggle: out_mean + load,
    }
}

/// A usable table: some cells, a flip-flop among them, every energy finite
/// and in range.
fn check_cells(cells: &BTreeMap<String, CellEnergy>, path: &Path) -> Result<()> {
    if cells.is_empty() {
        return Err(usage(format!(
            "{}: the library has no cells",
            path.display()
        )));
    }
    if !cells.values().any(|e| matches!(e, CellEnergy::Flop { .. })) {
        return Err(usage(format!(
            "liberty {}: no flip-flop cell (a cell with an ff group; allowed: a library with a D flip-flop, which every MAC needs)",
            path.display()
        )));
    }
    for (name, e) in cells {
        let vals = match e {
            CellEnergy::Comb { per_toggle } => vec![*per_toggle],
            CellEnergy::Flop {
                per_cycle,
                per_q_toggle,
            } => vec![*per_cycle, *per_q_toggle],
        };
        if let Some(bad) = vals
            .iter()
            .find(|x| !(x.is_finite() && **x >= 0.0 && **x <= 1e9))
        {
            return Err(usage(format!(
                "liberty {}: cell {name} gets energy {bad} fJ (allowed finite 0..=1e9; check nom_voltage, capacitance and the power tables)",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Yosys cell names produced by liberty mapping are the library's cell names.
pub fn energy_table(path: &Path) -> Result<EnergyTable> {
    let text = crate::util::read_text_limited(path, 256 << 20, "--liberty")?;
    let clean = strip_comments(&text);
    let mut root = Group::default();
    let mut pos = 0;
    parse_body(clean.as_bytes(), &mut pos, &mut root)?;
    let lib = root
        .children
        .iter()
        .find(|g| g.kind == "library")
        .ok_or_else(|| {
            usage(format!(
                "{}: no library group (allowed: a liberty file, library (NAME) {{ cell (...) {{ ... }} }})",
                path.display()
            ))
        })?;
    let scale = unit_scale(lib);
    let v: f64 = lib
        .attr("nom_voltage")
        .and_then(|x| x.parse().ok())
        .unwrap_or(1.0);
    let mut caps = Vec::new();
    for c in lib.children.iter().filter(|g| g.kind == "cell") {
        for p in c.children.iter().filter(|g| g.kind == "pin") {
            if p.attr("direction") == Some("input") {
                if let Some(cap) = p.attr("capacitance").and_then(|x| x.parse::<f64>().ok()) {
                    caps.push(cap);
                }
            }
        }
    }
    let cin = if caps.is_empty() {
        0.0
    } else {
        caps.iter().sum::<f64>() / caps.len() as f64
    };
    let load = 0.5 * cin * v * v * scale;
    let cells: BTreeMap<String, CellEnergy> = lib
        .children
        .iter()
        .filter(|g| g.kind == "cell")
        .map(|c| (c.name.clone(), cell_energy(c, scale, load)))
        .collect();
    check_cells(&cells, path)?;
    Ok(EnergyTable {
        origin: path.display().to_string(),
        meta: TableMeta {
            name: format!(
                "liberty {} (mean internal-power table entries + 1/2 C_in V^2)",
                lib.name
            ),
            units: "fJ".to_string(),
            sources: vec![path.display().to_string()],
            default_toggle_rate: Some(0.5),
        },
        cells,
    })
}
