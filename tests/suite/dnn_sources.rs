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
    check_input_shape(&f, [3, 3, 4]).unwrap();
    let e = check_input_shape(&f, [3, 32, 32]).unwrap_err().to_string();
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
