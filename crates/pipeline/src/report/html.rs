//! The incident report as one self-contained HTML page: the figures, the definitions, and
//! two SVG charts drawn with plotters (the remediation curve stacked by path, and time to fix
//! by path). Nothing is loaded from elsewhere: no scripts, style sheets, fonts or images.

use plotters::prelude::*;

use super::{CurveDay, FixStats, Moment, NOT_REACHED, PATHS, Report};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn hours(h: Option<f64>) -> String {
    h.map_or_else(|| "–".into(), |h| format!("{h:.1}"))
}

fn colour(path: &str) -> RGBColor {
    match path {
        "direct" => RGBColor(31, 119, 180),
        "cert" => RGBColor(44, 160, 44),
        "dtc" => RGBColor(255, 127, 14),
        "hoster" => RGBColor(148, 103, 189),
        _ => RGBColor(160, 160, 160),
    }
}

/// Open findings per day, stacked by path, as SVG.
pub fn curve_svg(curve: &[CurveDay]) -> String {
    let n = curve.len().max(1);
    let y_max = curve.iter().map(|d| d.open).max().unwrap_or(0).max(1) as f64 * 1.1;
    let label = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-9 && i >= 0.0 {
            curve
                .get(i as usize)
                .map(|d| d.day.clone())
                .unwrap_or_default()
        } else {
            String::new()
        }
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (820, 380)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    "Open findings at each day's end, by path",
                    ("sans-serif", 18),
                )
                .margin(12)
                .x_label_area_size(44)
                .y_label_area_size(56)
                .build_cartesian_2d(0.0..(n - 1).max(1) as f64, 0.0..y_max)?;
            chart
                .configure_mesh()
                .x_labels(n.min(12))
                .x_label_formatter(&label)
                .x_desc("day (UTC)")
                .y_desc("open findings")
                .draw()?;
            // stacked: each path's area reaches up to the sum of it and the paths below it
            let mut below = vec![0.0f64; curve.len()];
            let mut layers = Vec::new();
            for path in PATHS {
                let top: Vec<f64> = curve
                    .iter()
                    .zip(&below)
                    .map(|(d, b)| b + d.by_path.get(path).copied().unwrap_or(0) as f64)
                    .collect();
                layers.push((path, top.clone()));
                below = top;
            }
            for (path, top) in layers.iter().rev() {
                let c = colour(path);
                chart
                    .draw_series(AreaSeries::new(
                        top.iter().enumerate().map(|(i, y)| (i as f64, *y)),
                        0.0,
                        c.mix(0.85),
                    ))?
                    .label(*path)
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled())
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .border_style(BLACK)
                .background_style(WHITE.mix(0.85))
                .draw()?;
            root.present()?;
            Ok(())
        };
        if let Err(e) = draw() {
            tracing::warn!(error = %e, "the remediation curve could not be drawn");
        }
    }
    svg
}

/// Median and 90th percentile of the hours to fix per path, as grouped bars in SVG.
pub fn time_to_fix_svg(by_path: &[FixStats]) -> String {
    let rows: Vec<&FixStats> = by_path.iter().filter(|s| s.group != NOT_REACHED).collect();
    let n = rows.len().max(1) as u32;
    let y_max = rows
        .iter()
        .filter_map(|s| s.p90_hours.or(s.median_hours))
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.15;
    let names: Vec<String> = rows
        .iter()
        .map(|s| format!("{} ({} measured)", s.group, s.measured))
        .collect();
    let label = |v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (820, 360)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    "Hours from the first message to the verified fix, by path",
                    ("sans-serif", 18),
                )
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(56)
                .build_cartesian_2d((0..n).into_segmented(), 0.0..y_max)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_label_formatter(&label)
                .y_desc("hours")
                .draw()?;
            let median = RGBColor(31, 119, 180);
            let p90 = RGBColor(214, 39, 40);
            chart
                .draw_series(rows.iter().enumerate().map(|(i, s)| {
                    let i = i as u32;
                    Rectangle::new(
                        [
                            (SegmentValue::Exact(i), 0.0),
                            (SegmentValue::CenterOf(i), s.median_hours.unwrap_or(0.0)),
                        ],
                        median.filled(),
                    )
                }))?
                .label("median")
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], median.filled())
                });
            chart
                .draw_series(rows.iter().enumerate().map(|(i, s)| {
                    let i = i as u32;
                    Rectangle::new(
                        [
                            (SegmentValue::CenterOf(i), 0.0),
                            (SegmentValue::Exact(i + 1), s.p90_hours.unwrap_or(0.0)),
                        ],
                        p90.mix(0.8).filled(),
                    )
                }))?
                .label("90th percentile")
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], p90.filled()));
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .border_style(BLACK)
                .background_style(WHITE.mix(0.85))
                .draw()?;
            root.present()?;
            Ok(())
        };
        if let Err(e) = draw() {
            tracing::warn!(error = %e, "the time-to-fix chart could not be drawn");
        }
    }
    svg
}

fn moment_row(label: &str, m: Option<&Moment>) -> String {
    match m {
        Some(m) => format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(label),
            esc(&m.at),
            hours(m.hours),
            esc(&m.what)
        ),
        None => format!(
            "<tr><td>{}</td><td>–</td><td>–</td><td>none recorded</td></tr>\n",
            esc(label)
        ),
    }
}

fn fix_rows(stats: &[FixStats]) -> String {
    stats
        .iter()
        .map(|s| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&s.group),
                s.findings,
                s.fixed,
                s.still_open,
                s.measured,
                hours(s.median_hours),
                hours(s.p90_hours)
            )
        })
        .collect()
}

/// The whole report as one self-contained HTML page.
pub fn html(r: &Report) -> String {
    let mut definitions = String::new();
    for d in &r.definitions {
        definitions.push_str(&format!(
            "<dt>{}</dt><dd>{}</dd>\n",
            esc(d.term),
            esc(d.meaning)
        ));
    }
    let mut timeline = String::new();
    timeline.push_str(&moment_row("disclosure", r.timeline.disclosure.as_ref()));
    timeline.push_str(&moment_row(
        "first finding seen",
        r.timeline.first_seen.as_ref(),
    ));
    for p in &r.timeline.paths {
        timeline.push_str(&moment_row(
            &format!("{}: first of {} messages", p.path, p.messages),
            p.first.as_ref(),
        ));
        timeline.push_str(&moment_row(&format!("{}: last", p.path), p.last.as_ref()));
    }
    let reach = &r.reach;
    let mut groups = String::new();
    for (name, c) in [
        ("all affected parties", reach.total),
        ("registered organisations", reach.organisations),
        ("· vital", reach.vital),
        ("· non-vital", reach.non_vital),
        ("unregistered holders", reach.unregistered_holders),
        ("addresses with no known holder", reach.unattributed),
    ] {
        groups.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(name),
            c.affected,
            c.reached,
            c.unreachable
        ));
    }
    for (sector, c) in &reach.by_sector {
        groups.push_str(&format!(
            "<tr><td>organisations in {}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(sector),
            c.affected,
            c.reached,
            c.unreachable
        ));
    }
    let by_path: String = reach
        .by_path
        .iter()
        .map(|(p, n)| format!("{n} {}", esc(p)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut curve = String::new();
    for d in &r.curve {
        curve.push_str(&format!("<tr><td>{}</td><td>{}</td>", esc(&d.day), d.open));
        for p in PATHS {
            curve.push_str(&format!(
                "<td>{}</td>",
                d.by_path.get(p).copied().unwrap_or(0)
            ));
        }
        curve.push_str(&format!(
            "<td>{}</td><td>{}</td></tr>\n",
            d.vital, d.non_vital
        ));
    }
    let curve_head: String = PATHS.iter().map(|p| format!("<th>{p}</th>")).collect();
    let exploitation = match &r.exploitation {
        Some(e) => format!(
            "<p>Exploitation began {}: {} findings were verified fixed before, {} after \
             (their owners should check for compromise: {}), and {} are still open.</p>",
            esc(&e.since),
            e.fixed_before,
            e.fixed_after,
            esc(&e
                .fixed_after_by_path
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(p, n)| format!("{n} {p}"))
                .collect::<Vec<_>>()
                .join(", ")),
            e.still_open
        ),
        None => "<p>No start of exploitation was given.</p>".into(),
    };
    let mut unreachable = String::new();
    for u in &r.unreachable {
        unreachable.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&u.id),
            esc(&u.name),
            esc(u.sector.as_deref().unwrap_or("–")),
            if u.vital { "yes" } else { "no" },
            u.findings,
            esc(&u.reason)
        ));
    }
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>baken — report on {incident}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 62rem; margin: 2rem auto; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; }}
th {{ background: #f3f3f3; }}
dt {{ font-weight: bold; margin-top: .4rem; }}
.big {{ font-size: 1.3rem; }}
</style></head><body>
<h1>Incident {incident}</h1>
<p class="big">{findings} findings. {affected} parties affected = {reached} reached +
{unreachable_n} unreachable ({orgs} registered organisations, of which {orgs_reached} reached;
{holders} groups of unregistered holders, of which {holders_reached} reached; {unattributed}
addresses with no known holder). Reached per path: {by_path}.</p>
<p>Reasons for the unreachable come from the plan under policy <b>{policy}</b>.</p>
<h2>Definitions</h2>
<dl>
{definitions}</dl>
<h2>Timeline</h2>
<table><tr><th>moment</th><th>time (UTC)</th><th>hours since disclosure</th><th>what</th></tr>
{timeline}</table>
<h2>Affected, reached, unreachable</h2>
<table><tr><th>group</th><th>affected</th><th>reached</th><th>unreachable</th></tr>
{groups}</table>
<h2>Remediation</h2>
{curve_svg}
<table><tr><th>day</th><th>open</th>{curve_head}<th>vital</th><th>non-vital</th></tr>
{curve}</table>
<h2>Time to fix</h2>
{fix_svg}
<table><tr><th>path</th><th>findings</th><th>fixed</th><th>still open</th><th>measured</th><th>median h</th><th>p90 h</th></tr>
{fix_all}{fix_paths}</table>
<table><tr><th>sector</th><th>findings</th><th>fixed</th><th>still open</th><th>measured</th><th>median h</th><th>p90 h</th></tr>
{fix_sectors}</table>
<h2>Exploitation</h2>
{exploitation}
<h2>Never reached, and why</h2>
<table><tr><th>id</th><th>name</th><th>sector</th><th>vital</th><th>findings</th><th>reason</th></tr>
{unreachable}</table>
</body></html>
"#,
        incident = esc(&r.incident),
        findings = r.findings,
        affected = reach.total.affected,
        reached = reach.total.reached,
        unreachable_n = reach.total.unreachable,
        orgs = reach.organisations.affected,
        orgs_reached = reach.organisations.reached,
        holders = reach.unregistered_holders.affected,
        holders_reached = reach.unregistered_holders.reached,
        unattributed = reach.unattributed.affected,
        by_path = if by_path.is_empty() {
            "none".into()
        } else {
            by_path
        },
        policy = esc(&r.policy),
        curve_svg = curve_svg(&r.curve),
        fix_svg = time_to_fix_svg(&r.time_to_fix.by_path),
        fix_all = fix_rows(std::slice::from_ref(&r.time_to_fix.all)),
        fix_paths = fix_rows(&r.time_to_fix.by_path),
        fix_sectors = fix_rows(&r.time_to_fix.by_sector),
    )
}
