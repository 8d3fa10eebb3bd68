//! `baken report`, `timeline` and `indicators`: the evaluation the record gives, presented.
//! The figures are computed by `baken_pipeline::report`; this module only prints them.

use std::path::Path;

use anyhow::{Context, Result};
use baken_app::App;
use baken_model::Tlp;
use baken_pipeline::report::{self, Counts, FixStats, Moment, PATHS, ReportOptions};
use chrono::{DateTime, NaiveDate, Utc};

/// How many never-reached parties the text lists before "… N more".
const UNREACHED_SHOWN: usize = 20;

/// A time as given on the command line: RFC 3339, or a date (its midnight, UTC).
fn parse_when(text: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let day: NaiveDate = text.parse().with_context(|| {
        format!("--exploited-since {text:?}: write an RFC 3339 time or a date such as 2020-01-10")
    })?;
    Ok(day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
}

fn hours(h: Option<f64>) -> String {
    h.map_or_else(|| "-".into(), |h| format!("{h:.1}"))
}

fn moment(m: Option<&Moment>) -> String {
    match m {
        Some(m) => format!(
            "{} ({} h) {}",
            m.at,
            m.hours.map_or_else(|| "?".into(), |h| format!("{h:+.1}")),
            m.what
        ),
        None => "-".into(),
    }
}

fn counts(label: &str, c: &Counts) {
    println!(
        "  {label:<32} {:>6} = {:>6} + {:>6}",
        c.affected, c.reached, c.unreachable
    );
}

fn fix_row(s: &FixStats) {
    println!(
        "  {:<20} {:>8} {:>6} {:>6} {:>8} {:>8} {:>8}",
        s.group,
        s.findings,
        s.fixed,
        s.still_open,
        s.measured,
        hours(s.median_hours),
        hours(s.p90_hours)
    );
}

/// `baken report INCIDENT`.
pub fn report(
    data: &Path,
    incident: &str,
    policy: &str,
    tlp: Tlp,
    exploited_since: Option<&str>,
    html: Option<&Path>,
    json: bool,
) -> Result<()> {
    let options = ReportOptions {
        exploited_since: exploited_since.map(parse_when).transpose()?,
        tlp,
    };
    let r = App::open(data)?.report(incident, policy, &options)?;
    if let Some(path) = html {
        std::fs::write(path, report::html::html(&r))
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "incident {}: {} findings (reasons from the plan under policy {})",
        r.incident, r.findings, r.policy
    );
    println!();
    println!("definitions");
    for d in &r.definitions {
        println!("  {}: {}", d.term, d.meaning);
    }
    println!();
    println!("timeline (hours since disclosure)");
    println!(
        "  disclosure          {}",
        moment(r.timeline.disclosure.as_ref())
    );
    println!(
        "  first finding seen  {}",
        moment(r.timeline.first_seen.as_ref())
    );
    for p in &r.timeline.paths {
        if p.messages == 0 {
            println!("  {:<10} no messages", p.path);
            continue;
        }
        println!("  {:<10} messages: {}", p.path, p.messages);
        println!("    first  {}", moment(p.first.as_ref()));
        println!("    last   {}", moment(p.last.as_ref()));
    }
    println!();
    let reach = &r.reach;
    println!("affected = reached + unreachable");
    counts("all parties", &reach.total);
    counts("registered organisations", &reach.organisations);
    counts("  vital", &reach.vital);
    counts("  non-vital", &reach.non_vital);
    for (sector, c) in &reach.by_sector {
        counts(&format!("  sector {sector}"), c);
    }
    counts("unregistered holders", &reach.unregistered_holders);
    counts("addresses with no known holder", &reach.unattributed);
    if !reach.by_path.is_empty() {
        println!(
            "  reached per path: {}",
            reach
                .by_path
                .iter()
                .map(|(p, n)| format!("{p} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!();
    println!("open findings at each day's end (UTC), by path of the first message");
    let head: String = PATHS.iter().map(|p| format!(" {p:>11}")).collect();
    println!(
        "  {:<10} {:>6}{head} {:>6} {:>9}",
        "day", "open", "vital", "non-vital"
    );
    for d in &r.curve {
        let cells: String = PATHS
            .iter()
            .map(|p| format!(" {:>11}", d.by_path.get(*p).copied().unwrap_or(0)))
            .collect();
        println!(
            "  {:<10} {:>6}{cells} {:>6} {:>9}",
            d.day, d.open, d.vital, d.non_vital
        );
    }
    println!();
    println!("time to fix (hours from the first delivered message to the verified fix)");
    println!(
        "  {:<20} {:>8} {:>6} {:>6} {:>8} {:>8} {:>8}",
        "path", "findings", "fixed", "open", "measured", "median", "p90"
    );
    fix_row(&r.time_to_fix.all);
    for s in &r.time_to_fix.by_path {
        fix_row(s);
    }
    println!(
        "  {:<20} {:>8} {:>6} {:>6} {:>8} {:>8} {:>8}",
        "sector", "findings", "fixed", "open", "measured", "median", "p90"
    );
    for s in &r.time_to_fix.by_sector {
        fix_row(s);
    }
    println!();
    match &r.exploitation {
        Some(e) => println!(
            "exploitation began {}: {} findings verified fixed before, {} after (check them for \
             compromise), {} still open",
            e.since, e.fixed_before, e.fixed_after, e.still_open
        ),
        None => println!("exploitation: no start given (--exploited-since)"),
    }
    println!();
    println!("never reached ({})", r.unreachable.len());
    for u in r.unreachable.iter().take(UNREACHED_SHOWN) {
        println!(
            "  {} ({}{}{}), {} findings: {}",
            u.id,
            u.name,
            u.sector
                .as_deref()
                .map(|s| format!(", {s}"))
                .unwrap_or_default(),
            if u.vital { ", vital" } else { "" },
            u.findings,
            u.reason
        );
    }
    if r.unreachable.len() > UNREACHED_SHOWN {
        println!(
            "  … {} more (--json lists them all)",
            r.unreachable.len() - UNREACHED_SHOWN
        );
    }
    let reports = &r.incident_reports;
    if reports.total > 0 {
        println!();
        println!(
            "incident reports citing it: {} ({}), {} of a compromise",
            reports.total,
            reports
                .by_sector
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            reports.compromised
        );
        for (report, open) in &reports.vital_compromised_with_open_findings {
            println!("  vital provider compromised with {open} findings still open: {report}");
        }
    }
    if let Some(path) = html {
        println!();
        println!("HTML report written to {}", path.display());
    }
    Ok(())
}

/// `baken timeline INCIDENT`.
pub fn timeline(data: &Path, incident: &str, json: bool) -> Result<()> {
    let entries = App::open(data)?.timeline(incident)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(());
    }
    if entries.is_empty() {
        println!("nothing recorded about {incident}");
    }
    for e in &entries {
        if e.detail.is_empty() {
            println!("{}  {:<8} {}", e.at, e.kind, e.what);
        } else {
            println!("{}  {:<8} {} — {}", e.at, e.kind, e.what, e.detail);
        }
    }
    Ok(())
}

/// `baken indicators`.
pub fn indicators(data: &Path, sector: Option<&str>, json: bool) -> Result<()> {
    let i = App::open(data)?.indicators(sector)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&i)?);
        return Ok(());
    }
    println!(
        "readiness indicators over {} incidents (hours are medians)",
        i.incidents
    );
    println!(
        "  {:<20} {:>8} {:>8} {:>10} {:>14} {:>8} {:>10}",
        "sector", "findings", "notified", "notify h", "coverage", "fix h", "verified"
    );
    let pct = |x: Option<f64>| x.map_or_else(|| "-".into(), |x| format!("{:.0}%", x * 100.0));
    for ind in std::iter::once(&i.nationwide).chain(&i.sectors) {
        println!(
            "  {:<20} {:>8} {:>8} {:>10} {:>14} {:>8} {:>10}",
            ind.sector,
            ind.findings,
            ind.notified,
            hours(ind.time_to_notify_hours),
            format!(
                "{}/{} {}",
                ind.reached_organisations,
                ind.affected_organisations,
                pct(ind.coverage)
            ),
            hours(ind.time_to_fix_hours),
            pct(ind.share_verified)
        );
    }
    println!(
        "  notify h: first sighting (or disclosure, when later) to the first delivered message;"
    );
    println!("  coverage: affected organisations reached, per incident; fix h: first message to");
    println!("  verified fix; verified: notified findings verified fixed");
    if !i.incident_reports.is_empty() {
        println!(
            "incident reports filed: {}",
            i.incident_reports
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}
