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

use crate::format::{Format, Split};
use crate::golden::{self, Operand};
use crate::synth::{self, Bit, Design, Netlist, SynthOptions, SynthResult};
use crate::util::RunGuarded;
use crate::util::{usage, write_atomic};
use anyhow::{bail, Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The default table (`data/energy-14nm.toml`).
pub const DEFAULT_TABLE: &str = include_str!("../data/energy-14nm.toml");
/// The toggle harness template.
pub const HARNESS_TEMPLATE: &str = include_str!("../testbenches/toggle_harness.cpp.tera");
/// The Icarus harness of the unit-delay (glitch-counting) simulation.
pub const GLITCH_TEMPLATE: &str = include_str!("../testbenches/glitch_harness.v.tera");

// ---------------------------------------------------------------- table

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
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("cannot read energy table {}: {e}", path.display())))?;
        EnergyTable::parse(&text, &path.display().to_string())
    }

    /// Parses a table; errors name `origin` and the line.
    pub fn parse(text: &str, origin: &str) -> Result<EnergyTable> {
        let f: TableFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            let msg = e.message().to_string();
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

// ------------------------------------------------------- activity, workload

/// The activity model.
#[derive(Debug, Clone, PartialEq)]
pub enum Activity {
    /// Every cell output toggles with this probability per cycle.
    Static {
        /// Toggle probability per cycle, 0..=1.
        toggle_rate: f64,
    },
    /// Toggles counted by simulating the gate-level netlist under Verilator.
    Sim {
        /// Workload seed.
        seed: u64,
        /// MACs to simulate (rounded up to whole dot products; an explicit
        /// `Workload::Pairs` list is simulated whole instead).
        macs: usize,
    },
    /// Toggles counted by simulating the gate-level netlist under Icarus
    /// with a unit delay on every gate: glitches included.
    Glitch {
        /// Workload seed.
        seed: u64,
        /// MACs to simulate (as for `Sim`).
        macs: usize,
    },
}

impl Activity {
    /// Name used in outputs.
    pub fn name(&self) -> String {
        match self {
            Activity::Static { toggle_rate } => format!("static (toggle rate {toggle_rate})"),
            Activity::Sim { seed, macs } => format!(
                "sim (Verilator, zero-delay toggles of the synthesized netlist, seed {seed}, {macs} MACs)"
            ),
            Activity::Glitch { seed, macs } => format!(
                "glitch (Icarus, unit-delay toggles of the synthesized netlist, glitches included, seed {seed}, {macs} MACs)"
            ),
        }
    }
    /// Short name: `static`, `sim` or `glitch`.
    pub fn kind(&self) -> &'static str {
        match self {
            Activity::Static { .. } => "static",
            Activity::Sim { .. } => "sim",
            Activity::Glitch { .. } => "glitch",
        }
    }
}

/// The operands a simulated MAC sees.
#[derive(Debug, Clone, PartialEq)]
pub enum Workload {
    /// Uniformly random N-bit words, dot products of length `len`.
    Uniform {
        /// Dot-product length.
        len: usize,
    },
    /// Gaussian weights N(0, 1) and ReLU(N(0, 1)) activations (exact zeros),
    /// both encoded with `golden::encode` at FB = W - 3 (default T).
    Dnn {
        /// Dot-product length.
        len: usize,
    },
    /// Explicit packed (w, a) pairs (e.g. a layer's real operands), cut into
    /// dot products of length `len` (the last one may be shorter).
    Pairs {
        /// The pairs.
        pairs: Vec<(u32, u32)>,
        /// Dot-product length.
        len: usize,
    },
}

impl Workload {
    /// Name used in outputs.
    pub fn name(&self) -> String {
        match self {
            Workload::Uniform { len } => format!("uniform (len {len})"),
            Workload::Dnn { len } => {
                format!("dnn (len {len}; w ~ N(0,1), a = ReLU(N(0,1)), FB = W-3)")
            }
            Workload::Pairs { pairs, len } => format!("pairs ({} given, len {len})", pairs.len()),
        }
    }
    /// Short name.
    pub fn kind(&self) -> &'static str {
        match self {
            Workload::Uniform { .. } => "uniform",
            Workload::Dnn { .. } => "dnn",
            Workload::Pairs { .. } => "pairs",
        }
    }
    fn len(&self) -> usize {
        match self {
            Workload::Uniform { len } | Workload::Dnn { len } | Workload::Pairs { len, .. } => *len,
        }
    }

    /// The dot products (lists of packed pairs) for `split`.
    pub fn dot_products(
        &self,
        split: &Split,
        seed: u64,
        macs: usize,
    ) -> Result<Vec<Vec<(u32, u32)>>> {
        let len = self.len();
        if len == 0 {
            return Err(usage("workload dot-product length must be >= 1"));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let ndots = macs.div_ceil(len).max(1);
        let mask = if split.n() >= 32 {
            u32::MAX
        } else {
            (1u32 << split.n()) - 1
        };
        match self {
            Workload::Uniform { .. } => Ok((0..ndots)
                .map(|_| {
                    (0..len)
                        .map(|_| (rng.gen::<u32>() & mask, rng.gen::<u32>() & mask))
                        .collect()
                })
                .collect()),
            Workload::Dnn { .. } => {
                let fb = split.w as i32 - 3;
                let fmt = Format::new(*split, fb, None)?;
                let normal = Normal::new(0.0f64, 1.0).map_err(|e| anyhow::anyhow!("{e}"))?;
                let mut dots = Vec::with_capacity(ndots);
                for _ in 0..ndots {
                    let mut d = Vec::with_capacity(len);
                    for _ in 0..len {
                        let x = normal.sample(&mut rng);
                        let y = normal.sample(&mut rng).max(0.0);
                        let wq = golden::encode(x, &fmt)?;
                        let aq = golden::encode(y, &fmt)?;
                        d.push((golden::pack(split, &wq), golden::pack(split, &aq)));
                    }
                    dots.push(d);
                }
                Ok(dots)
            }
            Workload::Pairs { pairs, .. } => {
                if pairs.is_empty() {
                    return Err(usage("workload: the list of pairs is empty"));
                }
                if let Some(p) = pairs.iter().find(|(w, a)| w & !mask != 0 || a & !mask != 0) {
                    return Err(usage(format!(
                        "workload pair ({:#x}, {:#x}) does not fit in N = {} bits",
                        p.0,
                        p.1,
                        split.n()
                    )));
                }
                Ok(pairs.chunks(len).map(|c| c.to_vec()).collect())
            }
        }
    }
}

/// Share of pairs whose two operands both have ezb = 1 (Z = 1 only).
pub fn skipped_share(split: &Split, dots: &[Vec<(u32, u32)>]) -> Option<f64> {
    if !split.z() {
        return None;
    }
    let mut n = 0usize;
    let mut skip = 0usize;
    for d in dots {
        for &(w, a) in d {
            n += 1;
            if Operand::of_bits(split, w).zero && Operand::of_bits(split, a).zero {
                skip += 1;
            }
        }
    }
    Some(if n == 0 { 0.0 } else { skip as f64 / n as f64 })
}

// ---------------------------------------------------------------- report

/// Energy per MAC of one synthesized design.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

// ------------------------------------------------------ gate-level sim

/// Name of the Verilator program: `$FPEC_VERILATOR` or `verilator`.
pub fn verilator_program() -> String {
    std::env::var("FPEC_VERILATOR").unwrap_or_else(|_| "verilator".to_string())
}

fn net_name(b: Bit) -> String {
    match b {
        Bit::Net(n) => format!("n{n}"),
        Bit::Const('1') => "1'b1".to_string(),
        Bit::Const(_) => "1'b0".to_string(),
    }
}

fn pin(c: &synth::Cell, p: &str) -> Result<String> {
    let bits = c
        .conns
        .get(p)
        .with_context(|| format!("cell {} ({}) has no pin {p}", c.name, c.ty))?;
    if bits.len() != 1 {
        bail!(
            "cell {} ({}): pin {p} is {} bits wide",
            c.name,
            c.ty,
            bits.len()
        );
    }
    Ok(net_name(bits[0]))
}

/// Rewrites the netlist as Verilog with one net per wire and an output port
/// `cell_y` (bit i = output of cell i). Ports keep their names and widths.
pub fn instrumented_verilog(net: &Netlist, module: &str) -> Result<String> {
    instrumented_verilog_with(net, module, false)
}

/// [`instrumented_verilog`], optionally with a unit delay (`#1`) on every
/// combinational cell (for the Icarus glitch simulation).
pub fn instrumented_verilog_with(net: &Netlist, module: &str, unit_delay: bool) -> Result<String> {
    let delay = if unit_delay { "#1 " } else { "" };
    let ncp = net.cells.len().max(65);
    let mut nets = std::collections::BTreeSet::new();
    let mut flop_q = std::collections::BTreeSet::new();
    for p in &net.ports {
        for b in &p.bits {
            if let Bit::Net(n) = b {
                nets.insert(*n);
            }
        }
    }
    for c in &net.cells {
        for bits in c.conns.values() {
            for b in bits {
                if let Bit::Net(n) = b {
                    nets.insert(*n);
                }
            }
        }
    }
    let mut v = String::new();
    writeln!(
        v,
        "// Instrumented gate-level netlist for toggle counting (fpec energy)."
    )?;
    writeln!(v, "/* verilator lint_off UNOPTFLAT */")?;
    let mut plist: Vec<String> = net.ports.iter().map(|p| p.name.clone()).collect();
    if !unit_delay {
        plist.push("cell_y".to_string());
    }
    writeln!(v, "module {module}({});", plist.join(", "))?;
    for p in &net.ports {
        let dir = match p.dir.as_str() {
            "input" => "input",
            "output" => "output",
            d => bail!(
                "port {} has direction {d}; only input/output are supported",
                p.name
            ),
        };
        if p.bits.len() == 1 {
            writeln!(v, "  {dir} wire {};", p.name)?;
        } else {
            writeln!(v, "  {dir} wire [{}:0] {};", p.bits.len() - 1, p.name)?;
        }
    }
    if !unit_delay {
        writeln!(v, "  output wire [{}:0] cell_y;", ncp - 1)?;
    }
    let mut body = String::new();
    let mut ys = Vec::with_capacity(ncp);
    for c in &net.cells {
        let a = || pin(c, "A");
        let b = || pin(c, "B");
        let y = || pin(c, "Y");
        let expr = match c.ty.as_str() {
            "$_NOT_" => Some(format!("~{}", a()?)),
            "$_BUF_" => Some(a()?),
            "$_AND_" => Some(format!("{} & {}", a()?, b()?)),
            "$_NAND_" => Some(format!("~({} & {})", a()?, b()?)),
            "$_OR_" => Some(format!("{} | {}", a()?, b()?)),
            "$_NOR_" => Some(format!("~({} | {})", a()?, b()?)),
            "$_XOR_" => Some(format!("{} ^ {}", a()?, b()?)),
            "$_XNOR_" => Some(format!("~({} ^ {})", a()?, b()?)),
            "$_ANDNOT_" => Some(format!("{} & ~{}", a()?, b()?)),
            "$_ORNOT_" => Some(format!("{} | ~{}", a()?, b()?)),
            "$_MUX_" => Some(format!("{} ? {} : {}", pin(c, "S")?, b()?, a()?)),
            "$_NMUX_" => Some(format!("~({} ? {} : {})", pin(c, "S")?, b()?, a()?)),
            "$_AOI3_" => Some(format!("~(({} & {}) | {})", a()?, b()?, pin(c, "C")?)),
            "$_OAI3_" => Some(format!("~(({} | {}) & {})", a()?, b()?, pin(c, "C")?)),
            "$_AOI4_" => Some(format!(
                "~(({} & {}) | ({} & {}))",
                a()?,
                b()?,
                pin(c, "C")?,
                pin(c, "D")?
            )),
            "$_OAI4_" => Some(format!(
                "~(({} | {}) & ({} | {}))",
                a()?,
                b()?,
                pin(c, "C")?,
                pin(c, "D")?
            )),
            _ => None,
        };
        if let Some(e) = expr {
            let yn = y()?;
            writeln!(body, "  assign {delay}{yn} = {e};")?;
            ys.push(yn);
            continue;
        }
        let q = pin(c, "Q")?;
        let d = pin(c, "D")?;
        let clk = pin(c, "C")?;
        let qn = match c.conns.get("Q").map(|b| b[0]) {
            Some(Bit::Net(n)) => n,
            _ => bail!("flop {} drives a constant", c.name),
        };
        flop_q.insert(qn);
        let edge = |ch: u8| if ch == b'P' { "posedge" } else { "negedge" };
        let tb = c.ty.as_bytes();
        match c.ty.as_str() {
            "$_DFF_P_" | "$_DFF_N_" => {
                writeln!(body, "  always @({} {clk}) {q} <= {d};", edge(tb[6]))?;
            }
            "$_DFF_PP0_" | "$_DFF_PP1_" | "$_DFF_PN0_" | "$_DFF_PN1_" | "$_DFF_NP0_"
            | "$_DFF_NP1_" | "$_DFF_NN0_" | "$_DFF_NN1_" => {
                let r = pin(c, "R")?;
                let active = if tb[7] == b'P' { r.clone() } else { format!("!{r}") };
                writeln!(
                    body,
                    "  always @({} {clk} or {} {r}) if ({active}) {q} <= 1'b{}; else {q} <= {d};",
                    edge(tb[6]),
                    edge(tb[7]),
                    tb[8] as char
                )?;
            }
            t => bail!(
                "cannot simulate cell type {t} (cell {}): only Yosys generic gates and $_DFF_* flops are supported",
                c.name
            ),
        }
        ys.push(q);
    }
    for n in &nets {
        if flop_q.contains(n) {
            writeln!(v, "  reg n{n};")?;
        } else {
            writeln!(v, "  wire n{n};")?;
        }
    }
    for p in &net.ports {
        for (i, b) in p.bits.iter().enumerate() {
            let sel = if p.bits.len() == 1 {
                p.name.clone()
            } else {
                format!("{}[{i}]", p.name)
            };
            match (p.dir.as_str(), b) {
                ("input", Bit::Net(n)) => writeln!(v, "  assign n{n} = {sel};")?,
                ("input", _) => {}
                (_, b) => writeln!(v, "  assign {sel} = {};", net_name(*b))?,
            }
        }
    }
    v.push_str(&body);
    if unit_delay {
        // Icarus: one counter per cell output, each woken by that net only
        // (a wide `cell_y` would wake every counter on every event).
        writeln!(v, "  reg counting = 1'b0;")?;
        writeln!(v, "  integer cnt [0:{}];", ys.len().max(1) - 1)?;
        for (i, y) in ys.iter().enumerate() {
            if y.starts_with('n') {
                writeln!(v, "  always @({y}) if (counting) cnt[{i}] = cnt[{i}] + 1;")?;
            }
        }
        writeln!(v, "endmodule")?;
        return Ok(v);
    }
    while ys.len() < ncp {
        ys.push("1'b0".to_string());
    }
    ys.reverse();
    writeln!(v, "  assign cell_y = {{{}}};", ys.join(", "))?;
    writeln!(v, "endmodule")?;
    Ok(v)
}

/// Builds the Verilator toggle simulator of a netlist in `dir`; returns the
/// executable.
pub fn build_simulator(net: &Netlist, dir: &Path) -> Result<PathBuf> {
    check_mac_ports(net)?;
    build_verilator_simulator(net, dir)
}

/// `dir/cells.txt`: one line `i type block name` per cell, the index the
/// simulators' `cell i n` lines refer to.
fn write_cells_txt(net: &Netlist, dir: &Path) -> Result<()> {
    let mut cells_txt = String::new();
    for (i, c) in net.cells.iter().enumerate() {
        writeln!(cells_txt, "{i} {} {} {}", c.ty, c.block, c.name)?;
    }
    write_atomic(&dir.join("cells.txt"), cells_txt.as_bytes())
}

/// The toggle simulators drive the MAC ports of spec 6.1.
fn check_mac_ports(net: &Netlist) -> Result<()> {
    for p in [
        "clk",
        "rst",
        "in_valid",
        "in_first",
        "in_last",
        "w",
        "a",
        "out_valid",
        "out_sum",
    ] {
        if net.port(p).is_none() {
            return Err(usage(format!(
                "--activity sim needs the MAC ports of spec 6.1; {} has no port `{p}`",
                net.top
            )));
        }
    }
    Ok(())
}

/// Verilator flags of the toggle simulators.
const TOGGLE_VFLAGS: &[&str] = &[
    "-Wno-fatal",
    "-Wno-lint",
    "-Wno-style",
    "-Wno-UNOPTFLAT",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "--noassert",
    // The harness runs a few thousand cycles: compile time dominates,
    // so build without optimisation.
    "-MAKEFLAGS",
    "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0",
];

/// Writes `netlist_sim.v`, `harness.cpp` and `cells.txt` into `dir` (for
/// inspection) and returns the simulator, built in the shared build cache
/// (`verify::tools::cache_root`) under a hash of Verilator's version, the
/// flags and both sources: a second run on the same netlist builds nothing.
fn build_verilator_simulator(net: &Netlist, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let module = "fpec_toggle_top";
    let v = instrumented_verilog(net, module)?;
    write_atomic(&dir.join("netlist_sim.v"), v.as_bytes())?;
    write_cells_txt(net, dir)?;
    let mut ctx = tera::Context::new();
    ctx.insert("top", module);
    ctx.insert("ncells", &net.cells.len());
    let cpp = tera::Tera::one_off(HARNESS_TEMPLATE, &ctx, false)
        .context("rendering testbenches/toggle_harness.cpp.tera")?;
    write_atomic(&dir.join("harness.cpp"), cpp.as_bytes())?;
    let prog = verilator_program();
    let version = crate::verify::tools::tool_version(&prog, "--version").map_err(|_| {
        synth::missing_program(
            &prog,
            "Verilator",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        )
    })?;
    let mut h = crate::verify::tools::Hasher::default();
    h.feed(version.as_bytes())
        .feed(TOGGLE_VFLAGS.join(" ").as_bytes())
        .feed(module.as_bytes())
        .feed(v.as_bytes())
        .feed(cpp.as_bytes());
    let cache = crate::verify::tools::cache_root();
    let cache = crate::verify::tools::absolute(&crate::verify::tools::mkdir(&cache)?)?;
    let built = crate::verify::tools::cached_dir(
        &cache.join(format!("toggle-{}", &h.hex()[..20])),
        |tmp| {
            write_atomic(&tmp.join("netlist_sim.v"), v.as_bytes())?;
            write_atomic(&tmp.join("harness.cpp"), cpp.as_bytes())?;
            verilate_toggle(&prog, module, tmp, dir)
        },
    )?;
    Ok(built.join("obj").join("vsim"))
}

/// Verilates and compiles the toggle simulator in `dir`; the log goes to
/// `log_dir` (the caller's folder, which outlives a failed build).
fn verilate_toggle(prog: &str, module: &str, dir: &Path, log_dir: &Path) -> Result<()> {
    let out = Command::new(prog)
        .current_dir(dir)
        .args(["--cc", "--exe", "--build", "-j", "2"])
        .args(TOGGLE_VFLAGS)
        .args([
            "--top-module",
            module,
            "-Mdir",
            "obj",
            "-o",
            "vsim",
            "netlist_sim.v",
            "harness.cpp",
        ])
        .output_guarded()
        .map_err(|e| synth::missing_program(prog, "Verilator", e))?;
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let log_path = log_dir.join("verilator.log");
    write_atomic(&log_path, log.as_bytes())?;
    if !out.status.success() {
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        bail!(
            "Verilator failed ({}); log: {}\n{}",
            out.status,
            log_path.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}

/// Writes the stimulus: 2 reset cycles, the dot products back to back
/// (counted), then `tail` idle cycles to drain the results.
pub fn stimulus(dots: &[Vec<(u32, u32)>], tail: u32) -> String {
    let mut s = String::new();
    for _ in 0..2 {
        s += "1 0 0 0 0 0 0\n";
    }
    for d in dots {
        for (i, &(w, a)) in d.iter().enumerate() {
            let first = (i == 0) as u8;
            let last = (i + 1 == d.len()) as u8;
            let _ = writeln!(s, "0 1 {first} {last} {w:x} {a:x} 1");
        }
    }
    for _ in 0..tail {
        s += "0 0 0 0 0 0 0\n";
    }
    s
}

/// Runs a built simulator on a stimulus.
pub fn run_simulator(exe: &Path, stim: &str, ncells: usize) -> Result<Toggles> {
    use std::io::Write;
    let mut child = crate::util::own_group(&mut Command::new(exe))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    let _guard = crate::util::ChildGuard::new(&child);
    {
        let mut stdin = child.stdin.take().context("simulator stdin")?;
        stdin.write_all(stim.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "toggle simulator {} failed ({}): {}",
            exe.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse_toggles(&String::from_utf8_lossy(&out.stdout), ncells)
}

/// Parses a toggle simulator's output (`cycles`, `macs`, `cell i n`, `sum HEX`).
fn parse_toggles(text: &str, ncells: usize) -> Result<Toggles> {
    let mut t = Toggles {
        cycles: 0,
        macs: 0,
        per_cell: vec![0; ncells],
        sums: Vec::new(),
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["cycles", n] => t.cycles = n.parse()?,
            ["macs", n] => t.macs = n.parse()?,
            ["cell", i, n] => {
                let i: usize = i.parse()?;
                if i < ncells {
                    t.per_cell[i] = n.parse()?;
                }
            }
            ["sum", h] => t.sums.push(u64::from_str_radix(h, 16)?),
            _ => bail!("toggle simulator: unexpected output line {line:?}"),
        }
    }
    Ok(t)
}

/// Writes the unit-delay netlist and the Icarus harness into `dir`, compiles
/// them with `iverilog` and runs `vvp` on `stim`.
pub fn run_glitch_simulation(net: &Netlist, dir: &Path, stim: &str) -> Result<Toggles> {
    check_mac_ports(net)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let module = "fpec_toggle_top";
    let ncells = net.cells.len();
    let v = instrumented_verilog_with(net, module, true)?;
    write_atomic(&dir.join("netlist_glitch.v"), v.as_bytes())?;
    write_cells_txt(net, dir)?;
    let width = |p: &str| net.port(p).map_or(1, |x| x.bits.len());
    let mut ctx = tera::Context::new();
    ctx.insert("top", module);
    ctx.insert("ncells", &ncells.max(1));
    ctx.insert("nw", &width("w"));
    ctx.insert("ns", &width("out_sum"));
    // Longer than any combinational path (at most one unit per cell).
    ctx.insert("half", &(ncells + 16));
    let tb = tera::Tera::one_off(GLITCH_TEMPLATE, &ctx, false)
        .context("rendering testbenches/glitch_harness.v.tera")?;
    write_atomic(&dir.join("glitch_tb.v"), tb.as_bytes())?;
    write_atomic(&dir.join("stimulus.txt"), stim.as_bytes())?;
    let out = Command::new("iverilog")
        .current_dir(dir)
        .args([
            "-g2005",
            "-o",
            "glitch.vvp",
            "-s",
            "glitch_tb",
            "netlist_glitch.v",
            "glitch_tb.v",
        ])
        .output_guarded()
        .map_err(|e| synth::missing_program("iverilog", "Icarus Verilog", e))?;
    if !out.status.success() {
        bail!(
            "iverilog failed on {}: {}",
            dir.join("netlist_glitch.v").display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = Command::new("vvp")
        .current_dir(dir)
        .args(["-n", "glitch.vvp", "+stim=stimulus.txt"])
        .output_guarded()
        .map_err(|e| synth::missing_program("vvp", "Icarus Verilog", e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || text.starts_with("error:") {
        bail!(
            "vvp failed in {} ({}): {}{}",
            dir.display(),
            out.status,
            text.lines().next().unwrap_or(""),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse_toggles(&text, ncells)
}

/// Checks the simulated sums against the golden model (when S <= 64).
fn check_sums(split: &Split, s: u32, dots: &[Vec<(u32, u32)>], sums: &[u64]) -> Result<()> {
    if sums.len() != dots.len() {
        bail!(
            "gate-level simulation produced {} results for {} dot products",
            sums.len(),
            dots.len()
        );
    }
    if s > 64 {
        return Ok(());
    }
    for (k, (d, &got)) in dots.iter().zip(sums).enumerate() {
        let w: Vec<Operand> = d.iter().map(|p| Operand::of_bits(split, p.0)).collect();
        let a: Vec<Operand> = d.iter().map(|p| Operand::of_bits(split, p.1)).collect();
        let exp = golden::dot(split.g(), &w, &a);
        let got = if s == 64 {
            got as i64
        } else {
            ((got << (64 - s)) as i64) >> (64 - s)
        };
        if got != exp {
            bail!(
                "gate-level netlist disagrees with the golden model on dot product {k}: expected {exp}, got {got}"
            );
        }
    }
    Ok(())
}

/// Simulates `net` (the synthesized design of `design`) on a workload and
/// counts toggles per cell: under Verilator with zero delay (`glitch`
/// false) or under Icarus with unit gate delays (`glitch` true).
pub fn simulate_toggles(
    design: &Design,
    net: &Netlist,
    work_dir: &Path,
    workload: &Workload,
    seed: u64,
    macs: usize,
    glitch: bool,
) -> Result<(Toggles, Option<f64>)> {
    let split = design.split.ok_or_else(|| {
        usage("--activity sim/glitch needs the word format of the design (--bits W+C for --rtl)")
    })?;
    let dots = workload.dot_products(&split, seed, macs)?;
    let stim = stimulus(&dots, design.latency.unwrap_or(1) + 2);
    let t = if glitch {
        run_glitch_simulation(net, work_dir, &stim)?
    } else {
        let exe = build_simulator(net, work_dir)?;
        write_atomic(&work_dir.join("stimulus.txt"), stim.as_bytes())?;
        run_simulator(&exe, &stim, net.cells.len())?
    };
    let s = match design.sum_width {
        Some(s) => s,
        None => net.port("out_sum").map_or(64, |p| p.bits.len() as u32),
    };
    check_sums(&split, s, &dots, &t.sums)?;
    Ok((t, skipped_share(&split, &dots)))
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

// ------------------------------------------------------------ baselines

/// Generates the FxP W-bit MAC (`fpec::gen`, same generator as the
/// configuration) with `max_len` into `dir` and returns it as a design.
pub fn baseline_folder(w: u32, max_len: u64, dir: &Path) -> Result<Design> {
    let req = crate::gen::GenRequest::mac(Split::fxp(w)?, max_len);
    crate::gen::generate(&req, dir)
        .with_context(|| format!("generating the FxP {w}-bit baseline in {}", dir.display()))?;
    Design::from_dir(dir)
}
