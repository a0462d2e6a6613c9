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

/// A path under `../shared` (the third-party networks and data sets beside
/// the repository). When it is missing: `None` after printing that the test
/// is skipped and why, or a test failure when `CI=true` (CI must run it).
pub fn shared(rel: &str) -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel);
    if p.exists() {
        return Some(p);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "CI=true but {} is missing (see README: third-party networks)", p.display());
    println!("SKIPPED: {} is missing (a fresh clone without ../shared; see README)", p.display());
    None
}
