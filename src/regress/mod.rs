//! `fpec regress`: regression at volume over many configurations, sharded.
//!
//! This module owns the *plan* of a regression and the running of one shard
//! of it; [`merge`] owns reading shard results back, checking they form one
//! complete regression, and the `regress.md` / `regress.json` report.
//!
//! - A [`Plan`] is the configuration set (split x arch), the base seed, the
//!   pair budget per configuration, the chunk size, exhaustive mode and the
//!   sample size. Its [`Plan::fingerprint`] names the regression.
//! - Each configuration's work is cut into [`Unit`]s independent of the
//!   number of shards: a seeded sample run on every backend (Verilator,
//!   Icarus, rust-sim), then chunks of at most `chunk_pairs` pairs run on
//!   Verilator: seeded random streams (seed derived from base seed,
//!   configuration and chunk index), or, in exhaustive mode for N <= 12,
//!   slices of the walk over every (w, a) pair as one-pair products and
//!   again as Lmax-long products in a permuted order.
//! - Shard K of N takes a contiguous, cost-balanced slice of the global unit
//!   list ([`Plan::shard_units`]), so every unit has the same seed and
//!   stimulus whatever N is and the totals of a sharded run equal the
//!   unsharded run's.
//!
//! Everything else is the verify machinery: stimulus
//! ([`crate::verify::stimulus`]), checker, backends, mismatch report, and
//! the content-hashed build cache ([`crate::toolchain::cache::cache_root`]),
//! which also holds the generated Verilog (`regress-gen-<hash>`), so a
//! rerun only simulates.

pub mod merge;

use crate::format::{Comp, Split};
use crate::gen::Arch;
use crate::toolchain::cache::{cached_dir, Hasher};
use crate::util::{usage, write_atomic};
use crate::verify::manifest::Dut;
use crate::verify::stimulus::{self, Stimulus, Sweep};
use crate::verify::{self, backend::Backend};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Version of the shard result format (2: with a content checksum).
pub const FORMAT_VERSION: u32 = 2;

/// Largest N (word width) of the exhaustive walk: 2^24 pairs.
pub const EXHAUSTIVE_MAX_N: u32 = 12;

/// Estimated cost of a sample unit in pair-equivalents of Verilator volume
/// (Icarus runs it about 400 times slower), for balancing shards only.
const SAMPLE_COST: u64 = 10_000_000;

/// One configuration: a split in one arch (FxP has one arch, `fused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Hardware split.
    pub split: Split,
    /// Microarchitecture (Fused for FxP).
    pub arch: Arch,
}

impl Config {
    /// `W+C-arch`, with `-mMzZ` for a non-canonical field set: `6+2-fused`,
    /// `6+3-m1z0-split`, `8+0-fxp`. Safe as a file name.
    pub fn id(&self) -> String {
        let s = &self.split;
        let mut id = format!("{}+{}", s.w, s.c());
        if let Some(c) = s.comp {
            if Comp::canonical(c.c()).ok() != Some(c) {
                id += &format!("-m{}z{}", c.m, c.z as u32);
            }
        }
        id + "-" + crate::gen::arch_name(s, self.arch)
    }

    /// Parses [`Config::id`] (a usage error naming the form otherwise).
    pub fn parse(id: &str) -> Result<Config> {
        let bad = || {
            usage(format!(
                "--config '{id}' is not a configuration id (allowed: W+C-ARCH with W 2..=16, C 0..=4, \
                 ARCH fused|split|fxp, and -mMzZ for a non-canonical field set, e.g. 6+2-fused, 6+3-m1z0-split, 8+0-fxp)"
            ))
        };
        let parts: Vec<&str> = id.split('-').collect();
        let (bits, fields, arch) = match parts.as_slice() {
            [b, a] => (*b, None, *a),
            [b, f, a] => (*b, Some(*f), *a),
            _ => return Err(bad()),
        };
        let (emb, no_ezb) = match fields {
            None => (None, false),
            Some(f) => {
                let f = f.strip_prefix('m').ok_or_else(bad)?;
                let (m, z) = f.split_once('z').ok_or_else(bad)?;
                let m: u32 = m.parse().map_err(|_| bad())?;
                let z: u32 = z.parse().map_err(|_| bad())?;
                if z > 1 {
                    return Err(bad());
                }
                (Some(m), z == 0)
            }
        };
        let split = Split::parse_with(bits, emb, no_ezb).map_err(|_| bad())?;
        let arch = match (split.is_fxp(), arch) {
            (true, "fxp") => Arch::Fused,
            (false, a) if a != "fxp" => Arch::parse(a).map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        let c = Config { split, arch };
        // Only the canonical spelling is accepted, so ids compare as strings.
        if c.id() != id {
            return Err(bad());
        }
        Ok(c)
    }
}

/// Every split of the project: W 2..=16 x (FxP, and every (M, Z) with
/// M 0..=2, Z 0/1): 105 splits.
pub fn all_splits() -> Vec<Split> {
    let mut v = Vec::new();
    for w in 2..=16 {
        if let Ok(s) = Split::fxp(w) {
            v.push(s);
        }
        for m in 0..=2 {
            for z in [false, true] {
                if let Ok(s) = Split::new(w, Some(Comp { m, z })) {
                    v.push(s);
                }
            }
        }
    }
    v
}

/// Every split in every arch asked for (FxP once).
pub fn configs_of(splits: &[Split], archs: &[Arch]) -> Vec<Config> {
    let mut v: Vec<Config> = Vec::new();
    for s in splits {
        let archs: &[Arch] = if s.is_fxp() { &[Arch::Fused] } else { archs };
        for a in archs {
            let c = Config {
                split: *s,
                arch: *a,
            };
            if !v.contains(&c) {
                v.push(c);
            }
        }
    }
    v
}

/// What a regression is: everything that decides its units and seeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSpec {
    /// Base seed.
    pub seed: u64,
    /// Pair budget per configuration (random mode).
    pub pairs: u64,
    /// Pairs per chunk (the unit of work; independent of the shard count).
    pub chunk_pairs: u64,
    /// Exhaustive walk for configurations with N <= 12.
    pub exhaustive: bool,
    /// Dot products of the sample run on every backend (0: none).
    pub sample_products: u64,
    /// Lmax of the generated MACs.
    pub max_len: u64,
    /// Configuration ids, in order.
    pub configs: Vec<String>,
}

/// A regression plan with its configurations parsed.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The spec.
    pub spec: PlanSpec,
    /// Parsed configurations (same order as `spec.configs`).
    pub configs: Vec<Config>,
}

/// What one unit runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Work {
    /// Seeded random products on every backend.
    Sample {
        /// Seed.
        seed: u64,
        /// Dot products.
        products: u64,
    },
    /// Seeded random products until `pairs` pairs, on Verilator.
    Random {
        /// Seed.
        seed: u64,
        /// Pair budget of the chunk.
        pairs: u64,
    },
    /// A slice of the exhaustive walk, on Verilator.
    Walk {
        /// First walk index.
        from: u64,
        /// One past the last.
        to: u64,
        /// Pairs per product (1, or Lmax).
        prod_len: u64,
        /// Permuted order.
        permuted: bool,
    },
}

impl Work {
    /// The seed, when the work is random.
    pub fn seed(&self) -> Option<u64> {
        match self {
            Work::Sample { seed, .. } | Work::Random { seed, .. } => Some(*seed),
            Work::Walk { .. } => None,
        }
    }
    /// Estimated cost (pair-equivalents of Verilator volume), for balancing.
    pub fn cost(&self) -> u64 {
        match self {
            Work::Sample { .. } => SAMPLE_COST,
            Work::Random { pairs, .. } => *pairs,
            Work::Walk { from, to, .. } => to - from,
        }
    }
    /// Backends that run it.
    pub fn backends(&self) -> &'static [&'static str] {
        match self {
            Work::Sample { .. } => &["verilator", "icarus", "rust-sim"],
            _ => &["verilator"],
        }
    }
}

/// One unit of work: chunk `chunk` of configuration `config` (index into
/// the plan's configurations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// Configuration index.
    pub config: usize,
    /// Chunk index within the configuration (0 is the sample when there is one).
    pub chunk: u64,
    /// What it runs.
    pub work: Work,
}

/// What the units of a [`Segment`] run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegKind {
    /// The sample (one unit).
    Sample,
    /// Random chunks of `pairs` pairs each.
    Random {
        /// Pairs per unit.
        pairs: u64,
    },
    /// Slices `start + j*step .. min(start + (j+1)*step, total)` of a walk.
    Walk {
        /// First walk index of unit 0.
        start: u64,
        /// Walk indices per unit.
        step: u64,
        /// End of the walk.
        total: u64,
        /// Pairs per product.
        prod_len: u64,
        /// Permuted order.
        permuted: bool,
    },
}

/// A run of consecutive units of one configuration with the same cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Configuration index.
    pub config: usize,
    /// Chunk index of unit 0.
    pub first_chunk: u64,
    /// Units.
    pub count: u64,
    /// Estimated cost of each unit.
    pub cost: u64,
    /// What they run.
    pub kind: SegKind,
}

/// Seed of chunk `chunk` of configuration `id` under base seed `base`.
pub fn derive_seed(base: u64, id: &str, chunk: u64) -> u64 {
    let mut h = Hasher::default();
    h.feed(&base.to_le_bytes())
        .feed(id.as_bytes())
        .feed(&chunk.to_le_bytes());
    u64::from_str_radix(&h.hex()[..16], 16).unwrap_or(base ^ chunk)
}

/// Does configuration `c` get the exhaustive walk under `spec`?
pub fn is_exhaustive(spec: &PlanSpec, c: &Config) -> bool {
    spec.exhaustive && c.split.n() <= EXHAUSTIVE_MAX_N
}

impl Plan {
    /// A plan from its spec (configuration ids must parse).
    pub fn new(spec: PlanSpec) -> Result<Plan> {
        let configs = spec
            .configs
            .iter()
            .map(|s| Config::parse(s))
            .collect::<Result<Vec<_>>>()?;
        Ok(Plan { spec, configs })
    }

    /// A short hash naming the regression (every field of the spec).
    pub fn fingerprint(&self) -> String {
        let mut h = Hasher::default();
        h.feed(&FORMAT_VERSION.to_le_bytes());
        h.feed(
            serde_json::to_string(&self.spec)
                .unwrap_or_default()
                .as_bytes(),
        );
        h.hex()[..16].to_string()
    }

    /// The units of configuration `i` as at most seven segments of
    /// equal-cost units (sample; full and last random chunks; full and
    /// last slices of both walks), computed without listing the units.
    pub fn config_segments(&self, i: usize) -> Vec<Segment> {
        let s = &self.spec;
        let c = &self.configs[i];
        let ch = s.chunk_pairs.max(1);
        let mut segs = Vec::new();
        let mut chunk = 0u64;
        let mut push = |count: u64, cost: u64, kind: SegKind| {
            if count > 0 {
                segs.push(Segment {
                    config: i,
                    first_chunk: chunk,
                    count,
                    cost,
                    kind,
                });
                chunk += count;
            }
        };
        if s.sample_products > 0 {
            push(1, SAMPLE_COST, SegKind::Sample);
        }
        if is_exhaustive(s, c) {
            let total = 1u64 << (2 * c.split.n());
            let l = s.max_len.max(1);
            for (step, prod_len, permuted) in [(ch, 1, false), ((ch / l).max(1) * l, l, true)] {
                let full = total / step;
                let walk = |start| SegKind::Walk {
                    start,
                    step,
                    total,
                    prod_len,
                    permuted,
                };
                push(full, step, walk(0));
                push(
                    u64::from(!total.is_multiple_of(step)),
                    total % step,
                    walk(full * step),
                );
            }
        } else {
            push(s.pairs / ch, ch, SegKind::Random { pairs: ch });
            let rem = s.pairs % ch;
            push(u64::from(rem > 0), rem, SegKind::Random { pairs: rem });
        }
        segs
    }

    /// Unit `j` of segment `g`.
    pub fn segment_unit(&self, g: &Segment, j: u64) -> Unit {
        let chunk = g.first_chunk + j;
        let id = || self.configs[g.config].id();
        let work = match g.kind {
            SegKind::Sample => Work::Sample {
                seed: derive_seed(self.spec.seed, &id(), chunk),
                products: self.spec.sample_products,
            },
            SegKind::Random { pairs } => Work::Random {
                seed: derive_seed(self.spec.seed, &id(), chunk),
                pairs,
            },
            SegKind::Walk {
                start,
                step,
                total,
                prod_len,
                permuted,
            } => {
                let from = start + j * step;
                Work::Walk {
                    from,
                    to: (from + step).min(total),
                    prod_len,
                    permuted,
                }
            }
        };
        Unit {
            config: g.config,
            chunk,
            work,
        }
    }

    /// Number of units of configuration `i`.
    pub fn config_unit_count(&self, i: usize) -> u64 {
        self.config_segments(i).iter().map(|g| g.count).sum()
    }

    /// The units of configuration `i`, in order (lazily).
    pub fn config_units(&self, i: usize) -> impl Iterator<Item = Unit> + '_ {
        self.config_segments(i)
            .into_iter()
            .flat_map(move |g| (0..g.count).map(move |j| self.segment_unit(&g, j)))
    }

    /// Every unit, configurations in order (lazily).
    pub fn units(&self) -> impl Iterator<Item = Unit> + '_ {
        (0..self.configs.len()).flat_map(|i| self.config_units(i))
    }

    /// The slices of segments that shard `k` of `n` runs: a contiguous
    /// slice of [`Plan::units`] balanced by estimated cost (a unit goes to
    /// the shard holding the middle of its cost interval), found by
    /// arithmetic per segment, so time and memory do not grow with the
    /// number of units. Each entry: a segment and its unit range.
    pub fn shard_slices(&self, k: u64, n: u64) -> Vec<(Segment, std::ops::Range<u64>)> {
        let segs: Vec<Segment> = (0..self.configs.len())
            .flat_map(|i| self.config_segments(i))
            .collect();
        let total: u128 = segs.iter().map(|g| g.count as u128 * g.cost as u128).sum();
        let n = n.max(1);
        let mut before: u128 = 0;
        let mut out = Vec::new();
        for g in segs {
            let (c, m) = (g.cost as u128, g.count as u128);
            // First unit j whose shard is >= kk: (2B + c + 2cj) n >= 2 T kk.
            let first = |kk: u64| -> u64 {
                if kk == 0 {
                    return 0;
                }
                if kk >= n || total == 0 {
                    return g.count; // with no cost, everything is in shard 0
                }
                let need = 2 * total * kk as u128;
                let have = (2 * before + c) * n as u128;
                if have >= need {
                    return 0;
                }
                if c == 0 {
                    return g.count;
                }
                let step = 2 * c * n as u128;
                ((need - have).div_ceil(step)).min(m) as u64
            };
            let (lo, hi) = (first(k), first(k + 1));
            if lo < hi {
                out.push((g, lo..hi));
            }
            before += m * c;
        }
        out
    }

    /// The units of shard `k` of `n` (lazily; see [`Plan::shard_slices`]).
    pub fn shard_units(&self, k: u64, n: u64) -> impl Iterator<Item = Unit> + '_ {
        self.shard_slices(k, n)
            .into_iter()
            .flat_map(move |(g, r)| r.map(move |j| self.segment_unit(&g, j)))
    }

    /// Number of units of shard `k` of `n`.
    pub fn shard_unit_count(&self, k: u64, n: u64) -> u64 {
        self.shard_slices(k, n)
            .iter()
            .map(|(_, r)| r.end - r.start)
            .sum()
    }

    /// The stimulus of a unit on `dut`.
    pub fn stimulus(&self, u: &Unit, dut: &Dut) -> Stimulus {
        match u.work {
            Work::Sample { seed, products } => stimulus::random_stream(dut, products, seed),
            Work::Random { seed, pairs } => stimulus::random_pairs(dut, pairs, seed),
            Work::Walk {
                from,
                to,
                prod_len,
                permuted,
            } => Stimulus::Sweep(Sweep {
                n: dut.n(),
                from,
                to,
                prod_len,
                permuted,
                tail: dut.latency as u64 + 2,
            }),
        }
    }

    /// The command that reruns unit `chunk` of configuration `id` alone
    /// (same seeds), with mismatch reports and VCDs under `out`.
    pub fn repro(&self, id: &str, chunk: u64, out: &Path) -> String {
        let s = &self.spec;
        format!(
            "fpec regress --config {id} --seed {} --pairs {} --chunk-pairs {} --sample-products {} --max-len {}{} --chunk {chunk} --out {}",
            s.seed,
            s.pairs,
            s.chunk_pairs,
            s.sample_products,
            s.max_len,
            if s.exhaustive { " --exhaustive" } else { "" },
            out.display()
        )
    }
}

/// One backend's outcome on one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendResult {
    /// Backend name.
    pub name: String,
    /// Dot products checked.
    pub products: u64,
    /// Pairs in them.
    pub pairs: u64,
    /// Mismatches.
    pub mismatches: u64,
    /// Seconds (stimulus through check).
    pub secs: f64,
}

/// The outcome of one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitResult {
    /// Configuration id.
    pub config: String,
    /// Chunk index.
    pub chunk: u64,
    /// What ran.
    pub work: Work,
    /// Per backend.
    pub backends: Vec<BackendResult>,
    /// Mismatch reports (one per failing backend).
    #[serde(default)]
    pub reports: Vec<String>,
    /// The command that reruns this unit alone (when it failed).
    #[serde(default)]
    pub repro: Option<String>,
}

/// The result file of one shard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardResult {
    /// [`FORMAT_VERSION`].
    pub format: u32,
    /// The regression.
    pub plan: PlanSpec,
    /// [`Plan::fingerprint`] of `plan`.
    pub fingerprint: String,
    /// K.
    pub shard: u64,
    /// N.
    pub shards: u64,
    /// Host that ran it.
    pub host: String,
    /// Wall seconds of the shard (builds included).
    pub secs: f64,
    /// Every unit of the shard, in plan order.
    pub units: Vec<UnitResult>,
    /// [`text_checksum`] of the file (empty while computing it), so
    /// truncation and accidental edits are caught by the merge.
    #[serde(default)]
    pub checksum: String,
}

const CHECKSUM_KEY: &str = "\"checksum\": \"";

/// The checksum of a result file's text: a hash of the text with the value
/// of its (last) `"checksum"` key empty. Catches truncation and accidental
/// edits of any byte; the merge checks the records' meaning independently.
/// Returns (the value found, the value the text should carry); `None` when
/// the text has no checksum key.
pub fn text_checksum(text: &str) -> Option<(String, String)> {
    let i = text.rfind(CHECKSUM_KEY)? + CHECKSUM_KEY.len();
    let len = text[i..].find('"')?;
    let found = text[i..i + len].to_string();
    let blank = format!("{}{}", &text[..i], &text[i + len..]);
    let mut h = Hasher::default();
    h.feed(b"fpec result checksum v1").feed(blank.as_bytes());
    Some((found, h.hex()))
}

/// Fills the checksum of a result text serialized with an empty
/// `"checksum": ""` (see [`text_checksum`]).
pub fn seal_text(text: &str) -> Result<String> {
    let (found, want) = text_checksum(text).context("a result without a checksum key")?;
    anyhow::ensure!(
        found.is_empty(),
        "the checksum must be empty before sealing"
    );
    let i = text.rfind(CHECKSUM_KEY).unwrap_or(0) + CHECKSUM_KEY.len();
    Ok(format!("{}{want}{}", &text[..i], &text[i..]))
}

/// Checks the checksum of result text read from `path`: a usage error
/// naming the file when it is missing or does not match.
pub fn check_text_checksum(text: &str, path: &Path, what: &str) -> Result<()> {
    match text_checksum(text) {
        None => Err(usage(format!(
            "{}: no checksum (a {what} of an older fpec, or edited); rerun it",
            path.display()
        ))),
        Some((found, want)) if found != want => Err(usage(format!(
            "{}: checksum {:?} does not match its content ({want}): the file was edited or damaged after fpec wrote it; rerun this {what}",
            path.display(),
            crate::toolchain::inputs::shorten(&found)
        ))),
        Some(_) => Ok(()),
    }
}

/// File name of shard `k` of `n`.
pub fn shard_file_name(k: u64, n: u64) -> String {
    format!("shard-{k}-of-{n}.json")
}

/// A configuration made ready: generated (cached) and its Verilator model
/// built (cached).
struct Ready {
    dut: Dut,
    vlt: verify::verilator::VerilatorBackend,
}

/// Generates configuration `c` into the cache (folder named by the hash of
/// its files) and loads it.
pub fn generate_cached(c: &Config, max_len: u64, cache: &Path) -> Result<Dut> {
    let req = crate::gen::GenRequest {
        arch: c.arch,
        ..crate::gen::GenRequest::mac(c.split, max_len)
    };
    let (manifest, files) = crate::gen::build(&req)?;
    let mut json = serde_json::to_string_pretty(&manifest)?;
    json.push('\n');
    let mut h = Hasher::default();
    h.feed(json.as_bytes());
    for (n, t) in &files {
        h.feed(n.as_bytes()).feed(t.as_bytes());
    }
    crate::toolchain::cache::mkdir(cache)?;
    let dir = cache.join(format!("regress-gen-{}-{}", c.id(), &h.hex()[..16]));
    let write = |tmp: &Path| -> Result<()> {
        for (n, t) in &files {
            std::fs::write(tmp.join(n), t)
                .with_context(|| format!("cannot write {}", tmp.join(n).display()))?;
        }
        std::fs::write(tmp.join("manifest.json"), &json)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        Ok(())
    };
    let mut dir = cached_dir(&dir, write)?;
    // A cache entry is only used when it holds exactly what fpec would
    // generate now (an edited or damaged entry is rebuilt).
    if !cached_gen_matches(&dir, &json, &files) {
        eprintln!(
            "note: {} differs from what fpec generates for {}; regenerating it",
            dir.display(),
            c.id()
        );
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot remove the stale {}", dir.display()))?;
        dir = cached_dir(&dir, write)?;
        if !cached_gen_matches(&dir, &json, &files) {
            anyhow::bail!("{} does not hold the generated design", dir.display());
        }
    }
    if let Some(m) = mutant_dir(c, cache, &h, &json, &files)? {
        return verify::manifest::load(&m.join("manifest.json"));
    }
    verify::manifest::load(&dir.join("manifest.json"))
}

/// The environment variable naming a deliberate mutant (for testing that a
/// broken MAC fails): `CONFIG|FILE|FROM|TO` replaces FROM by TO in FILE of
/// configuration CONFIG. Announced on stderr whenever it applies.
pub const MUTANT_VAR: &str = "FPEC_REGRESS_MUTANT";

/// The folder of the mutant `$FPEC_REGRESS_MUTANT` asks for `c`, when it
/// does (written beside, never over, the generated design).
fn mutant_dir(
    c: &Config,
    cache: &Path,
    h: &Hasher,
    json: &str,
    files: &[(String, String)],
) -> Result<Option<PathBuf>> {
    let Ok(spec) = std::env::var(MUTANT_VAR) else {
        return Ok(None);
    };
    let parts: Vec<&str> = spec.splitn(4, '|').collect();
    let [id, file, from, to] = parts.as_slice() else {
        return Err(usage(format!(
            "${MUTANT_VAR} '{spec}' is not CONFIG|FILE|FROM|TO"
        )));
    };
    if *id != c.id() {
        return Ok(None);
    }
    if !files.iter().any(|(n, t)| n == file && t.contains(from)) {
        return Err(usage(format!(
            "${MUTANT_VAR}: {file} of {id} has no '{from}' (allowed: a generated file containing it)"
        )));
    }
    let mut hm = h.clone();
    hm.feed(spec.as_bytes());
    let dir = cache.join(format!("regress-mutant-{id}-{}", &hm.hex()[..16]));
    eprintln!("note: {id} is mutated by ${MUTANT_VAR} ({file}: '{from}' -> '{to}')");
    let dir = cached_dir(&dir, |tmp| {
        for (n, t) in files {
            let t = if n == file {
                t.replace(from, to)
            } else {
                t.clone()
            };
            std::fs::write(tmp.join(n), t)
                .with_context(|| format!("cannot write {}", tmp.join(n).display()))?;
        }
        std::fs::write(tmp.join("manifest.json"), json)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        Ok(())
    })?;
    Ok(Some(dir))
}

/// Whether `dir` holds exactly `manifest.json` = `json` and `files`.
fn cached_gen_matches(dir: &Path, json: &str, files: &[(String, String)]) -> bool {
    let same = |n: &str, t: &str| std::fs::read(dir.join(n)).is_ok_and(|b| b == t.as_bytes());
    same("manifest.json", json) && files.iter().all(|(n, t)| same(n, t))
}

/// How to run a shard.
pub struct RunOptions {
    /// Output folder (shard file; `failures/` for mismatch reports).
    pub out: PathBuf,
    /// Build cache.
    pub cache: PathBuf,
    /// Only this chunk (a reproduction run).
    pub only_chunk: Option<u64>,
}

fn progress(total: u64) -> indicatif::ProgressBar {
    // Drawn on stderr only when it is a terminal (indicatif hides it
    // otherwise), so CI logs get the per-configuration lines only.
    let pb = indicatif::ProgressBar::new(total);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {human_pos}/{human_len} pairs, {per_sec}, ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    pb
}

/// Runs shard `k` of `n` of `plan` and returns its result (the caller
/// writes it). Prints one line per configuration.
pub fn run_shard(plan: &Plan, k: u64, n: u64, opts: &RunOptions) -> Result<ShardResult> {
    let t0 = Instant::now();
    // The shard's units are produced lazily, one configuration at a time,
    // so memory does not grow with the pair budget or the chunk count.
    let mut slices = plan.shard_slices(k, n);
    if let Some(ch) = opts.only_chunk {
        slices = slices
            .into_iter()
            .filter(|(g, r)| (g.first_chunk + r.start..g.first_chunk + r.end).contains(&ch))
            .map(|(g, _)| (g, ch - g.first_chunk..ch - g.first_chunk + 1))
            .collect();
    }
    let count: u64 = slices.iter().map(|(_, r)| r.end - r.start).sum();
    let est: u64 = slices
        .iter()
        .filter(|(g, _)| g.kind != SegKind::Sample)
        .map(|(g, r)| (r.end - r.start).saturating_mul(g.cost))
        .fold(0u64, u64::saturating_add);
    println!(
        "regress {}: shard {k}/{n}, {count} units of {} configurations, seed {}, fingerprint {}",
        opts.out.display(),
        plan.configs.len(),
        plan.spec.seed,
        plan.fingerprint()
    );
    let pb = progress(est);
    let mut results = Vec::new();
    let mut i = 0;
    while i < slices.len() {
        let ci = slices[i].0.config;
        let j = slices[i..]
            .iter()
            .position(|(g, _)| g.config != ci)
            .map_or(slices.len(), |p| i + p);
        let c = plan.configs[ci];
        let id = c.id();
        pb.set_message(id.clone());
        let tc = Instant::now();
        let dut = generate_cached(&c, plan.spec.max_len, &opts.cache)
            .with_context(|| format!("{id}: generating"))?;
        let vlt = verify::verilator::VerilatorBackend::build(&dut, &opts.cache)
            .with_context(|| format!("{id}: building the Verilator model"))?;
        pb.suspend(|| println!("{id}: files simulated: {}", verify::files_simulated(&dut)));
        let mut ready = Ready { dut, vlt };
        let build_secs = tc.elapsed().as_secs_f64();
        let (mut pairs, mut bad, mut vsecs, mut nunits) = (0u64, 0u64, 0f64, 0u64);
        for (g, r) in &slices[i..j] {
            for jj in r.clone() {
                let u = plan.segment_unit(g, jj);
                let res = run_unit(plan, &u, &mut ready, opts)?;
                for b in &res.backends {
                    bad += b.mismatches;
                    if b.name == "verilator" && !matches!(u.work, Work::Sample { .. }) {
                        pairs += b.pairs;
                        vsecs += b.secs;
                        pb.inc(b.pairs);
                    }
                }
                results.push(res);
                nunits += 1;
            }
        }
        let secs = tc.elapsed().as_secs_f64();
        pb.suspend(|| {
            println!(
                "{id}: {nunits} units, {pairs} pairs, {bad} mismatches, {secs:.1} s (generate + build {build_secs:.1} s; Verilator {:.3e} pairs/s)",
                pairs as f64 / vsecs.max(1e-9)
            )
        });
        i = j;
    }
    pb.finish_and_clear();
    Ok(ShardResult {
        format: FORMAT_VERSION,
        plan: plan.spec.clone(),
        fingerprint: plan.fingerprint(),
        shard: k,
        shards: n,
        host: hostname(),
        secs: t0.elapsed().as_secs_f64(),
        units: results,
        checksum: String::new(),
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Runs one unit on its backends; writes a mismatch report (with VCD) per
/// failing backend under `OUT/failures/<config>-chunk<k>/`.
fn run_unit(plan: &Plan, u: &Unit, ready: &mut Ready, opts: &RunOptions) -> Result<UnitResult> {
    let id = plan.configs[u.config].id();
    let dut = &ready.dut;
    let stim = plan.stimulus(u, dut);
    let fail_dir = opts
        .out
        .join("failures")
        .join(format!("{id}-chunk{}", u.chunk));
    let repro = plan.repro(&id, u.chunk, &opts.out.join("repro"));
    let vopts = verify::Options {
        backends: u.work.backends().iter().map(|s| s.to_string()).collect(),
        vectors: 0,
        seed: u.work.seed().unwrap_or(0),
        exhaustive: false,
        out: fail_dir.clone(),
        cache: opts.cache.clone(),
        repro: repro.clone(),
        rust_sim_required: true,
        parallel: false,
    };
    let mut backends = Vec::new();
    let mut reports = Vec::new();
    for name in u.work.backends() {
        let (res, secs) = if *name == "verilator" {
            verify::run_backend(&mut ready.vlt, &stim, dut)
        } else {
            // Icarus writes its stimulus and output files into `out`.
            let scratch = tempfile::Builder::new()
                .prefix(".regress-")
                .tempdir_in(crate::toolchain::cache::mkdir(&opts.out)?)
                .with_context(|| {
                    format!("cannot create a scratch folder in {}", opts.out.display())
                })?;
            let _g = crate::util::CleanupGuard::new(scratch.path());
            let sopts = verify::Options {
                out: scratch.path().to_path_buf(),
                ..vopts.clone()
            };
            let mut be: Box<dyn Backend> = verify::make_backend(name, dut, &sopts)
                .with_context(|| format!("{id}: building the {name} backend"))?;
            verify::run_backend(be.as_mut(), &stim, dut)
        }
        .with_context(|| format!("{id} chunk {}: {name}", u.chunk))?;
        if res.n_mismatch > 0 {
            crate::toolchain::cache::mkdir(&fail_dir)?;
            let p = verify::report::write(dut, &vopts, name, &stim, &res)?;
            reports.push(p.display().to_string());
        }
        backends.push(BackendResult {
            name: name.to_string(),
            products: res.products,
            pairs: res.pairs,
            mismatches: res.n_mismatch,
            secs,
        });
    }
    let failed = backends.iter().any(|b| b.mismatches > 0);
    Ok(UnitResult {
        config: id,
        chunk: u.chunk,
        work: u.work,
        backends,
        reports,
        repro: failed.then_some(repro),
    })
}

/// Writes a shard result atomically into `dir`; returns its path.
pub fn write_shard(dir: &Path, r: &ShardResult) -> Result<PathBuf> {
    crate::toolchain::cache::mkdir(dir)?;
    let p = dir.join(shard_file_name(r.shard, r.shards));
    let mut r = r.clone();
    r.checksum.clear();
    let text = seal_text(&(serde_json::to_string_pretty(&r)? + "\n"))?;
    write_atomic(&p, text.as_bytes())?;
    Ok(p)
}

/// Largest shard count.
pub const MAX_SHARDS: u64 = 1_000_000;

/// Parses `K/N` (0 <= K < N <= [`MAX_SHARDS`]).
pub fn parse_shard(s: &str) -> anyhow::Result<(u64, u64)> {
    let form = format!("allowed K/N with 0 <= K < N and 1 <= N <= {MAX_SHARDS}");
    let bad = || crate::util::usage(format!("--shard '{s}' is not of the form K/N ({form})"));
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let k: u64 = k.trim().parse().map_err(|_| bad())?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || n > MAX_SHARDS {
        return Err(crate::util::usage(format!(
            "--shard {s}: N = {n} is out of range (allowed 1..={MAX_SHARDS})"
        )));
    }
    if k >= n {
        return Err(crate::util::usage(format!(
            "--shard {s}: K = {k} is out of range (allowed 0..={} for N = {n})",
            n - 1
        )));
    }
    Ok((k, n))
}
