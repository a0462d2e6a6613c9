//! FPEC-Opt with the analytic test double, reports, and CLI errors.

use fpec::dnn::data::{default_digits_path, load_digits};
use fpec::dnn::model::Model;
use fpec::dnn::opt::{
    run_opt, sweep_splits, write_reports, AnalyticTestDouble, MacEnergy, OptOptions,
};
use fpec::format::Split;

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn sweep_has_every_config() {
    let s = sweep_splits().unwrap();
    assert_eq!(s.len(), 13 + 6 * 4);
    assert!(s.contains(&Split::parse("8+0").unwrap()));
    assert!(s.contains(&Split::parse("16+0").unwrap()));
    assert!(s.contains(&Split::parse("3+4").unwrap()));
}

#[test]
fn test_double_energy() {
    // 8+0: 64 + 0; 4+2 with half the pairs sparse: 16 + 0.5*2*4 = 20.
    let e = AnalyticTestDouble;
    assert_eq!(
        e.energy_fj_per_mac(&Split::parse("8+0").unwrap(), &[vec![(1, 1)]])
            .unwrap(),
        64.0
    );
    // 4+2 words: ezb is bit 1. (2,2) both ezb; (2,0) not.
    let v = e
        .energy_fj_per_mac(&Split::parse("4+2").unwrap(), &[vec![(2, 2)], vec![(2, 0)]])
        .unwrap();
    assert_eq!(v, 20.0);
}

#[test]
fn opt_sweep_with_test_double() {
    let d = load_digits(&default_digits_path()).unwrap().split();
    let m = Model::load(&root().join("models/digits-mlp.json")).unwrap();
    let (cal, test) = (d.calibration.take(60), d.test.take(60));
    let r = run_opt(
        &m,
        &cal,
        &test,
        &AnalyticTestDouble,
        &OptOptions {
            budget: 2.0,
            activity_images: 2,
            progress: false,
        },
    )
    .unwrap();
    assert_eq!(r.configs.len(), 37);
    assert!(r.energy_model.contains("TEST DOUBLE"));
    // FxP 16 costs 16^2 = 256 per MAC in the double; the MLP has 2368 MACs.
    let f16 = r.fxp16.as_ref().unwrap();
    assert_eq!(f16.energy_fj_per_inference, 256.0 * 2368.0);
    // Thresholds only move for Z = 1 configs; FxP has none.
    for c in &r.configs {
        if c.fxp || c.bits.ends_with("+1") {
            assert!(
                c.layers.iter().all(|l| l.t_w == 0 && l.t_a == 0),
                "{}",
                c.bits
            );
            assert_eq!(c.sparsity, 0.0);
        }
        assert!(
            c.calibration_accuracy >= r.float_calibration_accuracy - 2.0
                || c.layers.iter().all(|l| l.t_w == 0 && l.t_a == 0)
        );
    }
    let best = r.best_fpec.as_ref().unwrap();
    let ratio = r.ratio_vs_fxp16.unwrap();
    assert!((ratio - best.energy_fj_per_inference / f16.energy_fj_per_inference).abs() < 1e-12);
    assert!(r.configs.iter().any(|c| c.pareto));
    let dir = tempfile::tempdir().unwrap();
    write_reports(&r, "digits-mlp.json", dir.path()).unwrap();
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("dnn-report.json")).unwrap())
            .unwrap();
    for k in [
        "float_accuracy",
        "budget",
        "configs",
        "best_fpec",
        "best_fxp",
        "fxp8",
        "fxp16",
        "ratio_vs_fxp8",
        "ratio_vs_fxp16",
    ] {
        assert!(j.get(k).is_some(), "missing key {k}");
    }
    for k in ["bits", "accuracy", "energy_fj_per_inference", "sparsity"] {
        assert!(j["configs"][0].get(k).is_some(), "missing config key {k}");
    }
    let svg = std::fs::read_to_string(dir.path().join("dnn-report.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(
        svg.contains("TEST DOUBLE"),
        "the plot must say its energy model"
    );
    assert!(std::fs::read_to_string(dir.path().join("dnn-report.md"))
        .unwrap()
        .contains("TEST DOUBLE"));
}

/// The synthesis-based energy model: a layer whose pairs are all sparse
/// (both ezb = 1) costs less per MAC than the same q values with dense
/// compensation, and both are positive.
#[test]
fn synth_energy_model_sees_sparsity() {
    for arch in fpec::gen::Arch::ALL {
        sparsity_is_cheaper(arch);
    }
}

fn sparsity_is_cheaper(arch: fpec::gen::Arch) {
    use fpec::dnn::opt::MacEnergy;
    let dir = tempfile::tempdir().unwrap();
    let e = fpec::dnn::energy_model::SynthMacEnergy::new(dir.path(), arch).unwrap();
    let split = fpec::format::Split::parse("3+2").unwrap();
    // 3+2 words: q[2:0] ezb edb. Dense: ezb = 0; sparse: ezb = 1 on both.
    let mut dense = Vec::new();
    let mut sparse = Vec::new();
    for d in 0..16u32 {
        let mut dd = Vec::new();
        let mut ss = Vec::new();
        for i in 0..16u32 {
            let (qw, qa) = ((d * 5 + i * 3) % 8, (d * 7 + i) % 8);
            let edb = (d + i) % 2;
            dd.push(((qw << 2) | edb, (qa << 2) | (1 - edb)));
            ss.push(((qw << 2) | 2 | edb, (qa << 2) | 2 | (1 - edb)));
        }
        dense.push(dd);
        sparse.push(ss);
    }
    let ed = e.energy_fj_per_mac(&split, &dense).unwrap();
    let es = e.energy_fj_per_mac(&split, &sparse).unwrap();
    assert!(ed > 0.0 && es > 0.0, "{ed} {es}");
    assert!(
        es < ed,
        "sparse {es} fJ/MAC must be below dense {ed} fJ/MAC"
    );
}

#[test]
fn cli_verify_layer_bad_layer_and_eval_json() {
    let out = crate::common::fpec()
        .args([
            "dnn",
            "verify-layer",
            "--layer",
            "5",
            "--bits",
            "6+2",
            "--model",
        ])
        .arg(root().join("models/digits-mlp.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("layer 5 does not exist"));
    let out = crate::common::fpec()
        .args(["dnn", "eval", "--bits", "16+0", "--json", "--model"])
        .arg(root().join("models/digits-mlp.json"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["samples"], 355);
    assert_eq!(j["macs_per_inference"], 64 * 32 + 32 * 10);
    let out = crate::common::fpec()
        .args([
            "dnn",
            "eval",
            "--bits",
            "6+2",
            "--model",
            "/nonexistent.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.json"));
}
