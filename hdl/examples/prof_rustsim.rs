//! Profiling aid: runs the rust-sim model of fpec 8+2 (Lmax 4096) on
//! 200 000 random pairs. `perf record` it to see where cycles go.
use fpec_hdl::{MacConfig, MacIn};

fn main() {
    let cfg = MacConfig {
        w: 8,
        m: 0,
        z: true,
        fpec: true,
        max_len: 4096,
    };
    let mut sim = fpec_hdl::mac_sim(&cfg).expect("config");
    let mut x: u32 = 12345;
    let mut v = 0i64;
    let t0 = std::time::Instant::now();
    let n = 200_000u32;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let r = sim.cycle(&MacIn {
            rst: false,
            in_valid: true,
            in_first: i % 4096 == 0,
            in_last: i % 4096 == 4095,
            w: x & 0x3ff,
            a: (x >> 10) & 0x3ff,
        });
        v ^= r.out_sum;
    }
    let s = t0.elapsed().as_secs_f64();
    println!("{v} {:.0} pairs/s", n as f64 / s);
}
