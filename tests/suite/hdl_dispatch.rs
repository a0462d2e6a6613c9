//! Every configuration the CLI accepts has an instance of every block it
//! needs: the per-block dispatch tables written by `hdl/build.rs` cover
//! W 2..=16, every (M, Z), FxP, both archs, every Lmax in 1..=65536 and
//! every requantizer the generator can be asked for. (Generation itself is
//! checked by `gen_lint`; this only builds the block instances.)

use fpec_hdl::format::{Comp, Split};
use fpec_hdl::{dispatches, requant_dispatches, Arch, MacConfig, RequantParams, MAX_LEN_RANGE};

/// Lmax values that reach every distinct width set (widths depend on
/// Lmax only through its next power of two), plus the range ends.
fn lens() -> Vec<u64> {
    let mut v: Vec<u64> = (0..=16).map(|i| 1u64 << i).collect();
    v.extend([3, 1000, 4095, 4097, MAX_LEN_RANGE.1 - 1]);
    v
}

#[test]
fn every_mac_request_dispatches() {
    let mut n = 0;
    for w in 2..=16u32 {
        for &max_len in &lens() {
            let fxp = MacConfig {
                split: Split { w, comp: None },
                max_len,
                arch: Arch::Fused,
            };
            dispatches(&fxp).unwrap_or_else(|e| panic!("{fxp:?}: {e}"));
            n += 1;
            for m in 0..=2 {
                for z in [false, true] {
                    for arch in Arch::ALL {
                        let c = MacConfig {
                            split: Split {
                                w,
                                comp: Some(Comp { m, z }),
                            },
                            max_len,
                            arch,
                        };
                        dispatches(&c).unwrap_or_else(|e| panic!("{c:?}: {e}"));
                        n += 1;
                    }
                }
            }
        }
    }
    assert_eq!(n, 15 * lens().len() * 13);
}

#[test]
fn every_requantizer_request_dispatches() {
    // Every sum width S a MAC can have, every output split.
    let mut sums = std::collections::BTreeSet::new();
    for w in 2..=16u32 {
        for &l in &lens() {
            for (m, z, fpec) in [
                (0, false, false),
                (0, false, true),
                (1, true, true),
                (2, true, true),
                (2, false, true),
            ] {
                let c = MacConfig {
                    split: Split {
                        w,
                        comp: fpec.then_some(Comp { m, z }),
                    },
                    max_len: l,
                    arch: Arch::Fused,
                };
                sums.insert(c.widths().unwrap().s);
            }
        }
    }
    for &s in &sums {
        for wo in 2..=16usize {
            for (mo, zo, fxp) in [
                (0, false, true),
                (0, false, false),
                (0, true, false),
                (1, true, false),
                (2, true, false),
                (2, false, false),
            ] {
                let p = RequantParams {
                    s: s as usize,
                    k: 7,
                    relu: true,
                    wo,
                    mo,
                    zo,
                    to: 8,
                    fxp,
                };
                requant_dispatches(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
            }
        }
    }
}

#[test]
fn out_of_range_requests_are_errors_not_panics() {
    for c in [
        MacConfig {
            split: Split {
                w: 1,
                comp: Some(Comp { m: 0, z: true }),
            },
            max_len: 16,
            arch: Arch::Fused,
        },
        MacConfig {
            split: Split {
                w: 17,
                comp: Some(Comp { m: 0, z: true }),
            },
            max_len: 16,
            arch: Arch::Split,
        },
        MacConfig {
            split: Split {
                w: 6,
                comp: Some(Comp { m: 3, z: true }),
            },
            max_len: 16,
            arch: Arch::Fused,
        },
        MacConfig {
            split: Split {
                w: 6,
                comp: Some(Comp { m: 0, z: true }),
            },
            max_len: 0,
            arch: Arch::Fused,
        },
        MacConfig {
            split: Split {
                w: 6,
                comp: Some(Comp { m: 0, z: true }),
            },
            max_len: 65537,
            arch: Arch::Fused,
        },
    ] {
        let e = dispatches(&c).unwrap_err().to_string();
        assert!(
            e.contains("out of range") && e.contains("allowed"),
            "{c:?}: {e}"
        );
    }
}
