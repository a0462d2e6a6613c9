//! `fpec encode`: real values to FPEC/FxP words (spec 2), for memory images.

use super::args::FormatArgs;
use crate::golden::{encode_full, pack};
use crate::util::usage;
use anyhow::Result;

/// Arguments of `fpec encode`.
#[derive(clap::Args, Debug)]
pub struct EncodeArgs {
    #[command(flatten)]
    pub format: FormatArgs,
    /// Fractional bits FB (-16..=32).
    #[arg(long, allow_negative_numbers = true)]
    pub fb: i32,
    /// One JSON object per value (keys value, q, ezb, edb, emb, word, saturated).
    #[arg(long)]
    pub json: bool,
    /// Values to encode.
    #[arg(required = true, allow_negative_numbers = true)]
    pub values: Vec<String>,
}

/// Runs `fpec encode`.
pub fn run(a: EncodeArgs) -> Result<()> {
    let fmt = a.format.format(a.fb)?;
    let split = fmt.split;
    let digits = (split.n() as usize).div_ceil(4);
    let mut lines = Vec::with_capacity(a.values.len());
    for v in &a.values {
        let x: f64 = v
            .trim()
            .parse()
            .map_err(|_| usage(format!("value '{v}' is not a number")))?;
        let r = encode_full(x, &fmt).map_err(|e| usage(e.to_string()))?;
        let w = r.word;
        let word = pack(&split, &w);
        lines.push(if a.json {
            serde_json::json!({
                "value": x, "q": w.q, "ezb": w.ezb as u8, "edb": w.edb as u8,
                "emb": w.emb, "word": format!("0x{word:0digits$x}"),
                "saturated": r.saturated,
            })
            .to_string()
        } else {
            let mut s = format!("{v}: q={} ", w.q);
            if split.z() {
                s += &format!("ezb={} ", w.ezb as u8);
            }
            if !split.is_fxp() {
                s += &format!("edb={} ", w.edb as u8);
            }
            if split.m() > 0 {
                s += &format!("emb={} ", w.emb);
            }
            s += &format!("word=0x{word:0digits$x}");
            if r.saturated {
                s += " (saturated)";
            }
            s
        });
    }
    // All values are checked before anything is printed.
    for l in lines {
        println!("{l}");
    }
    Ok(())
}
