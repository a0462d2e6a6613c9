//! The data-set selection of the `fpec dnn` commands, without the CLI:
//! which source (`--dataset`, `--data` CSV / image folder / `.npy` / `.npz`,
//! an IDX pair), the calibration set (`--calib`, else the fixed split), the
//! normalization (`--mean`/`--std`) and the quick-run selection (`--limit`,
//! `--subset-seed`), and the checks against the model's input (shape,
//! classes) that run before any work.
//!
//! `--limit N` caps each set used (test, calibration, training) at N
//! images: the first N, or with `--subset-seed` a seeded uniform subset,
//! kept in file order.

use super::images::{open_image_folder, ImageFolderOptions};
use super::npy::{load_npy, load_npz, Layout};
use super::{check_input_shape, load_cli, load_named, Dataset, Named, Source, Splits};
use crate::util::usage;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// What the user asked for (the fields of the CLI's data argument group).
#[derive(Debug, Clone, Default)]
pub struct DataSpec {
    /// A data set shipped in `data/`.
    pub dataset: Option<Named>,
    /// Digits CSV, image folder, `.npy` (with `labels`) or `.npz`.
    pub data: Option<PathBuf>,
    /// Labels `.npy` of a `.npy` `data`.
    pub labels: Option<PathBuf>,
    /// IDX image file (with `idx_labels`).
    pub idx_images: Option<PathBuf>,
    /// IDX label file (with `idx_images`).
    pub idx_labels: Option<PathBuf>,
    /// Layout of 4-D tensors of `.npy`/`.npz` data.
    pub layout: Option<Layout>,
    /// A calibration set separate from the test set (same kinds as `data`).
    pub calib: Option<PathBuf>,
    /// Labels `.npy` of a `.npy` `calib`.
    pub calib_labels: Option<PathBuf>,
    /// Normalization and `--limit`/`--subset-seed`.
    pub norm: ImageFolderOptions,
}

/// What the model expects of its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInput {
    /// Input shape [C, H, W].
    pub shape: [usize; 3],
    /// Number of outputs (labels must be below it).
    pub classes: usize,
}

/// The sets of one run. `train` exists only under the fixed split.
pub struct Selection {
    /// Training part (fixed split only).
    pub train: Option<Box<dyn Source>>,
    /// Calibration set (`--calib`, or the split's calibration part).
    pub calibration: Box<dyn Source>,
    /// Test set (`--data` whole with `--calib`, else the split's test part).
    pub test: Box<dyn Source>,
    /// How the sets were chosen, one line for logs and reports.
    pub summary: String,
}

fn ext(p: &Path) -> String {
    p.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// True when `p` is an image folder (decoded on demand).
fn is_folder(p: &Path) -> bool {
    p.is_dir()
}

/// Opens one path given as `--data` or `--calib`: an image folder (decoded
/// on demand), `.npy` + labels, `.npz`, else the digits CSV. `limit` false
/// when the fixed split still has to be taken (the limit then applies to
/// each part).
fn open_path(
    flag: &str,
    p: &Path,
    labels: Option<&Path>,
    spec: &DataSpec,
    limit: bool,
) -> Result<Box<dyn Source>> {
    let mut norm = spec.norm.clone();
    if !limit {
        norm.limit = None;
    }
    let e = ext(p);
    if labels.is_some() && e != "npy" {
        return Err(usage(format!(
            "{flag} {}: a labels file goes only with a .npy image tensor",
            p.display()
        )));
    }
    if spec.layout.is_some() && !matches!(e.as_str(), "npy" | "npz") {
        return Err(usage(format!(
            "--layout applies to .npy/.npz tensors, not to {flag} {}",
            p.display()
        )));
    }
    if is_folder(p) {
        return Ok(Box::new(open_image_folder(p, &norm)?));
    }
    let d = match e.as_str() {
        "npy" => {
            let Some(l) = labels else {
                let lf = if flag == "--data" {
                    "--labels"
                } else {
                    "--calib-labels"
                };
                return Err(usage(format!(
                    "{flag} {} is a .npy image tensor: give its labels with {lf} FILE.npy (or use one .npz holding both)",
                    p.display()
                )));
            };
            load_npy(p, l, spec.layout, &norm)?
        }
        "npz" => load_npz(p, spec.layout, &norm)?,
        _ => normalized(
            super::load_digits(p)?,
            &norm,
            &format!("{flag} {}", p.display()),
        )?,
    };
    Ok(Box::new(d))
}

/// Applies mean/std (when given) and the limit to an in-memory set whose
/// pixels are in [0, 1] (digits CSV, IDX, the shipped sets).
fn normalized(mut d: Dataset, norm: &ImageFolderOptions, what: &str) -> Result<Dataset> {
    if !norm.mean.is_empty() || !norm.std.is_empty() {
        let (mean, std) = norm.normalization(d.shape[0], what)?;
        let hw = d.shape[1] * d.shape[2];
        for img in &mut d.images {
            for (i, v) in img.iter_mut().enumerate() {
                let c = i / hw;
                *v = (*v - mean[c]) / std[c];
            }
        }
    }
    Ok(limited(d, norm))
}

/// Keeps the `--limit`/`--subset-seed` selection of an in-memory set.
fn limited(d: Dataset, norm: &ImageFolderOptions) -> Dataset {
    let keep = norm.select(d.len());
    if keep.len() == d.len() {
        return d;
    }
    Dataset {
        shape: d.shape,
        images: keep.iter().map(|&i| d.images[i].clone()).collect(),
        labels: keep.iter().map(|&i| d.labels[i]).collect(),
        classes: d.classes,
    }
}

/// The one error of a split part left empty: names the rarest label.
fn check_split(d: &Dataset, s: &Splits) -> Result<()> {
    for (name, part) in [
        ("training", &s.train),
        ("calibration", &s.calibration),
        ("test", &s.test),
    ] {
        if part.is_empty() {
            let mut count = [0usize; 256];
            for &l in &d.labels {
                count[l as usize] += 1;
            }
            let (lab, n) = count
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .min_by_key(|(_, &c)| c)
                .map_or((0, 0), |(l, &c)| (l, c));
            return Err(usage(format!(
                "the data set is too small: its {name} split is empty (the split is per label and needs at least 5 samples of a label; label {lab} has {n}, labels seen: {})",
                count.iter().filter(|&&c| c > 0).count()
            )));
        }
    }
    Ok(())
}

/// Checks one set against the model: input shape and class count.
fn check_model(src: &dyn Source, m: &ModelInput, name: &str) -> Result<()> {
    check_input_shape(src, m.shape, name)?;
    if src.classes() > m.classes {
        return Err(usage(format!(
            "{name}: {} classes but the model has {} outputs (labels must be 0..={})",
            src.classes(),
            m.classes,
            m.classes.saturating_sub(1)
        )));
    }
    Ok(())
}

impl DataSpec {
    fn check_flags(&self) -> Result<()> {
        let custom = self.data.is_some() || self.idx_images.is_some() || self.idx_labels.is_some();
        if self.data.is_some() && (self.idx_images.is_some() || self.idx_labels.is_some()) {
            return Err(usage(
                "--data conflicts with --idx-images/--idx-labels; give the CSV or the IDX pair",
            ));
        }
        if custom && self.dataset.is_some() {
            return Err(usage(
                "--dataset conflicts with --data/--idx-images/--idx-labels; give one data source",
            ));
        }
        if self.labels.is_some() && self.data.is_none() {
            return Err(usage("--labels goes with --data FILE.npy"));
        }
        if self.calib_labels.is_some() && self.calib.is_none() {
            return Err(usage("--calib-labels goes with --calib FILE.npy"));
        }
        if self.norm.subset_seed.is_some() && self.norm.limit.is_none() {
            return Err(usage("--subset-seed needs --limit N (the subset's size)"));
        }
        Ok(())
    }

    /// The named set, when one applies: `--dataset`, or mnist-10k for a
    /// 28x28 model given no data.
    fn named(&self, model: Option<&ModelInput>) -> Option<Named> {
        let custom = self.data.is_some() || self.idx_images.is_some() || self.idx_labels.is_some();
        self.dataset.or(match model {
            Some(m) if !custom && m.shape == [1, 28, 28] => Some(Named::Mnist10k),
            _ => None,
        })
    }

    /// The test set's source as given (before any split), normalized, and
    /// limited unless the split is still to be taken.
    fn open_test(
        &self,
        model: Option<&ModelInput>,
        split: bool,
    ) -> Result<(String, Box<dyn Source>)> {
        let mut norm = self.norm.clone();
        if split {
            norm.limit = None;
        }
        if let Some(n) = self.named(model) {
            let v = clap::ValueEnum::to_possible_value(&n);
            let name = format!(
                "--dataset {}",
                v.map_or_else(String::new, |v| v.get_name().to_string())
            );
            let d = normalized(load_named(n)?, &norm, &name)?;
            return Ok((name, Box::new(d)));
        }
        match &self.data {
            Some(p) => Ok((
                format!("--data {}", p.display()),
                open_path("--data", p, self.labels.as_deref(), self, !split)?,
            )),
            None => {
                let d = load_cli(None, self.idx_images.as_deref(), self.idx_labels.as_deref())?;
                let name = match &self.idx_images {
                    Some(p) => format!("--idx-images {}", p.display()),
                    None => "the digits data set".to_string(),
                };
                Ok((name.clone(), Box::new(normalized(d, &norm, &name)?)))
            }
        }
    }

    /// The `--data` set whole (no split, no calibration set), normalized and
    /// limited, with its name: what `fpec dnn export-data` writes.
    pub fn open_whole(&self) -> Result<(String, Box<dyn Source>)> {
        self.check_flags()?;
        if self.calib.is_some() {
            return Err(usage(
                "--calib does not apply here: the whole --data is used",
            ));
        }
        self.open_test(None, false)
    }

    /// Opens the sets of a run and checks them against the model (when
    /// given) before any work. With `--calib` the whole `--data` is the
    /// test set; else the fixed stratified split of `--data` gives the
    /// three parts (read into memory).
    pub fn open(&self, model: Option<&ModelInput>) -> Result<Selection> {
        self.check_flags()?;
        let split = self.calib.is_none();
        let (name, test) = self.open_test(model, split)?;
        if let Some(m) = model {
            check_model(test.as_ref(), m, &name)?;
        }
        if let Some(cp) = &self.calib {
            let cname = format!("--calib {}", cp.display());
            let calib = open_path("--calib", cp, self.calib_labels.as_deref(), self, true)?;
            if let Some(m) = model {
                check_model(calib.as_ref(), m, &cname)?;
            }
            if calib.shape() != test.shape() {
                let (a, b) = (calib.shape(), test.shape());
                return Err(usage(format!(
                    "{cname}: images are {}x{}x{} but the test set {name} has {}x{}x{}",
                    a[0], a[1], a[2], b[0], b[1], b[2]
                )));
            }
            let summary = format!(
                "test: {name} ({} images); calibration: {cname} ({} images)",
                test.len(),
                calib.len()
            );
            return Ok(Selection {
                train: None,
                calibration: calib,
                test,
                summary,
            });
        }
        let whole = test.batch(0, test.len())?;
        let s = whole.split();
        check_split(&whole, &s)?;
        let (tr, ca, te) = (
            limited(s.train, &self.norm),
            limited(s.calibration, &self.norm),
            limited(s.test, &self.norm),
        );
        let summary = format!(
            "{name}, fixed split: test {} images, calibration {} images",
            te.len(),
            ca.len()
        );
        Ok(Selection {
            train: Some(Box::new(tr)),
            calibration: Box::new(ca),
            test: Box::new(te),
            summary,
        })
    }

    /// [`DataSpec::open`] read into memory (the three parts; training is
    /// empty with `--calib`).
    pub fn load(&self, model: Option<&ModelInput>) -> Result<Splits> {
        let s = self.open(model)?;
        let all = |src: &dyn Source| src.batch(0, src.len());
        let test = all(s.test.as_ref())?;
        let train = match &s.train {
            Some(t) => all(t.as_ref())?,
            None => Dataset {
                shape: test.shape,
                images: vec![],
                labels: vec![],
                classes: test.classes,
            },
        };
        Ok(Splits {
            train,
            calibration: all(s.calibration.as_ref())?,
            test,
        })
    }
}
