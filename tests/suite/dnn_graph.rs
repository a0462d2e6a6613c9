//! The graph model and the graph engines (spec 9 revised): every committed
//! layer-list network gives the same float scores, calibration and
//! bit-exact results (accuracy and every statistic) through the graph as
//! through the layer-list engine; the GEMM engine gives every sum of the
//! per-dot golden reference on random graphs with every op; the divisor
//! requantization against a naive rational evaluation of spec 9's formula;
//! per-channel weight formats against a hand-worked layer (bias and Clip
//! rounded at each channel's F) and across every engine.

use fpec::dnn::data::{default_digits_path, load_digits, Dataset};
use fpec::dnn::gquant::{calibrate_graph, Engine, QuantGraph};
use fpec::dnn::graph::{Graph, Node, Op, INPUT};
use fpec::dnn::model::{forward_float, Model};
use fpec::dnn::quant::{calibrate, QuantConfig, QuantModel};
use fpec::format::{Format, Split};
use fpec::golden::requant_div;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};
use rand::{Rng, SeedableRng};

fn committed(name: &str) -> Model {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name);
    Model::load(&p).unwrap()
}

fn digits_test() -> (Dataset, Dataset) {
    let s = load_digits(&default_digits_path()).unwrap().split();
    (s.calibration, s.test)
}

#[test]
fn layer_lists_match_the_layer_engine_bit_for_bit() {
    let (calib, test) = digits_test();
    for name in ["digits-mlp.json", "digits-cnn.json"] {
        let m = committed(name);
        let g = Graph::from_model(&m).unwrap();
        let plan = g.plan().unwrap();
        let stages = m.stages().unwrap();
        for img in test.images.iter().take(20) {
            assert_eq!(
                forward_float(&m, &stages, img).0,
                g.forward(&plan, img),
                "{name}"
            );
        }
        let ranges = calibrate(&m, &calib).unwrap();
        assert_eq!(ranges, calibrate_graph(&g, &calib).unwrap(), "{name}");
        for bits in ["4+2", "3+4", "6+0", "8+0", "5+3", "16+0"] {
            let cfg = QuantConfig::from_ranges(Split::parse(bits).unwrap(), &ranges, None).unwrap();
            let old = QuantModel::new(&m, &cfg).unwrap().evaluate(&test).unwrap();
            for engine in [
                Engine::Reference,
                Engine::Gemm,
                Engine::FloatGemm,
                Engine::Int8Portable,
            ] {
                let new = QuantGraph::new(&g, &cfg, engine)
                    .unwrap()
                    .evaluate(&test)
                    .unwrap();
                assert_eq!(old, new, "{name} {bits} {engine:?}");
            }
        }
    }
}

#[test]
fn lenet_matches_the_layer_engine_on_200_digits() {
    let m = committed("mnist-lenet5.json");
    let g = Graph::from_model(&m).unwrap();
    let d = fpec::dnn::data::load_named(fpec::dnn::data::Named::Mnist10k)
        .unwrap()
        .split();
    let (calib, test) = (d.calibration.take(200), d.test.take(200));
    let ranges = calibrate(&m, &calib).unwrap();
    for bits in ["4+4", "6+2", "8+0"] {
        let cfg = QuantConfig::from_ranges(Split::parse(bits).unwrap(), &ranges, None).unwrap();
        let old = QuantModel::new(&m, &cfg).unwrap().evaluate(&test).unwrap();
        let new = QuantGraph::new(&g, &cfg, Engine::Gemm)
            .unwrap()
            .evaluate(&test)
            .unwrap();
        assert_eq!(old, new, "lenet {bits}");
    }
}

#[test]
fn graph_json_round_trips_and_v1_loads_as_a_chain() {
    let m = committed("digits-cnn.json");
    let g = Graph::from_model(&m).unwrap();
    let text = g.to_json().unwrap();
    assert!(text.contains("\"version\": 2"));
    assert_eq!(Graph::from_json(&text).unwrap(), g);
    assert_eq!(Graph::from_json(&m.to_json().unwrap()).unwrap(), g);
    let bad = text.replacen(
        "\"inputs\": [\n        \"input\"",
        "\"inputs\": [\n        \"nowhere\"",
        1,
    );
    let e = format!("{:#}", Graph::from_json(&bad).unwrap_err());
    assert!(e.contains("\"nowhere\" is not an earlier node"), "{e}");
}

fn rnd(rng: &mut impl Rng, n: usize, s: f64) -> Vec<f64> {
    (0..n).map(|_| rng.gen_range(-s..s)).collect()
}

fn node(name: &str, inputs: &[&str], op: Op) -> Node {
    Node {
        name: name.into(),
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        op,
    }
}

/// A graph with every op: asymmetric padding, stride 2, depthwise and
/// grouped conv, residual Add, Concat, Slice, Pad, Clip, max pool with
/// padding, 3x3 average pool (divisor 9), global average pool, dense.
pub fn every_op_graph(seed: u64) -> Graph {
    let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let conv = |r: &mut rand_chacha::ChaCha8Rng,
                cin: usize,
                cout: usize,
                k: [usize; 2],
                stride: [usize; 2],
                pads: [usize; 4],
                groups: usize| Op::Conv {
        out_ch: cout,
        kernel: k,
        stride,
        pads,
        groups,
        weights: rnd(r, cout * cin / groups * k[0] * k[1], 0.6),
        bias: rnd(r, cout, 0.2),
    };
    let nodes = vec![
        node(
            "c1",
            &[INPUT],
            conv(&mut r, 3, 8, [3, 3], [1, 1], [1, 0, 1, 2], 1),
        ), // 8x9x10
        node("r1", &["c1"], Op::Relu),
        node(
            "dw",
            &["r1"],
            conv(&mut r, 8, 8, [3, 3], [1, 1], [1, 1, 1, 1], 8),
        ),
        node("cl", &["dw"], Op::Clip { max: 1.5 }),
        node(
            "gc",
            &["cl"],
            conv(&mut r, 8, 8, [1, 1], [1, 1], [0, 0, 0, 0], 2),
        ),
        node("add", &["gc", "r1"], Op::Add),
        node("r2", &["add"], Op::Relu),
        node(
            "mp",
            &["r2"],
            Op::MaxPool {
                kernel: [2, 2],
                stride: [2, 2],
                pads: [1, 0, 0, 1],
            },
        ), // 8x5x5
        node(
            "sl",
            &["r2"],
            Op::Slice {
                ranges: [[0, 4, 1], [0, 9, 2], [0, 10, 2]],
            },
        ), // 4x5x5
        node(
            "pd",
            &["sl"],
            Op::Pad {
                pads: [2, 0, 0, 2, 0, 0],
            },
        ), // 8x5x5
        node("cat", &["mp", "pd"], Op::Concat), // 16x5x5
        node(
            "c2",
            &["cat"],
            conv(&mut r, 16, 6, [2, 3], [1, 1], [0, 1, 1, 1], 1),
        ), // 6x5x5
        node("r3", &["c2"], Op::Relu),
        node(
            "ap",
            &["r3"],
            Op::AvgPool {
                kernel: [3, 3],
                stride: [1, 1],
                pads: [0, 0, 0, 0],
            },
        ), // 6x3x3 (divisor 9)
        node(
            "c3",
            &["ap"],
            conv(&mut r, 6, 5, [1, 1], [1, 1], [0, 0, 0, 0], 1),
        ),
        node("gap", &["c3"], Op::GlobalAvgPool),
        node("fl", &["gap"], Op::Flatten),
        node(
            "fc",
            &["fl"],
            Op::Dense {
                out: 4,
                weights: rnd(&mut r, 20, 0.8),
                bias: rnd(&mut r, 4, 0.1),
            },
        ),
    ];
    let g = Graph {
        format: "fpec-model".into(),
        version: 2,
        input: [3, 9, 10],
        nodes,
        output: "fc".into(),
        meta: None,
    };
    g.plan().unwrap();
    g
}

/// `FPEC_SEED` if set, else `default` (the tests print the seed they use).
fn seed_or(default: u64) -> u64 {
    std::env::var("FPEC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn random_images(seed: u64, n: usize, shape: [usize; 3]) -> Dataset {
    let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let len = shape.iter().product();
    Dataset {
        shape,
        images: (0..n).map(|_| rnd(&mut r, len, 1.0)).collect(),
        labels: (0..n).map(|i| (i % 4) as u8).collect(),
        classes: 4,
    }
}

/// The GEMM, float-GEMM and int8-portable engines give the reference
/// engine's logits on every image and its whole evaluation; returns the
/// reference.
fn engines_agree(g: &Graph, cfg: &QuantConfig, data: &Dataset, what: &str) -> QuantGraph {
    let a = QuantGraph::new(g, cfg, Engine::Reference).unwrap();
    for engine in [Engine::Gemm, Engine::FloatGemm, Engine::Int8Portable] {
        let b = QuantGraph::new(g, cfg, engine).unwrap();
        for img in &data.images {
            assert_eq!(
                a.logits(img).unwrap(),
                b.logits(img).unwrap(),
                "{what} {engine:?}"
            );
        }
        assert_eq!(
            a.evaluate(data).unwrap(),
            b.evaluate(data).unwrap(),
            "{what} {engine:?}"
        );
    }
    a
}

#[test]
fn gemm_engine_equals_the_per_dot_reference_on_random_graphs() {
    let seed = seed_or(11);
    println!("seed {seed} (rerun: FPEC_SEED={seed} cargo test --test suite dnn_graph::gemm)");
    for s in seed..seed + 3 {
        let g = every_op_graph(s);
        let data = random_images(s + 100, 12, g.input);
        let ranges = calibrate_graph(&g, &data).unwrap();
        // 6+2, 5+3, 4+4 and 8+0 fill the int8 kernels' bytes exactly (W + G = 8);
        // 7+2, 8+3 and 6+4 take two sets of byte lanes, FxP 9..15 three, FxP
        // 16 the float GEMM.
        for bits in [
            "3+2", "4+4", "6+2", "5+3", "7+2", "8+3", "6+4", "8+0", "5+0", "9+0", "12+0", "15+0",
            "16+0",
        ] {
            let mut cfg =
                QuantConfig::from_ranges(Split::parse(bits).unwrap(), &ranges, None).unwrap();
            cfg.override_t(Some(s as u32 % 9), Some(8)).unwrap();
            let a = engines_agree(&g, &cfg, &data, &format!("seed {s} {bits}"));
            // Every sum of every MAC layer equals golden::dot over the exported pairs.
            for k in 0..a.num_stages() {
                for rec in a.layer_dot_products(k, &data.images[..2]).unwrap() {
                    let sp = cfg.split;
                    let (w, x): (Vec<_>, Vec<_>) = rec
                        .pairs
                        .iter()
                        .map(|&(w, x)| {
                            (
                                fpec::golden::Operand::of_bits(&sp, w),
                                fpec::golden::Operand::of_bits(&sp, x),
                            )
                        })
                        .unzip();
                    assert_eq!(fpec::golden::dot(sp.g(), &w, &x), rec.sum);
                }
            }
        }
    }
}

/// The energy model's sample of each layer (one run per image, every layer
/// recorded at once) is `layer_dot_products` of that layer alone, stepped by
/// ceil(n / max_dots) in (image, output) order: the same records, sums and
/// pairs, for a step of 1, a step that does not divide n, and one record.
#[test]
fn sampled_dot_products_are_each_layers_records_stepped() {
    let seed = seed_or(31);
    println!("seed {seed} (rerun: FPEC_SEED={seed} cargo test --test suite dnn_graph::sampled)");
    let g = every_op_graph(seed);
    let data = random_images(seed + 100, 3, g.input);
    let ranges = calibrate_graph(&g, &data).unwrap();
    for bits in ["6+2", "8+0", "5+3"] {
        let cfg = QuantConfig::from_ranges(Split::parse(bits).unwrap(), &ranges, None).unwrap();
        let q = QuantGraph::new(&g, &cfg, Engine::Gemm).unwrap();
        for max_dots in [usize::MAX, 7, 1] {
            let sampled = q.sampled_dot_products(&data.images, max_dots).unwrap();
            assert_eq!(sampled.len(), q.num_stages());
            for (k, got) in sampled.iter().enumerate() {
                let all = q.layer_dot_products(k, &data.images).unwrap();
                let step = all.len().div_ceil(max_dots).max(1);
                let want: Vec<_> = all.iter().step_by(step).collect();
                assert_eq!(got.len(), want.len(), "{bits} layer {k} max {max_dots}");
                for (a, b) in got.iter().zip(want) {
                    assert_eq!(
                        (a.image, a.output, a.sum, &a.pairs),
                        (b.image, b.output, b.sum, &b.pairs),
                        "{bits} layer {k} max {max_dots}"
                    );
                }
            }
        }
    }
}

/// A threshold trial resumed from a cut (the images run up to stage s's
/// node) gives the logits and the count of a full run, for every stage and
/// several thresholds; a cut taken under other formats before its stage is
/// refused (the images then run in full).
#[test]
fn a_trial_resumed_from_a_cut_equals_a_full_run() {
    let seed = seed_or(21);
    println!(
        "seed {seed} (rerun: FPEC_SEED={seed} cargo test --test suite dnn_graph::a_trial_resumed)"
    );
    let g = every_op_graph(seed);
    let data = random_images(seed + 100, 10, g.input);
    let ranges = calibrate_graph(&g, &data).unwrap();
    let base = QuantConfig::from_ranges(Split::parse("6+2").unwrap(), &ranges, None).unwrap();
    let mut changed = 0;
    for s in 1..base.stages.len() {
        let cut = QuantGraph::new(&g, &base, Engine::Gemm)
            .unwrap()
            .cut(s, &data)
            .unwrap();
        for (tw, ta) in [(0, 0), (5, 17), (32, 32)] {
            let mut trial = base.clone();
            trial.set_t(s, tw, ta).unwrap();
            let q = QuantGraph::new(&g, &trial, Engine::Gemm).unwrap();
            for (i, img) in data.images.iter().enumerate() {
                let full = q.logits(img).unwrap();
                let resumed = q.logits_from(&cut, i).unwrap().expect("cut applies");
                assert_eq!(resumed, full, "stage {s} T ({tw}, {ta}) image {i}");
                let b = QuantGraph::new(&g, &base, Engine::Gemm).unwrap();
                changed += (b.logits(img).unwrap() != full) as usize;
            }
            assert_eq!(
                q.count_correct_from(&data, &cut).unwrap(),
                q.count_correct(&data).unwrap()
            );
        }
        // Other formats before stage s: the cut does not apply.
        let mut other = base.clone();
        other.set_t(s - 1, 31, 31).unwrap();
        let q = QuantGraph::new(&g, &other, Engine::Gemm).unwrap();
        assert!(q.logits_from(&cut, 0).unwrap().is_none(), "stage {s}");
    }
    // The trials moved some logits: the comparison is not of constants.
    assert!(changed > 0);
}

#[test]
fn gemm_engine_is_exercised_and_mutation_is_seen() {
    // The float scores of the every-op graph move when one weight moves:
    // the comparison above cannot pass on constant output.
    let g = every_op_graph(11);
    let data = random_images(111, 4, g.input);
    let ranges = calibrate_graph(&g, &data).unwrap();
    let cfg = QuantConfig::from_ranges(Split::parse("6+2").unwrap(), &ranges, None).unwrap();
    let a = QuantGraph::new(&g, &cfg, Engine::Gemm).unwrap();
    let mut g2 = g.clone();
    if let Op::Conv { weights, .. } = &mut g2.nodes[2].op {
        weights[0] += 0.5;
    }
    let b = QuantGraph::new(&g2, &cfg, Engine::Gemm).unwrap();
    assert!(data
        .images
        .iter()
        .any(|i| a.logits(i).unwrap().1 != b.logits(i).unwrap().1));
}

/// Spec 9's requantization with divisor, evaluated with exact rationals.
fn naive_requant(s: i64, f: i32, d: i64, fmt: &Format) -> (i64, bool, u32, bool) {
    let two = BigRational::from_integer(BigInt::from(2));
    let mut scale = BigRational::one();
    let k = f - fmt.fb;
    for _ in 0..k.abs() {
        scale *= two.clone();
    }
    let y = if k >= 0 {
        BigRational::new(BigInt::from(s), BigInt::from(d)) / scale
    } else {
        BigRational::new(BigInt::from(s), BigInt::from(d)) * scale
    };
    let (qmin, qmax) = fmt.split.q_range();
    let q0 = (y.clone() + BigRational::new(1.into(), 2.into()))
        .floor()
        .to_integer()
        .to_i64()
        .unwrap();
    let q = q0.clamp(qmin, qmax);
    let e = y - BigRational::from_integer(BigInt::from(q));
    let m = fmt.split.m();
    let edb = fmt.split.comp.is_some() && e > BigRational::zero();
    let emb = if m == 0 {
        0
    } else {
        let b = (e.abs() * BigRational::from_integer(BigInt::from(1i64 << (m + 1))))
            .floor()
            .to_integer()
            .to_i64()
            .unwrap_or(i64::MAX);
        b.min((1 << m) - 1) as u32
    };
    let ezb = fmt.split.z()
        && e.abs() * BigRational::from_integer(64.into())
            <= BigRational::from_integer(BigInt::from(fmt.t));
    (q, edb, emb, ezb)
}

#[test]
fn divisor_requant_matches_the_rational_formula() {
    // Hand-worked: s = 50 at F = 2 with d = 9 is 50/36 = 1.3889 in FPEC(4+2, FB 1):
    // y = 2.7778, q = 3, e = -0.2222: edb 0, |e| * 64 = 14.2 > T = 8: ezb 0.
    let f42 = Format::new(Split::parse("4+2").unwrap(), 1, None).unwrap();
    let r = requant_div(50, 2, 9, &f42);
    assert_eq!(
        (r.word.q, r.word.edb, r.word.ezb, r.saturated),
        (3, false, false, false)
    );
    let seed = 5u64;
    println!("seed {seed}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for i in 0..20000 {
        let bits = ["3+2", "4+4", "6+3", "8+0", "5+1", "2+0"][i % 6];
        let split = Split::parse(bits).unwrap();
        let fmt = Format::new(split, rng.gen_range(-4..8), Some(rng.gen_range(0..20))).unwrap();
        let s: i64 = if i % 3 == 0 {
            rng.gen_range(-2000..2000)
        } else {
            rng.gen_range(-1i64 << 40..1i64 << 40)
        };
        let d = [1, 3, 9, 16, 49, 64, 7][i % 7];
        let f = rng.gen_range(-6..40);
        let r = requant_div(s, f, d, &fmt);
        let (q, edb, emb, ezb) = naive_requant(s, f, d, &fmt);
        assert_eq!(
            (r.word.q as i64, r.word.edb, r.word.emb, r.word.ezb),
            (q, edb, emb, ezb),
            "s {s} f {f} d {d} {bits} fb {} t {}",
            fmt.fb,
            fmt.t
        );
    }
}

#[test]
fn mse_calibration_picks_the_hand_worked_fb() {
    use fpec::dnn::gquant::{calibrate_source, choose_fbs, CalibMethod};
    // Dense 100 -> 2, weights all 0.5; W = 4. Activations: 0.1 everywhere,
    // one 3.9. Max rule: FB = 0 (3.9 * 2 rounds to 8 > 7). Squared errors
    // (spec 2 rounding, clamp to -8..7) per FB with 9999 x 0.1 and one 3.9:
    // FB 0: 9999 * 0.01 + 0.01 = 100.0; FB 1: 9999 * 0.01 + 0.16 = 100.15;
    // FB 2: 9999 * 0.01 + 4.62 = 104.6; FB 3: 9999 * 0.000625 + 3.025^2 = 15.40;
    // FB 4: 9999 * 0.000625 + 3.4625^2 = 18.24: MSE picks FB 3.
    // Weights 0.5: max rule FB 3 (0.5 * 16 = 8 > 7), exact there: MSE keeps 3.
    let g = Graph {
        format: "fpec-model".into(),
        version: 2,
        input: [100, 1, 1],
        nodes: vec![node(
            "fc",
            &[INPUT],
            Op::Dense {
                out: 2,
                weights: vec![0.5; 200],
                bias: vec![0.0; 2],
            },
        )],
        output: "fc".into(),
        meta: None,
    };
    let mut images = vec![vec![0.1; 100]; 100];
    images[7][3] = 3.9;
    let d = Dataset {
        shape: [100, 1, 1],
        images,
        labels: vec![0; 100],
        classes: 2,
    };
    let r = calibrate_source(&g, &d).unwrap();
    assert_eq!(
        choose_fbs(&g, &d, &r, 4, CalibMethod::Max).unwrap(),
        vec![(3, 0)]
    );
    assert_eq!(
        choose_fbs(&g, &d, &r, 4, CalibMethod::Mse).unwrap(),
        vec![(3, 3)]
    );
    // With 100 outliers among 10,000 values the clipping costs more.
    let mut images = vec![vec![0.1; 100]; 100];
    for im in images.iter_mut() {
        im[0] = 3.9;
    }
    let d = Dataset {
        shape: [100, 1, 1],
        images,
        labels: vec![0; 100],
        classes: 2,
    };
    // FB 0: 9900 * 0.01 + 100 * 0.01 = 100; FB 3: 6.19 + 100 * 9.15 = 921: FB 0.
    assert_eq!(
        choose_fbs(&g, &d, &r, 4, CalibMethod::Mse).unwrap(),
        vec![(3, 0)]
    );
}

#[test]
fn int8_layout_is_used_where_the_lanes_fit_in_bytes() {
    // The comparisons above go through the int8 kernels only if the engine
    // picks them: every non-grouped MAC layer of FxP W <= 15 and FPEC
    // W <= 8 (one, two or three sets of byte lanes), none of FxP 16 or
    // FPEC W > 8.
    let g = every_op_graph(11);
    let data = random_images(111, 4, g.input);
    let ranges = calibrate_graph(&g, &data).unwrap();
    let grouped = g
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Conv { groups, .. } if groups > 1))
        .count();
    for (bits, fits) in [
        ("6+2", true),
        ("5+3", true),
        ("4+4", true),
        ("8+0", true),
        ("7+2", true),
        ("6+4", true),
        ("8+4", true),
        ("9+0", true),
        ("15+0", true),
        ("16+0", false),
        ("9+2", false),
    ] {
        let cfg = QuantConfig::from_ranges(Split::parse(bits).unwrap(), &ranges, None).unwrap();
        let q = QuantGraph::new(&g, &cfg, Engine::Int8Portable).unwrap();
        let want = if fits { q.num_stages() - grouped } else { 0 };
        assert_eq!(q.int8_layers(), want, "{bits}");
        assert_eq!(
            QuantGraph::new(&g, &cfg, Engine::FloatGemm)
                .unwrap()
                .int8_layers(),
            0
        );
    }
}

/// The int8 convolution against the formula: out[o][pos] = sum over
/// (c, ky, kx) of Qw.(2^G Qa + Ea) + Ew.Qa (FxP: Qw.Qa) of the operands,
/// padding positions holding the pad operand; every byte layout (one, two
/// and three sets), operands at their extremes a quarter of the time, both
/// kernels, random geometries
/// (channel counts not a multiple of 4, output blocks of 16 not full,
/// odd block counts, rows not a multiple of the tile, strides, asymmetric pads).
#[test]
fn int8_kernels_equal_the_dot_product_formula() {
    use fpec::dnn::int8::{Geometry, Int8Conv};
    let seed = seed_or(5);
    println!(
        "seed {seed} (rerun: FPEC_SEED={seed} cargo test --test suite dnn_graph::int8_kernels)"
    );
    let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    println!("VNNI on this CPU: {}", Int8Conv::vnni_available());
    for case in 0..72 {
        let all = [
            "8+0", "6+2", "5+3", "4+4", "3+2", "4+0", "7+2", "6+4", "8+4", "9+0", "12+0", "15+0",
        ];
        let bits = all[case % all.len()];
        let split = Split::parse(bits).unwrap();
        let fxp = split.is_fxp();
        let c = r.gen_range(1..=9);
        let (h, w) = (r.gen_range(1..=11), r.gen_range(1..=13));
        let k = [r.gen_range(1..=3.min(h + 1)), r.gen_range(1..=3.min(w + 1))];
        let stride = [r.gen_range(1..=2), r.gen_range(1..=2)];
        let pads = [0, 1, 2, 3].map(|i| r.gen_range(0..k[i % 2]));
        let (hp, wp) = (h + pads[0] + pads[2], w + pads[1] + pads[3]);
        if hp < k[0] || wp < k[1] {
            continue;
        }
        let (oh, ow) = ((hp - k[0]) / stride[0] + 1, (wp - k[1]) / stride[1] + 1);
        let oc = [1, 5, 16, 17, 32, 40][r.gen_range(0..6)];
        let half = 1i32 << (split.w - 1);
        let n = oc * c * k[0] * k[1];
        let q_of = |r: &mut rand_chacha::ChaCha8Rng| match r.gen_range(0..8) {
            0 => -half,
            1 => half - 1,
            _ => r.gen_range(-half..half),
        };
        let wq: Vec<i32> = (0..n).map(|_| q_of(&mut r)).collect();
        let emax = if split.is_fxp() {
            0
        } else {
            (1 << (split.m() + 1)) - 1
        };
        let odd = |r: &mut rand_chacha::ChaCha8Rng| {
            if emax == 0 {
                0
            } else {
                let e = 2 * r.gen_range(0..=emax / 2) + 1;
                if r.gen_bool(0.5) {
                    e
                } else {
                    -e
                }
            }
        };
        let we: Vec<i32> = (0..n).map(|_| odd(&mut r)).collect();
        let geo = Geometry {
            input: [c, h, w],
            kernel: k,
            stride,
            pads,
            output: [oc, oh, ow],
        };
        let cv = Int8Conv::new(&split, geo, &wq, &we).expect("lanes fit");
        // Activation operands (q, est), written as the layout's bytes.
        let act = |r: &mut rand_chacha::ChaCha8Rng| (q_of(r), odd(r));
        let pad = act(&mut r);
        let x: Vec<(i32, i32)> = (0..c * h * w).map(|_| act(&mut r)).collect();
        let bytes = |(q, e): (i32, i32)| cv.code.bytes(q, e);
        let mut buf = cv.new_buffer(bytes(pad));
        for ch in 0..c {
            for y in 0..h {
                for xx in 0..w {
                    let at = cv.index(ch, y, xx);
                    let l = bytes(x[(ch * h + y) * w + xx]);
                    buf[at] = l[0];
                    if cv.lanes == 2 {
                        buf[at + 1] = l[1];
                    }
                }
            }
        }
        let bias: Vec<i64> = (0..oc).map(|o| o as i64 * 3 - 7).collect();
        let mut want = vec![0i64; oc * oh * ow];
        for o in 0..oc {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = bias[o];
                    for ch in 0..c {
                        for ky in 0..k[0] {
                            for kx in 0..k[1] {
                                let iy = (oy * stride[0] + ky) as isize - pads[0] as isize;
                                let ix = (ox * stride[1] + kx) as isize - pads[1] as isize;
                                let inside =
                                    iy >= 0 && ix >= 0 && iy < h as isize && ix < w as isize;
                                let a = if inside {
                                    x[(ch * h + iy as usize) * w + ix as usize]
                                } else {
                                    pad
                                };
                                // Spec 4: Qw.(2^G Qa + Ea) + Ew.Qa (FxP: Qw.Qa).
                                let wi = ((o * c + ch) * k[0] + ky) * k[1] + kx;
                                let (qw, ew, (qa, ea)) = (wq[wi] as i64, we[wi] as i64, a);
                                let (qa, ea) = (qa as i64, ea as i64);
                                s += if fxp {
                                    qw * qa
                                } else {
                                    qw * ((qa << split.g()) + ea) + ew * qa
                                };
                            }
                        }
                    }
                    want[o * oh * ow + oy * ow + ox] = s;
                }
            }
        }
        let what = format!("case {case} {bits} c{c} {h}x{w} k{k:?} s{stride:?} p{pads:?} oc{oc}");
        assert_eq!(cv.run(&buf, false, &bias), want, "portable {what}");
        assert_eq!(cv.run(&buf, true, &bias), want, "vnni {what}");
    }
}

/// A 1 -> 2 dense layer whose two channels need different FBw, then a Clip.
fn two_channel_graph(clip: Option<f64>) -> Graph {
    let mut nodes = vec![node(
        "fc",
        &[INPUT],
        Op::Dense {
            out: 2,
            weights: vec![1.5, 0.1],
            bias: vec![0.25, 0.0],
        },
    )];
    if let Some(max) = clip {
        nodes.push(node("cl", &["fc"], Op::Clip { max }));
    }
    Graph {
        format: "fpec-model".into(),
        version: 2,
        input: [1, 1, 1],
        output: nodes.last().unwrap().name.clone(),
        nodes,
        meta: None,
    }
}

#[test]
fn per_channel_weight_formats_hand_worked() {
    use fpec::dnn::gquant::{channel_fbs, config_from_fbs, with_channel_fbs, CalibMethod};
    // FxP 8. Input 0.5 at FBa 7: q = 64. Channel 0: w = 1.5, max-abs FB 6
    // (1.5 * 64 = 96); channel 1: w = 0.1, FB 10 (0.1 * 1024 = 102.4 -> 102).
    // Layer F = 10 + 7 = 17; channel 0's own F = 13, shift 4.
    // Channel 0: 96 * 64 = 6144, bias 0.25 at F 13 = 2048: (6144 + 2048) << 4
    // = 131072 (= 1.0 * 2^17). Channel 1: 102 * 64 = 6528 (0.0498 * 2^17).
    // Per tensor (FBw 6 for both): channel 1 is 0.1 * 64 = 6.4 -> 6, 6 * 64 = 384
    // at F 13, channel 0 8192.
    let g = two_channel_graph(None);
    let split = Split::parse("8+0").unwrap();
    assert_eq!(
        channel_fbs(&g, 8, CalibMethod::Max).unwrap(),
        vec![vec![6, 10]]
    );
    let per_tensor = config_from_fbs(split, &[(6, 7)], None).unwrap();
    let per_channel = with_channel_fbs(per_tensor.clone(), vec![vec![6, 10]]).unwrap();
    assert_eq!(per_channel.stages[0].w.fb, 10);
    for engine in [
        Engine::Reference,
        Engine::Gemm,
        Engine::FloatGemm,
        Engine::Int8Portable,
    ] {
        let q = QuantGraph::new(&g, &per_channel, engine).unwrap();
        assert_eq!(
            q.logits(&[0.5]).unwrap(),
            (0, vec![131072, 6528]),
            "{engine:?}"
        );
        assert_eq!(q.stage_info()[0].1, 17);
        let q = QuantGraph::new(&g, &per_tensor, engine).unwrap();
        assert_eq!(
            q.logits(&[0.5]).unwrap(),
            (0, vec![8192, 384]),
            "{engine:?}"
        );
    }
    // Clip(0, 0.04) rounds its bound at each channel's own F (spec 9):
    // channel 0 floor(0.04 * 2^13 + 1/2) = 328, << 4 = 5248; channel 1
    // floor(0.04 * 2^17 + 1/2) = 5243 (at the layer's F channel 0 would get 5243).
    let g = two_channel_graph(Some(0.04));
    let q = QuantGraph::new(&g, &per_channel, Engine::Gemm).unwrap();
    assert_eq!(q.logits(&[0.5]).unwrap(), (0, vec![5248, 5243]));
    // Through a residual Add (fc + fc: each channel keeps its own F) the
    // Clip's bounds are the same per channel: 2 * 131072 and 2 * 6528 clip
    // to 5248 and 5243.
    let mut g2 = two_channel_graph(None);
    g2.nodes.push(node("add", &["fc", "fc"], Op::Add));
    g2.nodes.push(node("cl", &["add"], Op::Clip { max: 0.04 }));
    g2.output = "cl".into();
    let q = QuantGraph::new(&g2, &per_channel, Engine::Gemm).unwrap();
    assert_eq!(q.logits(&[0.5]).unwrap(), (0, vec![5248, 5243]));
    let q = QuantGraph::new(&g2, &per_tensor, Engine::Gemm).unwrap();
    // Per tensor at F 13: 2 * 8192 and 2 * 384 against floor(0.04 * 2^13 + 1/2) = 328.
    assert_eq!(q.logits(&[0.5]).unwrap(), (0, vec![328, 328]));
    // A wrong number of channel FBs, or a stage FBw that is not their maximum.
    let bad = with_channel_fbs(per_tensor.clone(), vec![vec![6, 10, 3]]).unwrap();
    let e = format!("{:#}", QuantGraph::new(&g, &bad, Engine::Gemm).unwrap_err());
    assert!(
        e.contains("3 per-channel weight FBs for 2 output channels"),
        "{e}"
    );
    let mut bad = per_channel.clone();
    bad.stages[0].w = fpec::format::Format::new(split, 11, None).unwrap();
    let e = format!("{:#}", QuantGraph::new(&g, &bad, Engine::Gemm).unwrap_err());
    assert!(e.contains("not the largest channel FBw 10"), "{e}");
}

/// The every-op graph with channel c of every MAC layer scaled by
/// 2^-(c % 3), so per-channel FBw differ by up to 2 bits.
fn channel_scaled_graph(seed: u64) -> Graph {
    let mut g = every_op_graph(seed);
    for n in g.nodes.iter_mut() {
        let (out, weights, bias) = match &mut n.op {
            Op::Conv {
                out_ch,
                weights,
                bias,
                ..
            } => (*out_ch, weights, bias),
            Op::Dense { out, weights, bias } => (*out, weights, bias),
            _ => continue,
        };
        let per = weights.len() / out;
        for (i, w) in weights.iter_mut().enumerate() {
            *w *= 0.5f64.powi((i / per % 3) as i32);
        }
        for (c, b) in bias.iter_mut().enumerate() {
            *b *= 0.5f64.powi((c % 3) as i32);
        }
    }
    g
}

#[test]
fn per_channel_engines_agree_and_equal_channels_equal_per_tensor() {
    use fpec::dnn::gquant::{
        channel_fbs, choose_fbs, config_from_fbs, with_channel_fbs, CalibMethod,
    };
    let seed = seed_or(21);
    println!(
        "seed {seed} (rerun: FPEC_SEED={seed} cargo test --test suite dnn_graph::per_channel)"
    );
    for s in seed..seed + 2 {
        let g = channel_scaled_graph(s);
        let data = random_images(s + 100, 10, g.input);
        let ranges = calibrate_graph(&g, &data).unwrap();
        for bits in ["6+2", "5+3", "7+2", "4+4", "8+0", "12+0"] {
            let split = Split::parse(bits).unwrap();
            for method in [CalibMethod::Max, CalibMethod::Mse] {
                let fbs = choose_fbs(&g, &data, &ranges, split.w, method).unwrap();
                let chan = channel_fbs(&g, split.w, method).unwrap();
                assert!(
                    chan.iter().any(|c| c.iter().min() != c.iter().max()),
                    "the scaled channels need different FBw: {chan:?}"
                );
                let mut cfg =
                    with_channel_fbs(config_from_fbs(split, &fbs, None).unwrap(), chan).unwrap();
                cfg.override_t(Some(s as u32 % 9), Some(8)).unwrap();
                engines_agree(&g, &cfg, &data, &format!("seed {s} {bits} {method:?}"));
            }
            // Every channel at the layer's FBw: per-channel is per-tensor bit for bit.
            let fbs = choose_fbs(&g, &data, &ranges, split.w, CalibMethod::Max).unwrap();
            let flat = config_from_fbs(split, &fbs, None).unwrap();
            let same: Vec<Vec<i32>> = flat
                .stages
                .iter()
                .zip(g.plan().unwrap().macs)
                .map(|(st, i)| {
                    let n = match &g.nodes[i].op {
                        Op::Conv { out_ch, .. } => *out_ch,
                        Op::Dense { out, .. } => *out,
                        _ => unreachable!(),
                    };
                    vec![st.w.fb; n]
                })
                .collect();
            let pc = with_channel_fbs(flat.clone(), same).unwrap();
            let a = QuantGraph::new(&g, &flat, Engine::Gemm).unwrap();
            let b = QuantGraph::new(&g, &pc, Engine::Gemm).unwrap();
            for img in &data.images {
                assert_eq!(
                    a.logits(img).unwrap(),
                    b.logits(img).unwrap(),
                    "seed {s} {bits}"
                );
            }
        }
    }
}

#[test]
fn per_channel_formats_track_float_closer_on_scaled_channels() {
    use fpec::dnn::gquant::{
        channel_fbs, choose_fbs, config_from_fbs, with_channel_fbs, CalibMethod,
    };
    // With channels 2x and 4x apart, per-tensor FBw wastes 1-2 bits of the
    // smaller channels: the first layer's sums, as values, are closer to the
    // float convolution per channel (summed squared error over 10 images).
    let mut g = channel_scaled_graph(5);
    g.nodes.truncate(1);
    g.output = "c1".into();
    let data = random_images(105, 10, g.input);
    let ranges = calibrate_graph(&g, &data).unwrap();
    let split = Split::parse("5+0").unwrap();
    let fbs = choose_fbs(&g, &data, &ranges, 5, CalibMethod::Max).unwrap();
    let flat = config_from_fbs(split, &fbs, None).unwrap();
    let pc = with_channel_fbs(flat.clone(), channel_fbs(&g, 5, CalibMethod::Max).unwrap()).unwrap();
    let plan = g.plan().unwrap();
    let err = |cfg: &fpec::dnn::quant::QuantConfig| {
        let q = QuantGraph::new(&g, cfg, Engine::Gemm).unwrap();
        let f = q.node_scale(0).unwrap().0;
        let mut e = 0.0;
        for img in &data.images {
            let fl = g.forward_all(&plan, img);
            let (_, s) = q.logits(img).unwrap();
            assert_eq!(fl[0].len(), s.len());
            for (x, y) in fl[0].iter().zip(&s) {
                e += (x - *y as f64 / 2f64.powi(f)).powi(2);
            }
        }
        e
    };
    let (a, b) = (err(&flat), err(&pc));
    assert!(b < a * 0.8, "per-channel {b} vs per-tensor {a}");
}
