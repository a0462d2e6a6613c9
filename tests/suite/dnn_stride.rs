//! Conv2d `stride` (issue 11): a stride-s convolution is the stride-1
//! convolution sampled at every s-th row and column, in the float forward
//! pass and, operand for operand, in the bit-exact quantized inference; the
//! output size is (H + 2p - k) / s + 1; `stride` is optional in the file and
//! not written when 1.

use fpec::dnn::model::{forward_float, Layer, Model};
use fpec::dnn::quant::{QuantConfig, QuantModel, StageFormats};
use fpec::format::{Format, Split};
use rand::{Rng, SeedableRng};

fn conv_model(stride: usize, cin: usize, h: usize, w: usize, wts: &[f64], bias: &[f64]) -> Model {
    let (k, pad, cout) = (3usize, 1usize, bias.len());
    let oh = (h + 2 * pad - k) / stride + 1;
    let ow = (w + 2 * pad - k) / stride + 1;
    let n = cout * oh * ow;
    Model {
        format: "fpec-model".into(),
        version: 1,
        input: [cin, h, w],
        layers: vec![
            Layer::Conv2d {
                in_ch: cin,
                out_ch: cout,
                kernel: k,
                padding: pad,
                stride,
                weights: wts.to_vec(),
                bias: bias.to_vec(),
            },
            Layer::Dense {
                inp: n,
                out: 2,
                weights: vec![0.01; 2 * n],
                bias: vec![0.0; 2],
            },
        ],
        meta: None,
    }
}

fn fmt(split: Split, fb: i32) -> Format {
    Format::new(split, fb, None).unwrap()
}

#[test]
fn stride_samples_the_stride_1_convolution() {
    let seed = 20261201u64;
    println!("seed {seed}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (cin, cout, h, w) = (2usize, 3usize, 7usize, 6usize);
    let wts: Vec<f64> = (0..cout * cin * 9)
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    let bias: Vec<f64> = (0..cout).map(|_| rng.gen_range(-0.5..0.5)).collect();
    let img: Vec<f64> = (0..cin * h * w).map(|_| rng.gen_range(0.0..1.0)).collect();
    let m1 = conv_model(1, cin, h, w, &wts, &bias);
    let split = Split::parse("6+2").unwrap();
    let st = StageFormats {
        w: fmt(split, 4),
        a: fmt(split, 4),
    };
    let cfg = QuantConfig {
        split,
        w_channel_fb: Vec::new(),
        stages: vec![st, st],
    };
    let q1 = QuantModel::new(&m1, &cfg).unwrap();
    let r1 = q1
        .layer_dot_products(0, std::slice::from_ref(&img))
        .unwrap();
    let s1 = m1.stages().unwrap();
    let f1 = forward_float(&m1, &s1, &img).1[1].clone(); // conv output (dense input)
    let [_, oh1, ow1] = s1[0].mac_shape;
    assert_eq!([oh1, ow1], [h, w]);
    for s in [2usize, 3] {
        let ms = conv_model(s, cin, h, w, &wts, &bias);
        let ss = ms.stages().unwrap();
        let [_, oh, ow] = ss[0].mac_shape;
        assert_eq!([oh, ow], [(h - 1) / s + 1, (w - 1) / s + 1], "stride {s}");
        let qs = QuantModel::new(&ms, &cfg).unwrap();
        let rs = qs
            .layer_dot_products(0, std::slice::from_ref(&img))
            .unwrap();
        let fs = forward_float(&ms, &ss, &img).1[1].clone();
        assert_eq!(rs.len(), cout * oh * ow);
        for o in 0..cout {
            for y in 0..oh {
                for x in 0..ow {
                    let a = &rs[(o * oh + y) * ow + x];
                    let b = &r1[(o * oh1 + y * s) * ow1 + x * s];
                    assert_eq!(a.sum, b.sum, "stride {s} o={o} y={y} x={x}");
                    assert_eq!(a.pairs, b.pairs, "stride {s} o={o} y={y} x={x}");
                    let (fa, fb) = (
                        fs[(o * oh + y) * ow + x],
                        f1[(o * oh1 + y * s) * ow1 + x * s],
                    );
                    assert_eq!(fa, fb, "float, stride {s} o={o} y={y} x={x}");
                }
            }
        }
    }
}

#[test]
fn stride_in_the_model_file() {
    let base = r#"{"format":"fpec-model","version":1,"input":[1,5,5],"layers":[
      {"type":"conv2d","in_ch":1,"out_ch":1,"kernel":3,"padding":0,STRIDE"weights":[0,0,0,0,0,0,0,0,0],"bias":[0]},
      {"type":"dense","in":N,"out":2,"weights":W,"bias":[0,0]}]}"#;
    let make = |stride: &str, n: usize| {
        base.replace("STRIDE", stride)
            .replace("N", &n.to_string())
            .replace("W", &serde_json::to_string(&vec![0.0; 2 * n]).unwrap())
    };
    // Absent = 1: 3x3 output; stride 2: 2x2.
    assert!(Model::from_json(&make("", 9)).is_ok());
    let m = Model::from_json(&make(r#""stride":2,"#, 4)).unwrap();
    assert_eq!(m.stages().unwrap()[0].mac_shape, [1, 2, 2]);
    assert!(m.to_json().unwrap().contains("\"stride\": 2"));
    // Explicit 1 is accepted and not written back.
    let m = Model::from_json(&make(r#""stride":1,"#, 9)).unwrap();
    assert!(!m.to_json().unwrap().contains("stride"));
    // Stride 0 and a wrong dense size are errors.
    let e = Model::from_json(&make(r#""stride":0,"#, 9)).unwrap_err();
    assert!(format!("{e:#}").contains("stride"), "{e:#}");
    let e = Model::from_json(&make(r#""stride":2,"#, 9)).unwrap_err();
    assert!(format!("{e:#}").contains("in = 9"), "{e:#}");
}
