//! The rust-hdl models (rust-sim) against the golden model, for a sweep of
//! configurations: random words, random lengths, idle cycles, resets.

use fpec::format::Split;
use fpec::golden::{dot, Operand};
use fpec_hdl::{Arch, MacIn, MacSim};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn run(split: Split, max_len: u64, products: usize, seed: u64) {
    for arch in Arch::ALL {
        if split.is_fxp() && arch != Arch::Fused {
            continue;
        }
        run_arch(split, max_len, products, seed, arch);
    }
}

fn run_arch(split: Split, max_len: u64, products: usize, seed: u64, arch: Arch) {
    let mut sim: Box<dyn MacSim> = fpec::gen::rust_sim(&split, max_len, arch).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = split.n();
    let mask = (1u32 << n) - 1;
    let g = split.g();
    let mut cycle = 0u64;
    // Reset first.
    let out = sim.cycle(&MacIn {
        rst: true,
        ..Default::default()
    });
    assert!(!out.out_valid);
    for p in 0..products {
        let len = if p % 7 == 0 {
            max_len
        } else {
            rng.gen_range(1..=max_len.min(40))
        };
        let mut ws = Vec::new();
        let mut as_ = Vec::new();
        for i in 0..len {
            // Idle cycles inside the product, with garbage.
            while rng.gen_bool(0.2) {
                let o = sim.cycle(&MacIn {
                    rst: false,
                    in_valid: false,
                    in_first: rng.gen(),
                    in_last: rng.gen(),
                    w: rng.gen::<u32>() & mask,
                    a: rng.gen::<u32>() & mask,
                });
                assert!(!o.out_valid, "seed {seed} product {p}: spurious out_valid");
                cycle += 1;
            }
            let extreme = p % 5 == 1;
            let (w, a) = if extreme {
                // most negative q, comp bits random
                let neg = 1u32 << (n - 1);
                (
                    neg | (rng.gen::<u32>() & ((1 << split.c()) - 1)),
                    neg | (rng.gen::<u32>() & ((1 << split.c()) - 1)),
                )
            } else {
                (rng.gen::<u32>() & mask, rng.gen::<u32>() & mask)
            };
            ws.push(Operand::of_bits(&split, w));
            as_.push(Operand::of_bits(&split, a));
            let o = sim.cycle(&MacIn {
                rst: false,
                in_valid: true,
                in_first: i == 0,
                in_last: i + 1 == len,
                w,
                a,
            });
            cycle += 1;
            if i + 1 == len {
                let expect = dot(g, &ws, &as_);
                assert!(
                    o.out_valid,
                    "seed {seed} product {p} cycle {cycle}: no out_valid"
                );
                assert_eq!(
                    o.out_sum, expect,
                    "seed {seed} split {split} arch {arch} product {p} len {len}"
                );
            } else {
                assert!(!o.out_valid, "seed {seed} product {p}: spurious out_valid");
            }
        }
    }
}

#[test]
fn rust_sim_matches_golden() {
    let seed = 20261128;
    println!("seed {seed}");
    for bits in ["6+2", "4+2", "3+1", "8+3", "5+4", "2+2", "8+0", "4+0"] {
        let s = Split::parse(bits).unwrap();
        run(s, 4096, 12, seed);
    }
    for (bits, m, noz) in [("6+2", 1, true), ("7+3", 2, true), ("6+3", 1, false)] {
        let s = Split::parse_with(bits, Some(m), noz).unwrap();
        run(s, 4096, 10, seed);
    }
}
