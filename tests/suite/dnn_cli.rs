/// Hardware in the loop: a layer's real operand pairs through the generated
/// MAC under Verilator, every sum equal to the golden inference.
#[test]
fn verify_layer_runs_on_verilator() {
    let tmp = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_fpec"))
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
}
