//! The wiring plan of every top, written once: [`plan`] gives the MAC tops
//! (`fxp_mac`; `fpec_mac` in each [`Arch`], spec 6.4) and [`plan_requant`]
//! the requantizer top (`fpec_requant`, spec 6.2), each a [`TopPlan`]: the
//! top's ports, its nets (each driven by a top input, a word slice, a sign
//! extension or an instance output) in dependency order, and its
//! instances (block kind, key widths, cost class, port-to-net map).
//!
//! Three readers, one description: `build.rs` takes the key sets of its
//! dispatch tables from the plans of every request; `top` writes each top's
//! Verilog from its plan and runs rust-sim by evaluating the plan's nets in
//! order between the blocks' rust-hdl simulations; `fpec gen` records each
//! instance's cost class in `manifest.json` for synthesis.
//!
//! This module owns the block ports as the tops see them ([`Kind::ports`],
//! rust-hdl's `x__K` array naming included), each block's cost class
//! ([`Kind::class`]) and the row count of the fused compensation rows
//! ([`row_count`], a key of two blocks). It is pure: `build.rs` includes it
//! (`#[path]`) beside `widths.rs`, so it names nothing of the crate but
//! `super::Widths`.
//!
//! - `fxp_mac`: `mul` (the array, no extra rows) -> `acc`.
//! - `fpec_mac`, `fused`: `rows` (the compensation term as rows) -> `mul`
//!   (the same array, those rows in its bit heap beside the partial
//!   products, the product shifted by G) -> `acc`, one accumulator of S bits.
//! - `fpec_mac`, `split`: `mul` -> `acc` (A bits); `est` (the term) ->
//!   `comp` (CA bits, not enabled on sparse pairs); `out` adds
//!   `(acc << G) + comp` when the result is valid.
//! - `fpec_requant`: the S-bit sum sign-extended into the X-bit `core`, the
//!   word from the core's low No bits.
//!
//! Every `acc` takes the term un-extended, as its low T-1 bits and its sign,
//! and gives the sum as `{out_hi, out_lo}` (see `crate::acc::AccCtl`).

use super::Widths;

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
}

/// Rows per term of the fused compensation rows (the first, and a second
/// for M >= 1).
pub const fn rows_per_term(m: u32) -> u32 {
    if m == 0 {
        1
    } else {
        2
    }
}

/// Output rows R of the fused compensation rows (the extra rows of the
/// multiplier array): two terms' rows and two carry-in rows.
pub const fn row_count(m: u32) -> u32 {
    2 * rows_per_term(m) + 2
}

/// Cost class of the top's own logic (and of anything no instance holds).
pub const TOP_CLASS: &str = "control";

/// Index of a net in [`TopPlan::nets`].
pub type NetId = usize;

/// Direction of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Input.
    In,
    /// Output.
    Out,
}

/// How a block port appears among the block's Verilog ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pins {
    /// One Verilog port of the same name.
    One,
    /// A rust-hdl array: ports `name__0`, `name__1`, ..., one net each.
    Array,
    /// One value as two Verilog ports: `lo` its low [`Block::split_at`]
    /// bits, `hi` the rest (a bit select when `hi_bit`).
    Split {
        /// The low part's port.
        lo: &'static str,
        /// The high part's port.
        hi: &'static str,
        /// The high part is one bit, written as a bit select.
        hi_bit: bool,
    },
}

/// A port of a block: its name in the port map, direction and Verilog pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSpec {
    /// Name (the rust-hdl field).
    pub name: &'static str,
    /// Direction.
    pub dir: Dir,
    /// Its Verilog ports.
    pub pins: Pins,
}

const fn port(name: &'static str, dir: Dir) -> PortSpec {
    PortSpec {
        name,
        dir,
        pins: Pins::One,
    }
}

const fn array(name: &'static str, dir: Dir) -> PortSpec {
    PortSpec {
        name,
        dir,
        pins: Pins::Array,
    }
}

use Dir::{In, Out};

/// `crate::mul::CsaMul`.
const MUL_PORTS: &[PortSpec] = &[port("a", In), port("b", In), port("t", Out), array("x", In)];
/// `crate::comp::rows::CompRows`.
const ROWS_PORTS: &[PortSpec] = &[
    port("qw", In),
    port("qa", In),
    port("cw", In),
    port("ca", In),
    array("x", Out),
];
/// `crate::acc::AccCtl`: the term `d` as `dl`/`ds`, the sum as `out_lo`/`out_hi`.
const ACC_PORTS: &[PortSpec] = &[
    port("clk", In),
    port("rst", In),
    port("valid", In),
    port("first", In),
    port("last", In),
    PortSpec {
        name: "d",
        dir: In,
        pins: Pins::Split {
            lo: "dl",
            hi: "ds",
            hi_bit: true,
        },
    },
    port("out_valid", Out),
    PortSpec {
        name: "sum",
        dir: Out,
        pins: Pins::Split {
            lo: "out_lo",
            hi: "out_hi",
            hi_bit: false,
        },
    },
];
/// `crate::acc::EstTerms`.
const EST_PORTS: &[PortSpec] = &[
    port("qw", In),
    port("qa", In),
    port("cw", In),
    port("ca", In),
    port("term", Out),
    port("skip", Out),
];
/// `crate::acc::CompAcc`.
const COMP_ACC_PORTS: &[PortSpec] = &[
    port("clk", In),
    port("rst", In),
    port("valid", In),
    port("first", In),
    port("skip", In),
    port("d", In),
    port("cacc", Out),
    port("live", Out),
];
/// `crate::acc::OutAdd`.
const OUT_ADD_PORTS: &[PortSpec] = &[
    port("acc", In),
    port("comp", In),
    port("valid", In),
    port("live", In),
    port("sum", Out),
];
/// `crate::requant::Requant`.
const REQUANT_PORTS: &[PortSpec] = &[port("x", In), port("y", Out)];

/// A kind of block (one dispatch table each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// The multiplier array (`crate::mul::CsaMul`).
    Mul,
    /// The fused compensation rows (`crate::comp::rows::CompRows`).
    Rows,
    /// The accumulator and control (`crate::acc::AccCtl`).
    Acc,
    /// The split compensation term (`crate::acc::EstTerms`).
    Est,
    /// The split compensation accumulator (`crate::acc::CompAcc`).
    CompAcc,
    /// The split output adder (`crate::acc::OutAdd`).
    OutAdd,
    /// The requantizer core (`crate::requant::Requant`).
    Requant,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 7] = [
        Kind::Mul,
        Kind::Rows,
        Kind::Acc,
        Kind::Est,
        Kind::CompAcc,
        Kind::OutAdd,
        Kind::Requant,
    ];
    /// The name of its dispatch table.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Mul => "mul",
            Kind::Rows => "rows",
            Kind::Acc => "acc",
            Kind::Est => "est",
            Kind::CompAcc => "comp_acc",
            Kind::OutAdd => "out_add",
            Kind::Requant => "requant",
        }
    }
    /// Its ports, in the order of the Verilog connections (an array last).
    pub const fn ports(self) -> &'static [PortSpec] {
        match self {
            Kind::Mul => MUL_PORTS,
            Kind::Rows => ROWS_PORTS,
            Kind::Acc => ACC_PORTS,
            Kind::Est => EST_PORTS,
            Kind::CompAcc => COMP_ACC_PORTS,
            Kind::OutAdd => OUT_ADD_PORTS,
            Kind::Requant => REQUANT_PORTS,
        }
    }
    /// Its cost class (the block of its cells in synthesis reports).
    pub const fn class(self) -> &'static str {
        match self {
            Kind::Mul => "multiplier",
            Kind::Rows | Kind::Est | Kind::CompAcc => "compensation",
            Kind::Acc => "accumulator",
            Kind::OutAdd => TOP_CLASS,
            Kind::Requant => "requantizer",
        }
    }
}

/// A block with the widths it is instantiated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// `t = (a*b << G) + rows + constant`; `rows_m`: the extra rows are the
    /// fused compensation rows for that M (none for FxP and split).
    Mul {
        /// W.
        w: u32,
        /// T (P without extra rows).
        t: u32,
        /// G (0 without extra rows).
        g: u32,
        /// M of the compensation rows added in the array, if any.
        rows_m: Option<u32>,
    },
    /// The fused compensation rows.
    Rows {
        /// W.
        w: u32,
        /// C.
        c: u32,
        /// T.
        t: u32,
        /// M.
        m: u32,
        /// Z.
        z: bool,
    },
    /// An accumulator of S bits for a T-bit term.
    Acc {
        /// S.
        s: u32,
        /// T.
        t: u32,
    },
    /// The split compensation term.
    Est {
        /// W.
        w: u32,
        /// C.
        c: u32,
        /// TW.
        tw: u32,
        /// M.
        m: u32,
        /// Z.
        z: bool,
    },
    /// The split compensation accumulator.
    CompAcc {
        /// CA.
        ca: u32,
    },
    /// The split output adder.
    OutAdd {
        /// S.
        s: u32,
        /// G.
        g: u32,
    },
    /// The requantizer core (its parameters come with the request).
    Requant {
        /// X = max(S + 1, No).
        x: u32,
    },
}

impl Block {
    /// Its kind.
    pub const fn kind(&self) -> Kind {
        match self {
            Block::Mul { .. } => Kind::Mul,
            Block::Rows { .. } => Kind::Rows,
            Block::Acc { .. } => Kind::Acc,
            Block::Est { .. } => Kind::Est,
            Block::CompAcc { .. } => Kind::CompAcc,
            Block::OutAdd { .. } => Kind::OutAdd,
            Block::Requant { .. } => Kind::Requant,
        }
    }
    /// The key of its dispatch table (the widths that pick the rust-hdl
    /// type): mul (W, T, R), rows (W, C, T, M), acc (S, T), est (W, C,
    /// TW), comp_acc (CA), out_add (S), requant (X).
    pub fn key(&self) -> Vec<u32> {
        match *self {
            Block::Mul { w, t, rows_m, .. } => vec![w, t, rows_m.map_or(0, row_count)],
            Block::Rows { w, c, t, m, .. } => vec![w, c, t, m],
            Block::Acc { s, t } => vec![s, t],
            Block::Est { w, c, tw, .. } => vec![w, c, tw],
            Block::CompAcc { ca } => vec![ca],
            Block::OutAdd { s, .. } => vec![s],
            Block::Requant { x } => vec![x],
        }
    }
    /// Where a [`Pins::Split`] port divides its value: the low T-1 bits of
    /// an accumulator's term and sum.
    pub const fn split_at(&self) -> u32 {
        match *self {
            Block::Acc { t, .. } => t - 1,
            _ => 0,
        }
    }
    /// Elements of its array port (the R extra rows), 0 without one.
    pub const fn array_len(&self) -> u32 {
        match *self {
            Block::Mul {
                rows_m: Some(m), ..
            }
            | Block::Rows { m, .. } => row_count(m),
            _ => 0,
        }
    }
}

/// What drives a net.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drive {
    /// A top input.
    Input,
    /// An output of instance `inst` (named in its port map).
    Inst(usize),
    /// Bits `hi..=lo` of a net.
    Slice {
        /// The sliced net.
        of: NetId,
        /// Highest bit.
        hi: u32,
        /// Lowest bit.
        lo: u32,
    },
    /// A net sign-extended to this net's width.
    Sext(NetId),
    /// The same value as a net.
    Alias(NetId),
    /// The XOR of bits `hi..=lo` of a net nobody else reads (a lint sink:
    /// Verilog only, rust-sim skips it).
    Unused {
        /// The net.
        of: NetId,
        /// Highest bit.
        hi: u32,
        /// Lowest bit.
        lo: u32,
    },
}

/// How a net is written in the top's Verilog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A port of the top (an output not driven by an instance is assigned
    /// after the instances).
    Port(Dir),
    /// A wire declared before the instances (a sink: after them).
    Wire,
    /// No declaration: its driver's expression is written where it is used.
    Inline,
}

/// A net of a top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Net {
    /// Verilog name (unused for [`Role::Inline`]).
    pub name: String,
    /// Width in bits.
    pub width: u32,
    /// Its driver.
    pub drive: Drive,
    /// Its declaration.
    pub role: Role,
}

/// An instance of a block in a top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Instance name; its module is `<top>__<name>`.
    pub name: &'static str,
    /// The block and its widths.
    pub block: Block,
    /// Per port of `block.kind().ports()`, in order: its net (one per
    /// element for an array).
    pub conns: Vec<Vec<NetId>>,
}

impl Instance {
    /// Its cost class.
    pub fn class(&self) -> &'static str {
        self.block.kind().class()
    }
}

/// The wiring of one top.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopPlan {
    /// The module's ports, in declaration order.
    pub ports: Vec<NetId>,
    /// Every net, each after the nets its driver reads (an instance's
    /// outputs after all its inputs).
    pub nets: Vec<Net>,
    /// The instances, in Verilog order.
    pub insts: Vec<Instance>,
}

impl TopPlan {
    fn net(&mut self, name: &str, width: u32, drive: Drive, role: Role) -> NetId {
        self.nets.push(Net {
            name: name.to_string(),
            width,
            drive,
            role,
        });
        self.nets.len() - 1
    }
    fn input(&mut self, name: &str, width: u32) -> NetId {
        let id = self.net(name, width, Drive::Input, Role::Port(Dir::In));
        self.ports.push(id);
        id
    }
    /// A net driven by the next instance (added by [`TopPlan::inst`]).
    fn out(&mut self, name: &str, width: u32, role: Role) -> NetId {
        let inst = self.insts.len();
        self.net(name, width, Drive::Inst(inst), role)
    }
    fn wire(&mut self, name: &str, width: u32, drive: Drive) -> NetId {
        self.net(name, width, drive, Role::Wire)
    }
    fn sext(&mut self, of: NetId, width: u32) -> NetId {
        self.net("", width, Drive::Sext(of), Role::Inline)
    }
    fn inst(&mut self, name: &'static str, block: Block, conns: Vec<Vec<NetId>>) {
        self.insts.push(Instance { name, block, conns });
    }
    /// The net of port `name`.
    pub fn port(&self, name: &str) -> Option<NetId> {
        self.ports
            .iter()
            .copied()
            .find(|&p| self.nets[p].name == name)
    }
    /// Each instance's name and cost class.
    pub fn classes(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.insts.iter().map(|i| (i.name, i.class()))
    }
}

/// The nets every MAC top shares: its inputs (spec 6.1).
struct MacInputs {
    clk: NetId,
    rst: NetId,
    valid: NetId,
    first: NetId,
    last: NetId,
    w: NetId,
    a: NetId,
}

fn mac_inputs(p: &mut TopPlan, n: u32) -> MacInputs {
    MacInputs {
        clk: p.input("clk", 1),
        rst: p.input("rst", 1),
        valid: p.input("in_valid", 1),
        first: p.input("in_first", 1),
        last: p.input("in_last", 1),
        w: p.input("w", n),
        a: p.input("a", n),
    }
}

/// The word slices q = word[N-1:C], comp bits = word[C-1:0]: (qw, cw, qa, ca).
fn word_slices(p: &mut TopPlan, i: &MacInputs, x: &Widths) -> [NetId; 4] {
    let (n, c) = (x.n, x.c);
    let mut v = [0; 4];
    for (k, (q, cb, word)) in [("qw", "cw", i.w), ("qa", "ca", i.a)]
        .into_iter()
        .enumerate()
    {
        v[2 * k] = p.wire(
            q,
            x.w,
            Drive::Slice {
                of: word,
                hi: n - 1,
                lo: c,
            },
        );
        v[2 * k + 1] = p.wire(
            cb,
            c,
            Drive::Slice {
                of: word,
                hi: c - 1,
                lo: 0,
            },
        );
    }
    v
}

/// The accumulator's port map: the term `d`, the result `valid`, `sum`.
fn acc_conns(i: &MacInputs, d: NetId, valid: NetId, sum: NetId) -> Vec<Vec<NetId>> {
    [i.clk, i.rst, i.valid, i.first, i.last, d, valid, sum]
        .map(|n| vec![n])
        .to_vec()
}

/// `fxp_mac`: `mul` -> `acc`.
fn plan_fxp(x: &Widths) -> TopPlan {
    let mut p = TopPlan::default();
    let i = mac_inputs(&mut p, x.n);
    let t = p.out("mul_t", x.p, Role::Wire);
    let mul = Block::Mul {
        w: x.w,
        t: x.p,
        g: 0,
        rows_m: None,
    };
    p.inst("mul", mul, vec![vec![i.w], vec![i.a], vec![t], vec![]]);
    let valid = p.out("out_valid", 1, Role::Port(Dir::Out));
    let sum = p.out("out_sum", x.s, Role::Port(Dir::Out));
    p.ports.extend([valid, sum]);
    let acc = Block::Acc { s: x.a, t: x.p };
    p.inst("acc", acc, acc_conns(&i, t, valid, sum));
    p
}

/// `fpec_mac`, fused: `rows` -> `mul` -> `acc`.
fn plan_fused(x: &Widths) -> TopPlan {
    let mut p = TopPlan::default();
    let i = mac_inputs(&mut p, x.n);
    let [qw, cw, qa, ca] = word_slices(&mut p, &i, x);
    let rows = Block::Rows {
        w: x.w,
        c: x.c,
        t: x.t,
        m: x.m,
        z: x.z,
    };
    let xs: Vec<NetId> = (0..rows.array_len())
        .map(|k| p.out(&format!("comp_x{k}"), x.t, Role::Wire))
        .collect();
    p.inst(
        "rows",
        rows,
        vec![vec![qw], vec![qa], vec![cw], vec![ca], xs.clone()],
    );
    let t = p.out("mul_t", x.t, Role::Wire);
    let mul = Block::Mul {
        w: x.w,
        t: x.t,
        g: x.g,
        rows_m: Some(x.m),
    };
    p.inst("mul", mul, vec![vec![qw], vec![qa], vec![t], xs]);
    let valid = p.out("out_valid", 1, Role::Port(Dir::Out));
    let sum = p.out("out_sum", x.s, Role::Port(Dir::Out));
    p.ports.extend([valid, sum]);
    let acc = Block::Acc { s: x.s, t: x.t };
    p.inst("acc", acc, acc_conns(&i, t, valid, sum));
    p
}

/// `fpec_mac`, split: `mul` -> `acc`; `est` -> `comp`; `out`.
fn plan_split(x: &Widths) -> TopPlan {
    let mut p = TopPlan::default();
    let i = mac_inputs(&mut p, x.n);
    let [qw, cw, qa, ca] = word_slices(&mut p, &i, x);
    let t = p.out("mul_t", x.p, Role::Wire);
    let mul = Block::Mul {
        w: x.w,
        t: x.p,
        g: 0,
        rows_m: None,
    };
    p.inst("mul", mul, vec![vec![qw], vec![qa], vec![t], vec![]]);
    let acc_valid = p.out("acc_valid", 1, Role::Wire);
    let acc_sum = p.out("acc_sum", x.a, Role::Wire);
    p.inst(
        "acc",
        Block::Acc { s: x.a, t: x.p },
        acc_conns(&i, t, acc_valid, acc_sum),
    );
    let term = p.out("est_term", x.tw, Role::Wire);
    let skip = p.out("est_skip", 1, Role::Wire);
    let est = Block::Est {
        w: x.w,
        c: x.c,
        tw: x.tw,
        m: x.m,
        z: x.z,
    };
    let conns = [qw, qa, cw, ca, term, skip].map(|n| vec![n]).to_vec();
    p.inst("est", est, conns);
    let d = p.sext(term, x.ca);
    let cacc = p.out("comp_cacc", x.ca, Role::Wire);
    let live = p.out("comp_live", 1, Role::Wire);
    let conns = [i.clk, i.rst, i.valid, i.first, skip, d, cacc, live]
        .map(|n| vec![n])
        .to_vec();
    p.inst("comp", Block::CompAcc { ca: x.ca }, conns);
    let acc_s = p.sext(acc_sum, x.s);
    let comp_s = p.sext(cacc, x.s);
    let sum = p.out("out_sum", x.s, Role::Port(Dir::Out));
    let conns = [acc_s, comp_s, acc_valid, live, sum]
        .map(|n| vec![n])
        .to_vec();
    p.inst("out", Block::OutAdd { s: x.s, g: x.g }, conns);
    let valid = p.net(
        "out_valid",
        1,
        Drive::Alias(acc_valid),
        Role::Port(Dir::Out),
    );
    p.ports.extend([valid, sum]);
    p
}

/// The plan of the MAC top for `x` (`arch` is ignored for FxP).
pub fn plan(x: &Widths, arch: Arch) -> TopPlan {
    match (x.fpec, arch) {
        (false, _) => plan_fxp(x),
        (true, Arch::Fused) => plan_fused(x),
        (true, Arch::Split) => plan_split(x),
    }
}

/// X, the requantizer core's width for an S-bit sum and an No-bit word.
pub fn requant_width(s: u32, no: u32) -> u32 {
    (s + 1).max(no)
}

/// The plan of the requantizer top: an S-bit `sum` to an No-bit `word`.
pub fn plan_requant(s: u32, no: u32) -> TopPlan {
    let x = requant_width(s, no);
    let mut p = TopPlan::default();
    let sum = p.input("sum", s);
    let xin = p.sext(sum, x);
    let y = p.out("core_y", x, Role::Wire);
    p.inst("core", Block::Requant { x }, vec![vec![xin], vec![y]]);
    let word = p.net(
        "word",
        no,
        Drive::Slice {
            of: y,
            hi: no - 1,
            lo: 0,
        },
        Role::Port(Dir::Out),
    );
    p.ports.push(word);
    if x > no {
        // Above the word: copies of its sign or zero whenever selected.
        p.wire(
            "unused_high",
            1,
            Drive::Unused {
                of: y,
                hi: x - 1,
                lo: no,
            },
        );
    }
    p
}

impl TopPlan {
    /// Checks the plan's shape: every port map matches its block's port
    /// table (one net per port, one per element of an array), every
    /// instance output is a net that instance drives, a split port's net is
    /// named, slices lie inside their nets, and every net comes after what
    /// its driver reads (an instance's outputs after all its inputs), so
    /// the nets can be evaluated in order.
    pub fn check(&self) -> Result<(), String> {
        let n = self.nets.len();
        for (id, net) in self.nets.iter().enumerate() {
            let before = |of: NetId| {
                if of < id {
                    Ok(&self.nets[of])
                } else {
                    Err(format!("net {} reads net {of}, not before it", net.name))
                }
            };
            match net.drive {
                Drive::Input | Drive::Inst(_) => {}
                Drive::Slice { of, hi, lo } | Drive::Unused { of, hi, lo } => {
                    let src = before(of)?;
                    if lo > hi || hi >= src.width {
                        return Err(format!(
                            "net {}: slice [{hi}:{lo}] of {} bits",
                            net.name, src.width
                        ));
                    }
                }
                Drive::Sext(of) | Drive::Alias(of) => {
                    before(of)?;
                }
            }
        }
        for p in &self.ports {
            if *p >= n || !matches!(self.nets[*p].role, Role::Port(_)) {
                return Err(format!("port {p} is not a port net"));
            }
        }
        for (k, inst) in self.insts.iter().enumerate() {
            self.check_inst(k, inst)?;
        }
        Ok(())
    }

    fn check_inst(&self, k: usize, inst: &Instance) -> Result<(), String> {
        let specs = inst.block.kind().ports();
        let what = |m: &str| format!("instance {}: {m}", inst.name);
        if specs.len() != inst.conns.len() {
            return Err(what("port map and port table differ in length"));
        }
        let (mut last_in, mut first_out) = (None::<NetId>, usize::MAX);
        for (spec, nets) in specs.iter().zip(&inst.conns) {
            let want = match spec.pins {
                Pins::Array => inst.block.array_len() as usize,
                _ => 1,
            };
            if nets.len() != want || nets.iter().any(|&id| id >= self.nets.len()) {
                return Err(what(&format!("port {} needs {want} net(s)", spec.name)));
            }
            for &id in nets {
                let net = &self.nets[id];
                if matches!(spec.pins, Pins::Split { .. }) && net.role == Role::Inline {
                    return Err(what(&format!("port {} needs a named net", spec.name)));
                }
                match spec.dir {
                    Dir::In => last_in = last_in.max(Some(id)),
                    Dir::Out if net.drive == Drive::Inst(k) && net.role != Role::Inline => {
                        first_out = first_out.min(id);
                    }
                    Dir::Out => {
                        return Err(what(&format!(
                            "output {} drives a net it does not own",
                            spec.name
                        )))
                    }
                }
            }
        }
        if last_in.is_some_and(|i| i > first_out) {
            return Err(what("an input comes after an output"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_plans() -> Vec<TopPlan> {
        let mut v = Vec::new();
        for w in [2, 5, 8, 16] {
            for l in [1, 4096, 65536] {
                v.push(plan(&crate::widths(w, 0, false, false, l), Arch::Fused));
                for m in 0..=2 {
                    for z in [false, true] {
                        let x = crate::widths(w, m, z, true, l);
                        v.extend(Arch::ALL.map(|a| plan(&x, a)));
                    }
                }
            }
        }
        for s in [4, 26, 40] {
            for no in [2, 8, 20, 41] {
                v.push(plan_requant(s, no));
            }
        }
        v
    }

    #[test]
    fn every_plan_is_well_formed() {
        for p in all_plans() {
            p.check().unwrap();
            // Every net an instance drives is in its port map.
            for (id, net) in p.nets.iter().enumerate() {
                if let Drive::Inst(k) = net.drive {
                    assert!(
                        p.insts[k].conns.iter().flatten().any(|&n| n == id),
                        "{}",
                        net.name
                    );
                }
            }
        }
    }

    #[test]
    fn mac_tops_have_the_ports_of_spec_6_1() {
        let x = crate::widths(6, 0, true, true, 4096);
        for arch in Arch::ALL {
            let p = plan(&x, arch);
            let names: Vec<&str> = p.ports.iter().map(|&i| p.nets[i].name.as_str()).collect();
            assert_eq!(
                names,
                [
                    "clk",
                    "rst",
                    "in_valid",
                    "in_first",
                    "in_last",
                    "w",
                    "a",
                    "out_valid",
                    "out_sum"
                ]
            );
            let sum = p.port("out_sum").unwrap();
            assert_eq!(p.nets[sum].width, x.s);
        }
    }

    #[test]
    fn classes_name_the_cost_blocks() {
        let x = crate::widths(6, 0, true, true, 4096);
        let split: Vec<_> = plan(&x, Arch::Split).classes().collect();
        assert_eq!(
            split,
            [
                ("mul", "multiplier"),
                ("acc", "accumulator"),
                ("est", "compensation"),
                ("comp", "compensation"),
                ("out", "control")
            ]
        );
        let fused: Vec<_> = plan(&x, Arch::Fused).classes().collect();
        assert_eq!(
            fused,
            [
                ("rows", "compensation"),
                ("mul", "multiplier"),
                ("acc", "accumulator")
            ]
        );
    }
}
