/// Hardware in the loop: a layer's real operand pairs through the generated
/// MAC under Verilator, every sum equal to the golden inference.
#[test]
fn verify_layer_runs_on_verilator() {
    let tmp = tempfile::tempdir().unwrap();
    let o = crate::common::fpec()
        .args(["dnn", "verify-layer", "--model"])
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/digits-mlp.json"))
        .args(["--layer", "1", "--bits", "4+2", "--images", "4"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("40 dot products") && out.contains(" 0 mismatches"),
        "{out}"
    );
    // A pass names what was simulated: the generated MAC's files.
    let files = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("files simulated: "))
        .unwrap_or_else(|| panic!("no 'files simulated:' line: {out}"));
    assert!(
        files.contains("mac-4+2-fused-4096") || files.contains("fpec_mac"),
        "{files}"
    );
}

/// The same layer through the split arch (issue 13: verify-layer takes the
/// hardware flags), and an Lmax shorter than the layer is exit 2.
#[test]
fn verify_layer_takes_arch_and_max_len() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |more: &[&str]| {
        crate::common::fpec()
            .args(["dnn", "verify-layer", "--model"])
            .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/digits-mlp.json"))
            .args(["--layer", "1", "--bits", "4+2", "--images", "2"])
            .args(more)
            .current_dir(tmp.path())
            .output()
            .unwrap()
    };
    let o = run(&["--arch", "split"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("20 dot products") && out.contains(" 0 mismatches"),
        "{out}"
    );
    assert!(tmp
        .path()
        .join("out/dnn-verify-layer/mac-4+2-split-4096")
        .is_dir());
    // Layer 1 of the MLP has dot products of 32 pairs.
    let o = run(&["--max-len", "16"]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("--max-len 16") && e.contains("32 pairs"), "{e}");
}
