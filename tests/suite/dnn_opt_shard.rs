//! `fpec dnn opt --shard K/N` and `fpec dnn opt-merge`: the merged report
//! equals the unsharded one (layer list and graph search), and a missing,
//! duplicated, foreign or mismatched shard is refused with nothing written.

use std::path::Path;
use std::process::Output;

const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/digits-mlp.json");

fn run(args: &[&str]) -> Output {
    crate::common::fpec().args(args).output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn assert_usage(o: &Output, needles: &[&str]) {
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "expected exit 2: {e}");
    let lines: Vec<&str> = e.lines().filter(|l| !l.starts_with("WARNING")).collect();
    assert_eq!(lines.len(), 1, "one line expected: {e}");
    for n in needles {
        assert!(e.contains(n), "'{n}' not in: {e}");
    }
}

/// `fpec dnn opt` on the digits MLP with the test double, small sets
/// (`--limit 80 --budget 2` unless `extra` gives them).
fn opt(extra: &[&str], out: &Path) -> Output {
    let mut a = vec![
        "dnn",
        "opt",
        "--model",
        MODEL,
        "--test-double-energy",
        "--activity-images",
        "2",
        "--out",
        s(out),
    ];
    a.extend_from_slice(extra);
    for d in [["--limit", "80"], ["--budget", "2"]] {
        if !extra.contains(&d[0]) {
            a.extend_from_slice(&d);
        }
    }
    run(&a)
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Runs the search unsharded and in 3 shards, merges, compares.
fn merged_equals_unsharded(t: &Path, extra: &[&str]) {
    let (u, sh, m) = (t.join("u"), t.join("sh"), t.join("m"));
    ok(&opt(extra, &u));
    for k in 0..3 {
        let spec = format!("{k}/3");
        let mut e = extra.to_vec();
        e.extend_from_slice(&["--shard", &spec]);
        let o = opt(&e, &sh);
        ok(&o);
        let line = String::from_utf8_lossy(&o.stdout);
        assert!(
            line.contains(&format!("dnn-opt-shard-{k}-of-3.json")) && line.contains("opt-merge"),
            "{line}"
        );
    }
    assert!(
        !sh.join("dnn-report.json").exists(),
        "a shard wrote a report"
    );
    let v = json(&sh.join("dnn-opt-shard-1-of-3.json"));
    assert_eq!(v["format"], "fpec-dnn-opt-shard");
    assert_eq!(v["version"], 1);
    assert_eq!(v["model"], "digits-mlp.json");
    assert_eq!(v["shard"], serde_json::json!([1, 3]));
    ok(&run(&["dnn", "opt-merge", "--out", s(&m), s(&sh)]));
    let (want, got) = (
        json(&u.join("dnn-report.json")),
        json(&m.join("dnn-report.json")),
    );
    assert_eq!(got["configs"], want["configs"]);
    for k in [
        "best_fpec",
        "best_fxp",
        "ratio_vs_fxp8",
        "ratio_vs_best_fxp",
    ] {
        assert_eq!(got[k], want[k], "{k}");
    }
    assert_eq!(got, want);
    for f in ["dnn-report.md", "dnn-report.svg"] {
        assert_eq!(
            std::fs::read(u.join(f)).unwrap(),
            std::fs::read(m.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn merged_shards_equal_the_layer_engine_run() {
    // A layer list with max-abs calibration: unsharded, the layer engine;
    // its shards, the graph engine with the layer engine's search.
    let t = tempfile::tempdir().unwrap();
    merged_equals_unsharded(t.path(), &[]);
}

#[test]
fn merged_shards_equal_the_graph_search() {
    let t = tempfile::tempdir().unwrap();
    merged_equals_unsharded(
        t.path(),
        &[
            "--calib-method",
            "mse",
            "--tune-images",
            "30",
            "--early-images",
            "40",
        ],
    );
    let r = json(&t.path().join("m/dnn-report.json"));
    assert!(r["calibration"].as_str().unwrap().contains("by mse"), "{r}");
}

#[test]
fn bad_shards_are_refused_and_nothing_is_written() {
    let t = tempfile::tempdir().unwrap();
    let (sh, m) = (t.path().join("sh"), t.path().join("m"));
    for bad in ["3/2", "0/0", "x", "1/", "-1/2"] {
        let o = opt(&["--shard", bad], &t.path().join("e"));
        assert_usage(&o, &["--shard", bad, "allowed"]);
    }
    assert!(!t.path().join("e").exists());
    for k in ["0/2", "1/2"] {
        ok(&opt(&["--shard", k, "--limit", "40"], &sh));
    }
    let s0 = sh.join("dnn-opt-shard-0-of-2.json");
    let s1 = sh.join("dnn-opt-shard-1-of-2.json");
    let merge = |inputs: &[&Path]| {
        let mut a = vec!["dnn", "opt-merge", "--out", s(&m)];
        a.extend(inputs.iter().map(|p| s(p)));
        run(&a)
    };
    assert_usage(&merge(&[&s0]), &["missing", "1/2"]);
    let dup = t.path().join("dup");
    std::fs::create_dir_all(&dup).unwrap();
    std::fs::copy(&s0, dup.join("dnn-opt-shard-0-of-2.json")).unwrap();
    assert_usage(&merge(&[&sh, &dup]), &["0/2", "twice"]);
    // Foreign files: an unsharded report, other JSON, a truncated shard.
    ok(&opt(&["--limit", "40"], &t.path().join("u")));
    let report = t.path().join("u/dnn-report.json");
    assert_usage(
        &merge(&[&s0, &report]),
        &["dnn-report.json", "not a complete"],
    );
    let other = t.path().join("other.json");
    std::fs::write(
        &other,
        "{\"format\": \"fpec-dnn-opt-shard\", \"version\": 7}",
    )
    .unwrap();
    assert_usage(&merge(&[&s0, &other]), &["other.json"]);
    let cut = t.path().join("cut.json");
    let text = std::fs::read_to_string(&s1).unwrap();
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    assert_usage(&merge(&[&s0, &cut]), &["cut.json", "not a complete"]);
    // A shard of another search (another budget).
    let b = t.path().join("b");
    ok(&opt(
        &["--shard", "1/2", "--limit", "40", "--budget", "1"],
        &b,
    ));
    assert_usage(
        &merge(&[&s0, &b.join("dnn-opt-shard-1-of-2.json")]),
        &["different searches"],
    );
    assert!(!m.exists(), "a refused merge wrote {}", m.display());
    // The whole set merges; a report fpec did not write is not overwritten.
    ok(&merge(&[&sh]));
    std::fs::write(m.join("dnn-report.md"), "mine\n").unwrap();
    assert_usage(&merge(&[&sh]), &["dnn-report.md", "fpec did not write"]);
    assert_eq!(
        std::fs::read_to_string(m.join("dnn-report.md")).unwrap(),
        "mine\n"
    );
}
