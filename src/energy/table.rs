//! The per-cell energy table (`data/energy-14nm.toml`, embedded;
//! `--energy-table` replaces it): cell energies with their sources.

use super::DEFAULT_TABLE;
use crate::util::usage;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
struct TableFile {
    meta: TableMeta,
    cells: BTreeMap<String, CellEntry>,
}

/// Header of an energy table.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TableMeta {
    /// Name shown in reports.
    pub name: String,
    /// Unit of every figure (must be "fJ").
    pub units: String,
    /// Sources.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Default toggle rate of the static model.
    #[serde(default)]
    pub default_toggle_rate: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CellEntry {
    kind: String,
    fj_per_toggle: Option<f64>,
    fj_per_cycle_stable: Option<f64>,
    fj_per_cycle_toggling: Option<f64>,
    source: String,
    derivation: String,
    #[serde(default)]
    asap7_cell: Option<String>,
    #[serde(default)]
    e_int_fj: Option<f64>,
    #[serde(default)]
    area_um2: Option<f64>,
}

/// Energy of one cell type.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum CellEnergy {
    /// Combinational: fJ per output toggle.
    Comb {
        /// fJ per output transition.
        per_toggle: f64,
    },
    /// Flop: fJ per cycle with Q stable, plus fJ per Q transition.
    Flop {
        /// fJ per cycle, Q stable.
        per_cycle: f64,
        /// fJ per Q transition.
        per_q_toggle: f64,
    },
}

/// A parsed energy table.
#[derive(Debug, Clone)]
pub struct EnergyTable {
    /// Where it came from (file path or "built-in").
    pub origin: String,
    /// Header.
    pub meta: TableMeta,
    /// Per cell type.
    pub cells: BTreeMap<String, CellEnergy>,
}

impl EnergyTable {
    /// The built-in table.
    pub fn builtin() -> Result<EnergyTable> {
        EnergyTable::parse(DEFAULT_TABLE, "data/energy-14nm.toml (built in)")
    }

    /// Reads a table file.
    pub fn load(path: &Path) -> Result<EnergyTable> {
        let text = crate::util::read_text_limited(path, 64 << 20, "--energy-table")?;
        EnergyTable::parse(&text, &path.display().to_string())
    }

    /// Parses a table; errors name `origin` and the line.
    pub fn parse(text: &str, origin: &str) -> Result<EnergyTable> {
        let f: TableFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            let msg = e.message().replace('\n', " ");
            match line {
                Some(l) => usage(format!("energy table {origin}, line {l}: {msg}")),
                None => usage(format!("energy table {origin}: {msg}")),
            }
        })?;
        if f.meta.units != "fJ" {
            return Err(usage(format!(
                "energy table {origin}: units = {:?}, only \"fJ\" is supported",
                f.meta.units
            )));
        }
        if let Some(r) = f.meta.default_toggle_rate {
            if !(r.is_finite() && (0.0..=1.0).contains(&r)) {
                return Err(usage(format!(
                    "energy table {origin}: default_toggle_rate = {r} (allowed 0..=1)"
                )));
            }
        }
        let mut cells = BTreeMap::new();
        for (name, c) in f.cells {
            let bad = |what: &str| usage(format!("energy table {origin}: cell {name}: {what}"));
            if c.source.trim().is_empty() || c.derivation.trim().is_empty() {
                return Err(bad("`source` and `derivation` must not be empty"));
            }
            let _ = (&c.asap7_cell, c.e_int_fj, c.area_um2);
            let e = match c.kind.as_str() {
                "comb" => {
                    let t = c
                        .fj_per_toggle
                        .ok_or_else(|| bad("kind = \"comb\" needs fj_per_toggle"))?;
                    if !(t.is_finite() && t >= 0.0) {
                        return Err(bad("fj_per_toggle must be a finite number >= 0"));
                    }
                    CellEnergy::Comb { per_toggle: t }
                }
                "flop" => {
                    let s = c
                        .fj_per_cycle_stable
                        .ok_or_else(|| bad("kind = \"flop\" needs fj_per_cycle_stable"))?;
                    let t = c
                        .fj_per_cycle_toggling
                        .ok_or_else(|| bad("kind = \"flop\" needs fj_per_cycle_toggling"))?;
                    if !(s.is_finite() && t.is_finite() && s >= 0.0 && t >= s) {
                        return Err(bad(
                            "flop energies must be finite with toggling >= stable >= 0",
                        ));
                    }
                    CellEnergy::Flop {
                        per_cycle: s,
                        per_q_toggle: 2.0 * (t - s),
                    }
                }
                k => return Err(bad(&format!("kind = {k:?}, expected \"comb\" or \"flop\""))),
            };
            cells.insert(name, e);
        }
        Ok(EnergyTable {
            origin: origin.to_string(),
            meta: f.meta,
            cells,
        })
    }

    /// The energy of a cell type; an unknown type is an error, never zero.
    pub fn get(&self, ty: &str) -> Result<CellEnergy> {
        self.cells.get(ty).copied().ok_or_else(|| {
            anyhow::anyhow!(
                "cell type {ty} is not in the energy table {} (known: {}); add it to the table",
                self.origin,
                self.cells.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }
}
