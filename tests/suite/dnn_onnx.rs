//! ONNX import/export (issue 11), checked against a real runtime: fpec's
//! models are exported with `fpec dnn export` and run under onnxruntime, and
//! a file written by the `onnx` Python package is imported with
//! `fpec dnn import`; in both directions fpec's float inference
//! (`forward_float`, the one fpec has) must give the onnxruntime logits
//! within 1e-4 and the same class on every test image. Expected values come
//! from onnxruntime (tests/onnx/ort_logits.py), never from fpec.
//!
//! Needs the project venv `.venv/` made by `scripts/bootstrap.sh` (pinned
//! onnx, onnxruntime, numpy): without it these tests FAIL, they do not skip.
//! Bad-input tests: truncated, non-ONNX, unsupported op, shape mismatch,
//! float64 and int32 initializers; each exits 2 with one line and writes
//! nothing.

use fpec::dnn::data::{default_digits_path, load_digits};
use fpec::dnn::model::{argmax, forward_float, Layer, Model};
use fpec::dnn::onnx::{self, proto};
use prost::Message;
use std::path::{Path, PathBuf};
use std::process::Command;

const TOL: f64 = 1e-4;

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's python; panics (test failure) when the venv is missing.
pub(crate) fn python() -> PathBuf {
    let p = root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/bootstrap.sh (creates .venv with pinned onnx, onnxruntime, numpy)",
        p.display()
    );
    p
}

fn fpec(args: &[&str]) -> std::process::Output {
    crate::common::fpec().args(args).output().unwrap()
}

fn test_images() -> (Vec<Vec<f64>>, Vec<usize>) {
    let d = load_digits(&default_digits_path()).unwrap().split().test;
    assert_eq!(d.shape, [1, 8, 8]);
    (d.images, d.shape.to_vec())
}

/// onnxruntime's logits for `images` (each flattened, of `shape`).
pub(crate) fn ort_logits(model: &Path, images: &[Vec<f64>], shape: &[usize]) -> Vec<Vec<f64>> {
    use std::io::Write;
    let req = serde_json::json!({"shape": shape, "images": images}).to_string();
    let mut child = Command::new(python())
        .arg(root().join("tests/onnx/ort_logits.py"))
        .arg(model)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(req.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "onnxruntime failed on {}: {}",
        model.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    println!(
        "onnxruntime {} (onnx {}) ran {}",
        v["onnxruntime"],
        v["onnx"],
        model.display()
    );
    serde_json::from_value(v["logits"].clone()).unwrap()
}

/// fpec float logits vs onnxruntime's: max |diff| <= TOL, same classes.
fn compare(what: &str, model: &Model, ort: &[Vec<f64>], images: &[Vec<f64>]) {
    let stages = model.stages().unwrap();
    assert_eq!(ort.len(), images.len(), "{what}");
    let mut worst = 0f64;
    for (i, (img, want)) in images.iter().zip(ort).enumerate() {
        let got = forward_float(model, &stages, img).0;
        assert_eq!(got.len(), want.len(), "{what}: image {i}");
        for (g, w) in got.iter().zip(want) {
            worst = worst.max((g - w).abs());
        }
        assert_eq!(
            argmax(&got),
            argmax(want),
            "{what}: image {i}: class differs (fpec {got:?}, onnxruntime {want:?})"
        );
    }
    println!(
        "{what}: {} images, max |fpec - onnxruntime| = {worst:.3e}",
        images.len()
    );
    assert!(worst <= TOL, "{what}: max logit difference {worst} > {TOL}");
}

/// A stride-2 conv model (synthetic weights) to cover `stride` on export.
fn strided_model() -> Model {
    let w: Vec<f64> = (0..6 * 9)
        .map(|i| ((i * 37 % 17) as f64 - 8.0) / 9.0)
        .collect();
    let n = 6 * 4 * 4;
    let d: Vec<f64> = (0..10 * n)
        .map(|i| ((i * 53 % 29) as f64 - 14.0) / 40.0)
        .collect();
    let m = Model {
        format: "fpec-model".into(),
        version: 1,
        input: [1, 8, 8],
        layers: vec![
            Layer::Conv2d {
                in_ch: 1,
                out_ch: 6,
                kernel: 3,
                padding: 1,
                stride: 2,
                weights: w,
                bias: (0..6).map(|i| i as f64 / 10.0 - 0.2).collect(),
            },
            Layer::Relu,
            Layer::Dense {
                inp: n,
                out: 10,
                weights: d,
                bias: vec![0.05; 10],
            },
        ],
        meta: None,
    };
    assert_eq!(m.stages().unwrap()[0].mac_shape, [6, 4, 4]);
    m
}

#[test]
fn exported_models_match_onnxruntime() {
    let py = python();
    assert!(py.exists());
    let tmp = tempfile::tempdir().unwrap();
    let (images, shape) = test_images();
    let strided = tmp.path().join("strided.json");
    std::fs::write(&strided, strided_model().to_json().unwrap()).unwrap();
    for src in [
        root().join("models/digits-mlp.json"),
        root().join("models/digits-cnn.json"),
        strided,
    ] {
        let name = src.file_stem().unwrap().to_string_lossy().to_string();
        let out = tmp.path().join(format!("{name}.onnx"));
        let o = fpec(&[
            "dnn",
            "export",
            src.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let model = Model::load(&src).unwrap();
        let ort = ort_logits(&out, &images, &shape);
        compare(&name, &model, &ort, &images);
    }
}

#[test]
fn onnx_helper_model_imports_and_matches_onnxruntime() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(python())
        .arg(root().join("tests/onnx/make_models.py"))
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "make_models.py: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let good = tmp.path().join("good.onnx");
    let json = tmp.path().join("good.json");
    let o = fpec(&[
        "dnn",
        "import",
        good.to_str().unwrap(),
        "--out",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let model = Model::load(&json).unwrap();
    // Conv (stride 2) relu pool | MatMul+Add relu | Gemm.
    let kinds: Vec<&str> = model
        .layers
        .iter()
        .map(|l| match l {
            Layer::Conv2d { stride: 2, .. } => "conv/2",
            Layer::Conv2d { .. } => "conv",
            Layer::Dense { .. } => "dense",
            Layer::Relu => "relu",
            Layer::MaxPool2d { .. } => "pool",
        })
        .collect();
    assert_eq!(
        kinds,
        ["conv/2", "relu", "pool", "dense", "relu", "dense"],
        "{model:?}"
    );
    let (images, shape) = test_images();
    let ort = ort_logits(&good, &images, &shape);
    compare("onnx.helper model (imported JSON)", &model, &ort, &images);
    // The same file straight through --model: one loader for both forms.
    let direct = onnx::load(&good).unwrap();
    assert_same_layers(&direct, &model);
    let o = fpec(&[
        "dnn",
        "eval",
        "--model",
        good.to_str().unwrap(),
        "--bits",
        "8+0",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["layers"].as_array().unwrap().len(), 3);

    // Softmax as the last node imports (as a graph) and gives good's classes.
    let soft = onnx::load_graph(&tmp.path().join("bad-softmax.onnx")).unwrap();
    let plan = soft.plan().unwrap();
    for (img, want) in images.iter().zip(&ort) {
        assert_eq!(argmax(&soft.forward(&plan, img)), argmax(want));
    }
    // The python-made bad files.
    for (file, needles) in [
        (
            "bad-softmax-mid.onnx",
            &["\"softmax\"", "Softmax", "only as the last node"][..],
        ),
        ("bad-float64.onnx", &["\"conv.w\"", "DOUBLE", "float32"][..]),
        ("bad-int32.onnx", &["\"fc1.b\"", "INT32", "float32"][..]),
        (
            "bad-shape.onnx",
            &["\"fc1\"", "MatMul", "[15, 12]", "16 values"][..],
        ),
    ] {
        expect_bad(&tmp.path().join(file), needles);
    }
}

/// Same layers; weights equal up to the last bits (the JSON file went
/// through serde_json's float parser, which may be one ulp off).
fn assert_same_layers(a: &Model, b: &Model) {
    assert_eq!(a.input, b.input);
    assert_eq!(a.layers.len(), b.layers.len());
    for (x, y) in a.layers.iter().zip(&b.layers) {
        match (x, y) {
            (
                Layer::Conv2d {
                    weights: wa,
                    bias: ba,
                    ..
                }
                | Layer::Dense {
                    weights: wa,
                    bias: ba,
                    ..
                },
                Layer::Conv2d {
                    weights: wb,
                    bias: bb,
                    ..
                }
                | Layer::Dense {
                    weights: wb,
                    bias: bb,
                    ..
                },
            ) => {
                assert_eq!(std::mem::discriminant(x), std::mem::discriminant(y));
                assert_eq!(wa.len(), wb.len());
                assert_eq!(ba.len(), bb.len());
                for (p, q) in wa.iter().chain(ba).zip(wb.iter().chain(bb)) {
                    assert!((p - q).abs() <= 1e-15 * p.abs().max(1.0), "{p} vs {q}");
                }
            }
            _ => assert_eq!(x, y),
        }
    }
}

/// `fpec dnn import` and `fpec dnn eval --model` both exit 2 with one line
/// containing every needle, and no output file appears.
fn expect_bad(path: &Path, needles: &[&str]) {
    let out = path.with_extension("json");
    let o = fpec(&[
        "dnn",
        "import",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    println!("{}: {}", path.display(), err.trim());
    assert_eq!(o.status.code(), Some(2), "{}: {err}", path.display());
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(path.to_str().unwrap()), "{err}");
    for n in needles {
        assert!(err.contains(n), "{}: {err:?} lacks {n:?}", path.display());
    }
    assert!(!out.exists(), "{} was written", out.display());
    let dir: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(dir.is_empty(), "temporary files left: {dir:?}");
    let o = fpec(&[
        "dnn",
        "eval",
        "--model",
        path.to_str().unwrap(),
        "--bits",
        "6+2",
    ]);
    assert_eq!(o.status.code(), Some(2), "eval --model {}", path.display());
    let e2 = String::from_utf8_lossy(&o.stderr);
    assert_eq!(e2.trim().lines().count(), 1, "{e2}");
}

fn exported(src: &str) -> proto::ModelProto {
    let m = Model::load(&root().join(src)).unwrap();
    onnx::export::export_proto(&m).unwrap()
}

fn init<'a>(m: &'a mut proto::ModelProto, name: &str) -> &'a mut proto::TensorProto {
    m.graph
        .as_mut()
        .unwrap()
        .initializer
        .iter_mut()
        .find(|t| t.name() == name)
        .unwrap()
}

#[test]
fn bad_files_exit_2_with_one_line_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |name: &str, bytes: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let good = exported("models/digits-cnn.json").encode_to_vec();
    // Truncated: half the file, and all but the last byte.
    expect_bad(
        &t("half.onnx", &good[..good.len() / 2]),
        &["not an ONNX model", "truncated"],
    );
    expect_bad(
        &t("cut.onnx", &good[..good.len() - 1]),
        &["not an ONNX model"],
    );
    // Not ONNX: text, JSON, empty.
    expect_bad(
        &t(
            "readme.onnx",
            &std::fs::read(root().join("README.md")).unwrap(),
        ),
        &["not an ONNX model"],
    );
    expect_bad(
        &t(
            "model.onnx",
            &std::fs::read(root().join("models/digits-mlp.json")).unwrap(),
        ),
        &["not an ONNX model"],
    );
    expect_bad(&t("empty.onnx", b""), &["not an ONNX model"]);

    // Unsupported op: a Sigmoid in place of the Relu.
    let mut m = exported("models/digits-cnn.json");
    for n in &mut m.graph.as_mut().unwrap().node {
        if n.op_type() == "Relu" {
            n.op_type = Some("Sigmoid".into());
        }
    }
    expect_bad(
        &t("sigmoid.onnx", &m.encode_to_vec()),
        &["\"relu1\"", "Sigmoid", "not supported", "Conv, Gemm"],
    );
    // Shape mismatch: dense weights declared [10, 127] (data for 128).
    let mut m = exported("models/digits-cnn.json");
    init(&mut m, "dense3.weight").dims = vec![10, 127];
    expect_bad(
        &t("dims.onnx", &m.encode_to_vec()),
        &["\"dense3.weight\"", "raw_data"],
    );
    // Shape mismatch between layers: conv weights for 2 input channels.
    let mut m = exported("models/digits-cnn.json");
    let w = init(&mut m, "conv0.weight");
    w.dims = vec![4, 2, 3, 3];
    expect_bad(
        &t("chan.onnx", &m.encode_to_vec()),
        &["\"conv0\"", "Conv", "1 channels"],
    );
    // Float64 initializer (8 bytes per value).
    let mut m = exported("models/digits-mlp.json");
    let b = init(&mut m, "dense2.bias");
    let vals: Vec<u8> = b
        .raw_data
        .as_ref()
        .unwrap()
        .chunks(4)
        .flat_map(|c| (f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64).to_le_bytes())
        .collect();
    b.raw_data = Some(vals);
    b.data_type = Some(proto::tensor_proto::DataType::Double as i32);
    expect_bad(
        &t("f64.onnx", &m.encode_to_vec()),
        &["\"dense2.bias\"", "DOUBLE", "float32"],
    );
    // Int64 initializer.
    let mut m = exported("models/digits-mlp.json");
    let b = init(&mut m, "dense0.bias");
    b.raw_data = None;
    b.int64_data = vec![1; 32];
    b.data_type = Some(proto::tensor_proto::DataType::Int64 as i32);
    expect_bad(&t("i64.onnx", &m.encode_to_vec()), &["INT64", "float32"]);
    // Hostile dims: huge declared size with little data (no allocation).
    let mut m = exported("models/digits-mlp.json");
    init(&mut m, "dense0.weight").dims = vec![1 << 40, 1 << 40];
    expect_bad(&t("huge.onnx", &m.encode_to_vec()), &["dense0.weight"]);
    let mut m = exported("models/digits-mlp.json");
    init(&mut m, "dense0.weight").dims = vec![-5, 64];
    expect_bad(&t("neg.onnx", &m.encode_to_vec()), &["dense0.weight"]);
    // A Gemm reading the wrong tensor (graphs may branch; the shapes are checked).
    let mut m = exported("models/digits-mlp.json");
    m.graph.as_mut().unwrap().node[2].input[0] = "flatten0".into();
    expect_bad(
        &t("branch.onnx", &m.encode_to_vec()),
        &["\"dense2\"", "64 values"],
    );
    // NaN weight.
    let mut m = exported("models/digits-mlp.json");
    let w = init(&mut m, "dense0.weight");
    w.raw_data.as_mut().unwrap()[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    expect_bad(&t("nan.onnx", &m.encode_to_vec()), &["not finite"]);

    // Export: an output path that is a folder, a missing input.
    let o = fpec(&[
        "dnn",
        "export",
        root().join("models/digits-mlp.json").to_str().unwrap(),
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = fpec(&[
        "dnn",
        "export",
        "/nonexistent/x.json",
        "--out",
        tmp.path().join("x.onnx").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!tmp.path().join("x.onnx").exists());
}

/// import(export(m)) is m with the weights rounded to float32; a stride-1
/// conv re-serializes without a "stride" key (model files stay identical).
#[test]
fn round_trip_keeps_layers() {
    for f in [
        "models/digits-mlp.json",
        "models/digits-cnn.json",
        "strided",
    ] {
        let m = if f == "strided" {
            strided_model()
        } else {
            let text = std::fs::read_to_string(root().join(f)).unwrap();
            let m = Model::from_json(&text).unwrap();
            // Same bytes but for float digits (serde_json's default parser
            // can be one ulp off, which has nothing to do with stride).
            let skeleton = |t: &str| -> Vec<String> {
                t.lines()
                    .map(|l| l.replace(|c: char| c.is_ascii_digit() || ".+-".contains(c), ""))
                    .collect()
            };
            let again = m.to_json().unwrap();
            assert_eq!(again.lines().count(), text.lines().count(), "{f}");
            assert_eq!(skeleton(&again), skeleton(&text), "{f}");
            assert!(!again.contains("stride"));
            m
        };
        let bytes = onnx::export::export_bytes(&m).unwrap();
        let back = onnx::import::import_bytes(&bytes, "x.onnx").unwrap();
        let mut want = m.clone();
        for l in &mut want.layers {
            if let Layer::Conv2d { weights, bias, .. } | Layer::Dense { weights, bias, .. } = l {
                for v in weights.iter_mut().chain(bias.iter_mut()) {
                    *v = *v as f32 as f64;
                }
            }
        }
        assert_eq!(back.input, want.input, "{f}");
        assert_eq!(back.layers, want.layers, "{f}");
        if let Some(meta) = &m.meta {
            assert_eq!(&back.meta.as_ref().unwrap()["exported_meta"], meta);
        }
        // Exporting the re-imported model gives the same bytes but the meta.
        let again = onnx::export::export_proto(&Model {
            meta: m.meta.clone(),
            ..back
        })
        .unwrap();
        assert_eq!(again.encode_to_vec(), bytes, "{f}");
    }
}
