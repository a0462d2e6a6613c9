//! A sweep of generated configurations (small, large, FxP, every (M, Z),
//! Lmax 1 and 65536) through `fpec gen` and `fpec verify --backend all`:
//! Verilator, Icarus and rust-sim against the golden model on one seeded
//! stimulus each.

#[test]
fn sweep_of_configurations_on_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    let cache = crate::common::CACHE;
    let cases: &[&[&str]] = &[
        &["--bits", "2+2"],
        &["--bits", "2+0"],
        &["--bits", "3+1"],
        &["--bits", "5+3"],
        &["--bits", "6+2", "--emb", "1", "--no-ezb"],
        &["--bits", "7+3", "--emb", "2", "--no-ezb"],
        &["--bits", "8+4", "--max-len", "65536"],
        &["--bits", "12+1", "--max-len", "1"],
        &["--bits", "16+4"],
        &["--bits", "16+0", "--max-len", "100"],
        // The split arch (fused is the default above).
        &["--bits", "2+2", "--arch", "split"],
        &["--bits", "5+3", "--arch", "split"],
        &["--bits", "7+3", "--emb", "2", "--no-ezb", "--arch", "split"],
        &["--bits", "16+4", "--max-len", "65536", "--arch", "split"],
        &["--bits", "3+1", "--max-len", "1", "--arch", "split"],
    ];
    let seed = "1128";
    println!("seed {seed}");
    // Two workers (each case runs three simulators, mostly one core each).
    std::thread::scope(|sc| {
        for k in 0..2 {
            let dir = &dir;
            sc.spawn(move || {
                for (i, gen) in cases.iter().enumerate().skip(k).step_by(2) {
                    one_case(dir.path(), cache, seed, i, gen);
                }
            });
        }
    });
}

fn one_case(dir: &std::path::Path, cache: &str, seed: &str, i: usize, gen: &[&str]) {
    {
        let g = dir.join(format!("g{i}"));
        let o = crate::common::fpec()
            .args(["gen", "--out"])
            .arg(&g)
            .args(gen)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "gen {gen:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let o = crate::common::fpec()
            .arg("verify")
            .arg(&g)
            .args([
                "--backend",
                "all",
                "--vectors",
                "25",
                "--seed",
                seed,
                "--cache",
                cache,
                "--out",
            ])
            .arg(dir.join(format!("o{i}")))
            .output()
            .unwrap();
        let t = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "verify {gen:?}: {t}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        for b in ["verilator", "icarus", "rust-sim"] {
            let line = t
                .lines()
                .find(|l| l.starts_with(&format!("{b}: ")))
                .unwrap_or("");
            assert!(
                line.contains("25 dot products") && line.contains(" 0 mismatches"),
                "{gen:?} {b}: {t}"
            );
        }
    }
}
