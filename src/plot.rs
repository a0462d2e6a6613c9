//! SVG charts: the one place in fpec that draws plots (`fpec flow`'s
//! `energy.svg`, `fpec dnn opt`'s `dnn-report.svg`, and `fpec report plot`,
//! which redraws either from its JSON report).
//!
//! It owns everything between data and SVG text: "nice" round ticks (1-2-5
//! steps on linear axes; 1-2-5 / 1-2-3-5 / ... mantissas on log axes),
//! the display unit of an energy axis (fJ, pJ, nJ, µJ, mJ: chosen from the
//! ticks so labels stay short), a conservative estimate of text width (no
//! font is read; widths are those of DejaVu Sans rounded up, the widest
//! common sans-serif fallback), a layout computed from those estimates
//! (margins from label lengths, the legend outside the plot area on the
//! right, long subtitles wrapped, the canvas grown to fit), point labels
//! placed where they cover no marker and no other label, and XML escaping of
//! all text. Output is deterministic: the same chart gives byte-identical
//! SVG. [`Chart::render`] also returns the [`Geometry`] it laid out (boxes of
//! every text, marker and the legend) so tests can check that nothing is
//! clipped or overlapping.

use std::fmt::Write as _;

/// Escapes text for SVG element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            _ => o.push(c),
        }
    }
    o
}

/// Estimated width in pixels of `s` at font size `size`: per-character
/// widths of DejaVu Sans rounded up (narrow punctuation 0.35 em, digits
/// 0.64 em, lower case 0.62 em, upper case 0.76 em, m/w/M/W 0.95 em), so
/// real text in any common sans-serif font is no wider.
pub fn text_width(s: &str, size: f64) -> f64 {
    let em: f64 = s
        .chars()
        .map(|c| match c {
            'i' | 'l' | 'j' | '.' | ',' | ':' | ';' | '!' | '|' | '\'' => 0.35,
            'f' | 't' | 'r' | 'I' | '(' | ')' | '[' | ']' | ' ' | '-' => 0.45,
            'm' | 'w' | 'M' | 'W' | '%' => 0.95,
            '0'..='9' => 0.64,
            c if c.is_ascii_uppercase() => 0.76,
            _ => 0.62,
        })
        .sum();
    em * size
}

/// The smallest 1, 2 or 5 x 10^k that is >= `raw` (> 0).
pub fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mut p = 10f64.powi(raw.log10().floor() as i32);
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * p >= raw * (1.0 - 1e-12) {
                return m * p;
            }
        }
        p *= 10.0;
    }
}

/// The next 1-2-5 step after `step`.
fn next_step(step: f64) -> f64 {
    nice_step(step * 1.000001)
}

/// Rounds away binary noise (7 * 0.1 = 0.7000000000000001) to 12
/// significant digits.
fn clean(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let mag = 10f64.powi(11 - v.abs().log10().floor() as i32);
    let r = (v * mag).round() / mag;
    if r.is_finite() {
        r
    } else {
        v
    }
}

/// Multiples of `step` from the largest <= `lo` to the smallest >= `hi`.
pub fn linear_ticks_with_step(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let a = (lo / step + 1e-9).floor() as i64;
    let b = (hi / step - 1e-9).ceil() as i64;
    (a..=b.max(a)).map(|k| clean(k as f64 * step)).collect()
}

/// Round ticks covering `[lo, hi]` (outward) with a 1-2-5 step: the
/// smallest step that needs at most `max_ticks` ticks.
pub fn linear_ticks(lo: f64, hi: f64, max_ticks: usize) -> Vec<f64> {
    let (lo, hi) = widen(lo, hi);
    let max_ticks = max_ticks.max(2);
    let mut step = nice_step((hi - lo) / (max_ticks - 1) as f64);
    loop {
        let t = linear_ticks_with_step(lo, hi, step);
        if t.len() <= max_ticks {
            return t;
        }
        step = next_step(step);
    }
}

/// Mantissa sets of log-axis ticks, densest first.
const LOG_SETS: [&[f64]; 5] = [
    &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0],
    &[1.0, 2.0, 3.0, 5.0],
    &[1.0, 2.0, 5.0],
    &[1.0],
];

/// Ticks of a log axis inside `[lo, hi]` (both > 0) with mantissas `set`.
fn log_ticks_with(lo: f64, hi: f64, set: &[f64]) -> Vec<f64> {
    let mut v = Vec::new();
    let k0 = lo.log10().floor() as i32;
    let k1 = hi.log10().ceil() as i32;
    for k in k0..=k1 {
        let p = 10f64.powi(k);
        for m in set {
            let t = clean(m * p);
            if t >= lo * (1.0 - 1e-9) && t <= hi * (1.0 + 1e-9) {
                v.push(t);
            }
        }
    }
    v
}

/// Round ticks inside `[lo, hi]` (> 0) of a log axis: the densest mantissa
/// set (1..9, 1-2-3-4-5-6-8, 1-2-3-5, 1-2-5, 1) giving at most `max_ticks`
/// ticks; powers of ten only when even those are too many.
pub fn log_ticks(lo: f64, hi: f64, max_ticks: usize) -> Vec<f64> {
    candidates_log(lo, hi)
        .into_iter()
        .find(|t| t.len() <= max_ticks.max(2))
        .unwrap_or_default()
}

fn candidates_log(lo: f64, hi: f64) -> Vec<Vec<f64>> {
    let (lo, hi) = if lo > 0.0 && hi > lo {
        (lo, hi)
    } else {
        (1.0, 10.0)
    };
    let mut c: Vec<Vec<f64>> = LOG_SETS.iter().map(|s| log_ticks_with(lo, hi, s)).collect();
    // Every 2nd, 5th, 10th... decade for very wide ranges.
    let decades = log_ticks_with(lo, hi, &[1.0]);
    for every in [2, 5, 10, 20, 50] {
        c.push(decades.iter().step_by(every).copied().collect());
    }
    c
}

/// A unit the values of an axis are shown in: displayed = value / `factor`.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Symbol shown in the axis title ("nJ"); empty for none.
    pub name: String,
    /// Size of one unit in the data's unit.
    pub factor: f64,
}

/// The unit for energies given in femtojoules whose largest tick is
/// `max_abs_fj`: the largest of fJ, pJ, nJ, µJ, mJ in which that tick is
/// >= 1 (so 7.2e5..1.1e6 fJ reads 0.7..1.1 nJ and 150..750 fJ stays fJ).
pub fn energy_unit(max_abs_fj: f64) -> Unit {
    let units = [
        ("fJ", 1.0),
        ("pJ", 1e3),
        ("nJ", 1e6),
        ("µJ", 1e9),
        ("mJ", 1e12),
    ];
    let mut pick = units[0];
    for u in units {
        if max_abs_fj >= u.1 * (1.0 - 1e-9) {
            pick = u;
        }
    }
    Unit {
        name: pick.0.to_string(),
        factor: pick.1,
    }
}

/// What the numbers of an axis are.
#[derive(Debug, Clone, PartialEq)]
pub enum Units {
    /// Plain numbers with a fixed unit shown in the title ("%"; "" for none).
    Fixed(String),
    /// Energies in femtojoules, shown in fJ..mJ (see [`energy_unit`]).
    EnergyFj,
}

/// One axis.
#[derive(Debug, Clone)]
pub struct Axis {
    /// Title ("energy per inference"); the unit is appended.
    pub label: String,
    /// Units of the data.
    pub units: Units,
    /// Logarithmic scale (values <= 0 are not drawn).
    pub log: bool,
    /// Linear axis only: the range includes 0.
    pub include_zero: bool,
    /// Linear axis only: integer data (ticks at integers, half a step of
    /// padding at both ends so markers are off the axis lines).
    pub integer: bool,
    /// Extra values the range must include (e.g. a reference accuracy).
    pub include: Vec<f64>,
}

impl Axis {
    /// A linear axis with plain units.
    pub fn linear(label: &str, unit: &str) -> Self {
        Axis {
            label: label.to_string(),
            units: Units::Fixed(unit.to_string()),
            log: false,
            include_zero: false,
            integer: false,
            include: Vec::new(),
        }
    }
    /// An energy axis (data in fJ).
    pub fn energy(label: &str, log: bool) -> Self {
        Axis {
            label: label.to_string(),
            units: Units::EnergyFj,
            log,
            include_zero: !log,
            integer: false,
            include: Vec::new(),
        }
    }
}

/// Marker shape of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Marker {
    /// Filled circle.
    Circle,
    /// Filled square.
    Square,
    /// Filled diamond.
    Diamond,
    /// Filled triangle.
    Triangle,
    /// Hollow circle drawn around a point (highlights points of other series).
    Ring,
    /// No marker (a line only).
    None,
}

impl Marker {
    /// Half the extent of the marker in pixels.
    fn radius(self) -> f64 {
        match self {
            Marker::Circle => 4.5,
            Marker::Square => 4.5,
            Marker::Diamond => 5.5,
            Marker::Triangle => 5.5,
            Marker::Ring => 8.0,
            Marker::None => 0.0,
        }
    }
}

/// Line style of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Line {
    /// Points only.
    None,
    /// Solid line through the points in the given order.
    Solid,
    /// Dashed line.
    Dashed,
}

/// One data point.
#[derive(Debug, Clone)]
pub struct Point {
    /// X in the axis' data units.
    pub x: f64,
    /// Y in the axis' data units.
    pub y: f64,
    /// Text drawn next to the point (placed clear of markers and labels).
    pub label: Option<String>,
    /// Tooltip (`<title>`).
    pub tip: Option<String>,
}

impl Point {
    /// A point without label or tooltip.
    pub fn new(x: f64, y: f64) -> Self {
        Point {
            x,
            y,
            label: None,
            tip: None,
        }
    }
    /// With a tooltip.
    pub fn tip(mut self, t: impl Into<String>) -> Self {
        self.tip = Some(t.into());
        self
    }
    /// With a label drawn next to it.
    pub fn label(mut self, l: impl Into<String>) -> Self {
        self.label = Some(l.into());
        self
    }
}

/// A named set of points drawn in one style.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// CSS colour.
    pub color: String,
    /// Marker shape.
    pub marker: Marker,
    /// Line through the points.
    pub line: Line,
    /// The points, in drawing (and line) order.
    pub points: Vec<Point>,
}

/// A horizontal reference line across the plot, named in the legend.
#[derive(Debug, Clone)]
pub struct HLine {
    /// Y value.
    pub y: f64,
    /// Legend text.
    pub name: String,
    /// CSS colour.
    pub color: String,
}

/// A chart: title, optional subtitle, two axes, series and reference lines.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Title (one line; the canvas widens to fit it).
    pub title: String,
    /// Subtitle, wrapped to the canvas width.
    pub subtitle: Option<String>,
    /// X axis.
    pub x: Axis,
    /// Y axis.
    pub y: Axis,
    /// Series, drawn in order.
    pub series: Vec<Series>,
    /// Horizontal reference lines.
    pub hlines: Vec<HLine>,
    /// Width of the plot area in pixels (the canvas adds margins and legend).
    pub plot_width: f64,
    /// Height of the plot area in pixels.
    pub plot_height: f64,
}

/// Ten distinct colours (the Tableau 10 palette).
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// An axis-aligned box (x0 <= x1, y0 <= y1), in canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    /// Left.
    pub x0: f64,
    /// Top.
    pub y0: f64,
    /// Right.
    pub x1: f64,
    /// Bottom.
    pub y1: f64,
}

impl BBox {
    /// True when the boxes share interior points.
    pub fn intersects(&self, o: &BBox) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
    /// True when `o` lies inside `self`.
    pub fn contains(&self, o: &BBox) -> bool {
        o.x0 >= self.x0 && o.x1 <= self.x1 && o.y0 >= self.y0 && o.y1 <= self.y1
    }
    fn around(x: f64, y: f64, r: f64) -> BBox {
        BBox {
            x0: x - r,
            y0: y - r,
            x1: x + r,
            y1: y + r,
        }
    }
}

/// What was laid out, for checks: canvas size and estimated boxes.
#[derive(Debug, Clone)]
pub struct Geometry {
    /// Canvas width.
    pub width: f64,
    /// Canvas height.
    pub height: f64,
    /// The plot area.
    pub plot: BBox,
    /// The legend box.
    pub legend: BBox,
    /// Every text element: (text, estimated box).
    pub texts: Vec<(String, BBox)>,
    /// Every data marker's box.
    pub markers: Vec<BBox>,
    /// Boxes of the point labels (also in `texts`).
    pub point_labels: Vec<BBox>,
}

/// An SVG document and its layout.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The SVG text.
    pub svg: String,
    /// Its geometry.
    pub geometry: Geometry,
}

const PAD: f64 = 12.0;
const TITLE_FS: f64 = 16.0;
const SUB_FS: f64 = 11.0;
const TICK_FS: f64 = 12.0;
const AXIS_FS: f64 = 13.0;
const LEGEND_FS: f64 = 12.0;
const LABEL_FS: f64 = 11.0;
const TICK_LEN: f64 = 5.0;

/// Box of a text whose baseline starts at (x, y) with the given anchor.
fn text_box(s: &str, x: f64, y: f64, size: f64, anchor: &str) -> BBox {
    let w = text_width(s, size);
    let x0 = match anchor {
        "middle" => x - w / 2.0,
        "end" => x - w,
        _ => x,
    };
    BBox {
        x0,
        y0: y - 0.8 * size,
        x1: x0 + w,
        y1: y + 0.25 * size,
    }
}

/// Shortest decimal form of `v` with at most 6 decimals.
fn fmt_short(v: f64) -> String {
    for d in 0..=6 {
        let s = format!("{v:.d$}");
        let back: f64 = s.parse().unwrap_or(f64::NAN);
        if (back - v).abs() <= 1e-9 * v.abs().max(1e-12) {
            return tidy(s);
        }
    }
    tidy(format!("{v:.6}"))
}

/// "-0" -> "0".
fn tidy(s: String) -> String {
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

/// Ticks of one axis, their labels and the axis' range and unit.
#[derive(Debug, Clone)]
struct TickSet {
    values: Vec<f64>,
    labels: Vec<String>,
    lo: f64,
    hi: f64,
    unit: Unit,
}

impl TickSet {
    fn widest(&self) -> f64 {
        self.labels
            .iter()
            .map(|l| text_width(l, TICK_FS))
            .fold(0.0, f64::max)
    }
}

fn widen(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi - lo > 1e-12 * hi.abs().max(lo.abs()).max(1e-300) {
        return (lo, hi);
    }
    let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
    (lo - d, hi + d)
}

fn unit_for(units: &Units, max_abs: f64) -> Unit {
    match units {
        Units::EnergyFj => energy_unit(max_abs),
        Units::Fixed(u) => Unit {
            name: u.clone(),
            factor: 1.0,
        },
    }
}

/// Labels of linear ticks: the same number of decimals for all, from the
/// step (0.7, 0.8, ..., 1.0, 1.1).
fn linear_labels(values: &[f64], step: f64, unit: &Unit) -> Vec<String> {
    let s = step / unit.factor;
    let d = if s >= 1.0 {
        0
    } else {
        (-(s.log10()) - 1e-9).ceil().max(0.0) as usize
    };
    values
        .iter()
        .map(|v| tidy(format!("{:.d$}", v / unit.factor)))
        .collect()
}

/// Chooses the ticks of `axis` for data in `[lo, hi]` drawn over `len`
/// pixels: the densest round set whose labels keep `gap` pixels apart
/// (horizontal axis: label widths plus gap; vertical: font height plus gap).
fn choose_ticks(axis: &Axis, lo: f64, hi: f64, len: f64, horizontal: bool) -> TickSet {
    let spacing_ok = |labels: &[String], pos: &[f64]| {
        let need = |a: &String, b: &String| {
            if horizontal {
                (text_width(a, TICK_FS) + text_width(b, TICK_FS)) / 2.0 + 14.0
            } else {
                TICK_FS * 3.5
            }
        };
        pos.windows(2)
            .zip(labels.windows(2))
            .all(|(p, l)| (p[1] - p[0]).abs() >= need(&l[0], &l[1]))
    };
    if axis.log {
        let (lo, hi) = if lo > 0.0 && hi > lo {
            (lo, hi)
        } else if lo > 0.0 {
            (lo / 2.0, lo * 2.0)
        } else {
            (1.0, 10.0)
        };
        // 4 % of the log span as padding at both ends; up to 10 % to reach
        // the next tick outside (so the data's ends are labelled).
        let span = (hi / lo).log10();
        let (plo, phi) = (lo / 10f64.powf(0.04 * span), hi * 10f64.powf(0.04 * span));
        let (elo, ehi) = (lo / 10f64.powf(0.1 * span), hi * 10f64.powf(0.1 * span));
        let mut chosen: Option<TickSet> = None;
        for all in candidates_log(elo, ehi) {
            let below = all.iter().copied().rfind(|v| *v < plo);
            let above = all.iter().copied().find(|v| *v > phi);
            let mut t: Vec<f64> = below.into_iter().collect();
            t.extend(all.iter().copied().filter(|v| *v >= plo && *v <= phi));
            t.extend(above);
            if t.is_empty() {
                continue;
            }
            let (lo, hi) = (below.unwrap_or(plo), above.unwrap_or(phi));
            let unit = unit_for(&axis.units, t.iter().fold(0.0, |m, v| f64::max(m, v.abs())));
            let labels: Vec<String> = t.iter().map(|v| fmt_short(v / unit.factor)).collect();
            let pos: Vec<f64> = t
                .iter()
                .map(|v| (v / lo).log10() / (hi / lo).log10() * len)
                .collect();
            let set = TickSet {
                values: t,
                labels,
                lo,
                hi,
                unit,
            };
            if set.values.len() <= 12 && spacing_ok(&set.labels, &pos) {
                return set;
            }
            // Fallback: the sparsest set.
            chosen = Some(set);
        }
        return chosen.unwrap_or(TickSet {
            values: Vec::new(),
            labels: Vec::new(),
            lo: plo,
            hi: phi,
            unit: unit_for(&axis.units, hi),
        });
    }
    let (mut lo, mut hi) = (lo, hi);
    if axis.include_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    let (lo, hi) = widen(lo, hi);
    let mut step = if axis.integer {
        1.0
    } else {
        nice_step((hi - lo) / 12.0)
    };
    loop {
        let (values, dlo, dhi) = if axis.integer {
            let a = (lo / step).ceil() * step;
            let v: Vec<f64> = linear_ticks_with_step(a, hi, step)
                .into_iter()
                .filter(|v| *v <= hi + 1e-9)
                .collect();
            (v, lo - 0.5, hi + 0.5)
        } else {
            let mut v = linear_ticks_with_step(lo, hi, step);
            // A step more where data would touch the frame (within 10 px:
            // the largest marker, the Pareto ring, has radius 8).
            let (a, b) = (v[0], v[v.len() - 1]);
            let near = |d: f64| d / (b - a) * len < 10.0;
            if near(lo - a) && !(axis.include_zero && a == 0.0) {
                v.insert(0, clean(a - step));
            }
            if near(b - hi) && !(axis.include_zero && b == 0.0) {
                v.push(clean(b + step));
            }
            let (a, b) = (v[0], v[v.len() - 1]);
            (v, a, b)
        };
        let unit = unit_for(
            &axis.units,
            values.iter().fold(0.0, |m, v| f64::max(m, v.abs())),
        );
        let labels = linear_labels(&values, step, &unit);
        let pos: Vec<f64> = values
            .iter()
            .map(|v| (v - dlo) / (dhi - dlo) * len)
            .collect();
        if (values.len() <= 16 && spacing_ok(&labels, &pos)) || step > (hi - lo) * 10.0 {
            return TickSet {
                values,
                labels,
                lo: dlo,
                hi: dhi,
                unit,
            };
        }
        step = next_step(step);
    }
}

/// Greedy word wrap to lines no wider than `max_w` at `size`.
fn wrap(text: &str, size: f64, max_w: f64) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let trial = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if text_width(&trial, size) <= max_w || cur.is_empty() {
            cur = trial;
        } else {
            lines.push(std::mem::take(&mut cur));
            cur = word.to_string();
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

fn axis_title(a: &Axis, unit: &Unit) -> String {
    match (unit.name.is_empty(), a.log) {
        (true, false) => a.label.clone(),
        (true, true) => format!("{} (log scale)", a.label),
        (false, false) => format!("{} ({})", a.label, unit.name),
        (false, true) => format!("{} ({}, log scale)", a.label, unit.name),
    }
}

fn marker_svg(s: &mut String, m: Marker, x: f64, y: f64, color: &str, tip: Option<&str>) {
    let r = m.radius();
    let body = match m {
        Marker::Circle => format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r}\" fill=\"{color}\""),
        Marker::Square => format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{}\" height=\"{}\" fill=\"{color}\"",
            x - r,
            y - r,
            2.0 * r,
            2.0 * r
        ),
        Marker::Diamond => format!(
            "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"{color}\"",
            x,
            y - r,
            x + r,
            y,
            x,
            y + r,
            x - r,
            y
        ),
        Marker::Triangle => format!(
            "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"{color}\"",
            x,
            y - r,
            x + r,
            y + r * 0.8,
            x - r,
            y + r * 0.8
        ),
        Marker::Ring => format!(
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"",
            r - 1.0
        ),
        Marker::None => return,
    };
    s.push_str(&body);
    match tip {
        Some(t) => {
            let _ = writeln!(s, "><title>{}</title></{}>", esc(t), tag(m));
        }
        None => s.push_str("/>\n"),
    }
}

fn tag(m: Marker) -> &'static str {
    match m {
        Marker::Circle | Marker::Ring => "circle",
        Marker::Square => "rect",
        _ => "polygon",
    }
}

fn dash(l: Line) -> &'static str {
    match l {
        Line::Dashed => " stroke-dasharray=\"6 4\"",
        _ => "",
    }
}

/// One legend entry: a series, or a reference line (dashed, no marker).
struct Entry<'a> {
    name: &'a str,
    color: &'a str,
    marker: Marker,
    line: Line,
}

/// Width of a legend entry's line sample.
const LEGEND_SWATCH: f64 = 28.0;
/// Height of a legend row.
const LEGEND_ROW: f64 = 20.0;

/// The data-to-pixel mapping of a laid-out plot area.
#[derive(Debug, Clone, Copy)]
struct Scale {
    plot: BBox,
    /// Plot area width and height (kept as given: `x1 - x0` may differ in
    /// the last bit).
    size: (f64, f64),
    xlog: bool,
    ylog: bool,
    x: (f64, f64),
    y: (f64, f64),
}

impl Scale {
    /// True when the value can be drawn on an axis (finite; positive on a
    /// log axis).
    fn drawable(v: f64, log: bool) -> bool {
        v.is_finite() && (!log || v > 0.0)
    }
    fn fraction(v: f64, (lo, hi): (f64, f64), log: bool) -> f64 {
        if log {
            (v / lo).log10() / (hi / lo).log10()
        } else {
            (v - lo) / (hi - lo)
        }
    }
    fn px(&self, v: f64) -> f64 {
        self.plot.x0 + Self::fraction(v, self.x, self.xlog) * self.size.0
    }
    fn py(&self, v: f64) -> f64 {
        self.plot.y1 - Self::fraction(v, self.y, self.ylog) * self.size.1
    }
    fn point_ok(&self, p: &Point) -> bool {
        Self::drawable(p.x, self.xlog) && Self::drawable(p.y, self.ylog)
    }
}

/// A point label's chosen place: text, baseline origin and anchor.
struct LabelPlace<'a> {
    text: &'a str,
    x: f64,
    y: f64,
    anchor: &'static str,
}

/// Where everything goes, in canvas pixels: computed from the chart alone,
/// before any SVG is written ([`Chart::layout`]); [`SvgWriter`] only draws it.
struct Layout<'a> {
    width: f64,
    height: f64,
    scale: Scale,
    xt: TickSet,
    yt: TickSet,
    xtitle: String,
    ytitle: String,
    title_y: f64,
    /// Subtitle lines and their baselines.
    sub: Vec<(String, f64)>,
    entries: Vec<Entry<'a>>,
    legend: BBox,
    /// Legend width and height (as computed, not from the box).
    legend_size: (f64, f64),
    /// Every series' drawable points in pixels, with the point.
    placed: Vec<Vec<(f64, f64, &'a Point)>>,
    labels: Vec<LabelPlace<'a>>,
}

impl Chart {
    /// The SVG text.
    pub fn to_svg(&self) -> String {
        self.render().svg
    }

    /// Lays the chart out and writes it as SVG.
    pub fn render(&self) -> Rendered {
        let l = self.layout();
        let mut w = SvgWriter::new(&l);
        w.header(self, &l);
        w.grid(&l);
        w.axis_titles(&l);
        w.reference_lines(self, &l);
        w.series(self, &l);
        for p in &l.labels {
            w.text(p.text, p.x, p.y, LABEL_FS, p.anchor, "");
            w.g.point_labels
                .push(text_box(p.text, p.x, p.y, LABEL_FS, p.anchor));
        }
        w.legend(&l);
        w.finish()
    }

    /// The data range of each axis: every drawable point, the axis'
    /// `include` values and (y) the reference lines.
    fn data_ranges(&self) -> ((f64, f64), (f64, f64)) {
        let (xlog, ylog) = (self.x.log, self.y.log);
        let ok = Scale::drawable;
        let pts = self
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|p| ok(p.x, xlog) && ok(p.y, ylog));
        let range = |vals: Vec<f64>| {
            vals.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(*v), b.max(*v))
                })
        };
        let (mut xs, mut ys): (Vec<f64>, Vec<f64>) = pts.map(|p| (p.x, p.y)).unzip();
        xs.extend(self.x.include.iter().filter(|v| ok(**v, xlog)));
        ys.extend(self.y.include.iter().filter(|v| ok(**v, ylog)));
        ys.extend(self.hlines.iter().map(|h| h.y).filter(|v| ok(*v, ylog)));
        (range(xs), range(ys))
    }

    /// Legend entries: series, then reference lines.
    fn entries(&self) -> Vec<Entry<'_>> {
        let mut entries: Vec<Entry> = self
            .series
            .iter()
            .map(|s| Entry {
                name: &s.name,
                color: &s.color,
                marker: s.marker,
                line: s.line,
            })
            .collect();
        entries.extend(self.hlines.iter().map(|h| Entry {
            name: &h.name,
            color: &h.color,
            marker: Marker::None,
            line: Line::Dashed,
        }));
        entries
    }

    /// Computes every position: ticks, margins, canvas, plot area, legend,
    /// points and point labels.
    fn layout(&self) -> Layout<'_> {
        let ((xlo, xhi), (ylo, yhi)) = self.data_ranges();
        let (pw, ph) = (self.plot_width.max(100.0), self.plot_height.max(100.0));
        let yt = choose_ticks(&self.y, ylo, yhi, ph, false);
        let xt = choose_ticks(&self.x, xlo, xhi, pw, true);
        let entries = self.entries();
        let legend_w = 2.0 * 8.0
            + LEGEND_SWATCH
            + 6.0
            + entries
                .iter()
                .map(|e| text_width(e.name, LEGEND_FS))
                .fold(0.0, f64::max);
        let legend_h = 2.0 * 6.0 + LEGEND_ROW * entries.len() as f64;

        // Horizontal layout.
        let ytitle = axis_title(&self.y, &yt.unit);
        let xtitle = axis_title(&self.x, &xt.unit);
        let left = PAD + AXIS_FS * 1.1 + 8.0 + yt.widest() + TICK_LEN + 4.0;
        let last_half = xt
            .labels
            .last()
            .map_or(0.0, |l| text_width(l, TICK_FS) / 2.0);
        let gap = (last_half + 8.0).max(20.0);
        let mut width = left + pw + gap + legend_w + PAD;
        width = width.max(text_width(&self.title, TITLE_FS) + 2.0 * PAD);
        let sub_lines = self
            .subtitle
            .as_deref()
            .map(|s| wrap(s, SUB_FS, width - 2.0 * PAD))
            .unwrap_or_default();
        for l in &sub_lines {
            width = width.max(text_width(l, SUB_FS) + 2.0 * PAD);
        }
        let width = width.ceil();
        // Vertical layout.
        let title_y = PAD + TITLE_FS;
        let mut y_cursor = title_y;
        let sub: Vec<(String, f64)> = sub_lines
            .into_iter()
            .map(|l| {
                y_cursor += SUB_FS * 1.35;
                (l, y_cursor)
            })
            .collect();
        let top = y_cursor + 0.25 * SUB_FS + 16.0;
        let bottom = TICK_LEN + 4.0 + TICK_FS + 10.0 + AXIS_FS + PAD;
        let height = (top + ph.max(legend_h) + bottom).ceil();
        let plot = BBox {
            x0: left,
            y0: top,
            x1: left + pw,
            y1: top + ph,
        };
        let scale = Scale {
            plot,
            size: (pw, ph),
            xlog: self.x.log,
            ylog: self.y.log,
            x: (xt.lo, xt.hi),
            y: (yt.lo, yt.hi),
        };
        let lx = plot.x1 + gap;
        let legend = BBox {
            x0: lx,
            y0: plot.y0,
            x1: lx + legend_w,
            y1: plot.y0 + legend_h,
        };
        let placed: Vec<Vec<(f64, f64, &Point)>> = self
            .series
            .iter()
            .map(|se| {
                se.points
                    .iter()
                    .filter(|p| scale.point_ok(p))
                    .map(|p| (scale.px(p.x), scale.py(p.y), p))
                    .collect()
            })
            .collect();
        let labels = self.place_labels(&scale, &placed);
        Layout {
            width,
            height,
            scale,
            xt,
            yt,
            xtitle,
            ytitle,
            title_y,
            sub,
            entries,
            legend,
            legend_size: (legend_w, legend_h),
            placed,
            labels,
        }
    }

    /// What point labels must avoid: markers, lines (sampled every 3 px)
    /// and reference lines.
    fn label_obstacles(&self, scale: &Scale, placed: &[Vec<(f64, f64, &Point)>]) -> Vec<BBox> {
        let mut obstacles: Vec<BBox> = Vec::new();
        for (se, pts) in self.series.iter().zip(placed) {
            if se.marker != Marker::None {
                obstacles.extend(
                    pts.iter()
                        .map(|(x, y, _)| BBox::around(*x, *y, se.marker.radius())),
                );
            }
        }
        for (se, pts) in self.series.iter().zip(placed) {
            if se.line == Line::None {
                continue;
            }
            for w in pts.windows(2) {
                let (dx, dy) = (w[1].0 - w[0].0, w[1].1 - w[0].1);
                let n = ((dx * dx + dy * dy).sqrt() / 3.0).ceil().max(1.0) as usize;
                for k in 0..=n {
                    let t = k as f64 / n as f64;
                    obstacles.push(BBox::around(w[0].0 + t * dx, w[0].1 + t * dy, 1.0));
                }
            }
        }
        for h in self
            .hlines
            .iter()
            .filter(|h| Scale::drawable(h.y, scale.ylog))
        {
            let y = scale.py(h.y);
            obstacles.push(BBox {
                x0: scale.plot.x0,
                y0: y - 1.0,
                x1: scale.plot.x1,
                y1: y + 1.0,
            });
        }
        obstacles
    }

    /// Places each point label at the first of eight positions around its
    /// point (then the same at twice and three times the distance) that
    /// stays inside the plot area and covers no obstacle (nor an earlier
    /// label); else the first inside the plot area; else the first.
    fn place_labels<'a>(
        &self,
        scale: &Scale,
        placed: &[Vec<(f64, f64, &'a Point)>],
    ) -> Vec<LabelPlace<'a>> {
        let plot = scale.plot;
        let mut obstacles = self.label_obstacles(scale, placed);
        let mut out = Vec::new();
        for (x, y, p) in placed.iter().flatten() {
            let Some(l) = &p.label else { continue };
            // Eight positions around the point, then the same eight twice
            // and three times as far out (crowded points).
            let cands: Vec<(f64, f64, &str)> = [9.0, 18.0, 27.0]
                .iter()
                .flat_map(|&d| {
                    [
                        (x + d, y - d, "start"),
                        (x - d, y - d, "end"),
                        (x + d, y + d + 0.8 * LABEL_FS, "start"),
                        (x - d, y + d + 0.8 * LABEL_FS, "end"),
                        (x + d + 2.0, y + 0.35 * LABEL_FS, "start"),
                        (x - d - 2.0, y + 0.35 * LABEL_FS, "end"),
                        (*x, y - d - 2.0, "middle"),
                        (*x, y + d + 2.0 + 0.8 * LABEL_FS, "middle"),
                    ]
                })
                .collect();
            let boxed = |c: &(f64, f64, &str)| text_box(l, c.0, c.1, LABEL_FS, c.2);
            let c = cands
                .iter()
                .find(|c| {
                    let b = boxed(c);
                    plot.contains(&b) && !obstacles.iter().any(|o| o.intersects(&b))
                })
                .or_else(|| cands.iter().find(|c| plot.contains(&boxed(c))))
                .unwrap_or(&cands[0]);
            obstacles.push(boxed(c));
            out.push(LabelPlace {
                text: l,
                x: c.0,
                y: c.1,
                anchor: c.2,
            });
        }
        out
    }
}

/// Writes a laid-out chart as SVG, recording the box of everything it draws
/// in the [`Geometry`].
struct SvgWriter {
    s: String,
    g: Geometry,
}

impl SvgWriter {
    fn new(l: &Layout) -> Self {
        SvgWriter {
            s: String::new(),
            g: Geometry {
                width: l.width,
                height: l.height,
                plot: l.scale.plot,
                legend: l.legend,
                texts: Vec::new(),
                markers: Vec::new(),
                point_labels: Vec::new(),
            },
        }
    }

    fn text(&mut self, t: &str, x: f64, y: f64, size: f64, anchor: &str, extra: &str) {
        let _ = writeln!(
            self.s,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"{size}\" text-anchor=\"{anchor}\"{extra}>{}</text>",
            esc(t)
        );
        self.g
            .texts
            .push((t.to_string(), text_box(t, x, y, size, anchor)));
    }

    /// The document head, the full title and subtitle for readers and tools
    /// (the subtitle may be wrapped on the canvas), and the drawn titles.
    fn header(&mut self, c: &Chart, l: &Layout) {
        let (width, height) = (self.g.width, self.g.height);
        let _ = writeln!(
            self.s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"DejaVu Sans, Verdana, Arial, sans-serif\" font-size=\"{TICK_FS}\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
        );
        let _ = writeln!(self.s, "<title>{}</title>", esc(&c.title));
        if let Some(st) = &c.subtitle {
            let _ = writeln!(self.s, "<desc>{}</desc>", esc(st));
        }
        self.text(&c.title, width / 2.0, l.title_y, TITLE_FS, "middle", "");
    }

    /// Subtitle lines, grid lines, ticks and their labels, the plot frame.
    fn grid(&mut self, l: &Layout) {
        for (line, y) in &l.sub {
            self.text(line, l.width / 2.0, *y, SUB_FS, "middle", " fill=\"#555\"");
        }
        let plot = l.scale.plot;
        for (v, label) in l.yt.values.iter().zip(&l.yt.labels) {
            let y = l.scale.py(*v);
            if y < plot.y0 - 0.5 || y > plot.y1 + 0.5 {
                continue;
            }
            let _ = writeln!(
                self.s,
                "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/>\n<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"black\"/>",
                plot.x0, plot.x1, plot.x0 - TICK_LEN, plot.x0
            );
            self.text(
                label,
                plot.x0 - TICK_LEN - 3.0,
                y + 0.35 * TICK_FS,
                TICK_FS,
                "end",
                "",
            );
        }
        for (v, label) in l.xt.values.iter().zip(&l.xt.labels) {
            let x = l.scale.px(*v);
            if x < plot.x0 - 0.5 || x > plot.x1 + 0.5 {
                continue;
            }
            let _ = writeln!(
                self.s,
                "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#e5e5e5\"/>\n<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"black\"/>",
                plot.y0, plot.y1, plot.y1, plot.y1 + TICK_LEN
            );
            let y = plot.y1 + TICK_LEN + 3.0 + 0.8 * TICK_FS;
            self.text(label, x, y, TICK_FS, "middle", "");
        }
        let (pw, ph) = l.scale.size;
        let _ = writeln!(
            self.s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{pw:.1}\" height=\"{ph:.1}\" fill=\"none\" stroke=\"black\"/>",
            plot.x0, plot.y0
        );
    }

    /// The x title under the ticks, the y title rotated left of them.
    fn axis_titles(&mut self, l: &Layout) {
        let plot = l.scale.plot;
        let y = l.height - PAD - 0.25 * AXIS_FS;
        self.text(
            &l.xtitle,
            (plot.x0 + plot.x1) / 2.0,
            y,
            AXIS_FS,
            "middle",
            "",
        );
        let (ax, ay) = (PAD + 0.8 * AXIS_FS, (plot.y0 + plot.y1) / 2.0);
        let _ = writeln!(
            self.s,
            "<text x=\"{ax:.1}\" y=\"{ay:.1}\" font-size=\"{AXIS_FS}\" text-anchor=\"middle\" transform=\"rotate(-90 {ax:.1} {ay:.1})\">{}</text>",
            esc(&l.ytitle)
        );
        let yw = text_width(&l.ytitle, AXIS_FS);
        self.g.texts.push((
            l.ytitle.clone(),
            BBox {
                x0: ax - 0.8 * AXIS_FS,
                y0: ay - yw / 2.0,
                x1: ax + 0.25 * AXIS_FS,
                y1: ay + yw / 2.0,
            },
        ));
    }

    fn reference_lines(&mut self, c: &Chart, l: &Layout) {
        let plot = l.scale.plot;
        for h in c
            .hlines
            .iter()
            .filter(|h| Scale::drawable(h.y, l.scale.ylog))
        {
            let y = l.scale.py(h.y);
            let _ = writeln!(
                self.s,
                "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{}\" stroke-width=\"1.5\"{}/>",
                plot.x0,
                plot.x1,
                esc(&h.color),
                dash(Line::Dashed)
            );
        }
    }

    /// Series lines first, then every marker on top of them.
    fn series(&mut self, c: &Chart, l: &Layout) {
        for (se, pts) in c.series.iter().zip(&l.placed) {
            if se.line != Line::None && pts.len() > 1 {
                let path: Vec<String> = pts
                    .iter()
                    .map(|(x, y, _)| format!("{x:.1},{y:.1}"))
                    .collect();
                let _ = writeln!(
                    self.s,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>",
                    path.join(" "),
                    esc(&se.color),
                    dash(se.line)
                );
            }
        }
        for (se, pts) in c.series.iter().zip(&l.placed) {
            for (x, y, p) in pts {
                marker_svg(
                    &mut self.s,
                    se.marker,
                    *x,
                    *y,
                    &esc(&se.color),
                    p.tip.as_deref(),
                );
                if se.marker != Marker::None {
                    self.g
                        .markers
                        .push(BBox::around(*x, *y, se.marker.radius()));
                }
            }
        }
    }

    /// The legend box right of the plot area, a row per entry.
    fn legend(&mut self, l: &Layout) {
        let legend = l.legend;
        let _ = writeln!(
            self.s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"white\" stroke=\"#bbb\"/>",
            legend.x0, legend.y0, l.legend_size.0, l.legend_size.1
        );
        for (i, e) in l.entries.iter().enumerate() {
            let cy = legend.y0 + 6.0 + LEGEND_ROW * (i as f64 + 0.5);
            let x0 = legend.x0 + 8.0;
            if e.line != Line::None {
                let _ = writeln!(
                    self.s,
                    "<line x1=\"{x0:.1}\" y1=\"{cy:.1}\" x2=\"{:.1}\" y2=\"{cy:.1}\" stroke=\"{}\" stroke-width=\"2\"{}/>",
                    x0 + LEGEND_SWATCH,
                    esc(e.color),
                    dash(e.line)
                );
            }
            let mx = x0 + LEGEND_SWATCH / 2.0;
            marker_svg(&mut self.s, e.marker, mx, cy, &esc(e.color), None);
            let tx = x0 + LEGEND_SWATCH + 6.0;
            self.text(e.name, tx, cy + 0.35 * LEGEND_FS, LEGEND_FS, "start", "");
        }
    }

    fn finish(mut self) -> Rendered {
        self.s.push_str("</svg>\n");
        Rendered {
            svg: self.s,
            geometry: self.g,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-9 * y.abs().max(1.0))
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.0), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(68680.0), 100000.0);
        assert!((nice_step(0.013) - 0.02).abs() < 1e-15);
    }

    #[test]
    fn linear_ticks_by_hand() {
        // The CNN report's old tick range, 717600..1061000 fJ: step 1e5.
        assert!(close(
            &linear_ticks(717600.0, 1061000.0, 6),
            &[700000.0, 800000.0, 900000.0, 1000000.0, 1100000.0]
        ));
        // Accuracy 79.4..98.6 % with at most 8 ticks: step 5.
        assert!(close(
            &linear_ticks(79.4, 98.6, 8),
            &[75.0, 80.0, 85.0, 90.0, 95.0, 100.0]
        ));
        // 0..754 fJ with at most 9 ticks: step 100.
        assert!(close(
            &linear_ticks(0.0, 754.0, 9),
            &[0.0, 100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0]
        ));
        // 0.1..0.7: step 0.2 needs 5 ticks (0..0.8), so at most 4 gives 0.5;
        // never a 3 step.
        assert!(close(
            &linear_ticks(0.1, 0.7, 5),
            &[0.0, 0.2, 0.4, 0.6, 0.8]
        ));
        assert!(close(&linear_ticks(0.1, 0.7, 4), &[0.0, 0.5, 1.0]));
        // Integer-like ranges on the grid stay on it.
        assert!(close(
            &linear_ticks(3.0, 16.0, 14),
            &[3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]
        ));
    }

    #[test]
    fn log_ticks_by_hand() {
        // CNN energies 583706..3398590 fJ: 1..9 gives 9 ticks, so
        // 1-2-3-4-5-6-8 with 6 inside the range.
        assert!(close(
            &log_ticks(583706.0, 3398590.0, 8),
            &[600000.0, 700000.0, 800000.0, 900000.0, 1e6, 2e6, 3e6]
        ));
        assert!(close(
            &log_ticks(583706.0, 3398590.0, 5),
            &[600000.0, 800000.0, 1e6, 2e6, 3e6]
        ));
        assert!(close(&log_ticks(583706.0, 3398590.0, 4), &[1e6, 2e6, 3e6]));
        assert!(close(&log_ticks(1.0, 1e6, 4), &[1.0, 100.0, 1e4, 1e6]));
    }

    #[test]
    fn units() {
        assert_eq!(energy_unit(1.1e6).name, "nJ");
        assert_eq!(energy_unit(1e6).name, "nJ");
        assert_eq!(energy_unit(999_999.0).name, "pJ");
        assert_eq!(energy_unit(800.0).name, "fJ");
        assert_eq!(energy_unit(4e9).name, "µJ");
        assert_eq!(energy_unit(0.0).name, "fJ");
        let nj = energy_unit(1.1e6);
        let l = linear_labels(&linear_ticks(717600.0, 1061000.0, 6), 100000.0, &nj);
        assert_eq!(l, ["0.7", "0.8", "0.9", "1.0", "1.1"]);
        assert_eq!(fmt_short(0.6000000000000001), "0.6");
        assert_eq!(fmt_short(3.0), "3");
        assert_eq!(fmt_short(0.25), "0.25");
    }

    #[test]
    fn escaping() {
        assert_eq!(
            esc("a<b & c>\"d\" 'e'"),
            "a&lt;b &amp; c&gt;&quot;d&quot; &apos;e&apos;"
        );
        let mut c = sample();
        c.title = "<T&1>".into();
        let svg = c.to_svg();
        assert!(svg.contains("&lt;T&amp;1&gt;") && !svg.contains("<T&1>"));
    }

    #[test]
    fn wraps_long_text() {
        let t = "word ".repeat(60);
        let lines = wrap(&t, 10.0, 200.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| text_width(l, 10.0) <= 200.0));
    }

    fn sample() -> Chart {
        let mut x = Axis::energy("energy per inference", true);
        x.include_zero = false;
        let mut y = Axis::linear("test accuracy", "%");
        y.include.push(98.3);
        let pts = |v: &[(f64, f64)]| v.iter().map(|(a, b)| Point::new(*a, *b)).collect();
        Chart {
            title: "FPEC-Opt: digits-cnn.json (budget 0.5 pp)".into(),
            subtitle: Some("energy model: ".to_string() + &"long words here ".repeat(20)),
            x,
            y,
            series: vec![
                Series {
                    name: "FxP".into(),
                    color: PALETTE[0].into(),
                    marker: Marker::Circle,
                    line: Line::None,
                    points: pts(&[(583706.0, 89.3), (3398590.0, 98.5), (3.3e6, 98.6)]),
                },
                Series {
                    name: "FPEC".into(),
                    color: PALETTE[1].into(),
                    marker: Marker::Square,
                    line: Line::None,
                    points: pts(&[(982032.0, 98.59), (1.0e6, 98.5), (7e5, 79.4)]),
                },
                Series {
                    name: "Pareto front".into(),
                    color: PALETTE[3].into(),
                    marker: Marker::Ring,
                    line: Line::Solid,
                    points: vec![
                        Point::new(583706.0, 89.3).label("4+0"),
                        Point::new(982032.0, 98.59).label("5+2"),
                    ],
                },
            ],
            hlines: vec![HLine {
                y: 97.8,
                name: "float - budget".into(),
                color: "gray".into(),
            }],
            plot_width: 560.0,
            plot_height: 360.0,
        }
    }

    #[test]
    fn nothing_outside_the_canvas_nor_under_the_legend() {
        let r = sample().render();
        let g = &r.geometry;
        let canvas = BBox {
            x0: 0.0,
            y0: 0.0,
            x1: g.width,
            y1: g.height,
        };
        for (t, b) in &g.texts {
            assert!(canvas.contains(b), "{t:?} {b:?} outside {canvas:?}");
        }
        assert!(canvas.contains(&g.legend));
        assert!(!g.legend.intersects(&g.plot));
        for m in &g.markers {
            assert!(!g.legend.intersects(m), "legend covers marker {m:?}");
        }
        for (i, a) in g.point_labels.iter().enumerate() {
            assert!(g.plot.contains(a));
            for m in &g.markers {
                assert!(!a.intersects(m), "label {a:?} covers marker {m:?}");
            }
            for b in &g.point_labels[i + 1..] {
                assert!(!a.intersects(b));
            }
        }
        // Text elements outside the plot never overlap each other.
        let outside: Vec<&BBox> = g
            .texts
            .iter()
            .map(|t| &t.1)
            .filter(|b| !g.plot.contains(b))
            .collect();
        for (i, a) in outside.iter().enumerate() {
            for b in &outside[i + 1..] {
                assert!(!a.intersects(b), "{a:?} overlaps {b:?}");
            }
        }
        assert!(r.svg.contains(">nJ<") || r.svg.contains("(nJ, log scale)"));
    }

    #[test]
    fn degenerate_data_still_renders() {
        let mut c = sample();
        c.series.iter_mut().for_each(|s| s.points.clear());
        c.hlines.clear();
        c.y.include.clear();
        assert!(c.to_svg().ends_with("</svg>\n"));
        let mut c = sample();
        c.series.truncate(1);
        c.series[0].points = vec![Point::new(0.0, 50.0), Point::new(-1.0, 50.0)];
        let r = c.render();
        assert!(
            r.geometry.markers.is_empty(),
            "x <= 0 is not drawn on a log axis"
        );
        c.series[0].points = vec![Point::new(5e5, 50.0)];
        let r = c.render();
        assert_eq!(r.geometry.markers.len(), 1);
        assert!(r.geometry.plot.contains(&r.geometry.markers[0]));
    }

    #[test]
    fn deterministic() {
        assert_eq!(sample().to_svg(), sample().to_svg());
    }
}
