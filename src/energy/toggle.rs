//! Gate-level toggle counting: the synthesized netlist rewritten with one
//! net per wire, simulated with zero delay (Verilator) or unit delay
//! (Icarus, glitches counted), its sums checked against the golden model.

use super::{skipped_share, Toggles, Workload, GLITCH_TEMPLATE, HARNESS_TEMPLATE};
use crate::format::Split;
use crate::golden::{self, Operand};
use crate::synth::{self, Bit, Design, Netlist};
use crate::util::{usage, write_atomic};
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn net_name(b: Bit) -> String {
    match b {
        Bit::Net(n) => format!("n{n}"),
        Bit::Const('1') => "1'b1".to_string(),
        Bit::Const(_) => "1'b0".to_string(),
    }
}

fn pin(c: &synth::Cell, p: &str) -> Result<String> {
    let bits = c
        .conns
        .get(p)
        .with_context(|| format!("cell {} ({}) has no pin {p}", c.name, c.ty))?;
    if bits.len() != 1 {
        bail!(
            "cell {} ({}): pin {p} is {} bits wide",
            c.name,
            c.ty,
            bits.len()
        );
    }
    Ok(net_name(bits[0]))
}

/// Rewrites the netlist as Verilog with one net per wire and an output port
/// `cell_y` (bit i = output of cell i). Ports keep their names and widths.
pub fn instrumented_verilog(net: &Netlist, module: &str) -> Result<String> {
    instrumented_verilog_with(net, module, false)
}

/// Every net a port or cell touches.
fn netlist_nets(net: &Netlist) -> BTreeSet<u64> {
    let port_bits = net.ports.iter().flat_map(|p| p.bits.iter());
    let cell_bits = net.cells.iter().flat_map(|c| c.conns.values().flatten());
    port_bits
        .chain(cell_bits)
        .filter_map(|b| match b {
            Bit::Net(n) => Some(*n),
            Bit::Const(_) => None,
        })
        .collect()
}

/// The expression of a combinational Yosys generic gate, None for other cells.
fn gate_expr(c: &synth::Cell) -> Result<Option<String>> {
    let a = || pin(c, "A");
    let b = || pin(c, "B");
    // `~((A in B) out (C in D))`: AOI4 and OAI4.
    let four = |inner: &str, outer: &str| -> Result<String> {
        let (pa, pb, pc, pd) = (a()?, b()?, pin(c, "C")?, pin(c, "D")?);
        Ok(format!(
            "~(({pa} {inner} {pb}) {outer} ({pc} {inner} {pd}))"
        ))
    };
    Ok(match c.ty.as_str() {
        "$_NOT_" => Some(format!("~{}", a()?)),
        "$_BUF_" => Some(a()?),
        "$_AND_" => Some(format!("{} & {}", a()?, b()?)),
        "$_NAND_" => Some(format!("~({} & {})", a()?, b()?)),
        "$_OR_" => Some(format!("{} | {}", a()?, b()?)),
        "$_NOR_" => Some(format!("~({} | {})", a()?, b()?)),
        "$_XOR_" => Some(format!("{} ^ {}", a()?, b()?)),
        "$_XNOR_" => Some(format!("~({} ^ {})", a()?, b()?)),
        "$_ANDNOT_" => Some(format!("{} & ~{}", a()?, b()?)),
        "$_ORNOT_" => Some(format!("{} | ~{}", a()?, b()?)),
        "$_MUX_" => Some(format!("{} ? {} : {}", pin(c, "S")?, b()?, a()?)),
        "$_NMUX_" => Some(format!("~({} ? {} : {})", pin(c, "S")?, b()?, a()?)),
        "$_AOI3_" => Some(format!("~(({} & {}) | {})", a()?, b()?, pin(c, "C")?)),
        "$_OAI3_" => Some(format!("~(({} | {}) & {})", a()?, b()?, pin(c, "C")?)),
        "$_AOI4_" => Some(four("&", "|")?),
        "$_OAI4_" => Some(four("|", "&")?),
        _ => None,
    })
}

/// The `always` statement of a `$_DFF_*` flop, with its Q net.
fn flop_stmt(c: &synth::Cell) -> Result<(String, u64)> {
    let q = pin(c, "Q")?;
    let d = pin(c, "D")?;
    let clk = pin(c, "C")?;
    let qn = match c.conns.get("Q").map(|b| b[0]) {
        Some(Bit::Net(n)) => n,
        _ => bail!("flop {} drives a constant", c.name),
    };
    let edge = |ch: u8| if ch == b'P' { "posedge" } else { "negedge" };
    let tb = c.ty.as_bytes();
    let stmt = match c.ty.as_str() {
        "$_DFF_P_" | "$_DFF_N_" => {
            format!("  always @({} {clk}) {q} <= {d};", edge(tb[6]))
        }
        "$_DFF_PP0_" | "$_DFF_PP1_" | "$_DFF_PN0_" | "$_DFF_PN1_" | "$_DFF_NP0_"
        | "$_DFF_NP1_" | "$_DFF_NN0_" | "$_DFF_NN1_" => {
            let r = pin(c, "R")?;
            let active = if tb[7] == b'P' { r.clone() } else { format!("!{r}") };
            format!(
                "  always @({} {clk} or {} {r}) if ({active}) {q} <= 1'b{}; else {q} <= {d};",
                edge(tb[6]),
                edge(tb[7]),
                tb[8] as char
            )
        }
        t => bail!(
            "cannot simulate cell type {t} (cell {}): only Yosys generic gates and $_DFF_* flops are supported",
            c.name
        ),
    };
    Ok((stmt, qn))
}

/// The cells as Verilog statements (`delay` on every gate): the body, each
/// cell's output net in cell order, and the nets flops drive.
fn cell_statements(net: &Netlist, delay: &str) -> Result<(String, Vec<String>, BTreeSet<u64>)> {
    let mut body = String::new();
    let mut ys = Vec::with_capacity(net.cells.len());
    let mut flop_q = BTreeSet::new();
    for c in &net.cells {
        if let Some(e) = gate_expr(c)? {
            let yn = pin(c, "Y")?;
            writeln!(body, "  assign {delay}{yn} = {e};")?;
            ys.push(yn);
            continue;
        }
        let (stmt, qn) = flop_stmt(c)?;
        writeln!(body, "{stmt}")?;
        flop_q.insert(qn);
        ys.push(pin(c, "Q")?);
    }
    Ok((body, ys, flop_q))
}

/// The module header and the port declarations (`cell_y` of `ncp` bits
/// unless `unit_delay`).
fn module_header(net: &Netlist, module: &str, unit_delay: bool, ncp: usize) -> Result<String> {
    let mut v = String::new();
    writeln!(
        v,
        "// Instrumented gate-level netlist for toggle counting (fpec energy)."
    )?;
    writeln!(v, "/* verilator lint_off UNOPTFLAT */")?;
    let mut plist: Vec<String> = net.ports.iter().map(|p| p.name.clone()).collect();
    if !unit_delay {
        plist.push("cell_y".to_string());
    }
    writeln!(v, "module {module}({});", plist.join(", "))?;
    for p in &net.ports {
        let dir = match p.dir.as_str() {
            "input" => "input",
            "output" => "output",
            d => bail!(
                "port {} has direction {d}; only input/output are supported",
                p.name
            ),
        };
        if p.bits.len() == 1 {
            writeln!(v, "  {dir} wire {};", p.name)?;
        } else {
            writeln!(v, "  {dir} wire [{}:0] {};", p.bits.len() - 1, p.name)?;
        }
    }
    if !unit_delay {
        writeln!(v, "  output wire [{}:0] cell_y;", ncp - 1)?;
    }
    Ok(v)
}

/// Every net declared (`reg` when a flop drives it) and tied to its port bit.
fn net_declarations(net: &Netlist, flop_q: &BTreeSet<u64>, v: &mut String) -> Result<()> {
    for n in &netlist_nets(net) {
        if flop_q.contains(n) {
            writeln!(v, "  reg n{n};")?;
        } else {
            writeln!(v, "  wire n{n};")?;
        }
    }
    for p in &net.ports {
        for (i, b) in p.bits.iter().enumerate() {
            let sel = if p.bits.len() == 1 {
                p.name.clone()
            } else {
                format!("{}[{i}]", p.name)
            };
            match (p.dir.as_str(), b) {
                ("input", Bit::Net(n)) => writeln!(v, "  assign n{n} = {sel};")?,
                ("input", _) => {}
                (_, b) => writeln!(v, "  assign {sel} = {};", net_name(*b))?,
            }
        }
    }
    Ok(())
}

/// [`instrumented_verilog`], optionally with a unit delay (`#1`) on every
/// combinational cell (for the Icarus glitch simulation).
pub fn instrumented_verilog_with(net: &Netlist, module: &str, unit_delay: bool) -> Result<String> {
    let delay = if unit_delay { "#1 " } else { "" };
    let ncp = net.cells.len().max(65);
    let mut v = module_header(net, module, unit_delay, ncp)?;
    let (body, mut ys, flop_q) = cell_statements(net, delay)?;
    net_declarations(net, &flop_q, &mut v)?;
    v.push_str(&body);
    if unit_delay {
        // Icarus: one counter per cell output, each woken by that net only
        // (a wide `cell_y` would wake every counter on every event).
        writeln!(v, "  reg counting = 1'b0;")?;
        writeln!(v, "  integer cnt [0:{}];", ys.len().max(1) - 1)?;
        for (i, y) in ys.iter().enumerate() {
            if y.starts_with('n') {
                writeln!(v, "  always @({y}) if (counting) cnt[{i}] = cnt[{i}] + 1;")?;
            }
        }
        writeln!(v, "endmodule")?;
        return Ok(v);
    }
    while ys.len() < ncp {
        ys.push("1'b0".to_string());
    }
    ys.reverse();
    writeln!(v, "  assign cell_y = {{{}}};", ys.join(", "))?;
    writeln!(v, "endmodule")?;
    Ok(v)
}

/// Builds the Verilator toggle simulator of a netlist in `dir`; returns the
/// executable.
pub fn build_simulator(net: &Netlist, dir: &Path) -> Result<PathBuf> {
    check_mac_ports(net)?;
    build_verilator_simulator(net, dir)
}

/// `dir/cells.txt`: one line `i type block name` per cell, the index the
/// simulators' `cell i n` lines refer to.
fn write_cells_txt(net: &Netlist, dir: &Path) -> Result<()> {
    let mut cells_txt = String::new();
    for (i, c) in net.cells.iter().enumerate() {
        writeln!(cells_txt, "{i} {} {} {}", c.ty, c.block, c.name)?;
    }
    write_atomic(&dir.join("cells.txt"), cells_txt.as_bytes())
}

/// The toggle simulators drive the MAC ports of spec 6.1.
fn check_mac_ports(net: &Netlist) -> Result<()> {
    for p in [
        "clk",
        "rst",
        "in_valid",
        "in_first",
        "in_last",
        "w",
        "a",
        "out_valid",
        "out_sum",
    ] {
        if net.port(p).is_none() {
            return Err(usage(format!(
                "--activity sim needs the MAC ports of spec 6.1; {} has no port `{p}`",
                net.top
            )));
        }
    }
    Ok(())
}

/// Writes `netlist_sim.v`, `harness.cpp` and `cells.txt` into `dir` (for
/// inspection) and returns the simulator, built by the toolchain's
/// Verilator driver in the one build cache: a second run on the same
/// netlist builds nothing.
fn build_verilator_simulator(net: &Netlist, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let module = "fpec_toggle_top";
    let v = instrumented_verilog(net, module)?;
    write_atomic(&dir.join("netlist_sim.v"), v.as_bytes())?;
    write_cells_txt(net, dir)?;
    let mut ctx = tera::Context::new();
    ctx.insert("top", module);
    ctx.insert("ncells", &net.cells.len());
    let cpp = crate::toolchain::render(
        "testbenches/toggle_harness.cpp.tera",
        HARNESS_TEMPLATE,
        &ctx,
    )?;
    write_atomic(&dir.join("harness.cpp"), cpp.as_bytes())?;
    let files = [dir.join("netlist_sim.v")];
    crate::toolchain::verilator::build_exe(
        &crate::toolchain::cache::cache_root(),
        &crate::toolchain::verilator::Build {
            top: module,
            files: &files,
            params: &Default::default(),
            harness: &cpp,
            prefix: &format!("V{module}"),
            profile: crate::toolchain::verilator::TOGGLE,
        },
    )
}

/// Writes the stimulus: 2 reset cycles, the dot products back to back
/// (counted), then `tail` idle cycles to drain the results.
pub fn stimulus(dots: &[Vec<(u32, u32)>], tail: u32) -> String {
    let mut s = String::new();
    for _ in 0..2 {
        s += "1 0 0 0 0 0 0\n";
    }
    for d in dots {
        for (i, &(w, a)) in d.iter().enumerate() {
            let first = (i == 0) as u8;
            let last = (i + 1 == d.len()) as u8;
            let _ = writeln!(s, "0 1 {first} {last} {w:x} {a:x} 1");
        }
    }
    for _ in 0..tail {
        s += "0 0 0 0 0 0 0\n";
    }
    s
}

/// Runs a built simulator on a stimulus.
pub fn run_simulator(exe: &Path, stim: &str, ncells: usize) -> Result<Toggles> {
    use std::io::Write;
    let mut child = crate::util::own_group(&mut Command::new(exe))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    let _guard = crate::util::ChildGuard::new(&child);
    {
        let mut stdin = child.stdin.take().context("simulator stdin")?;
        stdin.write_all(stim.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "toggle simulator {} failed ({}): {}",
            exe.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse_toggles(&String::from_utf8_lossy(&out.stdout), ncells)
}

/// Parses a toggle simulator's output (`cycles`, `macs`, `cell i n`, `sum HEX`).
fn parse_toggles(text: &str, ncells: usize) -> Result<Toggles> {
    let mut t = Toggles {
        cycles: 0,
        macs: 0,
        per_cell: vec![0; ncells],
        sums: Vec::new(),
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["cycles", n] => t.cycles = n.parse()?,
            ["macs", n] => t.macs = n.parse()?,
            ["cell", i, n] => {
                let i: usize = i.parse()?;
                if i < ncells {
                    t.per_cell[i] = n.parse()?;
                }
            }
            ["sum", h] => t.sums.push(u64::from_str_radix(h, 16)?),
            _ => bail!("toggle simulator: unexpected output line {line:?}"),
        }
    }
    Ok(t)
}

/// Writes the unit-delay netlist and the Icarus harness into `dir`, compiles
/// them with `iverilog` and runs `vvp` on `stim`.
pub fn run_glitch_simulation(net: &Netlist, dir: &Path, stim: &str) -> Result<Toggles> {
    check_mac_ports(net)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let module = "fpec_toggle_top";
    let ncells = net.cells.len();
    let v = instrumented_verilog_with(net, module, true)?;
    write_atomic(&dir.join("netlist_glitch.v"), v.as_bytes())?;
    write_cells_txt(net, dir)?;
    let width = |p: &str| net.port(p).map_or(1, |x| x.bits.len());
    let mut ctx = tera::Context::new();
    ctx.insert("top", module);
    ctx.insert("ncells", &ncells.max(1));
    ctx.insert("nw", &width("w"));
    ctx.insert("ns", &width("out_sum"));
    // Longer than any combinational path (at most one unit per cell).
    ctx.insert("half", &(ncells + 16));
    let tb = crate::toolchain::render("testbenches/glitch_harness.v.tera", GLITCH_TEMPLATE, &ctx)?;
    write_atomic(&dir.join("glitch_tb.v"), tb.as_bytes())?;
    write_atomic(&dir.join("stimulus.txt"), stim.as_bytes())?;
    crate::toolchain::icarus::compile(
        "glitch_tb",
        &[dir.join("netlist_glitch.v"), dir.join("glitch_tb.v")],
        &dir.join("glitch.vvp"),
    )?;
    let text = crate::toolchain::icarus::simulate(
        Path::new("glitch.vvp"),
        &["+stim=stimulus.txt".to_string()],
        Some(dir),
    )?;
    parse_toggles(&text, ncells)
}

/// Checks the simulated sums against the golden model (when S <= 64).
fn check_sums(split: &Split, s: u32, dots: &[Vec<(u32, u32)>], sums: &[u64]) -> Result<()> {
    if sums.len() != dots.len() {
        bail!(
            "gate-level simulation produced {} results for {} dot products",
            sums.len(),
            dots.len()
        );
    }
    if s > 64 {
        return Ok(());
    }
    let want: Vec<i64> = dots
        .iter()
        .map(|d| {
            let w: Vec<Operand> = d.iter().map(|p| Operand::of_bits(split, p.0)).collect();
            let a: Vec<Operand> = d.iter().map(|p| Operand::of_bits(split, p.1)).collect();
            golden::dot(split.g(), &w, &a)
        })
        .collect();
    let got: Vec<Option<i64>> = sums
        .iter()
        .map(|&g| Some(crate::verify::check::sext(g, s)))
        .collect();
    let d = crate::verify::check::diff_sums(&want, &got, 1);
    if let Some((k, exp, got)) = d.first.first() {
        bail!(
            "gate-level netlist disagrees with the golden model on dot product {k}: expected {}, got {}",
            exp.map_or("nothing".into(), |v| v.to_string()),
            got.map_or("nothing".into(), |v| v.to_string())
        );
    }
    Ok(())
}

/// Simulates `net` (the synthesized design of `design`) on a workload and
/// counts toggles per cell: under Verilator with zero delay (`glitch`
/// false) or under Icarus with unit gate delays (`glitch` true).
pub fn simulate_toggles(
    design: &Design,
    net: &Netlist,
    work_dir: &Path,
    workload: &Workload,
    seed: u64,
    macs: usize,
    glitch: bool,
) -> Result<(Toggles, Option<f64>)> {
    let split = design.split.ok_or_else(|| {
        usage("--activity sim/glitch needs the word format of the design (--bits W+C for --rtl)")
    })?;
    let dots = workload.dot_products(&split, seed, macs)?;
    let stim = stimulus(&dots, design.latency.unwrap_or(1) + 2);
    let t = if glitch {
        run_glitch_simulation(net, work_dir, &stim)?
    } else {
        let exe = build_simulator(net, work_dir)?;
        write_atomic(&work_dir.join("stimulus.txt"), stim.as_bytes())?;
        run_simulator(&exe, &stim, net.cells.len())?
    };
    let s = match design.sum_width {
        Some(s) => s,
        None => net.port("out_sum").map_or(64, |p| p.bits.len() as u32),
    };
    check_sums(&split, s, &dots, &t.sums)?;
    Ok((t, skipped_share(&split, &dots)))
}
