//! A small sharded regression through GNU parallel
//! (`scripts/regress-parallel.sh`, which really invokes `parallel`) merges
//! to exactly the totals of the unsharded run; a lost shard is reported by
//! number and a rerun of just that shard completes the set. Fails (does not
//! skip) when GNU parallel is missing: `bash scripts/bootstrap.sh` installs it.

use crate::common::fpec_text as fpec;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const ARGS: &[&str] = &[
    "--config",
    "3+1-fused",
    "--config",
    "2+0-fxp",
    "--pairs",
    "3000",
    "--chunk-pairs",
    "1000",
    "--max-len",
    "16",
    "--sample-products",
    "2",
    "--seed",
    "9",
];

/// Pairs, mismatches, seeds and per-backend counts per configuration.
fn totals(dir: &Path) -> Value {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("regress.json")).unwrap()).unwrap();
    let configs: Vec<Value> = v["configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let b: Vec<Value> = c["backends"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, b)| serde_json::json!([k, b["products"], b["pairs"], b["mismatches"]]))
                .collect();
            serde_json::json!([
                c["config"],
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

#[test]
fn gnu_parallel_shards_merge_to_the_unsharded_totals() {
    let st = Command::new("parallel").arg("--version").output();
    assert!(
        st.as_ref()
            .is_ok_and(|o| o.status.success()
                && String::from_utf8_lossy(&o.stdout).contains("GNU parallel")),
        "GNU parallel is missing: run bash scripts/bootstrap.sh"
    );
    let d = tempfile::tempdir().unwrap();
    let one = d.path().join("one");
    let many = d.path().join("many");

    let mut a = vec!["regress", "--out", one.to_str().unwrap()];
    a.extend_from_slice(ARGS);
    let (rc, t) = fpec(&a);
    assert_eq!(rc, 0, "{t}");
    let whole = totals(&one);
    for c in whole["configs"].as_array().unwrap() {
        assert!(c[2].as_u64().unwrap() >= 3000, "budget not met: {c}");
        assert_eq!(c[1], 4, "a sample and 3 chunks of 1000 pairs: {c}");
    }

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/regress-parallel.sh");
    let o = Command::new("bash")
        .arg(script)
        .args(["-n", "3", "-j", "2", "-o", many.to_str().unwrap(), "--"])
        .args(ARGS)
        .env("FPEC", env!("CARGO_BIN_EXE_fpec"))
        .env("FPEC_CACHE", crate::common::CACHE)
        .output()
        .unwrap();
    let t = format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{t}");
    assert!(t.contains("regress merge: 3 shards"), "{t}");
    assert!(many.join("parallel-joblog").is_file());
    assert_eq!(
        totals(&many),
        whole,
        "merged shards differ from the unsharded run"
    );

    // A lost shard: the merge names it; rerunning that shard alone completes it.
    std::fs::remove_file(many.join("shard-1-of-3.json")).unwrap();
    std::fs::remove_file(many.join("regress.json")).unwrap();
    let (rc, t) = fpec(&["regress", "merge", many.to_str().unwrap()]);
    assert_eq!(rc, 2, "{t}");
    assert!(t.contains("missing: 1/3"), "{t}");
    let mut a = vec!["regress", "--shard", "1/3", "--out", many.to_str().unwrap()];
    a.extend_from_slice(ARGS);
    let (rc, t) = fpec(&a);
    assert_eq!(rc, 0, "{t}");
    let (rc, t) = fpec(&["regress", "merge", many.to_str().unwrap()]);
    assert_eq!(rc, 0, "{t}");
    assert_eq!(totals(&many), whole);
}
