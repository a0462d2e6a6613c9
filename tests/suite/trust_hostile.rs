//! Issue 20, "a verifier you can hand files to": one test per defect class
//! (command injection, false pass from the build cache, files outside the
//! design folder, merges that believe edited shards, aborts inside
//! documented ranges, lost results, wrong or unclear answers). Each test
//! failed on the code before the fix (run one against an older binary with
//! `FPEC_TEST_BIN=/path/to/old/fpec cargo test --test suite trust_hostile::`).

use std::path::{Path, PathBuf};
use std::process::Output;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn run_in(dir: Option<&Path>, args: &[&str]) -> Output {
    let mut c = crate::common::fpec();
    if let Some(d) = dir {
        c.current_dir(d);
    }
    c.args(args).output().unwrap()
}

fn run(args: &[&str]) -> Output {
    run_in(None, args)
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Exit code 2 and a one-line error containing every needle.
fn assert_usage(o: &Output, needles: &[&str]) {
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "expected exit 2: {}", text(o));
    assert_eq!(e.trim().lines().count(), 1, "one line expected: {e}");
    for n in needles {
        assert!(e.contains(n), "'{n}' not in: {e}");
    }
}

/// A copy of `generated/<name>` in a fresh temporary folder: (guard, path).
fn copy_generated(name: &str) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join(name);
    std::fs::create_dir(&d).unwrap();
    for e in std::fs::read_dir(format!("{ROOT}/generated/{name}")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), d.join(e.file_name())).unwrap();
    }
    (t, d)
}

fn edit_manifest(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let p = dir.join("manifest.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---------------------------------------------------------------- item 1

#[test]
fn item1_top_never_reaches_a_tool_script() {
    let (t, d) = copy_generated("6+2");
    let marker = t.path().join("pwned");
    let evil = format!("fpec_mac; exec -- touch {};", marker.display());
    edit_manifest(&d, |v| v["top"] = evil.clone().into());
    let out = t.path().join("o");
    let o = run(&[
        "verify",
        s(&d),
        "--backend",
        "verilator",
        "--vectors",
        "2",
        "--out",
        s(&out),
    ]);
    assert!(!marker.exists(), "the manifest's top ran a shell command");
    assert_usage(&o, &["top", "not a Verilog identifier"]);
    // --rtl with --top, and synth / energy of the same folder.
    let rtl: Vec<String> = std::fs::read_dir(format!("{ROOT}/generated/6+2"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".v"))
        .collect();
    let mut args = vec!["verify", "--rtl"];
    args.extend(rtl.iter().map(String::as_str));
    args.extend([
        "--top",
        &evil,
        "--bits",
        "6+2",
        "--latency",
        "1",
        "--sum-width",
        "26",
        "--backend",
        "icarus",
        "--vectors",
        "2",
        "--out",
        s(&out),
    ]);
    let o = run(&args);
    assert!(!marker.exists(), "--top ran a shell command");
    assert_usage(&o, &["top", "not a Verilog identifier"]);
    for cmd in ["synth", "energy"] {
        let o = run(&[cmd, s(&d)]);
        assert!(
            !marker.exists(),
            "{cmd}: the manifest's top ran a shell command"
        );
        assert_usage(&o, &["top", "not a Verilog identifier"]);
    }
    // A top with '/' makes no folder in the cache.
    let cache = t.path().join("cache");
    edit_manifest(&d, |v| v["top"] = "../../escape/x".into());
    let o = crate::common::fpec()
        .env("FPEC_CACHE", &cache)
        .args([
            "verify",
            s(&d),
            "--backend",
            "verilator",
            "--vectors",
            "2",
            "--out",
            s(&out),
        ])
        .output()
        .unwrap();
    assert_usage(&o, &["top", "not a Verilog identifier"]);
    assert!(!t.path().join("escape").exists());
    // Parameter names too.
    edit_manifest(&d, |v| {
        v["top"] = "fpec_mac".into();
        v["params"] = serde_json::json!({"X; exec -- touch /tmp/y;": 1});
    });
    let o = run(&[
        "verify",
        s(&d),
        "--backend",
        "verilator",
        "--vectors",
        "2",
        "--out",
        s(&out),
    ]);
    assert_usage(&o, &["params", "not a Verilog identifier"]);
}

// ---------------------------------------------------------------- item 2

/// A copy of generated 6+2 whose adder lives in `add_body.vh`, included
/// by `fpec_mac__acc__add.v`.
fn design_with_include() -> (tempfile::TempDir, PathBuf) {
    let (t, d) = copy_generated("6+2");
    let add = std::fs::read_to_string(d.join("fpec_mac__acc__add.v")).unwrap();
    let body: String = add
        .lines()
        .filter(|l| !l.starts_with("//"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(d.join("add_body.vh"), body).unwrap();
    std::fs::write(d.join("fpec_mac__acc__add.v"), "`include \"add_body.vh\"\n").unwrap();
    (t, d)
}

#[test]
fn item2_an_edited_include_is_never_a_cached_pass() {
    let (t, d) = design_with_include();
    let out = t.path().join("o");
    for be in ["verilator", "icarus"] {
        // Run inside the folder, where even a tool without -I finds the
        // include, so the first run passes on any version.
        let args = [
            "verify",
            ".",
            "--backend",
            be,
            "--vectors",
            "20",
            "--out",
            s(&out),
        ];
        let o = run_in(Some(&d), &args);
        assert_eq!(o.status.code(), Some(0), "{be}: {}", text(&o));
        let body = std::fs::read_to_string(d.join("add_body.vh")).unwrap();
        let bad = body.replace("{1'b0, a} + {1'b0, b};", "{1'b0, a} + {1'b0, b} + 14'd1;");
        assert_ne!(body, bad);
        std::fs::write(d.join("add_body.vh"), &bad).unwrap();
        let o = run_in(Some(&d), &args);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{be}: a broken included adder passed (stale cache): {}",
            text(&o)
        );
        std::fs::write(d.join("add_body.vh"), &body).unwrap();
    }
}

#[test]
fn item2_rtl_next_to_its_include_gets_its_folder_as_include_path() {
    let (t, d) = design_with_include();
    let out = t.path().join("o");
    for be in ["verilator", "icarus"] {
        let o = run(&[
            "verify",
            s(&d),
            "--backend",
            be,
            "--vectors",
            "5",
            "--out",
            s(&out),
        ]);
        assert_eq!(o.status.code(), Some(0), "{be}: {}", text(&o));
    }
}

#[test]
fn item2_regress_never_simulates_an_edited_cached_design() {
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("cache");
    let out = t.path().join("r");
    let args = [
        "regress",
        "--bits",
        "4+2",
        "--arch",
        "fused",
        "--pairs",
        "2000",
        "--sample-products",
        "0",
        "--out",
        s(&out),
    ];
    let go = || {
        crate::common::fpec()
            .env("FPEC_CACHE", &cache)
            .args(args)
            .output()
            .unwrap()
    };
    let o = go();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Break the cached adder: regress must regenerate, not simulate it.
    let gen: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("regress-gen-")
        })
        .collect();
    assert_eq!(gen.len(), 1, "{gen:?}");
    let add = gen[0].join("fpec_mac__acc__add.v");
    let body = std::fs::read_to_string(&add).unwrap();
    std::fs::write(
        &add,
        body.replace("{1'b0, a} + {1'b0, b};", "{1'b0, a} - {1'b0, b};"),
    )
    .unwrap();
    let o = go();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(&add).unwrap(),
        body,
        "the edited entry was kept"
    );
}

// ---------------------------------------------------------------- item 3

#[test]
fn item3_manifest_files_stay_inside_the_folder() {
    let (t, d) = copy_generated("6+2");
    let out = t.path().join("o");
    // Break this folder's own Verilog, point the manifest at another's.
    std::fs::write(d.join("fpec_mac.v"), "module broken(;\n").unwrap();
    let good = format!("{ROOT}/generated/6+2");
    for prefix in [
        format!("{good}/"),
        "../../../../../../../..".to_string() + &good + "/",
    ] {
        edit_manifest(&d, |v| {
            let files: Vec<serde_json::Value> = v["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| format!("{prefix}{}", f.as_str().unwrap()).into())
                .collect();
            v["files"] = files.into();
        });
        let o = run(&[
            "verify",
            s(&d),
            "--backend",
            "verilator",
            "--vectors",
            "2",
            "--out",
            s(&out),
        ]);
        assert_usage(&o, &["files", "design folder"]);
        std::fs::copy(format!("{good}/manifest.json"), d.join("manifest.json")).unwrap();
    }
    // /etc/passwd is neither fed to a tool nor echoed.
    edit_manifest(&d, |v| v["files"] = serde_json::json!(["/etc/passwd"]));
    for cmd in [
        vec![
            "verify",
            s(&d),
            "--backend",
            "icarus",
            "--vectors",
            "2",
            "--out",
            s(&out),
        ],
        vec!["synth", s(&d)],
    ] {
        let o = run(&cmd);
        assert_usage(&o, &["/etc/passwd", "design folder"]);
        assert!(!text(&o).contains("root:"), "{}", text(&o));
    }
    // A symlink out of the folder is refused too.
    std::fs::copy(format!("{good}/manifest.json"), d.join("manifest.json")).unwrap();
    std::fs::remove_file(d.join("fpec_mac.v")).unwrap();
    std::os::unix::fs::symlink(format!("{good}/fpec_mac.v"), d.join("fpec_mac.v")).unwrap();
    let o = run(&[
        "verify",
        s(&d),
        "--backend",
        "verilator",
        "--vectors",
        "2",
        "--out",
        s(&out),
    ]);
    assert_usage(&o, &["fpec_mac.v", "outside the design folder"]);
}

#[test]
fn item3_a_pass_names_the_files_simulated() {
    let (t, d) = copy_generated("4+2");
    let out = t.path().join("o");
    let o = run(&[
        "verify",
        s(&d),
        "--backend",
        "verilator",
        "--vectors",
        "3",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let line = text(&o)
        .lines()
        .find(|l| l.starts_with("files simulated:"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no 'files simulated:' line: {}", text(&o)));
    assert!(
        line.contains(&d.join("fpec_mac.v").display().to_string()),
        "{line}"
    );
    assert!(line.contains("fpec_mac__acc.v"), "{line}");
}
