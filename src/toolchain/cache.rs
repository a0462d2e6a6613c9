//! The one build cache of fpec: content hashing, the cache folder
//! (`$FPEC_CACHE`), and atomic cache entries (built in a temporary sibling,
//! renamed into place), shared by verify, energy, flow, dnn and the tests.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// 128-bit FNV-1a-style content hash (two independent 64-bit lanes), hex.
/// Only used to name cache folders, so collisions are merely unlikely.
#[derive(Clone)]
pub struct Hasher {
    a: u64,
    b: u64,
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher {
            a: 0xcbf2_9ce4_8422_2325,
            b: 0x6c62_272e_07bb_0142,
        }
    }
}

impl Hasher {
    /// Feeds bytes, then a separator so that fields cannot run together.
    pub fn feed(&mut self, bytes: &[u8]) -> &mut Self {
        for &x in bytes.iter().chain(&[0xff, 0x00, 0xfe]) {
            self.a = (self.a ^ x as u64).wrapping_mul(0x0000_0100_0000_01b3);
            self.b = (self.b ^ x as u64)
                .wrapping_mul(0x0000_0100_0000_0193)
                .rotate_left(5);
        }
        self
    }
    /// Feeds a file's name (not its folder: the same sources elsewhere hit
    /// the same entry) and contents.
    pub fn feed_file(&mut self, p: &Path) -> Result<&mut Self> {
        let data = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        self.feed(
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .as_bytes(),
        );
        Ok(self.feed(&data))
    }
    /// The hash as 32 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}{:016x}", self.a, self.b)
    }
}

/// Creates `dir` (and parents).
pub fn mkdir(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir.to_path_buf())
}

/// Absolute form of `p` (for tools started in another folder).
pub fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("bad path {}", p.display()))
}

/// The one build cache of fpec (Verilator builds of verify's benches and of
/// the gate-level toggle simulators, keyed by content hash):
/// `$FPEC_CACHE`, else `$FPEC_VERIFY_CACHE` (older name), else `out/cache`.
pub fn cache_root() -> std::path::PathBuf {
    std::env::var_os("FPEC_CACHE")
        .filter(|v| !v.is_empty())
        .or_else(|| std::env::var_os("FPEC_VERIFY_CACHE").filter(|v| !v.is_empty()))
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("out/cache"))
}

/// Builds `final_dir` by running `build` in a fresh temporary sibling folder
/// and renaming it into place, so that concurrent or interrupted builds never
/// leave a half-built cache entry. Returns immediately when it exists.
pub fn cached_dir(final_dir: &Path, build: impl FnOnce(&Path) -> Result<()>) -> Result<PathBuf> {
    if final_dir.join(".done").exists() {
        return Ok(final_dir.to_path_buf());
    }
    let parent = final_dir.parent().unwrap_or(Path::new("."));
    mkdir(parent)?;
    sweep_stale_builds(parent);
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".build-{}-", std::process::id()))
        .tempdir_in(parent)
        .with_context(|| format!("cannot create a build folder in {}", parent.display()))?;
    let _guard = crate::util::CleanupGuard::new(tmp.path());
    build(tmp.path())?;
    std::fs::write(tmp.path().join(".done"), b"ok")
        .with_context(|| format!("cannot write in {}", tmp.path().display()))?;
    let tmp_path = tmp.keep();
    if std::fs::rename(&tmp_path, final_dir).is_err() {
        // Another build won the race: use it, drop ours.
        let _ = std::fs::remove_dir_all(&tmp_path);
        if !final_dir.join(".done").exists() {
            bail!("cannot move the build into {}", final_dir.display());
        }
    }
    Ok(final_dir.to_path_buf())
}

/// Removes build folders left by runs that died without cleaning up
/// (SIGKILL): `.build-<pid>-*` whose process is gone, and old-style
/// `.build-*` folders older than an hour.
pub fn sweep_stale_builds(parent: &Path) {
    let Ok(rd) = std::fs::read_dir(parent) else {
        return;
    };
    for e in rd.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(".build-") else {
            continue;
        };
        let dead = match rest
            .split_once('-')
            .and_then(|(p, _)| p.parse::<u32>().ok())
        {
            Some(pid) => pid != std::process::id() && !crate::util::pid_alive(pid),
            None => e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|d| d.as_secs() > 3600),
        };
        if dead {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}
