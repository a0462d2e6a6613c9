//! `fpec regress`: bad input (exit 2, nothing written), sharded totals equal
//! the unsharded run's, the exhaustive walk checks every pair, and merge
//! refuses missing, duplicate, truncated and foreign shards. Tiny
//! configurations and budgets (Lmax 16), real Verilator/Icarus/rust-sim.

use crate::common::fpec_text as fpec;
use serde_json::Value;
use std::path::Path;

/// Two tiny configurations, exhaustive (N = 2 and N = 4), chunks of 64.
const PLAN: &[&str] = &[
    "regress",
    "--config",
    "2+0-fxp",
    "--config",
    "3+1-split",
    "--exhaustive",
    "--chunk-pairs",
    "64",
    "--max-len",
    "16",
    "--sample-products",
    "2",
];

/// The plan with seed 5 (or `--seed` given in `extra`).
fn run(extra: &[&str]) -> (i32, String) {
    let mut a: Vec<&str> = PLAN.to_vec();
    if !extra.contains(&"--seed") {
        a.extend_from_slice(&["--seed", "5"]);
    }
    a.extend_from_slice(extra);
    fpec(&a)
}

/// What must agree between two runs of one regression (no times, no paths).
fn totals(dir: &Path) -> Value {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("regress.json")).unwrap()).unwrap();
    let configs: Vec<Value> = v["configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let b: serde_json::Map<String, Value> = c["backends"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, b)| {
                    (
                        k.clone(),
                        serde_json::json!([b["products"], b["pairs"], b["mismatches"]]),
                    )
                })
                .collect();
            serde_json::json!([
                c["config"],
                c["mode"],
                c["units"],
                c["pairs"],
                c["products"],
                c["mismatches"],
                c["seeds"],
                b
            ])
        })
        .collect();
    serde_json::json!({"pairs": v["pairs"], "mismatches": v["mismatches"], "configs": configs})
}

fn one_line_error(t: &str) -> bool {
    let lines: Vec<&str> = t.lines().filter(|l| !l.trim().is_empty()).collect();
    lines.len() == 1 && lines[0].starts_with("error:")
}

#[test]
fn bad_shard_specs_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (spec, needle) in [
        ("3/2", "K = 3 is out of range (allowed 0..=1 for N = 2)"),
        ("0/0", "N = 0 is out of range (allowed 1..="),
        ("2/2", "K = 2 is out of range"),
        ("1", "not of the form K/N"),
        ("-1/2", "not of the form K/N"),
    ] {
        let out = dir.path().join("o");
        let (rc, t) = run(&["--shard", spec, "--out", out.to_str().unwrap()]);
        assert_eq!(rc, 2, "--shard {spec}: {t}");
        assert!(t.contains(needle), "--shard {spec}: {t}");
        assert!(one_line_error(&t), "--shard {spec}: not one line: {t}");
        assert!(!out.exists(), "--shard {spec} wrote {}", out.display());
    }
    let out = dir.path().join("o");
    for args in [
        &["--pairs", "0"][..],
        &["--pairs", "1.5"],
        &["--chunk-pairs", "0"],
        &["--config", "6+2-fxp"],
    ] {
        let mut a = vec!["regress", "--bits", "2+0", "--out", out.to_str().unwrap()];
        if args[0] == "--config" {
            a = vec!["regress", "--out", out.to_str().unwrap()];
        }
        a.extend_from_slice(args);
        let (rc, t) = fpec(&a);
        assert_eq!(rc, 2, "{args:?}: {t}");
        assert!(one_line_error(&t), "{args:?}: not one line: {t}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

#[test]
fn sharded_equals_unsharded_and_merge_refuses_incomplete_sets() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s);
    let s = |s: &str| p(s).to_str().unwrap().to_string();

    // Unsharded.
    let (rc, t) = run(&["--out", &s("all")]);
    assert_eq!(rc, 0, "{t}");
    assert!(t.contains("seed 5"), "the seed is printed: {t}");
    let whole = totals(&p("all"));
    // The walk checks every (w, a) pair twice (one-pair products, then
    // Lmax-long ones): 2 * 2^(2N) pairs, N = 2 and N = 4.
    let pairs: Vec<u64> = whole["configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[3].as_u64().unwrap())
        .collect();
    assert_eq!(pairs, [2 * 16, 2 * 256], "{whole}");
    assert_eq!(whole["mismatches"], 0, "{whole}");

    // Three shards into one folder, merged.
    for k in 0..3 {
        let (rc, t) = run(&["--shard", &format!("{k}/3"), "--out", &s("sh")]);
        assert_eq!(rc, 0, "shard {k}: {t}");
    }
    let (rc, t) = fpec(&["regress", "merge", &s("sh")]);
    assert_eq!(rc, 0, "{t}");
    assert_eq!(
        totals(&p("sh")),
        whole,
        "sharded totals differ from unsharded"
    );
    assert!(std::fs::read_to_string(p("sh").join("regress.md"))
        .unwrap()
        .contains("| 3+1-split | exhaustive |"));

    // Each bad set: exit 2, one line, no report written.
    let bad = |dirs: &[&str], needle: &str| {
        let out = p("merged-bad");
        let mut a = vec!["regress", "merge"];
        a.extend_from_slice(dirs);
        let o = out.to_str().unwrap().to_string();
        a.extend_from_slice(&["--out", &o]);
        let (rc, t) = fpec(&a);
        assert_eq!(rc, 2, "{dirs:?}: {t}");
        assert!(t.contains(needle), "{dirs:?}: {t}");
        assert!(one_line_error(&t), "{dirs:?}: not one line: {t}");
        assert!(!out.join("regress.md").exists() && !out.join("regress.json").exists());
    };
    // Missing shard.
    std::fs::create_dir_all(p("part")).unwrap();
    for k in [0, 2] {
        let f = format!("shard-{k}-of-3.json");
        std::fs::copy(p("sh").join(&f), p("part").join(&f)).unwrap();
    }
    bad(&[&s("part")], "1 of 3 shards missing: 1/3");
    // Duplicate shard (same K from two folders).
    bad(&[&s("sh"), &s("part")], "given twice");
    // Truncated result file.
    std::fs::create_dir_all(p("trunc")).unwrap();
    for k in 0..3 {
        let f = format!("shard-{k}-of-3.json");
        std::fs::copy(p("sh").join(&f), p("trunc").join(&f)).unwrap();
    }
    let f = p("trunc").join("shard-1-of-3.json");
    let text = std::fs::read(&f).unwrap();
    std::fs::write(&f, &text[..text.len() / 2]).unwrap();
    bad(&[&s("trunc")], "not a complete shard result");
    // A shard of another regression (other seed).
    let (rc, t) = run(&["--shard", "1/3", "--seed", "6", "--out", &s("other")]);
    assert_eq!(rc, 0, "{t}");
    bad(&[&s("part"), &s("other")], "different regressions");
    // Other shard count.
    let (rc, t) = run(&["--shard", "1/2", "--out", &s("two")]);
    assert_eq!(rc, 0, "{t}");
    bad(&[&s("part"), &s("two")], "of 3 shards");
}

/// A broken MAC (`$FPEC_REGRESS_MUTANT`: the generated Verilog of
/// `3+0-fxp` with `in_last` wired to the accumulator's `first`; editing
/// the cached design no longer works, issue 20) fails the regression with
/// exit 1, a report, and a reproduce command that fails the same way.
#[test]
fn broken_mac_fails_with_a_reproduce_command() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("r");
    let args = |out: &str| {
        vec![
            "regress".to_string(),
            "--config".into(),
            "3+0-fxp".into(),
            "--pairs".into(),
            "2000".into(),
            "--chunk-pairs".into(),
            "1000".into(),
            "--max-len".into(),
            "16".into(),
            "--sample-products".into(),
            "0".into(),
            "--seed".into(),
            "3".into(),
            "--out".into(),
            out.to_string(),
        ]
    };
    let o = out.to_str().unwrap();
    let a = args(o);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (rc, t) = fpec(&a);
    assert_eq!(rc, 0, "the generated MAC passes: {t}");
    let mutant = "3+0-fxp|fxp_mac.v|.first(in_first)|.first(in_last)";
    let fpec = |args: &[&str]| -> (i32, String) {
        let o = crate::common::fpec()
            .env("FPEC_REGRESS_MUTANT", mutant)
            .args(args)
            .output()
            .unwrap();
        let t = format!(
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        (o.status.code().unwrap_or(-1), t)
    };
    let (rc, t) = fpec(&a);
    assert_eq!(rc, 1, "the broken MAC must fail: {t}");
    assert!(t.contains("MISMATCH: backend verilator, seed "), "{t}");
    assert!(t.contains("mutated by $FPEC_REGRESS_MUTANT"), "{t}");
    let md = std::fs::read_to_string(out.join("regress.md")).unwrap();
    assert!(md.contains("## Failures"), "{md}");
    let j: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("regress.json")).unwrap()).unwrap();
    assert!(j["mismatches"].as_u64().unwrap() > 0);
    let repro = j["configs"][0]["failures"][0].as_str().unwrap().to_string();
    assert!(
        repro.starts_with("fpec regress --config 3+0-fxp --seed 3 "),
        "{repro}"
    );
    assert!(repro.contains(" --chunk 0 "), "{repro}");
    let report = j["configs"][0]["reports"][0].as_str().unwrap();
    assert!(std::path::Path::new(report).is_file(), "{report}");
    // The reproduce command, as printed, fails the same way.
    let words: Vec<&str> = repro.split_whitespace().skip(1).collect();
    let (rc, t2) = fpec(&words);
    assert_eq!(rc, 1, "{repro}: {t2}");
    let seed = j["configs"][0]["seeds"][0].as_u64().unwrap();
    assert!(
        t2.contains(&format!("MISMATCH: backend verilator, seed {seed}")),
        "{t2}"
    );
}
