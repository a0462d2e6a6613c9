//! `fpec energy` end to end (real Yosys, Verilator) and the library API
//! `fpec::energy::mac_energy`.

use fpec::energy::{mac_energy, Activity, Workload};
use std::path::{Path, PathBuf};

fn fixture() -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny_fpec");
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("cfg");
    std::fs::create_dir_all(&d).unwrap();
    for f in ["tmac.v", "manifest.json"] {
        std::fs::copy(src.join(f), d.join(f)).unwrap();
    }
    (t, d)
}

#[test]
fn energy_json_static_with_baselines() {
    let (_t, d) = fixture();
    let o = crate::common::fpec()
        .arg("energy")
        .arg(&d)
        .arg("--json")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // A hand-written manifest without `arch` is reported as arch unknown.
    assert_eq!(v["config"], "3+2 unknown");
    assert!(v["activity"].as_str().unwrap().starts_with("static"));
    assert!(v["workload"].is_string());
    assert!(v["yosys_version"].as_str().unwrap().starts_with("Yosys"));
    assert!(v["cells_by_type"]["$_DFF_P_"].as_u64().unwrap() > 0);
    assert!(v["cells_by_block"]["compensation"].as_u64().unwrap() > 0);
    let e = v["energy_fj_per_mac"].as_f64().unwrap();
    let b8 = v["baselines"]["fxp8"].as_f64().unwrap();
    let b16 = v["baselines"]["fxp16"].as_f64().unwrap();
    assert!(e > 0.0 && b8 > 0.0 && b16 > b8, "{e} {b8} {b16}");
    assert!((v["ratio_vs_fxp8"].as_f64().unwrap() - b8 / e).abs() < 1e-9);
    assert!((v["ratio_vs_fxp16"].as_f64().unwrap() - b16 / e).abs() < 1e-9);
    // Static 0.5 with the built-in table: every combinational cell costs half
    // its per-toggle energy and every $_DFF_P_ 4.42 fJ, so the total is
    // bounded by the cell count times the extreme per-cell figures.
    let cells: u64 = v["cells_by_type"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert!(e > cells as f64 * 0.43 && e < cells as f64 * 4.42);
    assert!(d.join("energy/energy.json").is_file());
    assert!(d.join("energy/fxp8/synth/stat.json").is_file());
}

#[test]
fn energy_bad_table_is_a_usage_error() {
    let (t, d) = fixture();
    let bad = t.path().join("table.toml");
    std::fs::write(&bad, "[meta]\nname = \"x\"\nunits = \"fJ\"\n[cells\n").unwrap();
    let o = crate::common::fpec()
        .arg("energy")
        .arg(&d)
        .arg("--energy-table")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("table.toml") && e.contains("line 4"), "{e}");
}

/// The library API on explicit operand pairs: the netlist is simulated and
/// its sums checked against the golden model inside `mac_energy`; all pairs
/// here have both ezb bits set, so the skipped share is exactly 1.
#[test]
fn mac_energy_on_explicit_pairs() {
    let (_t, d) = fixture();
    // 3+2 words: q << 2 | ezb << 1 | edb; ezb = 1 on both operands.
    let pairs: Vec<(u32, u32)> = (0..96u32)
        .map(|i| (((i % 8) << 2) | 2, (((i / 8) % 8) << 2) | 3))
        .collect();
    let r = mac_energy(
        &d,
        &Activity::Sim { seed: 7, macs: 96 },
        &Workload::Pairs { pairs, len: 12 },
    )
    .unwrap();
    assert_eq!(r.pairs_skipped_share, Some(1.0));
    assert_eq!(r.macs_simulated, Some(96));
    assert!(r.activity.starts_with("sim"));
    assert!(r.energy_fj_per_mac > 0.0);
    let sum: f64 = r.energy_by_block_fj.values().sum();
    assert!((sum - r.energy_fj_per_mac).abs() < 1e-9);
}

/// `fpec flow` as a sweep of two small configurations: per-configuration
/// reports with the three activity models next to FxP 8/16 and the hand-written
/// MAC, a summary table and the SVG plot.
#[test]
fn flow_sweep_reports() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("flow");
    let o = crate::common::fpec()
        .args([
            "flow",
            "--bits",
            "3..4+2",
            "--max-len",
            "16",
            "--vectors",
            "20",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    for bits in ["3+2", "4+2"] {
        let md = std::fs::read_to_string(out.join(bits).join("report.md")).unwrap();
        assert!(
            md.contains("## Energy per MAC") && md.contains("hand-written"),
            "{md}"
        );
        assert!(
            md.contains("static fJ/MAC") && md.contains("sim fJ/MAC"),
            "{md}"
        );
        let v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(bits).join("report.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(v["verify"]["mismatches"], 0);
        assert_eq!(v["lint_clean"], true);
        let rows = v["energy"].as_array().unwrap();
        let get = |name: &str, act: &str| {
            rows.iter()
                .find(|r| r["design"].as_str().unwrap().starts_with(name))
                .unwrap()[act]["energy_fj_per_mac"]
                .as_f64()
                .unwrap()
        };
        let (e, e8) = (get("generated", "sim"), get("FxP 8", "sim"));
        assert!((v["ratio_vs_fxp8"]["sim"].as_f64().unwrap() - e8 / e).abs() < 1e-9);
        // Unit-delay activity sees every zero-delay toggle plus glitches.
        for name in ["generated", "FxP 8", "FxP 16", "hand-written"] {
            let (z, g) = (get(name, "sim"), get(name, "glitch"));
            assert!(g > z, "{name}: glitch {g} <= sim {z}");
        }
        let (g, g16) = (get("generated", "glitch"), get("FxP 16", "glitch"));
        assert!((v["ratio_vs_fxp16"]["glitch"].as_f64().unwrap() - g16 / g).abs() < 1e-9);
        assert!(md.contains("glitch fJ/MAC"), "{md}");
    }
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        summary.contains("| 3+2 |") && summary.contains("| 4+2 |"),
        "{summary}"
    );
    let svg = std::fs::read_to_string(out.join("energy.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("FPEC +2"), "{svg}");
}
