//! Data sets for the accuracy studies: the UCI optical-recognition digits
//! (`data/digits.csv.gz`, see `data/README.md`) and MNIST-style IDX files.
//!
//! Pixels are scaled to [0, 1] (digits: value / 16; IDX: value / 255).
//! Every data set is split deterministically and stratified by class: the
//! p-th sample of a class (0-based, in file order) goes to calibration when
//! p mod 5 = 3, to test when p mod 5 = 4, and to training otherwise
//! (about 60/20/20 %). For the digits file this gives 1085/357/355.

use crate::util::usage;
use anyhow::Result;

/// Every data-file problem is a usage error (exit 2): the file is the user's.
macro_rules! bail {
    ($($t:tt)*) => {
        return Err(usage(format!($($t)*)))
    };
}
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A labelled image set. Images are flattened channel-major (C, H, W).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Image shape [C, H, W].
    pub shape: [usize; 3],
    /// One flattened image per sample, values in [0, 1].
    pub images: Vec<Vec<f64>>,
    /// Class label per sample.
    pub labels: Vec<u8>,
    /// Number of classes (max label + 1).
    pub classes: usize,
}

/// Which part of the fixed split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Training (p mod 5 in {0, 1, 2}).
    Train,
    /// Calibration: FB ranges and FPEC-Opt threshold search (p mod 5 = 3).
    Calibration,
    /// Test: every reported accuracy (p mod 5 = 4).
    Test,
}

/// The three parts of a data set.
#[derive(Debug, Clone)]
pub struct Splits {
    /// Training part.
    pub train: Dataset,
    /// Calibration part.
    pub calibration: Dataset,
    /// Test part.
    pub test: Dataset,
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Pixels per image.
    pub fn pixels(&self) -> usize {
        self.shape.iter().product()
    }
    /// Part of each sample under the fixed stratified rule (see module docs).
    pub fn parts(&self) -> Vec<Part> {
        let mut seen = vec![0usize; 256];
        self.labels
            .iter()
            .map(|&c| {
                let p = seen[c as usize];
                seen[c as usize] += 1;
                match p % 5 {
                    3 => Part::Calibration,
                    4 => Part::Test,
                    _ => Part::Train,
                }
            })
            .collect()
    }
    /// Samples of one part, in file order.
    pub fn part(&self, which: Part) -> Dataset {
        let parts = self.parts();
        let mut out = Dataset {
            shape: self.shape,
            images: Vec::new(),
            labels: Vec::new(),
            classes: self.classes,
        };
        for (i, p) in parts.iter().enumerate() {
            if *p == which {
                out.images.push(self.images[i].clone());
                out.labels.push(self.labels[i]);
            }
        }
        out
    }
    /// The fixed train/calibration/test split.
    pub fn split(&self) -> Splits {
        Splits {
            train: self.part(Part::Train),
            calibration: self.part(Part::Calibration),
            test: self.part(Part::Test),
        }
    }
    /// The first `n` samples (all when n >= len).
    pub fn take(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        Dataset {
            shape: self.shape,
            images: self.images[..n].to_vec(),
            labels: self.labels[..n].to_vec(),
            classes: self.classes,
        }
    }
}

/// The digits file shipped in the repository: `data/digits.csv.gz` relative
/// to the working directory if present, else in the crate source tree.
pub fn default_digits_path() -> PathBuf {
    let local = PathBuf::from("data/digits.csv.gz");
    if local.exists() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits.csv.gz")
    }
}

/// Loads the digits CSV (gzip or plain): 64 pixel values 0..=16 then the
/// label 0..=9 per line.
pub fn load_digits(path: &Path) -> Result<Dataset> {
    let raw =
        std::fs::read(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
    let text = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        GzDecoder::new(&raw[..])
            .read_to_string(&mut s)
            .map_err(|e| {
                usage(format!(
                    "{}: not a valid gzip text file ({e})",
                    path.display()
                ))
            })?;
        s
    } else {
        String::from_utf8(raw)
            .map_err(|e| usage(format!("{}: not UTF-8 text ({e})", path.display())))?
    };
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let vals: Vec<&str> = line.split(',').collect();
        if vals.len() != 65 {
            bail!(
                "{} line {}: expected 65 comma-separated values (64 pixels + label), found {}",
                path.display(),
                ln + 1,
                vals.len()
            );
        }
        let mut img = Vec::with_capacity(64);
        for v in &vals[..64] {
            let p: f64 = v.trim().parse().map_err(|_| {
                usage(format!(
                    "{} line {}: pixel '{v}' is not a number",
                    path.display(),
                    ln + 1
                ))
            })?;
            if !p.is_finite() || !(0.0..=16.0).contains(&p) {
                bail!(
                    "{} line {}: pixel {p} outside 0..=16",
                    path.display(),
                    ln + 1
                );
            }
            img.push(p / 16.0);
        }
        let lab: u8 = vals[64].trim().parse().map_err(|_| {
            usage(format!(
                "{} line {}: label '{}' is not an integer 0..=9",
                path.display(),
                ln + 1,
                vals[64]
            ))
        })?;
        if lab > 9 {
            bail!(
                "{} line {}: label {lab} outside 0..=9",
                path.display(),
                ln + 1
            );
        }
        images.push(img);
        labels.push(lab);
    }
    if images.is_empty() {
        bail!("{}: no samples", path.display());
    }
    Ok(Dataset {
        shape: [1, 8, 8],
        images,
        labels,
        classes: 10,
    })
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw =
        std::fs::read(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| usage(format!("{}: bad gzip data ({e})", path.display())))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Loads an MNIST-style IDX pair (optionally gzipped): images with magic
/// 0x00000803 and big-endian dims (count, rows, cols), labels with magic
/// 0x00000801 and dim (count). Pixels are scaled by 1/255.
pub fn load_idx(images: &Path, labels: &Path) -> Result<Dataset> {
    let ib = read_maybe_gz(images)?;
    let lb = read_maybe_gz(labels)?;
    let name_i = images.display();
    let name_l = labels.display();
    if ib.len() < 16 {
        bail!(
            "{name_i}: truncated IDX image header ({} bytes, need 16)",
            ib.len()
        );
    }
    let magic = be_u32(&ib, 0);
    if magic != 0x0000_0803 {
        bail!("{name_i}: bad IDX image magic 0x{magic:08x} (expected 0x00000803: unsigned bytes, 3 dims)");
    }
    let (n, rows, cols) = (be_u32(&ib, 4), be_u32(&ib, 8), be_u32(&ib, 12));
    if rows == 0 || cols == 0 {
        bail!("{name_i}: image dimensions {rows}x{cols} must be positive");
    }
    // Exact size in u128 (three u32 factors cannot overflow it), so the
    // message shows the real byte count, never a wrapped one.
    let need = 16u128 + n as u128 * rows as u128 * cols as u128;
    if (ib.len() as u128) < need {
        bail!(
            "{name_i}: truncated IDX image data: header says {n} images of {rows}x{cols} ({need} bytes) but the file has {} bytes",
            ib.len()
        );
    }
    // The file holds `need` bytes, so these products fit in usize.
    let (n, rows, cols) = (n as usize, rows as usize, cols as usize);
    if lb.len() < 8 {
        bail!(
            "{name_l}: truncated IDX label header ({} bytes, need 8)",
            lb.len()
        );
    }
    let magic = be_u32(&lb, 0);
    if magic != 0x0000_0801 {
        bail!("{name_l}: bad IDX label magic 0x{magic:08x} (expected 0x00000801: unsigned bytes, 1 dim)");
    }
    let nl = be_u32(&lb, 4) as usize;
    if (lb.len() as u128) < 8 + nl as u128 {
        bail!(
            "{name_l}: truncated IDX label data: header says {nl} labels but the file has {} label bytes",
            lb.len() - 8
        );
    }
    if nl != n {
        bail!("count mismatch: {name_i} holds {n} images but {name_l} holds {nl} labels");
    }
    if n == 0 {
        bail!("{name_i}: no images");
    }
    let px = rows * cols;
    let imgs: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            ib[16 + i * px..16 + (i + 1) * px]
                .iter()
                .map(|&b| b as f64 / 255.0)
                .collect()
        })
        .collect();
    let labs = lb[8..8 + n].to_vec();

    let classes = labs.iter().copied().max().unwrap_or(0) as usize + 1;
    Ok(Dataset {
        shape: [1, rows, cols],
        images: imgs,
        labels: labs,
        classes,
    })
}

/// Loads the data set chosen on the command line: an IDX pair when both are
/// given, else the digits CSV (`path` or the repository copy).
pub fn load_cli(
    digits: Option<&Path>,
    idx_images: Option<&Path>,
    idx_labels: Option<&Path>,
) -> Result<Dataset> {
    match (idx_images, idx_labels) {
        (Some(i), Some(l)) => load_idx(i, l),
        (None, None) => match digits {
            Some(p) => load_digits(p),
            None => load_digits(&default_digits_path()),
        },
        _ => Err(crate::util::usage(
            "--idx-images and --idx-labels must be given together",
        )),
    }
}
