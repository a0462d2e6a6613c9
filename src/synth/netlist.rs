//! The gate-level netlist model (ports, cells, bit-level nets) and the
//! parsers of what Yosys writes: `stat -json`, the hierarchy, the
//! flattened `write_json` netlist, and a liberty file's area.

use super::BlockRules;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;

/// One bit of a connection: a net id or a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bit {
    /// Net number (Yosys JSON bit id).
    Net(u64),
    /// Constant `0`, `1`, `x` or `z`.
    Const(char),
}

/// A top-level port of the netlist.
#[derive(Debug, Clone)]
pub struct Port {
    /// Name.
    pub name: String,
    /// "input" or "output" (or "inout").
    pub dir: String,
    /// Bits, LSB first.
    pub bits: Vec<Bit>,
}

/// A gate of the flattened netlist.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Yosys cell name (with the `$flatten\inst.` prefix).
    pub name: String,
    /// Cell type, e.g. `$_NAND_`.
    pub ty: String,
    /// Block (from the classification rules).
    pub block: String,
    /// Pin connections (one bit each for generic cells).
    pub conns: BTreeMap<String, Vec<Bit>>,
    /// Output pin names.
    pub outputs: Vec<String>,
}

/// The flattened gate-level netlist.
#[derive(Debug, Clone)]
pub struct Netlist {
    /// Top module.
    pub top: String,
    /// Ports.
    pub ports: Vec<Port>,
    /// Cells.
    pub cells: Vec<Cell>,
}

impl Netlist {
    /// Counts per cell type.
    pub fn cells_by_type(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for c in &self.cells {
            *m.entry(c.ty.clone()).or_insert(0) += 1;
        }
        m
    }
    /// Counts per block.
    pub fn cells_by_block(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for c in &self.cells {
            *m.entry(c.block.clone()).or_insert(0) += 1;
        }
        m
    }
    /// Counts per part: the block, then `/` and the sub-instance of the
    /// block's instance a cell came from (e.g. `multiplier/heap`), if any.
    pub fn cells_by_part(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for c in &self.cells {
            let k = match sub_instance_of(&c.name) {
                Some(sub) => format!("{}/{sub}", c.block),
                None => c.block.clone(),
            };
            *m.entry(k).or_insert(0) += 1;
        }
        m
    }
    /// A port by name.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }
}

/// Per-type counts of the top module from a `stat -json` output.
pub fn parse_stat_json(text: &str, top: &str) -> Result<BTreeMap<String, u64>> {
    let v: serde_json::Value = serde_json::from_str(text).context("stat.json is not JSON")?;
    let modules = v
        .get("modules")
        .and_then(|m| m.as_object())
        .context("stat.json has no `modules`")?;
    let key = format!("\\{top}");
    let m = modules
        .get(&key)
        .or_else(|| modules.get(top))
        .or_else(|| {
            if modules.len() == 1 {
                modules.values().next()
            } else {
                None
            }
        })
        .with_context(|| format!("stat.json has no module {top}"))?;
    let by = m
        .get("num_cells_by_type")
        .and_then(|x| x.as_object())
        .context("stat.json: no num_cells_by_type")?;
    let mut out = BTreeMap::new();
    for (k, n) in by {
        out.insert(
            k.clone(),
            n.as_u64()
                .with_context(|| format!("stat.json: count of {k} is not an integer"))?,
        );
    }
    Ok(out)
}

/// Strips Yosys's `$paramod\NAME\P=V...` decoration and a leading `\`.
fn base_module_name(ty: &str) -> String {
    let t = ty.strip_prefix("$paramod").unwrap_or(ty);
    let t = t.trim_start_matches('\\');
    t.split('\\').next().unwrap_or(t).to_string()
}

/// Instance name -> module name of the top's direct children (from `hier.json`).
pub fn parse_instances(text: &str, top: &str) -> Result<BTreeMap<String, String>> {
    let v: serde_json::Value = serde_json::from_str(text).context("hier.json is not JSON")?;
    let modules = v
        .get("modules")
        .and_then(|m| m.as_object())
        .context("hier.json has no modules")?;
    let topm = modules
        .iter()
        .find(|(name, m)| {
            base_module_name(name) == top
                || m.get("attributes")
                    .and_then(|a| a.get("top"))
                    .is_some_and(|t| t.as_str().is_some_and(|s| s.ends_with('1')))
        })
        .map(|(_, m)| m)
        .with_context(|| format!("hier.json has no module {top}"))?;
    let mut map = BTreeMap::new();
    if let Some(cells) = topm.get("cells").and_then(|c| c.as_object()) {
        for (name, c) in cells {
            let ty = c.get("type").and_then(|t| t.as_str()).unwrap_or("");
            if !ty.starts_with('$') || ty.starts_with("$paramod") {
                map.insert(
                    name.trim_start_matches('\\').to_string(),
                    base_module_name(ty),
                );
            }
        }
    }
    Ok(map)
}

/// The top-level instance a flattened cell came from, if any.
fn instance_of(cell_name: &str) -> Option<&str> {
    let rest = if let Some(r) = cell_name.strip_prefix("$flatten") {
        r
    } else if !cell_name.starts_with('$') {
        cell_name
    } else {
        return None;
    };
    let rest = rest.trim_start_matches('\\');
    rest.split_once('.').map(|(i, _)| i)
}

/// The instance below the top-level instance a flattened cell came from
/// (`$flatten\\mul.\\heap.$abc$1` -> `heap`), if any.
fn sub_instance_of(cell_name: &str) -> Option<&str> {
    let rest = cell_name.strip_prefix("$flatten")?.trim_start_matches('\\');
    let (_, rest) = rest.split_once('.')?;
    let rest = rest.strip_prefix('\\')?;
    rest.split_once('.').map(|(i, _)| i)
}

fn parse_bits(v: &serde_json::Value, what: &str) -> Result<Vec<Bit>> {
    let arr = v
        .as_array()
        .with_context(|| format!("netlist.json: {what} is not a bit list"))?;
    arr.iter()
        .map(|b| {
            if let Some(n) = b.as_u64() {
                Ok(Bit::Net(n))
            } else if let Some(s) = b.as_str() {
                let c = s.chars().next().unwrap_or('x');
                Ok(Bit::Const(c))
            } else {
                bail!("netlist.json: bad bit {b} in {what}")
            }
        })
        .collect()
}

/// Parses the flattened `write_json` netlist, classifying cells by block.
pub fn parse_netlist(
    text: &str,
    top: &str,
    instances: &BTreeMap<String, String>,
    rules: &BlockRules,
) -> Result<Netlist> {
    let v: serde_json::Value = serde_json::from_str(text).context("netlist.json is not JSON")?;
    let modules = v
        .get("modules")
        .and_then(|m| m.as_object())
        .context("netlist.json has no modules")?;
    let m = modules
        .iter()
        .find(|(n, _)| base_module_name(n) == top)
        .map(|(_, m)| m)
        .or_else(|| {
            if modules.len() == 1 {
                modules.values().next()
            } else {
                None
            }
        })
        .with_context(|| format!("netlist.json has no module {top}"))?;
    let mut ports = Vec::new();
    if let Some(ps) = m.get("ports").and_then(|p| p.as_object()) {
        for (name, p) in ps {
            ports.push(Port {
                name: name.clone(),
                dir: p
                    .get("direction")
                    .and_then(|d| d.as_str())
                    .unwrap_or("")
                    .to_string(),
                bits: parse_bits(
                    p.get("bits").unwrap_or(&serde_json::Value::Null),
                    &format!("port {name}"),
                )?,
            });
        }
    }
    let mut cells = Vec::new();
    if let Some(cs) = m.get("cells").and_then(|c| c.as_object()) {
        for (name, c) in cs {
            let ty = c
                .get("type")
                .and_then(|t| t.as_str())
                .with_context(|| format!("netlist.json: cell {name} has no type"))?
                .to_string();
            let block = match instance_of(name) {
                Some(inst) => match instances.get(inst) {
                    Some(module) => rules.classify(top, module),
                    None => rules.fallback.clone(),
                },
                None => rules.fallback.clone(),
            };
            let mut conns = BTreeMap::new();
            if let Some(cc) = c.get("connections").and_then(|x| x.as_object()) {
                for (pin, bits) in cc {
                    conns.insert(pin.clone(), parse_bits(bits, &format!("{name}.{pin}"))?);
                }
            }
            let mut outputs = Vec::new();
            if let Some(pd) = c.get("port_directions").and_then(|x| x.as_object()) {
                for (pin, d) in pd {
                    if d.as_str() == Some("output") {
                        outputs.push(pin.clone());
                    }
                }
            }
            cells.push(Cell {
                name: name.clone(),
                ty,
                block,
                conns,
                outputs,
            });
        }
    }
    Ok(Netlist {
        top: top.to_string(),
        ports,
        cells,
    })
}

/// `Chip area for module '...': 123.4` from `stat -liberty` text.
pub fn parse_liberty_area(text: &str) -> Option<f64> {
    text.lines()
        .rev()
        .filter(|l| l.contains("Chip area"))
        .find_map(|l| l.rsplit(':').next()?.trim().parse::<f64>().ok())
}
