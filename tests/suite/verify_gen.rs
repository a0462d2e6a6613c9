//! `fpec gen` output verified by `fpec verify DIR` on every backend
//! (Verilator, Icarus, rust-sim) and the requantizer check.

fn fpec(args: &[&str]) -> (i32, String) {
    let o = crate::common::fpec().args(args).output().unwrap();
    let t = format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap_or(-1), t)
}

#[test]
fn generated_designs_pass_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    let cache = crate::common::CACHE;
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--bits",
                "6+2",
                "--requant-bits",
                "4+2",
                "--shift",
                "8",
                "--relu",
            ],
            "30",
        ),
        (&["--bits", "8+0", "--max-len", "256"], "60"),
        (&["--bits", "4+4", "--max-len", "64"], "60"),
    ];
    for (i, (gen, vectors)) in cases.iter().enumerate() {
        let g = dir.path().join(format!("g{i}"));
        let mut args = vec!["gen", "--out", g.to_str().unwrap()];
        args.extend_from_slice(gen);
        let (rc, t) = fpec(&args);
        assert_eq!(rc, 0, "fpec gen {gen:?}: {t}");
        let out = dir.path().join(format!("o{i}"));
        let (rc, t) = fpec(&[
            "verify",
            g.to_str().unwrap(),
            "--backend",
            "all",
            "--vectors",
            vectors,
            "--seed",
            "21",
            "--out",
            out.to_str().unwrap(),
            "--cache",
            cache,
        ]);
        assert_eq!(rc, 0, "fpec verify {gen:?}: {t}");
        for b in ["verilator", "icarus", "rust-sim"] {
            let line = t
                .lines()
                .find(|l| l.starts_with(&format!("{b}: ")))
                .unwrap_or_else(|| panic!("no {b} line: {t}"));
            assert!(
                line.contains(&format!("{b}: {vectors} dot products"))
                    && line.contains(" 0 mismatches"),
                "{line}"
            );
        }
        if gen.contains(&"--requant-bits") {
            assert!(
                t.contains("requant fpec_requant: ") && t.contains("values"),
                "{t}"
            );
        }
    }
}

/// 4+2 exhaustive (2^12 pairs) on all three backends, in both archs (its
/// own test, so the harness runs it beside the one above).
#[test]
fn exhaustive_4_2_in_both_archs() {
    let dir = tempfile::tempdir().unwrap();
    let cache = crate::common::CACHE;
    for arch in ["fused", "split"] {
        let g = dir.path().join(format!("gx-{arch}"));
        let (rc, t) = fpec(&[
            "gen",
            "--out",
            g.to_str().unwrap(),
            "--bits",
            "4+2",
            "--max-len",
            "16",
            "--arch",
            arch,
        ]);
        assert_eq!(rc, 0, "{t}");
        let out = dir.path().join(format!("ox-{arch}"));
        let (rc, t) = fpec(&[
            "verify",
            g.to_str().unwrap(),
            "--exhaustive",
            "--out",
            out.to_str().unwrap(),
            "--cache",
            cache,
        ]);
        assert_eq!(rc, 0, "{t}");
        assert_eq!(
            t.matches("4096 dot products, 4096 pairs, 0 mismatches")
                .count(),
            3,
            "{arch}: {t}"
        );
    }
}
