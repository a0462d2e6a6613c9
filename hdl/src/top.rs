//! The tops of spec 6.1 and 6.2, composed at run time from the blocks of
//! `dispatch`: `fxp_mac`, `fpec_mac` in each arch (spec 6.4) and
//! `fpec_requant`. A top is pure wiring (word slices, sign extension,
//! instance connections): its Verilog is written here around the blocks'
//! rust-hdl Verilog, and its rust-sim applies the same wiring in Rust
//! between the blocks' rust-hdl simulations.
//!
//! - `fxp_mac`: `mul` (the array, no extra rows) -> `acc`.
//! - `fpec_mac`, `fused`: `rows` (the compensation term as rows) ->
//!   `mul` (the same array, those rows in its bit heap beside the partial
//!   products, the product shifted by G) -> `acc`, one accumulator of S bits.
//! - `fpec_mac`, `split`: `mul` -> `acc` (A bits); `est` (the term) ->
//!   `comp` (CA bits, not enabled on sparse pairs); `out` adds
//!   `(acc << G) + comp` when the result is valid.
//!
//! Every `acc` takes the term un-extended, as its low T-1 bits and its
//! sign, and gives the sum as `{out_hi, out_lo}` (see [`crate::acc::AccCtl`]).

use crate::dispatch::{self, AccDyn, CompAccDyn, EstDyn, MulDyn, OutAddDyn, RequantDyn, RowsDyn};
use crate::emit::{split_modules, VerilogFile};
use crate::sim::{sext, MacIn, MacOut, MacSim};
use crate::{HdlError, MacConfig, RequantParams, Widths};
use std::fmt::Write;

/// Microarchitecture of an FPEC MAC (spec 6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Arch {
    /// Compensation rows inside the multiplier array, one accumulator.
    #[default]
    Fused,
    /// A separate compensation accumulator, added at the output.
    Split,
}

impl Arch {
    /// Every arch, default first.
    pub const ALL: [Arch; 2] = [Arch::Fused, Arch::Split];
    /// Its name in manifests, reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Fused => "fused",
            Arch::Split => "split",
        }
    }
    /// Parses a name; the error names the allowed values.
    pub fn parse(s: &str) -> Result<Arch, HdlError> {
        Arch::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| HdlError(format!("arch `{s}` is unknown (allowed: fused, split)")))
    }
}

impl std::str::FromStr for Arch {
    type Err = HdlError;
    fn from_str(s: &str) -> Result<Arch, HdlError> {
        Arch::parse(s)
    }
}

/// `--arch` on the command line: the names of [`Arch::name`], nothing else.
#[cfg(feature = "clap")]
impl clap::ValueEnum for Arch {
    fn value_variants<'a>() -> &'a [Self] {
        &Arch::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn mask(n: u32) -> u64 {
    crate::blocks::low_mask(n as usize)
}

/// `v` (n bits) sign-extended to `to` bits, as a bit pattern.
fn widen(v: u64, n: u32, to: u32) -> u64 {
    (sext(v, n as usize) as u64) & mask(to)
}

/// Verilog for `net` (n bits) sign-extended to `to` bits.
fn v_sext(net: &str, n: u32, to: u32) -> String {
    if to == n {
        net.to_string()
    } else {
        format!("{{{{{}{{{net}[{}]}}}}, {net}}}", to - n, n - 1)
    }
}

fn v_range(n: u32) -> String {
    if n == 1 {
        String::new()
    } else {
        format!("[{}:0] ", n - 1)
    }
}

/// One instance of the top: its module suffix, rust-hdl Verilog and the
/// text of its connections.
struct Instance {
    name: &'static str,
    verilog: String,
    ports: Vec<(String, String)>,
}

fn instance(name: &'static str, verilog: String, ports: &[(&str, String)]) -> Instance {
    Instance {
        name,
        verilog,
        ports: ports
            .iter()
            .map(|(p, e)| (p.to_string(), e.clone()))
            .collect(),
    }
}

/// Writes a top module: `ports` as (dir, width, name), `wires` as (width,
/// name, optional driver expression), then the instances, then `tail`
/// lines; returns every file, leaves first, top last.
fn top_files(
    top: &str,
    header: &str,
    ports: &[(&str, u32, &str)],
    wires: &[(u32, String, Option<String>)],
    insts: &[Instance],
    tail: &[String],
) -> Vec<VerilogFile> {
    let mut files = Vec::new();
    for i in insts {
        files.extend(split_modules(
            &i.verilog,
            &format!("{top}__{}", i.name),
            header,
        ));
    }
    let mut t = String::from(header);
    t.push_str("`default_nettype none\n\n");
    let names: Vec<&str> = ports.iter().map(|p| p.2).collect();
    let _ = writeln!(t, "module {top}({});\n", names.join(","));
    for (dir, n, name) in ports {
        let _ = writeln!(t, "    {dir} wire {}{name};", v_range(*n));
    }
    t.push('\n');
    for (n, name, drv) in wires {
        match drv {
            Some(e) => {
                let _ = writeln!(t, "    wire {}{name} = {e};", v_range(*n));
            }
            None => {
                let _ = writeln!(t, "    wire {}{name};", v_range(*n));
            }
        }
    }
    for i in insts {
        let _ = writeln!(t, "\n    {top}__{} {}(", i.name, i.name);
        let conns: Vec<String> = i
            .ports
            .iter()
            .map(|(p, e)| format!("        .{p}({e})"))
            .collect();
        t.push_str(&conns.join(",\n"));
        t.push_str("\n    );\n");
    }
    if !tail.is_empty() {
        t.push('\n');
        for l in tail {
            let _ = writeln!(t, "    {l}");
        }
    }
    t.push_str("\nendmodule\n\n`default_nettype wire\n");
    files.push(VerilogFile {
        name: format!("{top}.v"),
        module: top.to_string(),
        text: t,
    });
    files
}

fn mac_ports(n: u32, s: u32) -> Vec<(&'static str, u32, &'static str)> {
    vec![
        ("input", 1, "clk"),
        ("input", 1, "rst"),
        ("input", 1, "in_valid"),
        ("input", 1, "in_first"),
        ("input", 1, "in_last"),
        ("input", n, "w"),
        ("input", n, "a"),
        ("output", 1, "out_valid"),
        ("output", s, "out_sum"),
    ]
}

/// The accumulator's connections: the T-bit term `t` as its low T-1 bits
/// and its sign (no sign extension: the accumulator's high part counts),
/// the S-bit sum `sum` as `{out_hi, out_lo}`.
fn acc_conns(t: &str, tw: u32, s: u32, valid: &str, sum: &str) -> Vec<(&'static str, String)> {
    let l = tw - 1;
    vec![
        ("clk", "clk".into()),
        ("rst", "rst".into()),
        ("valid", "in_valid".into()),
        ("first", "in_first".into()),
        ("last", "in_last".into()),
        ("dl", format!("{t}[{}:0]", l - 1)),
        ("ds", format!("{t}[{l}]")),
        ("out_valid", valid.into()),
        ("out_lo", format!("{sum}[{}:0]", l - 1)),
        ("out_hi", format!("{sum}[{}:{l}]", s - 1)),
    ]
}

/// Word slices: q = word[N-1:C], comp bits = word[C-1:0].
fn slice_wires(x: &Widths) -> Vec<(u32, String, Option<String>)> {
    let (n, c) = (x.n, x.c);
    let mut v = Vec::new();
    for (q, cb, word) in [("qw", "cw", "w"), ("qa", "ca", "a")] {
        v.push((x.w, q.to_string(), Some(format!("{word}[{}:{c}]", n - 1))));
        v.push((c, cb.to_string(), Some(format!("{word}[{}:0]", c - 1))));
    }
    v
}

/// rust-hdl's names of the ports of an array `x` of rows.
const X_PORTS: [&str; 6] = ["x__0", "x__1", "x__2", "x__3", "x__4", "x__5"];

/// The blocks of one MAC configuration.
pub(crate) enum Mac {
    Fxp {
        x: Widths,
        mul: Box<dyn MulDyn>,
        acc: Box<dyn AccDyn>,
    },
    Fused {
        x: Widths,
        rows: Box<dyn RowsDyn>,
        mul: Box<dyn MulDyn>,
        acc: Box<dyn AccDyn>,
        buf: Vec<u64>,
    },
    Split {
        x: Widths,
        mul: Box<dyn MulDyn>,
        acc: Box<dyn AccDyn>,
        est: Box<dyn EstDyn>,
        comp: Box<dyn CompAccDyn>,
        out: Box<dyn OutAddDyn>,
    },
}

impl Mac {
    /// Instantiates the blocks of `cfg`.
    pub(crate) fn new(cfg: &MacConfig) -> Result<Mac, HdlError> {
        let x = cfg.widths()?;
        if !x.fpec {
            return Ok(Mac::Fxp {
                x,
                mul: dispatch::mul(x.w, x.p, 0, 0, &[])?,
                acc: dispatch::acc(x.a, x.p)?,
            });
        }
        Ok(match cfg.arch {
            Arch::Fused => Mac::Fused {
                x,
                rows: dispatch::rows(x.w, x.c, x.t, x.m, x.z)?,
                mul: dispatch::mul(
                    x.w,
                    x.t,
                    x.g,
                    crate::comp::rows::extra(x.w, x.m),
                    &crate::comp::rows::supports(x.w, x.m),
                )?,
                acc: dispatch::acc(x.s, x.t)?,
                buf: vec![0; crate::comp::rows::row_count(x.m) as usize],
            },
            Arch::Split => Mac::Split {
                x,
                mul: dispatch::mul(x.w, x.p, 0, 0, &[])?,
                acc: dispatch::acc(x.a, x.p)?,
                est: dispatch::est(x.w, x.c, x.tw, x.m, x.z)?,
                comp: dispatch::comp_acc(x.ca)?,
                out: dispatch::out_add(x.s, x.g)?,
            },
        })
    }

    /// The Verilog files, leaves first, top last.
    pub(crate) fn files(&self, top: &str, header: &str) -> Result<Vec<VerilogFile>, HdlError> {
        Ok(match self {
            Mac::Fxp { x, mul, acc } => {
                let wires = vec![(x.p, "mul_t".to_string(), None)];
                let insts = [
                    instance(
                        "mul",
                        mul.verilog()?,
                        &[("a", "w".into()), ("b", "a".into()), ("t", "mul_t".into())],
                    ),
                    instance(
                        "acc",
                        acc.verilog()?,
                        &acc_conns("mul_t", x.p, x.a, "out_valid", "out_sum"),
                    ),
                ];
                top_files(top, header, &mac_ports(x.n, x.s), &wires, &insts, &[])
            }
            Mac::Fused {
                x, rows, mul, acc, ..
            } => {
                let mut wires = slice_wires(x);
                let r = crate::comp::rows::row_count(x.m);
                let mut rows_p = vec![
                    ("qw", "qw".to_string()),
                    ("qa", "qa".into()),
                    ("cw", "cw".into()),
                    ("ca", "ca".into()),
                ];
                let mut mul_p = vec![
                    ("a", "qw".to_string()),
                    ("b", "qa".into()),
                    ("t", "mul_t".into()),
                ];
                for k in 0..r {
                    wires.push((x.t, format!("comp_x{k}"), None));
                    rows_p.push((X_PORTS[k as usize], format!("comp_x{k}")));
                    mul_p.push((X_PORTS[k as usize], format!("comp_x{k}")));
                }
                wires.push((x.t, "mul_t".into(), None));
                let insts = [
                    instance("rows", rows.verilog()?, &rows_p),
                    instance("mul", mul.verilog()?, &mul_p),
                    instance(
                        "acc",
                        acc.verilog()?,
                        &acc_conns("mul_t", x.t, x.s, "out_valid", "out_sum"),
                    ),
                ];
                top_files(top, header, &mac_ports(x.n, x.s), &wires, &insts, &[])
            }
            Mac::Split {
                x,
                mul,
                acc,
                est,
                comp,
                out,
            } => {
                let mut wires = slice_wires(x);
                wires.push((x.p, "mul_t".into(), None));
                wires.push((1, "acc_valid".into(), None));
                wires.push((x.a, "acc_sum".into(), None));
                wires.push((x.tw, "est_term".into(), None));
                wires.push((1, "est_skip".into(), None));
                wires.push((x.ca, "comp_cacc".into(), None));
                wires.push((1, "comp_live".into(), None));
                let insts = split_instances(
                    x,
                    mul.as_ref(),
                    acc.as_ref(),
                    est.as_ref(),
                    comp.as_ref(),
                    out.as_ref(),
                )?;
                top_files(
                    top,
                    header,
                    &mac_ports(x.n, x.s),
                    &wires,
                    &insts,
                    &["assign out_valid = acc_valid;".into()],
                )
            }
        })
    }
}

/// The split arch's instances: the multiplier and its accumulator, the
/// estimate, the compensation accumulator and the output adder.
fn split_instances(
    x: &Widths,
    mul: &dyn MulDyn,
    acc: &dyn AccDyn,
    est: &dyn EstDyn,
    comp: &dyn CompAccDyn,
    out: &dyn OutAddDyn,
) -> Result<[Instance; 5], HdlError> {
    Ok([
        instance(
            "mul",
            mul.verilog()?,
            &[
                ("a", "qw".into()),
                ("b", "qa".into()),
                ("t", "mul_t".into()),
            ],
        ),
        instance(
            "acc",
            acc.verilog()?,
            &acc_conns("mul_t", x.p, x.a, "acc_valid", "acc_sum"),
        ),
        instance(
            "est",
            est.verilog()?,
            &[
                ("qw", "qw".into()),
                ("qa", "qa".into()),
                ("cw", "cw".into()),
                ("ca", "ca".into()),
                ("term", "est_term".into()),
                ("skip", "est_skip".into()),
            ],
        ),
        instance(
            "comp",
            comp.verilog()?,
            &[
                ("clk", "clk".into()),
                ("rst", "rst".into()),
                ("valid", "in_valid".into()),
                ("first", "in_first".into()),
                ("skip", "est_skip".into()),
                ("d", v_sext("est_term", x.tw, x.ca)),
                ("cacc", "comp_cacc".into()),
                ("live", "comp_live".into()),
            ],
        ),
        instance(
            "out",
            out.verilog()?,
            &[
                ("acc", v_sext("acc_sum", x.a, x.s)),
                ("comp", v_sext("comp_cacc", x.ca, x.s)),
                ("valid", "acc_valid".into()),
                ("live", "comp_live".into()),
                ("sum", "out_sum".into()),
            ],
        ),
    ])
}

fn split_word(v: u32, x: &Widths) -> (u64, u64) {
    let v = v as u64;
    ((v >> x.c) & mask(x.w), v & mask(x.c))
}

impl MacSim for Mac {
    fn cycle(&mut self, i: &MacIn) -> MacOut {
        match self {
            Mac::Fxp { x, mul, acc } => {
                let t = mul.eval(i.w as u64 & mask(x.w), i.a as u64 & mask(x.w), &[]);
                let (v, s) = acc.cycle(i.rst, i.in_valid, i.in_first, i.in_last, t);
                MacOut {
                    out_valid: v,
                    out_sum: sext(s, x.s as usize),
                }
            }
            Mac::Fused {
                x,
                rows,
                mul,
                acc,
                buf,
            } => {
                let (qw, cw) = split_word(i.w, x);
                let (qa, ca) = split_word(i.a, x);
                rows.eval(qw, qa, cw, ca, buf);
                let t = mul.eval(qw, qa, buf);
                let (v, s) = acc.cycle(i.rst, i.in_valid, i.in_first, i.in_last, t);
                MacOut {
                    out_valid: v,
                    out_sum: sext(s, x.s as usize),
                }
            }
            Mac::Split {
                x,
                mul,
                acc,
                est,
                comp,
                out,
            } => {
                let (qw, cw) = split_word(i.w, x);
                let (qa, ca) = split_word(i.a, x);
                let t = mul.eval(qw, qa, &[]);
                let (v, asum) = acc.cycle(i.rst, i.in_valid, i.in_first, i.in_last, t);
                let (term, skip) = est.eval(qw, qa, cw, ca);
                let (cacc, live) =
                    comp.cycle(i.rst, i.in_valid, i.in_first, skip, widen(term, x.tw, x.ca));
                let s = out.eval(widen(asum, x.a, x.s), widen(cacc, x.ca, x.s), v, live);
                MacOut {
                    out_valid: v,
                    out_sum: sext(s, x.s as usize),
                }
            }
        }
    }
}

/// The requantizer top: the S-bit sum sign-extended into the X-bit core,
/// the word from the core's low NO bits.
pub(crate) struct RequantTop {
    p: RequantParams,
    x: u32,
    core: Box<dyn RequantDyn>,
}

impl RequantTop {
    pub(crate) fn new(p: &RequantParams) -> Result<RequantTop, HdlError> {
        let x = (p.s + 1).max(p.no()) as u32;
        Ok(RequantTop {
            p: *p,
            x,
            core: dispatch::requant(x, p)?,
        })
    }

    pub(crate) fn files(&self, top: &str, header: &str) -> Result<Vec<VerilogFile>, HdlError> {
        let (s, no, x) = (self.p.s as u32, self.p.no() as u32, self.x);
        let ports = [("input", s, "sum"), ("output", no, "word")];
        let wires = vec![(x, "core_y".to_string(), None)];
        let insts = [instance(
            "core",
            self.core.verilog()?,
            &[("x", v_sext("sum", s, x)), ("y", "core_y".into())],
        )];
        let mut tail = vec![format!("assign word = core_y[{}:0];", no - 1)];
        if x > no {
            // Above the word: copies of its sign or zero whenever selected.
            tail.push(format!("wire unused_high = ^core_y[{}:{no}];", x - 1));
        }
        Ok(top_files(top, header, &ports, &wires, &insts, &tail))
    }

    pub(crate) fn eval(&mut self, sum: i64) -> u32 {
        let (s, no) = (self.p.s as u32, self.p.no() as u32);
        let y = self.core.eval(widen(sum as u64 & mask(s), s, self.x));
        (y & mask(no)) as u32
    }
}
