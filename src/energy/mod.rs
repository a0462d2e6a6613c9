//! The 14 nm energy model (spec 8): a per-cell energy table (data, with its
//! sources), an activity model, and energy per MAC.
//!
//! - Table: `data/energy-14nm.toml` (embedded; `--energy-table` replaces it).
//!   Combinational cells cost `fj_per_toggle` per output transition; flops
//!   cost `fj_per_cycle_stable` every cycle plus `2 * (toggling - stable)`
//!   per Q transition.
//! - Activity `static`: every cell output toggles with probability r per
//!   cycle (default 0.5): E = sum_comb r * e_t + sum_flop (stable + r * e_q).
//! - Activity `sim`: the synthesized, flattened netlist is rewritten with one
//!   net per wire and an output port concatenating all cell outputs, compiled
//!   with Verilator together with `testbenches/toggle_harness.cpp.tera`, and
//!   run on a seeded workload; toggles are counted per cell (zero delay, no
//!   glitches). The simulated `out_sum` values are checked against the golden
//!   model, so the netlist whose toggles are counted is known to compute the
//!   spec's dot product.
//!
//! One MAC per cycle: the workload presents a pair every counted cycle, so
//! energy per MAC = energy per counted cycle.

use crate::synth::{self, Design, Netlist, SynthOptions, SynthResult};
use crate::util::{usage, write_atomic};
use anyhow::{bail, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The default table (`data/energy-14nm.toml`).
pub const DEFAULT_TABLE: &str = include_str!("../../data/energy-14nm.toml");
/// The toggle harness template.
pub const HARNESS_TEMPLATE: &str = include_str!("../../testbenches/toggle_harness.cpp.tera");
/// The Icarus harness of the unit-delay (glitch-counting) simulation.
pub const GLITCH_TEMPLATE: &str = include_str!("../../testbenches/glitch_harness.v.tera");

mod table;
mod toggle;
mod workload;
pub use table::*;
pub use toggle::*;
pub use workload::*;

// ---------------------------------------------------------------- report

/// Energy per MAC of one synthesized design.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct EnergyReport {
    /// Configuration label (e.g. `6+2`).
    pub config: String,
    /// Top module.
    pub top: String,
    /// Activity model (full name).
    pub activity: String,
    /// Workload (full name), or "none" for static activity.
    pub workload: String,
    /// `yosys -V`.
    pub yosys_version: String,
    /// Energy table used.
    pub energy_table: String,
    /// Cells by type.
    pub cells_by_type: BTreeMap<String, u64>,
    /// Cells by block.
    pub cells_by_block: BTreeMap<String, u64>,
    /// Cells by part (block and sub-instance: `multiplier/heap`, ...).
    #[serde(default)]
    pub cells_by_part: BTreeMap<String, u64>,
    /// Energy per MAC, fJ.
    pub energy_fj_per_mac: f64,
    /// Energy per MAC by block, fJ.
    pub energy_by_block_fj: BTreeMap<String, f64>,
    /// Energy per MAC of the compensation path (cells of block
    /// `compensation`), fJ.
    pub comp_path_fj_per_mac: f64,
    /// Share of pairs with both ezb = 1 (sim, Z = 1 only).
    pub pairs_skipped_share: Option<f64>,
    /// MACs simulated (sim only).
    pub macs_simulated: Option<u64>,
    /// Average cell-output toggles per MAC (sim only).
    pub toggles_per_mac: Option<f64>,
    /// Liberty area, um^2 (liberty mode only).
    pub area_um2: Option<f64>,
}

/// Static-activity energy of a netlist.
pub fn static_energy(
    net: &Netlist,
    table: &EnergyTable,
    rate: f64,
) -> Result<(f64, BTreeMap<String, f64>)> {
    if !(0.0..=1.0).contains(&rate) {
        return Err(usage(format!(
            "--toggle-rate {rate} is out of range (allowed 0..=1)"
        )));
    }
    let mut by_block: BTreeMap<String, f64> = BTreeMap::new();
    let mut total = 0.0;
    for c in &net.cells {
        let e = match table.get(&c.ty)? {
            CellEnergy::Comb { per_toggle } => rate * per_toggle * c.outputs.len().max(1) as f64,
            CellEnergy::Flop {
                per_cycle,
                per_q_toggle,
            } => per_cycle + rate * per_q_toggle,
        };
        total += e;
        *by_block.entry(c.block.clone()).or_insert(0.0) += e;
    }
    Ok((total, by_block))
}

/// Toggle counts from a simulation.
#[derive(Debug, Clone)]
pub struct Toggles {
    /// Counted cycles.
    pub cycles: u64,
    /// Counted MACs (cycles with in_valid).
    pub macs: u64,
    /// Toggles per cell, indexed like `Netlist::cells`.
    pub per_cell: Vec<u64>,
    /// `out_sum` values seen with out_valid (low 64 bits).
    pub sums: Vec<u64>,
}

/// Energy per MAC from simulated toggles.
pub fn sim_energy(
    net: &Netlist,
    table: &EnergyTable,
    t: &Toggles,
) -> Result<(f64, BTreeMap<String, f64>)> {
    if t.macs == 0 {
        bail!("the simulation counted no MAC");
    }
    let mut by_block: BTreeMap<String, f64> = BTreeMap::new();
    let mut total = 0.0;
    for (c, &n) in net.cells.iter().zip(&t.per_cell) {
        let e = match table.get(&c.ty)? {
            CellEnergy::Comb { per_toggle } => per_toggle * n as f64,
            CellEnergy::Flop {
                per_cycle,
                per_q_toggle,
            } => per_cycle * t.cycles as f64 + per_q_toggle * n as f64,
        } / t.macs as f64;
        total += e;
        *by_block.entry(c.block.clone()).or_insert(0.0) += e;
    }
    Ok((total, by_block))
}

/// Full options of an energy evaluation.
#[derive(Debug, Clone)]
pub struct EnergyOptions {
    /// Activity model.
    pub activity: Activity,
    /// Workload (used by `sim`).
    pub workload: Workload,
    /// Energy table.
    pub table: EnergyTable,
    /// Synthesis options (liberty, block rules).
    pub synth: SynthOptions,
}

/// Synthesizes `design` into `out/synth` and evaluates its energy per MAC;
/// also writes the report to `out/synth/energy.json`.
pub fn evaluate(design: &Design, out: &Path, opts: &EnergyOptions) -> Result<EnergyReport> {
    let sr: SynthResult = synth::synthesize(design, out, &opts.synth)?;
    let rep = evaluate_synthesized(design, &sr, opts)?;
    write_atomic(
        &sr.dir.join("energy.json"),
        serde_json::to_string_pretty(&rep)?.as_bytes(),
    )?;
    Ok(rep)
}

/// Energy per MAC of an already synthesized design (`sr`, from
/// [`synth::synthesize`] with the same `opts.synth`), so that several
/// activity models share one Yosys run. Writes nothing but the simulator
/// folder (`sr.dir/sim` or `sr.dir/glitch`) of the simulated activities.
pub fn evaluate_synthesized(
    design: &Design,
    sr: &SynthResult,
    opts: &EnergyOptions,
) -> Result<EnergyReport> {
    let net = &sr.netlist;
    let (total, by_block, skipped, macs, tpm, workload) = match &opts.activity {
        Activity::Static { toggle_rate } => {
            let (t, b) = static_energy(net, &opts.table, *toggle_rate)?;
            (t, b, None, None, None, "none (static activity)".to_string())
        }
        Activity::Sim { seed, macs } | Activity::Glitch { seed, macs } => {
            let glitch = matches!(opts.activity, Activity::Glitch { .. });
            let dir = sr.dir.join(if glitch { "glitch" } else { "sim" });
            let (t, skipped) =
                simulate_toggles(design, net, &dir, &opts.workload, *seed, *macs, glitch)?;
            let (e, b) = sim_energy(net, &opts.table, &t)?;
            let tot: u64 = t.per_cell.iter().sum();
            (
                e,
                b,
                skipped,
                Some(t.macs),
                Some(tot as f64 / t.macs as f64),
                opts.workload.name(),
            )
        }
    };
    let rep = EnergyReport {
        config: design.label.clone(),
        top: design.top.clone(),
        activity: opts.activity.name(),
        workload,
        yosys_version: sr.yosys_version.clone(),
        energy_table: format!("{} ({})", opts.table.meta.name, opts.table.origin),
        cells_by_type: sr.cells_by_type.clone(),
        cells_by_block: sr.cells_by_block.clone(),
        cells_by_part: sr.cells_by_part.clone(),
        energy_fj_per_mac: total,
        comp_path_fj_per_mac: by_block.get("compensation").copied().unwrap_or(0.0),
        energy_by_block_fj: by_block,
        pairs_skipped_share: skipped,
        macs_simulated: macs,
        toggles_per_mac: tpm,
        area_um2: sr.liberty_area,
    };
    Ok(rep)
}

/// Library entry point for the DNN work: energy per MAC of the generated
/// folder `dir` with the built-in table (results under `dir/synth`).
pub fn mac_energy(dir: &Path, activity: &Activity, workload: &Workload) -> Result<EnergyReport> {
    let design = Design::from_dir(dir)?;
    let opts = EnergyOptions {
        activity: activity.clone(),
        workload: workload.clone(),
        table: EnergyTable::builtin()?,
        synth: SynthOptions::default(),
    };
    evaluate(&design, dir, &opts)
}
