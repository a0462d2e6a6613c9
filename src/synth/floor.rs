//! The row model: a first-principles cell count of an FPEC MAC, per block,
//! at the unit costs of this project's own FxP W MAC synthesized in the
//! same run (never constants in code), so a report shows where a design
//! stands against its floor and which block holds the excess.
//!
//! Unit costs, from the FxP W MAC's cells by part (`part_of` in
//! `netlist`): a partial-product gate = cells of the multiplier's own body
//! / W^2 (its W^2 selection gates); a reduction bit = cells of its bit heap
//! / W^2; a final-adder bit = cells of its carry-propagate adder / 2W; an
//! accumulator bit = accumulator cells / S(FxP W); control as is.
//!
//! The count for W+C (M emb bits, G = M + 2, T = 2W + G, S): per term
//! `q * est(other)` there are `rows` = 1 (M = 0) or 2 (M >= 1: est = +-1,
//! +-3, +-5, +-7 in canonical signed digits) rows of W bits, each bit with
//! its selection/inversion gate, and one negation carry per row:
//! compensation bits B = 2 * rows * (W + 1). Then
//! - multiplier = W^2 gates + (W^2 + B) reduction bits + T final-adder bits;
//! - compensation = B gates;
//! - accumulator = S accumulator bits;
//! - control = FxP W's.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Unit costs (cells) taken from an FxP W MAC.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Units {
    /// W of the FxP MAC they come from.
    pub fxp_w: u32,
    /// Cells per partial-product (selection) gate.
    pub pp_gate: f64,
    /// Cells per bit entering the reduction tree.
    pub tree_bit: f64,
    /// Cells per final-adder bit.
    pub adder_bit: f64,
    /// Cells per accumulator bit.
    pub acc_bit: f64,
    /// Control cells.
    pub control: f64,
}

impl Units {
    /// From the cells by part of the FxP W MAC whose sum is `s` bits wide.
    pub fn from_fxp(w: u32, s: u32, parts: &BTreeMap<String, u64>) -> Result<Units> {
        let get = |k: &str| parts.get(k).copied().unwrap_or(0) as f64;
        let acc: u64 = parts
            .iter()
            .filter(|(k, _)| k.as_str() == "accumulator" || k.starts_with("accumulator/"))
            .map(|(_, n)| n)
            .sum();
        let (pp, tree, adder) = (
            get("multiplier"),
            get("multiplier/heap"),
            get("multiplier/cpa"),
        );
        if w < 2 || s == 0 || tree == 0.0 || adder == 0.0 || acc == 0 {
            bail!(
                "the FxP {w} MAC has no multiplier tree, final adder or accumulator cells: \
                 no unit costs for the row model"
            );
        }
        let w2 = (w * w) as f64;
        Ok(Units {
            fxp_w: w,
            pp_gate: pp / w2,
            tree_bit: tree / w2,
            adder_bit: adder / (2 * w) as f64,
            acc_bit: acc as f64 / s as f64,
            control: get("control"),
        })
    }
}

/// One block against its floor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BlockFloor {
    /// Block name (as in cells by block).
    pub block: String,
    /// Synthesized cells.
    pub cells: u64,
    /// Row-model cells.
    pub model: f64,
}

impl BlockFloor {
    /// Cells over model, as text (`-` where the model has no cell).
    pub fn ratio_text(&self) -> String {
        if self.model > 0.0 {
            format!("{:.3}", self.cells as f64 / self.model)
        } else {
            "-".to_string()
        }
    }
}

/// The row model of one FPEC configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RowModel {
    /// Unit costs used.
    pub units: Units,
    /// Rows per compensation term.
    pub rows_per_term: u32,
    /// Partial-product bits (W^2).
    pub pp_bits: u32,
    /// Compensation bits B (rows' bits and their negation carries).
    pub comp_bits: u32,
    /// Final-adder bits (T).
    pub adder_bits: u32,
    /// Accumulator bits (S).
    pub acc_bits: u32,
    /// Per block.
    pub blocks: Vec<BlockFloor>,
    /// Synthesized cells in all.
    pub cells: u64,
    /// Row-model cells in all.
    pub model: f64,
}

impl RowModel {
    /// The model of W+C with `m` emb bits and sum width `s` (final adder
    /// T = 2W + G bits), beside the synthesized `cells_by_block`.
    pub fn new(
        w: u32,
        m: u32,
        s: u32,
        units: Units,
        cells_by_block: &BTreeMap<String, u64>,
    ) -> RowModel {
        let t = 2 * w + m + 2;
        let rows = if m == 0 { 1 } else { 2 };
        let (pp, comp) = (w * w, 2 * rows * (w + 1));
        let models = [
            (
                "multiplier",
                pp as f64 * units.pp_gate
                    + (pp + comp) as f64 * units.tree_bit
                    + t as f64 * units.adder_bit,
            ),
            ("compensation", comp as f64 * units.pp_gate),
            ("accumulator", s as f64 * units.acc_bit),
            ("control", units.control),
        ];
        let blocks: Vec<BlockFloor> = models
            .iter()
            .map(|&(b, model)| BlockFloor {
                block: b.to_string(),
                cells: cells_by_block.get(b).copied().unwrap_or(0),
                model,
            })
            .collect();
        RowModel {
            units,
            rows_per_term: rows,
            pp_bits: pp,
            comp_bits: comp,
            adder_bits: t,
            acc_bits: s,
            cells: cells_by_block.values().sum(),
            model: blocks.iter().map(|b| b.model).sum(),
            blocks,
        }
    }

    /// Synthesized cells over the model.
    pub fn ratio(&self) -> f64 {
        self.cells as f64 / self.model
    }

    /// The Markdown table (block, cells, model, cells / model).
    pub fn markdown(&self) -> String {
        let mut s =
            String::from("| block | cells | row model | cells / model |\n|---|---|---|---|\n");
        for b in &self.blocks {
            s += &format!(
                "| {} | {} | {:.1} | {} |\n",
                b.block,
                b.cells,
                b.model,
                b.ratio_text()
            );
        }
        s += &format!(
            "| all | {} | {:.1} | {:.3} |\n",
            self.cells,
            self.model,
            self.ratio()
        );
        s
    }

    /// A one-line summary of the unit costs and counts.
    pub fn describe(&self) -> String {
        let u = &self.units;
        format!(
            "row model at FxP {}'s unit costs (same run): {:.2} cells per partial-product gate, \
             {:.2} per reduction bit, {:.2} per final-adder bit, {:.2} per accumulator bit, \
             control {:.0}; {} partial-product bits, {} compensation bits ({} row(s) per term \
             and their carries), {} final-adder bits, {} accumulator bits",
            u.fxp_w,
            u.pp_gate,
            u.tree_bit,
            u.adder_bit,
            u.acc_bit,
            u.control,
            self.pp_bits,
            self.comp_bits,
            self.rows_per_term,
            self.adder_bits,
            self.acc_bits
        )
    }
}

/// The row model of `design` (an FPEC MAC whose cells by block are
/// `cells_by_block`) at the unit costs of its FxP W companion, generated
/// into `dir` and synthesized there by the same flow; None for FxP or a
/// design of unknown format.
pub fn with_companion(
    design: &super::Design,
    cells_by_block: &BTreeMap<String, u64>,
    dir: &std::path::Path,
    opts: &super::SynthOptions,
) -> Result<Option<RowModel>> {
    let Some(split) = design.split.filter(|s| !s.is_fxp()) else {
        return Ok(None);
    };
    let Some(s) = design.sum_width else {
        return Ok(None);
    };
    let max_len = design.max_len.unwrap_or(crate::gen::DEFAULT_MAX_LEN);
    let m = crate::gen::generate_baseline(split.w, max_len, dir)?;
    let fd = super::Design::from_dir(dir)?;
    let sr = super::synthesize(&fd, dir, opts)?;
    let u = Units::from_fxp(split.w, m.sum_width, &sr.cells_by_part)?;
    Ok(Some(RowModel::new(
        split.w,
        split.m(),
        s,
        u,
        cells_by_block,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(v: &[(&str, u64)]) -> BTreeMap<String, u64> {
        v.iter().map(|(k, n)| (k.to_string(), *n)).collect()
    }

    #[test]
    fn hand_worked_6_plus_2() {
        // FxP 6: 36 gates, 144 tree cells (4 per bit), 24 adder cells (2 per
        // bit), 240 accumulator cells (S = 24: 10 per bit), 10 control.
        let u = Units::from_fxp(
            6,
            24,
            &parts(&[
                ("multiplier", 36),
                ("multiplier/heap", 144),
                ("multiplier/cpa", 24),
                ("accumulator", 200),
                ("accumulator/add", 40),
                ("control", 10),
            ]),
        )
        .unwrap();
        assert_eq!(
            (u.pp_gate, u.tree_bit, u.adder_bit, u.acc_bit),
            (1.0, 4.0, 2.0, 10.0)
        );
        // 6+2: M = 0, one row per term, B = 2 * 1 * 7 = 14; T = 14, S = 26.
        let cells = parts(&[
            ("multiplier", 250),
            ("compensation", 14),
            ("accumulator", 260),
        ]);
        let r = RowModel::new(6, 0, 26, u, &cells);
        assert_eq!(r.comp_bits, 14);
        // multiplier: 36 + (36 + 14) * 4 + 14 * 2 = 264; compensation 14;
        // accumulator 260; control 10.
        let m: Vec<f64> = r.blocks.iter().map(|b| b.model).collect();
        assert_eq!(m, [264.0, 14.0, 260.0, 10.0]);
        assert_eq!(r.model, 548.0);
        assert_eq!(r.cells, 524);
        // M = 2: two rows per term.
        assert_eq!(RowModel::new(5, 2, 26, u, &cells).comp_bits, 24);
    }

    #[test]
    fn missing_parts_are_an_error() {
        assert!(Units::from_fxp(6, 24, &parts(&[("multiplier", 36)])).is_err());
    }
}
