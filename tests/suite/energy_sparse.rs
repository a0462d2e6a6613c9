//! The sparse mode under control (`--sparsity`, `--ezb-threshold` on
//! `fpec energy` and `fpec flow`): the workload holds exactly the share of
//! sparse pairs asked for, and bad values are one-line usage errors (exit
//! 2) naming the flag and the allowed range, before anything is written.

use fpec::energy::{skipped_share, Workload};
use fpec::format::Split;
use std::process::Output;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn run(args: &[&str]) -> Output {
    crate::common::fpec().args(args).output().unwrap()
}

fn assert_usage(o: &Output, needles: &[&str]) {
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "expected exit 2: {e}");
    assert_eq!(e.trim().lines().count(), 1, "one line expected: {e}");
    for n in needles {
        assert!(e.contains(n), "'{n}' not in: {e}");
    }
}

#[test]
fn the_workload_holds_exactly_the_share_asked_for() {
    let split = Split::parse("6+2").unwrap();
    for (s, want) in [
        (0.0, 0.0),
        (0.25, 0.25),
        (0.5, 0.5),
        (0.75, 0.75),
        (1.0, 1.0),
    ] {
        for seed in [1u64, 7] {
            let wl = Workload::DnnSparse {
                len: 64,
                sparsity: Some(s),
                ezb_threshold: None,
            };
            let d = wl.dot_products(&split, seed, 1024).unwrap();
            assert_eq!(d.len(), 16);
            let got = skipped_share(&split, &d).unwrap();
            assert_eq!(got, want, "sparsity {s}, seed {seed}");
        }
    }
    // Without --sparsity the threshold alone moves the share: T = 0 flags
    // only exact values (the ReLU zeros), T = 32 every value.
    let share = |t: u32| {
        let wl = Workload::DnnSparse {
            len: 64,
            sparsity: None,
            ezb_threshold: Some(t),
        };
        skipped_share(&split, &wl.dot_products(&split, 1, 4096).unwrap()).unwrap()
    };
    let (s0, s8, s32) = (share(0), share(8), share(32));
    assert!(s0 < s8 && s8 < s32, "{s0} {s8} {s32}");
    assert_eq!(s32, 1.0);
}

#[test]
fn bad_values_are_usage_errors() {
    let g62 = format!("{ROOT}/generated/6+2");
    let g8 = format!("{ROOT}/generated/8+0");
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("f");
    let out = out.to_str().unwrap();
    for (args, needles) in [
        (
            vec!["energy", &g62, "--activity", "sim", "--sparsity", "1.5"],
            vec!["--sparsity 1.5", "0..=1"],
        ),
        (
            vec!["energy", &g62, "--activity", "sim", "--sparsity", "-0.1"],
            vec!["--sparsity -0.1", "0..=1"],
        ),
        (
            vec![
                "energy",
                &g62,
                "--activity",
                "glitch",
                "--ezb-threshold",
                "33",
            ],
            vec!["--ezb-threshold 33", "0..=32"],
        ),
        (
            vec!["energy", &g62, "--activity", "sim", "--ezb-threshold", "-1"],
            vec!["--ezb-threshold -1", "0..=32"],
        ),
        (
            vec!["energy", &g8, "--activity", "sim", "--sparsity", "0.5"],
            vec!["--sparsity", "Z = 1", "8+0"],
        ),
        (
            vec!["energy", &g62, "--sparsity", "0.5"],
            vec!["--sparsity", "sim or glitch"],
        ),
        (
            vec!["flow", "--bits", "8+0", "--sparsity", "0.5", "--out", out],
            vec!["--sparsity", "Z = 1"],
        ),
        (
            vec!["flow", "--bits", "6+1", "--sparsity", "0.5", "--out", out],
            vec!["--sparsity", "Z = 1"],
        ),
        (
            vec!["flow", "--bits", "6+2", "--sparsity", "2", "--out", out],
            vec!["--sparsity 2", "0..=1"],
        ),
        (
            vec![
                "flow",
                "--bits",
                "6+2",
                "--ezb-threshold",
                "99",
                "--out",
                out,
            ],
            vec!["--ezb-threshold 99", "0..=32"],
        ),
    ] {
        let o = run(&args);
        assert_usage(&o, &needles);
    }
    assert!(!t.path().join("f").exists(), "flow wrote before checking");
    assert!(!std::path::Path::new(&g62).join("energy").exists());
}
