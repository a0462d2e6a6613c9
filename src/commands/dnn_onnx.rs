//! `fpec dnn import` and `fpec dnn export`: file handling around
//! [`crate::dnn::onnx`]. Every problem with the input or the output path
//! exits 2 with one line; the output is written atomically, so nothing is
//! left half-written.

use crate::dnn::onnx;
use crate::util::{as_usage, write_atomic};
use anyhow::{Context, Result};
use std::path::Path;

/// `fpec dnn import MODEL.onnx --out MODEL.json`.
pub fn run_import(input: &Path, out: &Path) -> Result<()> {
    let t0 = std::time::Instant::now();
    let model = onnx::import::import_file(input).map_err(as_usage)?;
    let json = model.to_json()?;
    write_atomic(out, json.as_bytes())
        .with_context(|| format!("--out {}", out.display()))
        .map_err(as_usage)?;
    let stages = model.stages()?;
    let params: usize = stages
        .iter()
        .map(|s| {
            let (w, b) = model.params(s.layer);
            w.len() + b.len()
        })
        .sum();
    println!(
        "wrote {} ({} layers, {} MAC layers, {} parameters, input {:?}) in {:.3} s",
        out.display(),
        model.layers.len(),
        stages.len(),
        params,
        model.input,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `fpec dnn export MODEL --out MODEL.onnx`.
pub fn run_export(input: &Path, out: &Path) -> Result<()> {
    let model = onnx::load(input).map_err(as_usage)?;
    let bytes = onnx::export::export_bytes(&model)
        .with_context(|| format!("cannot export {}", input.display()))
        .map_err(as_usage)?;
    write_atomic(out, &bytes)
        .with_context(|| format!("--out {}", out.display()))
        .map_err(as_usage)?;
    println!(
        "wrote {} (ONNX opset {}, IR {}, {} bytes)",
        out.display(),
        onnx::OPSET,
        onnx::IR_VERSION,
        bytes.len()
    );
    Ok(())
}
