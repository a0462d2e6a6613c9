//! The rust-hdl requantizer model against `golden::requant`, exhaustively
//! over every sum of small widths, for every k in a range, ReLU on/off, and
//! each output field set (the Verilog is checked against the same golden
//! model by `fpec verify`).

use fpec::format::{Comp, Format, Split};
use fpec::gen::RequantRequest;
use fpec::golden::{pack, requant};

fn check(s_width: u32, out: Format, shift: i32, relu: bool) {
    let r = RequantRequest { out, shift, relu };
    let p = fpec::requant_gen::params(&r, s_width);
    let lo = -(1i64 << (s_width - 1));
    let hi = (1i64 << (s_width - 1)) - 1;
    let sums: Vec<i64> = (lo..=hi).collect();
    let got = fpec_hdl::requant_sim(&p, &sums).unwrap();
    // f_in - FBo = shift with FBo = 0.
    for (s, g) in sums.iter().zip(got) {
        let want = pack(&out.split, &requant(*s, shift, &out, relu).word);
        assert_eq!(
            g, want,
            "S={s_width} out={} T={} k={shift} relu={relu} sum={s}: got {g:#x} want {want:#x}",
            out.split, out.t
        );
    }
}

#[test]
fn requant_model_matches_golden_exhaustively() {
    let outs = [
        Split::parse("4+2").unwrap(),
        Split::parse("3+0").unwrap(),
        Split::parse("4+4").unwrap(),
        Split::parse("5+3").unwrap(),
        Split::new(4, Some(Comp { m: 2, z: false })).unwrap(),
        Split::parse("2+1").unwrap(),
    ];
    for s_width in [7u32, 10] {
        for split in outs {
            for t in [None, Some(0), Some(32)] {
                if split.is_fxp() && t.is_some() {
                    continue;
                }
                let out = Format::new(split, 0, t).unwrap();
                for shift in -3..=(s_width as i32 + 3) {
                    for relu in [false, true] {
                        check(s_width, out, shift, relu);
                    }
                }
            }
        }
    }
}
