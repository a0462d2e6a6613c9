//! ONNX graphs (spec 9 revised) against onnxruntime: a graph made by onnx's
//! Python helper with every op fpec imports (asymmetric padding, depthwise
//! and grouped conv, BatchNormalization folding, Add, Clip, Concat, Slice,
//! Pad, MaxPool with padding, AveragePool with divisor 9, GlobalAveragePool,
//! Flatten, MatMul+Add, Gemm, Dropout, Identity), its bad variants, and the
//! shared pretrained ResNet-20 (skipped with a message when ../shared is
//! missing, a failure then under CI=true).

use crate::dnn_onnx::{ort_logits, python, root};
use fpec::dnn::data::{default_digits_path, load_digits};
use fpec::dnn::gquant::{calibrate_graph, Engine, QuantGraph};
use fpec::dnn::model::argmax;
use fpec::dnn::onnx::load_graph;
use fpec::dnn::quant::QuantConfig;
use fpec::format::Split;
use rand::{Rng, SeedableRng};
use std::path::Path;

fn compare_float(
    what: &str,
    g: &fpec::dnn::graph::Graph,
    ort: &[Vec<f64>],
    images: &[Vec<f64>],
    tol: f64,
) {
    let plan = g.plan().unwrap();
    let mut worst = 0f64;
    let mut same = 0;
    for (img, want) in images.iter().zip(ort) {
        let got = g.forward(&plan, img);
        assert_eq!(got.len(), want.len());
        for (a, b) in got.iter().zip(want) {
            worst = worst.max((a - b).abs());
        }
        same += (argmax(&got) == argmax(want)) as usize;
    }
    println!(
        "{what}: {} images, max |fpec - onnxruntime| = {worst:.3e}, same class {same}",
        images.len()
    );
    assert!(worst <= tol, "{what}: max logit difference {worst} > {tol}");
    assert_eq!(same, images.len(), "{what}: class decisions differ");
}

fn make_graphs(dir: &Path) {
    let o = std::process::Command::new(python())
        .arg(root().join("tests/onnx/make_graphs.py"))
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "make_graphs.py: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn fpec_out(args: &[&str]) -> std::process::Output {
    crate::common::fpec().args(args).output().unwrap()
}

#[test]
fn every_op_graph_matches_onnxruntime_and_runs_bit_exact() {
    let tmp = tempfile::tempdir().unwrap();
    make_graphs(tmp.path());
    let f = tmp.path().join("every-op.onnx");
    let g = load_graph(&f).unwrap();
    let d = load_digits(&default_digits_path()).unwrap().split();
    let ort = ort_logits(&f, &d.test.images, &[1, 8, 8]);
    compare_float("every-op graph", &g, &ort, &d.test.images, 1e-4);
    // Float classes moved by the quantization only: bit-exact engines agree.
    let ranges = calibrate_graph(&g, &d.calibration).unwrap();
    let few = d.test.take(25);
    for bits in ["4+2", "6+2", "8+0", "5+4"] {
        let cfg = QuantConfig::from_ranges(Split::parse(bits).unwrap(), &ranges, None).unwrap();
        let a = QuantGraph::new(&g, &cfg, Engine::Reference)
            .unwrap()
            .evaluate(&few)
            .unwrap();
        let b = QuantGraph::new(&g, &cfg, Engine::Gemm)
            .unwrap()
            .evaluate(&few)
            .unwrap();
        assert_eq!(a, b, "{bits}");
    }
    // The CLI: import writes a version-2 graph that eval reads like the .onnx.
    let json = tmp.path().join("every-op.json");
    let o = fpec_out(&[
        "dnn",
        "import",
        f.to_str().unwrap(),
        "--out",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(text.contains("\"version\": 2") && text.contains("\"type\": \"concat\""));
    let mut outs = Vec::new();
    for m in [&f, &json] {
        let o = fpec_out(&[
            "dnn",
            "eval",
            "--model",
            m.to_str().unwrap(),
            "--bits",
            "6+2",
            "--json",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["layers"].as_array().unwrap().len(), 6);
        v["seconds"] = 0.into();
        v["model"] = "".into();
        outs.push(v);
    }
    assert_eq!(outs[0], outs[1]);
}

#[test]
fn bad_graphs_exit_2_with_one_line_naming_the_node() {
    let tmp = tempfile::tempdir().unwrap();
    make_graphs(tmp.path());
    for (file, cmd, needles) in [
        (
            "bad-bn-after-relu.onnx",
            "import",
            &["\"bnr\"", "BatchNormalization", "directly after a Conv"][..],
        ),
        (
            "bad-sigmoid.onnx",
            "import",
            &["\"r1\"", "Sigmoid", "not supported"][..],
        ),
        (
            "bad-add-shapes.onnx",
            "import",
            &["\"cat\"", "Add", "differ"][..],
        ),
        (
            "bad-external.onnx",
            "import",
            &["\"c1.w\"", "external data"][..],
        ),
        (
            "bad-add-divisors.onnx",
            "eval",
            &["\"mixed\"", "different divisors"][..],
        ),
        (
            "bad-uneven-pool.onnx",
            "eval",
            &["\"ap\"", "one divisor per tensor"][..],
        ),
    ] {
        let p = tmp.path().join(file);
        let out = tmp.path().join(format!("{file}.json"));
        let o = if cmd == "import" {
            fpec_out(&[
                "dnn",
                "import",
                p.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
        } else {
            fpec_out(&[
                "dnn",
                "eval",
                "--model",
                p.to_str().unwrap(),
                "--bits",
                "6+2",
            ])
        };
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        println!("{file}: {}", err.trim());
        assert_eq!(o.status.code(), Some(2), "{file}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{file}: not one line: {err}");
        for n in needles {
            assert!(err.contains(n), "{file}: {err:?} lacks {n:?}");
        }
        assert!(!out.exists());
    }
}

/// Normalized random CIFAR-like images (x/255, ImageNet mean/std), seeded.
fn cifar_like(seed: u64, n: usize) -> Vec<Vec<f64>> {
    let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mean, std) = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
    (0..n)
        .map(|_| {
            // Smooth-ish images: a random colour per 4x4 block plus noise.
            let blocks: Vec<f64> = (0..3 * 64).map(|_| r.gen_range(0.0..255.0)).collect();
            let mut img = Vec::with_capacity(3072);
            for c in 0..3 {
                for y in 0..32 {
                    for x in 0..32 {
                        let v: f64 = (blocks[c * 64 + (y / 4) * 8 + x / 4]
                            + r.gen_range(-20.0..20.0))
                        .clamp(0.0, 255.0)
                        .round();
                        img.push((v / 255.0 - mean[c]) / std[c]);
                    }
                }
            }
            img
        })
        .collect()
}

#[test]
fn shared_resnet20_imports_and_matches_onnxruntime() {
    let Some(net) = crate::common::shared(
        "nets/cifar10-resnet20.onnx",
        "dnn_graph_onnx::shared_resnet20",
    ) else {
        return;
    };
    let Some(test_dir) =
        crate::common::shared("data/cifar10-jpeg/test", "dnn_graph_onnx::shared_resnet20")
    else {
        return;
    };
    let g = load_graph(&net).unwrap();
    let plan = g.plan().unwrap();
    assert_eq!(plan.macs.len(), 20);
    assert_eq!(g.input, [3, 32, 32]);
    // 200 test images (a seeded subset over all classes), decoded by fpec.
    let seed = 20;
    println!("subset seed {seed}");
    let opts = fpec::dnn::data::ImageFolderOptions {
        mean: vec![0.485, 0.456, 0.406],
        std: vec![0.229, 0.224, 0.225],
        limit: Some(200),
        subset_seed: Some(seed),
    };
    let d = fpec::dnn::data::load_image_folder(&test_dir, &opts).unwrap();
    let ort = ort_logits(&net, &d.images, &[3, 32, 32]);
    compare_float(
        "ResNet-20 (200 CIFAR-10 test JPEGs)",
        &g,
        &ort,
        &d.images,
        2e-3,
    );
    // Bit-exact: the GEMM engine equals the per-dot reference on two images
    // (also random, off-distribution ones), FxP and FPEC.
    let mut images = d.images[..2].to_vec();
    images.extend(cifar_like(seed, 1));
    let calib = d.take(16);
    let ranges = calibrate_graph(&g, &calib).unwrap();
    for bits in ["6+2", "8+0"] {
        let cfg = QuantConfig::from_ranges(Split::parse(bits).unwrap(), &ranges, None).unwrap();
        let a = QuantGraph::new(&g, &cfg, Engine::Reference).unwrap();
        let b = QuantGraph::new(&g, &cfg, Engine::Gemm).unwrap();
        for img in &images {
            assert_eq!(a.logits(img).unwrap(), b.logits(img).unwrap(), "{bits}");
        }
    }
}

#[test]
fn fpec_opt_runs_on_a_graph_with_either_calibration() {
    let tmp = tempfile::tempdir().unwrap();
    make_graphs(tmp.path());
    let f = tmp.path().join("every-op.onnx");
    for (method, wfb) in [
        ("max", "per-tensor"),
        ("mse", "per-tensor"),
        ("max", "per-channel"),
    ] {
        let out = tmp.path().join(format!("opt-{method}-{wfb}"));
        let o = fpec_out(&[
            "dnn",
            "opt",
            "--model",
            f.to_str().unwrap(),
            "--test-double-energy",
            "--calib-method",
            method,
            "--weight-fb",
            wfb,
            "--tune-images",
            "20",
            "--early-images",
            "30",
            "--activity-images",
            "1",
            "--limit",
            "60",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            v["configs"].as_array().unwrap().len(),
            fpec::dnn::opt::sweep_splits().unwrap().len()
        );
        let cal = v["calibration"].as_str().unwrap();
        assert!(cal.contains(&format!("by {method}")), "{cal}");
        let per_channel = cal.contains("weights per output channel");
        assert_eq!(per_channel, wfb == "per-channel", "{cal}");
        // Per channel: every layer lists its FBw per output channel, the
        // layer's FBw their maximum.
        for c in v["configs"].as_array().unwrap() {
            for l in c["layers"].as_array().unwrap() {
                let ch = l["fb_w_channels"].as_array();
                assert_eq!(ch.is_some(), per_channel, "{l}");
                if let Some(ch) = ch {
                    let top = ch.iter().map(|x| x.as_i64().unwrap()).max().unwrap();
                    assert_eq!(l["fb_w"].as_i64().unwrap(), top, "{l}");
                }
            }
        }
        let md = std::fs::read_to_string(out.join("dnn-report.md")).unwrap();
        assert!(md.contains("Calibration (FxP and FPEC alike)"), "{md}");
        // FxP 16 keeps the float accuracy within the budget on this graph (60 test images).
        let fx16 = v["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["bits"] == "16+0")
            .unwrap();
        assert!(fx16["within_budget"].as_bool().unwrap(), "{fx16}");
    }
}
