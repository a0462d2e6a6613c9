//! Generation of `fpec_requant` (spec 6.2) for a manifest: parameters from
//! the requested output format, files from the hdl crate.

use crate::format::Format;
use crate::manifest::RequantManifest;
use crate::util::usage;
use anyhow::Result;

/// Output format of the optional requantizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequantRequest {
    /// Output format (its FB is irrelevant to hardware: only k matters).
    pub out: Format,
    /// k = F_in - FBo.
    pub shift: i32,
    /// ReLU first.
    pub relu: bool,
}

/// The hdl crate's parameters for a request at sum width `s`.
pub fn params(r: &RequantRequest, s: u32) -> fpec_hdl::RequantParams {
    fpec_hdl::RequantParams {
        s: s as usize,
        k: r.shift,
        relu: r.relu,
        wo: r.out.split.w as usize,
        mo: r.out.split.m() as usize,
        zo: r.out.split.z(),
        to: r.out.t,
        fxp: r.out.split.is_fxp(),
    }
}

/// Builds the requantizer files and manifest entry.
pub fn build(
    r: &RequantRequest,
    s: u32,
    header: &str,
) -> Result<(RequantManifest, Vec<(String, String)>)> {
    let p = params(r, s);
    let files = fpec_hdl::generate_requant(&p, header).map_err(|e| usage(e.to_string()))?;
    let split = r.out.split;
    let m = RequantManifest {
        top: "fpec_requant".to_string(),
        bits: Some(format!("{}+{}", split.w, split.c())),
        w: split.w,
        m: split.m(),
        z: split.z() as u32,
        c: Some(split.c()),
        n: split.n(),
        t: Some(r.out.t),
        fb_shift: r.shift,
        relu: r.relu,
        in_width: s,
        out_width: split.n(),
        files: files.iter().map(|f| f.name.clone()).collect(),
        params: Default::default(),
    };
    Ok((m, files.into_iter().map(|f| (f.name, f.text)).collect()))
}
