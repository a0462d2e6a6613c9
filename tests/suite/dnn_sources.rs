//! Data sources of real networks (`fpec::dnn::data`): image folders (PNG and
//! JPEG, made here in a temp dir, pixels checked by hand), the `Source`
//! batches, subsets, the layout and size errors, and the CIFAR-10 JPEG
//! folders of `../shared` (skipped with a printed reason when missing).

use fpec::dnn::data::{
    check_input_shape, load_image_folder, open_image_folder, ImageFolderOptions, Source,
};
use std::path::Path;

/// Writes an 8-bit RGB (c = 3) or grey (c = 1) PNG whose pixel (x, y),
/// channel k is `f(x, y, k)`.
pub fn png(path: &Path, w: u32, h: u32, c: u8, f: impl Fn(u32, u32, u8) -> u8) {
    let mut buf = Vec::new();
    for y in 0..h {
        for x in 0..w {
            for k in 0..c {
                buf.push(f(x, y, k));
            }
        }
    }
    let ct = if c == 3 {
        image::ExtendedColorType::Rgb8
    } else {
        image::ExtendedColorType::L8
    };
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::save_buffer(path, &buf, w, h, ct).unwrap();
}

fn opts(mean: &[f64], std: &[f64]) -> ImageFolderOptions {
    ImageFolderOptions {
        mean: mean.to_vec(),
        std: std.to_vec(),
        limit: None,
        subset_seed: None,
    }
}

/// Two classes ("b-dog" sorts after "a-cat"), 3 + 2 RGB PNGs of 4x3 (W x H);
/// pixel value = 10*x + y + 100*k + image number.
fn two_class_folder(root: &Path) {
    for (i, (class, file)) in [
        ("a-cat", "0.png"),
        ("a-cat", "1.png"),
        ("a-cat", "2.png"),
        ("b-dog", "x.png"),
        ("b-dog", "y.PNG"),
    ]
    .iter()
    .enumerate()
    {
        png(&root.join(class).join(file), 4, 3, 3, |x, y, k| {
            (10 * x + y + 100 * k as u32 + i as u32) as u8
        });
    }
}

#[test]
fn png_folder_pixels_labels_and_order() {
    let t = tempfile::tempdir().unwrap();
    two_class_folder(t.path());
    let d = load_image_folder(t.path(), &opts(&[], &[])).unwrap();
    assert_eq!(d.shape, [3, 3, 4]);
    assert_eq!(d.labels, vec![0, 0, 0, 1, 1]);
    assert_eq!(d.classes, 2);
    // Image 3 (b-dog/x.png), channel 2, row y = 1, column x = 2:
    // 10*2 + 1 + 200 + 3 = 224, at offset 2*12 + 1*4 + 2.
    assert_eq!(d.images[3][2 * 12 + 4 + 2], 224.0 / 255.0);
    // Image 0, channel 0, (0, 0): 0.
    assert_eq!(d.images[0][0], 0.0);
    // Image 4 (y.PNG, upper-case extension), channel 1, (3, 2): 30+2+100+4.
    assert_eq!(d.images[4][12 + 2 * 4 + 3], 136.0 / 255.0);
}

#[test]
fn mean_std_per_channel() {
    let t = tempfile::tempdir().unwrap();
    two_class_folder(t.path());
    let o = opts(&[0.5, 0.25, 0.125], &[0.5, 2.0, 0.25]);
    let d = load_image_folder(t.path(), &o).unwrap();
    // Image 1, pixel (1, 2): 10 + 2 + 1 = 13, 113, 213 in channels 0, 1, 2.
    let at = 2 * 4 + 1;
    assert_eq!(d.images[1][at], (13.0 / 255.0 - 0.5) / 0.5);
    assert_eq!(d.images[1][12 + at], (113.0 / 255.0 - 0.25) / 2.0);
    assert_eq!(d.images[1][24 + at], (213.0 / 255.0 - 0.125) / 0.25);
}

#[test]
fn source_batches_equal_the_whole() {
    let t = tempfile::tempdir().unwrap();
    two_class_folder(t.path());
    let f = open_image_folder(t.path(), &opts(&[], &[])).unwrap();
    assert_eq!((f.len(), f.classes(), f.shape()), (5, 2, [3, 3, 4]));
    let all = f.batch(0, 5).unwrap();
    let b = f.batch(1, 4).unwrap();
    assert_eq!(b.images, all.images[1..4].to_vec());
    assert_eq!(b.labels, vec![0, 0, 1]);
    // An in-memory Dataset is a Source too.
    let s: &dyn Source = &all;
    assert_eq!(s.batch(3, 5).unwrap().labels, vec![1, 1]);
    assert!(s.batch(4, 6).is_err());
    assert!(f.batch(3, 2).is_err());
    check_input_shape(&f, [3, 3, 4], "f").unwrap();
    let e = check_input_shape(&f, [3, 32, 32], "f")
        .unwrap_err()
        .to_string();
    assert!(e.contains("3x3x4") && e.contains("3x32x32"), "{e}");
}

#[test]
fn limit_and_seeded_subset() {
    let t = tempfile::tempdir().unwrap();
    two_class_folder(t.path());
    let mut o = opts(&[], &[]);
    o.limit = Some(2);
    let f = open_image_folder(t.path(), &o).unwrap();
    assert_eq!(f.batch(0, 2).unwrap().labels, vec![0, 0]);
    o.subset_seed = Some(7);
    let a = open_image_folder(t.path(), &o).unwrap();
    let b = open_image_folder(t.path(), &o).unwrap();
    assert_eq!(a.files, b.files, "one seed, one subset");
    assert_eq!(a.len(), 2);
    assert!(
        a.files.windows(2).all(|w| w[0].0 < w[1].0),
        "file order kept"
    );
    // Some seed picks a different subset than the first two files.
    let differs = (0..20u64).any(|s| {
        o.subset_seed = Some(s);
        open_image_folder(t.path(), &o).unwrap().files != f.files
    });
    assert!(differs);
}

// ------------------------------------------------------------ .npy / .npz

/// A `.npy` (version 1.0) made by hand, independent of the reader:
/// magic, header length, the header dict padded to 64 bytes, the data.
pub fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_s = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_s}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend_from_slice(&(h.len() as u16).to_le_bytes());
    v.extend_from_slice(h.as_bytes());
    v.extend_from_slice(data);
    v
}

/// A stored (uncompressed) `.npz` of the given arrays.
fn npz(arrays: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in arrays {
        z.start_file(format!("{name}.npy"), o).unwrap();
        std::io::Write::write_all(&mut z, bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Two 3x2x2 images (C x H x W): value of image n, channel c, pixel (y, x)
/// = 100*n + 10*c + 2*y + x, stored NCHW and NHWC.
fn two_images(nhwc: bool) -> Vec<u8> {
    let mut v = Vec::new();
    for n in 0..2u8 {
        if nhwc {
            for y in 0..2u8 {
                for x in 0..2u8 {
                    for c in 0..3u8 {
                        v.push(100 * n + 10 * c + 2 * y + x);
                    }
                }
            }
        } else {
            for c in 0..3u8 {
                for y in 0..2u8 {
                    for x in 0..2u8 {
                        v.push(100 * n + 10 * c + 2 * y + x);
                    }
                }
            }
        }
    }
    v
}

#[test]
fn npy_uint8_nchw_and_nhwc_agree_with_hand_values() {
    use fpec::dnn::data::{load_npy, Layout};
    let t = tempfile::tempdir().unwrap();
    let l = write(
        t.path(),
        "l.npy",
        &npy(
            "<i8",
            &[2],
            &[[3, 0, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0]].concat(),
        ),
    );
    let a = write(
        t.path(),
        "a.npy",
        &npy("|u1", &[2, 3, 2, 2], &two_images(false)),
    );
    let b = write(
        t.path(),
        "b.npy",
        &npy("|u1", &[2, 2, 2, 3], &two_images(true)),
    );
    let o = opts(&[0.5, 0.0, 0.0], &[0.5, 1.0, 2.0]);
    let da = load_npy(&a, &l, Some(Layout::Nchw), &o).unwrap();
    let db = load_npy(&b, &l, Some(Layout::Nhwc), &o).unwrap();
    assert_eq!(da, db);
    assert_eq!(da.shape, [3, 2, 2]);
    assert_eq!(da.labels, vec![3, 1]);
    assert_eq!(da.classes, 4);
    // Image 1, channel 2, (y, x) = (1, 0): 100 + 20 + 2 = 122 -> 122/255/2.
    assert_eq!(da.images[1][2 * 4 + 2], (122.0 / 255.0 - 0.0) / 2.0);
    // Image 0, channel 0, (0, 1): 1 -> (1/255 - 0.5)/0.5.
    assert_eq!(da.images[0][1], (1.0 / 255.0 - 0.5) / 0.5);
    // A 4-D tensor without a stated layout is refused, naming both choices.
    let e = load_npy(&a, &l, None, &o).unwrap_err().to_string();
    assert!(
        e.contains("--layout nchw") && e.contains("[2, 3, 2, 2]"),
        "{e}"
    );
}

#[test]
fn npy_float_and_npz_names() {
    use fpec::dnn::data::{load_npz, Layout};
    let t = tempfile::tempdir().unwrap();
    // float32 [2, 2, 2] (grey, 3-D): taken as they are (no /255).
    let vals: [f32; 8] = [0.0, 0.25, -1.5, 2.0, 1.0, 0.5, 0.125, 3.0];
    let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let f = write(
        t.path(),
        "f.npz",
        &npz(&[
            ("x", npy("<f4", &[2, 2, 2], &bytes)),
            ("y", npy("|u1", &[2], &[0, 1])),
        ]),
    );
    let d = load_npz(&f, None, &opts(&[], &[])).unwrap();
    assert_eq!(d.shape, [1, 2, 2]);
    assert_eq!(d.images[0], vec![0.0, 0.25, -1.5, 2.0]);
    assert_eq!(d.images[1], vec![1.0, 0.5, 0.125, 3.0]);
    assert_eq!(d.labels, vec![0, 1]);
    // float64 NHWC in an npz named images/labels, with a mean.
    let v64: Vec<u8> = (0..12).flat_map(|i| (i as f64).to_le_bytes()).collect();
    let g = write(
        t.path(),
        "g.npz",
        &npz(&[
            ("images", npy("<f8", &[1, 2, 2, 3], &v64)),
            ("labels", npy("<i4", &[1], &[2, 0, 0, 0])),
        ]),
    );
    let d = load_npz(&g, Some(Layout::Nhwc), &opts(&[1.0, 0.0, 0.0], &[])).unwrap();
    // Channel 0 holds the values 0, 3, 6, 9 (every third), minus 1.
    assert_eq!(d.images[0][..4], [-1.0, 2.0, 5.0, 8.0]);
    assert_eq!(d.images[0][4..8], [1.0, 4.0, 7.0, 10.0]);
    assert_eq!(d.labels, vec![2]);
    // Missing arrays: the names found are listed.
    let h = write(
        t.path(),
        "h.npz",
        &npz(&[("pics", npy("|u1", &[1, 1, 1], &[0]))]),
    );
    let e = load_npz(&h, None, &opts(&[], &[])).unwrap_err().to_string();
    assert!(e.contains("pics") && e.contains("labels"), "{e}");
}

// ------------------------------------------------------------ bad input

/// Runs fpec; asserts exit 2 with one line holding every needle.
fn bad(args: &[&str], needles: &[&str]) {
    let o = crate::common::fpec().args(args).output().unwrap();
    let e = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{args:?}: expected exit 2: {e}");
    assert_eq!(
        e.trim().lines().count(),
        1,
        "{args:?}: one line expected: {e}"
    );
    for n in needles {
        assert!(e.contains(n), "{args:?}: '{n}' not in: {e}");
    }
}

/// `export-data` of `dir` fails with exit 2 naming `needles`, writing nothing.
fn bad_folder(dir: &Path, needles: &[&str]) {
    let out = dir.parent().unwrap().join("never.npz");
    bad(
        &[
            "dnn",
            "export-data",
            "--data",
            dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        needles,
    );
    assert!(!out.exists(), "{} written", out.display());
}

#[test]
fn bad_image_folders() {
    let t = tempfile::tempdir().unwrap();
    let mk = |name: &str| {
        let d = t.path().join(name).join("data");
        two_class_folder(&d);
        d
    };
    // Another size: the file, its size and the folder's.
    let d = mk("size");
    png(&d.join("b-dog/z.png"), 5, 5, 3, |_, _, _| 1);
    bad_folder(&d, &["z.png", "3x5x5", "3x3x4"]);
    // Grey among RGB: the channel count.
    let d = mk("grey");
    png(&d.join("a-cat/3.png"), 4, 3, 1, |_, _, _| 1);
    bad_folder(&d, &["3.png", "1x3x4", "3x3x4"]);
    // An empty class folder.
    let d = mk("empty");
    std::fs::create_dir_all(d.join("c-emu")).unwrap();
    bad_folder(&d, &["c-emu", "empty class folder"]);
    // A corrupt JPEG.
    let d = mk("corrupt");
    std::fs::write(d.join("a-cat/9.jpg"), b"\xff\xd8\xff\xe0 not really a jpeg").unwrap();
    bad_folder(&d, &["9.jpg", "decode"]);
    // Not an image at all, and an alpha channel.
    let d = mk("text");
    std::fs::write(d.join("b-dog/notes.txt"), b"hello").unwrap();
    bad_folder(&d, &["notes.txt", ".png"]);
    let d = mk("alpha");
    let p = d.join("b-dog/rgba.png");
    image::save_buffer(&p, &[0u8; 4 * 4 * 3], 4, 3, image::ExtendedColorType::Rgba8).unwrap();
    bad_folder(&d, &["rgba.png", "alpha"]);
    // No class folders.
    let d = t.path().join("flat");
    png(&d.join("0.png"), 2, 2, 3, |_, _, _| 0);
    bad_folder(&d, &["no class sub-folders"]);
}

#[test]
fn bad_flags_and_tensors() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("f");
    two_class_folder(&dir);
    let d = dir.to_str().unwrap();
    let out = t.path().join("o.npz");
    let o = out.to_str().unwrap();
    let ex = |extra: &[&str], needles: &[&str]| {
        let mut a = vec!["dnn", "export-data", "--data", d, "--out", o];
        a.extend_from_slice(extra);
        bad(&a, needles);
        assert!(!out.exists());
    };
    ex(
        &["--mean", "0.5,0.5"],
        &["--mean", "2 value(s)", "3 channel(s)"],
    );
    ex(&["--std", "1,0,1"], &["--std 0", "> 0"]);
    ex(&["--std", "-1,1,1"], &["--std -1", "> 0"]);
    ex(&["--limit", "0"], &["--limit 0", "1..="]);
    ex(&["--subset-seed", "3"], &["--subset-seed", "--limit"]);
    ex(&["--layout", "nchw"], &["--layout", "npy"]);
    // A device that never ends: a bounded read, not memory exhaustion.
    bad(
        &["dnn", "export-data", "--data", "/dev/zero", "--out", o],
        &["/dev/zero", "larger than"],
    );
    assert!(!out.exists());
    // A tensor that does not fit the model (digits MLP takes 1x8x8).
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/digits-mlp.json");
    let a = write(
        t.path(),
        "a.npy",
        &npy("|u1", &[2, 3, 2, 2], &two_images(false)),
    );
    let l = write(t.path(), "l.npy", &npy("|u1", &[2], &[0, 1]));
    let (a, l) = (a.to_str().unwrap(), l.to_str().unwrap());
    let eval = |extra: &[&str], needles: &[&str]| {
        let mut v = vec!["dnn", "eval", "--model", model, "--bits", "6+2"];
        v.extend_from_slice(extra);
        bad(&v, needles);
    };
    eval(
        &["--data", a, "--labels", l, "--layout", "nchw"],
        &["a.npy", "3x2x2", "1x8x8"],
    );
    eval(&["--data", a, "--layout", "nchw"], &["a.npy", "--labels"]);
    eval(&["--data", d], &["3x3x4", "1x8x8"]);
    // Unsupported dtypes: images of int16, labels of float32.
    let i16s = write(t.path(), "i.npy", &npy("<i2", &[1, 2, 2], &[0; 8]));
    eval(
        &["--data", i16s.to_str().unwrap(), "--labels", l],
        &["i.npy", "<i2", "uint8, float32"],
    );
    let img1 = write(t.path(), "one.npy", &npy("|u1", &[1, 8, 8], &[0; 64]));
    let lf = write(t.path(), "lf.npy", &npy("<f4", &[1], &0f32.to_le_bytes()));
    eval(
        &[
            "--data",
            img1.to_str().unwrap(),
            "--labels",
            lf.to_str().unwrap(),
            "--calib",
            img1.to_str().unwrap(),
            "--calib-labels",
            lf.to_str().unwrap(),
        ],
        &["lf.npy", "<f4", "integer"],
    );
    // Labels of another length, and not a .npy at all.
    let l3 = write(t.path(), "l3.npy", &npy("|u1", &[3], &[0, 1, 2]));
    eval(
        &[
            "--data",
            img1.to_str().unwrap(),
            "--labels",
            l3.to_str().unwrap(),
            "--calib",
            d,
        ],
        &["l3.npy", "[3]", "[1]"],
    );
    let junk = write(t.path(), "junk.npy", b"not numpy");
    eval(
        &["--data", junk.to_str().unwrap(), "--labels", l],
        &["junk.npy", "not a valid .npy"],
    );
}
