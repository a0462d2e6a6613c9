//! The tops of spec 6.1 and 6.2 (`fxp_mac`, `fpec_mac` in each arch of
//! spec 6.4, `fpec_requant`) built from their [`crate::plan`]: each
//! instance's block instantiated through `dispatch` by kind, the top's
//! Verilog written from the plan around the blocks' rust-hdl Verilog
//! ([`crate::emit::top_files`]), and rust-sim evaluating the plan's nets in
//! order between the blocks' rust-hdl simulations. No top is wired here:
//! the wiring is the plan's. Also `Arch`'s parsing and printing.

use crate::dispatch::{self, AccDyn, CompAccDyn, EstDyn, MulDyn, OutAddDyn, RequantDyn, RowsDyn};
use crate::emit::{top_files, VerilogFile};
use crate::plan::{Block, Drive, NetId, TopPlan};
use crate::sim::{sext, MacIn, MacOut, MacSim};
use crate::{HdlError, MacConfig, RequantParams};

pub use crate::plan::Arch;

impl Arch {
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

/// An instantiated block, by kind.
enum SimBlock {
    Mul(Box<dyn MulDyn>),
    Rows(Box<dyn RowsDyn>),
    Acc(Box<dyn AccDyn>),
    Est(Box<dyn EstDyn>),
    CompAcc(Box<dyn CompAccDyn>),
    OutAdd(Box<dyn OutAddDyn>),
    Requant(Box<dyn RequantDyn>),
}

impl SimBlock {
    /// The rust-hdl instance of `b` (`rq`: the requantizer's parameters).
    fn new(b: &Block, rq: Option<&RequantParams>) -> Result<SimBlock, HdlError> {
        use crate::comp::rows;
        Ok(match *b {
            Block::Mul { w, t, g, rows_m } => SimBlock::Mul(match rows_m {
                None => dispatch::mul(w, t, g, 0, &[])?,
                Some(m) => dispatch::mul(w, t, g, rows::extra(w, m), &rows::supports(w, m))?,
            }),
            Block::Rows { w, c, t, m, z } => SimBlock::Rows(dispatch::rows(w, c, t, m, z)?),
            Block::Acc { s, t } => SimBlock::Acc(dispatch::acc(s, t)?),
            Block::Est { w, c, tw, m, z } => SimBlock::Est(dispatch::est(w, c, tw, m, z)?),
            Block::CompAcc { ca } => SimBlock::CompAcc(dispatch::comp_acc(ca)?),
            Block::OutAdd { s, g } => SimBlock::OutAdd(dispatch::out_add(s, g)?),
            Block::Requant { x } => {
                let p = rq.ok_or_else(|| {
                    HdlError("internal: a requantizer core without its parameters".into())
                })?;
                SimBlock::Requant(dispatch::requant(x, p)?)
            }
        })
    }

    fn verilog(&self) -> Result<String, HdlError> {
        match self {
            SimBlock::Mul(b) => b.verilog(),
            SimBlock::Rows(b) => b.verilog(),
            SimBlock::Acc(b) => b.verilog(),
            SimBlock::Est(b) => b.verilog(),
            SimBlock::CompAcc(b) => b.verilog(),
            SimBlock::OutAdd(b) => b.verilog(),
            SimBlock::Requant(b) => b.verilog(),
        }
    }
}

/// One instance in rust-sim: its block, its port map flattened in the order
/// of [`crate::plan::Kind::ports`] (an array's nets last), and a buffer for
/// its array.
struct Live {
    blk: SimBlock,
    slots: Vec<NetId>,
    buf: Vec<u64>,
}

impl Live {
    /// Reads the instance's inputs from `v`, evaluates (or clocks) it and
    /// writes its outputs into `v`. Slots follow the port tables of
    /// `plan` (checked by this module's tests).
    fn eval(&mut self, v: &mut [u64]) {
        let s = &self.slots;
        let bit = |k: usize| v[s[k]] != 0;
        match &mut self.blk {
            // a, b, t, x..
            SimBlock::Mul(m) => {
                for (o, &n) in self.buf.iter_mut().zip(&s[3..]) {
                    *o = v[n];
                }
                v[s[2]] = m.eval(v[s[0]], v[s[1]], &self.buf);
            }
            // qw, qa, cw, ca, x..
            SimBlock::Rows(r) => {
                r.eval(v[s[0]], v[s[1]], v[s[2]], v[s[3]], &mut self.buf);
                for (&n, &x) in s[4..].iter().zip(&self.buf) {
                    v[n] = x;
                }
            }
            // clk, rst, valid, first, last, d, out_valid, sum
            SimBlock::Acc(a) => {
                let (ov, sum) = a.cycle(bit(1), bit(2), bit(3), bit(4), v[s[5]]);
                v[s[6]] = ov as u64;
                v[s[7]] = sum;
            }
            // qw, qa, cw, ca, term, skip
            SimBlock::Est(e) => {
                let (term, skip) = e.eval(v[s[0]], v[s[1]], v[s[2]], v[s[3]]);
                v[s[4]] = term;
                v[s[5]] = skip as u64;
            }
            // clk, rst, valid, first, skip, d, cacc, live
            SimBlock::CompAcc(c) => {
                let (cacc, live) = c.cycle(bit(1), bit(2), bit(3), bit(4), v[s[5]]);
                v[s[6]] = cacc;
                v[s[7]] = live as u64;
            }
            // acc, comp, valid, live, sum
            SimBlock::OutAdd(o) => v[s[4]] = o.eval(v[s[0]], v[s[1]], bit(2), bit(3)),
            // x, y
            SimBlock::Requant(q) => v[s[1]] = q.eval(v[s[0]]),
        }
    }
}

/// One step of rust-sim: a net computed from another, or an instance.
#[derive(Debug, Clone, Copy)]
enum Step {
    Slice {
        net: NetId,
        of: NetId,
        lo: u32,
        mask: u64,
    },
    Sext {
        net: NetId,
        of: NetId,
        from: u32,
        to: u32,
    },
    Copy {
        net: NetId,
        of: NetId,
    },
    Inst(usize),
}

/// A top built from its plan: the blocks instantiated, the nets' values and
/// the order that evaluates them (all allocated once).
pub(crate) struct Top {
    plan: TopPlan,
    insts: Vec<Live>,
    steps: Vec<Step>,
    vals: Vec<u64>,
}

impl Top {
    fn new(plan: TopPlan, rq: Option<&RequantParams>) -> Result<Top, HdlError> {
        plan.check()
            .map_err(|e| HdlError(format!("internal: a top's plan: {e}")))?;
        let mut insts = Vec::with_capacity(plan.insts.len());
        for i in &plan.insts {
            insts.push(Live {
                blk: SimBlock::new(&i.block, rq)?,
                slots: i.conns.iter().flatten().copied().collect(),
                buf: vec![0; i.block.array_len() as usize],
            });
        }
        // The nets are in dependency order (checked): an instance runs
        // where its first output is.
        let mut steps = Vec::new();
        let mut done = vec![false; plan.insts.len()];
        for (net, n) in plan.nets.iter().enumerate() {
            match n.drive {
                Drive::Input | Drive::Unused { .. } => {}
                Drive::Inst(k) if !done[k] => {
                    done[k] = true;
                    steps.push(Step::Inst(k));
                }
                Drive::Inst(_) => {}
                Drive::Slice { of, lo, hi } => steps.push(Step::Slice {
                    net,
                    of,
                    lo,
                    mask: mask(hi - lo + 1),
                }),
                Drive::Sext(of) => steps.push(Step::Sext {
                    net,
                    of,
                    from: plan.nets[of].width,
                    to: n.width,
                }),
                Drive::Alias(of) => steps.push(Step::Copy { net, of }),
            }
        }
        let vals = vec![0; plan.nets.len()];
        Ok(Top {
            plan,
            insts,
            steps,
            vals,
        })
    }

    /// The net of port `name` (an internal error if the plan has none).
    fn port(&self, name: &str) -> Result<NetId, HdlError> {
        self.plan
            .port(name)
            .ok_or_else(|| HdlError(format!("internal: a top without port {name}")))
    }

    /// Evaluates every net from the inputs in `vals` (clocking the
    /// sequential blocks once).
    fn step(&mut self) {
        let v = &mut self.vals;
        for st in &self.steps {
            match *st {
                Step::Slice { net, of, lo, mask } => v[net] = (v[of] >> lo) & mask,
                Step::Sext { net, of, from, to } => v[net] = widen(v[of], from, to),
                Step::Copy { net, of } => v[net] = v[of],
                Step::Inst(k) => self.insts[k].eval(v),
            }
        }
    }

    /// The Verilog files, leaves first, top module `top` last.
    fn files(&self, top: &str, header: &str) -> Result<Vec<VerilogFile>, HdlError> {
        let verilog = self
            .insts
            .iter()
            .map(|i| i.blk.verilog())
            .collect::<Result<Vec<_>, _>>()?;
        top_files(&self.plan, &verilog, top, header)
    }
}

/// A MAC top: its [`Top`] and the nets of its ports (spec 6.1).
pub(crate) struct Mac {
    top: Top,
    io: [NetId; 8],
    n: u32,
    s: u32,
}

impl Mac {
    /// Instantiates the blocks of `cfg`'s plan.
    pub(crate) fn new(cfg: &MacConfig) -> Result<Mac, HdlError> {
        let x = cfg.widths()?;
        let top = Top::new(crate::plan::plan(&x, cfg.arch), None)?;
        let mut io = [0; 8];
        for (slot, name) in io.iter_mut().zip([
            "rst",
            "in_valid",
            "in_first",
            "in_last",
            "w",
            "a",
            "out_valid",
            "out_sum",
        ]) {
            *slot = top.port(name)?;
        }
        Ok(Mac {
            top,
            io,
            n: x.n,
            s: x.s,
        })
    }

    /// The Verilog files, leaves first, top last.
    pub(crate) fn files(&self, top: &str, header: &str) -> Result<Vec<VerilogFile>, HdlError> {
        self.top.files(top, header)
    }
}

impl MacSim for Mac {
    fn cycle(&mut self, i: &MacIn) -> MacOut {
        let [rst, valid, first, last, w, a, out_valid, out_sum] = self.io;
        let v = &mut self.top.vals;
        v[rst] = i.rst as u64;
        v[valid] = i.in_valid as u64;
        v[first] = i.in_first as u64;
        v[last] = i.in_last as u64;
        v[w] = i.w as u64 & mask(self.n);
        v[a] = i.a as u64 & mask(self.n);
        self.top.step();
        let v = &self.top.vals;
        MacOut {
            out_valid: v[out_valid] != 0,
            out_sum: sext(v[out_sum], self.s as usize),
        }
    }
}

/// The requantizer top (spec 6.2).
pub(crate) struct RequantTop {
    top: Top,
    sum: NetId,
    word: NetId,
    s: u32,
}

impl RequantTop {
    pub(crate) fn new(p: &RequantParams) -> Result<RequantTop, HdlError> {
        let (s, no) = (p.s as u32, p.no() as u32);
        let top = Top::new(crate::plan::plan_requant(s, no), Some(p))?;
        Ok(RequantTop {
            sum: top.port("sum")?,
            word: top.port("word")?,
            top,
            s,
        })
    }

    pub(crate) fn files(&self, top: &str, header: &str) -> Result<Vec<VerilogFile>, HdlError> {
        self.top.files(top, header)
    }

    pub(crate) fn eval(&mut self, sum: i64) -> u32 {
        self.top.vals[self.sum] = sum as u64 & mask(self.s);
        self.top.step();
        self.top.vals[self.word] as u32
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::Kind;

    /// `Live::eval` reads its slots in the order of the port tables.
    #[test]
    fn port_tables_are_in_the_order_rust_sim_reads() {
        let names = |k: Kind| k.ports().iter().map(|p| p.name).collect::<Vec<_>>();
        assert_eq!(names(Kind::Mul), ["a", "b", "t", "x"]);
        assert_eq!(names(Kind::Rows), ["qw", "qa", "cw", "ca", "x"]);
        assert_eq!(
            names(Kind::Acc),
            [
                "clk",
                "rst",
                "valid",
                "first",
                "last",
                "d",
                "out_valid",
                "sum"
            ]
        );
        assert_eq!(names(Kind::Est), ["qw", "qa", "cw", "ca", "term", "skip"]);
        assert_eq!(
            names(Kind::CompAcc),
            ["clk", "rst", "valid", "first", "skip", "d", "cacc", "live"]
        );
        assert_eq!(names(Kind::OutAdd), ["acc", "comp", "valid", "live", "sum"]);
        assert_eq!(names(Kind::Requant), ["x", "y"]);
    }
}
