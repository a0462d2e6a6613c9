//! Every configuration the generator accepts, through the real tools:
//! `verilator --lint-only -Wall` (no warning at all), Icarus Verilog
//! (`iverilog -g2005`) and Yosys (`read_verilog; hierarchy; proc; check`).

use fpec::format::{Comp, Split};
use fpec::gen::{generate, Arch, GenRequest, RequantRequest};
use std::path::Path;
use std::process::Command;

fn tools(dir: &Path, top: &str, files: &[String]) {
    let o = Command::new("verilator")
        .args(["--lint-only", "-Wall", "--top-module", top])
        .args(files)
        .current_dir(dir)
        .output()
        .expect("verilator must be installed (scripts/bootstrap.sh)");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.trim().is_empty(),
        "{}: lint: {err}",
        dir.display()
    );
    let o = Command::new("iverilog")
        .args(["-g2005", "-Wall", "-o", "/dev/null", "-s", top])
        .args(files)
        .current_dir(dir)
        .output()
        .expect("iverilog must be installed");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.trim().is_empty(),
        "{}: iverilog: {err}",
        dir.display()
    );
    let script = format!(
        "read_verilog {}; hierarchy -check -top {top}; proc; check -assert",
        files.join(" ")
    );
    let o = Command::new("yosys")
        .args(["-q", "-p", &script])
        .current_dir(dir)
        .output()
        .expect("yosys must be installed");
    assert!(
        o.status.success(),
        "{}: yosys: {}{}",
        dir.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn every_split_generates_lint_clean_verilog() {
    let tmp = tempfile::tempdir().unwrap();
    // (split, arch, Lmax): every split in every arch at 4096, then other
    // Lmax values including the extremes.
    let mut jobs = Vec::new();
    for w in 2..=16u32 {
        let mut splits = vec![Split::fxp(w).unwrap()];
        for m in 0..=2 {
            for z in [false, true] {
                splits.push(Split::new(w, Some(Comp { m, z })).unwrap());
            }
        }
        for split in splits {
            jobs.push((split, 4096u64));
        }
    }
    for (bits, l) in [
        ("6+2", 1u64),
        ("8+4", 65536),
        ("16+0", 65536),
        ("3+1", 1000),
        ("16+4", 65536),
    ] {
        jobs.push((Split::parse(bits).unwrap(), l));
    }
    let jobs: Vec<(Split, Arch, u64)> = jobs
        .into_iter()
        .flat_map(|(s, l)| {
            Arch::ALL
                .into_iter()
                .filter(move |a| !s.is_fxp() || *a == Arch::Fused)
                .map(move |a| (s, a, l))
        })
        .collect();
    assert_eq!(jobs.len(), 15 * 13 + 9);
    // Two workers: each job runs Verilator, Icarus and Yosys one after
    // the other, each on one core.
    std::thread::scope(|sc| {
        for k in 0..2 {
            let (jobs, tmp) = (&jobs, &tmp);
            sc.spawn(move || {
                for (n, (split, arch, l)) in jobs.iter().enumerate().skip(k).step_by(2) {
                    let dir = tmp.path().join(format!("c{n}"));
                    let req = GenRequest {
                        arch: *arch,
                        ..GenRequest::mac(*split, *l)
                    };
                    let m = generate(&req, &dir).unwrap();
                    assert_eq!(m.arch(), if split.is_fxp() { "fxp" } else { arch.name() });
                    tools(&dir, &m.top, &m.files);
                }
            });
        }
    });
}

#[test]
fn requantizers_are_lint_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let mut n = 0;
    for (mac, out, shifts) in [
        ("6+2", "6+2", vec![-3, 0, 1, 5, 12, 26, 40]),
        ("8+0", "8+0", vec![0, 7, 28]),
        ("4+4", "4+4", vec![2, 9]),
        ("16+0", "16+0", vec![-5, 10]),
        ("2+2", "16+4", vec![1, 3]),
    ] {
        for shift in shifts {
            for relu in [false, true] {
                let mut req = GenRequest::mac(Split::parse(mac).unwrap(), 4096);
                let f = fpec::format::Format::new(Split::parse(out).unwrap(), 0, None).unwrap();
                req.requant = Some(RequantRequest {
                    out: f,
                    shift,
                    relu,
                });
                let dir = tmp.path().join(format!("r{n}"));
                n += 1;
                let m = generate(&req, &dir).unwrap();
                let r = m.requant.unwrap();
                tools(&dir, &r.top, &r.files);
            }
        }
    }
}
