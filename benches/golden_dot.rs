//! Compensated golden dot product versus a plain i64 dot product, length 4096.
//!
//! Run: `cargo bench --bench golden_dot`. Operands are random packed words
//! (ChaCha8Rng, fixed seed printed below) decoded once into `Operand`s; the
//! plain baseline multiplies the same q values as `i32` slices.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fpec::format::Split;
use fpec::golden::{dot, Operand};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

const LEN: usize = 4096;
const SEED: u64 = 0xbe_5eed;

fn plain_dot(w: &[i32], a: &[i32]) -> i64 {
    w.iter().zip(a).map(|(&w, &a)| w as i64 * a as i64).sum()
}

fn bench(c: &mut Criterion) {
    println!("golden_dot: ChaCha8Rng seed = {SEED:#x}, L = {LEN}");
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut group = c.benchmark_group("dot4096");
    group.throughput(Throughput::Elements(LEN as u64));
    for spec in ["8+0", "6+2", "8+2", "8+4"] {
        let s = Split::parse(spec).unwrap();
        let n = s.n();
        let wo: Vec<Operand> = (0..LEN)
            .map(|_| Operand::of_bits(&s, rng.gen_range(0..1u32 << n)))
            .collect();
        let ao: Vec<Operand> = (0..LEN)
            .map(|_| Operand::of_bits(&s, rng.gen_range(0..1u32 << n)))
            .collect();
        let wq: Vec<i32> = wo.iter().map(|o| o.q).collect();
        let aq: Vec<i32> = ao.iter().map(|o| o.q).collect();
        let g = s.g();
        group.bench_function(format!("golden {spec}"), |b| {
            b.iter(|| dot(g, black_box(&wo), black_box(&ao)))
        });
        group.bench_function(format!("plain i64 ({spec} q values)"), |b| {
            b.iter(|| plain_dot(black_box(&wq), black_box(&aq)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
