//! Issue 12, "Trust under bad input", items 2-8: no panic, no lost file, no
//! leftovers, one exit-code rule (2 for bad input, 1 for failed checks), no
//! vacuous pass, clear messages; plus a seeded fuzz of the parsers.

mod common {
    pub mod old_stimulus;
}

use fpec::format::Split;
use fpec::verify::manifest::{min_sum_width, Dut};
use fpec::verify::stimulus;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn fpec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fpec"))
}

fn run(args: &[&str]) -> Output {
    fpec().args(args).output().unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit code 2, a one-line error containing every needle.
fn assert_usage(o: &Output, needles: &[&str]) {
    let e = err(o);
    assert_eq!(o.status.code(), Some(2), "expected exit 2: {e}");
    assert_eq!(e.trim().lines().count(), 1, "one line expected: {e}");
    for n in needles {
        assert!(e.contains(n), "'{n}' not in: {e}");
    }
}

fn gen_dir() -> String {
    format!("{ROOT}/generated/6+2")
}

fn idx_images(n: u32, rows: u32, cols: u32, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 3];
    for x in [n, rows, cols] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

fn idx_labels(data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 1];
    v.extend_from_slice(&(data.len() as u32).to_be_bytes());
    v.extend_from_slice(data);
    v
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

// ---------------------------------------------------------------- item 2

#[test]
fn item2_idx_header_overflow_is_an_error_with_the_exact_byte_count() {
    let t = tempfile::tempdir().unwrap();
    let m = u32::MAX;
    let i = write(t.path(), "i.idx", &idx_images(m, m, m, &[]));
    let l = write(t.path(), "l.idx", &idx_labels(&[1]));
    let e = fpec::dnn::data::load_idx(&i, &l).unwrap_err();
    let need = 16u128 + (m as u128).pow(3);
    let msg = format!("{e:#}");
    assert!(msg.contains(&need.to_string()), "{msg}");
    // (8) The byte count is never wrapped: 3 images of 2^31 x 2 bytes.
    let i = write(t.path(), "i2.idx", &idx_images(3, 1 << 31, 2, &[0; 15]));
    let msg = format!("{:#}", fpec::dnn::data::load_idx(&i, &l).unwrap_err());
    assert!(msg.contains(&(16u128 + 3 * (1u128 << 32)).to_string()), "{msg}");
    // And through the CLI: exit 2.
    let o = run(&[
        "dnn",
        "train",
        "--out",
        t.path().join("m.json").to_str().unwrap(),
        "--idx-images",
        i.to_str().unwrap(),
        "--idx-labels",
        l.to_str().unwrap(),
    ]);
    assert_usage(&o, &["truncated IDX"]);
}

#[test]
fn item2_energy_len_and_macs_have_upper_bounds() {
    let d = gen_dir();
    let o = run(&["energy", &d, "--activity", "sim", "--len", "18446744073709551615"]);
    assert_usage(&o, &["--len 18446744073709551615", "1..=65536"]);
    let o = run(&["energy", &d, "--activity", "sim", "--macs", "100000000000"]);
    assert_usage(&o, &["--macs 100000000000", "1..=1000000"]);
}

// ---------------------------------------------------------------- item 3

fn dut(bits: &str, lmax: u64, latency: u32) -> Dut {
    let split = Split::parse(bits).unwrap();
    Dut {
        top: "fpec_mac".into(),
        files: vec![],
        params: BTreeMap::new(),
        split,
        max_len: lmax,
        sum_width: min_sum_width(&split, lmax),
        latency,
        requant: None,
    }
}

#[test]
fn item3_streamed_stimulus_equals_the_old_up_front_one() {
    for (bits, lmax, lat, n, seed) in [
        ("6+2", 4096, 1, 60, 1u64),
        ("4+3", 100, 3, 500, 42),
        ("8+0", 16, 2, 2000, 7),
        ("16+2", 64, 1, 300, 123),
    ] {
        let d = dut(bits, lmax, lat);
        let (old, old_st) = common::old_stimulus::random(&d, n, seed);
        let streamed: Vec<u64> = stimulus::random_stream(&d, n, seed).iter().collect();
        assert!(old == streamed, "{bits} seed {seed}: records differ");
        let (s, st) = stimulus::random(&d, n, seed);
        assert_eq!(s.len(), old.len() as u64);
        assert_eq!((st.started, st.interrupted), (old_st.started, old_st.interrupted));
        assert_eq!(s.get(5), old[5]);
        assert_eq!(s.window(3, 9), old[3..9].to_vec());
    }
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn item3_ten_million_vectors_stream_in_flat_memory() {
    // The documented maximum, --vectors 10000000, on a short-Lmax design:
    // about 40 M cycles, 320 MB if built up front.
    let d = dut("4+2", 2, 1);
    let stim = stimulus::random_stream(&d, 10_000_000, 3);
    let before = rss_kb();
    let mut peak = before;
    let mut cycles = 0u64;
    for (i, _) in stim.iter().enumerate() {
        cycles += 1;
        if i % 1_000_000 == 0 {
            peak = peak.max(rss_kb());
        }
    }
    assert!(cycles > 10_000_000, "{cycles}");
    assert!(
        peak.saturating_sub(before) < 64 * 1024,
        "memory grew by {} kB",
        peak - before
    );
}

// ---------------------------------------------------------------- item 4

#[test]
fn item4_gen_never_replaces_a_folder_it_did_not_write() {
    let t = tempfile::tempdir().unwrap();
    // A folder with a manifest.json of someone else.
    let d = t.path().join("d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("manifest.json"), "{}").unwrap();
    std::fs::write(d.join("data.txt"), "x").unwrap();
    let o = run(&["gen", "--bits", "6+2", "--out", d.to_str().unwrap()]);
    assert_usage(&o, &[d.to_str().unwrap()]);
    assert_eq!(std::fs::read(d.join("data.txt")).unwrap(), b"x");
    assert_eq!(std::fs::read(d.join("manifest.json")).unwrap(), b"{}");
    // A generated folder with a note added: refused, note kept.
    let g = t.path().join("g");
    assert!(run(&["gen", "--bits", "6+2", "--out", g.to_str().unwrap()]).status.success());
    assert!(g.join(fpec::gen::MARKER).is_file());
    std::fs::write(g.join("note.txt"), "mine").unwrap();
    let o = run(&["gen", "--bits", "4+2", "--out", g.to_str().unwrap()]);
    assert_usage(&o, &["note.txt"]);
    assert_eq!(std::fs::read(g.join("note.txt")).unwrap(), b"mine");
    // Without the note, regeneration replaces it.
    std::fs::remove_file(g.join("note.txt")).unwrap();
    let o = run(&["gen", "--bits", "4+2", "--out", g.to_str().unwrap()]);
    assert!(o.status.success(), "{}", err(&o));
    let m = std::fs::read_to_string(g.join("manifest.json")).unwrap();
    assert!(m.contains("\"bits\": \"4+2\""), "{m}");
}

// ---------------------------------------------------------------- item 5

fn leftovers(dir: &Path, prefixes: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| prefixes.iter().any(|p| n.starts_with(p)))
        .collect()
}

#[test]
fn item5_gen_out_dot_is_a_usage_error_and_leaves_nothing() {
    let t = tempfile::tempdir().unwrap();
    let o = fpec()
        .args(["gen", "--bits", "6+2", "--out", "."])
        .current_dir(t.path())
        .output()
        .unwrap();
    assert_usage(&o, &["--out .", "'.'"]);
    assert!(leftovers(t.path(), &[".fpec-"]).is_empty());
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 0);
}

#[test]
fn item5_gen_sweeps_staging_folders_of_dead_runs_and_cleans_up_on_sigterm() {
    let t = tempfile::tempdir().unwrap();
    // Left by a run killed with SIGKILL (pid 999999 does not exist).
    std::fs::create_dir(t.path().join(".fpec-gen-999999-abc")).unwrap();
    std::fs::create_dir(t.path().join(".fpec-old-999999-gone")).unwrap();
    let out = t.path().join("mac");
    assert!(run(&["gen", "--bits", "6+2", "--out", out.to_str().unwrap()]).status.success());
    assert!(leftovers(t.path(), &[".fpec-gen-", ".fpec-old-"]).is_empty());
    // The old folder of a killed replace is put back where it belonged.
    assert!(t.path().join("gone").is_dir());
    // SIGTERM at various moments: never a staging folder left.
    for k in 0..30u64 {
        let mut c = fpec()
            .args(["gen", "--bits", "6+2", "--out", out.to_str().unwrap()])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(300 * k));
        unsafe {
            libc::kill(c.id() as i32, libc::SIGTERM);
        }
        let _ = c.wait();
        let left = leftovers(t.path(), &[".fpec-gen-", ".fpec-old-"]);
        assert!(left.is_empty(), "after SIGTERM at {} us: {left:?}", 300 * k);
        assert!(out.join("manifest.json").is_file(), "output lost at {} us", 300 * k);
    }
}

#[test]
fn item5_build_folders_of_dead_runs_are_swept() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join(".build-999999-x")).unwrap();
    let mine = t.path().join(format!(".build-{}-y", std::process::id()));
    std::fs::create_dir(&mine).unwrap();
    fpec::verify::tools::sweep_stale_builds(t.path());
    assert!(!t.path().join(".build-999999-x").exists());
    assert!(mine.exists(), "a live run's build folder is kept");
}

#[test]
fn item5_sigterm_during_verify_kills_the_compiler_and_removes_the_build() {
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("cache");
    let mut c = fpec()
        .args(["verify", &gen_dir(), "--backend", "verilator", "--vectors", "10"])
        .arg("--cache")
        .arg(&cache)
        .arg("--out")
        .arg(t.path().join("out"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until a build folder exists (Verilator or g++ running), then stop.
    let t0 = std::time::Instant::now();
    while t0.elapsed().as_secs() < 60
        && !(cache.is_dir() && !leftovers(&cache, &[".build-"]).is_empty())
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(700));
    unsafe {
        libc::kill(c.id() as i32, libc::SIGTERM);
    }
    let st = c.wait().unwrap();
    assert_eq!(st.code(), Some(143), "exit status after SIGTERM");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(leftovers(&cache, &[".build-"]).is_empty(), "build folder left");
    // No process still writing into the cache.
    let needle = cache.to_string_lossy().into_owned();
    for e in std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()) {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            assert!(!cmd.contains(&needle), "orphan process: {cmd}");
        }
    }
}

#[test]
fn item5_failed_synth_leaves_no_stale_results() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("mac");
    assert!(run(&["gen", "--bits", "4+2", "--out", dir.to_str().unwrap()]).status.success());
    let sd = dir.join("synth");
    std::fs::create_dir_all(&sd).unwrap();
    for f in ["netlist.v", "stat.json", "report.json", "gates.txt"] {
        std::fs::write(sd.join(f), "stale").unwrap();
    }
    // A Yosys that reports its version and then fails.
    let fake = write(
        t.path(),
        "yosys",
        b"#!/bin/sh\nif [ \"$1\" = -V ]; then echo 'Yosys 0.23'; exit 0; fi\necho 'ERROR: broken' >&2\nexit 1\n",
    );
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let o = fpec()
        .args(["synth", dir.to_str().unwrap()])
        .env("FPEC_YOSYS", &fake)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    for f in ["netlist.v", "stat.json", "report.json", "gates.txt"] {
        assert!(!sd.join(f).exists(), "stale {f} left beside the failing log");
    }
}

#[test]
fn item5_verify_default_folders_differ_per_design_and_stale_reports_go() {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a.v");
    let b = t.path().join("b.v");
    std::fs::write(&a, "module m; endmodule\n").unwrap();
    std::fs::write(&b, "module m; endmodule // other\n").unwrap();
    let mut d = dut("6+2", 4096, 1);
    d.files = vec![a];
    let ha = fpec::verify::design_hash(&d).unwrap();
    d.files = vec![b];
    let hb = fpec::verify::design_hash(&d).unwrap();
    assert_ne!(ha, hb, "same top and split, different RTL: different folders");
    // A passing run leaves no older mismatch files beside it.
    let out = t.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("mismatch-verilator.txt"), "old").unwrap();
    std::fs::write(out.join("mismatch-verilator-product3.vcd"), "old").unwrap();
    let o = fpec()
        .args(["verify", &gen_dir(), "--backend", "rust-sim", "--vectors", "20", "--seed", "1"])
        .arg("--out")
        .arg(&out)
        .arg("--cache")
        .arg(t.path().join("cache"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    assert!(leftovers(&out, &["mismatch-"]).is_empty());
}

// ---------------------------------------------------------------- item 6

#[test]
fn item6_bad_input_exits_2_everywhere() {
    let t = tempfile::tempdir().unwrap();
    let model = format!("{ROOT}/models/digits-mlp.json");
    // Empty and short CSV: both 2.
    let empty = write(t.path(), "empty.csv", b"");
    let o = run(&["dnn", "eval", "--model", &model, "--bits", "6+2", "--data", empty.to_str().unwrap()]);
    assert_usage(&o, &["no samples"]);
    let short = write(t.path(), "short.csv", b"1,2,3\n");
    let o = run(&["dnn", "eval", "--model", &model, "--bits", "6+2", "--data", short.to_str().unwrap()]);
    assert_usage(&o, &["65"]);
    // Bad IDX: 2.
    let bad = write(t.path(), "bad.idx", b"nope");
    let o = run(&[
        "dnn", "eval", "--model", &model, "--bits", "6+2",
        "--idx-images", bad.to_str().unwrap(), "--idx-labels", bad.to_str().unwrap(),
    ]);
    assert_usage(&o, &["bad.idx"]);
    // Missing --rtl file: 2 in verify as in synth.
    let o = run(&[
        "verify", "--rtl", "/nonexistent/mac.v", "--top", "m", "--bits", "6+2",
        "--latency", "1", "--sum-width", "26",
    ]);
    assert_usage(&o, &["/nonexistent/mac.v"]);
    // A manifest naming missing files: 2.
    let m = t.path().join("m");
    std::fs::create_dir(&m).unwrap();
    let mut man: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{}/manifest.json", gen_dir())).unwrap())
            .unwrap();
    man["files"] = serde_json::json!(["missing.v"]);
    std::fs::write(m.join("manifest.json"), man.to_string()).unwrap();
    let o = run(&["verify", m.to_str().unwrap(), "--backend", "verilator"]);
    assert_usage(&o, &["missing.v"]);
    // --dump to a folder: 2.
    let o = run(&[
        "dnn", "verify-layer", "--model", &model, "--layer", "0", "--bits", "6+2",
        "--images", "1", "--dump", t.path().to_str().unwrap(),
    ]);
    assert_usage(&o, &["--dump", "folder"]);
}

// ---------------------------------------------------------------- item 7

#[test]
fn item7_vacuous_runs_and_ignored_options_are_errors() {
    let t = tempfile::tempdir().unwrap();
    let model = format!("{ROOT}/models/digits-mlp.json");
    let o = run(&["dnn", "verify-layer", "--model", &model, "--layer", "0", "--bits", "6+2", "--images", "0"]);
    assert_usage(&o, &["--images 0", "1..="]);
    let d = gen_dir();
    let o = run(&["verify", &d, "--bits", "4+2"]);
    assert_usage(&o, &["--bits"]);
    let o = run(&["verify", &d, "--exhaustive", "--vectors", "10"]);
    assert_usage(&o, &["--vectors", "--exhaustive"]);
    let i = write(t.path(), "i.idx", &idx_images(1, 8, 8, &[0; 64]));
    let l = write(t.path(), "l.idx", &idx_labels(&[1]));
    let o = run(&[
        "dnn", "eval", "--model", &model, "--bits", "6+2",
        "--data", &format!("{ROOT}/data/digits.csv.gz"),
        "--idx-images", i.to_str().unwrap(), "--idx-labels", l.to_str().unwrap(),
    ]);
    assert_usage(&o, &["--data", "--idx-images"]);
    // Manifest C, bits and sum_width checked against each other.
    let base: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{d}/manifest.json")).unwrap()).unwrap();
    for (key, val, needle) in [
        ("C", serde_json::json!(3), "C = 3"),
        ("bits", serde_json::json!("6+3"), "bits = '6+3'"),
        ("sum_width", serde_json::json!(20), "sum_width = 20"),
    ] {
        let m = t.path().join(format!("m-{key}"));
        std::fs::create_dir(&m).unwrap();
        for f in std::fs::read_dir(&d).unwrap().filter_map(|e| e.ok()) {
            std::fs::copy(f.path(), m.join(f.file_name())).unwrap();
        }
        let mut man = base.clone();
        man[key] = val;
        std::fs::write(m.join("manifest.json"), man.to_string()).unwrap();
        let o = run(&["verify", m.to_str().unwrap(), "--backend", "verilator"]);
        assert_usage(&o, &[needle]);
    }
    // --sum-width against the port width of the RTL (28-bit port, 26 given).
    let mac = format!("{ROOT}/testbenches/handwritten_fpec_mac.v");
    let o = run(&[
        "verify", "--rtl", &mac, "--top", "handwritten_fpec_mac", "--bits", "6+2",
        "--latency", "1", "--sum-width", "26", "--param", "W=6", "--param", "M=0",
        "--param", "Z=1", "--param", "S=28", "--backend", "icarus", "--vectors", "5",
    ]);
    assert_usage(&o, &["--sum-width 26", "28 bits"]);
}

// ---------------------------------------------------------------- item 8

#[test]
fn item8_messages_and_file_modes() {
    // Negative values: the range, not "unexpected argument".
    let d = gen_dir();
    let o = run(&["verify", &d, "--vectors", "-1"]);
    assert_usage(&o, &["--vectors -1", "1..=10000000"]);
    let o = run(&["energy", &d, "--len", "-5"]);
    assert_usage(&o, &["--len -5", "1..=65536"]);
    let o = run(&["gen", "--bits", "6+2", "--max-len", "-3", "--out", "/tmp/x-never"]);
    assert_usage(&o, &["--max-len -3", "1..=65536"]);
    // Labels above 9: the message names the labels, not only an empty split.
    let t = tempfile::tempdir().unwrap();
    let labels: Vec<u8> = (0..40u8).map(|i| 10 + i % 20).collect();
    let i = write(t.path(), "i.idx", &idx_images(40, 8, 8, &[0; 40 * 64]));
    let l = write(t.path(), "l.idx", &idx_labels(&labels));
    let model = format!("{ROOT}/models/digits-mlp.json");
    let o = run(&[
        "dnn", "eval", "--model", &model, "--bits", "6+2",
        "--idx-images", i.to_str().unwrap(), "--idx-labels", l.to_str().unwrap(),
    ]);
    assert_usage(&o, &["30 classes", "0..=9"]);
    let o = run(&[
        "dnn", "train", "--out", t.path().join("m.json").to_str().unwrap(),
        "--idx-images", i.to_str().unwrap(), "--idx-labels", l.to_str().unwrap(),
    ]);
    assert_usage(&o, &["label"]);
    // encode --json has the saturated flag.
    let o = run(&["encode", "--bits", "6+2", "--fb", "4", "--json", "1000", "0.5"]);
    assert!(o.status.success());
    let s = String::from_utf8_lossy(&o.stdout);
    let v: Vec<serde_json::Value> = s.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(v[0]["saturated"], serde_json::json!(true), "{s}");
    assert_eq!(v[1]["saturated"], serde_json::json!(false), "{s}");
    // Atomic writes get the umask's mode, not 0600.
    let p = t.path().join("report.json");
    fpec::util::write_atomic(&p, b"{}").unwrap();
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&p).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o666 & !fpec::util::umask(), "mode {mode:o}");
}

// ---------------------------------------------------------------- fuzz

fn mutate(rng: &mut ChaCha8Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    match rng.gen_range(0..4) {
        0 => {
            // Pure random bytes.
            let n = rng.gen_range(0..200);
            v = (0..n).map(|_| rng.gen()).collect();
        }
        1 => {
            // Flip a few bytes.
            for _ in 0..rng.gen_range(1..8) {
                if !v.is_empty() {
                    let i = rng.gen_range(0..v.len());
                    v[i] = rng.gen();
                }
            }
        }
        2 => {
            // Replace a few bytes by digits / signs (numbers out of range).
            for _ in 0..rng.gen_range(1..6) {
                if !v.is_empty() {
                    let i = rng.gen_range(0..v.len());
                    v[i] = b"0123456789-9e+."[rng.gen_range(0..15)];
                }
            }
        }
        _ => {
            // Truncate.
            let n = rng.gen_range(0..=v.len());
            v.truncate(n);
        }
    }
    v
}

#[test]
fn fuzz_parsers_never_panic() {
    let seed: u64 = std::env::var("FPEC_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().next_u64());
    println!("fuzz seed {seed} (rerun with FPEC_FUZZ_SEED={seed})");
    eprintln!("fuzz seed {seed} (rerun with FPEC_FUZZ_SEED={seed})");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let t = tempfile::tempdir().unwrap();
    let manifest = std::fs::read(format!("{}/manifest.json", gen_dir())).unwrap();
    let model = std::fs::read(format!("{ROOT}/models/digits-mlp.json")).unwrap();
    let table = std::fs::read(format!("{ROOT}/data/energy-14nm.toml")).unwrap();
    let blocks = std::fs::read(format!("{ROOT}/data/blocks.toml")).unwrap();
    let csv = b"0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,0,3,15,2,0,11,8,0,0,4,12,0,0,8,8,0,0,5,8,0,0,9,8,0,0,4,11,0,1,12,7,0,0,2,14,5,10,12,0,0,0,0,6,13,10,0,0,0,0\n".to_vec();
    let idx_i = idx_images(2, 2, 2, &[1, 2, 3, 4, 5, 6, 7, 8]);
    let idx_l = idx_labels(&[1, 0]);
    for _ in 0..300 {
        // manifest.json (verify's and gen's readers)
        let m = mutate(&mut rng, &manifest);
        let p = write(t.path(), "manifest.json", &m);
        let _ = fpec::verify::manifest::load(&p);
        let _ = fpec::gen::Manifest::load(&p);
        let _ = fpec::synth::Design::from_dir(t.path());
        // model JSON
        let mm = mutate(&mut rng, &model);
        let _ = fpec::dnn::model::Model::from_json(&String::from_utf8_lossy(&mm));
        // CSV
        let c = mutate(&mut rng, &csv);
        let p = write(t.path(), "d.csv", &c);
        let _ = fpec::dnn::data::load_digits(&p);
        // IDX pair
        let a = mutate(&mut rng, &idx_i);
        let b = mutate(&mut rng, &idx_l);
        let pa = write(t.path(), "i.idx", &a);
        let pb = write(t.path(), "l.idx", &b);
        let _ = fpec::dnn::data::load_idx(&pa, &pb);
        // energy table and block rules
        let e = mutate(&mut rng, &table);
        let _ = fpec::energy::EnergyTable::parse(&String::from_utf8_lossy(&e), "fuzz");
        let r = mutate(&mut rng, &blocks);
        let _ = fpec::synth::BlockRules::parse(&String::from_utf8_lossy(&r), "fuzz");
    }
}
