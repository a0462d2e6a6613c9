//! Data loading: the shipped digits file, the fixed split, MNIST IDX files.
//! Expected counts were computed independently (Python, from the CSV) and
//! are recorded in data/README.md.

use fpec::dnn::data::{default_digits_path, load_digits, load_idx, Part};
use std::io::Write;
use std::path::Path;

#[test]
fn digits_counts_and_split() {
    let d = load_digits(&default_digits_path()).unwrap();
    assert_eq!(d.len(), 1797);
    assert_eq!(d.shape, [1, 8, 8]);
    let mut per = [0usize; 10];
    for &l in &d.labels {
        per[l as usize] += 1;
    }
    assert_eq!(per, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    // First image of the file (its first row read by hand): 0,0,5,13,9,1,0,0 ...
    assert_eq!(d.images[0][2], 5.0 / 16.0);
    assert_eq!(d.images[0][3], 13.0 / 16.0);
    assert_eq!(d.labels[0], 0);
    assert!(d.images.iter().flatten().all(|&p| (0.0..=1.0).contains(&p)));
    let s = d.split();
    assert_eq!(
        (s.train.len(), s.calibration.len(), s.test.len()),
        (1085, 357, 355)
    );
    let mut tper = [0usize; 10];
    for &l in &s.test.labels {
        tper[l as usize] += 1;
    }
    assert_eq!(tper, [35, 36, 35, 36, 36, 36, 36, 35, 34, 36]);
    // The first sample of each class is training, the 4th calibration, the 5th test.
    let parts = d.parts();
    assert_eq!(parts[0], Part::Train);
}

fn idx_images(n: u32, rows: u32, cols: u32, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 3];
    for x in [n, rows, cols] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

fn idx_labels(n: u32, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 1];
    v.extend_from_slice(&n.to_be_bytes());
    v.extend_from_slice(data);
    v
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

#[test]
fn idx_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    // 3 images of 2x3 pixels.
    let px: Vec<u8> = (0..18).map(|i| (i * 15) as u8).collect();
    let i = write(dir.path(), "img.idx", &idx_images(3, 2, 3, &px));
    let l = write(dir.path(), "lab.idx", &idx_labels(3, &[7, 0, 2]));
    let d = load_idx(&i, &l).unwrap();
    assert_eq!(d.shape, [1, 2, 3]);
    assert_eq!(d.labels, vec![7, 0, 2]);
    assert_eq!(d.classes, 8);
    assert_eq!(d.images[1][0], 90.0 / 255.0); // pixel 6 = 6*15
    assert_eq!(d.images[2][5], 255.0 / 255.0); // pixel 17 = 255
                                               // gzipped files load too
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&idx_images(3, 2, 3, &px)).unwrap();
    let ig = write(dir.path(), "img.idx.gz", &gz.finish().unwrap());
    assert_eq!(load_idx(&ig, &l).unwrap(), d);
}

#[test]
fn idx_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let px = [1u8; 8];
    let good_i = write(dir.path(), "good-img", &idx_images(2, 2, 2, &px));
    let good_l = write(dir.path(), "good-lab", &idx_labels(2, &[1, 2]));
    let mut bad = idx_images(2, 2, 2, &px);
    bad[3] = 4;
    let bad_magic_i = write(dir.path(), "magic-img", &bad);
    let mut badl = idx_labels(2, &[1, 2]);
    badl[2] = 9;
    let bad_magic_l = write(dir.path(), "magic-lab", &badl);
    let trunc_i = write(dir.path(), "trunc-img", &idx_images(2, 2, 2, &px[..7]));
    let trunc_l = write(dir.path(), "trunc-lab", &idx_labels(2, &[1]));
    let short_hdr = write(dir.path(), "hdr-img", &[0, 0, 8, 3, 0]);
    let three_l = write(dir.path(), "three-lab", &idx_labels(3, &[1, 2, 3]));
    let cases = [
        (&bad_magic_i, &good_l, "magic-img", "magic"),
        (&good_i, &bad_magic_l, "magic-lab", "magic"),
        (&trunc_i, &good_l, "trunc-img", "truncated"),
        (&good_i, &trunc_l, "trunc-lab", "truncated"),
        (&short_hdr, &good_l, "hdr-img", "truncated"),
        (&good_i, &three_l, "three-lab", "mismatch"),
    ];
    for (i, l, name, what) in cases {
        let e = format!("{:#}", load_idx(i, l).unwrap_err());
        assert!(e.contains(name) && e.contains(what), "{name}: {e}");
    }
    let e = format!(
        "{:#}",
        load_idx(&dir.path().join("missing"), &good_l).unwrap_err()
    );
    assert!(e.contains("missing"), "{e}");
}
