//! A verifier you can hand files to: one test per defect class
//! (command injection, false pass from the build cache, files outside the
//! design folder, merges that believe edited shards, aborts inside
//! documented ranges, lost results, wrong or unclear answers). Each test
//! failed on the code before the fix (run one against an older binary with
//! `FPEC_TEST_BIN=/path/to/old/fpec cargo test --test suite trust_hostile::`).

use std::path::{Path, PathBuf};
use std::process::Output;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn run_in(dir: Option<&Path>, args: &[&str]) -> Output {
    let mut c = crate::common::fpec();
    if let Some(d) = dir {
        c.current_dir(d);
    }
    c.args(args).output().unwrap()
}

fn run(args: &[&str]) -> Output {
    run_in(None, args)
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Exit code 2 and a one-line error containing every needle.
fn assert_usage(o: &Output, needles: &[&str]) {
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "expected exit 2: {}", text(o));
    assert_eq!(e.trim().lines().count(), 1, "one line expected: {e}");
    for n in needles {
        assert!(e.contains(n), "'{n}' not in: {e}");
    }
}

/// A copy of `generated/<name>` in a fresh temporary folder: (guard, path).
fn copy_generated(name: &str) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join(name);
    std::fs::create_dir(&d).unwrap();
    for e in std::fs::read_dir(format!("{ROOT}/generated/{name}")).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            std::fs::copy(e.path(), d.join(e.file_name())).unwrap();
        }
    }
    (t, d)
}

fn edit_manifest(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let p = dir.join("manifest.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---- a top name never reaches a tool script -------------------------

#[test]
fn top_never_reaches_a_tool_script() {
    let (t, d) = copy_generated("6+2");
    let marker = t.path().join("pwned");
    let evil = format!("fpec_mac; exec -- touch {};", marker.display());
    edit_manifest(&d, |v| v["top"] = evil.clone().into());
    let out = t.path().join("o");
    let o = run(&[
        "verify",
        s(&d),
        "--backend",
        "verilator",
        "--vectors",
        "2",
        "--out",
        s(&out),
    ]);
    assert!(!marker.exists(), "the manifest's top ran a shell command");
    assert_usage(&o, &["top", "not a Verilog identifier"]);
    // --rtl with --top, and synth / energy of the same folder.
    let rtl: Vec<String> = std::fs::read_dir(format!("{ROOT}/generated/6+2"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".v"))
        .collect();
    let mut args = vec!["verify", "--rtl"];
    args.extend(rtl.iter().map(String::as_str));
    args.extend([
        "--top",
        &evil,
        "--bits",
        "6+2",
        "--latency",
        "1",
        "--sum-width",
        "26",
        "--backend",
        "icarus",
        "--vectors",
        "2",
        "--out",
        s(&out),
    ]);
    let o = run(&args);
    assert!(!marker.exists(), "--top ran a shell command");
    assert_usage(&o, &["top", "not a Verilog identifier"]);
    for cmd in ["synth", "energy"] {
        let o = run(&[cmd, s(&d)]);
        assert!(
            !marker.exists(),
            "{cmd}: the manifest's top ran a shell command"
        );
        assert_usage(&o, &["top", "not a Verilog identifier"]);
    }
    // A top with '/' makes no folder in the cache.
    let cache = t.path().join("cache");
    edit_manifest(&d, |v| v["top"] = "../../escape/x".into());
    let o = crate::common::fpec()
        .env("FPEC_CACHE", &cache)
        .args([
            "verify",
            s(&d),
            "--backend",
            "verilator",
            "--vectors",
            "2",
            "--out",
            s(&out),
        ])
        .output()
        .unwrap();
    assert_usage(&o, &["top", "not a Verilog identifier"]);
    assert!(!t.path().join("escape").exists());
    // Parameter names too.
    edit_manifest(&d, |v| {
        v["top"] = "fpec_mac".into();
        v["params"] = serde_json::json!({"X; exec -- touch /tmp/y;": 1});
    });
    let o = run(&[
        "verify",
        s(&d),
        "--backend",
        "verilator",
        "--vectors",
        "2",
        "--out",
        s(&out),
    ]);
    assert_usage(&o, &["params", "not a Verilog identifier"]);
}

// ---- includes are part of the cache key -----------------------------

/// A copy of generated 6+2 whose adder lives in `add_body.vh`, included
/// by `fpec_mac__acc__add.v`.
fn design_with_include() -> (tempfile::TempDir, PathBuf) {
    let (t, d) = copy_generated("6+2");
    let add = std::fs::read_to_string(d.join("fpec_mac__acc__add.v")).unwrap();
    let body: String = add
        .lines()
        .filter(|l| !l.starts_with("//"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(d.join("add_body.vh"), body).unwrap();
    std::fs::write(d.join("fpec_mac__acc__add.v"), "`include \"add_body.vh\"\n").unwrap();
    (t, d)
}

#[test]
fn an_edited_include_is_never_a_cached_pass() {
    let (t, d) = design_with_include();
    let out = t.path().join("o");
    for be in ["verilator", "icarus"] {
        // Run inside the folder, where even a tool without -I finds the
        // include, so the first run passes on any version.
        let args = [
            "verify",
            ".",
            "--backend",
            be,
            "--vectors",
            "20",
            "--out",
            s(&out),
        ];
        let o = run_in(Some(&d), &args);
        assert_eq!(o.status.code(), Some(0), "{be}: {}", text(&o));
        let body = std::fs::read_to_string(d.join("add_body.vh")).unwrap();
        let bad = body.replace("{1'b0, a} + {1'b0, b};", "{1'b0, a} + {1'b0, b} + 14'd1;");
        assert_ne!(body, bad);
        std::fs::write(d.join("add_body.vh"), &bad).unwrap();
        let o = run_in(Some(&d), &args);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{be}: a broken included adder passed (stale cache): {}",
            text(&o)
        );
        std::fs::write(d.join("add_body.vh"), &body).unwrap();
    }
}

#[test]
fn rtl_next_to_its_include_gets_its_folder_as_include_path() {
    let (t, d) = design_with_include();
    let out = t.path().join("o");
    for be in ["verilator", "icarus"] {
        let o = run(&[
            "verify",
            s(&d),
            "--backend",
            be,
            "--vectors",
            "5",
            "--out",
            s(&out),
        ]);
        assert_eq!(o.status.code(), Some(0), "{be}: {}", text(&o));
    }
}

#[test]
fn regress_never_simulates_an_edited_cached_design() {
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("cache");
    let out = t.path().join("r");
    let args = [
        "regress",
        "--bits",
        "4+2",
        "--arch",
        "fused",
        "--pairs",
        "2000",
        "--sample-products",
        "0",
        "--out",
        s(&out),
    ];
    let go = || {
        crate::common::fpec()
            .env("FPEC_CACHE", &cache)
            .args(args)
            .output()
            .unwrap()
    };
    let o = go();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Break the cached adder: regress must regenerate, not simulate it.
    let gen: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("regress-gen-")
        })
        .collect();
    assert_eq!(gen.len(), 1, "{gen:?}");
    let add = gen[0].join("fpec_mac__acc__add.v");
    let body = std::fs::read_to_string(&add).unwrap();
    std::fs::write(
        &add,
        body.replace("{1'b0, a} + {1'b0, b};", "{1'b0, a} - {1'b0, b};"),
    )
    .unwrap();
    let o = go();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(&add).unwrap(),
        body,
        "the edited entry was kept"
    );
}

// ---- manifest files stay inside the design folder -------------------

#[test]
fn manifest_files_stay_inside_the_folder() {
    let (t, d) = copy_generated("6+2");
    let out = t.path().join("o");
    // Break this folder's own Verilog, point the manifest at another's.
    std::fs::write(d.join("fpec_mac.v"), "module broken(;\n").unwrap();
    let good = format!("{ROOT}/generated/6+2");
    for prefix in [
        format!("{good}/"),
        "../../../../../../../..".to_string() + &good + "/",
    ] {
        edit_manifest(&d, |v| {
            let files: Vec<serde_json::Value> = v["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| format!("{prefix}{}", f.as_str().unwrap()).into())
                .collect();
            v["files"] = files.into();
        });
        let o = run(&[
            "verify",
            s(&d),
            "--backend",
            "verilator",
            "--vectors",
            "2",
            "--out",
            s(&out),
        ]);
        assert_usage(&o, &["files", "design folder"]);
        std::fs::copy(format!("{good}/manifest.json"), d.join("manifest.json")).unwrap();
    }
    // /etc/passwd is neither fed to a tool nor echoed.
    edit_manifest(&d, |v| v["files"] = serde_json::json!(["/etc/passwd"]));
    for cmd in [
        vec![
            "verify",
            s(&d),
            "--backend",
            "icarus",
            "--vectors",
            "2",
            "--out",
            s(&out),
        ],
        vec!["synth", s(&d)],
    ] {
        let o = run(&cmd);
        assert_usage(&o, &["/etc/passwd", "design folder"]);
        assert!(!text(&o).contains("root:"), "{}", text(&o));
    }
    // A symlink out of the folder is refused too.
    std::fs::copy(format!("{good}/manifest.json"), d.join("manifest.json")).unwrap();
    std::fs::remove_file(d.join("fpec_mac.v")).unwrap();
    std::os::unix::fs::symlink(format!("{good}/fpec_mac.v"), d.join("fpec_mac.v")).unwrap();
    let o = run(&[
        "verify",
        s(&d),
        "--backend",
        "verilator",
        "--vectors",
        "2",
        "--out",
        s(&out),
    ]);
    assert_usage(&o, &["fpec_mac.v", "outside the design folder"]);
}

#[test]
fn a_pass_names_the_files_simulated() {
    let (t, d) = copy_generated("4+2");
    let out = t.path().join("o");
    let o = run(&[
        "verify",
        s(&d),
        "--backend",
        "verilator",
        "--vectors",
        "3",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let line = text(&o)
        .lines()
        .find(|l| l.starts_with("files simulated:"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no 'files simulated:' line: {}", text(&o)));
    assert!(
        line.contains(&d.join("fpec_mac.v").display().to_string()),
        "{line}"
    );
    assert!(line.contains("fpec_mac__acc.v"), "{line}");
}

// ---- merges recompute and check every record ------------------------

/// Rewrites a result file through `f` and, when it carries a checksum,
/// recomputes it (an adversary who knows the format): the merge must
/// still refuse what does not add up.
fn forge(path: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f(&mut v);
    let sealed = v.get("checksum").is_some();
    if sealed {
        v["checksum"] = "".into();
    }
    let mut t = serde_json::to_string_pretty(&v).unwrap();
    if sealed {
        t = fpec::regress::seal_text(&t).unwrap();
    }
    std::fs::write(path, t).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn regress_merge_recomputes_and_checks_every_record() {
    let t = tempfile::tempdir().unwrap();
    let sh = t.path().join("sh");
    for k in 0..2 {
        let o = run(&[
            "regress",
            "--config",
            "3+0-fxp",
            "--pairs",
            "2000",
            "--chunk-pairs",
            "1000",
            "--max-len",
            "16",
            "--sample-products",
            "2",
            "--shard",
            &format!("{k}/2"),
            "--out",
            s(&sh),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    let o = run(&["regress", "merge", s(&sh), "--out", s(&t.path().join("ok"))]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "the untouched shards merge: {}",
        text(&o)
    );
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "failure report kept, mismatches edited to 0",
            Box::new(|v| {
                v["units"][0]["reports"] = serde_json::json!(["/tmp/r/mismatch-verilator.txt"]);
                v["units"][0]["repro"] = "fpec regress --config 3+0-fxp --chunk 0 --out x".into();
            }),
            "must agree",
        ),
        (
            "pairs raised to 1e12",
            Box::new(|v| {
                let n = v["units"].as_array().unwrap().len();
                v["units"][n - 1]["backends"][0]["pairs"] = 1_000_000_000_000u64.into();
            }),
            "cannot give",
        ),
        (
            "a unit with no backend run",
            Box::new(|v| {
                let n = v["units"].as_array().unwrap().len();
                v["units"][n - 1]["backends"] = serde_json::json!([]);
            }),
            "backends []",
        ),
        (
            "negative time",
            Box::new(|v| {
                let n = v["units"].as_array().unwrap().len();
                v["units"][n - 1]["backends"][0]["secs"] = (-5.0).into();
            }),
            "secs = -5",
        ),
    ];
    for (what, edit, needle) in cases {
        let bad = t.path().join("bad");
        let _ = std::fs::remove_dir_all(&bad);
        copy_dir(&sh, &bad);
        forge(&bad.join("shard-0-of-2.json"), edit);
        let out = t.path().join("merged");
        let o = run(&["regress", "merge", s(&bad), "--out", s(&out)]);
        assert_usage(&o, &[needle]);
        assert!(
            !out.join("regress.md").exists(),
            "{what}: a report was written"
        );
    }
    // An edit without a new checksum: caught by the checksum.
    let bad = t.path().join("bad");
    let _ = std::fs::remove_dir_all(&bad);
    copy_dir(&sh, &bad);
    let f = bad.join("shard-1-of-2.json");
    let txt = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, txt.replacen("\"secs\": ", "\"secs\": 1", 1)).unwrap();
    let o = run(&[
        "regress",
        "merge",
        s(&bad),
        "--out",
        s(&t.path().join("m2")),
    ]);
    assert_usage(&o, &["checksum", "edited"]);
}

#[test]
fn flow_merge_checks_totals_and_energies() {
    let t = tempfile::tempdir().unwrap();
    let sh = t.path().join("fl");
    let o = run(&[
        "flow",
        "--bits",
        "3+0",
        "--vectors",
        "2",
        "--shard",
        "0/1",
        "--out",
        s(&sh),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let shard = "flow-shard-0-of-1.json";
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|v| v["results"][0]["verify"][0][3] = 7.into()),
            "must agree",
        ),
        (
            Box::new(|v| v["results"][0]["energy_sim_fj"] = (-1.0).into()),
            "sim energy = -1",
        ),
        (
            Box::new(|v| v["results"][0]["energy_static_fj"] = 1e308.into()),
            "static energy = 1",
        ),
        (
            Box::new(|v| v["baselines"][0]["sim"]["energy_fj_per_mac"] = (-3.0).into()),
            "energy = -3",
        ),
    ];
    for (edit, needle) in cases {
        let bad = t.path().join("bad");
        let _ = std::fs::remove_dir_all(&bad);
        copy_dir(&sh, &bad);
        forge(&bad.join(shard), edit);
        let o = run(&["flow", "merge", s(&bad)]);
        assert_usage(&o, &[needle]);
        assert!(!bad.join("summary.md").exists());
    }
    let bad = t.path().join("bad2");
    copy_dir(&sh, &bad);
    let f = bad.join(shard);
    let txt = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, txt.replacen("\"cells\": ", "\"cells\": 9", 1)).unwrap();
    let o = run(&["flow", "merge", s(&bad)]);
    assert_usage(&o, &["checksum"]);
    let o = run(&["flow", "merge", s(&sh)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

// ---- plans stream in bounded memory; size limits --------------------

use fpec::regress::{derive_seed, is_exhaustive, Plan, PlanSpec, Unit, Work};

/// The plan as it was first written (every unit listed, then the shard
/// formula applied to each): the naive reference of the streamed plan.
fn naive_units(plan: &Plan) -> Vec<Unit> {
    let s = &plan.spec;
    let mut all = Vec::new();
    for (i, c) in plan.configs.iter().enumerate() {
        let id = c.id();
        let mut works = Vec::new();
        if s.sample_products > 0 {
            works.push(Work::Sample {
                seed: derive_seed(s.seed, &id, 0),
                products: s.sample_products,
            });
        }
        let ch = s.chunk_pairs.max(1);
        if is_exhaustive(s, c) {
            let total = 1u64 << (2 * c.split.n());
            let mut from = 0;
            while from < total {
                let to = (from + ch).min(total);
                works.push(Work::Walk {
                    from,
                    to,
                    prod_len: 1,
                    permuted: false,
                });
                from = to;
            }
            let l = s.max_len.max(1);
            let step = (ch / l).max(1) * l;
            let mut from = 0;
            while from < total {
                let to = (from + step).min(total);
                works.push(Work::Walk {
                    from,
                    to,
                    prod_len: l,
                    permuted: true,
                });
                from = to;
            }
        } else {
            let mut done = 0;
            while done < s.pairs {
                let k = works.len() as u64;
                let pairs = ch.min(s.pairs - done);
                works.push(Work::Random {
                    seed: derive_seed(s.seed, &id, k),
                    pairs,
                });
                done += pairs;
            }
        }
        all.extend(works.into_iter().enumerate().map(|(k, work)| Unit {
            config: i,
            chunk: k as u64,
            work,
        }));
    }
    all
}

fn naive_shard(units: &[Unit], k: u64, n: u64) -> Vec<Unit> {
    let total: u128 = units.iter().map(|u| u.work.cost() as u128).sum();
    let mut before = 0u128;
    let mut out = Vec::new();
    for u in units {
        let c = u.work.cost() as u128;
        let shard = if total == 0 {
            0
        } else {
            (((2 * before + c) * n as u128) / (2 * total)).min(n as u128 - 1) as u64
        };
        if shard == k {
            out.push(*u);
        }
        before += c;
    }
    out
}

#[test]
fn streamed_plan_equals_the_listed_one() {
    let configs = ["3+1-split", "2+0-fxp", "4+2-fused", "3+0-fxp"];
    let mut checked = 0;
    for (pairs, chunk, sample, exhaustive) in [
        (1000u64, 100u64, 3u64, false),
        (1001, 100, 0, false),
        (7, 1, 2, false),
        (0, 5, 1, false),
        (5000, 999, 0, true),
        (100, 4096, 4, true),
    ] {
        let plan = Plan::new(PlanSpec {
            seed: 9,
            pairs,
            chunk_pairs: chunk,
            exhaustive,
            sample_products: sample,
            max_len: 16,
            configs: configs.iter().map(|s| s.to_string()).collect(),
        })
        .unwrap();
        let all = naive_units(&plan);
        assert_eq!(plan.units().collect::<Vec<_>>(), all);
        for n in [1u64, 2, 3, 7, 16, 1000] {
            for k in 0..n {
                let want = naive_shard(&all, k, n);
                assert_eq!(
                    plan.shard_units(k, n).collect::<Vec<_>>(),
                    want,
                    "{pairs} {chunk} {k}/{n}"
                );
                assert_eq!(plan.shard_unit_count(k, n), want.len() as u64);
                checked += 1;
            }
        }
    }
    println!("{checked} (plan, shard) pairs equal the naive listing");
}

/// Runs fpec under a 2 GB address-space limit: (exit code, text).
fn run_limited(args: &[&str]) -> (Option<i32>, String) {
    let bin = std::env::var("FPEC_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_fpec").into());
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg("ulimit -v 2000000; exec \"$@\"")
        .arg("bash")
        .arg(bin)
        .args(args)
        .env("FPEC_CACHE", crate::common::CACHE)
        .output()
        .unwrap();
    (o.status.code(), text(&o))
}

#[test]
fn huge_budgets_plan_in_bounded_memory() {
    let t = tempfile::tempdir().unwrap();
    // 1e8 units in the whole plan (5 GB listed), 100 in this shard.
    let (rc, out) = run_limited(&[
        "regress",
        "--bits",
        "2+0",
        "--pairs",
        "1e13",
        "--chunk-pairs",
        "100000",
        "--sample-products",
        "0",
        "--max-len",
        "16",
        "--shard",
        "999999/1000000",
        "--out",
        s(&t.path().join("r")),
    ]);
    assert_eq!(rc, Some(0), "{out}");
    assert!(out.contains("shard 999999/1000000, 100 units"), "{out}");
    // The default plan at 1e13 pairs: every configuration, 5e8 units.
    let plan = Plan::new(PlanSpec {
        seed: 1,
        pairs: 10_000_000_000_000,
        chunk_pairs: 1,
        exhaustive: false,
        sample_products: 20,
        max_len: 4096,
        configs: fpec::regress::configs_of(
            &fpec::regress::all_splits(),
            &[fpec::gen::Arch::Fused, fpec::gen::Arch::Split],
        )
        .iter()
        .map(|c| c.id())
        .collect(),
    })
    .unwrap();
    let n = plan.shard_unit_count(999_999, 1_000_000);
    assert!(n > 0 && n < 3_000_000_000, "{n}");
    let first = plan.shard_units(999_999, 1_000_000).next().unwrap();
    assert!(
        matches!(first.work, Work::Random { pairs: 1, .. }),
        "{first:?}"
    );
}

#[test]
fn models_and_data_have_size_limits() {
    let m = format!("{ROOT}/models/digits-mlp.json");
    for args in [
        vec!["dnn", "eval", "--model", "/dev/zero", "--bits", "4+2"],
        vec![
            "dnn",
            "eval",
            "--model",
            &m,
            "--data",
            "/dev/zero",
            "--bits",
            "4+2",
        ],
        vec![
            "dnn",
            "import",
            "/dev/zero",
            "--out",
            "/tmp/fpec-never.json",
        ],
    ] {
        let (rc, out) = run_limited(&args);
        assert_eq!(rc, Some(2), "{args:?}: {out}");
        assert!(
            out.contains("/dev/zero") && out.contains("allowed at most"),
            "{out}"
        );
    }
}

// ---- reports fpec did not write are never overwritten ---------------

#[test]
fn sparsity_curve_never_overwrites_a_users_report() {
    let t = tempfile::tempdir().unwrap();
    let mine = t.path().join("sparse-curve.md");
    std::fs::write(&mine, "my notes").unwrap();
    let o = run(&[
        "flow",
        "--sparsity-curve",
        "--bits",
        "4+2",
        "--out",
        s(t.path()),
    ]);
    assert_usage(&o, &["sparse-curve.md", "fpec did not write"]);
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "my notes");
}

#[test]
fn gen_keeps_user_files_in_synth_and_energy() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("g");
    let gen = || run(&["gen", "--bits", "4+2", "--out", s(&d)]);
    assert_eq!(gen().status.code(), Some(0));
    for sub in ["synth", "energy"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
        std::fs::write(d.join(sub).join("my-notes.txt"), "mine").unwrap();
        let o = gen();
        assert_usage(&o, &[&format!("{sub}/my-notes.txt"), "fpec did not write"]);
        assert_eq!(
            std::fs::read_to_string(d.join(sub).join("my-notes.txt")).unwrap(),
            "mine"
        );
        std::fs::remove_file(d.join(sub).join("my-notes.txt")).unwrap();
    }
    // fpec's own results there are replaced with the design.
    std::fs::write(d.join("synth").join("report.json"), "{}").unwrap();
    assert_eq!(gen().status.code(), Some(0));
}

#[test]
fn reports_fpec_did_not_write_are_never_overwritten() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("o");
    std::fs::create_dir_all(&out).unwrap();
    let mine = "# my notes\n";
    for (name, args) in [
        (
            "regress.md",
            vec![
                "regress",
                "--config",
                "2+0-fxp",
                "--pairs",
                "100",
                "--sample-products",
                "0",
                "--max-len",
                "16",
                "--out",
                s(&out),
            ],
        ),
        (
            "summary.md",
            vec!["flow", "--bits", "2+0", "--vectors", "1", "--out", s(&out)],
        ),
        (
            "dnn-report.md",
            vec![
                "dnn",
                "opt",
                "--model",
                concat!(env!("CARGO_MANIFEST_DIR"), "/models/digits-mlp.json"),
                "--test-double-energy",
                "--out",
                s(&out),
            ],
        ),
    ] {
        std::fs::write(out.join(name), mine).unwrap();
        let o = run(&args);
        assert_usage(&o, &[name, "fpec did not write"]);
        assert_eq!(
            std::fs::read_to_string(out.join(name)).unwrap(),
            mine,
            "{name} overwritten"
        );
    }
    // fpec's own report is overwritten by the next run.
    let o = run(&[
        "regress",
        "--config",
        "2+0-fxp",
        "--pairs",
        "100",
        "--sample-products",
        "0",
        "--max-len",
        "16",
        "--out",
        s(&t.path().join("r")),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&[
        "regress",
        "--config",
        "2+0-fxp",
        "--pairs",
        "200",
        "--sample-products",
        "0",
        "--max-len",
        "16",
        "--out",
        s(&t.path().join("r")),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn merges_and_opt_refuse_dot_and_root() {
    let t = tempfile::tempdir().unwrap();
    let sh = t.path().join("sh");
    let o = run(&[
        "regress",
        "--config",
        "2+0-fxp",
        "--pairs",
        "100",
        "--sample-products",
        "0",
        "--max-len",
        "16",
        "--shard",
        "0/1",
        "--out",
        s(&sh),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let cwd = t.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/digits-mlp.json");
    // '.' first: an old fpec writes there (a scratch folder), not into '/'.
    for out in [".", "./", "/"] {
        for args in [
            vec!["regress", "merge", s(&sh), "--out", out],
            vec!["flow", "merge", s(&sh), "--out", out],
            vec![
                "dnn",
                "opt",
                "--model",
                model,
                "--test-double-energy",
                "--out",
                out,
            ],
        ] {
            let o = run_in(Some(&cwd), &args);
            assert_usage(&o, &["--out", "allowed"]);
            assert_eq!(
                std::fs::read_dir(&cwd).unwrap().count(),
                0,
                "{args:?} wrote into the current folder"
            );
        }
    }
    // A shard file given alone in the current folder: its default --out is '.'.
    std::fs::copy(sh.join("shard-0-of-1.json"), cwd.join("shard-0-of-1.json")).unwrap();
    let o = run_in(Some(&cwd), &["regress", "merge", "shard-0-of-1.json"]);
    assert_usage(&o, &["current folder"]);
}

// ---- bad Verilog, liberty and tables; option relations; outputs checked first ----

fn rtl_files() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(format!("{ROOT}/generated/6+2"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".v"))
        .collect();
    v.sort();
    v
}

#[test]
fn bad_verilog_is_an_input_error() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("o");
    let files = rtl_files();
    let syntax = t.path().join("syntax.v");
    std::fs::write(&syntax, "module fpec_mac(input clk; endmodule\n").unwrap();
    let verify = |files: &[String], top: &str, extra: &[&str]| {
        let mut a: Vec<&str> = vec!["verify", "--rtl"];
        a.extend(files.iter().map(String::as_str));
        a.extend([
            "--top",
            top,
            "--bits",
            "6+2",
            "--latency",
            "1",
            "--sum-width",
            "26",
        ]);
        a.extend(["--backend", "verilator", "--vectors", "2", "--out", s(&out)]);
        a.extend(extra);
        run(&a)
    };
    assert_usage(&verify(&files, "nosuch", &[]), &["nosuch", "not found"]);
    assert_usage(
        &verify(&files, "fpec_mac", &["--param", "NOPE=3"]),
        &["NOPE"],
    );
    assert_usage(
        &verify(&[s(&syntax).to_string()], "fpec_mac", &[]),
        &["syntax error"],
    );
    // synth: the same three.
    let sd = t.path().join("sy");
    let synth = |files: &[String], top: &str, extra: &[&str]| {
        let mut a: Vec<&str> = vec!["synth", s(&sd), "--rtl"];
        a.extend(files.iter().map(String::as_str));
        a.extend(["--top", top]);
        a.extend(extra);
        run(&a)
    };
    assert_usage(&synth(&files, "nosuch", &[]), &["nosuch", "not found"]);
    assert_usage(
        &synth(&files, "fpec_mac", &["--param", "NOPE=3"]),
        &["NOPE"],
    );
    assert_usage(
        &synth(&[s(&syntax).to_string()], "fpec_mac", &[]),
        &["syntax error"],
    );
}

#[test]
fn bad_liberty_and_tables_are_input_errors() {
    let t = tempfile::tempdir().unwrap();
    let (_tg, d) = copy_generated("4+2");
    let g = s(&d).to_string();
    let empty = t.path().join("empty.lib");
    std::fs::write(&empty, "").unwrap();
    let nan = t.path().join("nan.lib");
    std::fs::write(
        &nan,
        "library (x) { nom_voltage : nan; capacitive_load_unit (1, ff);\n cell (INV) { pin (A) { direction : input; capacitance : 1; }\n pin (Y) { direction : output; function : \"!A\"; } } }\n",
    )
    .unwrap();
    for lib in [&empty, &nan] {
        assert_usage(&run(&["synth", s(&d), "--liberty", s(lib)]), &[s(lib)]);
        assert_usage(
            &run(&["energy", s(&d), "--liberty", s(lib), "--no-baselines"]),
            &[s(lib)],
        );
    }
    let table = t.path().join("t.toml");
    let builtin = std::fs::read_to_string(format!("{ROOT}/data/energy-14nm.toml")).unwrap();
    std::fs::write(
        &table,
        builtin.replacen("default_toggle_rate = 0.5", "default_toggle_rate = nan", 1),
    )
    .unwrap();
    assert_usage(
        &run(&["energy", &g, "--energy-table", s(&table), "--no-baselines"]),
        &["default_toggle_rate"],
    );
    assert_usage(
        &run(&["energy", &g, "--toggle-rate", "nan", "--no-baselines"]),
        &["--toggle-rate", "0..=1"],
    );
}

#[test]
fn contradictory_or_ignored_options_are_errors() {
    let t = tempfile::tempdir().unwrap();
    let (_tg0, d0) = copy_generated("4+2");
    let g = s(&d0).to_string();
    let o = s(&t.path().join("x")).to_string();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["flow", "--bits", "8+0", "--arch", "split", "--out", &o],
            vec!["--arch", "FxP"],
        ),
        (
            vec!["regress", "--bits", "8+0", "--arch", "split", "--out", &o],
            vec!["--arch", "FxP"],
        ),
        (
            vec!["energy", &g, "--workload", "uniform", "--no-baselines"],
            vec!["--workload", "static"],
        ),
        (
            vec![
                "energy",
                &g,
                "--activity",
                "sim",
                "--len",
                "5000",
                "--no-baselines",
            ],
            vec!["--len 5000", "1..=4096"],
        ),
        (
            vec!["energy", &g, "--max-len", "16", "--no-baselines"],
            vec!["--max-len"],
        ),
        (
            vec![
                "dnn",
                "opt",
                "--model",
                concat!(env!("CARGO_MANIFEST_DIR"), "/models/digits-mlp.json"),
                "--budget",
                "101",
                "--out",
                &o,
            ],
            vec!["--budget 101", "0..=100"],
        ),
    ];
    for (args, needles) in cases {
        let r = run(&args);
        assert_usage(&r, &needles);
        assert!(!t.path().join("x").exists(), "{args:?} wrote its output");
    }
    // energy DIR --bits 6+2 on a 4+2 folder: refused, folder untouched.
    let (_tg, d) = copy_generated("4+2");
    let before = std::fs::read_to_string(d.join("manifest.json")).unwrap();
    let r = run(&["energy", s(&d), "--bits", "6+2", "--no-baselines"]);
    assert_usage(&r, &["4+2", "6+2"]);
    assert_eq!(
        std::fs::read_to_string(d.join("manifest.json")).unwrap(),
        before
    );
}

#[test]
fn outputs_are_checked_before_the_work() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/digits-mlp.json");
    let under_file = file.join("sub");
    let missing = t.path().join("missing").join("x.json");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "regress",
                "--config",
                "2+0-fxp",
                "--pairs",
                "100",
                "--out",
                s(&file),
            ],
            "is a file",
        ),
        (
            vec!["flow", "--bits", "2+0", "--out", s(&file)],
            "is a file",
        ),
        (
            vec!["flow", "--bits", "2+0", "--out", s(&under_file)],
            "is a file",
        ),
        (
            vec!["dnn", "opt", "--model", model, "--out", s(&file)],
            "is a file",
        ),
        (
            vec!["dnn", "train", "--net", "mlp", "--out", s(t.path())],
            "is a folder",
        ),
        (
            vec![
                "dnn",
                "verify-layer",
                "--model",
                model,
                "--layer",
                "0",
                "--bits",
                "4+2",
                "--dump",
                s(&missing),
            ],
            "does not exist",
        ),
        (
            vec![
                "dnn",
                "verify-layer",
                "--model",
                model,
                "--layer",
                "0",
                "--bits",
                "4+2",
                "--arch",
                "bogus",
            ],
            "bogus",
        ),
    ];
    for (args, needle) in cases {
        // One line on stderr: nothing ran (a training or a layer run prints first).
        assert_usage(&run(&args), &[needle]);
    }
}

#[test]
fn one_configuration_flow_writes_its_summary() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("f");
    let o = run(&["flow", "--bits", "3+0", "--vectors", "2", "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap_or_default();
    assert!(
        md.starts_with("# fpec flow summary") && md.contains("| 3+0 |"),
        "{md}"
    );
}
