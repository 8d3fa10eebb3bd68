//! `baken demo citrix-2020`: the reference scenario, replayed on synthetic data.
//!
//! On 17 December 2019 Citrix disclosed CVE-2019-19781; the NCSC began informing vital
//! providers three weeks later, and afterwards nobody could say how many organisations had
//! been exposed. The demo generates a national registry, a Shadowserver Vulnerable-HTTP feed
//! in which a few thousand hosts carry the tag `citrix;cve-2019-19781`, a routing table and
//! an RPSL dump, then runs the whole chain — import → ingest → attribute → notify — and
//! reports who was affected, who was told, through which path, and how long it took.

pub mod generate;
mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use baken_deliver::Transport;
use baken_feeds::{FeedKind, Options};
use baken_store::{SqliteStore, Store, TimelineStep};
use chrono::DateTime;
use serde::Serialize;

use crate::imports;
use crate::ingest::{self, FileSummary, Input};
use crate::notify::{self, IncidentOutcome, NotifyOptions, Path as ReachPath};
use crate::{PipelineError, Progress, attributor_from_store, io_error};

pub use generate::{CITRIX_INCIDENT, Params};

/// Makes a progress indicator for a step: label and expected total (if known).
pub type ProgressFactory<'a> = &'a dyn Fn(&str, Option<u64>) -> Box<dyn Progress>;

/// Where the demo reads and writes.
pub struct DemoOptions {
    /// Sizes and seed.
    pub params: Params,
    /// Output directory: generated input, outbox, report.
    pub out: PathBuf,
    /// Directory of the demo's database (wiped at the start of each run).
    pub db_dir: PathBuf,
}

/// Affected organisations in one group.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Reach {
    /// Registered organisations with findings.
    pub affected: u64,
    /// Of those, reached directly.
    pub notified: u64,
    /// Of those, not reachable.
    pub unreachable: u64,
}

/// The demo's summary; `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    /// The incident replayed.
    pub incident: String,
    /// Organisations in the generated registry (all kinds).
    pub registry_orgs: u64,
    /// Feed rows read.
    pub rows_read: u64,
    /// Feed rows stored as events.
    pub rows_stored: u64,
    /// Feed rows already stored before.
    pub rows_duplicate: u64,
    /// Feed rows quarantined.
    pub rows_quarantined: u64,
    /// Quarantine reasons (the first few).
    pub quarantine_samples: Vec<String>,
    /// Events of the incident.
    pub incident_findings: u64,
    /// Registered organisations with at least one finding.
    pub affected_orgs: u64,
    /// Of those, vital providers.
    pub affected_vital: u64,
    /// Of those, non-vital.
    pub affected_non_vital: u64,
    /// Affected registered organisations by sector.
    pub by_sector: BTreeMap<String, Reach>,
    /// Registered organisations that received their digest.
    pub notified_orgs: u64,
    /// Registered organisations that could not be told.
    pub unreachable_orgs: u64,
    /// Abuse contacts (hosting providers) told of addresses nobody registered.
    pub abuse_contacts_notified: u64,
    /// Addresses covered by those abuse-contact digests.
    pub hosts_via_abuse_contact: u64,
    /// Addresses with no owner and no abuse contact.
    pub unattributed_hosts: u64,
    /// Why parties were unreachable: reason → number of parties.
    pub unreachable_reasons: BTreeMap<String, u64>,
    /// Digests delivered (all paths).
    pub messages: u64,
    /// Seconds from the feed being received to the last digest written.
    pub seconds_to_last_notification: f64,
    /// Seconds from the feed being received to the end of ingest.
    pub seconds_to_ingested: f64,
    /// The timeline of the run.
    pub timeline: Vec<TimelineStep>,
    /// Where the digests went.
    pub outbox: String,
    /// The HTML report.
    pub report: String,
    /// The generated input files.
    pub inputs: Vec<String>,
}

/// Runs the Citrix 2020 replay, delivering through `transport`.
pub fn run_citrix(
    options: &DemoOptions,
    transport: &mut dyn Transport,
    progress: ProgressFactory<'_>,
) -> Result<DemoSummary, PipelineError> {
    let input_dir = options.out.join("input");
    let generated = generate::generate(&options.params, &input_dir)?;

    if options.db_dir.exists() {
        std::fs::remove_dir_all(&options.db_dir).map_err(io_error(&options.db_dir))?;
    }
    let mut store = SqliteStore::open(&options.db_dir)?;
    let registry_orgs = imports::import_registry(&mut store, &generated.registry)?;
    imports::import_routing(&mut store, &generated.pfx2as)?;
    imports::import_rpsl(&mut store, std::slice::from_ref(&generated.rpsl))?;
    let attributor = attributor_from_store(&store)?;

    let bar = progress("ingest", Some(generated.feed_rows));
    let file = ingest::ingest_file(
        &mut store,
        &attributor,
        &Input {
            path: generated.feed.clone(),
            feed: FeedKind::Shadowserver,
        },
        &Options::default(),
        ingest::DEFAULT_BATCH,
        bar.as_ref(),
    )?;
    drop(bar);

    let bar = progress("notify", None);
    let outcomes = notify::notify(
        &mut store,
        &attributor,
        transport,
        &NotifyOptions {
            incident: Some(CITRIX_INCIDENT.into()),
            ..NotifyOptions::default()
        },
        bar.as_ref(),
    )?;
    drop(bar);
    let outcome = outcomes
        .into_iter()
        .next()
        .expect("one incident was asked for");

    let timeline = store.timeline(CITRIX_INCIDENT)?;
    let mut summary = summarise(
        &store,
        &attributor,
        registry_orgs,
        &file,
        &outcome,
        timeline,
    )?;
    summary.outbox = transport.describe();
    summary.inputs = [
        &generated.registry,
        &generated.feed,
        &generated.pfx2as,
        &generated.rpsl,
    ]
    .iter()
    .map(|p| p.display().to_string())
    .collect();
    let report_path = options.out.join("report.html");
    std::fs::write(&report_path, report::html(&summary)).map_err(io_error(&report_path))?;
    summary.report = report_path.display().to_string();
    let json_path = options.out.join("summary.json");
    std::fs::write(
        &json_path,
        serde_json::to_vec_pretty(&summary).expect("summary serialises"),
    )
    .map_err(io_error(&json_path))?;
    Ok(summary)
}

fn seconds_between(a: &str, b: &str) -> f64 {
    match (
        DateTime::parse_from_rfc3339(a),
        DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(a), Ok(b)) => (b - a).num_microseconds().unwrap_or(0) as f64 / 1e6,
        _ => 0.0,
    }
}

fn summarise(
    store: &SqliteStore,
    attributor: &baken_attribute::Attributor,
    registry_orgs: u64,
    file: &FileSummary,
    outcome: &IncidentOutcome,
    timeline: Vec<TimelineStep>,
) -> Result<DemoSummary, PipelineError> {
    let _ = store;
    let mut by_sector: BTreeMap<String, Reach> = BTreeMap::new();
    let (mut vital, mut non_vital) = (0, 0);
    let notified: std::collections::BTreeSet<&str> = outcome
        .digests
        .iter()
        .filter(|d| d.path == ReachPath::Direct && d.state == baken_store::MessageState::Sent)
        .map(|d| d.party.as_str())
        .collect();
    for id in &outcome.affected_orgs {
        let org = attributor.organisation(&baken_model::OrgId(id.clone()));
        let sector = org
            .and_then(|o| o.sector.clone())
            .unwrap_or_else(|| "(unknown)".into());
        if org.is_some_and(|o| o.vital) {
            vital += 1;
        } else {
            non_vital += 1;
        }
        let reach = by_sector.entry(sector).or_default();
        reach.affected += 1;
        if notified.contains(id.as_str()) {
            reach.notified += 1;
        } else {
            reach.unreachable += 1;
        }
    }
    let abuse: Vec<_> = outcome
        .digests
        .iter()
        .filter(|d| d.path == ReachPath::AbuseContact && d.state == baken_store::MessageState::Sent)
        .collect();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut unattributed_hosts = 0;
    let mut unreachable_orgs = 0;
    for u in &outcome.unreachable {
        if outcome.affected_orgs.contains(&u.party) {
            unreachable_orgs += 1;
        } else {
            unattributed_hosts += 1;
        }
        *reasons.entry(generalise(&u.reason)).or_default() += 1;
    }
    let start = timeline
        .iter()
        .find(|s| s.step == "feed-received")
        .map(|s| s.at.clone())
        .unwrap_or_default();
    let ingested = timeline
        .iter()
        .find(|s| s.step == "ingested")
        .map(|s| seconds_between(&start, &s.at))
        .unwrap_or(0.0);
    let last = timeline
        .iter()
        .rfind(|s| s.step == "digest-written")
        .map(|s| seconds_between(&start, &s.at))
        .unwrap_or(0.0);
    Ok(DemoSummary {
        incident: outcome.incident.clone(),
        registry_orgs,
        rows_read: file.read,
        rows_stored: file.stored,
        rows_duplicate: file.duplicate,
        rows_quarantined: file.quarantined,
        quarantine_samples: file.quarantine_samples.clone(),
        incident_findings: outcome.findings as u64,
        affected_orgs: outcome.affected_orgs.len() as u64,
        affected_vital: vital,
        affected_non_vital: non_vital,
        by_sector,
        notified_orgs: notified.len() as u64,
        unreachable_orgs,
        abuse_contacts_notified: abuse.len() as u64,
        hosts_via_abuse_contact: abuse.iter().map(|d| d.findings as u64).sum(),
        unattributed_hosts,
        unreachable_reasons: reasons,
        messages: outcome.sent() as u64,
        seconds_to_last_notification: last,
        seconds_to_ingested: ingested,
        timeline,
        outbox: String::new(),
        report: String::new(),
        inputs: Vec::new(),
    })
}

/// Groups reasons that differ only in the address they name.
fn generalise(reason: &str) -> String {
    reason
        .split_whitespace()
        .map(|w| {
            let bare = w.trim_matches(|c: char| ",;:()".contains(c));
            if bare.parse::<std::net::IpAddr>().is_ok() || bare.parse::<ipnet::IpNet>().is_ok() {
                "<address>"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The default output directory of the demo.
pub fn default_out() -> PathBuf {
    Path::new("baken-out").join("citrix-2020")
}
