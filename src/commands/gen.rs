//! `fpec gen`: Verilog and manifest.json for a bit split (spec 6).

use crate::format::{Format, Split};
use crate::gen::{generate, GenRequest, RequantRequest, DEFAULT_MAX_LEN};
use crate::util::usage;
use anyhow::Result;
use std::path::PathBuf;

crate::ranged_arg!(parse_emb, u32, "--emb", 0, 2);
crate::ranged_arg!(parse_ezb_threshold, u32, "--ezb-threshold", 0, 32);
crate::ranged_arg!(parse_max_len, u64, "--max-len", 1, 65536);
crate::ranged_arg!(parse_requant_emb, u32, "--requant-emb", 0, 2);
crate::ranged_arg!(
    parse_requant_ezb_threshold,
    u32,
    "--requant-ezb-threshold",
    0,
    32
);

/// Arguments of `fpec gen`.
#[derive(clap::Args, Debug)]
pub struct GenArgs {
    /// Bit split W+C (W 2..=16, C 0..=4; 8+0 is FxP).
    #[arg(long, value_name = "W+C")]
    pub bits: String,
    /// Error-magnitude bits M (0..=2), overriding the canonical field set.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_emb)]
    pub emb: Option<u32>,
    /// No error-zero bit (Z = 0).
    #[arg(long)]
    pub no_ezb: bool,
    /// Zero threshold T recorded in the manifest for encoders (0..=32).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_ezb_threshold)]
    pub ezb_threshold: Option<u32>,
    /// Longest dot product Lmax (1..=65536); sizes the accumulators.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_max_len, default_value_t = DEFAULT_MAX_LEN)]
    pub max_len: u64,
    /// Microarchitecture of an FPEC MAC (spec 6.4): fused (default) or split.
    #[arg(long, default_value = "fused")]
    pub arch: String,
    /// Output folder (written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Also emit fpec_requant for this output split Wo+Co.
    #[arg(long, value_name = "Wo+Co")]
    pub requant_bits: Option<String>,
    /// Requantizer shift k = F_in - FBo (-64..=127).
    #[arg(long, allow_negative_numbers = true)]
    pub shift: Option<i32>,
    /// ReLU before requantization.
    #[arg(long)]
    pub relu: bool,
    /// Output emb bits Mo (0..=2).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_requant_emb)]
    pub requant_emb: Option<u32>,
    /// Output without ezb.
    #[arg(long)]
    pub requant_no_ezb: bool,
    /// Output zero threshold To (0..=32).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_requant_ezb_threshold)]
    pub requant_ezb_threshold: Option<u32>,
}

/// Turns arguments into a checked request.
pub fn request(a: &GenArgs) -> Result<GenRequest> {
    let split = Split::parse_with(&a.bits, a.emb, a.no_ezb)?;
    crate::gen::check_max_len(a.max_len)?;
    let arch = crate::gen::parse_arch(&a.arch, &split)?;
    if split.is_fxp() && a.ezb_threshold.is_some() {
        return Err(usage("--ezb-threshold needs a compensated split (C >= 1)"));
    }
    let fmt = Format::new(split, 0, a.ezb_threshold)?;
    let requant = match &a.requant_bits {
        None => {
            if a.shift.is_some() || a.relu || a.requant_emb.is_some() || a.requant_no_ezb {
                return Err(usage(
                    "--shift/--relu/--requant-* need --requant-bits Wo+Co",
                ));
            }
            None
        }
        Some(rb) => {
            let osplit = Split::parse_with(rb, a.requant_emb, a.requant_no_ezb)?;
            let shift = a
                .shift
                .ok_or_else(|| usage("--requant-bits needs --shift K (K = F_in - FBo)"))?;
            if !(-64..=127).contains(&shift) {
                return Err(usage(format!(
                    "--shift {shift} is out of range (allowed -64..=127)"
                )));
            }
            let out = Format::new(osplit, 0, a.requant_ezb_threshold)?;
            Some(RequantRequest {
                out,
                shift,
                relu: a.relu,
            })
        }
    };
    Ok(GenRequest {
        split,
        t: fmt.t,
        max_len: a.max_len,
        arch,
        requant,
    })
}

/// Runs `fpec gen`.
pub fn run(a: GenArgs) -> Result<()> {
    let req = request(&a)?;
    let m = generate(&req, &a.out)?;
    println!(
        "generated {} {} (arch {}, W={}, M={}, Z={}, N={}, S={}, Lmax={}, latency={}) in {}: {}",
        m.top,
        m.bits,
        m.arch,
        m.w,
        m.m,
        m.z,
        m.n,
        m.sum_width,
        m.max_len,
        m.latency,
        a.out.display(),
        m.files.join(", ")
    );
    if let Some(r) = &m.requant {
        println!(
            "generated {} {} (k={}, relu={}, No={}): {}",
            r.top,
            r.bits,
            r.fb_shift,
            r.relu,
            r.out_width,
            r.files.join(", ")
        );
    }
    Ok(())
}
