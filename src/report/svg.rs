//! Dependency-free inline SVG charts for the self-contained HTML report.
//!
//! Every function returns a complete `<svg>` element as a `String`. Output is
//! deterministic, never references anything external, and never panics: empty
//! slices, mismatched lengths, NaN and ±inf are all tolerated.
#![allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::too_many_lines)]

use std::fmt::Write as _;

/// One line of a [`line_chart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// One row of a [`forest_plot`]: point estimate and interval.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestRow {
    pub label: String,
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

/// Okabe-Ito colour-blind-safe palette (yellow last: poor contrast on white).
pub const PALETTE: [&str; 8] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];
const FONT: &str = "-apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Noto Sans SC', \
'Microsoft YaHei', 'PingFang SC', 'WenQuanYi Micro Hei', sans-serif";
const WIDTH: f64 = 720.0;
const TEXT: &str = "#333333";
const AXIS: &str = "#666666";
const GRID: &str = "#e6e6e6";
const MISSING: &str = "#d9d9d9";
const ALERT: &str = "#D55E00";
const ROW: f64 = 24.0;
const TOP: f64 = 40.0;
const MAX_LABEL_W: f64 = 300.0;

/// Append formatted text to a `String` (writing to a `String` cannot fail).
macro_rules! w {
    ($($arg:tt)*) => {{ let _ = write!($($arg)*); }};
}

/// XML text/attribute escaping (& < > " '). Characters that are illegal in
/// XML 1.0 (control characters other than tab/newline/CR) are dropped.
#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Shortest readable number: integers without decimals, otherwise up to 4
/// significant digits; non-finite → "".
#[must_use]
pub fn fmt_value(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let abs = v.abs();
    if abs < 1e15 && v.fract().abs() < f64::MIN_POSITIVE {
        return format!("{}", v as i64);
    }
    if !(1e-4..1e15).contains(&abs) {
        let sci = format!("{v:.3e}");
        return match sci.split_once('e') {
            Some((mantissa, exp)) => format!("{}e{exp}", trim_zeros(mantissa)),
            None => sci,
        };
    }
    let mag = abs.log10().floor() as i32;
    let dec = (3 - mag).clamp(0, 8) as usize;
    trim_zeros(&format!("{v:.dec$}"))
}

fn trim_zeros(s: &str) -> String {
    let t = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s };
    (if t == "-0" { "0" } else { t }).to_string()
}

/// Coordinate with at most 2 decimals; non-finite → 0, clamped to a sane range.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    trim_zeros(&format!("{:.2}", v.clamp(-1e6, 1e6)))
}

fn is_wide(c: char) -> bool {
    matches!(u32::from(c),
        0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD)
}

fn char_width(c: char) -> f64 {
    match c {
        c if c.is_ascii() => 7.0,
        c if is_wide(c) => 13.0,
        _ => 8.0,
    }
}

/// Estimated rendered width in px at font-size 12 (~7 px ASCII, ~13 px CJK).
#[must_use]
pub fn text_width(s: &str) -> f64 {
    s.chars().map(char_width).sum()
}

/// Truncate `s` with an ellipsis so its estimated width fits `max_w`.
fn fit(s: &str, max_w: f64) -> String {
    if text_width(s) <= max_w {
        return s.to_string();
    }
    let mut width = char_width('…');
    let fits = |c: &char| {
        width += char_width(*c);
        width <= max_w
    };
    let mut out: String = s.chars().take_while(fits).collect();
    out.push('…');
    out
}

/// Min and max of the finite values, if any.
fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values.into_iter().filter(|v| v.is_finite()).fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Round a tick to the precision of its step, removing float noise (0.6000000001).
fn snap(x: f64, step: f64) -> f64 {
    let d = (2.0 - step.log10().floor()).clamp(0.0, 15.0) as i32;
    let p = 10f64.powi(d);
    Some((x * p).round() / p).filter(|r| r.is_finite()).map_or(x, |r| r + 0.0)
}

/// 4–6 "nice" ticks (steps 1, 2, 2.5, 5 × 10^k) covering `[min, max]`.
/// First and last tick are the axis domain. Always returns ≥ 2 finite ticks.
#[must_use]
pub fn nice_ticks(min: f64, max: f64) -> Vec<f64> {
    let (lo, hi) = extent([min, max]).unwrap_or((0.0, 1.0));
    let (lo, hi) = if hi - lo > 0.0 {
        (lo, hi)
    } else if lo.abs() < 1e-12 {
        (0.0, 1.0)
    } else {
        (lo - lo.abs() * 0.1, hi + hi.abs() * 0.1)
    };
    let span = hi - lo;
    if !span.is_finite() || span <= 0.0 {
        return vec![lo, hi];
    }
    let base = 10f64.powf((span / 5.0).log10().floor());
    for mult in [1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 25.0, 50.0] {
        let step = mult * base;
        if !(step.is_finite() && step > 0.0) {
            break;
        }
        let a = (lo / step + 1e-9).floor();
        let b = (hi / step - 1e-9).ceil();
        if b - a + 1.0 <= 6.0 && b >= a {
            let n = (b - a) as usize;
            let ticks: Vec<f64> = (0..=n).map(|k| snap((a + k as f64) * step, step)).collect();
            if ticks.iter().all(|t| t.is_finite()) && n >= 1 {
                return ticks;
            }
        }
    }
    vec![lo, hi]
}

/// Linear map from a data domain to a pixel range; overflow-safe, never NaN.
#[derive(Clone, Copy)]
struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Scale {
    fn map(self, v: f64) -> f64 {
        let den = self.d1 * 0.5 - self.d0 * 0.5;
        let t = if den.abs() > 0.0 { (v * 0.5 - self.d0 * 0.5) / den } else { 0.5 };
        let t = if t.is_finite() { t.clamp(-0.05, 1.05) } else { 0.0 };
        self.r0 + t * (self.r1 - self.r0)
    }
    fn from_ticks(ticks: &[f64], r0: f64, r1: f64) -> Self {
        let d0 = ticks.first().copied().unwrap_or(0.0);
        let d1 = ticks.last().copied().unwrap_or(1.0);
        Scale { d0, d1, r0, r1 }
    }
}

/// Root element, `<title>` child and visible chart title.
fn open(out: &mut String, width: f64, height: f64, title: &str) {
    let t = escape(title);
    let (w, h) = (num(width.ceil()), num(height.ceil()));
    w!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}" font-family="{FONT}" font-size="12"><title>{t}</title>"#
    );
    let attrs = format!(r#"class="chart-title" text-anchor="middle" font-size="14" font-weight="bold" fill="{TEXT}""#);
    text_at(out, width / 2.0, 22.0, &attrs, title);
}

/// `<text>` with extra attributes; `content` is escaped here.
fn text_at(out: &mut String, x: f64, y: f64, attrs: &str, content: &str) {
    w!(out, r#"<text x="{}" y="{}" {attrs}>{}</text>"#, num(x), num(y), escape(content));
}

fn text(out: &mut String, x: f64, y: f64, anchor: &str, content: &str) {
    text_at(out, x, y, &format!(r#"text-anchor="{anchor}" fill="{TEXT}""#), content);
}

/// `<rect>` with an optional tooltip (`tip` must already be escaped).
fn rect(out: &mut String, class: &str, (x, y, w, h): (f64, f64, f64, f64), attrs: &str, tip: Option<&str>) {
    w!(out, r#"<rect class="{class}" x="{}" y="{}" width="{}" height="{}" {attrs}"#, num(x), num(y), num(w), num(h));
    match tip {
        Some(tip) => w!(out, "><title>{tip}</title></rect>"),
        None => out.push_str("/>"),
    }
}

fn line(out: &mut String, class: &str, (x1, y1): (f64, f64), (x2, y2): (f64, f64), extra: &str) {
    w!(out, r#"<line class="{class}" x1="{}" y1="{}" x2="{}" y2="{}" {extra}/>"#, num(x1), num(y1), num(x2), num(y2));
}

fn no_data(title: &str) -> String {
    let mut s = String::new();
    open(&mut s, WIDTH, 120.0, title);
    s.push_str(r##"<text class="no-data" x="360" y="72" text-anchor="middle" fill="#888888">no data</text></svg>"##);
    s
}

/// Horizontal axis with tick marks and labels at `y` (plus optional grid up to `grid_top`).
fn x_axis(out: &mut String, sc: Scale, ticks: &[f64], y: f64, grid_top: Option<f64>) {
    line(out, "axis", (sc.r0, y), (sc.r1, y), &format!(r#"stroke="{AXIS}""#));
    for &t in ticks {
        let x = sc.map(t);
        if let Some(top) = grid_top {
            line(out, "grid", (x, top), (x, y), &format!(r#"stroke="{GRID}""#));
        }
        line(out, "tick", (x, y), (x, y + 4.0), &format!(r#"stroke="{AXIS}""#));
        text(out, x, y + 17.0, "middle", &fmt_value(t));
    }
}

/// Horizontal bar chart: one bar per label, value printed at the bar end;
/// negative values go left of a zero line.
#[must_use]
pub fn bar_chart(title: &str, value_label: &str, labels: &[String], values: &[f64]) -> String {
    let n = labels.len().min(values.len());
    if n == 0 {
        return no_data(title);
    }
    let (labels, values) = (&labels[..n], &values[..n]);
    let shown: Vec<String> = labels.iter().map(|l| fit(l, MAX_LABEL_W)).collect();
    let left = shown.iter().map(|l| text_width(l)).fold(40.0, f64::max) + 16.0;
    let (vmin, vmax) = extent(values.iter().copied()).map_or((0.0, 1.0), |(a, b)| (a.min(0.0), b.max(0.0)));
    let vmax = if vmax > vmin { vmax } else { vmin + 1.0 };
    let val_w = values.iter().map(|v| text_width(&fmt_value(*v))).fold(0.0, f64::max) + 10.0;
    let x0 = left + if vmin < 0.0 { val_w } else { 0.0 };
    let x1 = (WIDTH - val_w - 10.0).max(x0 + 50.0);
    let width = WIDTH.max(x1 + val_w + 10.0);
    let bottom = TOP + n as f64 * ROW;
    let height = bottom + 36.0;
    let sc = Scale { d0: vmin, d1: vmax, r0: x0, r1: x1 };
    let zx = sc.map(0.0);

    let mut s = String::new();
    open(&mut s, width, height, title);
    for (i, ((full, label), &v)) in labels.iter().zip(&shown).zip(values).enumerate() {
        let yc = TOP + (i as f64 + 0.5) * ROW;
        text(&mut s, left - 8.0, yc + 4.0, "end", label);
        if !v.is_finite() {
            continue;
        }
        let vx = sc.map(v);
        let vs = fmt_value(v);
        let color = if v < 0.0 { PALETTE[1] } else { PALETTE[0] };
        let tip = format!("{}: {vs}", escape(full));
        rect(&mut s, "bar", (zx.min(vx), yc - 8.0, (vx - zx).abs(), 16.0), &format!(r#"fill="{color}""#), Some(&tip));
        let (tx, anchor) = if v < 0.0 { (vx - 4.0, "end") } else { (vx + 4.0, "start") };
        text(&mut s, tx, yc + 4.0, anchor, &vs);
    }
    line(&mut s, "zero", (zx, TOP - 4.0), (zx, bottom + 4.0), &format!(r#"stroke="{AXIS}""#));
    text(&mut s, f64::midpoint(x0, x1), bottom + 24.0, "middle", value_label);
    s.push_str("</svg>");
    s
}

/// White → blue sequential scale for `t` in `[0, 1]`.
fn blues(t: f64) -> String {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let mix = |a: f64, b: f64| (a + (b - a) * t).round().clamp(0.0, 255.0) as u8;
    format!("#{:02x}{:02x}{:02x}", mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0))
}

/// Heat map: rows × columns of cells coloured white→blue over the finite values.
/// None/non-finite cells are grey with no text; cells `>= threshold` get a red outline.
#[must_use]
pub fn heat_map(
    title: &str,
    x_labels: &[String],
    y_labels: &[String],
    cells: &[Vec<Option<f64>>],
    threshold: Option<f64>,
) -> String {
    let nrows = y_labels.len().min(cells.len());
    let widest_row = cells.iter().take(nrows).map(Vec::len).max().unwrap_or(0);
    let ncols = x_labels.len().min(widest_row);
    if nrows == 0 || ncols == 0 {
        return no_data(title);
    }
    let get = |r: usize, c: usize| cells.get(r).and_then(|row| row.get(c)).copied().flatten().filter(|v| v.is_finite());
    let thr = threshold.filter(|t| t.is_finite());
    let ylab: Vec<String> = y_labels[..nrows].iter().map(|l| fit(l, 240.0)).collect();
    let xlab: Vec<String> = x_labels[..ncols].iter().map(|l| fit(l, 150.0)).collect();
    let left = ylab.iter().map(|l| text_width(l)).fold(30.0, f64::max) + 14.0;
    let max_xw = xlab.iter().map(|l| text_width(l)).fold(0.0, f64::max);
    let cols = ncols as f64;
    let plain_w = ((WIDTH - left - 20.0) / cols).clamp(36.0, 90.0);
    let rotate = ncols > 8 || max_xw > plain_w - 6.0;
    let right = if rotate { max_xw * 0.71 + 10.0 } else { 20.0 };
    let cell_w = ((WIDTH - left - right) / cols).clamp(36.0, 90.0);
    let cell_h = 26.0;
    let width = WIDTH.max(left + cols * cell_w + right);
    let top = 34.0 + if rotate { max_xw * 0.71 + 12.0 } else { 20.0 };
    let grid_bottom = top + nrows as f64 * cell_h;
    let height = grid_bottom + 44.0;
    let (vmin, vmax) = extent((0..nrows).flat_map(|r| (0..ncols).map(move |c| (r, c))).filter_map(|(r, c)| get(r, c)))
        .unwrap_or((0.0, 1.0));
    let sc = Scale { d0: vmin, d1: vmax, r0: 0.0, r1: 1.0 };
    let shade = |v: f64| if vmax > vmin { sc.map(v).clamp(0.0, 1.0) } else { 0.5 };

    let mut s = String::new();
    open(&mut s, width, height, title);
    for (c, label) in xlab.iter().enumerate() {
        let x = left + (c as f64 + 0.5) * cell_w;
        let y = top - 6.0;
        if rotate {
            let attrs = format!(r#"text-anchor="start" transform="rotate(-45 {} {})" fill="{TEXT}""#, num(x), num(y));
            text_at(&mut s, x, y, &attrs, label);
        } else {
            text(&mut s, x, y, "middle", label);
        }
    }
    let mut any_missing = false;
    let outline = format!(r#"fill="none" stroke="{ALERT}" stroke-width="2""#);
    let mut outlines = String::new();
    for (r, ylabel) in ylab.iter().enumerate() {
        let y = top + r as f64 * cell_h;
        text(&mut s, left - 8.0, y + cell_h / 2.0 + 4.0, "end", ylabel);
        let yfull = escape(y_labels.get(r).map_or("", String::as_str));
        for c in 0..ncols {
            let x = left + c as f64 * cell_w;
            let xfull = escape(x_labels.get(c).map_or("", String::as_str));
            let v = get(r, c);
            let (fill, tip) = match v {
                Some(v) => (blues(shade(v)), fmt_value(v)),
                None => (MISSING.to_string(), "n/a".to_string()),
            };
            any_missing |= v.is_none();
            let attrs = format!(r##"fill="{fill}" stroke="#ffffff""##);
            rect(&mut s, "cell", (x, y, cell_w, cell_h), &attrs, Some(&format!("{yfull}, {xfull}: {tip}")));
            let Some(v) = v else { continue };
            if text_width(&tip) * 10.0 / 12.0 <= cell_w - 4.0 {
                let color = if shade(v) > 0.5 { "#ffffff" } else { TEXT };
                let attrs = format!(r#"text-anchor="middle" font-size="10" fill="{color}""#);
                text_at(&mut s, x + cell_w / 2.0, y + cell_h / 2.0 + 3.5, &attrs, &tip);
            }
            if thr.is_some_and(|t| v >= t) {
                rect(&mut outlines, "hit", (x + 1.0, y + 1.0, cell_w - 2.0, cell_h - 2.0), &outline, None);
            }
        }
    }
    s.push_str(&outlines);
    // Legend: min [5 swatches] max, n/a swatch, threshold swatch.
    let ly = grid_bottom + 16.0;
    let mut x = left;
    let swatch = |s: &mut String, x: f64, attrs: &str| rect(s, "legend-swatch", (x, ly, 20.0, 12.0), attrs, None);
    let (lo, hi) = (fmt_value(vmin), fmt_value(vmax));
    text(&mut s, x, ly + 10.0, "start", &lo);
    x += text_width(&lo) + 6.0;
    for k in 0..5 {
        swatch(&mut s, x, &format!(r#"fill="{}""#, blues(f64::from(k) / 4.0)));
        x += 20.0;
    }
    text(&mut s, x + 6.0, ly + 10.0, "start", &hi);
    x += text_width(&hi) + 26.0;
    if any_missing {
        swatch(&mut s, x, &format!(r#"fill="{MISSING}""#));
        text(&mut s, x + 26.0, ly + 10.0, "start", "n/a");
        x += 70.0;
    }
    if let Some(t) = thr {
        swatch(&mut s, x, &outline);
        text(&mut s, x + 26.0, ly + 10.0, "start", &format!("≥ {}", fmt_value(t)));
    }
    s.push_str("</svg>");
    s
}

/// Palette colour per series; past 8 series the colours repeat dashed.
fn series_style(i: usize) -> (&'static str, &'static str) {
    (PALETTE[i % PALETTE.len()], if i >= PALETTE.len() { r#" stroke-dasharray="6 3""# } else { "" })
}

/// Line chart (ROC / gains / lift / Qini / KS): nice ticks on both axes, axis
/// titles, legend, optional dashed diagonal; non-finite points are skipped.
#[must_use]
pub fn line_chart(title: &str, x_title: &str, y_title: &str, series: &[Series], diagonal: bool) -> String {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let all = || series.iter().flat_map(|s| s.points.iter()).filter(finite);
    let (Some((xmin, xmax)), Some((ymin, ymax))) = (extent(all().map(|p| p.0)), extent(all().map(|p| p.1))) else {
        return no_data(title);
    };
    let (xt, yt) = (nice_ticks(xmin, xmax), nice_ticks(ymin, ymax));
    let ylabels: Vec<String> = yt.iter().map(|v| fmt_value(*v)).collect();
    let left = 36.0 + ylabels.iter().map(|l| text_width(l)).fold(14.0, f64::max) + 8.0;
    let right = WIDTH - 24.0;
    let plot_h = 320.0;
    let axis_y = TOP + plot_h;
    // Legend layout: wrap entries into rows that fit between left and right.
    let mut entries = Vec::new();
    let (mut lx, mut row) = (left, 0usize);
    for (i, ser) in series.iter().enumerate() {
        let name = fit(&ser.name, 220.0);
        let w = 28.0 + text_width(&name) + 18.0;
        if lx + w > right && lx > left {
            lx = left;
            row += 1;
        }
        entries.push((i, name, lx, row));
        lx += w;
    }
    let height = axis_y + 58.0 + (row + 1) as f64 * 20.0;
    let xs = Scale::from_ticks(&xt, left, right);
    let ys = Scale::from_ticks(&yt, axis_y, TOP);

    let mut s = String::new();
    open(&mut s, WIDTH, height, title);
    for (t, label) in yt.iter().zip(&ylabels) {
        let y = ys.map(*t);
        line(&mut s, "grid", (left, y), (right, y), &format!(r#"stroke="{GRID}""#));
        text(&mut s, left - 8.0, y + 4.0, "end", label);
    }
    x_axis(&mut s, xs, &xt, axis_y, Some(TOP));
    line(&mut s, "axis", (left, TOP), (left, axis_y), &format!(r#"stroke="{AXIS}""#));
    text(&mut s, f64::midpoint(left, right), axis_y + 36.0, "middle", x_title);
    let mid = f64::midpoint(TOP, axis_y);
    let attrs = format!(r#"text-anchor="middle" transform="rotate(-90 16 {})" fill="{TEXT}""#, num(mid));
    text_at(&mut s, 16.0, mid, &attrs, y_title);
    if diagonal {
        let attrs = r##"stroke="#999999" stroke-dasharray="5 4""##;
        line(&mut s, "diagonal", (xs.map(xmin), ys.map(ymin)), (xs.map(xmax), ys.map(ymax)), attrs);
    }
    for (i, ser) in series.iter().enumerate() {
        let mut pts = String::new();
        let mut last = None;
        for &(x, y) in ser.points.iter().filter(|p| finite(p)) {
            let (px, py) = (xs.map(x), ys.map(y));
            let key = Some(((px * 2.0).round() as i64, (py * 2.0).round() as i64));
            if last != key {
                last = key;
                w!(pts, "{}{},{}", if pts.is_empty() { "" } else { " " }, num(px), num(py));
            }
        }
        if pts.is_empty() {
            continue;
        }
        let range = |f: fn(&(f64, f64)) -> f64| {
            let (a, b) = extent(ser.points.iter().filter(finite).map(f)).unwrap_or((0.0, 0.0));
            format!("{}–{}", fmt_value(a), fmt_value(b))
        };
        let (color, dash) = series_style(i);
        let tip = format!("{}: x {}, y {}", escape(&ser.name), range(|p| p.0), range(|p| p.1));
        w!(s, r#"<polyline class="series" fill="none" stroke="{color}" stroke-width="2"{dash} points="{pts}">"#);
        w!(s, "<title>{tip}</title></polyline>");
    }
    for (i, name, x, row) in entries {
        let y = axis_y + 58.0 + row as f64 * 20.0;
        let (color, dash) = series_style(i);
        let attrs = format!(r#"stroke="{color}" stroke-width="3"{dash}"#);
        line(&mut s, "legend", (x, y - 4.0), (x + 22.0, y - 4.0), &attrs);
        text(&mut s, x + 28.0, y, "start", &name);
    }
    s.push_str("</svg>");
    s
}

/// Forest plot: a dot at each estimate with a low..high whisker, a dashed
/// vertical reference line, x-axis ticks and labels on the left.
#[must_use]
pub fn forest_plot(title: &str, x_title: &str, rows: &[ForestRow], reference: f64) -> String {
    if rows.is_empty() {
        return no_data(title);
    }
    let valid = |r: &ForestRow| r.estimate.is_finite() && r.low.is_finite() && r.high.is_finite();
    let vals = rows.iter().filter(|r| valid(r)).flat_map(|r| [r.estimate, r.low, r.high]);
    let (lo, hi) = extent(vals.chain(std::iter::once(reference))).unwrap_or((0.0, 1.0));
    let ticks = nice_ticks(lo, hi);
    let shown: Vec<String> = rows.iter().map(|r| fit(&r.label, MAX_LABEL_W)).collect();
    let left = shown.iter().map(|l| text_width(l)).fold(40.0, f64::max) + 16.0;
    let sc = Scale::from_ticks(&ticks, left + 10.0, WIDTH - 30.0);
    let bottom = TOP + rows.len() as f64 * ROW;
    let height = bottom + 52.0;

    let mut s = String::new();
    open(&mut s, WIDTH, height, title);
    x_axis(&mut s, sc, &ticks, bottom + 4.0, Some(TOP - 4.0));
    if reference.is_finite() {
        let rx = sc.map(reference);
        let attrs = r##"stroke="#999999" stroke-dasharray="5 4""##;
        line(&mut s, "reference", (rx, TOP - 4.0), (rx, bottom + 4.0), attrs);
    }
    let stroke = format!(r#"stroke="{}" stroke-width="1.5""#, PALETTE[0]);
    for (i, (row, label)) in rows.iter().zip(&shown).enumerate() {
        let yc = TOP + (i as f64 + 0.5) * ROW;
        text(&mut s, left - 8.0, yc + 4.0, "end", label);
        if !valid(row) {
            continue;
        }
        let (a, b) = (row.low.min(row.high), row.low.max(row.high));
        let (xa, xb) = (sc.map(a), sc.map(b));
        line(&mut s, "ci", (xa, yc), (xb, yc), &stroke);
        line(&mut s, "ci-cap", (xa, yc - 4.0), (xa, yc + 4.0), &stroke);
        line(&mut s, "ci-cap", (xb, yc - 4.0), (xb, yc + 4.0), &stroke);
        let (cx, color, name) = (num(sc.map(row.estimate)), PALETTE[0], escape(&row.label));
        w!(s, r#"<circle class="estimate" cx="{cx}" cy="{}" r="4" fill="{color}"><title>{name}: "#, num(yc));
        w!(s, "{} [{}, {}]</title></circle>", fmt_value(row.estimate), fmt_value(a), fmt_value(b));
    }
    text(&mut s, f64::midpoint(sc.r0, sc.r1), bottom + 42.0, "middle", x_title);
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    const NAN: f64 = f64::NAN;
    const INF: f64 = f64::INFINITY;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }
    fn ser(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series { name: name.into(), points }
    }
    fn frow(label: &str, estimate: f64, low: f64, high: f64) -> ForestRow {
        ForestRow { label: label.into(), estimate, low, high }
    }
    fn count(s: &str, pat: &str) -> usize {
        s.matches(pat).count()
    }

    /// Tag-stack scan (every opened tag closed, self-closing ignored), known entities only,
    /// numeric attribute tokens with ≤ 2 decimals, no NaN/inf text, no external references.
    fn check(svg: String) -> String {
        assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" viewBox="0 0 "#));
        assert!(svg.ends_with("</svg>") && svg.contains("</title>"));
        let (mut stack, mut rest) = (Vec::new(), svg.as_str());
        while let Some(i) = rest.find('<') {
            let (tag, tail) = rest[i + 1..].split_once('>').expect("unterminated tag");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name), "mismatched close");
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap_or(""));
            }
            for value in tag.split("=\"").skip(1).filter_map(|p| p.split('"').next()) {
                for tok in value.split([' ', ',', '(', ')']).filter(|t| t.parse::<f64>().is_ok()) {
                    assert!(tok.split_once('.').map_or(0, |(_, d)| d.len()) <= 2, "too many decimals: {tok}");
                }
            }
            rest = tail;
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        for (i, _) in svg.match_indices('&') {
            assert!(["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|e| svg[i..].starts_with(e)));
        }
        for bad in ["NaN", "inf", "href", "<image", "<script", "url(", "@import"] {
            assert!(!svg.contains(bad), "found {bad}");
        }
        svg
    }

    #[test]
    fn escaping_and_fmt_values() {
        assert_eq!(escape(r#"a&b<c>"d'e"#), "a&amp;b&lt;c&gt;&quot;d&#39;e");
        assert_eq!((escape("重要价值客户"), escape("x\u{1}y")), ("重要价值客户".into(), "xy".into()));
        assert_eq!(
            (fit("abcdefgh", 30.0), fit("重要价值客户", 60.0), text_width("ab重")),
            ("abc…".into(), "重要价值…".into(), 27.0)
        );
        let cases = [(0.0, "0"), (-0.0, "0"), (12.0, "12"), (1_234_567.0, "1234567"), (0.123_456, "0.1235")];
        let more = [(-0.5, "-0.5"), (7.654_32, "7.654"), (1234.56, "1235"), (0.000_012_34, "1.234e-5")];
        for (v, want) in cases.into_iter().chain(more).chain([(NAN, ""), (INF, ""), (-INF, "")]) {
            assert_eq!(fmt_value(v), want, "{v}");
        }
        assert_eq!((num(1.23456), num(-0.001), num(NAN)), ("1.23".into(), "0".into(), "0".into()));
    }

    #[test]
    fn ticks() {
        let close = |a: &[f64], b: &[f64]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9);
        assert!(close(&nice_ticks(0.0, 1.0), &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]));
        assert!(close(&nice_ticks(0.0, 873.0), &[0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]));
        assert!(close(&nice_ticks(-0.3, 0.45), &[-0.4, -0.2, 0.0, 0.2, 0.4, 0.6]));
        for (a, b) in [(0.0, 0.3), (1.0, 1.0), (0.0, 0.0), (-5.0, 3.0), (2.0, 9.7), (1e-9, 3e-9), (-1e308, 1e308)] {
            let t = nice_ticks(a, b);
            assert!((2..=6).contains(&t.len()) && t.iter().all(|x| x.is_finite()), "{a}..{b}: {t:?}");
            assert!(t[0] <= a.min(b) && t[t.len() - 1] >= a.max(b), "{a}..{b}: {t:?}");
        }
        assert_eq!(nice_ticks(NAN, INF).len(), 6);
    }

    #[test]
    fn bar_chart_marks() {
        let labels = strings(&["重要价值客户", "A & <B>", "lost", "neg"]);
        let svg = check(bar_chart("Segments & 价值", "customers", &labels, &[1234.0, 56.5, 0.0, -20.0]));
        assert_eq!(count(&svg, r#"<rect class="bar""#), 4);
        assert!(svg.contains("<title>重要价值客户: 1234</title>") && svg.contains("A &amp; &lt;B&gt;"));
        assert!(svg.contains(r#"aria-label="Segments &amp; 价值""#));
        assert_eq!(svg, bar_chart("Segments & 价值", "customers", &labels, &[1234.0, 56.5, 0.0, -20.0]));
        let long = bar_chart("t", "v", &strings(&["重要价值客户重要价值客户"]), &[1.0]);
        let x_of =
            |s: &str| s.split(r#"class="bar" x=""#).nth(1).and_then(|r| r.split('"').next()?.parse::<f64>().ok());
        assert!(x_of(&long) > x_of(&bar_chart("t", "v", &strings(&["a"]), &[1.0])));
        let tall = bar_chart("t", "v", &(0..40).map(|i| format!("r{i}")).collect::<Vec<_>>(), &[1.0; 40]);
        assert!(tall.contains(&format!("height=\"{}\"", 40 + 40 * 24 + 36)));
    }

    #[test]
    fn heat_map_marks() {
        let (xs, ys) = (strings(&["M1", "M2", "M3"]), strings(&["2024-01", "2024-02"]));
        let cells = vec![vec![Some(1.0), Some(0.5), None], vec![Some(0.8), Some(NAN), Some(0.1)]];
        let svg = check(heat_map("Retention", &xs, &ys, &cells, Some(0.8)));
        assert_eq!((count(&svg, r#"<rect class="cell""#), count(&svg, r#"<rect class="hit""#)), (6, 2));
        assert!(svg.contains("≥ 0.8"));
        let many: Vec<String> = (0..30).map(|i| format!("column number {i}")).collect();
        let row: Vec<Option<f64>> = (0..30).map(|i| Some(f64::from(i))).collect();
        let svg = check(heat_map("wide", &many, &ys, &[row.clone(), row], None));
        assert_eq!(count(&svg, r#"<rect class="cell""#), 60);
        assert!(svg.contains("rotate(-45"));
    }

    #[test]
    fn line_chart_marks() {
        let roc = ser("model <A>", vec![(0.0, 0.0), (0.1, 0.5), (0.4, 0.8), (1.0, 1.0)]);
        let base = ser("基线", (0..=100).map(|i| (f64::from(i) / 100.0, f64::from(i) / 100.0)).collect());
        let svg = check(line_chart("ROC", "FPR", "TPR", &[roc, base], true));
        assert_eq!((count(&svg, "<polyline"), count(&svg, r#"class="diagonal""#)), (2, 1));
        let many: Vec<Series> = (0..12).map(|i| ser(&format!("s{i}"), vec![(0.0, 1.0), (1.0, f64::from(i))])).collect();
        let svg = check(line_chart("many", "x", "y", &many, false));
        assert_eq!(count(&svg, "<polyline"), 12);
    }

    #[test]
    fn forest_marks() {
        let rows =
            [frow("重要价值客户", 0.05, -0.01, 0.11), frow("x<y", -0.02, -0.04, 0.0), frow("bad", NAN, 0.0, 1.0)];
        let svg = check(forest_plot("Uplift", "uplift", &rows, 0.0));
        assert_eq!((count(&svg, r#"<circle class="estimate""#), count(&svg, r#"class="reference""#)), (2, 1));
        assert!(svg.contains(">bad</text>"));
    }

    #[test]
    fn empty_inputs() {
        for svg in [
            bar_chart("t", "v", &[], &[]),
            heat_map("t", &[], &[], &[], None),
            heat_map("t", &strings(&["a"]), &strings(&["b"]), &[vec![]], None),
            line_chart("t", "x", "y", &[], true),
            line_chart("t", "x", "y", &[ser("s", vec![])], true),
            forest_plot("t", "x", &[], 0.0),
        ] {
            let svg = check(svg);
            assert!(svg.contains(">no data</text>"));
        }
    }

    #[test]
    fn non_finite_inputs() {
        let labels = strings(&["a", "b", "c", "d"]);
        let line = |pts: Vec<(f64, f64)>| line_chart("t", "x", "y", &[ser("s", pts)], true);
        let max = f64::MAX;
        let svgs = [
            bar_chart("t", "v", &labels, &[NAN, INF, -INF, 1.0]),
            bar_chart("t", "v", &labels, &[NAN; 4]),
            bar_chart("t", "v", &labels, &[max, -max, 0.0, 1.0]),
            heat_map("t", &labels, &labels, &[vec![Some(NAN), Some(INF)], vec![None]], Some(NAN)),
            heat_map("t", &labels, &labels, &[vec![Some(max), Some(-max)]], Some(INF)),
            line(vec![(NAN, 1.0), (INF, 2.0), (0.0, -INF)]),
            line(vec![(0.0, max), (1.0, -max), (NAN, NAN)]),
            line(vec![(0.5, 0.5)]),
            forest_plot("t", "x", &[frow("r", INF, NAN, 1.0)], NAN),
            forest_plot("t", "x", &[frow("r", 1.0, max, -max)], INF),
        ];
        let svgs = svgs.map(check);
        assert_eq!(count(&svgs[0], r#"<rect class="bar""#), 1);
    }

    #[test]
    fn mismatched_lengths() {
        let labels = strings(&["a", "b", "c"]);
        let svg = check(bar_chart("t", "v", &labels, &[1.0]));
        assert_eq!(count(&svg, r#"<rect class="bar""#), 1);
        assert_eq!(count(&bar_chart("t", "v", &labels[..1], &[1.0, 2.0, 3.0]), r#"<rect class="bar""#), 1);
        let ragged = vec![vec![Some(1.0)], vec![Some(2.0), Some(3.0), Some(4.0), Some(5.0)], vec![]];
        let svg = check(heat_map("t", &labels, &labels[..2], &ragged, Some(2.0)));
        assert_eq!(count(&svg, r#"<rect class="cell""#), 6);
    }
}
