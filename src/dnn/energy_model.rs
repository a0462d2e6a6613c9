//! The synthesis-based energy model behind FPEC-Opt (spec 8): each
//! configuration's MAC is generated, synthesized by Yosys to generic gates
//! and compiled once into a gate-level toggle-counting simulator
//! (`fpec::energy`); each layer's own operand pairs are then replayed through
//! it, and the toggles times the 14 nm energy table give fJ per MAC. Also
//! owns the [`MacEnergy`] hook FPEC-Opt costs configurations with, and its
//! analytic test double.

use crate::energy::{build_simulator, run_simulator, sim_energy, stimulus, EnergyTable};
use crate::format::Split;
use crate::synth::{synthesize, Design, Netlist, SynthOptions};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Energy per MAC of a hardware split, the hook for the synthesis-based
/// energy model (spec 8).
///
/// Called once per (configuration, layer), from rayon worker threads (hence
/// `Sync`); an implementation that synthesizes or builds a simulator should
/// cache per split. `layer_dots` are the layer's real dot products (each a
/// list of packed (w, a) words, as `fpec::energy`'s stimulus takes them) for
/// simulated switching activity; it is never empty.
pub trait MacEnergy: Sync {
    /// Short description shown in reports (model name, technology, source).
    fn describe(&self) -> String;
    /// Energy per MAC in femtojoules for `split`, given that layer's dot
    /// products.
    fn energy_fj_per_mac(&self, split: &Split, layer_dots: &[Vec<(u32, u32)>]) -> Result<f64>;
    /// Builds what `split` needs ahead of its first use (a search calls it
    /// for every configuration in parallel); nothing by default.
    fn prepare(&self, _split: &Split) -> Result<()> {
        Ok(())
    }
}

/// **Test double only — not an energy model.** An analytic stand-in used by
/// the test suite so FPEC-Opt can be exercised without synthesis:
/// `E = W^2 + (1 - s) * C * W` (arbitrary units labelled fJ), with `s` the
/// share of pairs whose two words both have ezb = 1. It has no physical
/// basis; numbers computed with it must never be reported as results.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalyticTestDouble;

impl MacEnergy for AnalyticTestDouble {
    fn describe(&self) -> String {
        "ANALYTIC TEST DOUBLE (W^2 + (1-sparsity)*C*W; no physical basis; NOT A RESULT)".into()
    }
    fn energy_fj_per_mac(&self, split: &Split, dots: &[Vec<(u32, u32)>]) -> Result<f64> {
        let w = split.w as f64;
        let c = split.c() as f64;
        let sparse = if split.z() {
            let m = split.m();
            let ezb = |x: u32| (x >> (m + 1)) & 1 == 1;
            let n: usize = dots.iter().map(Vec::len).sum();
            dots.iter()
                .flatten()
                .filter(|(a, b)| ezb(*a) && ezb(*b))
                .count() as f64
                / n.max(1) as f64
        } else {
            0.0
        };
        Ok(w * w + (1.0 - sparse) * c * w)
    }
}

/// The real energy model: synthesis-based (spec 8, `fpec::energy`), with
/// activity simulated on each layer's own operands; work files under `work`.
pub fn real_mac_energy(
    work: &std::path::Path,
    arch: crate::gen::Arch,
) -> Result<Box<dyn MacEnergy>> {
    Ok(Box::new(SynthMacEnergy::new(work, arch)?))
}

struct Built {
    net: Netlist,
    exe: PathBuf,
}

/// One configuration's build, made once by whichever thread asks first.
type BuildSlot = Arc<Mutex<Option<Arc<Built>>>>;

/// Synthesis-backed [`MacEnergy`], caching one synthesized netlist and one
/// simulator per configuration.
pub struct SynthMacEnergy {
    work: PathBuf,
    arch: crate::gen::Arch,
    table: EnergyTable,
    built: Mutex<HashMap<Split, BuildSlot>>,
}

impl SynthMacEnergy {
    /// Works (generated RTL, synthesis, simulators) under `work`; FPEC
    /// MACs in `arch`.
    pub fn new(work: &Path, arch: crate::gen::Arch) -> Result<Self> {
        Ok(SynthMacEnergy {
            work: work.to_path_buf(),
            arch,
            table: EnergyTable::builtin()?,
            built: Mutex::new(HashMap::new()),
        })
    }

    fn get(&self, split: &Split) -> Result<Arc<Built>> {
        let slot = {
            let mut m = self
                .built
                .lock()
                .map_err(|_| anyhow::anyhow!("energy cache poisoned"))?;
            m.entry(*split).or_default().clone()
        };
        let mut guard = slot
            .lock()
            .map_err(|_| anyhow::anyhow!("energy cache poisoned"))?;
        if let Some(b) = guard.as_ref() {
            return Ok(b.clone());
        }
        let arch = crate::gen::arch_name(split, self.arch);
        let dir = self.work.join(format!("{}+{}-{arch}", split.w, split.c()));
        let req = crate::gen::GenRequest {
            arch: self.arch,
            ..crate::gen::GenRequest::mac(*split, crate::gen::DEFAULT_MAX_LEN)
        };
        crate::gen::generate(&req, &dir).with_context(|| format!("generating {split}"))?;
        let design = Design::from_dir(&dir)?;
        let sr = synthesize(&design, &dir, &SynthOptions::default())
            .with_context(|| format!("synthesizing {split}"))?;
        let exe = build_simulator(&sr.netlist, &sr.dir.join("sim"))
            .with_context(|| format!("building the gate-level simulator of {split}"))?;
        let b = Arc::new(Built {
            net: sr.netlist,
            exe,
        });
        *guard = Some(b.clone());
        Ok(b)
    }
}

impl MacEnergy for SynthMacEnergy {
    fn describe(&self) -> String {
        format!(
            "Yosys generic gates x {} ; FPEC MACs in arch {}; activity: zero-delay toggles of the synthesized netlist \
             under Verilator on each layer's own operands",
            self.table.meta.name,
            self.arch
        )
    }

    fn prepare(&self, split: &Split) -> Result<()> {
        self.get(split).map(|_| ())
    }

    fn energy_fj_per_mac(&self, split: &Split, layer_dots: &[Vec<(u32, u32)>]) -> Result<f64> {
        let b = self.get(split)?;
        let stim = stimulus(layer_dots, 4);
        let t = run_simulator(&b.exe, &stim, b.net.cells.len())?;
        let (e, _) = sim_energy(&b.net, &self.table, &t)?;
        Ok(e)
    }
}
