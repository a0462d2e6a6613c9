//! `fpec verify --rtl` on the hand-written MAC under the real Verilator and
//! Icarus, for several (W, M, Z), plus exhaustive runs, a manifest-described
//! run and the exit-2 flag checks. Verilator builds are cached in the
//! suite's one cache (`common::CACHE`).

use fpec::format::{Comp, Split};
use fpec::manifest::min_sum_width;
use std::process::Output;
use std::sync::Mutex;

/// Serialize the tool runs: the machine has 2 cores.
static LOCK: Mutex<()> = Mutex::new(());
const MAC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testbenches/handwritten_fpec_mac.v"
);

const REQUANT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testbenches/handwritten_fpec_requant.v"
);

/// The `requant` object for the hand-written requantizer: 4+3 output
/// (M = 1, Z = 1, T = 4), ReLU, S = 20, k = `k`.
fn requant(k: i32) -> serde_json::Value {
    serde_json::json!({
        "top": "handwritten_fpec_requant", "bits": "4+3", "W": 4, "M": 1, "Z": 1,
        "C": 3, "N": 7, "T": 4, "fb_shift": k, "relu": true, "in_width": 20,
        "out_width": 7, "files": ["rq.v"],
        "params": {"S": 20, "K": k, "RELU": 1, "WO": 4, "MO": 1, "ZO": 1, "FXP": 0, "TO": 4}
    })
}

fn fpec(args: &[String]) -> Output {
    crate::common::fpec()
        .args(args)
        .output()
        .expect("cannot start fpec")
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Arguments for the hand-written MAC with (W, M, Z), Lmax and S = the
/// smallest width that holds every sum.
fn mac_args(rtl: &str, w: u32, m: u32, z: bool, lmax: u64, out: &str) -> Vec<String> {
    let split = Split::new(w, Some(Comp::new(m, z).unwrap())).unwrap();
    let s = min_sum_width(&split, lmax);
    let mut emb_flags = vec![];
    if !z {
        emb_flags.push("--no-ezb".to_string());
    }
    emb_flags.push("--emb".to_string());
    emb_flags.push(m.to_string());
    let mut v: Vec<String> = vec![
        "verify".into(),
        "--rtl".into(),
        rtl.into(),
        "--top".into(),
        "handwritten_fpec_mac".into(),
        "--bits".into(),
        format!("{w}+{}", split.c()),
        "--max-len".into(),
        lmax.to_string(),
        "--latency".into(),
        "1".into(),
        "--sum-width".into(),
        s.to_string(),
        "--param".into(),
        format!("W={w}"),
        "--param".into(),
        format!("M={m}"),
        "--param".into(),
        format!("Z={}", z as u32),
        "--param".into(),
        format!("S={s}"),
        "--out".into(),
        out.into(),
        "--cache".into(),
        crate::common::CACHE.into(),
    ];
    v.extend(emb_flags);
    v
}

fn extra(mut v: Vec<String>, more: &[&str]) -> Vec<String> {
    v.extend(more.iter().map(|s| s.to_string()));
    v
}

fn check_pass(args: Vec<String>, backends: &[&str]) {
    let o = fpec(&args);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "fpec {args:?} failed:\n{t}");
    assert!(t.contains("seed "), "{t}");
    for b in backends {
        let line = t
            .lines()
            .find(|l| l.starts_with(&format!("{b}: ")))
            .unwrap_or_else(|| panic!("no summary for {b}:\n{t}"));
        assert!(line.contains(" 0 mismatches"), "{line}");
        assert!(!line.starts_with(&format!("{b}: 0 dot products")), "{line}");
    }
}

#[test]
fn handwritten_mac_passes_on_verilator_and_icarus() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_string_lossy().to_string();
    // (W, M, Z, Lmax, vectors): canonical 6+2 at the default Lmax, FxP-like
    // (Z = 0, M = 0), M = 1 and 2, the extremes W = 2 and W = 16.
    let configs: &[(u32, u32, bool, u64, u64)] = &[
        (6, 0, true, 4096, 60),
        (5, 0, false, 128, 150),
        (4, 1, true, 64, 150),
        (8, 2, true, 256, 150),
        (2, 0, false, 16, 150),
        (16, 2, true, 4096, 40),
    ];
    for &(w, m, z, lmax, n) in configs {
        let args = extra(
            mac_args(MAC, w, m, z, lmax, &out),
            &[
                "--backend",
                "all",
                "--vectors",
                &n.to_string(),
                "--seed",
                "11",
            ],
        );
        check_pass(args, &["verilator", "icarus"]);
    }
    // More vectors on Verilator only (cheap there).
    let args = extra(
        mac_args(MAC, 6, 0, true, 4096, &out),
        &[
            "--backend",
            "verilator",
            "--vectors",
            "3000",
            "--seed",
            "12",
        ],
    );
    check_pass(args, &["verilator"]);
}

#[test]
fn handwritten_mac_exhaustive() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_string_lossy().to_string();
    // 6+2: 2^16 word pairs on both simulators.
    let args = extra(
        mac_args(MAC, 6, 0, true, 4096, &out),
        &["--backend", "all", "--exhaustive"],
    );
    let o = fpec(&args);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("verilator: 65536 dot products, 65536 pairs, 0 mismatches"),
        "{t}"
    );
    assert!(
        t.contains("icarus: 65536 dot products, 65536 pairs, 0 mismatches"),
        "{t}"
    );
    // 8+4 (N = 12): 2^24 pairs on Verilator.
    let args = extra(
        mac_args(MAC, 8, 2, true, 4096, &out),
        &["--backend", "verilator", "--exhaustive"],
    );
    let o = fpec(&args);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("verilator: 16777216 dot products, 16777216 pairs, 0 mismatches"),
        "{t}"
    );
}

#[test]
fn manifest_described_rtl_and_generated_dir() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let gen = dir.path().join("gen");
    std::fs::create_dir_all(&gen).unwrap();
    std::fs::copy(MAC, gen.join("mac.v")).unwrap();
    std::fs::copy(REQUANT, gen.join("rq.v")).unwrap();
    // A folder shaped like `fpec gen` output (4+3: M = 1, Z = 1).
    let manifest = serde_json::json!({
        "generator": "hand", "format": "fpec", "top": "handwritten_fpec_mac",
        "bits": "4+3", "W": 4, "M": 1, "Z": 1, "C": 3, "G": 3, "N": 7,
        "max_len": 100, "sum_width": 20, "latency": 1, "files": ["mac.v"],
        "params": {"W": 4, "M": 1, "Z": 1, "S": 20},
        "requant": requant(7)
    });
    std::fs::write(gen.join("manifest.json"), manifest.to_string()).unwrap();
    let out = dir.path().join("out").to_string_lossy().to_string();
    let args: Vec<String> = [
        "verify",
        gen.to_str().unwrap(),
        "--backend",
        "all",
        "--vectors",
        "200",
        "--seed",
        "5",
        "--out",
        &out,
        "--cache",
        crate::common::CACHE,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let o = fpec(&args);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("rust-sim: skipped") || t.contains("rust-sim: 200 dot products"),
        "{t}"
    );
    // --rtl with --manifest.
    let args: Vec<String> = [
        "verify",
        "--rtl",
        gen.join("mac.v").to_str().unwrap(),
        "--top",
        "handwritten_fpec_mac",
        "--manifest",
        gen.join("manifest.json").to_str().unwrap(),
        "--backend",
        "verilator",
        "--vectors",
        "500",
        "--out",
        &out,
        "--cache",
        crate::common::CACHE,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let o = fpec(&args);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("verilator: 500 dot products"), "{t}");
}

#[test]
fn bad_flags_exit_2_with_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_string_lossy().to_string();
    let base = mac_args(MAC, 6, 0, true, 4096, &out);
    let cases: &[(&[&str], &[&str])] = &[
        (&["--vectors", "0"], &["--vectors 0", "1..=10000000"]),
        (
            &["--backend", "modelsim"],
            &["modelsim", "verilator, icarus, rust-sim, all"],
        ),
        (&["--latency", "0"], &["--latency 0", "1..=64"]),
        (&["--max-len", "0"], &["--max-len 0", "1..=16777216"]),
        (&["--param", "W6"], &["W6", "NAME=VALUE"]),
    ];
    for (more, needles) in cases {
        // Drop the base value of a flag the case overrides.
        let mut args: Vec<String> = Vec::new();
        let mut i = 0;
        while i < base.len() {
            if more[0] != "--param" && base[i] == more[0] {
                i += 2;
                continue;
            }
            args.push(base[i].clone());
            i += 1;
        }
        let args = extra(args, more);
        let o = fpec(&args);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{more:?}: {t}");
        for n in *needles {
            assert!(t.contains(n), "{more:?}: '{n}' not in {t}");
        }
    }
    // --exhaustive needs W <= 8.
    let args = extra(mac_args(MAC, 16, 0, true, 16, &out), &["--exhaustive"]);
    let o = fpec(&args);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("W = 16") && t.contains("2..=8"), "{t}");
}
