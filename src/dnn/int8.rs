//! The int8 convolution of the GEMM engine: a MAC layer (Conv with one
//! group, or Dense as a 1x1 conv of one pixel) whose activation and weight
//! lanes fit in bytes, run as a direct convolution over an NHWC byte image
//! with AVX-512 VNNI (`vpdpbusd`: 64 u8 x s8 products into i32 per
//! instruction) or, on other CPUs and in tests, a portable scalar loop over
//! the same bytes. Same integers as [`crate::golden::dot`]: every product and
//! partial sum is an exact i32.
//!
//! Lanes (as the float GEMM of [`crate::dnn::gquant`]): per input channel an
//! activation gives `[q]` (FxP) or `[q * 2^G + est, q]` (FPEC), a weight
//! `[q]` or `[q, est]`, so a dot product of lanes is
//! `Qw . (2^G Qa + Ea) + Ew . Qa`. Activation lanes are stored as
//! `lane + off` (u8, `off` per lane so every value is in 0..=255), weights as
//! i8; the offsets' contribution `sum_k w[k] * off[k]` is a per-output
//! constant ([`Int8Conv::corr`]) subtracted after the sum. Padding pixels
//! hold the lanes of the encoding of 0.0 (spec 9), channel padding (to a
//! multiple of 4 lane bytes) holds 0 with weight 0.
//!
//! Applies when W <= 8 and, for FPEC, W + G <= 8 (so `q * 2^G + est` spans
//! at most 256 values); [`Int8Conv::new`] returns `None` otherwise.

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

/// Offsets and ranges of the byte lanes of `split`, or `None` when a lane
/// does not fit in a byte.
fn lane_offsets(split: &Split) -> Option<[i32; 2]> {
    let w = split.w;
    if w > 8 {
        return None;
    }
    let half = 1i32 << (w - 1);
    if split.is_fxp() {
        return Some([half, 0]);
    }
    let g = split.g();
    let est_max = (1i32 << (split.m() + 1)) - 1;
    let off0 = (half << g) + est_max;
    let max0 = off0 + ((half - 1) << g) + est_max;
    (max0 <= 255).then_some([off0, half])
}

/// One MAC layer laid out for the byte kernels.
#[derive(Debug, Clone)]
pub struct Int8Conv {
    /// Lanes per channel (1 FxP, 2 FPEC).
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
    /// Output height, width, channels; channel blocks of [`OB`].
    pub oh: usize,
    pub ow: usize,
    pub out_ch: usize,
    pub nob: usize,
    /// Weights `[ob][ky][kx][cp/4][OB][4]` (VNNI order).
    wpk: Vec<i8>,
    /// Weights `[o][ky][kx][cp]` (portable order).
    wflat: Vec<i8>,
    /// Per output: sum of weight lanes times their activation offsets.
    pub corr: Vec<i32>,
    /// Activation lane offsets.
    pub off: [i32; 2],
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
    /// (`wq` = q, `we` = est; `we` unused for FxP), or `None` when the
    /// lanes do not fit in bytes or a sum could leave i32.
    pub fn new(split: &Split, geo: Geometry, wq: &[i32], we: &[i32]) -> Option<Self> {
        let off = lane_offsets(split)?;
        let lanes = if split.is_fxp() { 1 } else { 2 };
        let [c, h, w] = geo.input;
        let [out_ch, oh, ow] = geo.output;
        let [kh, kw] = geo.kernel;
        let cp = (c * lanes).div_ceil(4) * 4;
        let k = kh * kw * cp;
        // |sum| <= k * 255 * 128 must stay below 2^31.
        if (k as u64) * 255 * 128 >= 1 << 31 || out_ch == 0 {
            return None;
        }
        let nob = out_ch.div_ceil(OB);
        let cq = cp / 4;
        let mut wflat = vec![0i8; out_ch * kh * kw * cp];
        let mut wpk = vec![0i8; nob * kh * kw * cq * OB * 4];
        let mut corr = vec![0i32; out_ch];
        for o in 0..out_ch {
            for ci in 0..c {
                for ky in 0..kh {
                    for kx in 0..kw {
                        let src = ((o * c + ci) * kh + ky) * kw + kx;
                        for (l, &offl) in off.iter().enumerate().take(lanes) {
                            let v = if l == 0 { wq[src] } else { we[src] };
                            let v = i8::try_from(v).ok()?;
                            let cl = ci * lanes + l;
                            wflat[((o * kh + ky) * kw + kx) * cp + cl] = v;
                            let (ob, j) = (o / OB, o % OB);
                            let q = cl / 4;
                            wpk[((((ob * kh + ky) * kw + kx) * cq + q) * OB + j) * 4 + cl % 4] = v;
                            corr[o] += v as i32 * offl;
                        }
                    }
                }
            }
        }
        Some(Int8Conv {
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
            nob,
            wpk,
            wflat,
            corr,
            off,
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
        let mut sums = Vec::with_capacity(self.out_ch * npos);
        #[cfg(target_arch = "x86_64")]
        if vnni && Self::vnni_available() {
            let obp = self.nob * OB;
            return TMP.with(|t| {
                let mut tmp = t.borrow_mut();
                if tmp.len() < npos * obp {
                    tmp.resize(npos * obp, 0);
                }
                self.run_vnni(buf, bias, &mut tmp[..npos * obp], sums)
            });
        }
        let _ = vnni;
        sums.resize(self.out_ch * npos, 0);
        self.run_portable(buf, &mut sums);
        for (row, b) in sums.chunks_exact_mut(npos).zip(bias) {
            row.iter_mut().for_each(|s| *s += b);
        }
        sums
    }

    #[cfg(target_arch = "x86_64")]
    fn run_vnni(&self, buf: &[u8], bias: &[i64], tmp: &mut [i32], mut sums: Vec<i64>) -> Vec<i64> {
        let npos = self.npos();
        let obp = self.nob * OB;
        {
            let tmp = &mut *tmp;
            // SAFETY: the caller checked that the CPU has AVX-512F and VNNI;
            // the buffer holds `buffer_len()` bytes (asserted in `run`),
            // which covers every read of the tiles, and `tmp` holds
            // npos x obp values.
            unsafe {
                if self.nob.is_multiple_of(2) {
                    vnni::kernel::<2>(self, buf, tmp);
                } else {
                    vnni::kernel::<1>(self, buf, tmp);
                }
            }
        }
        for o in 0..self.out_ch {
            let (corr, b) = (self.corr[o], bias[o]);
            let col = &tmp[o..];
            for pos in 0..npos {
                sums.push((col[pos * obp] - corr) as i64 + b);
            }
        }
        sums
    }

    /// The portable kernel: one i32 dot product of lane bytes per output.
    fn run_portable(&self, buf: &[u8], sums: &mut [i64]) {
        let npos = self.npos();
        let kl = self.kw * self.cp;
        for oy in 0..self.oh {
            for ox in 0..self.ow {
                let pos = oy * self.ow + ox;
                for o in 0..self.out_ch {
                    let mut acc = 0i32;
                    for ky in 0..self.kh {
                        let start = ((oy * self.sy + ky) * self.wp + ox * self.sx) * self.cp;
                        let a = &buf[start..start + kl];
                        let wr = &self.wflat[(o * self.kh + ky) * kl..(o * self.kh + ky + 1) * kl];
                        acc += a
                            .iter()
                            .zip(wr)
                            .map(|(&x, &y)| x as i32 * y as i32)
                            .sum::<i32>();
                    }
                    sums[o * npos + pos] = (acc - self.corr[o]) as i64;
                }
            }
        }
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
