//! `fpec flow --shard` / `fpec flow merge` bad input: exit 2 with one line,
//! nothing written (the sharded sweep itself is measured in BENCHMARKS.md;
//! it costs minutes of synthesis).

fn fpec(args: &[&str]) -> (i32, String, String) {
    let o = crate::common::fpec().args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn bad_shards_and_merges_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("flow");
    let o = out.to_str().unwrap();
    for spec in ["3/2", "0/0", "x"] {
        let (rc, so, se) = fpec(&["flow", "--bits", "3+2", "--shard", spec, "--out", o]);
        assert_eq!(rc, 2, "--shard {spec}: {so}{se}");
        assert!(se.contains("--shard") && se.lines().count() == 1, "{se}");
        assert!(!out.exists(), "--shard {spec} wrote {o}");
    }
    // An empty folder, then a truncated shard file.
    std::fs::create_dir_all(d.path().join("sh")).unwrap();
    let sh = d.path().join("sh");
    let (rc, _, se) = fpec(&["flow", "merge", sh.to_str().unwrap()]);
    assert_eq!(rc, 2, "{se}");
    assert!(se.contains("no flow shard result"), "{se}");
    std::fs::write(
        sh.join("flow-shard-0-of-2.json"),
        "{\"format\": 1, \"spec\": {",
    )
    .unwrap();
    let (rc, _, se) = fpec(&["flow", "merge", sh.to_str().unwrap()]);
    assert_eq!(rc, 2, "{se}");
    assert!(se.contains("not a complete flow shard result"), "{se}");
    assert!(!sh.join("summary.md").exists());
}
