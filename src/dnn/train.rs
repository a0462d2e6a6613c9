//! Deterministic float training (single-threaded, seeded) of the built-in
//! architectures (digits MLP and CNN, LeNet-5): softmax cross-entropy,
//! mini-batch Adam. Same seed, data and options give a bit-identical model
//! file.

use crate::dnn::data::Dataset;
use crate::dnn::model::{
    argmax, mac_float, maxpool, ConvTaps, Layer, Model, Stage, FORMAT_TAG, VERSION,
};
use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Built-in architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    /// dense(in->32) + relu + dense(32->classes).
    Mlp,
    /// conv2d 3x3 (8 channels, padding 1) + relu + maxpool 2x2 + dense(->classes).
    Cnn,
    /// LeNet-5 (for 28x28 MNIST): conv2d 5x5 (6 channels, padding 2) + relu +
    /// maxpool 2x2, conv2d 5x5 (16 channels) + relu + maxpool 2x2, dense(->120)
    /// + relu, dense(120->84) + relu, dense(84->classes).
    Lenet5,
}

/// Training options.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Architecture.
    pub arch: Arch,
    /// RNG seed (initialization and shuffling).
    pub seed: u64,
    /// Passes over the training data.
    pub epochs: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Mini-batch size.
    pub batch: usize,
}

impl TrainOptions {
    /// Defaults for an architecture.
    pub fn new(arch: Arch, seed: u64) -> Self {
        TrainOptions {
            arch,
            seed,
            epochs: match arch {
                Arch::Mlp => 60,
                Arch::Cnn => 40,
                Arch::Lenet5 => 12,
            },
            lr: match arch {
                Arch::Lenet5 => 0.001,
                _ => 0.003,
            },
            batch: 32,
        }
    }
}

/// An untrained model of the architecture, He-uniform initialized, zero bias.
pub fn init_model(arch: Arch, input: [usize; 3], classes: usize, rng: &mut ChaCha8Rng) -> Model {
    let mut uni = |n: usize, fan_in: usize| -> Vec<f64> {
        let lim = (6.0 / fan_in as f64).sqrt();
        (0..n).map(|_| rng.gen_range(-lim..lim)).collect()
    };
    let [c, h, w] = input;
    let layers = match arch {
        Arch::Mlp => {
            let n = c * h * w;
            vec![
                Layer::Dense {
                    inp: n,
                    out: 32,
                    weights: uni(32 * n, n),
                    bias: vec![0.0; 32],
                },
                Layer::Relu,
                Layer::Dense {
                    inp: 32,
                    out: classes,
                    weights: uni(32 * classes, 32),
                    bias: vec![0.0; classes],
                },
            ]
        }
        Arch::Cnn => {
            let n = 8 * (h / 2) * (w / 2);
            vec![
                Layer::Conv2d {
                    in_ch: c,
                    out_ch: 8,
                    kernel: 3,
                    padding: 1,
                    stride: 1,
                    weights: uni(8 * c * 9, c * 9),
                    bias: vec![0.0; 8],
                },
                Layer::Relu,
                Layer::MaxPool2d { size: 2 },
                Layer::Dense {
                    inp: n,
                    out: classes,
                    weights: uni(n * classes, n),
                    bias: vec![0.0; classes],
                },
            ]
        }
        Arch::Lenet5 => {
            // 28x28 -> conv pad 2 -> 28x28 -> pool -> 14x14 -> conv -> 10x10
            // -> pool -> 5x5 (`train` rejects inputs too small for this).
            let side = |s: usize| s / 2 >= 5;
            let s2 = |s: usize| if side(s) { (s / 2 - 4) / 2 } else { 0 };
            let n = 16 * s2(h) * s2(w);
            let conv = |uni: &mut dyn FnMut(usize, usize) -> Vec<f64>,
                        in_ch: usize,
                        out_ch: usize,
                        padding: usize| Layer::Conv2d {
                in_ch,
                out_ch,
                kernel: 5,
                padding,
                stride: 1,
                weights: uni(out_ch * in_ch * 25, in_ch * 25),
                bias: vec![0.0; out_ch],
            };
            let dense = |uni: &mut dyn FnMut(usize, usize) -> Vec<f64>, inp: usize, out: usize| {
                Layer::Dense {
                    inp,
                    out,
                    weights: uni(inp * out, inp),
                    bias: vec![0.0; out],
                }
            };
            vec![
                conv(&mut uni, c, 6, 2),
                Layer::Relu,
                Layer::MaxPool2d { size: 2 },
                conv(&mut uni, 6, 16, 0),
                Layer::Relu,
                Layer::MaxPool2d { size: 2 },
                dense(&mut uni, n, 120),
                Layer::Relu,
                dense(&mut uni, 120, 84),
                Layer::Relu,
                dense(&mut uni, 84, classes),
            ]
        }
    };
    Model {
        format: FORMAT_TAG.into(),
        version: VERSION,
        input,
        layers,
        meta: None,
    }
}

/// Gradient of a MAC layer: adds dW, db into `gw`, `gb`; returns dx.
fn mac_backward(
    model: &Model,
    st: &Stage,
    x: &[f64],
    g: &[f64],
    gw: &mut [f64],
    gb: &mut [f64],
    need_dx: bool,
) -> Vec<f64> {
    let (w, _) = model.params(st.layer);
    let mut dx = vec![0.0; x.len()];
    if let Some(t) = ConvTaps::of(model, st) {
        t.for_each_output(|o, pos, i| {
            let go = g[i];
            if go == 0.0 {
                return;
            }
            gb[o] += go;
            t.for_each_tap(o, pos, |wi, xi| {
                gw[wi] += go * x[xi];
                if need_dx {
                    dx[xi] += go * w[wi];
                }
            });
        });
        return dx;
    }
    match &model.layers[st.layer] {
        Layer::Dense { inp, out, .. } => {
            for o in 0..*out {
                let go = g[o];
                gb[o] += go;
                for i in 0..*inp {
                    gw[o * inp + i] += go * x[i];
                    if need_dx {
                        dx[i] += go * w[o * inp + i];
                    }
                }
            }
        }
        _ => {}
    }
    dx
}

/// Trains a model on `train`. Prints nothing; the caller reports the seed.
pub fn train(train: &Dataset, opts: &TrainOptions) -> Result<Model> {
    if train.is_empty() {
        bail!("no training samples");
    }
    if opts.batch == 0 {
        bail!("batch size must be positive");
    }
    if opts.arch == Arch::Lenet5 && (train.shape[1] < 12 || train.shape[2] < 12) {
        bail!(
            "lenet5 needs images of at least 12x12 (28x28 MNIST), the data has {}x{}",
            train.shape[1],
            train.shape[2]
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut model = init_model(opts.arch, train.shape, train.classes.max(2), &mut rng);
    let stages = model.stages()?;
    let nst = stages.len();
    let sizes: Vec<(usize, usize)> = stages
        .iter()
        .map(|s| {
            let (w, b) = model.params(s.layer);
            (w.len(), b.len())
        })
        .collect();
    let zeros = || -> Vec<(Vec<f64>, Vec<f64>)> {
        sizes
            .iter()
            .map(|&(a, b)| (vec![0.0; a], vec![0.0; b]))
            .collect()
    };
    let (mut m1, mut m2) = (zeros(), zeros());
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
    let mut step = 0i32;
    let mut order: Vec<usize> = (0..train.len()).collect();
    for _epoch in 0..opts.epochs {
        order.shuffle(&mut rng);
        for batch in order.chunks(opts.batch) {
            let mut grads = zeros();
            for &n in batch {
                // Forward, keeping what the backward pass needs.
                let mut xs = Vec::with_capacity(nst);
                let mut pools = Vec::with_capacity(nst);
                let mut outs = Vec::with_capacity(nst);
                let mut x = train.images[n].clone();
                for st in &stages {
                    let mut z = mac_float(&model, st, &x);
                    let mut arg = None;
                    if let Some(s) = st.pool {
                        let (pz, a) = maxpool(&z, st.mac_shape, s);
                        z = pz;
                        arg = Some(a);
                    }
                    if st.relu {
                        z.iter_mut().for_each(|v| *v = v.max(0.0));
                    }
                    xs.push(std::mem::replace(&mut x, z.clone()));
                    pools.push(arg);
                    outs.push(z);
                }
                // Softmax cross-entropy gradient.
                let mx = x[argmax(&x)];
                let e: Vec<f64> = x.iter().map(|v| (v - mx).exp()).collect();
                let se: f64 = e.iter().sum();
                let mut g: Vec<f64> = e.iter().map(|v| v / se).collect();
                g[train.labels[n] as usize] -= 1.0;
                for s in (0..nst).rev() {
                    let st = &stages[s];
                    if st.relu {
                        for (gi, oi) in g.iter_mut().zip(&outs[s]) {
                            if *oi <= 0.0 {
                                *gi = 0.0;
                            }
                        }
                    }
                    if let Some(arg) = &pools[s] {
                        let mut full = vec![0.0; st.dots()];
                        for (gi, &ai) in g.iter().zip(arg) {
                            full[ai] += gi;
                        }
                        g = full;
                    }
                    let (gw, gb) = &mut grads[s];
                    g = mac_backward(&model, st, &xs[s], &g, gw, gb, s > 0);
                }
            }
            step += 1;
            let inv = 1.0 / batch.len() as f64;
            let c1 = 1.0 - b1.powi(step);
            let c2 = 1.0 - b2.powi(step);
            for (s, st) in stages.iter().enumerate() {
                if let Layer::Conv2d { weights, bias, .. } | Layer::Dense { weights, bias, .. } =
                    &mut model.layers[st.layer]
                {
                    let (m1w, m1b) = &mut m1[s];
                    let (m2w, m2b) = &mut m2[s];
                    for (p, (gr, (mm, vv))) in [
                        (&mut *weights, (&grads[s].0, (m1w, m2w))),
                        (&mut *bias, (&grads[s].1, (m1b, m2b))),
                    ] {
                        for i in 0..p.len() {
                            let gi = gr[i] * inv;
                            mm[i] = b1 * mm[i] + (1.0 - b1) * gi;
                            vv[i] = b2 * vv[i] + (1.0 - b2) * gi * gi;
                            p[i] -= opts.lr * (mm[i] / c1) / ((vv[i] / c2).sqrt() + eps);
                        }
                    }
                }
            }
        }
    }
    for st in &stages {
        let (w, b) = model.params(st.layer);
        if w.iter().chain(b).any(|v| !v.is_finite()) {
            bail!("training diverged (non-finite weights); try a smaller learning rate");
        }
    }
    Ok(model)
}
