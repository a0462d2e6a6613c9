//! The int8 convolution of the GEMM engine: a MAC layer (Conv with one
//! group, or Dense as a 1x1 conv of one pixel) whose activation and weight
//! lanes fit in bytes, run as a direct convolution over an NHWC byte image
//! with AVX-512 VNNI (`vpdpbusd`: 64 u8 x s8 products into i32 per
//! instruction) or, on other CPUs and in tests, a portable scalar loop over
//! the same bytes. Same integers as [`crate::golden::dot`]: every product and
//! partial sum is an exact i32.
//!
//! Lanes: per input channel an activation gives one or two bytes and a
//! weight one or two i8 lanes per *set*; the output is the sum over sets of
//! `2^shift` times the set's i32 dot product, minus the contribution of the
//! activation offsets (a per-output constant, [`Int8Conv`]'s `corr`, the
//! same combination taken over the bytes of the activation 0). The layouts
//! ([`LaneCode`]), each giving `Qw . Qa` (FxP) or
//! `Qw . (2^G Qa + Ea) + Ew . Qa` (FPEC) exactly:
//! - FxP, W <= 8: one byte `q + 2^(W-1)`, one set `[Qw]`.
//! - FPEC, W + G <= 8 (`q * 2^G + est` spans at most 256 values): bytes
//!   `[q * 2^G + est + off0, q + off1]`, one set `[Qw, Ew]`.
//! - FPEC, W <= 8, W + G > 8: bytes `[q + off0, est + off1]`, two sets:
//!   `[Qw, 0]` shifted by G and `[Ew, Qw]`.
//! - FxP, 9 <= W <= 15: the two bytes lo, hi of `u = q + 2^(W-1)`, weights
//!   split as `Qw = 256 wh + wl` (wl in -128..=127, wh in -64..=64), three
//!   sets: `[0, wh]` shifted by 16, `[wh, wl]` by 8, `[wl, 0]` by 0.
//!
//! Activation bytes are stored as `lane + off` (u8, in 0..=255), weights as
//! i8. Padding pixels hold the bytes of the encoding of 0.0 (spec 9),
//! channel padding (to a multiple of 4 lane bytes) holds 0 with weight 0.
//! Other formats (W = 16, FPEC with W > 8) give `None` from
//! [`Int8Conv::new`] and run on the float GEMM.

use crate::format::Split;

/// Output channels per block (one 512-bit vector of i32).
const OB: usize = 16;
/// Output positions per kernel tile.
const P: usize = 8;

thread_local! {
    /// The VNNI kernel's `[pos][channel]` sums, reused across layers and
    /// images of a thread (every value is written before it is read).
    static TMP: std::cell::RefCell<Vec<i32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// How an activation operand (q, est) becomes its lane bytes:
/// byte 0 = `((q << sh0) + e0 * est + off0) mod 256`,
/// byte 1 = `((c1 * q + e1 * est + off1) >> r1) mod 256` (when `lanes` = 2),
/// and how a weight (q, est) becomes the i8 lanes of each set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneCode {
    /// Activation bytes per channel (1 or 2).
    pub lanes: usize,
    pub sh0: u32,
    pub e0: i32,
    pub off0: i32,
    pub c1: i32,
    pub e1: i32,
    pub off1: i32,
    pub r1: u32,
    layout: Layout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// FxP W <= 8, one set.
    Fxp,
    /// FPEC W + G <= 8, one set.
    Fused,
    /// FPEC W <= 8, two sets (shift G, shift 0).
    Split { g: u32 },
    /// FxP 9..=15, three sets (shifts 16, 8, 0).
    Wide,
}

impl LaneCode {
    /// The byte layout of `split`, or `None` when none applies.
    pub fn of(split: &Split) -> Option<Self> {
        let w = split.w;
        let half = 1i32 << (w - 1);
        let base = LaneCode {
            lanes: 1,
            sh0: 0,
            e0: 0,
            off0: half,
            c1: 0,
            e1: 0,
            off1: 0,
            r1: 0,
            layout: Layout::Fxp,
        };
        if split.is_fxp() {
            return match w {
                ..=8 => Some(base),
                9..=15 => Some(LaneCode {
                    lanes: 2,
                    c1: 1,
                    off1: half,
                    r1: 8,
                    layout: Layout::Wide,
                    ..base
                }),
                _ => None,
            };
        }
        if w > 8 {
            return None;
        }
        let g = split.g();
        let est_max = (1i32 << (split.m() + 1)) - 1;
        let off0 = (half << g) + est_max;
        let max0 = off0 + ((half - 1) << g) + est_max;
        Some(if max0 <= 255 {
            LaneCode {
                lanes: 2,
                sh0: g,
                e0: 1,
                off0,
                c1: 1,
                off1: half,
                layout: Layout::Fused,
                ..base
            }
        } else {
            LaneCode {
                lanes: 2,
                e1: 1,
                off1: est_max,
                layout: Layout::Split { g },
                ..base
            }
        })
    }

    /// The lane bytes of an activation operand.
    #[inline]
    pub fn bytes(&self, q: i32, est: i32) -> [u8; 2] {
        [
            ((q << self.sh0) + self.e0 * est + self.off0) as u8,
            ((self.c1 * q + self.e1 * est + self.off1) >> self.r1) as u8,
        ]
    }

    /// The shift of set `s` (Split's first set is shifted by G).
    fn shift(&self, s: usize) -> u32 {
        match (self.layout, s) {
            (Layout::Split { g }, 0) => g,
            (Layout::Wide, 0) => 16,
            (Layout::Wide, 1) => 8,
            _ => 0,
        }
    }

    /// Sets per output.
    pub fn sets(&self) -> usize {
        match self.layout {
            Layout::Fxp | Layout::Fused => 1,
            Layout::Split { .. } => 2,
            Layout::Wide => 3,
        }
    }

    /// The i8 lanes of weight (q, est) in set `s`, or `None` when one does
    /// not fit.
    fn weight(&self, s: usize, q: i32, est: i32) -> Option<[i8; 2]> {
        let (wl, wh) = {
            let wl = ((q + 128) & 255) - 128;
            (wl, (q - wl) >> 8)
        };
        let v = match (self.layout, s) {
            (Layout::Fxp, _) => [q, 0],
            (Layout::Fused, _) => [q, est],
            (Layout::Split { .. }, 0) => [q, 0],
            (Layout::Split { .. }, _) => [est, q],
            (Layout::Wide, 0) => [0, wh],
            (Layout::Wide, 1) => [wh, wl],
            (Layout::Wide, _) => [wl, 0],
        };
        Some([i8::try_from(v[0]).ok()?, i8::try_from(v[1]).ok()?])
    }
}

/// One MAC layer laid out for the byte kernels.
#[derive(Debug, Clone)]
pub struct Int8Conv {
    /// The lane layout.
    pub code: LaneCode,
    /// Activation bytes per channel (1 or 2).
    pub lanes: usize,
    /// Input channels.
    pub c: usize,
    /// Lane bytes per pixel (c * lanes rounded up to a multiple of 4).
    pub cp: usize,
    /// Input height and width.
    pub h: usize,
    pub w: usize,
    /// Padding top and left; padded height and width.
    pub pt: usize,
    pub pl: usize,
    pub hp: usize,
    pub wp: usize,
    /// Kernel and stride (rows, columns).
    pub kh: usize,
    pub kw: usize,
    pub sy: usize,
    pub sx: usize,
    /// Output height, width, channels; kernel columns (sets x channels)
    /// and their blocks of `OB`.
    pub oh: usize,
    pub ow: usize,
    pub out_ch: usize,
    cols: usize,
    pub nob: usize,
    /// Weights `[ob][ky][kx][cp/4][OB][4]` (VNNI order), column
    /// `s * out_ch + o` for set s of output o.
    wpk: Vec<i8>,
    /// Weights `[col][ky][kx][cp]` (portable order).
    wflat: Vec<i8>,
    /// Per column: its weight lanes times the bytes of the activation 0.
    corr: Vec<i32>,
}

/// Geometry of a MAC layer: input [c, h, w], kernel, stride, pads
/// [top, left, bottom, right], output [out_ch, oh, ow].
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    pub input: [usize; 3],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub pads: [usize; 4],
    pub output: [usize; 3],
}

impl Int8Conv {
    /// Lays out a layer whose weights are given as lanes per (o, c, ky, kx)
    /// (`wq` = q, `we` = est; `we` unused for FxP), or `None` when no byte
    /// layout applies to `split`, a weight lane does not fit in i8 or a sum
    /// could leave i32.
    pub fn new(split: &Split, geo: Geometry, wq: &[i32], we: &[i32]) -> Option<Self> {
        let code = LaneCode::of(split)?;
        let lanes = code.lanes;
        let [c, h, w] = geo.input;
        let [out_ch, oh, ow] = geo.output;
        let [kh, kw] = geo.kernel;
        let cp = (c * lanes).div_ceil(4) * 4;
        let k = kh * kw * cp;
        // |sum| <= k * 255 * 128 must stay below 2^31.
        if (k as u64) * 255 * 128 >= 1 << 31 || out_ch == 0 {
            return None;
        }
        let cols = code.sets() * out_ch;
        let nob = cols.div_ceil(OB);
        let cq = cp / 4;
        let mut wflat = vec![0i8; cols * kh * kw * cp];
        let mut wpk = vec![0i8; nob * kh * kw * cq * OB * 4];
        let mut corr = vec![0i32; cols];
        let zero = code.bytes(0, 0);
        for s in 0..code.sets() {
            for o in 0..out_ch {
                let col = s * out_ch + o;
                for ci in 0..c {
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let src = ((o * c + ci) * kh + ky) * kw + kx;
                            let e = if split.is_fxp() { 0 } else { we[src] };
                            let v = code.weight(s, wq[src], e)?;
                            for l in 0..lanes {
                                let cl = ci * lanes + l;
                                wflat[((col * kh + ky) * kw + kx) * cp + cl] = v[l];
                                let (ob, j) = (col / OB, col % OB);
                                let q = cl / 4;
                                wpk[((((ob * kh + ky) * kw + kx) * cq + q) * OB + j) * 4
                                    + cl % 4] = v[l];
                                corr[col] += v[l] as i32 * zero[l] as i32;
                            }
                        }
                    }
                }
            }
        }
        Some(Int8Conv {
            code,
            lanes,
            c,
            cp,
            h,
            w,
            pt: geo.pads[0],
            pl: geo.pads[1],
            hp: h + geo.pads[0] + geo.pads[2],
            wp: w + geo.pads[1] + geo.pads[3],
            kh,
            kw,
            sy: geo.stride[0],
            sx: geo.stride[1],
            oh,
            ow,
            out_ch,
            cols,
            nob,
            wpk,
            wflat,
            corr,
        })
    }

    /// Bytes of the padded input image, with the slack the VNNI tile reads
    /// past the last position.
    pub fn buffer_len(&self) -> usize {
        self.hp * self.wp * self.cp + (P * self.sx + self.kw) * self.cp + 64
    }

    /// A padded input image holding `pad` (the lane bytes of 0.0) at every
    /// pixel; the caller writes the inside with [`Self::index`].
    pub fn new_buffer(&self, pad: [u8; 2]) -> Vec<u8> {
        let mut buf = vec![0u8; self.buffer_len()];
        let (pb, pr) = (self.hp - self.h - self.pt, self.wp - self.w - self.pl);
        let (c, l, cp) = (self.c, self.lanes, self.cp);
        let mut set = |y: usize, x: usize| {
            let at = (y * self.wp + x) * cp;
            for ci in 0..c {
                buf[at + ci * l] = pad[0];
                if l == 2 {
                    buf[at + ci * l + 1] = pad[1];
                }
            }
        };
        for y in 0..self.hp {
            if y < self.pt || y >= self.hp - pb {
                (0..self.wp).for_each(|x| set(y, x));
            } else {
                (0..self.pl).for_each(|x| set(y, x));
                (self.wp - pr..self.wp).for_each(|x| set(y, x));
            }
        }
        buf
    }

    /// Byte index of lane 0 of input element (channel, y, x).
    #[inline]
    pub fn index(&self, ch: usize, y: usize, x: usize) -> usize {
        ((y + self.pt) * self.wp + x + self.pl) * self.cp + ch * self.lanes
    }

    /// Output positions.
    pub fn npos(&self) -> usize {
        self.oh * self.ow
    }

    /// Whether this CPU runs the VNNI kernel.
    pub fn vnni_available() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vnni")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// The sums `[o][pos]` plus `bias[o]` of the image `buf`, by the VNNI
    /// kernel when `vnni` and the CPU has it, else by the portable loop.
    pub fn run(&self, buf: &[u8], vnni: bool, bias: &[i64]) -> Vec<i64> {
        assert!(buf.len() >= self.buffer_len(), "int8 buffer too short");
        let npos = self.npos();
        let obp = self.nob * OB;
        let sums = Vec::with_capacity(self.out_ch * npos);
        #[cfg(target_arch = "x86_64")]
        if vnni && Self::vnni_available() {
            return TMP.with(|t| {
                let mut tmp = t.borrow_mut();
                if tmp.len() < npos * obp {
                    tmp.resize(npos * obp, 0);
                }
                let tmp = &mut tmp[..npos * obp];
                // SAFETY: the CPU has AVX-512F and VNNI (checked); the
                // buffer holds `buffer_len()` bytes (asserted above), which
                // covers every read of the tiles, and `tmp` holds
                // npos x obp values.
                unsafe {
                    if self.nob.is_multiple_of(2) {
                        vnni::kernel::<2>(self, buf, tmp);
                    } else {
                        vnni::kernel::<1>(self, buf, tmp);
                    }
                }
                self.combine(|col, pos| tmp[pos * obp + col], bias, sums)
            });
        }
        let _ = vnni;
        let raw = self.run_portable(buf);
        self.combine(|col, pos| raw[col * npos + pos], bias, sums)
    }

    /// `sums[o][pos]` = sum over sets s of `2^shift(s)` x (raw(column of
    /// (s, o), pos) - its correction), plus `bias[o]`.
    #[inline(always)]
    fn combine(
        &self,
        raw: impl Fn(usize, usize) -> i32,
        bias: &[i64],
        mut sums: Vec<i64>,
    ) -> Vec<i64> {
        let npos = self.npos();
        let sets = self.code.sets();
        for (o, &b) in bias[..self.out_ch].iter().enumerate() {
            if sets == 1 {
                let corr = self.corr[o];
                sums.extend((0..npos).map(|pos| (raw(o, pos) - corr) as i64 + b));
                continue;
            }
            for pos in 0..npos {
                let mut v = b;
                for s in 0..sets {
                    let col = s * self.out_ch + o;
                    v += ((raw(col, pos) - self.corr[col]) as i64) << self.code.shift(s);
                }
                sums.push(v);
            }
        }
        sums
    }

    /// The portable kernel: one i32 dot product of lane bytes per column
    /// and position, `[col][pos]`.
    fn run_portable(&self, buf: &[u8]) -> Vec<i32> {
        let npos = self.npos();
        let kl = self.kw * self.cp;
        let mut raw = vec![0i32; self.cols * npos];
        for oy in 0..self.oh {
            for ox in 0..self.ow {
                let pos = oy * self.ow + ox;
                for col in 0..self.cols {
                    let mut acc = 0i32;
                    for ky in 0..self.kh {
                        let start = ((oy * self.sy + ky) * self.wp + ox * self.sx) * self.cp;
                        let a = &buf[start..start + kl];
                        let row = (col * self.kh + ky) * kl;
                        let wr = &self.wflat[row..row + kl];
                        acc += a
                            .iter()
                            .zip(wr)
                            .map(|(&x, &y)| x as i32 * y as i32)
                            .sum::<i32>();
                    }
                    raw[col * npos + pos] = acc;
                }
            }
        }
        raw
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::{Int8Conv, OB, P};
    use std::arch::x86_64::*;

    /// Tiles of [`P`] output positions of one row times `NB` channel
    /// blocks; every (ky, kx, 4-byte group) step loads `NB` weight vectors
    /// and broadcasts each position's 4 activation bytes.
    ///
    /// # Safety
    /// The CPU must have AVX-512F and AVX-512 VNNI; `buf` must hold
    /// `cv.buffer_len()` bytes and `out` `cv.npos() * cv.nob * OB` values.
    #[target_feature(enable = "avx512f,avx512vnni")]
    #[allow(clippy::needless_range_loop)] // p indexes the tile's accumulators and its input addresses alike
    pub unsafe fn kernel<const NB: usize>(cv: &Int8Conv, buf: &[u8], out: &mut [i32]) {
        let cq = cv.cp / 4;
        let obp = cv.nob * OB;
        let inp = buf.as_ptr();
        let wpk = cv.wpk.as_ptr();
        let step = cv.sx * cv.cp;
        for oy in 0..cv.oh {
            for ox0 in (0..cv.ow).step_by(P) {
                let np = P.min(cv.ow - ox0);
                for ob in (0..cv.nob).step_by(NB) {
                    let mut acc = [[_mm512_setzero_si512(); P]; NB];
                    for ky in 0..cv.kh {
                        let row = (oy * cv.sy + ky) * cv.wp;
                        for kx in 0..cv.kw {
                            let pix0 = (row + ox0 * cv.sx + kx) * cv.cp;
                            for q in 0..cq {
                                let mut wv = [_mm512_setzero_si512(); NB];
                                for (b, v) in wv.iter_mut().enumerate() {
                                    let at = (((ob + b) * cv.kh + ky) * cv.kw + kx) * cq + q;
                                    *v = _mm512_loadu_si512(wpk.add(at * OB * 4) as *const _);
                                }
                                let a0 = inp.add(pix0 + q * 4);
                                for p in 0..P {
                                    let a = _mm512_set1_epi32(std::ptr::read_unaligned(
                                        a0.add(p * step) as *const i32,
                                    ));
                                    for b in 0..NB {
                                        acc[b][p] = _mm512_dpbusd_epi32(acc[b][p], a, wv[b]);
                                    }
                                }
                            }
                        }
                    }
                    for (b, accb) in acc.iter().enumerate() {
                        for (p, v) in accb.iter().enumerate().take(np) {
                            let at = (oy * cv.ow + ox0 + p) * obp + (ob + b) * OB;
                            _mm512_storeu_si512(out.as_mut_ptr().add(at) as *mut _, *v);
                        }
                    }
                }
            }
        }
    }
}
