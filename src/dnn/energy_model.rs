//! The synthesis-based energy model behind FPEC-Opt (spec 8): each
//! configuration's MAC is generated, synthesized by Yosys to generic gates
//! and compiled once into a gate-level toggle-counting simulator
//! (`fpec::energy`); each layer's own operand pairs are then replayed through
//! it, and the toggles times the 14 nm energy table give fJ per MAC.

use crate::dnn::opt::MacEnergy;
use crate::energy::{build_simulator, run_simulator, sim_energy, stimulus, EnergyTable};
use crate::format::Split;
use crate::synth::{synthesize, Design, Netlist, SynthOptions};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

struct Built {
    net: Netlist,
    exe: PathBuf,
}

/// Synthesis-backed [`MacEnergy`], caching one synthesized netlist and one
/// simulator per configuration.
pub struct SynthMacEnergy {
    work: PathBuf,
    arch: crate::gen::Arch,
    table: EnergyTable,
    built: Mutex<HashMap<Split, Arc<Mutex<Option<Arc<Built>>>>>>,
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

    fn energy_fj_per_mac(&self, split: &Split, layer_dots: &[Vec<(u32, u32)>]) -> Result<f64> {
        let b = self.get(split)?;
        let stim = stimulus(layer_dots, 4);
        let t = run_simulator(&b.exe, &stim, b.net.cells.len())?;
        let (e, _) = sim_energy(&b.net, &self.table, &t)?;
        Ok(e)
    }
}
