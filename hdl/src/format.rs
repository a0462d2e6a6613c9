//! Number formats of spec section 1: the hardware bit split (`W+C`, the
//! compensation field set M/Z, derived C and G) and full operand formats
//! (split + FB + T). The one format type of fpec: the command line, the
//! golden model (`fpec::format` re-exports it) and the hardware
//! ([`crate::MacConfig`] holds a [`Split`]) all use it.
//!
//! This module owns validation: every constructor checks its ranges and
//! returns a [`FormatError`] that names the bad value and the allowed range.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Allowed range of the computation width W.
pub const W_RANGE: (u32, u32) = (2, 16);
/// Allowed range of the fractional bits FB.
pub const FB_RANGE: (i32, i32) = (-16, 32);
/// Allowed range of the zero threshold T (64ths of an LSB).
pub const T_RANGE: (u32, u32) = (0, 32);
/// Allowed range of the number of error-magnitude bits M.
pub const M_RANGE: (u32, u32) = (0, 2);
/// Allowed range of the compensation bit count C in a `W+C` split.
pub const C_RANGE: (u32, u32) = (0, 4);

/// A bad format request; the message names the value and the allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

fn range_err<T: fmt::Display>(what: &str, v: T, lo: T, hi: T) -> FormatError {
    FormatError(format!(
        "{what} = {v} is out of range (allowed {lo}..={hi})"
    ))
}

/// The compensation fields of an FPEC word: M magnitude bits and an optional
/// zero bit. (Z = `z`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Comp {
    /// M, the number of error-magnitude bits (`emb`), 0..=2.
    pub m: u32,
    /// Z, whether the error-zero bit (`ezb`) is present.
    pub z: bool,
}

impl Comp {
    /// Checked constructor.
    pub fn new(m: u32, z: bool) -> Result<Self, FormatError> {
        if m > M_RANGE.1 {
            return Err(range_err("M (emb bits)", m, M_RANGE.0, M_RANGE.1));
        }
        Ok(Comp { m, z })
    }
    /// Canonical field set for C compensation bits (spec 1.2):
    /// C=1 {edb}, C=2 {ezb, edb}, C=3 {ezb, edb, emb(1)}, C=4 {ezb, edb, emb(2)}.
    pub fn canonical(c: u32) -> Result<Self, FormatError> {
        match c {
            1 => Ok(Comp { m: 0, z: false }),
            2 => Ok(Comp { m: 0, z: true }),
            3 => Ok(Comp { m: 1, z: true }),
            4 => Ok(Comp { m: 2, z: true }),
            _ => Err(range_err("C (compensation bits)", c, 1, C_RANGE.1)),
        }
    }
    /// C = Z + 1 + M.
    pub fn c(&self) -> u32 {
        self.z as u32 + 1 + self.m
    }
    /// G = M + 2 guard bits.
    pub fn g(&self) -> u32 {
        self.m + 2
    }
    /// Default zero threshold T = 8 >> M (project choice).
    pub fn default_t(&self) -> u32 {
        8 >> self.m
    }
}

/// The hardware bit split: W computation bits plus optional compensation
/// fields. `comp == None` is plain FxP (`W+0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Split {
    /// W, computation bits, 2..=16.
    pub w: u32,
    /// Compensation fields; `None` for FxP.
    pub comp: Option<Comp>,
}

impl Split {
    /// Checked constructor.
    pub fn new(w: u32, comp: Option<Comp>) -> Result<Self, FormatError> {
        if !(W_RANGE.0..=W_RANGE.1).contains(&w) {
            return Err(range_err("W", w, W_RANGE.0, W_RANGE.1));
        }
        if let Some(c) = comp {
            Comp::new(c.m, c.z)?;
        }
        Ok(Split { w, comp })
    }
    /// Plain FxP split.
    pub fn fxp(w: u32) -> Result<Self, FormatError> {
        Split::new(w, None)
    }
    /// Parses `W+C` (canonical field set), then applies explicit overrides:
    /// `emb` sets M, `no_ezb` drops the zero bit. Overrides on `W+0` are errors.
    pub fn parse_with(s: &str, emb: Option<u32>, no_ezb: bool) -> Result<Self, FormatError> {
        Split::parse_flags(("--bits", "--emb/--no-ezb"), s, emb, no_ezb)
    }
    /// [`Split::parse_with`] for another flag pair (e.g. `--requant-bits`,
    /// `--requant-emb/--requant-no-ezb`): errors name the flags that carried
    /// the values.
    pub fn parse_flags(
        flags: (&str, &str),
        s: &str,
        emb: Option<u32>,
        no_ezb: bool,
    ) -> Result<Self, FormatError> {
        let (bits_flag, fields_flag) = flags;
        let (w, c) = parse_bits_flag(bits_flag, s)?;
        if c == 0 {
            if emb.is_some() || no_ezb {
                return Err(FormatError(format!(
                    "{bits_flag} {s} is FxP (C = 0): {fields_flag} need C >= 1 (allowed: a W+C split with C 1..={})",
                    C_RANGE.1
                )));
            }
            return Split::new(w, None);
        }
        let mut comp = Comp::canonical(c)?;
        if emb.is_some() || no_ezb {
            // Explicit (M, Z): C follows from them; the given C must match.
            let m = emb.unwrap_or(comp.m);
            comp = Comp::new(m, !no_ezb)?;
            if comp.c() != c {
                return Err(FormatError(format!(
                    "{bits_flag} {s}: C = {c} does not match the explicit fields (Z = {}, M = {m} need C = {}; allowed: C = Z + 1 + M)",
                    comp.z as u32,
                    comp.c()
                )));
            }
        }
        Split::new(w, Some(comp))
    }
    /// Parses `W+C` with the canonical field set.
    pub fn parse(s: &str) -> Result<Self, FormatError> {
        Split::parse_with(s, None, false)
    }
    /// Is this plain FxP?
    pub fn is_fxp(&self) -> bool {
        self.comp.is_none()
    }
    /// C compensation bits (0 for FxP).
    pub fn c(&self) -> u32 {
        self.comp.map_or(0, |c| c.c())
    }
    /// N = W + C, the packed word width.
    pub fn n(&self) -> u32 {
        self.w + self.c()
    }
    /// G guard bits (0 for FxP).
    pub fn g(&self) -> u32 {
        self.comp.map_or(0, |c| c.g())
    }
    /// M (0 for FxP).
    pub fn m(&self) -> u32 {
        self.comp.map_or(0, |c| c.m)
    }
    /// Z (false for FxP).
    pub fn z(&self) -> bool {
        self.comp.is_some_and(|c| c.z)
    }
    /// Smallest and largest q: -2^(W-1) and 2^(W-1)-1.
    pub fn q_range(&self) -> (i64, i64) {
        (-(1i64 << (self.w - 1)), (1i64 << (self.w - 1)) - 1)
    }
}

impl fmt::Display for Split {
    /// `W+C`, with the fields spelled out when they are not canonical.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{}", self.w, self.c())?;
        if let Some(c) = self.comp {
            if Comp::canonical(c.c()).ok() != Some(c) {
                write!(f, "(M={},Z={})", c.m, c.z as u32)?;
            }
        }
        Ok(())
    }
}

/// Parses `W+C` into (W, C), checking both ranges.
pub fn parse_bits(s: &str) -> Result<(u32, u32), FormatError> {
    parse_bits_flag("--bits", s)
}

/// [`parse_bits`] for the flag `flag` (named in errors).
pub fn parse_bits_flag(flag: &str, s: &str) -> Result<(u32, u32), FormatError> {
    let bad = || {
        FormatError(format!(
            "{flag} '{s}' is not of the form W+C (allowed W {}..={}, C {}..={}; e.g. 6+2, 8+0)",
            W_RANGE.0, W_RANGE.1, C_RANGE.0, C_RANGE.1
        ))
    };
    let (w, c) = s.trim().split_once('+').ok_or_else(bad)?;
    let w: u32 = w.trim().parse().map_err(|_| bad())?;
    let c: u32 = c.trim().parse().map_err(|_| bad())?;
    if !(W_RANGE.0..=W_RANGE.1).contains(&w) {
        return Err(FormatError(format!(
            "{flag} '{s}': {}",
            range_err("W", w, W_RANGE.0, W_RANGE.1).0
        )));
    }
    if c > C_RANGE.1 {
        return Err(FormatError(format!(
            "{flag} '{s}': {}",
            range_err("C", c, C_RANGE.0, C_RANGE.1).0
        )));
    }
    Ok((w, c))
}

/// A complete operand format: `FPEC(W, FB, M, Z, T)` or `FxP(W, FB)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Format {
    /// Bit split (W, M, Z).
    pub split: Split,
    /// FB fractional bits, -16..=32.
    pub fb: i32,
    /// T zero threshold in 64ths of an LSB, 0..=32 (used only when Z = 1).
    pub t: u32,
}

impl Format {
    /// Checked constructor; `t = None` takes the default `8 >> M`.
    pub fn new(split: Split, fb: i32, t: Option<u32>) -> Result<Self, FormatError> {
        let split = Split::new(split.w, split.comp)?;
        if !(FB_RANGE.0..=FB_RANGE.1).contains(&fb) {
            return Err(range_err("FB", fb, FB_RANGE.0, FB_RANGE.1));
        }
        let t = match t {
            Some(t) if t > T_RANGE.1 => return Err(range_err("T", t, T_RANGE.0, T_RANGE.1)),
            Some(t) => t,
            None => split.comp.map_or(0, |c| c.default_t()),
        };
        Ok(Format { split, fb, t })
    }
    /// FxP(W, FB).
    pub fn fxp(w: u32, fb: i32) -> Result<Self, FormatError> {
        Format::new(Split::fxp(w)?, fb, None)
    }
    /// Integer bits IB = W - 1 - FB.
    pub fn ib(&self) -> i32 {
        self.split.w as i32 - 1 - self.fb
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hardware's widths (`widths.rs`, which `build.rs` also reads and
    /// so derives C, N and G itself) agree with the format's, for every
    /// split the format accepts.
    #[test]
    fn hardware_widths_agree_with_the_format() {
        for w in W_RANGE.0..=W_RANGE.1 {
            let mut splits = vec![Split::fxp(w).unwrap()];
            for m in M_RANGE.0..=M_RANGE.1 {
                for z in [false, true] {
                    splits.push(Split::new(w, Some(Comp::new(m, z).unwrap())).unwrap());
                }
            }
            for s in splits {
                let x = crate::widths(s.w, s.m(), s.z(), !s.is_fxp(), 64);
                assert_eq!((x.w, x.n), (s.w, s.n()), "{s}");
                if !s.is_fxp() {
                    assert_eq!((x.c, x.g, x.m, x.z), (s.c(), s.g(), s.m(), s.z()), "{s}");
                }
            }
        }
    }

    #[test]
    fn canonical_sets() {
        assert_eq!(
            Split::parse("6+2").unwrap().comp,
            Some(Comp { m: 0, z: true })
        );
        assert_eq!(
            Split::parse("6+1").unwrap().comp,
            Some(Comp { m: 0, z: false })
        );
        assert_eq!(
            Split::parse("4+4").unwrap().comp,
            Some(Comp { m: 2, z: true })
        );
        assert_eq!(Split::parse("8+0").unwrap().comp, None);
        assert_eq!(Split::parse("6+2").unwrap().n(), 8);
    }

    #[test]
    fn explicit_fields() {
        let s = Split::parse_with("6+2", Some(1), true).unwrap();
        assert_eq!(s.comp, Some(Comp { m: 1, z: false }));
        assert!(Split::parse_with("6+2", Some(2), true).is_err());
    }

    #[test]
    fn errors_name_value_and_range() {
        let e = Split::parse("17+2").unwrap_err().to_string();
        assert!(e.contains("17") && e.contains("2..=16"), "{e}");
        let e = Split::parse("6+5").unwrap_err().to_string();
        assert!(e.contains("5") && e.contains("0..=4"), "{e}");
        let e = Split::parse_with("6+3", Some(3), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("3") && e.contains("0..=2"), "{e}");
        assert!(Format::fxp(8, 33).is_err());
        assert!(Format::new(Split::parse("6+2").unwrap(), 0, Some(33)).is_err());
    }
}
