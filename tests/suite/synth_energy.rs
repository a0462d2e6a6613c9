//! Energy arithmetic on hand-computed cases, table errors, liberty mode,
//! and the toggle simulation (real Yosys and Verilator).

use fpec::energy::{
    build_simulator, run_glitch_simulation, run_simulator, sim_energy, static_energy, stimulus,
    EnergyTable,
};
use fpec::synth::{synthesize, Design, SynthOptions};
use std::path::{Path, PathBuf};

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(p)
}

/// A table with round numbers so the arithmetic can be done by hand.
const ROUND_TABLE: &str = r#"
[meta]
name = "round numbers for tests"
units = "fJ"

[cells."$_NAND_"]
kind = "comb"
fj_per_toggle = 1.0
source = "test"
derivation = "test"

[cells."$_NOR_"]
kind = "comb"
fj_per_toggle = 1.0
source = "test"
derivation = "test"

[cells."$_NOT_"]
kind = "comb"
fj_per_toggle = 1.0
source = "test"
derivation = "test"

[cells."$_DFF_P_"]
kind = "flop"
fj_per_cycle_stable = 2.0
fj_per_cycle_toggling = 3.0
source = "test"
derivation = "test"
"#;

/// nd.v is q <= ~(a & b): one $_NAND_ and one $_DFF_P_.
/// Static, rate 0.25: NAND 0.25 * 1.0 = 0.25; DFF 2.0 + 0.25 * 2 * (3.0 - 2.0)
/// = 2.5 (a Q toggle costs 2 * (toggling - stable) = 2.0). Total 2.75 fJ.
#[test]
fn static_energy_by_hand() {
    let out = tempfile::tempdir().unwrap();
    let d = Design::from_rtl(&[data("small/nd.v")], "nd", &[]).unwrap();
    let r = synthesize(&d, out.path(), &SynthOptions::default()).unwrap();
    let types: Vec<(&str, u64)> = r
        .cells_by_type
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(types, vec![("$_DFF_P_", 1), ("$_NAND_", 1)]);
    let t = EnergyTable::parse(ROUND_TABLE, "round").unwrap();
    let (e, by) = static_energy(&r.netlist, &t, 0.25).unwrap();
    assert!((e - 2.75).abs() < 1e-12, "{e}");
    assert!((by["control"] - 2.75).abs() < 1e-12);
    // Built-in table at 0.5: NAND 0.5 * 0.93 + DFF 4.42 (table A) = 4.885.
    let b = EnergyTable::builtin().unwrap();
    let (e, _) = static_energy(&r.netlist, &b, 0.5).unwrap();
    assert!((e - 4.885).abs() < 1e-9, "{e}");
}

#[test]
fn unknown_cell_is_an_error() {
    let out = tempfile::tempdir().unwrap();
    let d = Design::from_rtl(&[data("small/add4.v")], "add4", &[]).unwrap();
    let r = synthesize(&d, out.path(), &SynthOptions::default()).unwrap();
    // ROUND_TABLE has no $_XOR_ / $_AND_.
    let t = EnergyTable::parse(ROUND_TABLE, "round").unwrap();
    let e = static_energy(&r.netlist, &t, 0.5).unwrap_err().to_string();
    assert!(e.contains("$_AND_") || e.contains("$_XOR_"), "{e}");
    assert!(e.contains("not in the energy table"), "{e}");
}

#[test]
fn malformed_table_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    // Line 7 lacks the closing quote.
    let text = "[meta]\nname = \"x\"\nunits = \"fJ\"\n\n[cells.\"$_NOT_\"]\nkind = \"comb\"\nfj_per_toggle = \"0.89\nsource = \"s\"\n";
    std::fs::write(&p, text).unwrap();
    let e = EnergyTable::load(&p).unwrap_err().to_string();
    assert!(e.contains("bad.toml"), "{e}");
    assert!(e.contains("line 7"), "{e}");
    // A semantic error (a number as a string) also names the line.
    let text2 = "[meta]\nname = \"x\"\nunits = \"fJ\"\n\n[cells.\"$_NOT_\"]\nkind = \"comb\"\nfj_per_toggle = \"0.89\"\nsource = \"s\"\nderivation = \"d\"\n";
    std::fs::write(&p, text2).unwrap();
    let e = EnergyTable::load(&p).unwrap_err().to_string();
    assert!(e.contains("bad.toml") && e.contains("line 7"), "{e}");
}

#[test]
fn builtin_table_covers_generic_gates_and_cites_sources() {
    let t = EnergyTable::builtin().unwrap();
    for c in [
        "$_NOT_",
        "$_AND_",
        "$_NAND_",
        "$_OR_",
        "$_NOR_",
        "$_XOR_",
        "$_XNOR_",
        "$_ANDNOT_",
        "$_ORNOT_",
        "$_MUX_",
        "$_DFF_P_",
    ] {
        assert!(t.get(c).is_ok(), "{c}");
    }
    assert!(t.meta.sources.iter().any(|s| s.contains("Stillmaker")));
    let text = fpec::energy::DEFAULT_TABLE;
    assert!(text.contains("2.012") && text.contains("0.353"));
}

/// tog.v: t <= rst ? 0 : ~t, out_sum = {~t, t}; Yosys gives $_DFF_P_,
/// $_NOR_ (D = ~(t | rst)) and $_NOT_. Stimulus: 2 reset cycles then K = 10
/// counted cycles. Samples are taken after the inputs of a cycle settle:
/// the first counted sample differs from the last reset one only by rst
/// falling (the NOR goes 0 -> 1); after that t flips every cycle, so over
/// the K counted samples Q toggles K - 1 = 9 times, the NOT 9 times and the
/// NOR 1 + 9 = 10 times.
/// Energy with ROUND_TABLE: comb (10 + 9) * 1.0 = 19; DFF 10 cycles * 2.0 +
/// 9 Q toggles * 2.0 = 38; 57 fJ over 10 MACs = 5.7 fJ/MAC.
#[test]
fn sim_toggle_counts_of_a_toggling_flop() {
    let out = tempfile::tempdir().unwrap();
    let d = Design::from_rtl(&[data("small/tog.v")], "tog", &[]).unwrap();
    let r = synthesize(&d, out.path(), &SynthOptions::default()).unwrap();
    let exe = build_simulator(&r.netlist, &out.path().join("sim")).unwrap();
    let dots = vec![(0..10).map(|i| (i % 4, 0u32)).collect::<Vec<_>>()];
    let t = run_simulator(&exe, &stimulus(&dots, 2), r.netlist.cells.len()).unwrap();
    assert_eq!(t.cycles, 10);
    assert_eq!(t.macs, 10);
    for (c, n) in r.netlist.cells.iter().zip(&t.per_cell) {
        let want = match c.ty.as_str() {
            "$_DFF_P_" => 9,
            "$_NOT_" => 9,
            "$_NOR_" => 10,
            other => panic!("unexpected cell {other}"),
        };
        assert_eq!(*n, want, "{}", c.ty);
    }
    let table = EnergyTable::parse(ROUND_TABLE, "round").unwrap();
    let (e, _) = sim_energy(&r.netlist, &table, &t).unwrap();
    assert!((e - 5.7).abs() < 1e-12, "{e}");
}

/// The tiny FPEC MAC (3+2, Z = 1): pairs whose operands both have ezb = 1
/// leave the compensation accumulator alone, so the compensation path
/// switches less than with dense pairs (ezb = 0) of the same q values.
#[test]
fn sparse_workload_lowers_comp_path_energy() {
    let out = tempfile::tempdir().unwrap();
    let d = Design::from_dir(&data("tiny_fpec")).unwrap();
    let r = synthesize(&d, out.path(), &SynthOptions::default()).unwrap();
    let exe = build_simulator(&r.netlist, &out.path().join("sim")).unwrap();
    // q values by a fixed LCG, the same for both runs; words are q<<2 | ezb<<1 | edb.
    let mut x: u32 = 12345;
    let mut qs = Vec::new();
    for _ in 0..512 {
        x = x.wrapping_mul(1103515245).wrapping_add(12345);
        qs.push(((x >> 16) & 7, (x >> 20) & 7, (x >> 24) & 1));
    }
    let mk = |ezb: u32| -> Vec<Vec<(u32, u32)>> {
        qs.chunks(16)
            .map(|c| {
                c.iter()
                    .map(|&(qw, qa, e)| {
                        ((qw << 2) | (ezb << 1) | e, (qa << 2) | (ezb << 1) | (1 - e))
                    })
                    .collect()
            })
            .collect()
    };
    let table = EnergyTable::builtin().unwrap();
    let mut comp = Vec::new();
    for ezb in [0u32, 1] {
        let dots = mk(ezb);
        let t = run_simulator(&exe, &stimulus(&dots, 3), r.netlist.cells.len()).unwrap();
        assert_eq!(t.macs, 512);
        assert_eq!(t.sums.len(), dots.len());
        let (_, by) = sim_energy(&r.netlist, &table, &t).unwrap();
        comp.push(by["compensation"]);
    }
    let (dense, sparse) = (comp[0], comp[1]);
    assert!(dense > 0.0);
    assert!(sparse < 0.5 * dense, "sparse {sparse} dense {dense}");
}

/// The same netlist and stimulus under the zero-delay Verilator harness and
/// the unit-delay Icarus harness (two simulators, same counting windows):
/// per cell the glitch count is at least the zero-delay count and differs
/// from it by an even number (extra transitions between the same settled
/// values come in pairs); the results are the same; the ripple adders of
/// the MAC do glitch.
#[test]
fn glitch_counts_bound_zero_delay_counts() {
    let out = tempfile::tempdir().unwrap();
    let d = Design::from_dir(&data("tiny_fpec")).unwrap();
    let r = synthesize(&d, out.path(), &SynthOptions::default()).unwrap();
    let exe = build_simulator(&r.netlist, &out.path().join("sim")).unwrap();
    let mut x: u32 = 987;
    let dots: Vec<Vec<(u32, u32)>> = (0..24)
        .map(|_| {
            (0..12)
                .map(|_| {
                    x = x.wrapping_mul(1103515245).wrapping_add(12345);
                    ((x >> 8) & 31, (x >> 16) & 31)
                })
                .collect()
        })
        .collect();
    let stim = stimulus(&dots, 3);
    let n = r.netlist.cells.len();
    let zd = run_simulator(&exe, &stim, n).unwrap();
    let ud = run_glitch_simulation(&r.netlist, &out.path().join("glitch"), &stim).unwrap();
    assert_eq!((zd.cycles, zd.macs), (ud.cycles, ud.macs));
    assert_eq!(zd.macs, 24 * 12);
    assert_eq!(zd.sums, ud.sums);
    assert_eq!(zd.sums.len(), 24);
    for (i, (a, b)) in zd.per_cell.iter().zip(&ud.per_cell).enumerate() {
        assert!(
            b >= a && (b - a) % 2 == 0,
            "cell {i} ({}): zero-delay {a}, unit-delay {b}",
            r.netlist.cells[i].ty
        );
    }
    let (tz, tu): (u64, u64) = (zd.per_cell.iter().sum(), ud.per_cell.iter().sum());
    assert!(tz > 0 && tu > tz, "zero-delay {tz}, unit-delay {tu}");
}

/// A liberty with round numbers: energies and area come from its tables.
/// INV: internal 1.0, NAND2: mean of (2, 4) = 3.0, DFF clock rise 1 + fall 1
/// = 2.0 per cycle, Q internal 5.0 (NOR2 3.0 and BUF 1.0 exist so ABC accepts the library). Input caps 1 fF at 1 V: load term
/// 1/2 * 1 * 1^2 = 0.5 fJ per toggle.
const LIB: &str = r#"
library (testlib) {
  delay_model : table_lookup;
  capacitive_load_unit (1, ff);
  voltage_unit : "1V";
  time_unit : "1ns";
  nom_voltage : 1.0;
  cell (INV) {
    area : 1.0;
    pin (A) { direction : input; capacitance : 1.0; }
    pin (Y) { direction : output; function : "!A";
      internal_power () { related_pin : "A";
        rise_power (scalar) { values ("1.0"); }
        fall_power (scalar) { values ("1.0"); } }
      timing () { related_pin : "A"; timing_sense : negative_unate;
        cell_rise (scalar) { values ("0.01"); } cell_fall (scalar) { values ("0.01"); }
        rise_transition (scalar) { values ("0.01"); } fall_transition (scalar) { values ("0.01"); } }
    }
  }
  cell (NAND2) {
    area : 2.0;
    pin (A) { direction : input; capacitance : 1.0; }
    pin (B) { direction : input; capacitance : 1.0; }
    pin (Y) { direction : output; function : "!(A&B)";
      internal_power () { related_pin : "A";
        rise_power (scalar) { values ("2.0"); }
        fall_power (scalar) { values ("4.0"); } }
      timing () { related_pin : "A"; timing_sense : negative_unate;
        cell_rise (scalar) { values ("0.02"); } cell_fall (scalar) { values ("0.02"); }
        rise_transition (scalar) { values ("0.01"); } fall_transition (scalar) { values ("0.01"); } }
      timing () { related_pin : "B"; timing_sense : negative_unate;
        cell_rise (scalar) { values ("0.02"); } cell_fall (scalar) { values ("0.02"); }
        rise_transition (scalar) { values ("0.01"); } fall_transition (scalar) { values ("0.01"); } }
    }
  }
  cell (NOR2) {
    area : 2.0;
    pin (A) { direction : input; capacitance : 1.0; }
    pin (B) { direction : input; capacitance : 1.0; }
    pin (Y) { direction : output; function : "!(A|B)";
      internal_power () { related_pin : "A";
        rise_power (scalar) { values ("3.0"); }
        fall_power (scalar) { values ("3.0"); } }
      timing () { related_pin : "A"; timing_sense : negative_unate;
        cell_rise (scalar) { values ("0.02"); } cell_fall (scalar) { values ("0.02"); }
        rise_transition (scalar) { values ("0.01"); } fall_transition (scalar) { values ("0.01"); } }
      timing () { related_pin : "B"; timing_sense : negative_unate;
        cell_rise (scalar) { values ("0.02"); } cell_fall (scalar) { values ("0.02"); }
        rise_transition (scalar) { values ("0.01"); } fall_transition (scalar) { values ("0.01"); } }
    }
  }
  cell (BUF) {
    area : 1.5;
    pin (A) { direction : input; capacitance : 1.0; }
    pin (Y) { direction : output; function : "A";
      internal_power () { related_pin : "A";
        rise_power (scalar) { values ("1.0"); }
        fall_power (scalar) { values ("1.0"); } }
      timing () { related_pin : "A"; timing_sense : positive_unate;
        cell_rise (scalar) { values ("0.02"); } cell_fall (scalar) { values ("0.02"); }
        rise_transition (scalar) { values ("0.01"); } fall_transition (scalar) { values ("0.01"); } }
    }
  }
  cell (DFF) {
    area : 5.0;
    ff (IQ, IQN) { next_state : "D"; clocked_on : "CK"; }
    pin (CK) { direction : input; clock : true; capacitance : 1.0;
      internal_power () { rise_power (scalar) { values ("1.0"); } fall_power (scalar) { values ("1.0"); } } }
    pin (D) { direction : input; capacitance : 1.0; }
    pin (Q) { direction : output; function : "IQ";
      internal_power () { related_pin : "CK";
        rise_power (scalar) { values ("5.0"); }
        fall_power (scalar) { values ("5.0"); } }
      timing () { related_pin : "CK"; timing_type : rising_edge;
        cell_rise (scalar) { values ("0.05"); } cell_fall (scalar) { values ("0.05"); }
        rise_transition (scalar) { values ("0.01"); } fall_transition (scalar) { values ("0.01"); } }
    }
  }
}
"#;

#[test]
fn liberty_mapping_energy_and_area() {
    let out = tempfile::tempdir().unwrap();
    let lib = out.path().join("test.lib");
    std::fs::write(&lib, LIB).unwrap();
    let t = fpec::liberty::energy_table(&lib).unwrap();
    use fpec::energy::CellEnergy;
    assert_eq!(t.get("INV").unwrap(), CellEnergy::Comb { per_toggle: 1.5 });
    assert_eq!(
        t.get("NAND2").unwrap(),
        CellEnergy::Comb { per_toggle: 3.5 }
    );
    assert_eq!(
        t.get("DFF").unwrap(),
        CellEnergy::Flop {
            per_cycle: 2.0,
            per_q_toggle: 5.5
        }
    );
    let d = Design::from_rtl(&[data("small/nd.v")], "nd", &[]).unwrap();
    let opts = SynthOptions {
        liberty: Some(lib.clone()),
        blocks: None,
    };
    let r = synthesize(&d, out.path(), &opts).unwrap();
    let n = |k: &str| r.cells_by_type.get(k).copied().unwrap_or(0);
    assert_eq!(n("DFF"), 1, "{:?}", r.cells_by_type);
    assert_eq!(n("NAND2"), 1, "{:?}", r.cells_by_type);
    // Area: what stat -liberty reports must equal the sum of the cells' areas.
    let area: f64 = n("INV") as f64 * 1.0
        + (n("NAND2") + n("NOR2")) as f64 * 2.0
        + n("BUF") as f64 * 1.5
        + n("DFF") as f64 * 5.0;
    assert_eq!(r.liberty_area, Some(area));
    // Static 0.5: each INV 0.75, the NAND2 1.75, the DFF 2.0 + 0.5 * 5.5 = 4.75.
    let (e, _) = static_energy(&r.netlist, &t, 0.5).unwrap();
    let want = n("INV") as f64 * 0.75 + 1.75 + 4.75;
    assert!((e - want).abs() < 1e-12, "{e} vs {want}");
}
