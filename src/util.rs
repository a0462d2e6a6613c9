//! Shared plumbing: user-error kind (exit code 2), atomic file output with
//! the user's umask, the one output rule of every command that writes
//! ([`check_out_dir`]: never `/` or the current folder or a file;
//! [`check_overwritable`] / [`record_written`]: never overwrite what fpec
//! did not write), size-limited reads of user files ([`read_limited`]),
//! and cleanup on SIGINT/SIGTERM (temporary folders and child processes
//! registered here are removed/killed before exiting).

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A bad request by the user (bad flag value, bad input file). The CLI exits
/// with code 2 and prints the one-line message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Returns an `anyhow::Error` carrying a [`UsageError`].
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// Turns any error into a [`UsageError`] (exit 2), keeping its message chain
/// on one line.
pub fn as_usage(e: anyhow::Error) -> anyhow::Error {
    if e.downcast_ref::<UsageError>().is_some() {
        return e;
    }
    usage(format!("{e:#}"))
}

/// The process umask (read from /proc/self/status; 0o022 when unknown).
pub fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// Gives `path` the mode a plain `create` would (0666 minus the umask):
/// `tempfile` creates 0600 files.
pub fn set_default_mode(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666 & !umask()))
            .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    }
    Ok(())
}

/// Writes `value` to `path` atomically ([`write_atomic`]) as pretty JSON
/// with a final newline: every JSON result file fpec writes.
pub fn write_json_atomic(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    write_atomic(
        path,
        (serde_json::to_string_pretty(value)? + "\n").as_bytes(),
    )
}

/// Writes `contents` to `path` atomically: a temporary file in the same
/// folder, then a rename, so readers never see a half-written file. The file
/// gets the user's umask (not tempfile's 0600).
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(usage(format!(
            "{} is a folder; give a file name",
            path.display()
        )));
    }
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, contents)
        .with_context(|| format!("cannot write {}", path.display()))?;
    set_default_mode(tmp.path())?;
    tmp.persist(path)
        .with_context(|| format!("cannot rename into {}", path.display()))?;
    Ok(())
}

/// Paths to remove and process groups to kill if the process is interrupted.
/// Each entry: a path, and where to rename it back to (when that is missing)
/// instead of removing it.
static CLEANUP: Mutex<Vec<(PathBuf, Option<PathBuf>)>> = Mutex::new(Vec::new());
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Registers a temporary path (file or folder) removed on SIGINT/SIGTERM;
/// dropping the guard unregisters it (it does not remove the path).
#[must_use]
pub struct CleanupGuard(PathBuf);

impl CleanupGuard {
    /// Registers `p` for removal.
    pub fn new(p: &Path) -> Self {
        Self::register(p, None)
    }
    /// Registers `p` to be renamed back to `to` if `to` is missing by then
    /// (else removed): the previous contents of a folder being replaced.
    pub fn restore(p: &Path, to: &Path) -> Self {
        let to = std::path::absolute(to).unwrap_or_else(|_| to.to_path_buf());
        Self::register(p, Some(to))
    }
    fn register(p: &Path, to: Option<PathBuf>) -> Self {
        let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        if let Ok(mut v) = CLEANUP.lock() {
            v.push((p.clone(), to));
        }
        CleanupGuard(p)
    }
}

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        if let Ok(mut v) = CLEANUP.lock() {
            if let Some(i) = v.iter().rposition(|x| x.0 == self.0) {
                v.remove(i);
            }
        }
    }
}

/// A running child process killed (with its process group) on
/// SIGINT/SIGTERM; unregistered on drop.
pub struct ChildGuard(u32);

impl ChildGuard {
    /// Registers `child`.
    pub fn new(child: &std::process::Child) -> Self {
        if let Ok(mut v) = CHILDREN.lock() {
            v.push(child.id());
        }
        ChildGuard(child.id())
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(mut v) = CHILDREN.lock() {
            v.retain(|&p| p != self.0);
        }
    }
}

/// Puts a command's process in its own process group, so that an interrupt
/// can kill it together with everything it started (g++ and its cc1plus).
pub fn own_group(cmd: &mut std::process::Command) -> &mut std::process::Command {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    cmd
}

/// `cmd.output()`, with the child in its own process group, killed on
/// SIGINT/SIGTERM.
pub fn output(cmd: &mut std::process::Command) -> std::io::Result<std::process::Output> {
    use std::process::Stdio;
    own_group(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn()?;
    let _g = ChildGuard::new(&child);
    child.wait_with_output()
}

/// Kills the registered children and removes the registered paths.
fn cleanup_now() {
    let kids: Vec<u32> = CHILDREN.lock().map(|v| v.clone()).unwrap_or_default();
    for pid in kids {
        #[cfg(unix)]
        // SAFETY: kill(2) with a negative pid signals a process group.
        unsafe {
            libc::kill(-(pid as i32), libc::SIGKILL);
            libc::kill(pid as i32, libc::SIGKILL);
        }
    }
    let paths: Vec<(PathBuf, Option<PathBuf>)> =
        CLEANUP.lock().map(|v| v.clone()).unwrap_or_default();
    for (p, to) in paths.iter().rev() {
        if let Some(to) = to {
            if p.exists() && !to.exists() && std::fs::rename(p, to).is_ok() {
                continue;
            }
        }
        if p.is_dir() {
            let _ = std::fs::remove_dir_all(p);
        } else {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(unix)]
static SIG_PIPE_W: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

#[cfg(unix)]
extern "C" fn on_signal(sig: libc::c_int) {
    let fd = SIG_PIPE_W.load(std::sync::atomic::Ordering::Relaxed);
    let b = sig as u8;
    // SAFETY: write(2) is async-signal-safe.
    unsafe {
        libc::write(fd, &b as *const u8 as *const libc::c_void, 1);
    }
}

/// Installs the SIGINT/SIGTERM handler: a thread woken through a pipe kills
/// the registered children, removes the registered temporary paths and exits
/// with 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
pub fn install_signal_cleanup() {
    #[cfg(unix)]
    {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: plain pipe(2) and sigaction(2) calls on owned descriptors.
        unsafe {
            if libc::pipe(fds.as_mut_ptr()) != 0 {
                return;
            }
            SIG_PIPE_W.store(fds[1], std::sync::atomic::Ordering::Relaxed);
            let r = fds[0];
            std::thread::spawn(move || {
                let mut b = 0u8;
                loop {
                    let n = libc::read(r, &mut b as *mut u8 as *mut libc::c_void, 1);
                    if n == 1 {
                        break;
                    }
                    if n == 0 {
                        return;
                    }
                }
                cleanup_now();
                eprintln!("fpec: interrupted (signal {b}); temporary files removed");
                std::process::exit(128 + b as i32);
            });
            for sig in [libc::SIGINT, libc::SIGTERM] {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut sa.sa_mask);
                sa.sa_flags = libc::SA_RESTART;
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
    }
}

/// Is process `pid` alive?
pub fn pid_alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    // SAFETY: kill(pid, 0) only checks for existence.
    let r = unsafe { libc::kill(pid as i32, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// [`output`] as a method: `Command::new(..).args(..).output_guarded()`.
pub trait RunGuarded {
    /// Runs to completion in its own process group, killed on SIGINT/SIGTERM.
    fn output_guarded(&mut self) -> std::io::Result<std::process::Output>;
}

impl RunGuarded for std::process::Command {
    fn output_guarded(&mut self) -> std::io::Result<std::process::Output> {
        output(self)
    }
}

/// Parses an integer flag value and checks it against `lo..=hi`; negative
/// values get the same range message (the flag must also be declared with
/// `allow_negative_numbers = true` so clap hands "-1" over as a value).
pub fn parse_ranged(s: &str, label: &str, lo: i128, hi: i128) -> Result<i128, String> {
    let v: i128 = s
        .trim()
        .parse()
        .map_err(|_| format!("{label} '{s}' is not an integer (allowed {lo}..={hi})"))?;
    if !(lo..=hi).contains(&v) {
        return Err(format!("{label} {v} is out of range (allowed {lo}..={hi})"));
    }
    Ok(v)
}

/// Defines a clap value parser `fn $name(&str) -> Result<$t, String>` for an
/// integer flag with range `$lo..=$hi` (see [`parse_ranged`]).
#[macro_export]
macro_rules! ranged_arg {
    ($name:ident, $t:ty, $label:expr, $lo:expr, $hi:expr) => {
        #[doc = concat!("clap value parser of ", $label, ".")]
        pub fn $name(s: &str) -> Result<$t, String> {
            $crate::util::parse_ranged(s, $label, $lo as i128, $hi as i128).map(|v| v as $t)
        }
    };
}

/// Parses one `--param NAME=VALUE` (the one parser of verify, synth and
/// energy): NAME is a Verilog identifier, VALUE an integer in decimal
/// (`8`, `-3`) or a Verilog literal (`8'd3`, `'hff`, `4'b1010`, `'sd5`;
/// underscores allowed).
pub fn parse_param(s: &str) -> anyhow::Result<(String, i64)> {
    let bad = || {
        usage(format!(
            "--param '{s}' is not NAME=VALUE with an integer VALUE (allowed: 8, -3, 8'd3, 'hff, 4'b1010)"
        ))
    };
    let (k, v) = s.split_once('=').ok_or_else(bad)?;
    let (k, v) = (k.trim(), v.trim().replace('_', ""));
    let ident = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ident {
        return Err(bad());
    }
    let value = match v.split_once('\'') {
        None => v.parse::<i64>().ok(),
        Some((width, lit)) => {
            let width_ok =
                width.is_empty() || width.parse::<u32>().is_ok_and(|w| (1..=64).contains(&w));
            let lit = lit.strip_prefix(['s', 'S']).unwrap_or(lit);
            let mut cs = lit.chars();
            let radix = match cs.next().map(|c| c.to_ascii_lowercase()) {
                Some('d') => Some(10),
                Some('h') => Some(16),
                Some('b') => Some(2),
                Some('o') => Some(8),
                _ => None,
            };
            match radix {
                Some(r) if width_ok && !cs.as_str().is_empty() => {
                    i64::from_str_radix(cs.as_str(), r).ok()
                }
                _ => None,
            }
        }
    };
    Ok((k.to_string(), value.ok_or_else(bad)?))
}

/// Largest model file (`--model`) read (bytes).
pub const MAX_MODEL_BYTES: u64 = 256 << 20;
/// Largest data file (`--data`, CSV/IDX) read (bytes).
pub const MAX_DATA_BYTES: u64 = 256 << 20;

/// Reads at most `limit` bytes of `path` (`what` names the flag); a larger
/// file, or a device or FIFO that keeps giving bytes (`/dev/zero`), is a
/// usage error naming the file and the limit, after reading at most
/// `limit + 1` bytes. Folders are refused before reading.
pub fn read_limited(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    if path.is_dir() {
        return Err(usage(format!(
            "{what} {} is a folder (allowed: a file of at most {limit} bytes)",
            path.display()
        )));
    }
    let f = std::fs::File::open(path).map_err(|e| {
        usage(format!(
            "{what} {}: cannot read: {e} (allowed: a readable file of at most {limit} bytes)",
            path.display()
        ))
    })?;
    let mut buf = Vec::new();
    f.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| usage(format!("{what} {}: cannot read: {e}", path.display())))?;
    if buf.len() as u64 > limit {
        return Err(usage(format!(
            "{what} {} is larger than {limit} bytes (allowed at most {limit} bytes)",
            path.display()
        )));
    }
    Ok(buf)
}

/// [`read_limited`] as UTF-8 text.
pub fn read_text_limited(path: &Path, limit: u64, what: &str) -> Result<String> {
    let b = read_limited(path, limit, what)?;
    String::from_utf8(b).map_err(|_| {
        usage(format!(
            "{what} {} is not UTF-8 text (allowed: UTF-8)",
            path.display()
        ))
    })
}

// ---------------------------------------------------------------- outputs

/// The record of the files fpec wrote in an output folder: one
/// `<hash> <name>` line per file, so a later run overwrites a file only
/// when it is still what fpec wrote.
pub const WRITTEN_RECORD: &str = ".fpec-written";

/// Checks an output folder (`flag` names the option) before any work:
/// not `/`, not the current folder (`.`, `./`, its absolute path), not an
/// existing file, and creatable (its nearest existing ancestor is a
/// writable folder). A usage error otherwise; nothing is created.
pub fn check_out_dir(dir: &Path, flag: &str) -> Result<()> {
    // An empty path (the folder of a bare file name) is the current one.
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let real = abs.canonicalize().unwrap_or_else(|_| abs.clone());
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|c| c.canonicalize().ok());
    if real.parent().is_none() || Some(&real) == cwd.as_ref() {
        return Err(usage(format!(
            "{flag} {} is {} (allowed: a folder of its own, not / or the current folder)",
            dir.display(),
            if real.parent().is_none() {
                "/"
            } else {
                "the current folder"
            }
        )));
    }
    if abs.exists() && !abs.is_dir() {
        return Err(usage(format!(
            "{flag} {} is a file (allowed: a folder, existing or not)",
            dir.display()
        )));
    }
    let mut anc = abs.as_path();
    while !anc.exists() {
        match anc.parent() {
            Some(p) => anc = p,
            None => break,
        }
    }
    if !anc.is_dir() {
        return Err(usage(format!(
            "{flag} {}: {} is a file, so the folder cannot be created (allowed: a path below folders)",
            dir.display(),
            anc.display()
        )));
    }
    #[cfg(unix)]
    {
        let c = std::ffi::CString::new(anc.as_os_str().as_encoded_bytes()).ok();
        // SAFETY: access(2) on a NUL-terminated path.
        let ok = c.is_some_and(|c| unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0);
        if !ok {
            return Err(usage(format!(
                "{flag} {}: {} is not writable (allowed: a folder you can write in)",
                dir.display(),
                anc.display()
            )));
        }
    }
    Ok(())
}

fn content_hash(bytes: &[u8]) -> String {
    let mut h = crate::toolchain::cache::Hasher::default();
    h.feed(bytes);
    h.hex()
}

fn read_record(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join(WRITTEN_RECORD))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(h, n)| (h.to_string(), n.to_string()))
        .collect()
}

/// Refuses (usage error, before any work) to overwrite a file of `group`
/// in `dir` that fpec did not write: an existing file is fpec's when
/// [`WRITTEN_RECORD`] holds its current hash, or (outputs of fpec versions
/// before the record) when `group[0]` begins with `header`.
pub fn check_overwritable(dir: &Path, flag: &str, group: &[&str], header: &str) -> Result<()> {
    let record = read_record(dir);
    let legacy = std::fs::read(dir.join(group.first().copied().unwrap_or("")))
        .is_ok_and(|b| b.starts_with(header.as_bytes()));
    for name in group {
        let p = dir.join(name);
        if p.is_dir() {
            return Err(usage(format!(
                "{flag} {} holds a folder {name} where fpec writes a file; move it away first",
                dir.display()
            )));
        }
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        let h = content_hash(&bytes);
        let recorded = record.iter().any(|(rh, rn)| rn == name && *rh == h);
        if !recorded && !legacy {
            return Err(usage(format!(
                "{flag} {} holds {name}, which fpec did not write (or which was edited since); refusing to overwrite it (move it away or choose another {flag})",
                dir.display()
            )));
        }
    }
    Ok(())
}

/// Records the current hashes of the files of `group` that exist in `dir`
/// in [`WRITTEN_RECORD`] (atomically, keeping other entries).
pub fn record_written(dir: &Path, group: &[&str]) -> Result<()> {
    let mut record: Vec<(String, String)> = read_record(dir)
        .into_iter()
        .filter(|(_, n)| !group.contains(&n.as_str()))
        .collect();
    for name in group {
        if let Ok(bytes) = std::fs::read(dir.join(name)) {
            record.push((content_hash(&bytes), name.to_string()));
        }
    }
    let text: String = record.iter().map(|(h, n)| format!("{h} {n}\n")).collect();
    write_atomic(&dir.join(WRITTEN_RECORD), text.as_bytes())
}

/// Checks an output file given with `flag` before any work: not a folder,
/// in a folder that exists (and is a folder).
pub fn check_out_file(p: &Path, flag: &str) -> Result<()> {
    if p.as_os_str().is_empty() || p.is_dir() {
        return Err(usage(format!(
            "{flag} {} is a folder (allowed: a file name)",
            p.display()
        )));
    }
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(usage(format!(
            "{flag} {}: folder {} does not exist (allowed: a file in an existing folder)",
            p.display(),
            parent.display()
        )));
    }
    Ok(())
}

/// The default output folder of a merge: the first input when it is a
/// folder, else the folder that holds it.
pub fn default_merge_out(inputs: &[PathBuf]) -> PathBuf {
    match inputs.first() {
        Some(d) if d.is_dir() => d.clone(),
        Some(f) => f
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        None => PathBuf::from("."),
    }
}

/// The output folder of a merge, checked before any shard is read: `--out`
/// (default [`default_merge_out`]) passes [`check_out_dir`] and
/// [`check_overwritable`] for the report files `group` (first one begins
/// with `header`).
pub fn merge_out_dir(
    out: Option<&Path>,
    inputs: &[PathBuf],
    group: &[&str],
    header: &str,
) -> Result<PathBuf> {
    let out = out.map_or_else(|| default_merge_out(inputs), Path::to_path_buf);
    check_out_dir(&out, "--out")?;
    check_overwritable(&out, "--out", group, header)?;
    Ok(out)
}
