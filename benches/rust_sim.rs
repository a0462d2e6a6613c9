//! rust-sim speed: pairs per second through the rust-hdl model of the MAC
//! (blocks composed at run time, each a manual `simulate()` loop), W = 8,
//! for FPEC 8+2 in both archs and FxP 8+0.
//! Run: `cargo bench --bench rust_sim`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fpec_hdl::format::{Comp, Split};
use fpec_hdl::{Arch, MacConfig, MacIn};
use rand::{Rng, SeedableRng};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("rust_sim");
    let pairs = 4096u64;
    g.throughput(Throughput::Elements(pairs));
    g.sample_size(10);
    for (name, cfg) in [
        (
            "fpec 8+2 fused",
            MacConfig {
                split: Split {
                    w: 8,
                    comp: Some(Comp { m: 0, z: true }),
                },
                max_len: 4096,
                arch: Arch::Fused,
            },
        ),
        (
            "fpec 8+2 split",
            MacConfig {
                split: Split {
                    w: 8,
                    comp: Some(Comp { m: 0, z: true }),
                },
                max_len: 4096,
                arch: Arch::Split,
            },
        ),
        (
            "fxp 8+0",
            MacConfig {
                split: Split { w: 8, comp: None },
                max_len: 4096,
                arch: Arch::Fused,
            },
        ),
    ] {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let n = cfg.split.n();
        let stim: Vec<MacIn> = (0..pairs)
            .map(|i| MacIn {
                rst: false,
                in_valid: true,
                in_first: i == 0,
                in_last: i + 1 == pairs,
                w: rng.gen::<u32>() & ((1 << n) - 1),
                a: rng.gen::<u32>() & ((1 << n) - 1),
            })
            .collect();
        let mut sim = fpec_hdl::mac_sim(&cfg).expect("config");
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut v = 0i64;
                for i in &stim {
                    v ^= sim.cycle(i).out_sum;
                }
                v
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
