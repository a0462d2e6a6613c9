//! `fpec gen`: Verilog and manifest.json for a bit split (spec 6).

use super::args::{FormatArgs, HwArgs};
use crate::format::{Format, Split};
use crate::gen::{generate, GenRequest, RequantRequest};
use crate::util::usage;
use anyhow::Result;
use std::path::PathBuf;

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
    #[command(flatten)]
    pub format: FormatArgs,
    #[command(flatten)]
    pub hw: HwArgs,
    /// Output folder (written atomically; default out/gen/W+C, with
    /// `-split` for the split arch).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
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
    let fmt = a.format.format(0)?;
    let split = fmt.split;
    crate::gen::check_max_len(a.hw.max_len)?;
    let arch = a.hw.arch(&split)?;
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
            let osplit = Split::parse_flags(
                ("--requant-bits", "--requant-emb/--requant-no-ezb"),
                rb,
                a.requant_emb,
                a.requant_no_ezb,
            )?;
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
        max_len: a.hw.max_len,
        arch,
        requant,
    })
}

/// Runs `fpec gen`.
pub fn run(a: GenArgs) -> Result<()> {
    let req = request(&a)?;
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from("out/gen").join(crate::gen::config_dir_name(&req.split, req.arch))
    });
    let m = generate(&req, &out)?;
    println!(
        "generated {} {} (arch {}, {}, S={}, Lmax={}, latency={}) in {}: {}",
        m.top,
        m.bits(),
        m.arch(),
        m.fields(req.split.n()),
        m.sum_width,
        m.max_len,
        m.latency,
        out.display(),
        m.files.join(", ")
    );
    if let Some(r) = &m.requant {
        println!(
            "generated {} {} (k={}, relu={}, No={}): {}",
            r.top,
            r.bits.as_deref().unwrap_or("?"),
            r.fb_shift,
            r.relu,
            r.out_width,
            r.files.join(", ")
        );
    }
    Ok(())
}
