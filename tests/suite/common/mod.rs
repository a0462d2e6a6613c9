//! Test helpers shared by several test modules.
pub mod old_stimulus;

/// The one build cache of the suite: the default cache of in-process calls
/// (`out/cache` under the crate root, where `cargo test` runs them), also
/// given to every `fpec` the tests start, so that all tests share the
/// Verilator runtime objects and the builds of the designs they have in
/// common (content-hashed, so sharing cannot mix designs up).
pub const CACHE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/out/cache");

/// The `fpec` binary under test, with the suite's build cache.
pub fn fpec() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_fpec"));
    c.env("FPEC_CACHE", CACHE);
    c
}

/// Runs `fpec args` (suite cache): (exit code, stdout then stderr).
pub fn fpec_text(args: &[&str]) -> (i32, String) {
    let o = fpec().args(args).output().unwrap();
    let t = format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap_or(-1), t)
}

/// A path under the shared folder `../shared` (beside the repository: the
/// third-party networks and data sets, never committed). `None`, after
/// printing why the caller is skipped, when it is missing; with `CI=true` a
/// missing path fails the test instead.
pub fn shared(rel: &str, who: &str) -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel);
    if p.exists() {
        return Some(p);
    }
    let ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
    assert!(
        !ci,
        "{who}: {} is missing and CI=true: CI must have ../shared",
        p.display()
    );
    eprintln!(
        "SKIPPED {who}: {} is missing (the third-party data beside the repository; see README \"Real networks and data\")",
        p.display()
    );
    None
}
