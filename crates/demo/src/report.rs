//! The demo's HTML report: the figures of the summary and a chart of the timeline.

use plotters::prelude::*;

use super::{DemoSummary, seconds_between};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Cumulative digests written against seconds since the feed was received, as SVG.
pub(super) fn timeline_svg(summary: &DemoSummary) -> String {
    let start = summary
        .timeline
        .iter()
        .find(|s| s.step == "feed-received")
        .map(|s| s.at.clone())
        .unwrap_or_default();
    let mut points = vec![(0.0f64, 0u64)];
    let mut n = 0;
    for s in summary
        .timeline
        .iter()
        .filter(|s| s.step == "digest-written")
    {
        n += 1;
        points.push((seconds_between(&start, &s.at), n));
    }
    let ingested = summary.seconds_to_ingested;
    let x_max = points
        .last()
        .map(|p| p.0)
        .unwrap_or(1.0)
        .max(ingested)
        .max(0.001)
        * 1.05;
    let y_max = (n.max(1) as f64 * 1.1).ceil() as u64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 360)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    "Digests written since the feed was received",
                    ("sans-serif", 18),
                )
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..x_max, 0..y_max)?;
            chart
                .configure_mesh()
                .x_desc("seconds since the feed was received")
                .y_desc("digests written")
                .draw()?;
            chart
                .draw_series(LineSeries::new(points.iter().copied(), &BLUE))?
                .label("digests written (cumulative)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
            chart
                .draw_series(LineSeries::new(
                    vec![(ingested, 0), (ingested, y_max)],
                    RED.stroke_width(1),
                ))?
                .label("feed ingested and attributed")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .border_style(BLACK)
                .background_style(WHITE.mix(0.8))
                .draw()?;
            root.present()?;
            Ok(())
        };
        if let Err(e) = draw() {
            tracing::warn!(error = %e, "timeline chart could not be drawn");
        }
    }
    svg
}

/// The whole report as one self-contained HTML page.
pub(super) fn html(s: &DemoSummary) -> String {
    let mut sectors = String::new();
    for (sector, r) in &s.by_sector {
        sectors.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(sector),
            r.affected,
            r.notified,
            r.unreachable
        ));
    }
    let mut reasons = String::new();
    for (reason, n) in &s.unreachable_reasons {
        reasons.push_str(&format!("<tr><td>{}</td><td>{n}</td></tr>\n", esc(reason)));
    }
    let mut steps = String::new();
    let start = s
        .timeline
        .iter()
        .find(|t| t.step == "feed-received")
        .map(|t| t.at.clone())
        .unwrap_or_default();
    for t in s.timeline.iter().filter(|t| t.step != "digest-written") {
        steps.push_str(&format!(
            "<tr><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&t.at),
            seconds_between(&start, &t.at),
            esc(&t.step),
            esc(&t.detail)
        ));
    }
    let mut policies = String::new();
    for (name, r) in &s.policies {
        let path = |p: &str| r.by_path.get(p).copied().unwrap_or(0);
        policies.push_str(&format!(
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(name),
            if *name == s.policy { " (sent)" } else { "" },
            r.affected,
            r.reached,
            r.registered_reached,
            r.non_vital_reached,
            path("direct"),
            path("cert"),
            path("dtc"),
            path("hoster"),
            r.unreachable
        ));
    }
    let path = |p: &str| s.reached_by_path.get(p).copied().unwrap_or(0);
    let mut quarantine = String::new();
    for q in &s.quarantine_samples {
        quarantine.push_str(&format!("<li><code>{}</code></li>\n", esc(q)));
    }
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>baken — Citrix 2020 replay ({incident})</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; }}
th {{ background: #f3f3f3; }}
.big {{ font-size: 1.4rem; }}
</style></head><body>
<h1>Citrix 2020 replay — {advisory} (CVE-2019-19781)</h1>
<p>Advisory {advisory}: severity {severity}. Exposure from scans and declared inventories:
{exposure} organisations affected ({evidence}).</p>
<p class="big">{affected} organisations affected ({vital} vital, {non_vital} non-vital).
Under policy <b>{policy}</b>, {notified} were told — {direct} directly, {cert} through their CERT,
{dtc} through the DTC, {hoster} through their hosting provider — and {unreachable} could not be told.
{holders_reached} of {holders} groups of unregistered addresses were reached through their
hosting provider; {unattributed} addresses have no known owner.
Last message written <b>{secs:.2} s</b> after the feed was received.</p>
<h2>Reach under each policy</h2>
<p>The same findings, planned under each shipped policy (only <b>{policy}</b> was sent).</p>
<table><tr><th>policy</th><th>affected parties</th><th>reached</th><th>registered reached</th>
<th>non-vital reached</th><th>direct</th><th>CERT</th><th>DTC</th><th>hoster</th><th>unreachable</th></tr>
{policies}</table>
<h2>Timeline</h2>
{svg}
<table><tr><th>time (UTC)</th><th>seconds</th><th>step</th><th>detail</th></tr>
{steps}</table>
<h2>Input</h2>
<table>
<tr><th>rows read</th><td>{read}</td></tr>
<tr><th>stored</th><td>{stored}</td></tr>
<tr><th>already stored</th><td>{dup}</td></tr>
<tr><th>quarantined</th><td>{quarantined}</td></tr>
<tr><th>registry entries</th><td>{registry}</td></tr>
<tr><th>findings for {incident_upper}</th><td>{findings}</td></tr>
</table>
<ul>{quarantine}</ul>
<h2>Affected organisations by sector</h2>
<table><tr><th>sector</th><th>affected</th><th>told (any path)</th><th>unreachable</th></tr>
{sectors}</table>
<h2>Unreachable, and why</h2>
<table><tr><th>reason</th><th>parties</th></tr>
{reasons}</table>
<p>Digests: {messages}, delivered to {outbox}.</p>
</body></html>
"#,
        incident = esc(&s.incident),
        advisory = esc(&s.advisory),
        severity = esc(&s.severity),
        exposure = s.exposure_affected_orgs,
        evidence = esc(&s
            .exposure_by_evidence
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")),
        incident_upper = esc(&s.incident.to_ascii_uppercase()),
        affected = s.affected_orgs,
        vital = s.affected_vital,
        non_vital = s.affected_non_vital,
        notified = s.notified_orgs,
        policy = esc(&s.policy),
        direct = path("direct"),
        cert = path("cert"),
        dtc = path("dtc"),
        hoster = path("hoster"),
        holders = s.unregistered_holders,
        holders_reached = s.unregistered_reached,
        policies = policies,
        unreachable = s.unreachable_orgs,
        unattributed = s.unattributed_hosts,
        secs = s.seconds_to_last_notification,
        svg = timeline_svg(s),
        read = s.rows_read,
        stored = s.rows_stored,
        dup = s.rows_duplicate,
        quarantined = s.rows_quarantined,
        registry = s.registry_orgs,
        findings = s.incident_findings,
        messages = s.messages,
        outbox = esc(&s.outbox),
    )
}
