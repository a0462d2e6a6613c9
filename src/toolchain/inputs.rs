//! The one validation layer for what reaches an external tool: module and
//! parameter names (plain Verilog identifiers only), paths written into a
//! tool script (no blanks, quotes, `;`, `#`, control characters), manifest
//! file entries (relative, resolving inside the design folder, symlinks
//! included) and size-limited reads. Every tool driver of [`super`] (the
//! Verilator build and lint, Icarus, the Yosys port probe and synthesis)
//! calls [`check_design`] before it starts a tool, and every manifest reader
//! resolves its `files` with [`resolve_inside`]; a value that fails is a
//! usage error (exit 2) naming it and what is allowed.

use crate::util::usage;
use anyhow::Result;
use std::path::{Component, Path, PathBuf};

/// Longest module or parameter name accepted.
pub const MAX_IDENT: usize = 256;

/// Largest Verilog source file fed to a tool (bytes).
pub const MAX_SOURCE_BYTES: u64 = 64 << 20;

/// Checks that `s` is a plain Verilog identifier (`[A-Za-z_][A-Za-z0-9_]*`,
/// at most [`MAX_IDENT`] characters); `what` names the flag or key.
pub fn ident(what: &str, s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= MAX_IDENT
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(usage(format!(
            "{what} {:?} is not a Verilog identifier (allowed: a letter or _ then letters, digits, _; at most {MAX_IDENT} characters)",
            shorten(s)
        )));
    }
    Ok(())
}

/// `s` cut to 80 characters for messages.
pub fn shorten(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_string()
    } else {
        s.chars().take(77).collect::<String>() + "..."
    }
}

/// The absolute form of `p` as text that can be written into a Yosys or
/// tool script unquoted: valid UTF-8 without blanks, quotes, `;`, `#`, `\`
/// or control characters.
pub fn script_path(p: &Path) -> Result<String> {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let Some(s) = abs.to_str() else {
        return Err(usage(format!(
            "path {} is not valid UTF-8 (allowed: UTF-8 paths without blanks, quotes, ';', '#', '\\')",
            abs.display()
        )));
    };
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || "\"';#\\`$".contains(c))
    {
        return Err(usage(format!(
            "path {:?} cannot be passed to the tools (allowed: no blanks, quotes, ';', '#', '\\', '`', '$' or control characters)",
            shorten(s)
        )));
    }
    Ok(s.to_string())
}

/// Checks one Verilog source given to a tool: a regular file (not a
/// folder, device or FIFO) of at most [`MAX_SOURCE_BYTES`] (tools take it
/// as an argument, never through a shell; scripts check [`script_path`]
/// too).
pub fn source_file(p: &Path) -> Result<()> {
    let meta =
        std::fs::metadata(p).map_err(|e| usage(format!("Verilog file {}: {e}", p.display())))?;
    if !meta.is_file() {
        return Err(usage(format!(
            "Verilog file {} is not a regular file (allowed: a regular file)",
            p.display()
        )));
    }
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(usage(format!(
            "Verilog file {} has {} bytes (allowed at most {MAX_SOURCE_BYTES})",
            p.display(),
            meta.len()
        )));
    }
    Ok(())
}

/// The checks every tool driver makes before starting a tool: the top and
/// every parameter name are identifiers, every file is a readable regular
/// source of bounded size.
pub fn check_design<'a>(
    top: &str,
    files: &[PathBuf],
    params: impl IntoIterator<Item = &'a String>,
) -> Result<()> {
    ident("top", top)?;
    for k in params {
        ident("parameter", k)?;
    }
    if files.is_empty() {
        return Err(usage("no Verilog file given (need at least one)"));
    }
    for f in files {
        source_file(f)?;
    }
    Ok(())
}

/// Resolves manifest entry `entry` (`what` names the key) against the
/// design folder `dir`: it must be a relative path without `..`, naming a
/// regular file whose real path (symlinks resolved) lies inside the real
/// path of `dir`. Returns `dir/entry` (as given, not canonicalized, so
/// reports name what the manifest names).
pub fn resolve_inside(dir: &Path, entry: &str, what: &str) -> Result<PathBuf> {
    let rel = Path::new(entry);
    let plain = !entry.is_empty()
        && rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !plain {
        return Err(usage(format!(
            "{what} {:?} is not a file inside the design folder {} (allowed: relative paths without '..')",
            shorten(entry),
            dir.display()
        )));
    }
    let p = dir.join(rel);
    let real_dir = dir
        .canonicalize()
        .map_err(|e| usage(format!("design folder {}: {e}", dir.display())))?;
    let real = p.canonicalize().map_err(|_| {
        usage(format!(
            "{what} {} does not exist (relative to {}; allowed: Verilog files inside it)",
            shorten(entry),
            dir.display()
        ))
    })?;
    if !real.starts_with(&real_dir) {
        return Err(usage(format!(
            "{what} {:?} resolves to {} outside the design folder {} (allowed: files inside it; symlinks out are refused)",
            shorten(entry),
            real.display(),
            real_dir.display()
        )));
    }
    if !real.is_file() {
        return Err(usage(format!(
            "{what} {:?} is not a regular file (allowed: Verilog files inside {})",
            shorten(entry),
            dir.display()
        )));
    }
    Ok(p)
}

/// Reads at most `limit` bytes of `path`; more is a usage error naming the
/// file, its size and the limit (devices and FIFOs are read up to the limit
/// only, so `/dev/zero` cannot exhaust memory).
pub fn read_limited(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    crate::util::read_limited(path, limit, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in ["fpec_mac", "_x", "A1"] {
            assert!(ident("top", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "a;b",
            "a b",
            "a/b",
            "fpec_mac; exec -- touch /tmp/x;",
            "\\esc ",
            "a$",
        ] {
            assert!(ident("top", bad).is_err(), "{bad}");
        }
        assert!(ident("top", &"a".repeat(MAX_IDENT + 1)).is_err());
    }

    #[test]
    fn entries_stay_inside() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.v"), "module a; endmodule\n").unwrap();
        assert!(resolve_inside(d.path(), "a.v", "files").is_ok());
        assert!(resolve_inside(d.path(), "./a.v", "files").is_ok());
        for bad in ["/etc/passwd", "../a.v", "x/../a.v", "", "missing.v"] {
            assert!(resolve_inside(d.path(), bad, "files").is_err(), "{bad}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/passwd", d.path().join("l.v")).unwrap();
            assert!(resolve_inside(d.path(), "l.v", "files").is_err());
        }
    }
}
