//! `baken demo citrix-2020 --days N`: the crisis replayed day by day, from the disclosure on
//! 17 December 2019, through the real chain, under both shipped policies.
//!
//! Each policy gets a store of its own and the same synthetic country (the one-day demo's
//! registry, routing table, RPSL dump and Citrix hosts). Every day, on a replayed clock
//! ([`baken_store::set_clock`]):
//!
//! 1. 06:00 — a Shadowserver Vulnerable-HTTP report of the hosts still vulnerable is
//!    written and ingested (from the second day on); a host missing from it is verified
//!    fixed by the ingest itself;
//! 2. before that, at 05:00, the replies some owners sent after fixing are imported from a
//!    Maildir ([`App::import_replies`]): their findings are claimed fixed until the report
//!    verifies them;
//! 3. 09:00 — a notify round: first notices, follow-ups, reminders, escalations and
//!    compromise checks, as the lifecycle decides.
//!
//! How hosts get fixed is the demo's model, not data, and the report says so
//! ([`assumptions`]): a host nobody told is fixed at a time drawn from the public shape of
//! the crisis (vulnerable Citrix servers counted world-wide: about 129,000 on 1 January,
//! 115,000 on 10 January, a fall from 98,000 to 38,000 on 15 January, 14,000 around
//! 23 January, 8,100 on 3 February); a host whose owner side was told is fixed at that time
//! or within a couple of days of being told, whichever comes first.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use baken_app::App;
use baken_deliver::Outbox;
use baken_feeds::{FeedKind, Options};
use baken_model::{OrgId, Owner};
use baken_pipeline::NoProgress;
use baken_pipeline::advisories::ImportOutcome;
use baken_pipeline::ingest::{Input, Settings};
use baken_pipeline::report::ReportOptions;
use baken_store::{FindingQuery, FindingState, MessageState, prelude::*};
use chrono::{DateTime, Duration, TimeZone, Utc};
use plotters::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::generate::{self, CITRIX_INCIDENT, CITRIX_TAG, Params};
use crate::{DemoError, Result, fresh_app, io_error, notify_request};

/// Where the multi-day replay reads and writes.
pub struct DaysOptions {
    /// Sizes and seed of the synthetic country.
    pub params: Params,
    /// Days to replay from 17 December 2019 (45 reaches 31 January 2020).
    pub days: u32,
    /// Output directory: per policy its feeds, replies, outbox and report; `days.html`.
    pub out: PathBuf,
    /// Directory of the replay's databases (one per policy, wiped at the start).
    pub db_dir: PathBuf,
    /// The policy whose figures lead the summary (both shipped policies are replayed).
    pub policy: String,
}

/// One policy's crisis.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyDays {
    /// The policy.
    pub policy: String,
    /// Messages delivered, by kind (first, follow-up, reminder, escalation, compromise).
    pub messages: BTreeMap<String, u64>,
    /// Follow-up messages (findings a recipient had not been told before).
    pub follow_up_messages: u64,
    /// Escalations.
    pub escalations: u64,
    /// Replies imported.
    pub replies: u64,
    /// Findings verified fixed by a later report at the end.
    pub verified_fixed: u64,
    /// Findings not verified fixed at the end.
    pub still_open: u64,
    /// Hosts fixed before any report found them (no finding): `verified_fixed + still_open +
    /// never_found` is every host.
    pub never_found: u64,
    /// Host-days vulnerable, from the disclosure to the end of the replay.
    pub exposure_host_days: f64,
    /// Of those, of hosts of non-vital organisations.
    pub exposure_host_days_non_vital: f64,
    /// Median hours from the first message carrying a finding to its verified fix, by path
    /// (direct, cert, dtc, hoster, not-reached; `null` when nothing was measured).
    pub median_hours_to_fix: BTreeMap<String, Option<f64>>,
    /// Vulnerable hosts at each day's scan.
    pub vulnerable_per_day: Vec<u64>,
    /// The policy's evaluation (`baken report`), as HTML.
    pub report: String,
}

/// The whole replay; `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct DaysSummary {
    /// Days replayed.
    pub days: u32,
    /// The first day (the disclosure).
    pub start: String,
    /// Vulnerable hosts at the disclosure.
    pub hosts: u64,
    /// The policy whose figures these are.
    pub policy: String,
    /// Findings verified fixed at the end (under `policy`).
    pub verified_fixed: u64,
    /// Findings not verified fixed at the end (under `policy`).
    pub still_open: u64,
    /// Follow-up messages (under `policy`).
    pub follow_up_messages: u64,
    /// Escalations (under `policy`).
    pub escalations: u64,
    /// Median hours to fix by path (under `policy`).
    pub median_hours_to_fix: BTreeMap<String, Option<f64>>,
    /// Host-days vulnerable, by policy.
    pub exposure_host_days: BTreeMap<String, f64>,
    /// Every policy's figures.
    pub policies: BTreeMap<String, PolicyDays>,
    /// What the demo assumes (its model of fixing, replying and exploitation).
    pub assumptions: Vec<String>,
    /// The side-by-side page.
    pub report: String,
}

/// When the replay begins: Citrix's disclosure.
fn disclosure() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2019, 12, 17, 0, 0, 0)
        .single()
        .expect("a valid date")
}

/// Exploitation began when exploit code was published (10 January 2020).
fn exploitation() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 1, 10, 0, 0, 0)
        .single()
        .expect("a valid date")
}

/// The day (after the disclosure) of the advisory's second revision: 16 January 2020.
const REVISION_DAY: u32 = 30;

/// The demo advisory as first released: revision 1 of its history, without the vendor fix
/// that only the second revision announced.
fn first_revision(latest: &[u8]) -> Result<Vec<u8>> {
    let bad = |what: &str| DemoError::Usage(format!("the demo advisory {what}"));
    let mut doc: serde_json::Value =
        serde_json::from_slice(latest).map_err(|e| bad(&format!("is not JSON: {e}")))?;
    let tracking = doc
        .pointer_mut("/document/tracking")
        .ok_or_else(|| bad("has no tracking"))?;
    let history = tracking["revision_history"]
        .as_array()
        .and_then(|h| h.first())
        .cloned()
        .ok_or_else(|| bad("has no revision history"))?;
    tracking["version"] = history["number"].clone();
    tracking["current_release_date"] = history["date"].clone();
    tracking["revision_history"] = serde_json::json!([history]);
    if let Some(vulns) = doc["vulnerabilities"].as_array_mut() {
        for v in vulns {
            if let Some(r) = v["remediations"].as_array_mut() {
                r.retain(|r| r["category"] != "vendor_fix");
            }
        }
    }
    serde_json::to_vec_pretty(&doc).map_err(|e| bad(&format!("does not serialise: {e}")))
}

/// Imports one revision of the demo advisory; it must be accepted.
fn import_revision(app: &mut App, bytes: &[u8], path: &Path) -> Result<()> {
    match app.import_advisory_bytes(bytes, &path.display().to_string(), None)? {
        ImportOutcome::Imported { .. } => Ok(()),
        other => Err(DemoError::Usage(format!(
            "a revision of the demo advisory did not import: {other:?}"
        ))),
    }
}

/// Mean days from being told to fixing, for an owner side that was told.
const TOLD_MEAN_DAYS: f64 = 2.5;
/// Share of hosts a scan finds only after the first report (between day 2 and day 30).
const LATE_SHARE: f64 = 0.15;
/// Share of owners told directly that reply once they have fixed.
const REPLY_SHARE: f64 = 0.5;

/// The share of vulnerable hosts left on day `d` after the disclosure, in the shape of the
/// public counts (1.0 until 1 January 2020).
pub fn remaining(d: f64) -> f64 {
    const ANCHORS: [(f64, f64); 8] = [
        (0.0, 1.0),
        (15.0, 1.0),   // 1 January: 129,000
        (24.0, 0.891), // 10 January: 115,000
        (28.0, 0.760), // 14 January: 98,000
        (29.0, 0.295), // 15 January: 38,000
        (37.0, 0.109), // 23 January: 14,000
        (48.0, 0.063), // 3 February: 8,100
        (80.0, 0.040),
    ];
    if d <= 0.0 {
        return 1.0;
    }
    for w in ANCHORS.windows(2) {
        let ((d0, f0), (d1, f1)) = (w[0], w[1]);
        if d <= d1 {
            return f0 + (f1 - f0) * (d - d0) / (d1 - d0);
        }
    }
    ANCHORS[ANCHORS.len() - 1].1
}

/// The day (after the disclosure) when the share left first falls to `u`; infinite when it
/// never does in the curve.
fn fixed_at(u: f64) -> f64 {
    if u >= 1.0 {
        return 15.0;
    }
    let (mut lo, mut hi) = (0.0f64, 80.0f64);
    if remaining(hi) > u {
        return f64::INFINITY;
    }
    for _ in 0..50 {
        let mid = (lo + hi) / 2.0;
        if remaining(mid) > u {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// What the demo assumes, for the report.
pub fn assumptions() -> Vec<String> {
    vec![
        "The vulnerable population is the one-day demo's Citrix hosts; it is scanned daily \
         from 18 December 2019 (a Shadowserver report at 06:00) and a host missing from one \
         report is verified fixed (verify_after_reports = 1)."
            .into(),
        format!(
            "{:.0} % of the hosts are found by a scan only later, on a day between 19 December \
             2019 and 15 January 2020 (scans improve); until then nobody can be told about them.",
            LATE_SHARE * 100.0
        ),
        "A host nobody told is fixed at a time drawn from the public shape of the crisis \
         (world-wide counts: about 129,000 on 1 January, 115,000 on 10 January, 98,000 → \
         38,000 on 15 January, 14,000 around 23 January, 8,100 on 3 February 2020)."
            .into(),
        format!(
            "A host whose owner, CERT, the DTC or hosting provider received a message naming it \
             is fixed at that time or within a random delay after the message (exponential, \
             mean {TOLD_MEAN_DAYS} days, at least 0.3 days), whichever is earlier: told \
             organisations fix faster."
        ),
        format!(
            "{:.0} % of the owners told directly reply after fixing, before the next scan (\"We \
             have patched the system\"); the replies go through `inbox import`.",
            REPLY_SHARE * 100.0
        ),
        "Exploitation began on 10 January 2020 (public exploit code): hosts still seen \
         vulnerable after it get, once fixed, a request to check for compromise."
            .into(),
        "The advisory is imported as first released on 17 December, and its second revision \
         (fixed builds announced, mitigation judged insufficient) on 16 January; notify runs \
         daily at 09:00; deadlines and escalation are those of each policy's [lifecycle]."
            .into(),
    ]
}

/// One vulnerable host of the synthetic country.
struct Host {
    ip: String,
    /// The first day a scan finds it (scans improve: some hosts are found late).
    appears: f64,
    /// Its row of the generated report (the time is rewritten per day).
    record: Vec<String>,
    /// When it is fixed if nobody tells anyone (days after the disclosure).
    untold_fix: f64,
    /// When it is fixed, as far as decided (days after the disclosure).
    fix: f64,
    /// When a message naming it was first delivered.
    told: Option<f64>,
    /// The random delay from being told to fixing.
    delay: f64,
    /// Whether its owner replies after fixing.
    replies: bool,
    /// Whether a report has held it.
    found: bool,
}

/// Runs the replay under every shipped policy.
pub fn run(options: &DaysOptions) -> Result<DaysSummary> {
    let input = options.out.join("input");
    let generated = generate::generate(&options.params, &input)?;
    let mut policies = BTreeMap::new();
    let mut hosts_count = 0;
    for name in baken_policy::Policy::builtin_names() {
        let (days, hosts) = replay(options, &generated, name)?;
        hosts_count = hosts;
        policies.insert(name.to_string(), days);
    }
    baken_store::set_clock(None);
    let lead = policies
        .get(&options.policy)
        .or_else(|| policies.values().next())
        .cloned()
        .ok_or_else(|| DemoError::Usage("no policy was replayed".into()))?;
    let page = options.out.join("days.html");
    let summary = DaysSummary {
        days: options.days,
        start: disclosure().to_rfc3339(),
        hosts: hosts_count,
        policy: lead.policy.clone(),
        verified_fixed: lead.verified_fixed,
        still_open: lead.still_open,
        follow_up_messages: lead.follow_up_messages,
        escalations: lead.escalations,
        median_hours_to_fix: lead.median_hours_to_fix.clone(),
        exposure_host_days: policies
            .iter()
            .map(|(k, v)| (k.clone(), v.exposure_host_days))
            .collect(),
        policies,
        assumptions: assumptions(),
        report: page.display().to_string(),
    };
    std::fs::write(&page, html(&summary)).map_err(io_error(&page))?;
    Ok(summary)
}

/// The hosts of the generated report that carry the Citrix tag, with their rows.
fn citrix_hosts(feed: &Path, seed: u64) -> Result<(Vec<String>, Vec<Host>)> {
    let mut reader = csv::Reader::from_path(feed).map_err(|e| DemoError::Io {
        path: feed.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| DemoError::Io {
            path: feed.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(ip_col), Some(tag_col)) = (col("ip"), col("tag")) else {
        return Err(DemoError::Usage(
            "the generated report has no ip or tag column".into(),
        ));
    };
    let mut rng = StdRng::seed_from_u64(seed ^ 0x2019_1217);
    let mut hosts = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| DemoError::Io {
            path: feed.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let ip = record.get(ip_col).unwrap_or("");
        if record.get(tag_col) != Some(CITRIX_TAG) || ip.parse::<std::net::IpAddr>().is_err() {
            continue;
        }
        let untold_fix = fixed_at(rng.r#gen::<f64>());
        let delay = 0.3 + -TOLD_MEAN_DAYS * (1.0 - rng.r#gen::<f64>()).ln();
        // most hosts are in the first report; some are found only later, the last ones
        // after exploitation began
        let appears = if rng.gen_bool(LATE_SHARE) {
            rng.gen_range(2.0..30.0)
        } else {
            1.0
        };
        hosts.push(Host {
            ip: ip.to_string(),
            appears,
            record: record.iter().map(str::to_string).collect(),
            untold_fix,
            fix: untold_fix,
            told: None,
            delay,
            replies: rng.gen_bool(REPLY_SHARE),
            found: false,
        });
    }
    Ok((header, hosts))
}

/// Replays the days under one policy; returns its figures and the number of hosts.
fn replay(
    options: &DaysOptions,
    generated: &generate::Generated,
    policy_name: &str,
) -> Result<(PolicyDays, u64)> {
    let dir = options.out.join(policy_name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
    }
    std::fs::create_dir_all(dir.join("feeds")).map_err(io_error(&dir))?;
    let day =
        |d: u32, hour: i64| disclosure() + Duration::days(i64::from(d)) + Duration::hours(hour);
    baken_store::set_clock(Some(day(0, 8)));
    let mut app = fresh_app(&options.db_dir.join(policy_name))?;
    app.import_registry(&generated.registry, false)?;
    app.import_routing(&generated.pfx2as)?;
    app.import_rpsl(std::slice::from_ref(&generated.rpsl))?;
    let attributor = app.attributor()?;
    let bytes = std::fs::read(&generated.advisory).map_err(io_error(&generated.advisory))?;
    // the advisory as first released, on the day of the disclosure; its revision of
    // 16 January (fixed builds announced, mitigation judged insufficient) on that day
    let first = first_revision(&bytes)?;
    import_revision(&mut app, &first, &generated.advisory)?;
    app.mark_exploited(
        CITRIX_INCIDENT,
        exploitation().timestamp(),
        "demo assumption: exploit code published 10 January 2020",
    )?;
    let request = notify_request(CITRIX_INCIDENT, policy_name);
    let mut outbox = Outbox::new(dir.join("outbox"))?;
    let settings = Settings {
        verify_after_reports: app.policy(policy_name)?.lifecycle().verify_after_reports,
        ..Settings::default()
    };

    let (header, mut hosts) = citrix_hosts(&generated.feed, options.params.seed)?;
    let mut vulnerable_per_day = Vec::new();
    let mut replies = 0u64;
    let mut rng = StdRng::seed_from_u64(options.params.seed ^ 0x0c17);
    for d in 0..options.days {
        let scan = f64::from(d) + 0.25;
        if d == REVISION_DAY {
            baken_store::set_clock(Some(day(d, 8)));
            import_revision(&mut app, &bytes, &generated.advisory)?;
        }
        // 05:00: replies of owners who fixed since the last scan
        let fixed_since: Vec<&Host> = hosts
            .iter()
            .filter(|h| h.replies && h.told.is_some() && h.fix <= scan && h.fix > scan - 1.0)
            .collect();
        if d >= 1 && !fixed_since.is_empty() {
            baken_store::set_clock(Some(day(d, 5)));
            let written = write_replies(app.store(), &dir, d, &fixed_since, &attributor)?;
            if written.1 > 0 {
                app.import_replies(&[written.0])?;
                replies += written.1;
            }
        }
        // 06:00: the day's report of the hosts still vulnerable
        if d >= 1 {
            baken_store::set_clock(Some(day(d, 6)));
            let date = day(d, 0).format("%Y-%m-%d").to_string();
            let feed = dir
                .join("feeds")
                .join(format!("{date}-scan_http_vulnerable-nl-geo-asn.csv"));
            let mut w = csv::Writer::from_path(&feed).map_err(|e| DemoError::Io {
                path: feed.display().to_string(),
                source: std::io::Error::other(e.to_string()),
            })?;
            let to_io = |e: csv::Error| DemoError::Io {
                path: feed.display().to_string(),
                source: std::io::Error::other(e.to_string()),
            };
            w.write_record(&header).map_err(to_io)?;
            let mut n = 0;
            for h in hosts
                .iter_mut()
                .filter(|h| h.fix > scan && h.appears <= scan)
            {
                h.found = true;
                let mut record = h.record.clone();
                let minute = rng.gen_range(0..300);
                record[0] = format!("{date} {:02}:{:02}:00", minute / 60, minute % 60);
                w.write_record(&record).map_err(to_io)?;
                n += 1;
            }
            w.flush().map_err(io_error(&feed))?;
            drop(w);
            vulnerable_per_day.push(n);
            app.ingest(
                &Input {
                    path: feed,
                    feed: FeedKind::Shadowserver,
                },
                &Options::default(),
                &settings,
                &NoProgress,
            )?;
        } else {
            vulnerable_per_day.push(hosts.len() as u64);
        }
        // 09:00: a notify round
        baken_store::set_clock(Some(day(d, 9)));
        app.notify(&request, &mut outbox, &NoProgress)?;
        // who was told by now: their hosts are fixed sooner
        let store = app.store();
        let told_ids: BTreeSet<i64> = store
            .disclosures(CITRIX_INCIDENT)?
            .into_iter()
            .filter(|x| {
                x.state == MessageState::Sent && (x.form == "full" || x.form == "own-assets")
            })
            .map(|x| x.finding)
            .collect();
        let ips: HashMap<i64, String> = store
            .finding_records(&FindingQuery {
                incident: Some(CITRIX_INCIDENT.into()),
                ..FindingQuery::default()
            })?
            .into_iter()
            .map(|f| (f.id, f.addr))
            .collect();
        let told_ips: BTreeSet<&str> = told_ids
            .iter()
            .filter_map(|id| ips.get(id).map(String::as_str))
            .collect();
        let now = f64::from(d) + 9.0 / 24.0;
        for h in hosts.iter_mut() {
            if h.told.is_none() && h.fix > now && told_ips.contains(h.ip.as_str()) {
                h.told = Some(now);
                h.fix = h.untold_fix.min(now + h.delay);
            }
        }
    }

    // the figures, from the record
    let store = app.store();
    let findings = store.finding_records(&FindingQuery {
        incident: Some(CITRIX_INCIDENT.into()),
        ..FindingQuery::default()
    })?;
    let verified_fixed = findings
        .iter()
        .filter(|f| f.state == FindingState::VerifiedFixed)
        .count() as u64;
    let non_vital: BTreeSet<&str> = findings
        .iter()
        .filter(|f| match &f.attribution.owner {
            Owner::Organisation { id } => attributor
                .organisation(&OrgId(id.0.clone()))
                .is_none_or(|o| !o.vital),
            _ => true,
        })
        .map(|f| f.addr.as_str())
        .collect();
    let end = f64::from(options.days);
    let exposure = |h: &Host| h.fix.min(end).max(0.0);
    let mut messages: BTreeMap<String, u64> = BTreeMap::new();
    for m in store.messages(Some(CITRIX_INCIDENT))? {
        if m.state == MessageState::Sent {
            *messages.entry(m.kind.as_str().to_string()).or_default() += 1;
        }
    }
    let report = app.report(CITRIX_INCIDENT, policy_name, &ReportOptions::default())?;
    let page = dir.join("report.html");
    std::fs::write(&page, baken_pipeline::report::html::html(&report)).map_err(io_error(&page))?;
    let median_hours_to_fix = report
        .time_to_fix
        .by_path
        .iter()
        .map(|s| (s.group.clone(), s.median_hours))
        .collect();
    let days = PolicyDays {
        policy: policy_name.to_string(),
        follow_up_messages: messages.get("follow-up").copied().unwrap_or(0),
        escalations: messages.get("escalation").copied().unwrap_or(0),
        messages,
        replies,
        verified_fixed,
        still_open: findings.len() as u64 - verified_fixed,
        never_found: hosts.iter().filter(|h| !h.found).count() as u64,
        exposure_host_days: hosts.iter().map(exposure).sum(),
        exposure_host_days_non_vital: hosts
            .iter()
            .filter(|h| non_vital.contains(h.ip.as_str()))
            .map(exposure)
            .sum(),
        median_hours_to_fix,
        vulnerable_per_day,
        report: page.display().to_string(),
    };
    Ok((days, hosts.len() as u64))
}

/// Writes, into a fresh Maildir for day `d`, a reply from each host's owner to the latest
/// message delivered to it directly; returns the Maildir and the replies written.
fn write_replies(
    store: &dyn Store,
    dir: &Path,
    d: u32,
    fixed: &[&Host],
    attributor: &baken_attribute::Attributor,
) -> Result<(PathBuf, u64)> {
    let maildir = dir.join("replies").join(format!("day-{d:02}"));
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).map_err(io_error(&maildir))?;
    }
    let findings: HashMap<String, Owner> = store
        .finding_records(&FindingQuery {
            incident: Some(CITRIX_INCIDENT.into()),
            ..FindingQuery::default()
        })?
        .into_iter()
        .map(|f| (f.addr, f.attribution.owner))
        .collect();
    let messages = store.messages(Some(CITRIX_INCIDENT))?;
    let mut owners: BTreeSet<String> = BTreeSet::new();
    for h in fixed {
        if let Some(Owner::Organisation { id }) = findings.get(&h.ip) {
            owners.insert(id.0.clone());
        }
    }
    let mut written = 0;
    for owner in owners {
        let Some(m) = messages
            .iter()
            .rev()
            .find(|m| m.party == owner && m.state == MessageState::Sent && m.path == "direct")
        else {
            continue;
        };
        let name = attributor
            .organisation(&OrgId(owner.clone()))
            .map_or(owner.clone(), |o| o.name.clone());
        let mut mail = String::new();
        let date = (disclosure() + Duration::days(i64::from(d)) + Duration::hours(4))
            .format("%a, %d %b %Y %H:%M:%S +0000");
        let _ = write!(
            mail,
            "From: {name} <{}>\r\nTo: NCSC baken <baken@ncsc.example>\r\nSubject: Re: {}\r\n\
             Date: {date}\r\nMessage-ID: <reply-{d}-{owner}@replies.example>\r\n\
             In-Reply-To: <{}@ncsc.example>\r\nReferences: <{}@ncsc.example>\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n\
             Hello,\r\n\r\nWe have patched the system and applied the vendor's mitigation.\r\n\r\n\
             Regards,\r\n{name}\r\n",
            m.recipient,
            m.ticket
                .map(|t| format!("[baken#{t}] CVE-2019-19781"))
                .unwrap_or_else(|| "CVE-2019-19781".into()),
            m.key,
            m.key
        );
        let path = maildir.join("new").join(format!("{d:02}-{owner}.eml"));
        std::fs::write(&path, mail).map_err(io_error(&path))?;
        written += 1;
    }
    Ok((maildir, written))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Vulnerable hosts per day under each policy, as one self-contained SVG.
fn curve_svg(s: &DaysSummary) -> String {
    let y_max = s.hosts.max(1) as f64 * 1.05;
    let x_max = f64::from(s.days.max(1));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 380)).into_drawing_area();
        let draw = || -> std::result::Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    "Hosts found vulnerable by each day's scan, by policy",
                    ("sans-serif", 18),
                )
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
            chart
                .configure_mesh()
                .x_desc("days since the disclosure (17 December 2019)")
                .y_desc("vulnerable hosts")
                .draw()?;
            for (i, (name, p)) in s.policies.iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                chart
                    .draw_series(LineSeries::new(
                        p.vulnerable_per_day
                            .iter()
                            .enumerate()
                            .map(|(d, n)| (d as f64, *n as f64)),
                        color.stroke_width(2),
                    ))?
                    .label(name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .border_style(BLACK)
                .background_style(WHITE.mix(0.8))
                .draw()?;
            root.present()?;
            Ok(())
        };
        if let Err(e) = draw() {
            tracing::warn!(error = %e, "the curve could not be drawn");
        }
    }
    svg
}

fn hours(h: Option<f64>) -> String {
    h.map_or_else(|| "–".into(), |h| format!("{h:.0} h"))
}

/// The side-by-side page: assumptions, figures per policy and the curve.
fn html(s: &DaysSummary) -> String {
    let mut rows = String::new();
    let paths: BTreeSet<&String> = s
        .policies
        .values()
        .flat_map(|p| p.median_hours_to_fix.keys())
        .collect();
    for (name, p) in &s.policies {
        let mut medians = String::new();
        for path in &paths {
            let _ = write!(
                medians,
                "<td>{}</td>",
                hours(p.median_hours_to_fix.get(*path).copied().flatten())
            );
        }
        let kinds = p
            .messages
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{:.0}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{medians}</tr>",
            esc(name),
            p.exposure_host_days,
            p.exposure_host_days_non_vital,
            p.verified_fixed,
            p.still_open,
            esc(&kinds),
            p.replies
        );
    }
    let path_heads: String = paths
        .iter()
        .map(|p| format!("<th>median to fix: {}</th>", esc(p)))
        .collect();
    let assumptions: String = s
        .assumptions
        .iter()
        .map(|a| format!("<li>{}</li>\n", esc(a)))
        .collect();
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Citrix 2020, {days} days replayed</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.2em .5em;text-align:right}}
th{{background:#eee}}</style></head><body>
<h1>The Citrix crisis replayed: {days} days from 17 December 2019</h1>
<p>{hosts} vulnerable hosts at the disclosure. Both shipped policies replayed on the same days
through the real chain (ingest, verification by the next report, replies, notify with
follow-ups, reminders, escalations and compromise checks).</p>
<h2>Side by side</h2>
<table><tr><th>policy</th><th>exposure (host-days)</th><th>of non-vital organisations</th>
<th>verified fixed</th><th>still open</th><th>messages</th><th>replies</th>{path_heads}</tr>
{rows}</table>
<p>Hours to fix run from the first message naming a finding to its verified fix, by the
path of that message; each policy's full evaluation is in its own report
(<code>{policy}/report.html</code> beside this page).</p>
{svg}
<h2>What the demo assumes</h2>
<ul>
{assumptions}</ul>
</body></html>
"#,
        days = s.days,
        hosts = s.hosts,
        policy = esc(&s.policy),
        svg = curve_svg(s),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_shape_falls_as_the_counts_did() {
        assert_eq!(remaining(0.0), 1.0);
        assert_eq!(remaining(15.0), 1.0);
        assert!((remaining(24.0) - 0.891).abs() < 1e-9);
        assert!(remaining(29.0) < 0.3 && remaining(28.0) > 0.75);
        assert!(remaining(80.0) < remaining(48.0));
        // the inverse finds the day a share is left
        for u in [0.95, 0.8, 0.5, 0.2, 0.07] {
            let d = fixed_at(u);
            assert!((remaining(d) - u).abs() < 1e-6, "{u}: {d}");
        }
        assert!(fixed_at(0.01).is_infinite(), "some never fix");
    }
}
