//! Deliberately broken copies of the hand-written MAC
//! (`testbenches/mutants/*.v`): `fpec verify --rtl` must fail on each with
//! exit code 1 and a spec-7 report naming the seed, the reproducing command
//! and a VCD.

use fpec::format::Split;
use fpec::manifest::min_sum_width;
use std::sync::Mutex;

static LOCK: Mutex<()> = Mutex::new(());

fn run_mutant(name: &str, backend: &str, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_string_lossy().to_string();
    let rtl = format!(
        "{}/testbenches/mutants/{name}.v",
        env!("CARGO_MANIFEST_DIR")
    );
    let split = Split::parse("6+2").unwrap();
    // The exact worst-case width: the narrow-accumulator mutant overflows
    // only for the extreme products at Lmax.
    let s = min_sum_width(&split, 4096);
    let args: Vec<String> = [
        "verify",
        "--rtl",
        &rtl,
        "--top",
        "handwritten_fpec_mac",
        "--bits",
        "6+2",
        "--max-len",
        "4096",
        "--latency",
        "1",
        "--sum-width",
        &s.to_string(),
        "--param",
        "W=6",
        "--param",
        "M=0",
        "--param",
        "Z=1",
        "--param",
        &format!("S={s}"),
        "--backend",
        backend,
        "--vectors",
        "40",
        "--seed",
        &seed.to_string(),
        "--out",
        &out,
        "--cache",
        crate::common::CACHE,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let o = crate::common::fpec().args(&args).output().unwrap();
    let t = format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "mutant {name} was not caught:\n{t}"
    );
    assert!(t.contains(&format!("seed {seed}")), "{t}");
    assert!(
        t.contains(&format!("MISMATCH: backend {backend}, seed {seed}")),
        "{t}"
    );
    assert!(
        t.contains(&format!("reproduce: fpec verify --rtl {rtl}"))
            && t.contains(&format!("--seed {seed} --backend {backend}")),
        "{t}"
    );
    assert!(t.contains("dot product #"), "{t}");
    let report = dir.path().join(format!("mismatch-{backend}.txt"));
    let rep = std::fs::read_to_string(&report).expect("no report file");
    assert!(rep.contains("q=") && rep.contains("edb="), "{rep}");
    let vcd = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.path().extension().is_some_and(|x| x == "vcd"))
        .unwrap_or_else(|| panic!("no VCD written:\n{t}"));
    let v = std::fs::read_to_string(vcd.path()).unwrap();
    assert!(
        v.contains("$enddefinitions") && v.contains("out_sum"),
        "bad VCD"
    );
}

#[test]
fn every_mutant_fails_under_verilator() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for m in [
        "ezb_ignored",
        "edb_flipped",
        "first_no_clear",
        "latency_plus1",
        "narrow_acc",
        "valid_two_cycles",
    ] {
        run_mutant(m, "verilator", 3);
    }
}

#[test]
fn mutants_fail_under_icarus() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for m in ["latency_plus1", "narrow_acc"] {
        run_mutant(m, "icarus", 4);
    }
}
