//! Run-time widths to rust-hdl types, one block at a time.
//!
//! rust-hdl widths are const generics, so every block is instantiated for
//! each width set a request can produce. The tables (written by `build.rs`)
//! are keyed per *block*, not per MAC: a multiplier array per (W, T, R), an
//! accumulator per S, a requantizer core per X... (the keys of
//! `plan::Block::key`, collected from every top's plan) and the tops in
//! `top` compose them at run time. Compile cost is the sum of the blocks, not the
//! product of the widths. Each instance sits behind a small object-safe
//! trait that gives its Verilog and simulates it cycle by cycle.

use crate::acc::{AccCtl, CompAcc, EstTerms, OutAdd};
use crate::comp::rows::CompRows;
use crate::mul::CsaMul;
use crate::requant::{Requant, RequantParams};
use crate::HdlError;
use rust_hdl::prelude::*;

/// rust-hdl's Verilog for a block (after rust-hdl's own checks).
fn checked_verilog<B: Block>(uut: &B) -> Result<String, HdlError> {
    check_all(uut).map_err(|e| HdlError(format!("rust-hdl check failed: {e:?}")))?;
    Ok(generate_verilog_unchecked(uut))
}

/// A connected block instance.
pub struct Inst<B>(B);

impl<B: Block> Inst<B> {
    fn new(mut b: B) -> Self {
        b.connect_all();
        simulate(&mut b, 100);
        Inst(b)
    }
}

/// Passes between two clock levels and reads after the rising edge.
fn clock<B: Block>(b: &mut B, clk: impl Fn(&mut B, bool)) {
    clk(b, false);
    simulate(b, 100);
    clk(b, true);
    simulate(b, 100);
}

/// Common to every block instance.
pub trait BlockDyn: Send {
    /// rust-hdl's Verilog (one text, all modules, top named `top`).
    fn verilog(&self) -> Result<String, HdlError>;
}

/// [`CsaMul`]: `t = (a*b << G) + sum(x) + extra`.
pub trait MulDyn: BlockDyn {
    fn eval(&mut self, a: u64, b: u64, x: &[u64]) -> u64;
}

/// [`CompRows`]: `qw*est(a) + qa*est(w)` as rows (into `x`, R of them).
pub trait RowsDyn: BlockDyn {
    fn eval(&mut self, qw: u64, qa: u64, cw: u64, ca: u64, x: &mut [u64]);
}

/// [`AccCtl`]: one cycle with the T-bit term `d` (T = L + 1); returns
/// (out_valid, out_sum) after the edge, `out_sum = {out_hi, out_lo}`.
pub trait AccDyn: BlockDyn {
    fn cycle(&mut self, rst: bool, valid: bool, first: bool, last: bool, d: u64) -> (bool, u64);
}

/// [`EstTerms`]: (term, skip).
pub trait EstDyn: BlockDyn {
    fn eval(&mut self, qw: u64, qa: u64, cw: u64, ca: u64) -> (u64, bool);
}

/// [`CompAcc`]: one cycle; returns (cacc, live) after the edge.
pub trait CompAccDyn: BlockDyn {
    fn cycle(&mut self, rst: bool, valid: bool, first: bool, skip: bool, d: u64) -> (u64, bool);
}

/// [`OutAdd`]: the sum.
pub trait OutAddDyn: BlockDyn {
    fn eval(&mut self, acc: u64, comp: u64, valid: bool, live: bool) -> u64;
}

/// [`Requant`]: the core's X-bit output for an X-bit (sign-extended) input.
pub trait RequantDyn: BlockDyn {
    fn eval(&mut self, x: u64) -> u64;
}

macro_rules! block_dyn {
    ($ty:ident <$($g:ident),*>) => {
        impl<$(const $g: usize),*> BlockDyn for Inst<$ty<$($g),*>> {
            fn verilog(&self) -> Result<String, HdlError> {
                checked_verilog(&self.0)
            }
        }
    };
}

block_dyn!(CsaMul<W, T, R>);
block_dyn!(CompRows<W, C, T, N1, R>);
block_dyn!(AccCtl<S, L, K>);
block_dyn!(EstTerms<W, C, TW>);
block_dyn!(CompAcc<CA>);
block_dyn!(OutAdd<S>);
block_dyn!(Requant<X>);

impl<const W: usize, const T: usize, const R: usize> MulDyn for Inst<CsaMul<W, T, R>> {
    fn eval(&mut self, a: u64, b: u64, x: &[u64]) -> u64 {
        let u = &mut self.0;
        u.a.next = a.into();
        u.b.next = b.into();
        for (s, &v) in u.x.iter_mut().zip(x) {
            s.next = v.into();
        }
        simulate(u, 100);
        u.t.val().to_u64()
    }
}

impl<const W: usize, const C: usize, const T: usize, const N1: usize, const R: usize> RowsDyn
    for Inst<CompRows<W, C, T, N1, R>>
{
    fn eval(&mut self, qw: u64, qa: u64, cw: u64, ca: u64, x: &mut [u64]) {
        let u = &mut self.0;
        u.qw.next = qw.into();
        u.qa.next = qa.into();
        u.cw.next = cw.into();
        u.ca.next = ca.into();
        simulate(u, 100);
        for (o, s) in x.iter_mut().zip(&u.x) {
            *o = s.val().to_u64();
        }
    }
}

impl<const S: usize, const L: usize, const K: usize> AccDyn for Inst<AccCtl<S, L, K>> {
    fn cycle(&mut self, rst: bool, valid: bool, first: bool, last: bool, d: u64) -> (bool, u64) {
        let u = &mut self.0;
        u.rst.next = rst;
        u.valid.next = valid;
        u.first.next = first;
        u.last.next = last;
        u.dl.next = (d & crate::blocks::low_mask(L)).into();
        u.ds.next = (d >> L) & 1 == 1;
        clock(u, |u, l| u.clk.next = Clock::from(l));
        (
            u.out_valid.val(),
            (u.out_hi.val().to_u64() << L) | u.out_lo.val().to_u64(),
        )
    }
}

impl<const W: usize, const C: usize, const TW: usize> EstDyn for Inst<EstTerms<W, C, TW>> {
    fn eval(&mut self, qw: u64, qa: u64, cw: u64, ca: u64) -> (u64, bool) {
        let u = &mut self.0;
        u.qw.next = qw.into();
        u.qa.next = qa.into();
        u.cw.next = cw.into();
        u.ca.next = ca.into();
        simulate(u, 100);
        (u.term.val().to_u64(), u.skip.val())
    }
}

impl<const CA: usize> CompAccDyn for Inst<CompAcc<CA>> {
    fn cycle(&mut self, rst: bool, valid: bool, first: bool, skip: bool, d: u64) -> (u64, bool) {
        let u = &mut self.0;
        u.rst.next = rst;
        u.valid.next = valid;
        u.first.next = first;
        u.skip.next = skip;
        u.d.next = d.into();
        clock(u, |u, l| u.clk.next = Clock::from(l));
        (u.cacc.val().to_u64(), u.live.val())
    }
}

impl<const S: usize> OutAddDyn for Inst<OutAdd<S>> {
    fn eval(&mut self, acc: u64, comp: u64, valid: bool, live: bool) -> u64 {
        let u = &mut self.0;
        u.acc.next = acc.into();
        u.comp.next = comp.into();
        u.valid.next = valid;
        u.live.next = live;
        simulate(u, 100);
        u.sum.val().to_u64()
    }
}

impl<const X: usize> RequantDyn for Inst<Requant<X>> {
    fn eval(&mut self, x: u64) -> u64 {
        let u = &mut self.0;
        u.x.next = x.into();
        simulate(u, 100);
        u.y.val().to_u64()
    }
}

/// One accumulator instance, boxed (called per arm of the `(S, T)` table so
/// that the table's stack frame holds only a pointer per arm).
#[inline(never)]
fn acc_box<const S: usize, const L: usize, const K: usize>() -> Box<dyn AccDyn> {
    Box::new(Inst::new(AccCtl::<S, L, K>::default()))
}

fn none(what: &str, key: String) -> HdlError {
    HdlError(format!("no hardware instance of {what} for widths {key}"))
}

/// The multiplier array with R = `sup.len()` extra rows of supports `sup`
/// and their constant `extra`.
pub fn mul(w: u32, t: u32, g: u32, extra: i128, sup: &[u64]) -> Result<Box<dyn MulDyn>, HdlError> {
    let r = sup.len() as u32;
    gen::mul(w, t, r, g as usize, extra, sup)
        .ok_or_else(|| none("the multiplier array", format!("(W {w}, T {t}, R {r})")))
}

/// The fused compensation rows for M = `m`.
pub fn rows(w: u32, c: u32, t: u32, m: u32, z: bool) -> Result<Box<dyn RowsDyn>, HdlError> {
    gen::rows(w, c, t, m, z).ok_or_else(|| {
        none(
            "the compensation rows",
            format!("(W {w}, C {c}, T {t}, M {m})"),
        )
    })
}

/// The accumulator and control of S bits for a T-bit term.
pub fn acc(s: u32, t: u32) -> Result<Box<dyn AccDyn>, HdlError> {
    gen::acc(s, t).ok_or_else(|| none("the accumulator", format!("(S {s}, T {t})")))
}

/// The split compensation term.
pub fn est(w: u32, c: u32, tw: u32, m: u32, z: bool) -> Result<Box<dyn EstDyn>, HdlError> {
    gen::est(w, c, tw, m as usize, z)
        .ok_or_else(|| none("the compensation term", format!("(W {w}, C {c}, TW {tw})")))
}

/// The split compensation accumulator.
pub fn comp_acc(ca: u32) -> Result<Box<dyn CompAccDyn>, HdlError> {
    gen::comp_acc(ca).ok_or_else(|| none("the compensation accumulator", format!("(CA {ca})")))
}

/// The split output adder.
pub fn out_add(s: u32, g: u32) -> Result<Box<dyn OutAddDyn>, HdlError> {
    gen::out_add(s, g as usize).ok_or_else(|| none("the output adder", format!("(S {s})")))
}

/// The requantizer core.
pub fn requant(x: u32, p: &RequantParams) -> Result<Box<dyn RequantDyn>, HdlError> {
    gen::requant(x, p).ok_or_else(|| none("the requantizer", format!("(X {x})")))
}

#[allow(clippy::too_many_lines)]
mod gen {
    use super::*;
    include!(concat!(env!("OUT_DIR"), "/dispatch.rs"));
}
