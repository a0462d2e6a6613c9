//! Bit-exact quantized inference (spec 9): a network worked out by hand,
//! convolution against a naive loop, and 16+0 against float.

use fpec::dnn::data::{default_digits_path, load_digits};
use fpec::dnn::model::{float_accuracy, Model};
use fpec::dnn::quant::{calibrate, QuantConfig, QuantModel, StageFormats};
use fpec::format::{Format, Split};
use fpec::golden::{encode, pack, Operand};
use rand::{Rng, SeedableRng};

/// Two stages: dense 2->2 + relu, dense 2->2.
const TINY: &str = r#"{"format":"fpec-model","version":1,"input":[1,1,2],"layers":[
 {"type":"dense","in":2,"out":2,"weights":[0.5,-0.25,0.3,0.75],"bias":[0.1,-0.8]},
 {"type":"relu"},
 {"type":"dense","in":2,"out":2,"weights":[1.0,0.5,-0.5,0.25],"bias":[0.0,0.25]}]}"#;

fn fmt(split: Split, fb: i32) -> Format {
    Format::new(split, fb, None).unwrap()
}

#[test]
fn hand_worked_network() {
    // Split 4+2: W = 4, M = 0, Z = 1, G = 2, default T = 8 (1/8 LSB).
    let split = Split::parse("4+2").unwrap();
    let cfg = QuantConfig {
        split,
        w_channel_fb: Vec::new(),
        stages: vec![
            StageFormats {
                w: fmt(split, 2),
                a: fmt(split, 2),
            },
            StageFormats {
                w: fmt(split, 2),
                a: fmt(split, 1),
            },
        ],
    };
    let model = Model::from_json(TINY).unwrap();
    let qm = QuantModel::new(&model, &cfg).unwrap();
    let img = vec![0.6, 1.0];
    // Stage 0 weights at FB = 2 (y = w * 4):
    //   0.5  -> y=2,   q=2,  e=0    -> ezb=1 edb=0, est 0     word 0010|1|0 = 10
    //  -0.25 -> y=-1,  q=-1, e=0    -> ezb=1 edb=0, est 0     word 1111|1|0 = 62
    //   0.3  -> y=1.2, q=1,  e=0.2  -> 0.2*64=12.8 > 8: ezb=0, edb=1, est +1  word 0001|0|1 = 5
    //   0.75 -> y=3,   q=3,  e=0    -> ezb=1 edb=0, est 0     word 0011|1|0 = 14
    // Inputs at FB = 2:
    //   0.6 -> y=2.4, q=2, e=0.4 -> ezb=0 edb=1, est +1       word 0010|0|1 = 9
    //   1.0 -> y=4,   q=4, e=0   -> ezb=1 edb=0, est 0        word 0100|1|0 = 18
    // sum = acc*4 + sum(qw*est_a + qa*est_w):
    //   out0: acc = 2*2 + (-1)*4 = 0;  comp = 2*1 + (-1)*0 + 2*0 + 4*0 = 2  -> sum 2
    //   out1: acc = 1*2 + 3*4 = 14;    comp = 1*1 + 3*0 + 2*1 + 4*0 = 3    -> sum 59
    // Sparse pairs (both ezb=1): pair 1 of out0 (62,18) and pair 1 of out1 (14,18).
    let recs = qm
        .layer_dot_products(0, std::slice::from_ref(&img))
        .unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].pairs, vec![(10, 9), (62, 18)]);
    assert_eq!(recs[0].sum, 2);
    assert_eq!(recs[1].pairs, vec![(5, 9), (14, 18)]);
    assert_eq!(recs[1].sum, 59);
    // Bias at F_in = 2+2+2 = 6: floor(0.1*64 + 1/2) = 6, floor(-0.8*64 + 1/2) = -51
    //   -> sums 8 and 8. ReLU keeps them. Requant into FPEC(4, FB=1): k = 6-1 = 5,
    //   q0 = (8 + 16) >> 5 = 0, r = 8, e = 8/32 = 1/4 LSB > 8/64 -> ezb=0, edb=1:
    //   both stage-1 inputs are q=0, est +1 (word 0000|0|1 = 1).
    // Stage 1 weights at FB=2: 1.0->q4, 0.5->q2, -0.5->q-2, 0.25->q1, all exact
    //   (ezb=1, est 0, words 4<<2|2 = 18, 2<<2|2 = 10, (-2&15)<<2|2 = 58, 1<<2|2 = 6).
    //   out0: acc 0, comp = 4*1 + 2*1 = 6 -> 6;  out1: comp = -2*1 + 1*1 = -1 -> -1.
    let recs = qm
        .layer_dot_products(1, std::slice::from_ref(&img))
        .unwrap();
    assert_eq!(recs[0].pairs, vec![(18, 1), (10, 1)]);
    assert_eq!(recs[0].sum, 6);
    assert_eq!(recs[1].pairs, vec![(58, 1), (6, 1)]);
    assert_eq!(recs[1].sum, -1);
    // Bias at F_in = 2+1+2 = 5: 0 and floor(0.25*32 + 1/2) = 8 -> sums 6 and 7:
    // class 1 (float would say class 0: 0.215 vs 0.2075; quantization flips it).
    assert_eq!(qm.classify(&img).unwrap(), 1);
    // A tie: the same network without the stage-1 bias of class 1 would give
    // 6 vs -1; instead check tie-breaking on stage 0 alone with a one-stage model.
    let one = Model::from_json(
        r#"{"format":"fpec-model","version":1,"input":[1,1,2],"layers":[
        {"type":"dense","in":2,"out":2,"weights":[0.5,-0.25,0.3,0.75],"bias":[0.1,-0.8]}]}"#,
    )
    .unwrap();
    let cfg1 = QuantConfig {
        split,
        w_channel_fb: Vec::new(),
        stages: vec![cfg.stages[0]],
    };
    let q1 = QuantModel::new(&one, &cfg1).unwrap();
    // Sums 8 and 8 (see above): tie -> lowest index.
    assert_eq!(q1.classify(&img).unwrap(), 0);
    // Statistics: stage 0 had 4 pairs, 2 sparse; no saturation anywhere.
    let data = fpec::dnn::data::Dataset {
        shape: [1, 1, 2],
        images: vec![img],
        labels: vec![1],
        classes: 2,
    };
    let ev = qm.evaluate(&data).unwrap();
    assert_eq!(ev.correct, 1);
    assert_eq!((ev.layers[0].pairs, ev.layers[0].sparse_pairs), (4, 2));
    // Stage 1: pairs (18,1),(10,1),(58,1),(6,1): activations have ezb=0 -> 0 sparse.
    assert_eq!((ev.layers[1].pairs, ev.layers[1].sparse_pairs), (4, 0));
    assert_eq!(
        ev.layers[0].act_saturations + ev.layers[1].act_saturations,
        0
    );
}

#[test]
fn saturation_is_counted() {
    // 0.6 and 1.0 at FB=3 in W=4: y = 4.8 -> q 5; y = 8 -> 8 > 7 saturates.
    let split = Split::parse("4+2").unwrap();
    let cfg = QuantConfig {
        split,
        w_channel_fb: Vec::new(),
        stages: vec![
            StageFormats {
                w: fmt(split, 2),
                a: fmt(split, 3),
            },
            StageFormats {
                w: fmt(split, 2),
                a: fmt(split, 1),
            },
        ],
    };
    let qm = QuantModel::new(&Model::from_json(TINY).unwrap(), &cfg).unwrap();
    let data = fpec::dnn::data::Dataset {
        shape: [1, 1, 2],
        images: vec![vec![0.6, 1.0]],
        labels: vec![0],
        classes: 2,
    };
    let ev = qm.evaluate(&data).unwrap();
    assert_eq!(ev.layers[0].act_saturations, 1);
    assert_eq!(ev.layers[0].activations, 2);
}

#[test]
fn conv_equals_naive_loop() {
    let seed = 20261128u64;
    println!("seed {seed}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (cin, cout, k, pad, h, w) = (2usize, 3usize, 2usize, 1usize, 3usize, 4usize);
    let (oh, ow) = (h + 2 * pad - k + 1, w + 2 * pad - k + 1);
    let wts: Vec<f64> = (0..cout * cin * k * k)
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    let nd = cout * oh * ow;
    let model_json = serde_json::json!({
        "format": "fpec-model", "version": 1, "input": [cin, h, w],
        "layers": [
            {"type": "conv2d", "in_ch": cin, "out_ch": cout, "kernel": k, "padding": pad,
             "weights": wts, "bias": vec![0.0; cout]},
            {"type": "relu"},
            {"type": "dense", "in": nd, "out": 2, "weights": vec![0.1; 2 * nd], "bias": [0.0, 0.0]}
        ]
    })
    .to_string();
    let model = Model::from_json(&model_json).unwrap();
    let img: Vec<f64> = (0..cin * h * w).map(|_| rng.gen_range(0.0..1.0)).collect();
    let split = Split::parse("6+3").unwrap(); // M = 1, Z = 1, G = 3
    let (fw, fa) = (fmt(split, 5), fmt(split, 4));
    let cfg = QuantConfig {
        split,
        w_channel_fb: Vec::new(),
        stages: vec![StageFormats { w: fw, a: fa }, StageFormats { w: fw, a: fa }],
    };
    let qm = QuantModel::new(&model, &cfg).unwrap();
    let recs = qm
        .layer_dot_products(0, std::slice::from_ref(&img))
        .unwrap();
    assert_eq!(recs.len(), nd);
    // Naive loop straight from spec 2-4, padding positions are encoded zeros.
    let zero = encode(0.0, &fa).unwrap();
    let g = 3;
    for o in 0..cout {
        for y in 0..oh {
            for x in 0..ow {
                let mut sum = 0i64;
                let mut pairs = Vec::new();
                for c in 0..cin {
                    for ky in 0..k {
                        for kx in 0..k {
                            let ww = encode(wts[((o * cin + c) * k + ky) * k + kx], &fw).unwrap();
                            let (iy, ix) = (
                                y as i64 + ky as i64 - pad as i64,
                                x as i64 + kx as i64 - pad as i64,
                            );
                            let aw = if iy < 0 || ix < 0 || iy >= h as i64 || ix >= w as i64 {
                                zero
                            } else {
                                encode(img[(c * h + iy as usize) * w + ix as usize], &fa).unwrap()
                            };
                            let (ow_, oa) = (Operand::of(&split, &ww), Operand::of(&split, &aw));
                            sum += (ow_.q as i64 * oa.q as i64) << g;
                            sum += ow_.q as i64 * oa.est as i64 + oa.q as i64 * ow_.est as i64;
                            pairs.push((pack(&split, &ww), pack(&split, &aw)));
                        }
                    }
                }
                let r = &recs[(o * oh + y) * ow + x];
                assert_eq!(r.output, (o * oh + y) * ow + x);
                assert_eq!(r.sum, sum, "o={o} y={y} x={x}");
                assert_eq!(r.pairs, pairs, "o={o} y={y} x={x}");
            }
        }
    }
}

#[test]
fn sixteen_bit_fxp_matches_float() {
    let d = load_digits(&default_digits_path()).unwrap().split();
    for f in ["models/digits-mlp.json", "models/digits-cnn.json"] {
        let m = Model::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(f)).unwrap();
        let r = calibrate(&m, &d.calibration).unwrap();
        let cfg = QuantConfig::from_ranges(Split::parse("16+0").unwrap(), &r, None).unwrap();
        let ev = QuantModel::new(&m, &cfg)
            .unwrap()
            .evaluate(&d.test)
            .unwrap();
        let fl = float_accuracy(&m, &d.test).unwrap();
        println!("{f}: float {fl:.2} %, 16+0 {:.2} %", ev.accuracy);
        assert!(
            (ev.accuracy - fl).abs() <= 1.0,
            "{f}: float {fl} vs 16+0 {}",
            ev.accuracy
        );
        assert!(fl > 90.0, "{f}: float accuracy {fl}");
        // Stats are consistent with the static MAC count.
        let macs: u64 = QuantModel::new(&m, &cfg).unwrap().macs().iter().sum();
        let pairs: u64 = ev.layers.iter().map(|l| l.pairs).sum();
        assert_eq!(pairs, macs * d.test.len() as u64);
        // FxP has no compensation, so no sparse pairs.
        assert_eq!(ev.sparsity(), 0.0);
    }
}

#[test]
fn fb_rule() {
    use fpec::dnn::quant::fb_for;
    // max 1.0, W 8: FB = 7 would give q0 = 128 > 127, so FB = 6.
    assert_eq!(fb_for(1.0, 8), 6);
    // max 0.9: FB = 7 - ceil(log2 0.9) = 7; 0.9*128 = 115.2 fits.
    assert_eq!(fb_for(0.9, 8), 7);
    // max 0.999, W 4: FB 3 gives round(7.992) = 8 > 7 -> FB 2.
    assert_eq!(fb_for(0.999, 4), 2);
    // max 5.0, W 6: 7 - ... FB = 5 - 3 = 2; 5*4 = 20 <= 31.
    assert_eq!(fb_for(5.0, 6), 2);
    assert_eq!(fb_for(0.0, 6), 5);
}
