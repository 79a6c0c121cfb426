//! Figures with plotters (pure Rust), an embedded font, PNG and SVG from the same code.
//! Log axes are drawn as linear axes over log10 values with `1e{n}` tick labels, so one code
//! path serves every panel.

use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The embedded font (DejaVu Sans; license in `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Registers the embedded font as "sans-serif" (idempotent).
pub fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// A palette that stays distinguishable in print.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A line (or dashed line) with a legend name.
pub struct Series {
    pub name: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

/// One chart.
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub xlog: bool,
    pub ylog: bool,
    pub series: Vec<Series>,
    /// Colored dots (scatter plots).
    pub dots: Vec<(f64, f64, RGBColor)>,
    /// Big black crosses (K-Means centers).
    pub crosses: Vec<(f64, f64)>,
}

impl Panel {
    pub fn new(title: &str, x_label: &str, y_label: &str, xlog: bool, ylog: bool) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            xlog,
            ylog,
            series: vec![],
            dots: vec![],
            crosses: vec![],
        }
    }
}

/// Values below this are drawn at this floor on log axes (exact zeros).
pub const LOG_FLOOR: f64 = 1e-16;

fn tr(v: f64, log: bool) -> f64 {
    if log {
        v.max(LOG_FLOOR).log10()
    } else {
        v
    }
}

fn range(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Panel) -> Result<(), String> {
    let xs = p
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|q| tr(q.0, p.xlog)));
    let xs2 = p.dots.iter().map(|q| tr(q.0, p.xlog));
    let (x0, x1) = range(xs.chain(xs2));
    let ys = p
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|q| tr(q.1, p.ylog)));
    let ys2 = p.dots.iter().map(|q| tr(q.1, p.ylog));
    let (y0, y1) = range(ys.chain(ys2));
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(52)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    let fmt = |log: bool| move |v: &f64| tick(if log { 10f64.powf(*v) } else { *v });
    let (fx, fy) = (fmt(p.xlog), fmt(p.ylog));
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .label_style(("sans-serif", 11))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| e.to_string())?;
    if !p.dots.is_empty() {
        chart
            .draw_series(p.dots.iter().map(|&(x, y, c)| {
                Circle::new((tr(x, p.xlog), tr(y, p.ylog)), 2, c.mix(0.55).filled())
            }))
            .map_err(|e| e.to_string())?;
    }
    let mut any_label = false;
    for s in &p.series {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|&(x, y)| (tr(x, p.xlog), tr(y, p.ylog)))
            .collect();
        let style = s.color.stroke_width(2);
        let color = s.color;
        if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(pts, 6, 4, style))
                .map_err(|e| e.to_string())?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(1))
                });
        } else {
            chart
                .draw_series(LineSeries::new(pts, style))
                .map_err(|e| e.to_string())?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
        }
        any_label |= !s.name.is_empty();
    }
    if !p.crosses.is_empty() {
        chart
            .draw_series(p.crosses.iter().map(|&(x, y)| {
                Cross::new((tr(x, p.xlog), tr(y, p.ylog)), 6, BLACK.stroke_width(3))
            }))
            .map_err(|e| e.to_string())?;
    }
    if any_label {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", 11))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn draw_all<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    panels: &[Panel],
    cols: usize,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let root = root
        .titled(title, ("sans-serif", 22))
        .map_err(|e| e.to_string())?;
    let rows = panels.len().div_ceil(cols);
    let areas = root.split_evenly((rows, cols));
    for (area, panel) in areas.iter().zip(panels) {
        draw_panel(area, panel)?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Writes `stem.png` and `stem.svg` in `dir`: the panels in a grid of `cols` columns.
pub fn save(
    dir: &Path,
    stem: &str,
    title: &str,
    panels: &[Panel],
    cols: usize,
) -> Result<(), String> {
    register_font();
    // A grid no wider than the panels (one data set: one panel), and wide enough for a title.
    let cols = cols.min(panels.len()).max(1);
    let rows = panels.len().div_ceil(cols) as u32;
    let size = ((420 * cols as u32).max(960), 40 + 330 * rows);
    let png = dir.join(format!("{stem}.png"));
    draw_all(
        BitMapBackend::new(&png, size).into_drawing_area(),
        title,
        panels,
        cols,
    )?;
    let svg = dir.join(format!("{stem}.svg"));
    draw_all(
        SVGBackend::new(&svg, size).into_drawing_area(),
        title,
        panels,
        cols,
    )?;
    Ok(())
}

/// An axis tick as a reader writes it: `8`, `0.25`, `-1.5`, `100`; `3e-4` and `2e6` outside
/// `[1e-3, 1e5)`.
pub fn tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.0e}");
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::tick;

    #[test]
    fn ticks_read_like_numbers() {
        for (v, want) in [
            (8.0, "8"),
            (0.25, "0.25"),
            (-1.5, "-1.5"),
            (100.0, "100"),
            (1.0, "1"),
            (0.1, "0.1"),
            (3e-4, "3e-4"),
            (2e6, "2e6"),
            (0.0, "0"),
            (-0.0001, "-1e-4"),
            (12.3456, "12.346"),
        ] {
            assert_eq!(tick(v), want, "{v}");
        }
    }
}
