//! Tensor data sets: a `.npy` image tensor with a `.npy` label vector, or an
//! `.npz` archive holding both (arrays `images`/`x` and `labels`/`y`).
//! Images are uint8 (scaled x / 255), float32 or float64 (taken as they
//! are), shape [N, C, H, W] (`--layout nchw`), [N, H, W, C] (`--layout
//! nhwc`; the layout of a 4-D tensor must be stated) or [N, H, W] (grey);
//! then `(x - mean) / std` per channel. Labels are an integer vector of N
//! values 0..=255. C-order arrays only (no Fortran order, no pickles).

use super::bounded::{read_file_magic, read_limited, MAX_TENSOR_FILE};
use super::images::ImageFolderOptions;
use super::Dataset;
use crate::util::usage;
use anyhow::Result;
use std::path::Path;

/// Memory order of a 4-D image tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// [N, C, H, W] (PyTorch, ONNX).
    Nchw,
    /// [N, H, W, C] (TensorFlow, image files).
    Nhwc,
}

/// Names tried, in order, for the image and label arrays of an `.npz`.
pub const NPZ_IMAGE_NAMES: [&str; 3] = ["images", "x", "data"];
/// See [`NPZ_IMAGE_NAMES`].
pub const NPZ_LABEL_NAMES: [&str; 3] = ["labels", "y", "targets"];

/// The first bytes of every `.npy` file.
const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// One array: shape and values (as f64; integers exactly).
struct Array {
    shape: Vec<u64>,
    descr: String,
    values: Vec<f64>,
    uint8: bool,
    float: bool,
}

/// The shape of a `.npy` header, read here before the `npyz` parser sees
/// it: its element count must fit the file (at least one byte per
/// element), so a hostile header can neither overflow nor allocate.
fn check_header_shape(bytes: &[u8], what: &str) -> Result<()> {
    let bad = |why: &str| usage(format!("{what}: not a valid .npy array ({why})"));
    let (len, start): (usize, usize) = match bytes.get(6) {
        Some(1) if bytes.len() >= 10 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        Some(2 | 3) if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(bad("unknown format version or truncated header")),
    };
    let head = bytes
        .get(start..start.saturating_add(len))
        .ok_or_else(|| bad("truncated header"))?;
    let text = String::from_utf8_lossy(head);
    let shape = text
        .find("'shape'")
        .and_then(|i| {
            let rest = &text[i..];
            let (a, b) = (rest.find('(')?, rest.find(')')?);
            (a < b).then(|| rest[a + 1..b].to_string())
        })
        .ok_or_else(|| bad("no shape tuple in the header"))?;
    let mut count: Option<u64> = Some(1);
    for d in shape.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let d: u64 = d.parse().map_err(|_| bad(&format!("shape entry '{d}'")))?;
        count = count.and_then(|c| c.checked_mul(d));
    }
    let data = (bytes.len() - head.len() - start) as u64;
    if count.is_none_or(|c| c > data) {
        let n = count.map_or_else(|| "more than 2^64".to_string(), |c| c.to_string());
        return Err(usage(format!(
            "{what}: header shape ({shape}) has {n} elements but the file holds only {data} data bytes"
        )));
    }
    Ok(())
}

/// The array's values read as `T`, each widened to f64 by `to_f64`.
fn values_f64<T: npyz::Deserialize>(
    f: npyz::NpyFile<&[u8]>,
    to_f64: fn(T) -> f64,
) -> std::io::Result<Vec<f64>> {
    Ok(f.into_vec::<T>()?.into_iter().map(to_f64).collect())
}

fn parse_array(bytes: &[u8], what: &str) -> Result<Array> {
    let bad = |e: &dyn std::fmt::Display| usage(format!("{what}: not a valid .npy array ({e})"));
    check_header_shape(bytes, what)?;
    let f = npyz::NpyFile::new(bytes).map_err(|e| bad(&e))?;
    let shape = f.shape().to_vec();
    let descr = f.dtype().descr();
    if f.order() == npyz::Order::Fortran {
        return Err(usage(format!(
            "{what}: Fortran-order array not supported; save it in C order (numpy.ascontiguousarray)"
        )));
    }
    let npyz::DType::Plain(ts) = f.dtype() else {
        return Err(usage(format!(
            "{what}: dtype {descr} not supported (uint8, float32, float64, or integer labels)"
        )));
    };
    use npyz::TypeChar::{Float, Int, Uint};
    let conv = |e: std::io::Error| usage(format!("{what}: cannot read the data ({e})"));
    let (values, uint8) = match (ts.type_char(), ts.size_field()) {
        (Uint, 1) => (values_f64::<u8>(f, f64::from).map_err(conv)?, true),
        (Float, 4) => (values_f64::<f32>(f, f64::from).map_err(conv)?, false),
        (Float, 8) => (f.into_vec::<f64>().map_err(conv)?, false),
        (Int, 1) => (values_f64::<i8>(f, f64::from).map_err(conv)?, false),
        (Uint, 2) => (values_f64::<u16>(f, f64::from).map_err(conv)?, false),
        (Int, 2) => (values_f64::<i16>(f, f64::from).map_err(conv)?, false),
        (Int, 4) => (values_f64::<i32>(f, f64::from).map_err(conv)?, false),
        (Uint, 4) => (values_f64::<u32>(f, f64::from).map_err(conv)?, false),
        (Int, 8) => (values_f64::<i64>(f, |v| v as f64).map_err(conv)?, false),
        (Uint, 8) => (values_f64::<u64>(f, |v| v as f64).map_err(conv)?, false),
        _ => {
            return Err(usage(format!(
                "{what}: dtype {descr} not supported (uint8, float32, float64, or integer labels)"
            )))
        }
    };
    let float = ts.type_char() == Float;
    Ok(Array {
        shape,
        descr,
        values,
        uint8,
        float,
    })
}

fn shape_str(s: &[u64]) -> String {
    format!(
        "[{}]",
        s.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
    )
}

/// [C, H, W] of an image tensor of shape `s` under `layout`.
fn image_shape(s: &[u64], layout: Option<Layout>, what: &str) -> Result<[usize; 3]> {
    let u = |v: u64| v as usize;
    let chw = match (s.len(), layout) {
        (3, _) => [1, u(s[1]), u(s[2])],
        (4, Some(Layout::Nchw)) => [u(s[1]), u(s[2]), u(s[3])],
        (4, Some(Layout::Nhwc)) => [u(s[3]), u(s[1]), u(s[2])],
        (4, None) => {
            return Err(usage(format!(
                "{what} has shape {}: state its layout with --layout nchw ([N, C, H, W]) or --layout nhwc ([N, H, W, C])",
                shape_str(s)
            )))
        }
        (n, _) => {
            return Err(usage(format!(
                "{what} has shape {} ({n}-D): an image tensor is [N, C, H, W] or [N, H, W, C] (4-D) or [N, H, W] (3-D)",
                shape_str(s)
            )))
        }
    };
    if chw.contains(&0) || s[0] == 0 {
        return Err(usage(format!(
            "{what} has shape {}: no images",
            shape_str(s)
        )));
    }
    Ok(chw)
}

fn labels_of(a: &Array, n: usize, what: &str) -> Result<Vec<u8>> {
    if a.shape.len() != 1 || a.shape[0] as usize != n {
        return Err(usage(format!(
            "{what} has shape {}: expected one label per image, [{n}]",
            shape_str(&a.shape)
        )));
    }
    if a.float {
        return Err(usage(format!(
            "{what}: dtype {} not supported for labels (an integer type)",
            a.descr
        )));
    }
    a.values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if (0.0..=255.0).contains(&v) {
                Ok(v as u8)
            } else {
                Err(usage(format!(
                    "{what}: label {v} at index {i} outside 0..=255"
                )))
            }
        })
        .collect()
}

/// Builds the data set from the two arrays.
fn assemble(
    img: Array,
    lab: &Array,
    layout: Option<Layout>,
    opts: &ImageFolderOptions,
    what_i: &str,
    what_l: &str,
) -> Result<Dataset> {
    if !(img.uint8 || img.float) {
        return Err(usage(format!(
            "{what_i}: dtype {} not supported for images (uint8, float32 or float64)",
            img.descr
        )));
    }
    let [c, h, w] = image_shape(&img.shape, layout, what_i)?;
    let n = img.shape[0] as usize;
    let labels = labels_of(lab, n, what_l)?;
    let (mean, std) = opts.normalization(c, what_i)?;
    if let Some(i) = img.values.iter().position(|v| !v.is_finite()) {
        return Err(usage(format!(
            "{what_i}: value {} at flat index {i} is not finite",
            img.values[i]
        )));
    }
    let px = c * h * w;
    let nhwc = img.shape.len() == 4 && layout == Some(Layout::Nhwc);
    let keep = opts.select(n);
    let images = keep
        .iter()
        .map(|&k| {
            let src = &img.values[k * px..(k + 1) * px];
            let mut out = vec![0.0; px];
            for ch in 0..c {
                for i in 0..h * w {
                    let v = if nhwc {
                        src[i * c + ch]
                    } else {
                        src[ch * h * w + i]
                    };
                    let x = if img.uint8 { v / 255.0 } else { v };
                    out[ch * h * w + i] = (x - mean[ch]) / std[ch];
                }
            }
            out
        })
        .collect();
    let labels: Vec<u8> = keep.iter().map(|&k| labels[k]).collect();
    if labels.is_empty() {
        return Err(usage(format!("{what_i}: --limit 0 selects no images")));
    }
    let classes = labels.iter().copied().max().unwrap_or(0) as usize + 1;
    Ok(Dataset {
        shape: [c, h, w],
        images,
        labels,
        classes,
    })
}

/// Loads an image tensor `.npy` and its label vector `.npy`.
pub fn load_npy(
    images: &Path,
    labels: &Path,
    layout: Option<Layout>,
    opts: &ImageFolderOptions,
) -> Result<Dataset> {
    let (wi, wl) = (images.display().to_string(), labels.display().to_string());
    let img = parse_array(
        &read_file_magic(images, MAX_TENSOR_FILE, NPY_MAGIC, ".npy")?,
        &wi,
    )?;
    let lab = parse_array(
        &read_file_magic(labels, MAX_TENSOR_FILE, NPY_MAGIC, ".npy")?,
        &wl,
    )?;
    assemble(img, &lab, layout, opts, &wi, &wl)
}

/// Loads an `.npz` holding the images (`images`, `x` or `data`) and the
/// labels (`labels`, `y` or `targets`).
pub fn load_npz(path: &Path, layout: Option<Layout>, opts: &ImageFolderOptions) -> Result<Dataset> {
    let bytes = read_file_magic(path, MAX_TENSOR_FILE, b"PK", ".npz (zip)")?;
    let p = path.display();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes[..]))
        .map_err(|e| usage(format!("{p}: not a valid .npz (zip) archive ({e})")))?;
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.map(|n| n.trim_end_matches(".npy").to_string()))
        .collect::<Result<_, _>>()
        .map_err(|e| usage(format!("{p}: bad .npz (zip) entry name ({e})")))?;
    let pick = |cands: &[&str]| {
        cands
            .iter()
            .find(|c| names.iter().any(|n| n == *c))
            .map(|c| c.to_string())
    };
    let (Some(ni), Some(nl)) = (pick(&NPZ_IMAGE_NAMES), pick(&NPZ_LABEL_NAMES)) else {
        return Err(usage(format!(
            "{p}: expected arrays named one of {NPZ_IMAGE_NAMES:?} (images) and one of {NPZ_LABEL_NAMES:?} (labels), found {names:?}"
        )));
    };
    let mut read = |name: &str| -> Result<(Array, String)> {
        let what = format!("{p}: array '{name}'");
        let full = if zip.index_for_name(&format!("{name}.npy")).is_some() {
            format!("{name}.npy")
        } else {
            name.to_string()
        };
        let entry = zip
            .by_name(&full)
            .map_err(|e| usage(format!("{what}: cannot open ({e})")))?;
        let raw = read_limited(entry, MAX_TENSOR_FILE, &what)?;
        Ok((parse_array(&raw, &what)?, what))
    };
    let (img, wi) = read(&ni)?;
    let (lab, wl) = read(&nl)?;
    assemble(img, &lab, layout, opts, &wi, &wl)
}

/// One `.npy` file in memory: `values` of the given shape, C order.
fn npy_bytes<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
    shape: &[u64],
    values: &[T],
) -> Result<Vec<u8>> {
    use npyz::WriterBuilder;
    let mut buf = Vec::new();
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut buf)
        .begin_nd()?;
    w.extend(values.iter().copied())?;
    w.finish()?;
    Ok(buf)
}

/// Streams `src` into an `.npz` archive (stored, not compressed) in memory:
/// `images` float32 [N, C, H, W] with exactly the values fpec computes
/// (decoded and normalized, rounded to float32) and `labels` int64 `[N]`, the
/// arrays onnxruntime (or numpy) then reads. `batch` images are decoded at
/// a time; `progress` is advanced per batch.
pub fn export_npz(
    src: &dyn super::Source,
    batch: usize,
    progress: &crate::dnn::progress::Progress,
) -> Result<Vec<u8>> {
    let [c, h, w] = src.shape();
    let n = src.len();
    let mut images: Vec<f32> = Vec::with_capacity(n * c * h * w);
    let mut labels: Vec<i64> = Vec::with_capacity(n);
    super::for_each_batch(src, batch, progress, |_, d| {
        for img in &d.images {
            images.extend(img.iter().map(|&v| v as f32));
        }
        labels.extend(d.labels.iter().map(|&l| i64::from(l)));
        Ok(())
    })?;
    let shape = [n as u64, c as u64, h as u64, w as u64];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opt = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(images.len() * 4 > (1usize << 31));
    zip.start_file("images.npy", opt)?;
    std::io::Write::write_all(&mut zip, &npy_bytes(&shape, &images)?)?;
    zip.start_file("labels.npy", opt)?;
    std::io::Write::write_all(&mut zip, &npy_bytes(&[n as u64], &labels)?)?;
    Ok(zip.finish()?.into_inner())
}
