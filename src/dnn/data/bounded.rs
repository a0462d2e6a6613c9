//! Bounded reads of data files: a file (or device, or pipe) larger than the
//! limit of its kind is refused with a one-line error after reading at most
//! limit + 1 bytes, so `--data /dev/zero` cannot exhaust memory; gzip
//! streams are bounded by their decompressed size the same way.
//!
//! (A size-limited reader for every input of fpec is being added to
//! `src/util.rs` on another branch; this one is local to the data loaders
//! until the two are unified.)

use crate::util::usage;
use anyhow::Result;
use std::io::Read;
use std::path::Path;

/// Limit of one image file (JPEG/PNG) of an image folder.
pub const MAX_IMAGE_FILE: u64 = 64 << 20;
/// Limit of a text data file (the digits CSV), after decompression.
pub const MAX_TEXT_FILE: u64 = 256 << 20;
/// Limit of a tensor file (IDX, `.npy`, `.npz` and each array in it), after
/// decompression. Data sets are held in memory as f64 (8 bytes a value), so
/// a 1 GiB uint8 file already needs 8 GiB.
pub const MAX_TENSOR_FILE: u64 = 1 << 30;

/// Human size of a limit (MiB or GiB).
pub fn human(bytes: u64) -> String {
    if bytes >= 1 << 30 && bytes % (1 << 30) == 0 {
        format!("{} GiB", bytes >> 30)
    } else {
        format!("{} MiB", bytes >> 20)
    }
}

/// Reads at most `limit` bytes from `r`; more is a usage error naming `what`.
pub fn read_limited(mut r: impl Read, limit: u64, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    (&mut r)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| usage(format!("cannot read {what}: {e}")))?;
    if out.len() as u64 > limit {
        return Err(usage(format!(
            "{what}: larger than {} (the limit for this kind of data file)",
            human(limit)
        )));
    }
    Ok(out)
}

/// Reads the whole file `path`, refusing more than `limit` bytes.
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path)
        .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
    if let Ok(m) = f.metadata() {
        if m.is_dir() {
            return Err(usage(format!(
                "{} is a folder, expected a file",
                path.display()
            )));
        }
        if m.is_file() && m.len() > limit {
            return Err(usage(format!(
                "{}: {} bytes, larger than {} (the limit for this kind of data file)",
                path.display(),
                m.len(),
                human(limit)
            )));
        }
    }
    read_limited(f, limit, &path.display().to_string())
}

/// Reads `path`, gunzipping it when it starts with the gzip magic; both the
/// file and its decompressed content are bounded by `limit`.
pub fn read_maybe_gz(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let raw = read_file(path, limit)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let what = format!("{} (decompressed)", path.display());
        read_limited(flate2::read::GzDecoder::new(&raw[..]), limit, &what).map_err(|e| {
            let msg = format!("{e:#}");
            if msg.contains("larger than") {
                e
            } else {
                usage(format!("{}: bad gzip data ({msg})", path.display()))
            }
        })
    } else {
        Ok(raw)
    }
}
