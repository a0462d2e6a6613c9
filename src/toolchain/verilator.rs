//! The one Verilator driver: `verilator --cc` of a design plus a C++
//! harness, compiled into an executable in the build cache, keyed by a hash
//! of Verilator's version, the flags, the Verilog and the harness; and
//! `verilator --lint-only -Wall`.
//!
//! The Verilator runtime (`verilated.cpp`, `verilated_threads.cpp`) is
//! compiled once per cache folder and C++ flags and linked explicitly
//! (TOOLCHAIN-NOTES: `--build` without `--exe` leaves libverilated empty).
//! The model's C++ files and the harness are compiled as one translation
//! unit (Verilator's `__ALL.cpp`), then linked.

use super::cache::{absolute, cached_dir, feed_sources, include_dirs, mkdir, Hasher};
use super::{run, Tool};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How a simulator is built: Verilator flags (besides `--cc`, prefix, top,
/// `-Mdir`) and C++ flags.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// Verilator flags.
    pub vflags: &'static [&'static str],
    /// C++ flags of the model, the harness and the runtime.
    pub cxxflags: &'static [&'static str],
}

/// Checking benches: run long stimuli, so optimise.
pub const CHECK: Profile = Profile {
    vflags: &[
        "-O3",
        "--x-assign",
        "fast",
        "--x-initial",
        "fast",
        "--noassert",
        "-Wno-fatal",
        "-Wno-lint",
        "-Wno-style",
    ],
    cxxflags: &["-O2", "-std=c++17", "-faligned-new", "-w"],
};

/// Gate-level toggle counters: a few thousand cycles on large netlists, so
/// compile time dominates: no C++ optimisation.
pub const TOGGLE: Profile = Profile {
    vflags: &[
        "-Wno-fatal",
        "-Wno-lint",
        "-Wno-style",
        "-Wno-UNOPTFLAT",
        "--x-assign",
        "fast",
        "--x-initial",
        "fast",
        "--noassert",
    ],
    cxxflags: &["-O0", "-std=c++17", "-faligned-new", "-w"],
};

/// Where Verilator's runtime sources live.
fn verilator_root() -> Result<PathBuf> {
    if let Ok(r) = std::env::var("VERILATOR_ROOT") {
        if !r.is_empty() {
            return Ok(PathBuf::from(r));
        }
    }
    let out = run(
        Tool::Verilator
            .command()
            .arg("--getenv")
            .arg("VERILATOR_ROOT"),
        Tool::Verilator,
        "verilator --getenv",
    )?;
    Ok(PathBuf::from(out.trim()))
}

fn includes(root: &Path) -> Vec<String> {
    vec![
        format!("-I{}", root.join("include").display()),
        format!("-I{}", root.join("include/vltstd").display()),
    ]
}

/// Compiles `srcs` to objects in `dir`, two at a time.
fn compile_objects(srcs: &[PathBuf], dir: &Path, flags: &[String]) -> Result<Vec<PathBuf>> {
    let objs: Vec<PathBuf> = srcs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let stem = s
                .file_stem()
                .map_or_else(|| "x".into(), |x| x.to_string_lossy());
            dir.join(format!("{i:03}-{stem}.o"))
        })
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Result<()>> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                sc.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= srcs.len() {
                            return Ok(());
                        }
                        run(
                            Tool::Cxx
                                .command()
                                .args(flags)
                                .arg("-c")
                                .arg(&srcs[i])
                                .arg("-o")
                                .arg(&objs[i]),
                            Tool::Cxx,
                            &format!("compiling {}", srcs[i].display()),
                        )?;
                    }
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("compiler thread panicked")))
            })
            .collect()
    });
    for r in results {
        r?;
    }
    Ok(objs)
}

/// The compiled runtime objects for `profile`, cached under `cache`.
fn runtime(cache: &Path, root: &Path, version: &str, profile: &Profile) -> Result<Vec<PathBuf>> {
    let cxx = Tool::Cxx.version().unwrap_or_default();
    let mut h = Hasher::default();
    h.feed(version.as_bytes())
        .feed(cxx.as_bytes())
        .feed(profile.cxxflags.join(" ").as_bytes());
    let dir = cache.join(format!("verilated-{}", &h.hex()[..16]));
    let srcs: Vec<PathBuf> = ["verilated.cpp", "verilated_threads.cpp"]
        .iter()
        .map(|s| root.join("include").join(s))
        .collect();
    let mut flags: Vec<String> = profile.cxxflags.iter().map(|s| s.to_string()).collect();
    flags.extend(includes(root));
    let dir = cached_dir(&dir, |tmp| compile_objects(&srcs, tmp, &flags).map(|_| ()))?;
    let mut objs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "o"))
        .collect();
    objs.sort();
    Ok(objs)
}

/// Verilator `-G` value of a parameter.
fn gparam(name: &str, v: i64) -> String {
    format!("-G{name}={v}")
}

/// What to build: Verilog `files` with top `top` and parameter overrides,
/// driven by C++ `harness` that includes `<prefix>.h`.
pub struct Build<'a> {
    /// Top module.
    pub top: &'a str,
    /// Verilog files in compile order.
    pub files: &'a [PathBuf],
    /// Parameter overrides of the top.
    pub params: &'a BTreeMap<String, i64>,
    /// The harness C++ source.
    pub harness: &'a str,
    /// The model's class prefix (`--prefix`).
    pub prefix: &'a str,
    /// Flags.
    pub profile: Profile,
}

/// Builds (or reuses from `cache`) the executable of `b`; returns its path.
pub fn build_exe(cache: &Path, b: &Build) -> Result<PathBuf> {
    super::inputs::check_design(b.top, b.files, b.params.keys())?;
    super::inputs::ident("prefix", b.prefix)?;
    let version = Tool::Verilator.version()?;
    let cxx = Tool::Cxx.version().unwrap_or_default();
    let root = verilator_root()?;
    let incs: Vec<String> = include_dirs(b.files)?
        .iter()
        .map(|d| format!("-I{}", d.display()))
        .collect();
    // The key: every input of the build (tool versions and programs, the
    // runtime root, every flag, the harness, the names, the parameters,
    // every source and everything it includes).
    let mut h = Hasher::default();
    h.feed(version.as_bytes())
        .feed(Tool::Verilator.program().as_bytes())
        .feed(cxx.as_bytes())
        .feed(Tool::Cxx.program().as_bytes())
        .feed(root.display().to_string().as_bytes())
        .feed(b"-I<folder of every source>")
        .feed(b.profile.vflags.join(" ").as_bytes())
        .feed(b.profile.cxxflags.join(" ").as_bytes())
        .feed(b.harness.as_bytes())
        .feed(b.prefix.as_bytes())
        .feed(b.top.as_bytes());
    for (k, v) in b.params {
        h.feed(gparam(k, *v).as_bytes());
    }
    let mut abs = Vec::new();
    for f in b.files {
        abs.push(absolute(f)?);
    }
    feed_sources(&mut h, &abs, &include_dirs(b.files)?)?;
    let cache = absolute(&mkdir(cache)?)?;
    let rt = runtime(&cache, &root, &version, &b.profile)?;
    let dir = cache.join(format!("vlt-{}-{}", b.top, &h.hex()[..20]));
    let dir = cached_dir(&dir, |tmp| {
        let obj = tmp.join("obj");
        std::fs::write(tmp.join("harness.cpp"), b.harness)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        let mut cmd = Tool::Verilator.command();
        cmd.arg("--cc")
            .args(b.profile.vflags)
            .arg("--prefix")
            .arg(b.prefix)
            .arg("--top-module")
            .arg(b.top)
            .arg("-Mdir")
            .arg(&obj);
        for (k, v) in b.params {
            cmd.arg(gparam(k, *v));
        }
        cmd.args(&incs);
        cmd.args(&abs);
        run(&mut cmd, Tool::Verilator, "verilator")?;
        let mut model: Vec<String> = std::fs::read_dir(&obj)
            .with_context(|| format!("cannot list {}", obj.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        model.sort();
        // One translation unit for the whole model and the harness, as
        // Verilator's own makefile does for small designs
        // (`VM_PARALLEL_BUILDS=0`, the `__ALL.cpp` of verilated.mk): each
        // generated file is small and parsing verilated.h dominates, so this
        // is ~5x less compile CPU than one object per file.
        let all = obj.join(format!("{}__ALL.cpp", b.prefix));
        let mut text: String = model
            .iter()
            .map(|f| format!("#include \"{f}\"\n"))
            .collect();
        text.push_str("#include \"../harness.cpp\"\n");
        std::fs::write(&all, text).with_context(|| format!("cannot write {}", all.display()))?;
        let mut flags: Vec<String> = b.profile.cxxflags.iter().map(|s| s.to_string()).collect();
        flags.extend(includes(&root));
        flags.push(format!("-I{}", obj.display()));
        let objs = compile_objects(&[all], &obj, &flags)?;
        run(
            Tool::Cxx
                .command()
                .args(&objs)
                .args(&rt)
                .arg("-pthread")
                .arg("-o")
                .arg(tmp.join("sim")),
            Tool::Cxx,
            "linking the Verilator model and harness",
        )?;
        // The generated C++ and objects are not needed any more.
        let _ = std::fs::remove_dir_all(&obj);
        Ok(())
    })?;
    Ok(dir.join("sim"))
}

/// `verilator --lint-only -Wall` of `files` (relative to `dir`) with top
/// `top`: (clean, everything it printed).
pub fn lint(dir: &Path, top: &str, files: &[String]) -> Result<(bool, String)> {
    super::inputs::ident("top", top)?;
    for f in files {
        super::inputs::resolve_inside(dir, f, "files:")?;
    }
    let out = super::output(
        Tool::Verilator
            .command()
            .current_dir(dir)
            .args(["--lint-only", "-Wall", "--top-module", top])
            .args(files),
        Tool::Verilator,
    )?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    Ok((out.status.success() && text.trim().is_empty(), text))
}
