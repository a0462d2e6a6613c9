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

/// The include folders of a build: the folder of every source, in order,
/// once each (a design that `include`s a file next to it finds it).
pub fn include_dirs(files: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for f in files {
        if let Some(d) = absolute(f)?.parent() {
            if !dirs.iter().any(|x| x == d) {
                dirs.push(d.to_path_buf());
            }
        }
    }
    Ok(dirs)
}

/// Most files one build may include (transitively).
const MAX_INCLUDES: usize = 4096;

/// The `` `include `` arguments of Verilog `text`: `Ok(name)` for a quoted
/// or `<...>` file name, `Err(text)` for anything else (a macro).
fn include_names(text: &str) -> Vec<std::result::Result<String, String>> {
    let mut v = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("`include") {
        rest = &rest[i + "`include".len()..];
        let arg = rest.trim_start_matches([' ', '\t']);
        let quoted = |open: char, close: char| {
            arg.strip_prefix(open)
                .and_then(|a| a.split_once(close))
                .map(|(n, _)| n.to_string())
        };
        match quoted('"', '"').or_else(|| quoted('<', '>')) {
            Some(n) if !n.contains('\n') => v.push(Ok(n)),
            _ => v.push(Err(arg.lines().next().unwrap_or("").to_string())),
        }
    }
    v
}

/// Feeds every input of a build made from `files` into `h`: each file's
/// name (not its folder: the same sources elsewhere share the entry) and
/// contents, then every file they `` `include `` (transitively, found
/// beside the including file or in `inc_dirs`, as the tools search), with
/// the name as written and its contents. An include the scan cannot
/// resolve (a macro argument, a missing file) makes the key unique to this
/// run, so such a build is never reused.
pub fn feed_sources(h: &mut Hasher, files: &[PathBuf], inc_dirs: &[PathBuf]) -> Result<()> {
    let mut queue: Vec<(String, PathBuf)> = files
        .iter()
        .rev()
        .map(|f| {
            let name = f.file_name().unwrap_or_default().to_string_lossy();
            (name.into_owned(), f.clone())
        })
        .collect();
    let mut seen: Vec<PathBuf> = Vec::new();
    while let Some((name, f)) = queue.pop() {
        let abs = absolute(&f)?;
        h.feed(name.as_bytes());
        if seen.contains(&abs) {
            continue;
        }
        if seen.len() >= MAX_INCLUDES {
            bail!("more than {MAX_INCLUDES} Verilog files and includes in one build");
        }
        let data = std::fs::read(&abs).with_context(|| format!("cannot read {}", abs.display()))?;
        h.feed(&data);
        let text = String::from_utf8_lossy(&data);
        let here = abs.parent().map(Path::to_path_buf).unwrap_or_default();
        for inc in include_names(&text) {
            let found = inc.as_ref().ok().and_then(|n| {
                std::iter::once(&here)
                    .chain(inc_dirs)
                    .map(|d| d.join(n))
                    .find(|p| p.is_file())
                    .map(|p| (n.clone(), p))
            });
            match found {
                Some(x) => queue.push(x),
                None => {
                    let nonce = format!(
                        "unresolved include {inc:?} {} {:?}",
                        std::process::id(),
                        std::time::SystemTime::now()
                    );
                    h.feed(nonce.as_bytes());
                }
            }
        }
        seen.push(abs);
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_names_are_found_and_macros_flagged() {
        let v = include_names(
            "`include \"a.vh\"\n  `include  <b.vh>\n`include `HDR\n// `include \"c.vh\"\n",
        );
        assert_eq!(
            v,
            vec![
                Ok("a.vh".to_string()),
                Ok("b.vh".to_string()),
                Err("`HDR".to_string()),
                Ok("c.vh".to_string())
            ]
        );
    }

    #[test]
    fn the_key_follows_included_files() {
        let d = tempfile::tempdir().unwrap();
        let top = d.path().join("t.v");
        std::fs::write(&top, "`include \"h.vh\"\nmodule t; endmodule\n").unwrap();
        std::fs::write(d.path().join("h.vh"), "`define X 1\n").unwrap();
        let key = || {
            let mut h = Hasher::default();
            feed_sources(&mut h, std::slice::from_ref(&top), &[]).unwrap();
            h.hex()
        };
        let k1 = key();
        assert_eq!(k1, key(), "same inputs, same key");
        std::fs::write(d.path().join("h.vh"), "`define X 2\n").unwrap();
        assert_ne!(k1, key(), "an edited include changes the key");
        std::fs::remove_file(d.path().join("h.vh")).unwrap();
        assert_ne!(key(), key(), "an unresolved include is never reused");
    }
}
