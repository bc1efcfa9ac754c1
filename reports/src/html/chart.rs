//! Chart geometry for the report's inline SVG: data in, pixel coordinates,
//! axis ticks and path strings out. The template (`reports/macros.html`)
//! only places what is computed here, so every label in a chart goes through
//! tera's autoescaping like any other text, and nothing is marked safe.

use serde::Serialize;

/// One data point; `tip` is shown on hover (an SVG `<title>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub tip: String,
}

/// One series: its name (legend), CSS class (`s0`…`s5`, colors), points,
/// and whether its points are joined by a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub class: String,
    pub points: Vec<Point>,
    pub line: bool,
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct ChartSpec {
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Ticks on whole numbers only (e.g. ladder rungs).
    pub x_integer: bool,
    /// Start the y axis at 0 when all values are non-negative.
    pub y_from_zero: bool,
    pub series: Vec<Series>,
}

/// A chart ready to place: everything in SVG user units.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub id: String,
    pub title: String,
    pub width: f64,
    pub height: f64,
    /// The plotting area.
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    pub x_label: String,
    pub y_label: String,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
    pub series: Vec<SeriesView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    /// Pixel position along its axis.
    pub pos: f64,
    pub label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeriesView {
    pub name: String,
    pub class: String,
    /// SVG path data (`M x y L x y …`), numbers only; empty when not a line.
    pub path: String,
    pub points: Vec<PointView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PointView {
    pub cx: f64,
    pub cy: f64,
    pub tip: String,
}

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 62.0;
const RIGHT_PAD: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM_PAD: f64 = 46.0;

/// A "nice" step (1, 2 or 5 × 10^k) giving about `target` intervals over `span`.
fn nice_step(span: f64, target: f64) -> f64 {
    if span <= 0.0 || !span.is_finite() {
        return 1.0;
    }
    let raw = span / target;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Tick values covering `[lo, hi]`, and the rounded-out range.
fn ticks(lo: f64, hi: f64, integer: bool) -> (Vec<f64>, f64, f64) {
    let (lo, hi) = if hi - lo <= 0.0 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let mut step = nice_step(hi - lo, 5.0);
    if integer {
        step = step.max(1.0).round();
    }
    let start = (lo / step).floor() * step;
    let end = (hi / step).ceil() * step;
    let n = ((end - start) / step).round() as usize;
    let values = (0..=n).map(|i| start + i as f64 * step).collect();
    (values, start, end)
}

/// A tick label: no more decimals than the step needs.
fn tick_label(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    let s = format!("{v:.decimals$}");
    if s == "-0" { "0".into() } else { s }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Lays out `spec` as a line/scatter chart with axes and ticks. Non-finite
/// points are dropped.
pub fn layout(spec: &ChartSpec) -> Chart {
    let finite = |p: &&Point| p.x.is_finite() && p.y.is_finite();
    let all: Vec<&Point> = spec
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(finite)
        .collect();
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = all.iter().fold(
        (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ),
        |(a, b, c, d), p| (a.min(p.x), b.max(p.x), c.min(p.y), d.max(p.y)),
    );
    if all.is_empty() {
        (x_lo, x_hi, y_lo, y_hi) = (0.0, 1.0, 0.0, 1.0);
    }
    if spec.y_from_zero && y_lo >= 0.0 {
        y_lo = 0.0;
    }
    let (x_vals, x0, x1) = ticks(x_lo, x_hi, spec.x_integer);
    let (y_vals, y0, y1) = ticks(y_lo, y_hi, false);
    let (left, top, right, bottom) = (LEFT, TOP, WIDTH - RIGHT_PAD, HEIGHT - BOTTOM_PAD);
    let px = |x: f64| round1(left + (x - x0) / (x1 - x0) * (right - left));
    let py = |y: f64| round1(bottom - (y - y0) / (y1 - y0) * (bottom - top));
    let x_step = x_vals.get(1).map_or(1.0, |v| v - x_vals[0]);
    let y_step = y_vals.get(1).map_or(1.0, |v| v - y_vals[0]);
    let series = spec
        .series
        .iter()
        .map(|s| {
            let pts: Vec<&Point> = s.points.iter().filter(finite).collect();
            let path = if s.line {
                pts.iter()
                    .enumerate()
                    .map(|(i, p)| {
                        format!("{}{} {}", if i == 0 { "M" } else { " L" }, px(p.x), py(p.y))
                    })
                    .collect()
            } else {
                String::new()
            };
            SeriesView {
                name: s.name.clone(),
                class: s.class.clone(),
                path,
                points: pts
                    .iter()
                    .map(|p| PointView {
                        cx: px(p.x),
                        cy: py(p.y),
                        tip: p.tip.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    Chart {
        id: spec.id.clone(),
        title: spec.title.clone(),
        width: WIDTH,
        height: HEIGHT,
        left,
        top,
        right,
        bottom,
        x_label: spec.x_label.clone(),
        y_label: spec.y_label.clone(),
        x_ticks: x_vals
            .iter()
            .map(|&v| Tick {
                pos: px(v),
                label: tick_label(v, x_step),
            })
            .collect(),
        y_ticks: y_vals
            .iter()
            .map(|&v| Tick {
                pos: py(v),
                label: tick_label(v, y_step),
            })
            .collect(),
        series,
    }
}

/// Lays out `spec` on log-log axes: points are placed at `(log10 x,
/// log10 y)` (non-positive values are dropped) and tick labels show the
/// original values through `x_label_of` / `y_label_of`, so a power law
/// `y ∝ x^a` draws as a straight line of slope `a`.
pub fn layout_log_log(
    spec: &ChartSpec,
    x_label_of: fn(f64) -> String,
    y_label_of: fn(f64) -> String,
) -> Chart {
    let log = |v: f64| if v > 0.0 { v.log10() } else { f64::NAN };
    let logged = ChartSpec {
        x_integer: false,
        y_from_zero: false,
        series: spec
            .series
            .iter()
            .map(|s| Series {
                points: s
                    .points
                    .iter()
                    .map(|p| Point {
                        x: log(p.x),
                        y: log(p.y),
                        tip: p.tip.clone(),
                    })
                    .collect(),
                ..s.clone()
            })
            .collect(),
        ..spec.clone()
    };
    let mut chart = layout(&logged);
    for t in &mut chart.x_ticks {
        t.label = x_label_of(10f64.powf(t.label.parse::<f64>().unwrap_or(f64::NAN)));
    }
    for t in &mut chart.y_ticks {
        t.label = y_label_of(10f64.powf(t.label.parse::<f64>().unwrap_or(f64::NAN)));
    }
    chart
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(points: &[(f64, f64)]) -> ChartSpec {
        ChartSpec {
            id: "t".into(),
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_integer: true,
            y_from_zero: true,
            series: vec![Series {
                name: "a".into(),
                class: "s0".into(),
                points: points
                    .iter()
                    .map(|&(x, y)| Point {
                        x,
                        y,
                        tip: String::new(),
                    })
                    .collect(),
                line: true,
            }],
        }
    }

    #[test]
    fn nice_ticks_cover_the_data() {
        let (v, lo, hi) = ticks(0.0, 1.97, false);
        assert_eq!(lo, 0.0);
        assert!((1.97..=2.5).contains(&hi), "{hi}");
        assert!((4..=11).contains(&v.len()), "{v:?}");
        let (v, _, _) = ticks(0.0, 3.0, true);
        assert_eq!(v, vec![0.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn points_map_into_the_plot_area_and_path_is_numbers_only() {
        let c = layout(&spec(&[
            (0.0, 0.0),
            (1.0, 0.5),
            (3.0, 1.9),
            (2.0, f64::NAN),
        ]));
        let s = &c.series[0];
        assert_eq!(s.points.len(), 3, "NaN point dropped");
        for p in &s.points {
            assert!(p.cx >= c.left && p.cx <= c.right, "{p:?}");
            assert!(p.cy >= c.top && p.cy <= c.bottom, "{p:?}");
        }
        assert_eq!(s.points[0].cx, c.left);
        assert_eq!(s.points[0].cy, c.bottom);
        assert!(s.path.starts_with('M'));
        assert!(
            s.path
                .chars()
                .all(|ch| ch.is_ascii_digit() || " .-ML".contains(ch)),
            "{}",
            s.path
        );
    }

    #[test]
    fn empty_and_flat_data_do_not_divide_by_zero() {
        let c = layout(&spec(&[]));
        assert!(c.x_ticks.iter().all(|t| t.pos.is_finite()));
        let c = layout(&spec(&[(1.0, 2.0), (1.0, 2.0)]));
        assert!(
            c.series[0]
                .points
                .iter()
                .all(|p| p.cx.is_finite() && p.cy.is_finite())
        );
    }

    #[test]
    fn log_log_places_a_power_law_on_a_straight_line() {
        // y = x²: in log space the three points are collinear, so the middle
        // point sits halfway between the outer two in both pixel coordinates.
        let mut sp = spec(&[(10.0, 100.0), (100.0, 10_000.0), (1000.0, 1_000_000.0)]);
        sp.series[0].points.push(Point {
            x: 0.0,
            y: 1.0,
            tip: String::new(),
        });
        let c = layout_log_log(&sp, |v| format!("{v:.0}"), |v| format!("{v:.0}"));
        let p = &c.series[0].points;
        assert_eq!(p.len(), 3, "x = 0 has no logarithm and is dropped");
        assert!((p[1].cx - (p[0].cx + p[2].cx) / 2.0).abs() <= 0.1, "{p:?}");
        assert!((p[1].cy - (p[0].cy + p[2].cy) / 2.0).abs() <= 0.1, "{p:?}");
        assert!(
            c.x_ticks.iter().any(|t| t.label == "100"),
            "{:?}",
            c.x_ticks
        );
    }
}
