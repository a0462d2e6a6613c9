//! `fpec gen` as a user runs it: good requests, the committed `generated/`
//! folder staying byte-identical to the generator, and bad requests that
//! must fail with exit code 2, a one-line error naming the value and range,
//! and nothing written.

use std::path::Path;
use std::process::Command;

fn fpec() -> Command {
    crate::common::fpec()
}

fn read_dir_sorted(d: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn committed_generated_folders_match_the_generator() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated");
    for (bits, extra) in [
        ("6+2", &[][..]),
        ("4+2", &[]),
        ("8+0", &[]),
        ("16+0", &[]),
        ("6+2-split", &["--arch", "split"]),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join(bits);
        let st = fpec()
            .args([
                "gen",
                "--bits",
                bits.split('-').next().unwrap_or(bits),
                "--out",
            ])
            .arg(&out)
            .args(extra)
            .status()
            .unwrap();
        assert!(st.success());
        let committed = read_dir_sorted(&root.join(bits));
        let fresh = read_dir_sorted(&out);
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&committed),
            names(&fresh),
            "{bits}: file lists differ"
        );
        for ((n, a), (_, b)) in committed.iter().zip(&fresh) {
            assert!(a == b, "generated/{bits}/{n} differs from the generator's output; run `fpec gen --bits {} {} --out generated/{bits}`", bits.split('-').next().unwrap_or(bits), extra.join(" "));
        }
    }
}

#[test]
fn bad_requests_exit_2_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--bits", "17+2"], "2..=16"),
        (&["--bits", "6+5"], "0..=4"),
        (&["--bits", "6+3", "--emb", "3"], "0..=2"),
        (&["--bits", "6+2", "--max-len", "0"], "1..=65536"),
        (&["--bits", "6+2", "--max-len", "65537"], "1..=65536"),
        (&["--bits", "6+2", "--ezb-threshold", "33"], "0..=32"),
        (
            &["--bits", "6+2", "--requant-bits", "4+2", "--shift", "200"],
            "-64..=127",
        ),
        (&["--bits", "x+2"], "W+C"),
    ];
    for (args, needle) in cases {
        let out = tmp.path().join("o");
        let o = fpec()
            .arg("gen")
            .args(*args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: error '{err}' should name the range {needle}"
        );
        assert_eq!(
            err.trim().lines().count(),
            1,
            "{args:?}: one line expected: {err}"
        );
        assert!(!out.exists(), "{args:?}: nothing may be written");
    }
    // Unwritable folder.
    let ro = tmp.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let mut perm = std::fs::metadata(&ro).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o555);
    std::fs::set_permissions(&ro, perm).unwrap();
    let target = ro.join("sub");
    let o = fpec()
        .args(["gen", "--bits", "6+2", "--out"])
        .arg(&target)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    // root ignores permission bits; only check when the folder really is read-only.
    if std::fs::write(ro.join("probe"), b"x").is_err() {
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("sub"), "{err}");
        assert!(!target.exists());
    }
    // A foreign non-empty folder is never replaced.
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), b"mine").unwrap();
    let o = fpec()
        .args(["gen", "--bits", "6+2", "--out"])
        .arg(&foreign)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(foreign.join("notes.txt")).unwrap(), b"mine");
}

#[test]
fn regenerating_replaces_an_earlier_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("mac");
    for bits in ["6+2", "4+0"] {
        let st = fpec()
            .args(["gen", "--bits", bits, "--out"])
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success());
    }
    let m = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(m.contains("\"top\": \"fxp_mac\""));
    assert!(
        !out.join("fpec_mac.v").exists(),
        "stale files of the earlier output must be gone"
    );
    // No temporary folders left behind.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(left.len(), 1);
}

#[test]
fn arch_requests_and_old_manifests() {
    let tmp = tempfile::tempdir().unwrap();
    // Unknown arch, and split for an FxP split: exit 2, allowed values named.
    for (args, needle) in [
        (
            &["--bits", "6+2", "--arch", "foo"][..],
            "allowed: fused, split",
        ),
        (
            &["--bits", "8+0", "--arch", "split"][..],
            "FxP has one arch",
        ),
    ] {
        let out = tmp.path().join("bad");
        let o = fpec()
            .arg("gen")
            .args(args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle) && err.lines().count() == 1,
            "{args:?}: {err}"
        );
        assert!(!out.exists());
    }
    let o = fpec().args(["flow", "--arch", "bar"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("allowed: fused, split, all"));
    // The manifest records the arch; one without it (older output) is
    // accepted and reported as unknown, and rust-sim does not apply to it.
    let d = tmp.path().join("d");
    assert!(fpec()
        .args(["gen", "--bits", "4+2", "--arch", "split", "--out"])
        .arg(&d)
        .status()
        .unwrap()
        .success());
    let mpath = d.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&mpath).unwrap()).unwrap();
    assert_eq!(m["arch"], "split");
    m.as_object_mut().unwrap().remove("arch");
    std::fs::write(&mpath, serde_json::to_string(&m).unwrap()).unwrap();
    let o = fpec()
        .args(["verify"])
        .arg(&d)
        .args(["--backend", "all", "--vectors", "20", "--out"])
        .arg(tmp.path().join("v"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("arch unknown"), "{text}");
    assert!(
        text.contains("rust-sim: skipped") && text.contains("not generated by fpec"),
        "{text}"
    );
}
