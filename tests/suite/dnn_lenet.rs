//! MNIST (the shipped 10k subset) and the committed LeNet-5: the data set's
//! checks, bad IDX input through the CLI (one line, exit 2), the model's
//! documented accuracy, and the resumed (stage-entry) evaluation FPEC-Opt
//! uses against the full one.

use fpec::dnn::data::{default_mnist_10k_paths, load_mnist_10k, load_named, Named};
use fpec::dnn::model::{float_accuracy, Model};
use fpec::dnn::quant::{calibrate, QuantConfig, QuantModel};
use fpec::format::Split;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Output;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lenet() -> Model {
    Model::load(&manifest().join("models/mnist-lenet5.json")).unwrap()
}

fn gunzip(p: &Path) -> Vec<u8> {
    let mut v = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(p).unwrap())
        .read_to_end(&mut v)
        .unwrap();
    v
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    crate::common::fpec()
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// Exit 2 with a one-line message containing every `want`.
fn assert_one_line_usage(o: &Output, want: &[&str]) {
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "expected exit 2: {e}");
    assert_eq!(e.trim_end().lines().count(), 1, "one line expected: {e}");
    for w in want {
        assert!(e.contains(w), "missing '{w}' in: {e}");
    }
}

#[test]
fn mnist_10k_loads_with_the_documented_split() {
    let d = load_named(Named::Mnist10k).unwrap();
    assert_eq!((d.len(), d.shape, d.classes), (10000, [1, 28, 28], 10));
    let s = d.split();
    // data/README.md, "The fixed split".
    assert_eq!(
        (s.train.len(), s.calibration.len(), s.test.len()),
        (6006, 1998, 1996)
    );
    // Round-robin order: the first ten samples are the classes 0..9.
    assert_eq!(d.labels[..10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert!(d.images.iter().flatten().all(|v| (0.0..=1.0).contains(v)));
}

/// Wrong magic, image/label count mismatch and a checksum mismatch: a clear
/// one-line error and exit 2, through `--idx-*` and `--dataset mnist-10k`.
#[test]
fn bad_idx_files_are_one_line_usage_errors() {
    let t = tempfile::tempdir().unwrap();
    let (gi, gl) = default_mnist_10k_paths();
    let (img, lab) = (gunzip(&gi), gunzip(&gl));
    let w = |name: &str, b: &[u8]| {
        let p = t.path().join(name);
        std::fs::File::create(&p).unwrap().write_all(b).unwrap();
        p.to_str().unwrap().to_string()
    };
    let good_i = w("good-i.idx", &img);
    let good_l = w("good-l.idx", &lab);
    let mut bad = img.clone();
    bad[3] = 0x01;
    let bad_magic = w("magic.idx", &bad);
    let mut short = lab[..8 + 9999].to_vec();
    short[4..8].copy_from_slice(&9999u32.to_be_bytes());
    let short_l = w("short-l.idx", &short);
    let m = manifest().join("models/mnist-lenet5.json");
    let model = m.to_str().unwrap();
    for (i, l, want) in [
        (
            &bad_magic,
            &good_l,
            vec!["magic.idx", "bad IDX image magic 0x00000801"],
        ),
        (
            &good_i,
            &short_l,
            vec!["count mismatch", "10000 images", "9999 labels"],
        ),
    ] {
        let o = run_in(
            t.path(),
            &[
                "dnn",
                "eval",
                "--model",
                model,
                "--bits",
                "6+2",
                "--idx-images",
                i,
                "--idx-labels",
                l,
            ],
        );
        assert_one_line_usage(&o, &want);
    }
    // --dataset mnist-10k reads data/ below the working directory first:
    // one flipped pixel is a checksum mismatch.
    std::fs::create_dir(t.path().join("data")).unwrap();
    let mut px = img.clone();
    px[16 + 400] ^= 1;
    let gz = |b: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    };
    std::fs::write(
        t.path().join("data/mnist-10k-images.idx3-ubyte.gz"),
        gz(&px),
    )
    .unwrap();
    std::fs::write(
        t.path().join("data/mnist-10k-labels.idx1-ubyte.gz"),
        gz(&lab),
    )
    .unwrap();
    let o = run_in(
        t.path(),
        &["dnn", "eval", "--model", model, "--bits", "6+2"],
    );
    assert_one_line_usage(&o, &["mnist-10k-images", "checksum mismatch"]);
    // The library call says the same (recompressing is fine: the checksum
    // is over the uncompressed bytes).
    std::fs::write(
        t.path().join("data/mnist-10k-images.idx3-ubyte.gz"),
        gz(&img),
    )
    .unwrap();
    let d = load_mnist_10k(
        &t.path().join("data/mnist-10k-images.idx3-ubyte.gz"),
        &t.path().join("data/mnist-10k-labels.idx1-ubyte.gz"),
    )
    .unwrap();
    assert_eq!(d.len(), 10000);
    // A valid IDX pair that is not the shipped set (a prefix of it).
    let mut fewer = img[..16 + 784 * 5000].to_vec();
    fewer[4..8].copy_from_slice(&5000u32.to_be_bytes());
    let mut fewer_l = lab[..8 + 5000].to_vec();
    fewer_l[4..8].copy_from_slice(&5000u32.to_be_bytes());
    std::fs::write(
        t.path().join("data/mnist-10k-images.idx3-ubyte.gz"),
        gz(&fewer),
    )
    .unwrap();
    std::fs::write(
        t.path().join("data/mnist-10k-labels.idx1-ubyte.gz"),
        gz(&fewer_l),
    )
    .unwrap();
    let o = run_in(
        t.path(),
        &["dnn", "eval", "--model", model, "--bits", "6+2"],
    );
    assert_one_line_usage(&o, &["not the shipped mnist-10k set", "found 5000"]);
    // --dataset with --idx-*: a conflict.
    let o = run_in(
        t.path(),
        &[
            "dnn",
            "eval",
            "--model",
            model,
            "--bits",
            "6+2",
            "--dataset",
            "mnist-10k",
            "--idx-images",
            &good_i,
            "--idx-labels",
            &good_l,
        ],
    );
    assert_one_line_usage(&o, &["--dataset conflicts"]);
}

/// The committed model: loads, its structure checks, and its float test
/// accuracy is exactly the figure in its `meta` and models/README.md.
#[test]
fn committed_lenet5_has_its_documented_float_accuracy() {
    let m = lenet();
    let st = m.stages().unwrap();
    assert_eq!(st.len(), 5);
    assert_eq!(m.input, [1, 28, 28]);
    let macs: usize = st.iter().map(|s| s.macs(&m)).sum();
    assert_eq!(macs, 117_600 + 240_000 + 48_000 + 10_080 + 840);
    let s = load_named(Named::Mnist10k).unwrap().split();
    let meta = m.meta.as_ref().unwrap();
    let documented = meta["float_test_accuracy"].as_f64().unwrap();
    assert_eq!(float_accuracy(&m, &s.test).unwrap(), documented);
    // models/README.md states it to two decimals.
    let readme = std::fs::read_to_string(manifest().join("models/README.md")).unwrap();
    assert!(
        readme.contains(&format!("{documented:.2} %")),
        "README lacks {documented:.2} %"
    );
}

/// Bit-exact accuracy of the first 200 test images at 6+2 (FB from the
/// whole calibration split, default T, i.e. the configuration of
/// `fpec dnn eval --model models/mnist-lenet5.json --bits 6+2`): PINNED, a
/// regression value recorded from the first run (the code cannot check
/// itself here; the independent checks of the quantized inference are
/// `dnn_quant`'s hand-worked network and naive convolution). A change of the
/// quantized inference, the FB rule, the data or the model shows up as a
/// different count. The resumed evaluation FPEC-Opt uses (stage entries)
/// must give the same count from every stage.
#[test]
fn lenet5_bit_exact_slice_is_pinned_and_resume_matches() {
    // Pinned from the first run of this test (release build, commit of this
    // test): 194 of 200. Not derived from any other output.
    const PINNED_CORRECT_6P2_FIRST_200: usize = 194;
    let m = lenet();
    let s = load_named(Named::Mnist10k).unwrap().split();
    let ranges = calibrate(&m, &s.calibration).unwrap();
    let cfg = QuantConfig::from_ranges(Split::parse("6+2").unwrap(), &ranges, None).unwrap();
    let qm = QuantModel::new(&m, &cfg).unwrap();
    let slice = s.test.take(200);
    let ev = qm.evaluate(&slice).unwrap();
    println!("6+2 on the first 200 test images: {} correct", ev.correct);
    assert_eq!(ev.correct, PINNED_CORRECT_6P2_FIRST_200);
    assert_eq!(qm.count_correct(&slice, None).unwrap(), ev.correct);
    for k in 1..qm.num_stages() {
        let e = qm.stage_entries(k, &slice).unwrap();
        assert_eq!(
            qm.count_correct(&slice, Some(&e)).unwrap(),
            ev.correct,
            "from stage {k}"
        );
    }
}
