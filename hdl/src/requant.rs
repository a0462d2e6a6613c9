//! `fpec_requant` (spec 5 and 6.2): combinational conversion of an S-bit
//! `sum` into an output word `FPEC(Wo, FBo, Mo, Zo, To)` or `FxP(Wo, FBo)`,
//! with the shift k = F_in - FBo, ReLU, Mo, Zo and To fixed at generation.
//!
//! Datapath (the core [`Requant`]), all in X = max(S + 1, No) bits (S + 1 holds `s + 2^(k-1)`):
//! `t = sext(relu(s)) + H` with `H = 2^(k'-1)` and `k' = min(k, S)` (for k > S
//! every sum rounds to q = 0 and shifting by S gives the same q and
//! residual); `q0 = t >>> k'` (k <= 0: `q0 = s << -k`); the residual
//! `r = (t mod 2^k') - H`; edb = r > 0; |r| against constant thresholds for
//! emb and ezb (computed from the true k); saturation by signed comparison
//! of t with constant limits, which selects the clamped word.

use crate::blocks::bits_of;
use rust_hdl::prelude::*;

/// Generation-time parameters of a requantizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequantParams {
    /// Input width S.
    pub s: usize,
    /// k = F_in - FBo.
    pub k: i32,
    /// ReLU first.
    pub relu: bool,
    /// Wo.
    pub wo: usize,
    /// Mo (0..=2), ignored when `fxp`.
    pub mo: usize,
    /// Zo, ignored when `fxp`.
    pub zo: bool,
    /// To (0..=32).
    pub to: u32,
    /// FxP output (no compensation bits).
    pub fxp: bool,
}

impl RequantParams {
    /// Co.
    pub fn co(&self) -> usize {
        if self.fxp {
            0
        } else {
            self.zo as usize + 1 + self.mo
        }
    }
    /// No = Wo + Co.
    pub fn no(&self) -> usize {
        self.wo + self.co()
    }
}

/// The core of `fpec_requant`, in X = max(S + 1, NO) bits: the top level
/// wires the S-bit sum in sign-extended and takes the output word from the
/// low NO bits of `y` (the rest are copies of the sign or zero whenever
/// selected), so one core serves every (S, NO) with the same X.
#[derive(LogicBlock)]
pub struct Requant<const X: usize> {
    /// The dot-product sum, sign-extended to X bits.
    pub x: Signal<In, Bits<X>>,
    /// The output word in the low NO bits.
    pub y: Signal<Out, Bits<X>>,
    neg_in: Signal<Local, Bit>,
    s_relu: Signal<Local, Bits<X>>,
    t: Signal<Local, Bits<X>>,
    t_neg: Signal<Local, Bit>,
    shr: Signal<Local, Bits<X>>,
    q0: Signal<Local, Bits<X>>,
    qsh: Signal<Local, Bits<X>>,
    lo: Signal<Local, Bits<X>>,
    ge_h: Signal<Local, Bit>,
    r_pos: Signal<Local, Bits<X>>,
    r_neg: Signal<Local, Bits<X>>,
    absr: Signal<Local, Bits<X>>,
    ge1: Signal<Local, Bit>,
    ge2: Signal<Local, Bit>,
    ge3: Signal<Local, Bit>,
    c_edb: Signal<Local, Bits<X>>,
    c_ezb: Signal<Local, Bits<X>>,
    c_e0: Signal<Local, Bits<X>>,
    c_e1: Signal<Local, Bits<X>>,
    comp1: Signal<Local, Bits<X>>,
    comp2: Signal<Local, Bits<X>>,
    comp3: Signal<Local, Bits<X>>,
    wide: Signal<Local, Bits<X>>,
    tflip: Signal<Local, Bits<X>>,
    sat_pos: Signal<Local, Bit>,
    sat_neg: Signal<Local, Bit>,
    chosen: Signal<Local, Bits<X>>,
    half: Signal<Local, Bit>,
    // Generation-time constants.
    relu: Constant<Bit>,
    up: Constant<Bit>,
    zero_x: Constant<Bits<X>>,
    sign_x: Constant<Bits<X>>,
    h: Constant<Bits<X>>,
    ksh: Constant<Bits<8>>,
    kup: Constant<Bits<8>>,
    fill: Constant<Bits<X>>,
    lowmask: Constant<Bits<X>>,
    th1: Constant<Bits<X>>,
    th2: Constant<Bits<X>>,
    th3: Constant<Bits<X>>,
    tz: Constant<Bits<X>>,
    ezb_all: Constant<Bit>,
    half_ok: Constant<Bit>,
    half_lim: Constant<Bits<X>>,
    can_pos: Constant<Bit>,
    can_neg: Constant<Bit>,
    m_edb: Constant<Bits<X>>,
    m_ezb: Constant<Bits<X>>,
    m_e0: Constant<Bits<X>>,
    m_e1: Constant<Bits<X>>,
    hi_lim: Constant<Bits<X>>,
    lo_lim: Constant<Bits<X>>,
    sat_pos_word: Constant<Bits<X>>,
    sat_neg_word: Constant<Bits<X>>,
}

/// The constants of a requantizer for `p` at X bits, fixed at generation
/// (thresholds, saturation limits and words, masks); limits that compare
/// through [`Requant`]'s sign flip are stored flipped.
struct Consts {
    up: bool,
    h: i128,
    keff: i128,
    kup: i128,
    fill: i128,
    lowmask: i128,
    th: [i128; 3],
    tz: i128,
    ezb_all: bool,
    half_ok: bool,
    half_lim: i128,
    can_pos: bool,
    can_neg: bool,
    m_edb: i128,
    m_ezb: i128,
    m_e0: i128,
    m_e1: i128,
    hi_lim: i128,
    lo_lim: i128,
    sat_pos_word: i128,
    sat_neg_word: i128,
}

impl Consts {
    fn of(p: &RequantParams, x_bits: u32) -> Consts {
        let k = p.k as i128;
        let s = p.s as i128;
        let xmax = (1i128 << (x_bits - 1)) - 1;
        let xmin = -(1i128 << (x_bits - 1));
        let (qmin, qmax) = (-(1i128 << (p.wo - 1)), (1i128 << (p.wo - 1)) - 1);
        let (mo, co) = (if p.fxp { 0 } else { p.mo as i128 }, p.co() as i128);
        let up = k <= 0;
        let keff = if up { 0 } else { k.min(s) };
        let h = if up { 0 } else { 1i128 << (keff - 1) };
        // Thresholds on |r| from the true k: |r| * 2^(Mo+1) >= j * 2^k and
        // |r| * 64 <= To * 2^k. For k <= 0 the residual is 0.
        let cap = (1i128 << x_bits) - 1;
        let pow2k = |extra: i128| -> Option<i128> {
            // 2^(k + extra) as an integer when it is one and fits below 2^100.
            let e = k + extra;
            if (0..100).contains(&e) {
                Some(1i128 << e)
            } else {
                None
            }
        };
        let th = |j: i128| -> i128 {
            // ceil(j * 2^k / 2^(Mo+1)) capped to an unreachable value.
            if up {
                return cap;
            }
            let e = k - (mo + 1);
            let v = if e >= 0 {
                pow2k(-(mo + 1)).map_or(cap, |p| j * p)
            } else {
                (j + (1 << -e) - 1) >> -e
            };
            v.min(cap)
        };
        let tz = if up {
            p.to as i128
        } else {
            // floor(To * 2^k / 64)
            let e = k - 6;
            let v = if e >= 0 {
                pow2k(-6).map_or(cap, |pw| p.to as i128 * pw)
            } else {
                (p.to as i128) >> -e
            };
            v.min(cap)
        };
        // Saturation limits on t (signed, X bits).
        let (hi_lim, lo_lim) = if up {
            let sh = -k;
            let hi = if sh >= 100 { 0 } else { qmax >> sh }; // floor
            let lo = if sh >= 100 { 0 } else { -((-qmin) >> sh) }; // ceil of negative
            (hi.min(xmax), lo.max(xmin))
        } else {
            (
                (((qmax + 1) << keff) - 1).min(xmax),
                (qmin << keff).max(xmin),
            )
        };
        let flip = |v: i128| v ^ (1i128 << (x_bits - 1));
        // Comparisons whose result is fixed at generation are replaced by a
        // constant flag (a constant comparison is a lint error in Verilator).
        let can_pos = hi_lim < xmax;
        // Positive saturation at exactly y = qmax + 1/2 has |e| = 1/2, which is
        // "zero" for To = 32 (|e| * 64 <= To): then ezb is set.
        let half_ok = can_pos && !up && !p.fxp && p.zo && p.to >= 32;
        let half_lim = if half_ok { hi_lim + 1 } else { 0 };
        let can_neg = lo_lim > xmin;
        let (hi_lim, lo_lim) = (
            if can_pos { hi_lim } else { 0 },
            if can_neg { lo_lim } else { 0 },
        );
        let ezb_all = tz >= cap;
        let tz = if ezb_all { 0 } else { tz };
        let emb_max = if mo > 0 { (1i128 << mo) - 1 } else { 0 };
        let sat_pos_word = (qmax << co) | if p.fxp { 0 } else { (1 << mo) | emb_max };
        let sat_neg_word = (qmin << co) | emb_max;
        let ones_x = (1i128 << x_bits) - 1;
        Consts {
            up,
            h,
            keff,
            kup: if up { (co - k).min(255) } else { co },
            fill: ones_x ^ (ones_x >> keff),
            lowmask: (1i128 << keff) - 1,
            th: [
                if mo >= 1 { th(1) } else { cap },
                if mo >= 2 { th(2) } else { cap },
                if mo >= 2 { th(3) } else { cap },
            ],
            tz,
            ezb_all,
            half_ok,
            half_lim: flip(half_lim),
            can_pos,
            can_neg,
            m_edb: if p.fxp { 0 } else { 1i128 << mo },
            m_ezb: if !p.fxp && p.zo { 1i128 << (mo + 1) } else { 0 },
            m_e0: if mo >= 1 { 1 } else { 0 },
            m_e1: if mo >= 2 { 2 } else { 0 },
            hi_lim: flip(hi_lim),
            lo_lim: flip(lo_lim),
            sat_pos_word,
            sat_neg_word,
        }
    }
}

impl<const X: usize> Requant<X> {
    /// Builds the requantizer for `p` (X == max(p.s + 1, p.no())).
    pub fn new(p: &RequantParams) -> Self {
        assert!(X == (p.s + 1).max(p.no()) && X <= 64);
        let c = Consts::of(p, X as u32);
        Self {
            x: Default::default(),
            y: Default::default(),
            neg_in: Default::default(),
            s_relu: Default::default(),
            t: Default::default(),
            t_neg: Default::default(),
            shr: Default::default(),
            q0: Default::default(),
            qsh: Default::default(),
            lo: Default::default(),
            ge_h: Default::default(),
            r_pos: Default::default(),
            r_neg: Default::default(),
            absr: Default::default(),
            ge1: Default::default(),
            ge2: Default::default(),
            ge3: Default::default(),
            c_edb: Default::default(),
            c_ezb: Default::default(),
            c_e0: Default::default(),
            c_e1: Default::default(),
            comp1: Default::default(),
            comp2: Default::default(),
            comp3: Default::default(),
            wide: Default::default(),
            tflip: Default::default(),
            sat_pos: Default::default(),
            sat_neg: Default::default(),
            chosen: Default::default(),
            half: Default::default(),
            relu: Constant::new(p.relu),
            up: Constant::new(c.up),
            zero_x: Constant::new(Bits::default()),
            sign_x: Constant::new(bits_of(1i128 << (X - 1))),
            h: Constant::new(bits_of(c.h)),
            ksh: Constant::new(bits_of(c.keff)),
            kup: Constant::new(bits_of(c.kup)),
            fill: Constant::new(bits_of(c.fill)),
            lowmask: Constant::new(bits_of(c.lowmask)),
            th1: Constant::new(bits_of(c.th[0])),
            th2: Constant::new(bits_of(c.th[1])),
            th3: Constant::new(bits_of(c.th[2])),
            tz: Constant::new(bits_of(c.tz)),
            ezb_all: Constant::new(c.ezb_all),
            half_ok: Constant::new(c.half_ok),
            half_lim: Constant::new(bits_of(c.half_lim)),
            can_pos: Constant::new(c.can_pos),
            can_neg: Constant::new(c.can_neg),
            m_edb: Constant::new(bits_of(c.m_edb)),
            m_ezb: Constant::new(bits_of(c.m_ezb)),
            m_e0: Constant::new(bits_of(c.m_e0)),
            m_e1: Constant::new(bits_of(c.m_e1)),
            hi_lim: Constant::new(bits_of(c.hi_lim)),
            lo_lim: Constant::new(bits_of(c.lo_lim)),
            sat_pos_word: Constant::new(bits_of(c.sat_pos_word)),
            sat_neg_word: Constant::new(bits_of(c.sat_neg_word)),
        }
    }
}

impl<const X: usize> Logic for Requant<X> {
    #[hdl_gen]
    fn update(&mut self) {
        // ReLU.
        self.neg_in.next = (self.x.val() & self.sign_x.val()).any();
        self.s_relu.next = self.x.val();
        if self.relu.val() & self.neg_in.val() {
            self.s_relu.next = self.zero_x.val();
        }
        // Round half up: t = s + H, q0 = t >>> k'.
        self.t.next = self.s_relu.val() + self.h.val();
        self.t_neg.next = (self.t.val() & self.sign_x.val()).any();
        self.shr.next = self.t.val() >> self.ksh.val();
        self.q0.next = self.shr.val();
        if self.t_neg.val() {
            self.q0.next = self.shr.val() | self.fill.val();
        }
        // Residual r = (t mod 2^k') - H and its magnitude.
        self.lo.next = self.t.val() & self.lowmask.val();
        // r = lo - H lies in (-2^k', 2^k') and k' < X, so its sign bit is exact.
        self.r_pos.next = self.lo.val() - self.h.val();
        self.ge_h.next = !(self.r_pos.val() & self.sign_x.val()).any();
        self.r_neg.next = self.h.val() - self.lo.val();
        self.absr.next = self.r_neg.val();
        if self.ge_h.val() {
            self.absr.next = self.r_pos.val();
        }
        self.ge1.next = self.absr.val() >= self.th1.val();
        self.ge2.next = self.absr.val() >= self.th2.val();
        self.ge3.next = self.absr.val() >= self.th3.val();
        // Compensation fields.
        self.c_edb.next = self.zero_x.val();
        if self.ge_h.val() & self.r_pos.val().any() {
            self.c_edb.next = self.m_edb.val();
        }
        self.c_ezb.next = self.zero_x.val();
        if (self.absr.val() <= self.tz.val()) | self.ezb_all.val() {
            self.c_ezb.next = self.m_ezb.val();
        }
        self.c_e1.next = self.zero_x.val();
        if self.ge2.val() {
            self.c_e1.next = self.m_e1.val();
        }
        self.c_e0.next = self.zero_x.val();
        if (self.ge1.val() & !self.ge2.val()) | self.ge3.val() {
            self.c_e0.next = self.m_e0.val();
        }
        self.comp1.next = self.c_edb.val() | self.c_ezb.val();
        self.comp2.next = self.comp1.val() | self.c_e1.val();
        self.comp3.next = self.comp2.val() | self.c_e0.val();
        // q into place: q0 << Co (k <= 0: s << (Co - k)).
        self.qsh.next = self.q0.val() << self.kup.val();
        if self.up.val() {
            self.qsh.next = self.s_relu.val() << self.kup.val();
        }
        self.wide.next = self.qsh.val() | self.comp3.val();
        // Saturation: signed compare of t with the limits (sign bit flipped).
        self.tflip.next = self.t.val() ^ self.sign_x.val();
        self.sat_pos.next = (self.tflip.val() > self.hi_lim.val()) & self.can_pos.val();
        self.sat_neg.next = (self.tflip.val() < self.lo_lim.val()) & self.can_neg.val();
        self.chosen.next = self.wide.val();
        self.half.next = (self.tflip.val() == self.half_lim.val()) & self.half_ok.val();
        if self.sat_pos.val() {
            self.chosen.next = self.sat_pos_word.val();
            if self.half.val() {
                self.chosen.next = self.sat_pos_word.val() | self.m_ezb.val();
            }
        }
        if self.sat_neg.val() {
            self.chosen.next = self.sat_neg_word.val();
        }
        self.y.next = self.chosen.val();
    }
}
