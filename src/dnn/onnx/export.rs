//! fpec [`Model`] -> ONNX (opset [`OPSET`], IR [`IR_VERSION`]). The graph
//! input is `input` `[N, C, H, W]` float32 (symbolic batch `N`), the output
//! `logits` `[N, classes]`. Layers map one to one: conv2d -> `Conv`
//! (`kernel_shape`, `pads`, `strides`), dense -> `Gemm` (`transB` = 1, the
//! weights stay `[out][in]`), relu -> `Relu`, maxpool2d -> `MaxPool`
//! (window = stride); a `Flatten` (axis 1, which is fpec's (c, y, x) order)
//! goes before a dense layer that reads a feature map. Weights become
//! float32 initializers, rounded to nearest; the model's `meta` is kept in
//! the metadata property `fpec.meta`.

use super::proto::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use super::{IR_VERSION, OPSET};
use crate::dnn::model::{Layer, Model};
use anyhow::{bail, Result};
use prost::Message;

/// Encodes `model` as an ONNX file's bytes (the model is validated first).
pub fn export_bytes(model: &Model) -> Result<Vec<u8>> {
    Ok(export_proto(model)?.encode_to_vec())
}

/// Builds the ONNX model proto of `model`.
pub fn export_proto(model: &Model) -> Result<ModelProto> {
    model.stages()?;
    let [c, h, w] = model.input;
    let mut nodes = Vec::new();
    let mut inits = Vec::new();
    let mut cur = "input".to_string();
    let mut rank4 = true;
    let last = model.layers.len().saturating_sub(1);
    for (i, l) in model.layers.iter().enumerate() {
        // Node `conv0`, `relu1`, ...; its output has the same name, except
        // the last one's (`logits`).
        let name = format!("{}{i}", short(l));
        let out = if i == last {
            "logits".to_string()
        } else {
            name.clone()
        };
        match l {
            Layer::Conv2d {
                in_ch,
                out_ch,
                kernel,
                padding,
                stride,
                weights,
                bias,
            } => {
                let wn = format!("conv{i}.weight");
                let bn = format!("conv{i}.bias");
                inits.push(f32_tensor(
                    &wn,
                    &[*out_ch, *in_ch, *kernel, *kernel],
                    weights,
                    i,
                )?);
                inits.push(f32_tensor(&bn, &[*out_ch], bias, i)?);
                let k = *kernel as i64;
                let p = *padding as i64;
                let s = *stride as i64;
                nodes.push(node(
                    "Conv",
                    &name,
                    vec![cur.clone(), wn, bn],
                    &out,
                    vec![
                        ints("kernel_shape", &[k, k]),
                        ints("pads", &[p, p, p, p]),
                        ints("strides", &[s, s]),
                    ],
                ));
            }
            Layer::Dense {
                inp,
                out: n_out,
                weights,
                bias,
            } => {
                if rank4 {
                    let f = format!("flatten{i}");
                    nodes.push(node(
                        "Flatten",
                        &f,
                        vec![cur.clone()],
                        &f,
                        vec![int("axis", 1)],
                    ));
                    cur = f;
                    rank4 = false;
                }
                let wn = format!("dense{i}.weight");
                let bn = format!("dense{i}.bias");
                inits.push(f32_tensor(&wn, &[*n_out, *inp], weights, i)?);
                inits.push(f32_tensor(&bn, &[*n_out], bias, i)?);
                nodes.push(node(
                    "Gemm",
                    &name,
                    vec![cur.clone(), wn, bn],
                    &out,
                    vec![int("transB", 1)],
                ));
            }
            Layer::Relu => nodes.push(node("Relu", &name, vec![cur.clone()], &out, vec![])),
            Layer::MaxPool2d { size } => {
                let s = *size as i64;
                nodes.push(node(
                    "MaxPool",
                    &name,
                    vec![cur.clone()],
                    &out,
                    vec![ints("kernel_shape", &[s, s]), ints("strides", &[s, s])],
                ));
            }
        }
        cur = out;
    }
    let graph = GraphProto {
        node: nodes,
        name: Some("fpec".into()),
        initializer: inits,
        input: vec![value_info("input", &[None, Some(c), Some(h), Some(w)])],
        output: vec![value_info("logits", &[None, Some(model.classes())])],
        ..Default::default()
    };
    wrap_graph(graph, model.meta.as_ref())
}

/// The model proto around `graph` (opset, producer, fpec's `meta`).
fn wrap_graph(graph: GraphProto, meta: Option<&serde_json::Value>) -> Result<ModelProto> {
    let mut metadata_props = Vec::new();
    if let Some(m) = meta {
        metadata_props.push(StringStringEntryProto {
            key: Some("fpec.meta".into()),
            value: Some(serde_json::to_string(m)?),
        });
    }
    Ok(ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        producer_name: Some("fpec".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        graph: Some(graph),
        metadata_props,
        ..Default::default()
    })
}

fn short(l: &Layer) -> &'static str {
    match l {
        Layer::Conv2d { .. } => "conv",
        Layer::Dense { .. } => "dense",
        Layer::Relu => "relu",
        Layer::MaxPool2d { .. } => "maxpool",
    }
}

fn node(
    op: &str,
    name: &str,
    input: Vec<String>,
    out: &str,
    attribute: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        input,
        output: vec![out.into()],
        name: Some(name.into()),
        op_type: Some(op.into()),
        attribute,
        ..Default::default()
    }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: v.to_vec(),
        ..Default::default()
    }
}

/// A float32 initializer (little-endian raw_data); values outside the
/// float32 range are an error naming the layer.
fn f32_tensor(name: &str, dims: &[usize], v: &[f64], layer: usize) -> Result<TensorProto> {
    let mut raw = Vec::with_capacity(v.len() * 4);
    for (j, &x) in v.iter().enumerate() {
        let f = x as f32;
        if !f.is_finite() {
            bail!("layer {layer}: {name}[{j}] = {x} does not fit in float32");
        }
        raw.extend_from_slice(&f.to_le_bytes());
    }
    Ok(TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(DataType::Float as i32),
        name: Some(name.into()),
        raw_data: Some(raw),
        ..Default::default()
    })
}

/// A float32 tensor value info; `None` dims are the symbolic batch `N`.
fn value_info(name: &str, dims: &[Option<usize>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                Some(x) => tensor_shape_proto::dimension::Value::DimValue(*x as i64),
                None => tensor_shape_proto::dimension::Value::DimParam("N".into()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(DataType::Float as i32),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}
