//! `fpec dnn`: training, bit-exact evaluation, layer export for hardware in
//! the loop, FPEC-Opt, and ONNX import/export. The work is in [`crate::dnn`].
//! Every `--model` takes an fpec JSON model or an `.onnx` file.

use super::args::{parse_ezb_threshold, parse_seed, FormatArgs, HwArgs};
use crate::dnn::data::{DataSpec, ImageFolderOptions, Layout, ModelInput, Named, Splits};
use crate::dnn::gquant::{
    calibrate_source, choose_fbs, config_from_fbs, with_channel_fbs, CalibMethod, Engine,
    QuantGraph, WeightFb,
};
use crate::dnn::graph::Graph;
use crate::dnn::hil;
use crate::dnn::model::{float_accuracy, Model};
use crate::dnn::opt::{self, OptOptions};
use crate::dnn::train::{self, Arch, TrainOptions};
use crate::util::{usage, write_atomic};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Instant;

crate::ranged_arg!(parse_epochs, usize, "--epochs", 1, 100000);
crate::ranged_arg!(parse_layer, usize, "--layer", 0, 10000);
crate::ranged_arg!(parse_images, usize, "--images", 1, 1000000);
crate::ranged_arg!(parse_limit, usize, "--limit", 1, 1000000000);
crate::ranged_arg!(
    parse_activity_images,
    usize,
    "--activity-images",
    1,
    1000000
);

/// Arguments of `fpec dnn`.
#[derive(Args, Debug)]
pub struct DnnArgs {
    #[command(subcommand)]
    cmd: DnnCmd,
}

#[derive(Subcommand, Debug)]
enum DnnCmd {
    /// Train a float model deterministically (single-threaded, seeded;
    /// `--net mlp|cnn|lenet5`).
    Train(TrainArgs),
    /// Bit-exact quantized accuracy of a model (spec 9).
    Eval(EvalArgs),
    /// Run one layer's dot products on the RTL MAC (hardware in the loop).
    VerifyLayer(VerifyLayerArgs),
    /// FPEC-Opt: sweep FxP/FPEC configurations under an accuracy budget
    /// (`--shard K/N` runs a part; `fpec dnn opt-merge` joins the parts).
    Opt(OptArgs),
    /// FPEC-Opt report (dnn-report.{md,json,svg}) from the
    /// dnn-opt-shard-K-of-N.json files of `fpec dnn opt --shard K/N`
    /// (files, or folders holding them): the report of the unsharded run.
    OptMerge(OptMergeArgs),
    /// Convert an ONNX file (Conv, Gemm/MatMul+Add, Relu, MaxPool, Flatten,
    /// float32 weights) to an fpec model file.
    Import(ImportArgs),
    /// Write a model (JSON or .onnx) as ONNX (opset 13, NCHW, float32).
    Export(ExportArgs),
    /// Write the --data set as fpec decodes it (normalized, NCHW) to an
    /// .npz (images float32, labels int64), e.g. for onnxruntime.
    ExportData(ExportDataArgs),
}

#[derive(Args, Debug)]
struct ExportDataArgs {
    /// Output .npz file (written atomically).
    #[arg(long, value_name = "FILE.npz")]
    out: PathBuf,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args, Debug)]
struct OptMergeArgs {
    /// Shard files (dnn-opt-shard-K-of-N.json), or folders holding them.
    #[arg(required = true, value_name = "FILE_OR_DIR")]
    inputs: Vec<PathBuf>,
    /// Folder for dnn-report.md, dnn-report.json and dnn-report.svg
    /// (default: the first folder given, or the folder of the first file).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print the JSON report on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct ImportArgs {
    /// ONNX file.
    #[arg(value_name = "MODEL.onnx")]
    input: PathBuf,
    /// Output model file (JSON, written atomically).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Args, Debug)]
struct ExportArgs {
    /// Model file (fpec JSON, or .onnx).
    #[arg(value_name = "MODEL")]
    input: PathBuf,
    /// Output ONNX file (written atomically).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Data-set selection shared by the subcommands (one group: every dnn
/// command that takes data takes all of it the same way).
#[derive(Args, Debug, Clone)]
struct DataArgs {
    /// A data set shipped in data/ (default: digits, or mnist-10k for a
    /// model with 28x28 inputs).
    #[arg(long, value_enum, value_name = "NAME")]
    dataset: Option<Named>,
    /// The data: a digits CSV (64 pixels + label per line, optionally
    /// gzipped), an image folder (one sub-folder of JPEG/PNG files per
    /// class, sorted names), a .npy image tensor (with --labels) or a .npz
    /// (arrays images/x and labels/y); default: data/digits.csv.gz.
    #[arg(long, value_name = "PATH")]
    data: Option<PathBuf>,
    /// Labels of a .npy --data: an integer vector, one label per image.
    #[arg(long, value_name = "FILE.npy")]
    labels: Option<PathBuf>,
    /// Layout of 4-D .npy/.npz image tensors: nchw [N,C,H,W] or nhwc [N,H,W,C].
    #[arg(long, value_enum)]
    layout: Option<Layout>,
    /// A calibration set separate from the test set (same kinds as
    /// --data); the whole --data is then the test set. Without it, the
    /// fixed stratified split of --data gives both.
    #[arg(long, value_name = "PATH")]
    calib: Option<PathBuf>,
    /// Labels of a .npy --calib.
    #[arg(long, value_name = "FILE.npy")]
    calib_labels: Option<PathBuf>,
    /// Per-channel mean subtracted after scaling pixels to [0, 1]
    /// (comma-separated, one value per channel; default 0).
    #[arg(long, allow_hyphen_values = true, value_name = "M,..")]
    mean: Option<String>,
    /// Per-channel divisor after the mean (comma-separated, each > 0; default 1).
    #[arg(long, allow_hyphen_values = true, value_name = "S,..")]
    std: Option<String>,
    /// At most N images in each set used (test, calibration, training),
    /// for quick runs: the first N, or a seeded subset with --subset-seed.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_limit, value_name = "N")]
    limit: Option<usize>,
    /// With --limit: a uniformly drawn subset (kept in file order) from
    /// this seed instead of the first N.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_seed, value_name = "SEED")]
    subset_seed: Option<u64>,
    /// MNIST-style IDX image file (magic 0x00000803), with --idx-labels.
    #[arg(long, value_name = "FILE")]
    idx_images: Option<PathBuf>,
    /// MNIST-style IDX label file (magic 0x00000801), with --idx-images.
    #[arg(long, value_name = "FILE")]
    idx_labels: Option<PathBuf>,
}

/// A comma-separated list of numbers (`--mean`, `--std`); none: empty.
fn parse_list(flag: &str, s: Option<&str>) -> Result<Vec<f64>> {
    let Some(s) = s else { return Ok(Vec::new()) };
    s.split(',')
        .map(|v| {
            v.trim().parse::<f64>().map_err(|_| {
                usage(format!(
                    "{flag} {s}: '{v}' is not a number (give comma-separated numbers, one per channel)"
                ))
            })
        })
        .collect()
}

impl DataArgs {
    fn spec(&self) -> Result<DataSpec> {
        Ok(DataSpec {
            dataset: self.dataset,
            data: self.data.clone(),
            labels: self.labels.clone(),
            idx_images: self.idx_images.clone(),
            idx_labels: self.idx_labels.clone(),
            layout: self.layout,
            calib: self.calib.clone(),
            calib_labels: self.calib_labels.clone(),
            norm: ImageFolderOptions {
                mean: parse_list("--mean", self.mean.as_deref())?,
                std: parse_list("--std", self.std.as_deref())?,
                limit: self.limit,
                subset_seed: self.subset_seed,
            },
        })
    }
    fn load(&self) -> Result<Splits> {
        if self.calib.is_some() {
            return Err(usage(
                "--calib is for eval, opt and verify-layer; dnn train uses the fixed split of --data",
            ));
        }
        self.load_for(None)
    }
    /// Loads the sets into memory; with a model, checks first that the data
    /// fits it (shape, labels below its output count).
    fn load_for(&self, model: Option<&Model>) -> Result<Splits> {
        self.load_fitting(model.map(|m| (m.input, m.classes())))
    }
    /// The sets opened (image folders decoded on demand), checked against a
    /// model's input shape and class count.
    fn open_fitting(
        &self,
        shape: [usize; 3],
        classes: usize,
    ) -> Result<crate::dnn::data::Selection> {
        self.spec()?.open(Some(&ModelInput { shape, classes }))
    }
    /// [`Self::load_for`] by input shape and class count (any model kind).
    fn load_fitting(&self, model: Option<([usize; 3], usize)>) -> Result<Splits> {
        let input = model.map(|(shape, classes)| ModelInput { shape, classes });
        self.spec()?.load(input.as_ref())
    }
}

#[derive(Args, Debug)]
struct TrainArgs {
    /// Network architecture (`--arch` is a deprecated alias).
    #[arg(long = "net", alias = "arch", value_enum, default_value = "mlp")]
    arch: Arch,
    /// RNG seed (weights initialization and shuffling).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_seed, default_value_t = super::args::DEFAULT_SEED)]
    seed: u64,
    /// Epochs (default: 60 for mlp, 40 for cnn, 12 for lenet5).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_epochs)]
    epochs: Option<usize>,
    /// Output model file (JSON, written atomically).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args, Debug)]
struct EvalArgs {
    /// Model file (fpec JSON, or .onnx).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    #[command(flatten)]
    format: FormatArgs,
    /// Weight zero threshold T for every layer (0..=32; overrides
    /// --ezb-threshold for the weights).
    #[arg(long, value_name = "T", allow_negative_numbers = true, value_parser = parse_ezb_threshold)]
    tw: Option<u32>,
    /// Activation zero threshold T for every layer (0..=32; overrides
    /// --ezb-threshold for the activations).
    #[arg(long, value_name = "T", allow_negative_numbers = true, value_parser = parse_ezb_threshold)]
    ta: Option<u32>,
    /// Evaluate on the calibration split instead of the test split.
    #[arg(long)]
    calibration: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// How FB is chosen per tensor: max (max-abs, no saturation) or mse
    /// (least squared rounding error over the calibration set); FxP and
    /// FPEC get the same method.
    #[arg(long, value_enum, default_value = "max")]
    calib_method: CalibMethod,
    /// FBw per MAC layer (per-tensor) or per output channel
    /// (per-channel: sums carry F per channel, spec 9; graph engine).
    #[arg(long, value_enum, default_value = "per-tensor")]
    weight_fb: WeightFb,
    /// How the dot products are computed (the same integers every way):
    /// gemm (fastest exact kernel per layer), float-gemm (im2col + f32/f64
    /// matrix products), int8-portable (the int8 layout, scalar kernel),
    /// reference (the golden dot product per output).
    #[arg(long, value_enum, default_value = "gemm")]
    engine: Engine,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args, Debug)]
struct VerifyLayerArgs {
    /// Model file (fpec JSON, or .onnx).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// MAC layer index (0-based, counting conv2d/dense layers only).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_layer, value_name = "K")]
    layer: usize,
    #[command(flatten)]
    format: FormatArgs,
    #[command(flatten)]
    hw: HwArgs,
    /// Test images to run.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_images, default_value_t = 8)]
    images: usize,
    /// Also write the stimulus (packed pairs and expected sums) as JSON.
    #[arg(long, value_name = "FILE")]
    dump: Option<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args, Debug)]
struct OptArgs {
    /// Model file (fpec JSON, or .onnx).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Accuracy budget in percentage points below float accuracy.
    #[arg(long, default_value_t = 0.5)]
    budget: f64,
    /// Print the JSON report on stdout.
    #[arg(long)]
    json: bool,
    /// Folder for dnn-report.md, dnn-report.json, dnn-report.svg and the
    /// energy work files (default out/dnn-opt/<model file stem>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Microarchitecture of the FPEC MACs (spec 6.4): fused (default) or split.
    #[arg(long, value_enum, default_value_t = crate::gen::Arch::Fused)]
    arch: crate::gen::Arch,
    /// Test images whose operands feed the energy model's activity.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_activity_images, default_value_t = 8)]
    activity_images: usize,
    /// FOR TESTS ONLY: use the analytic test double instead of the real
    /// energy model; every output is stamped as not a result.
    #[arg(long, hide = true)]
    test_double_energy: bool,
    /// How FB is chosen per tensor, for FxP and FPEC alike: max or mse
    /// (mse, per-channel, or a graph model, runs the graph search).
    #[arg(long, value_enum, default_value = "max")]
    calib_method: CalibMethod,
    /// FBw per MAC layer (per-tensor) or per output channel
    /// (per-channel: sums carry F per channel, spec 9; graph engine).
    #[arg(long, value_enum, default_value = "per-tensor")]
    weight_fb: WeightFb,
    /// Graph search: calibration images of the threshold trials.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_images, default_value_t = 200)]
    tune_images: usize,
    /// Graph search: test images of the early stop of hopeless candidates.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_images, default_value_t = 1000)]
    early_images: usize,
    /// Run shard K of N: the configurations i of the sweep with
    /// i % N == K (graph search; a layer list gets the layer engine's
    /// search: whole calibration set, no early stop), written as
    /// OUT/dnn-opt-shard-K-of-N.json; `fpec dnn opt-merge` joins the N files.
    #[arg(long, allow_hyphen_values = true, value_name = "K/N")]
    shard: Option<String>,
    /// Graph search: print each phase's wall time on stderr (fixed passes;
    /// per configuration: early check, threshold trials, test set, energy).
    #[arg(long)]
    timings: bool,
    #[command(flatten)]
    data: DataArgs,
}

/// Runs `fpec dnn`.
pub fn run(args: DnnArgs) -> Result<()> {
    match args.cmd {
        DnnCmd::Train(a) => run_train(a),
        DnnCmd::Eval(a) => run_eval(a),
        DnnCmd::VerifyLayer(a) => run_verify_layer(a),
        DnnCmd::Opt(a) => run_opt(a),
        DnnCmd::OptMerge(a) => run_opt_merge(a),
        DnnCmd::Import(a) => run_import(&a.input, &a.out),
        DnnCmd::Export(a) => run_export(&a.input, &a.out),
        DnnCmd::ExportData(a) => run_export_data(a),
    }
}

/// JSON or `.onnx` ([`crate::dnn::onnx::load`]); any error exits 2.
fn load_model(p: &std::path::Path) -> Result<Model> {
    crate::dnn::onnx::load(p).map_err(|e| usage(format!("{e:#}")))
}

fn run_train(a: TrainArgs) -> Result<()> {
    crate::util::check_out_file(&a.out, "--out")?;
    let s = a.data.load()?;
    let mut opts = TrainOptions::new(a.arch, a.seed);
    if let Some(e) = a.epochs {
        opts.epochs = e;
    }
    eprintln!(
        "training {:?} with seed {} ({} epochs, Adam lr {}, batch {}) on {} samples",
        a.arch,
        a.seed,
        opts.epochs,
        opts.lr,
        opts.batch,
        s.train.len()
    );
    let mut model = train::train(&s.train, &opts)?;
    let cal = float_accuracy(&model, &s.calibration)?;
    let test = float_accuracy(&model, &s.test)?;
    model.meta = Some(serde_json::json!({
        "arch": format!("{:?}", a.arch).to_lowercase(),
        "seed": a.seed,
        "epochs": opts.epochs,
        "optimizer": format!("Adam lr {} batch {}", opts.lr, opts.batch),
        "train_samples": s.train.len(),
        "float_calibration_accuracy": cal,
        "float_test_accuracy": test,
    }));
    // Named only when not the default digits (their model files stay as they were).
    let dataset = match a.data.dataset {
        Some(Named::Mnist10k) => Some("mnist-10k"),
        None if a.data.idx_images.is_some() => Some("idx"),
        _ => None,
    };
    if let (Some(serde_json::Value::Object(m)), Some(d)) = (model.meta.as_mut(), dataset) {
        m.insert("dataset".into(), d.into());
    }
    write_atomic(&a.out, model.to_json()?.as_bytes())?;
    println!(
        "wrote {} (seed {}): float accuracy {:.2} % test, {:.2} % calibration",
        a.out.display(),
        a.seed,
        test,
        cal
    );
    Ok(())
}

/// A graph model (JSON v1/v2 or `.onnx`, [`crate::dnn::onnx::load_graph`]); any error exits 2.
fn load_graph_model(p: &std::path::Path) -> Result<Graph> {
    crate::dnn::onnx::load_graph(p).map_err(|e| usage(format!("{e:#}")))
}

fn run_eval(a: EvalArgs) -> Result<()> {
    let split = a.format.format(0)?.split;
    if split.is_fxp() && (a.tw.is_some() || a.ta.is_some()) {
        return Err(usage("--tw/--ta need a compensated split (C >= 1)"));
    }
    let graph = load_graph_model(&a.model)?;
    let sel = a.data.open_fitting(graph.input, graph.classes())?;
    let data: &dyn crate::dnn::data::Source = if a.calibration {
        sel.calibration.as_ref()
    } else {
        sel.test.as_ref()
    };
    let ranges = calibrate_source(&graph, sel.calibration.as_ref())?;
    let fbs = choose_fbs(
        &graph,
        sel.calibration.as_ref(),
        &ranges,
        split.w,
        a.calib_method,
    )?;
    let mut cfg = with_channel_fbs(
        config_from_fbs(split, &fbs, None)?,
        a.weight_fb.channel_fbs(&graph, split.w, a.calib_method)?,
    )?;
    let t = a.format.ezb_threshold;
    cfg.override_t(a.tw.or(t), a.ta.or(t))?;
    let qm = QuantGraph::new(&graph, &cfg, a.engine)
        .map_err(|e| usage(format!("model {}: {e:#}", a.model.display())))?;
    let bar = crate::dnn::progress::Progress::new(data.len() as u64, &format!("eval {split}"));
    let (ev, fl, secs) = qm.evaluate_source_with_float(data, &bar, true)?;
    bar.finish();
    let plan = graph.plan()?;
    let macs = qm.macs();
    let info = qm.stage_info();
    let part = if a.calibration { "calibration" } else { "test" };
    let kind = |k: usize| match graph.nodes[plan.macs[k]].op {
        crate::dnn::graph::Op::Conv { .. } => "conv2d",
        _ => "dense",
    };
    let dot_len = |k: usize| {
        let n = &graph.nodes[plan.macs[k]];
        n.op.params().0.len() / n.op.params().1.len().max(1)
    };
    if a.json {
        let layers: Vec<_> = (0..macs.len())
            .map(|k| {
                let (f, f_in) = info[k];
                let l = &ev.layers[k];
                serde_json::json!({
                    "layer": k, "type": kind(k), "node": graph.nodes[plan.macs[k]].name,
                    "fb_w": f.w.fb, "fb_w_channels": qm.cfg.w_channel_fb.get(k), "fb_a": f.a.fb, "t_w": f.w.t, "t_a": f.a.t, "f_in": f_in,
                    "macs_per_inference": macs[k], "pairs": l.pairs,
                    "sparse_pairs": l.sparse_pairs, "sparsity": l.sparsity(),
                    "weight_saturations": l.weight_saturations,
                    "act_saturations": l.act_saturations, "activations": l.activations,
                })
            })
            .collect();
        let j = serde_json::json!({
            "model": a.model.display().to_string(), "bits": split.to_string(),
            "m": split.m(), "z": split.z(), "split": part, "samples": ev.samples,
            "float_accuracy": fl, "quantized_accuracy": ev.accuracy,
            "correct": ev.correct, "sparsity": ev.sparsity(),
            "macs_per_inference": macs.iter().sum::<u64>(),
            "calibration_method": a.calib_method.name(), "weight_fb": a.weight_fb.name(),
            "data": sel.summary,
            "seconds": secs, "layers": layers,
        });
        println!("{}", serde_json::to_string_pretty(&j)?);
        return Ok(());
    }
    println!(
        "{} on the {part} split ({} images), bits {} (M={}, Z={}), calibration {}, weights {}",
        a.model.display(),
        ev.samples,
        split,
        split.m(),
        split.z() as u8,
        a.calib_method.name(),
        a.weight_fb.name()
    );
    println!("data: {}", sel.summary);
    println!("float accuracy:     {fl:.2} %");
    println!(
        "quantized accuracy: {:.2} % ({}/{})",
        ev.accuracy, ev.correct, ev.samples
    );
    println!("compensation sparsity (both ezb=1): {:.4}", ev.sparsity());
    print_layer_table(&macs, &info, &ev, kind, dot_len);
    println!("MACs per inference: {}", macs.iter().sum::<u64>());
    println!("quantized inference time: {secs:.3} s");
    Ok(())
}

/// The per-layer table of `fpec dnn eval` (text output).
fn print_layer_table(
    macs: &[u64],
    info: &[(crate::dnn::quant::StageFormats, i32)],
    ev: &crate::dnn::quant::QuantEval,
    kind: impl Fn(usize) -> &'static str,
    dot_len: impl Fn(usize) -> usize,
) {
    println!(
        "{:<3} {:<7} {:>5} {:>5} {:>4} {:>4} {:>4} {:>5} {:>9} {:>9} {:>6} {:>12}",
        "L",
        "type",
        "FBw",
        "FBa",
        "Tw",
        "Ta",
        "Fin",
        "len",
        "MACs/inf",
        "sparsity",
        "w-sat",
        "a-sat"
    );
    for k in 0..macs.len() {
        let (f, f_in) = info[k];
        let l = &ev.layers[k];
        println!(
            "{:<3} {:<7} {:>5} {:>5} {:>4} {:>4} {:>4} {:>5} {:>9} {:>9.4} {:>6} {:>12}",
            k,
            kind(k),
            f.w.fb,
            f.a.fb,
            f.w.t,
            f.a.t,
            f_in,
            dot_len(k),
            macs[k],
            l.sparsity(),
            l.weight_saturations,
            format!("{}/{}", l.act_saturations, l.activations)
        );
    }
}

fn run_verify_layer(a: VerifyLayerArgs) -> Result<()> {
    if let Some(p) = &a.dump {
        crate::util::check_out_file(p, "--dump")?;
    }
    let split = a.format.format(0)?.split;
    a.hw.arch(&split)?;
    let model = load_model(&a.model)?;
    let s = a.data.load_for(Some(&model))?;
    crate::dnn::model::check_data(&model, &s.test).map_err(|e| usage(e.to_string()))?;
    let (cfg, recs) = hil::layer_stimulus(
        &model,
        split,
        a.layer,
        &s.calibration,
        &s.test,
        a.images,
        a.format.ezb_threshold,
    )
    .map_err(|e| usage(format!("{e:#}")))?;
    eprintln!(
        "layer {}: {} dot products from {} test images",
        a.layer,
        recs.len(),
        a.images.min(s.test.len())
    );
    if let Some(p) = &a.dump {
        let j = serde_json::json!({
            "bits": split.to_string(), "layer": a.layer,
            "formats": cfg.stages.get(a.layer),
            "dot_products": recs,
        });
        write_atomic(p, (serde_json::to_string(&j)? + "\n").as_bytes())
            .map_err(|e| usage(format!("--dump {}: {e:#}", p.display())))?;
        eprintln!("wrote stimulus to {}", p.display());
    }
    let work = std::path::PathBuf::from("out/dnn-verify-layer");
    let arch = a.hw.arch(&split)?;
    let r = hil::verify_layer_rtl(split, arch, a.hw.max_len, &recs, &work)?;
    println!(
        "verify-layer {} layer {} on Verilator: {} dot products, {} pairs, {} mismatches",
        split, a.layer, r.products, r.pairs, r.mismatches
    );
    let files: Vec<String> = r.files.iter().map(|f| f.display().to_string()).collect();
    println!("  files simulated: {}", files.join(", "));
    for (i, want, got) in &r.first {
        let got = got.map_or("no out_valid".to_string(), |g| g.to_string());
        match (recs.get(*i), want) {
            (Some(rec), Some(want)) => println!(
                "  image {} output {}: golden sum {want}, hardware {got}",
                rec.image, rec.output
            ),
            _ => println!("  result {i}: an out_valid beyond the last dot product, hardware {got}"),
        }
    }
    if r.mismatches > 0 {
        anyhow::bail!(
            "{} of {} dot products differ from the golden inference",
            r.mismatches,
            r.products
        );
    }
    Ok(())
}

/// The report files of `dnn opt` and how the first begins.
const REPORT: &[&str] = &["dnn-report.md", "dnn-report.json", "dnn-report.svg"];
const REPORT_HEADER: &str = "# FPEC-Opt report";

/// The model's file name, as the reports title it.
fn model_name(p: &std::path::Path) -> String {
    p.file_name()
        .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into())
}

/// `dnn opt` on a graph model (or with `--calib-method mse`, or a shard):
/// `layer_list` (a layer list with max-abs calibration, sharded) runs the
/// layer engine's search on the graph engine (whole calibration set, no
/// early stop, every dot product to the energy model, no calibration
/// note), so the merged shards equal the unsharded report.
fn run_opt_graph(
    a: &OptArgs,
    energy: &dyn opt::MacEnergy,
    out: &std::path::Path,
    shard: Option<(u64, u64)>,
    layer_list: bool,
) -> Result<()> {
    let graph = load_graph_model(&a.model)?;
    let sel = a.data.open_fitting(graph.input, graph.classes())?;
    let calib = sel.calibration.batch(0, sel.calibration.len())?;
    let t0 = Instant::now();
    let ranges = calibrate_source(&graph, &calib)?;
    // Fails early (exit 2) on a graph the bit-exact engine refuses.
    let probe = config_from_fbs(
        crate::format::Split::parse("8+0")?,
        &choose_fbs(&graph, &calib, &ranges, 8, CalibMethod::Max)?,
        None,
    )?;
    QuantGraph::new(&graph, &probe, Engine::Gemm)
        .map_err(|e| usage(format!("model {}: {e:#}", a.model.display())))?;
    let (k, n) = shard.unwrap_or((0, 1));
    let mut r = crate::dnn::gopt::run_opt_graph(
        &graph,
        &calib,
        &ranges,
        sel.test.as_ref(),
        energy,
        &OptOptions {
            budget: a.budget,
            activity_images: a.activity_images,
            progress: !a.json,
        },
        &crate::dnn::gopt::GraphOptOptions {
            method: a.calib_method,
            weight_fb: a.weight_fb,
            tune_images: if layer_list {
                calib.len()
            } else {
                a.tune_images
            },
            early_images: if layer_list { 0 } else { a.early_images },
            early_margin: 2.0,
            max_dots: if layer_list { usize::MAX } else { 256 },
            shard: (k as usize, n as usize),
            timings: a.timings,
        },
    )?;
    if layer_list {
        r.calibration = None;
    }
    let name = model_name(&a.model);
    if shard.is_some() {
        let p = crate::dnn::opt_shard::write_shard(out, &name, (k, n), &r)?;
        crate::util::record_written(out, &[&crate::dnn::opt_shard::file_name(k, n)])?;
        println!(
            "wrote {} (shard {k}/{n}: {} configurations) in {:.1} s; when all {n} shards are done: fpec dnn opt-merge --out DIR {}",
            p.display(),
            r.configs.len(),
            t0.elapsed().as_secs_f64(),
            out.display()
        );
        return Ok(());
    }
    opt::write_reports(&r, &name, out)?;
    crate::util::record_written(out, REPORT)?;
    print_opt_report(a.json, &r, &name, Some(&sel.summary), out, t0)
}

/// Prints a written FPEC-Opt report: JSON, or Markdown and what was written.
fn print_opt_report(
    json: bool,
    r: &opt::OptReport,
    name: &str,
    data: Option<&str>,
    out: &std::path::Path,
    t0: Instant,
) -> Result<()> {
    if json {
        print!("{}", opt::report_json(r)?);
        return Ok(());
    }
    print!("{}", opt::report_md(r, name));
    println!();
    if let Some(d) = data {
        println!("data: {d}");
    }
    println!(
        "wrote {}/dnn-report.{{md,json,svg}} in {:.1} s",
        out.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_opt(a: OptArgs) -> Result<()> {
    if !a.budget.is_finite() || !(0.0..=100.0).contains(&a.budget) {
        return Err(usage(format!(
            "--budget {} is out of range (allowed 0..=100 percentage points)",
            a.budget
        )));
    }
    let shard = a
        .shard
        .as_deref()
        .map(crate::regress::parse_shard)
        .transpose()?;
    let out = a.out.clone().unwrap_or_else(|| {
        let stem = a
            .model
            .file_stem()
            .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
        PathBuf::from("out/dnn-opt").join(stem)
    });
    crate::util::check_out_dir(&out, "--out")?;
    match shard {
        Some((k, n)) => {
            let f = crate::dnn::opt_shard::file_name(k, n);
            crate::util::check_overwritable(&out, "--out", &[&f], crate::dnn::opt_shard::HEADER)?
        }
        None => crate::util::check_overwritable(&out, "--out", REPORT, REPORT_HEADER)?,
    }
    // The model and data are checked before any work (the energy model
    // synthesizes MACs): a layer list with max-abs calibration takes the
    // layer engine (the committed reports reproduce bit for bit), anything
    // else (and every shard) the graph engine.
    let layer_list = match crate::dnn::onnx::load(&a.model) {
        Ok(m) if a.calib_method == CalibMethod::Max && a.weight_fb == WeightFb::PerTensor => {
            Some(m)
        }
        _ => None,
    };
    let layer_data = match &layer_list {
        Some(model) => {
            let s = a.data.load_for(Some(model))?;
            crate::dnn::model::check_data(model, &s.test).map_err(|e| usage(e.to_string()))?;
            Some(s)
        }
        None => {
            let graph = load_graph_model(&a.model)?;
            a.data.open_fitting(graph.input, graph.classes())?;
            None
        }
    };
    let energy: Box<dyn opt::MacEnergy> = if a.test_double_energy {
        eprintln!("WARNING: analytic test-double energy model: the energy numbers are NOT results");
        Box::new(opt::AnalyticTestDouble)
    } else {
        opt::real_mac_energy(&out.join("energy-work"), a.arch)?
    };
    let (Some(model), Some(s), None) = (&layer_list, layer_data, shard) else {
        return run_opt_graph(&a, energy.as_ref(), &out, shard, layer_list.is_some());
    };
    let t0 = Instant::now();
    let r = opt::run_opt(
        model,
        &s.calibration,
        &s.test,
        energy.as_ref(),
        &OptOptions {
            budget: a.budget,
            activity_images: a.activity_images,
            progress: !a.json,
        },
    )?;
    let name = model_name(&a.model);
    opt::write_reports(&r, &name, &out)?;
    crate::util::record_written(&out, REPORT)?;
    print_opt_report(a.json, &r, &name, None, &out, t0)
}

/// `fpec dnn opt-merge FILE_OR_DIR... [--out DIR]`: the output folder is
/// checked (not `/` or `.`, no report fpec did not write) before the
/// shards are read; nothing is written unless they form one whole search.
fn run_opt_merge(a: OptMergeArgs) -> Result<()> {
    let t0 = Instant::now();
    let out = crate::util::merge_out_dir(a.out.as_deref(), &a.inputs, REPORT, REPORT_HEADER)?;
    let (name, r) = crate::dnn::opt_shard::merge(&a.inputs)?;
    opt::write_reports(&r, &name, &out)?;
    crate::util::record_written(&out, REPORT)?;
    print_opt_report(a.json, &r, &name, None, &out, t0)
}

// ONNX import and export: file handling around `crate::dnn::onnx`; every
// problem with the input or the output path exits 2 with one line, and the
// output is written atomically.

/// `fpec dnn import MODEL.onnx --out MODEL.json`.
fn run_import(input: &std::path::Path, out: &std::path::Path) -> Result<()> {
    let t0 = std::time::Instant::now();
    // A chain of the layer-list ops stays a version-1 file (readable by every
    // command, byte-identical to earlier imports); anything else is a graph.
    let (json, summary) = match crate::dnn::onnx::import::import_file(input) {
        Ok(model) => {
            let stages = model.stages()?;
            let params: usize = stages
                .iter()
                .map(|s| {
                    let (w, b) = model.params(s.layer);
                    w.len() + b.len()
                })
                .sum();
            let summary = format!(
                "{} layers, {} MAC layers, {} parameters, input {:?}",
                model.layers.len(),
                stages.len(),
                params,
                model.input
            );
            (model.to_json()?, summary)
        }
        Err(_) => {
            let g = crate::dnn::onnx::graph_import::import_graph_file(input)
                .map_err(crate::util::as_usage)?;
            let plan = g.plan()?;
            let params: usize = g
                .nodes
                .iter()
                .map(|n| n.op.params().0.len() + n.op.params().1.len())
                .sum();
            let summary = format!(
                "graph of {} nodes, {} MAC layers, {} parameters, input {:?}",
                g.nodes.len(),
                plan.macs.len(),
                params,
                g.input
            );
            (g.to_json()?, summary)
        }
    };
    crate::util::write_atomic(out, json.as_bytes())
        .with_context(|| format!("--out {}", out.display()))
        .map_err(crate::util::as_usage)?;
    println!(
        "wrote {} ({summary}) in {:.3} s",
        out.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `fpec dnn export MODEL --out MODEL.onnx`.
fn run_export(input: &std::path::Path, out: &std::path::Path) -> Result<()> {
    let model = crate::dnn::onnx::load(input).map_err(crate::util::as_usage)?;
    let bytes = crate::dnn::onnx::export::export_bytes(&model)
        .with_context(|| format!("cannot export {}", input.display()))
        .map_err(crate::util::as_usage)?;
    crate::util::write_atomic(out, &bytes)
        .with_context(|| format!("--out {}", out.display()))
        .map_err(crate::util::as_usage)?;
    println!(
        "wrote {} (ONNX opset {}, IR {}, {} bytes)",
        out.display(),
        crate::dnn::onnx::OPSET,
        crate::dnn::onnx::IR_VERSION,
        bytes.len()
    );
    Ok(())
}

/// `fpec dnn export-data --data D --out FILE.npz`: the set as fpec decodes it.
fn run_export_data(a: ExportDataArgs) -> Result<()> {
    if a.out.extension().and_then(|e| e.to_str()) != Some("npz") {
        return Err(usage(format!(
            "--out {}: the output is an .npz archive (name it FILE.npz)",
            a.out.display()
        )));
    }
    if a.out.is_dir() {
        return Err(usage(format!(
            "--out {} is a folder; give a file name",
            a.out.display()
        )));
    }
    let t0 = Instant::now();
    let (name, src) = a.data.spec()?.open_whole()?;
    let progress = crate::dnn::progress::Progress::new(src.len() as u64, "decoding");
    let bytes = crate::dnn::data::npy::export_npz(src.as_ref(), 256, &progress)?;
    progress.finish();
    write_atomic(&a.out, &bytes)
        .with_context(|| format!("--out {}", a.out.display()))
        .map_err(crate::util::as_usage)?;
    let s = src.shape();
    println!(
        "wrote {} ({} images of {}x{}x{} from {name}, {} classes) in {:.1} s",
        a.out.display(),
        src.len(),
        s[0],
        s[1],
        s[2],
        src.classes(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
