//! Model file validation and training determinism.

use fpec::dnn::data::{default_digits_path, load_digits};
use fpec::dnn::model::Model;
use fpec::dnn::train::{train, Arch, TrainOptions};

const GOOD: &str = r#"{"format":"fpec-model","version":1,"input":[1,1,2],"layers":[
 {"type":"dense","in":2,"out":2,"weights":[0.5,-0.25,0.3,0.75],"bias":[0.1,-0.8]}]}"#;

fn load_err(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad-model.json");
    std::fs::write(&p, text).unwrap();
    let e = format!("{:#}", Model::load(&p).unwrap_err());
    assert!(
        e.contains("bad-model.json"),
        "error does not name the file: {e}"
    );
    e
}

#[test]
fn good_model_loads() {
    let m = Model::from_json(GOOD).unwrap();
    assert_eq!(m.classes(), 2);
    assert_eq!(m.stages().unwrap().len(), 1);
}

#[test]
fn validation_errors() {
    let e = load_err(&GOOD.replace("\"version\":1", "\"version\":2"));
    assert!(e.contains("version 2"), "{e}");
    let e = load_err(&GOOD.replace("\"type\":\"dense\"", "\"type\":\"lstm\""));
    assert!(
        e.contains("unknown layer type") && e.contains("lstm"),
        "{e}"
    );
    // Wrong weight count.
    let e = load_err(&GOOD.replace("0.3,0.75]", "0.3]"));
    assert!(
        e.contains("weights has 3 values") && e.contains("expected in*out = 4"),
        "{e}"
    );
    // Wrong input shape for the dense layer.
    let e = load_err(&GOOD.replace("[1,1,2]", "[1,1,3]"));
    assert!(e.contains("in = 2") && e.contains("3 values"), "{e}");
    // NaN written as null (what many writers emit) and as a bare NaN literal.
    let e = load_err(&GOOD.replace("0.3,0.75", "0.3,null"));
    assert!(
        e.contains("weights[3]") && e.contains("not a finite number"),
        "{e}"
    );
    let e = load_err(&GOOD.replace("0.3,0.75", "0.3,NaN"));
    assert!(e.contains("NaN"), "{e}");
    let e = load_err(&GOOD.replace("\"fpec-model\"", "\"onnx\""));
    assert!(e.contains("format"), "{e}");
    // Bias count.
    let e = load_err(&GOOD.replace("[0.1,-0.8]", "[0.1]"));
    assert!(e.contains("bias has 1 values"), "{e}");
    // Conv channel mismatch.
    let conv = r#"{"format":"fpec-model","version":1,"input":[1,3,3],"layers":[
      {"type":"conv2d","in_ch":2,"out_ch":1,"kernel":2,"padding":0,"weights":[0,0,0,0,0,0,0,0],"bias":[0]},
      {"type":"dense","in":4,"out":2,"weights":[0,0,0,0,0,0,0,0],"bias":[0,0]}]}"#;
    let e = load_err(conv);
    assert!(e.contains("in_ch = 2") && e.contains("1 channels"), "{e}");
    // Last layer must be the dense classifier.
    let e = load_err(&GOOD.replace("]}]}", "]},{\"type\":\"relu\"}]}"));
    assert!(e.contains("last layer"), "{e}");
    let e = load_err("not json");
    assert!(e.contains("not valid JSON"), "{e}");
    let missing = std::path::Path::new("/nonexistent/m.json");
    let e = format!("{:#}", Model::load(missing).unwrap_err());
    assert!(e.contains("/nonexistent/m.json"), "{e}");
}

#[test]
fn shipped_models_load() {
    for f in ["models/digits-mlp.json", "models/digits-cnn.json"] {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
        let m = Model::load(&p).unwrap();
        assert_eq!(m.input, [1, 8, 8], "{f}");
        assert_eq!(m.classes(), 10, "{f}");
    }
}

#[test]
fn training_is_deterministic() {
    let d = load_digits(&default_digits_path()).unwrap();
    let tr = d.split().train.take(200);
    for (arch, epochs) in [(Arch::Mlp, 2), (Arch::Cnn, 1)] {
        let seed = 7;
        println!("training {arch:?} with seed {seed}");
        let mut o = TrainOptions::new(arch, seed);
        o.epochs = epochs;
        let a = train(&tr, &o).unwrap().to_json().unwrap();
        let b = train(&tr, &o).unwrap().to_json().unwrap();
        assert_eq!(a, b, "{arch:?}: same seed gave different files");
        o.seed = 8;
        let c = train(&tr, &o).unwrap().to_json().unwrap();
        assert_ne!(a, c, "{arch:?}: different seeds gave identical files");
        // And the output is a valid model file.
        Model::from_json(&a).unwrap();
    }
}
