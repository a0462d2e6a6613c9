//! `fpec encode`: real values to FPEC/FxP words (spec 2), for memory images.

use crate::format::{Format, Split};
use crate::golden::{encode_full, pack};
use crate::util::usage;
use anyhow::Result;

crate::ranged_arg!(parse_emb, u32, "--emb", 0, 2);
crate::ranged_arg!(parse_ezb_threshold, u32, "--ezb-threshold", 0, 32);

/// Arguments of `fpec encode`.
#[derive(clap::Args, Debug)]
pub struct EncodeArgs {
    /// Bit split W+C (e.g. 6+2; 8+0 is FxP).
    #[arg(long, value_name = "W+C")]
    pub bits: String,
    /// Fractional bits FB (-16..=32).
    #[arg(long, allow_negative_numbers = true)]
    pub fb: i32,
    /// Error-magnitude bits M (0..=2), overriding the canonical set.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_emb)]
    pub emb: Option<u32>,
    /// Drop the error-zero bit (Z = 0).
    #[arg(long)]
    pub no_ezb: bool,
    /// Zero threshold T in 64ths of an LSB (0..=32; default 8 >> M).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_ezb_threshold)]
    pub ezb_threshold: Option<u32>,
    /// One JSON object per value (keys value, q, ezb, edb, emb, word, saturated).
    #[arg(long)]
    pub json: bool,
    /// Values to encode.
    #[arg(required = true, allow_negative_numbers = true)]
    pub values: Vec<String>,
}

/// Runs `fpec encode`.
pub fn run(a: EncodeArgs) -> Result<()> {
    let split = Split::parse_with(&a.bits, a.emb, a.no_ezb)?;
    if split.is_fxp() && a.ezb_threshold.is_some() {
        return Err(usage("--ezb-threshold needs a compensated split (C >= 1)"));
    }
    let fmt = Format::new(split, a.fb, a.ezb_threshold)?;
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
