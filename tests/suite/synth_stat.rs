//! Synthesis with the real Yosys: stat parsing, pinned per-type counts of a
//! circuit counted by hand, block classification, tool errors.

use fpec::synth::{parse_stat_json, synthesize, Design, SynthOptions};
use std::path::{Path, PathBuf};

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(p)
}

#[test]
fn stat_json_parsing() {
    let text = r#"{"creator":"Yosys 0.23","modules":{"\\m":{"num_cells":3,
      "num_cells_by_type":{"$_AND_":2,"$_DFF_P_":1}}}}"#;
    let m = parse_stat_json(text, "m").unwrap();
    assert_eq!(m.get("$_AND_"), Some(&2));
    assert_eq!(m.get("$_DFF_P_"), Some(&1));
    assert_eq!(m.len(), 2);
    assert!(parse_stat_json("{}", "m").is_err());
}

/// 4-bit adder, counted by hand: bit 0 is s0 = a0 ^ b0 and c1 = a0 & b0
/// (1 XOR, 1 AND); bits 1..3 each take s = (a ^ b) ^ c (2 XOR) and
/// c' = NAND(NAND(a, b), NAND(c, a ^ b)) (3 NAND); s4 = c4.
/// Total 7 XOR + 9 NAND + 1 AND = 17 cells (checked against Yosys 0.23 once).
#[test]
fn add4_counts_by_type() {
    let out = tempfile::tempdir().unwrap();
    let d = Design::from_rtl(&[data("small/add4.v")], "add4", &[]).unwrap();
    let r = synthesize(&d, out.path(), &SynthOptions::default()).unwrap();
    assert!(r.yosys_version.starts_with("Yosys "), "{}", r.yosys_version);
    let want: Vec<(&str, u64)> = vec![("$_AND_", 1), ("$_NAND_", 9), ("$_XOR_", 7)];
    let got: Vec<(&str, u64)> = r
        .cells_by_type
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(got, want);
    assert_eq!(r.cells_by_block.get("control"), Some(&17));
    for f in [
        "stat.json",
        "netlist.v",
        "netlist.json",
        "gates.txt",
        "report.json",
        "yosys.log",
    ] {
        assert!(out.path().join("synth").join(f).is_file(), "{f} missing");
    }
    let v = std::fs::read_to_string(out.path().join("synth/netlist.v")).unwrap();
    assert!(v.contains("module add4"));
    let rep: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("synth/report.json")).unwrap(),
    )
    .unwrap();
    assert!(rep["yosys_version"].as_str().unwrap().starts_with("Yosys"));
}

/// The tiny hierarchical MAC: every block named by the rules gets cells,
/// the per-block counts add up, and the multiplier (3x3 signed) is small.
#[test]
fn blocks_from_hierarchy() {
    let out = tempfile::tempdir().unwrap();
    let d = Design::from_dir(&data("tiny_fpec")).unwrap();
    let r = synthesize(&d, out.path(), &SynthOptions::default()).unwrap();
    let total: u64 = r.cells_by_type.values().sum();
    let by_block: u64 = r.cells_by_block.values().sum();
    assert_eq!(total, by_block);
    for b in ["multiplier", "compensation", "accumulator", "control"] {
        assert!(
            r.cells_by_block.get(b).copied().unwrap_or(0) > 0,
            "{b}: {:?}",
            r.cells_by_block
        );
    }
    // Flops by block, counted from the RTL: cacc 11 (compensation), acc 12
    // (accumulator), out_valid + out_sum 16 (control), none in the multiplier.
    let flops = |b: &str| {
        r.netlist
            .cells
            .iter()
            .filter(|c| c.block == b && c.ty.starts_with("$_DFF"))
            .count()
    };
    assert_eq!(flops("compensation"), 11);
    assert_eq!(flops("accumulator"), 12);
    assert_eq!(flops("control"), 16);
    assert_eq!(flops("multiplier"), 0);
}

#[test]
fn missing_yosys_names_the_program() {
    let out = tempfile::tempdir().unwrap();
    let o = crate::common::fpec()
        .env("FPEC_YOSYS", "/nonexistent/yosys-xyz")
        .arg("synth")
        .arg(out.path())
        .args(["--rtl"])
        .arg(data("small/add4.v"))
        .args(["--top", "add4"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("/nonexistent/yosys-xyz") && e.contains("not found"),
        "{e}"
    );
}

#[test]
fn yosys_failure_reports_log_and_tail() {
    let out = tempfile::tempdir().unwrap();
    let bad = out.path().join("bad.v");
    std::fs::write(
        &bad,
        "module bad(input a, output y);\n assign y = a +;\nendmodule\n",
    )
    .unwrap();
    let d = Design::from_rtl(&[bad], "bad", &[]).unwrap();
    let err = synthesize(&d, out.path(), &SynthOptions::default()).unwrap_err();
    let e = format!("{err:#}");
    // Issue 20: Verilog that Yosys rejects is the user's input (exit 2),
    // reported on one line with the Yosys error and the failing run's log
    // (kept under its own name, beside any earlier good results).
    assert!(
        err.downcast_ref::<fpec::util::UsageError>().is_some(),
        "{e}"
    );
    assert!(e.contains("does not elaborate"), "{e}");
    assert!(e.contains("yosys-failed.log"), "{e}");
    assert!(e.contains("ERROR"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(out.path().join("synth/yosys-failed.log").is_file());
}

/// The hand-written behavioural MAC through the same flow, with its
/// parameters: flops counted from its RTL are acc (S = 28) + out_sum (28) +
/// out_valid (1) = 57; it is one flat module, so every cell is `control`.
#[test]
fn handwritten_mac_same_flow() {
    let out = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let params: Vec<String> = ["W=6", "M=0", "Z=1", "S=28"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let d = Design::from_rtl(
        &[root.join("testbenches/handwritten_fpec_mac.v")],
        "handwritten_fpec_mac",
        &params,
    )
    .unwrap();
    let r = synthesize(&d, out.path(), &SynthOptions::default()).unwrap();
    assert_eq!(r.cells_by_type.get("$_DFF_P_"), Some(&57));
    assert_eq!(r.cells_by_block.len(), 1);
    let script = std::fs::read_to_string(out.path().join("synth/synth.ys")).unwrap();
    assert!(
        script.contains("chparam -set W 6 -set M 0 -set Z 1 -set S 28 handwritten_fpec_mac"),
        "{script}"
    );
    // A different S changes the flop count: 2 * 30 + 1.
    let params: Vec<String> = ["W=6", "M=0", "Z=1", "S=30"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let d = Design::from_rtl(
        &[root.join("testbenches/handwritten_fpec_mac.v")],
        "handwritten_fpec_mac",
        &params,
    )
    .unwrap();
    let r = synthesize(&d, out.path(), &SynthOptions::default()).unwrap();
    assert_eq!(r.cells_by_type.get("$_DFF_P_"), Some(&61));
}

#[test]
fn bad_param_is_a_usage_error() {
    let out = tempfile::tempdir().unwrap();
    let o = crate::common::fpec()
        .arg("synth")
        .arg(out.path())
        .arg("--rtl")
        .arg(data("small/add4.v"))
        .args(["--top", "add4", "--param", "W"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("NAME=VALUE"));
}

/// A generated configuration (`fpec::gen`): its hierarchy gives the
/// multiplier, compensation and accumulator blocks their own cells, and an
/// FxP configuration has no compensation block at all.
#[test]
fn generated_config_blocks() {
    let out = tempfile::tempdir().unwrap();
    for (bits, comp) in [("4+2", true), ("4+0", false)] {
        let dir = out.path().join(bits);
        let split = fpec::format::Split::parse(bits).unwrap();
        fpec::gen::generate(&fpec::gen::GenRequest::mac(split, 16), &dir).unwrap();
        let d = Design::from_dir(&dir).unwrap();
        let r = synthesize(&d, &dir, &SynthOptions::default()).unwrap();
        let n = |b: &str| r.cells_by_block.get(b).copied().unwrap_or(0);
        assert!(n("multiplier") > 0, "{bits}: {:?}", r.cells_by_block);
        assert!(n("accumulator") > 0, "{bits}: {:?}", r.cells_by_block);
        assert_eq!(
            n("compensation") > 0,
            comp,
            "{bits}: {:?}",
            r.cells_by_block
        );
    }
}
