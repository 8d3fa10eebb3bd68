//! baken's reference scenario: the Citrix 2020 crisis, replayed on synthetic data through
//! the application core ([`baken_app::App`]), as `baken demo citrix-2020` runs it.
//!
//! On 17 December 2019 Citrix disclosed CVE-2019-19781; the NCSC began informing vital
//! providers three weeks later, and afterwards nobody could say how many organisations had
//! been exposed. The demo generates a national registry, a Shadowserver Vulnerable-HTTP feed
//! in which a few thousand hosts carry the tag `citrix;cve-2019-19781`, a routing table and
//! an RPSL dump, then runs the whole chain — import → ingest → attribute → notify — and
//! reports who was affected, who was told, through which path, and how long it took.
//! [`days`] replays the crisis day by day under both shipped policies.
//!
//! The demo is a front end like the command line: every import, ingest, notify round and
//! report goes through [`App`]'s calls, and it reads the record only through [`App::store`].
//!
//! ```no_run
//! use baken_demo::{DemoOptions, Params, run_citrix};
//! use baken_deliver::Outbox;
//! use baken_pipeline::NoProgress;
//! let options = DemoOptions {
//!     params: Params { orgs: 500, seed: 2020 },
//!     out: "baken-out/citrix-2020".into(),
//!     db_dir: "baken-data/demo/citrix-2020".into(),
//!     policy: "nl-2020".into(),
//! };
//! let mut outbox = Outbox::new(options.out.join("outbox"))?;
//! let summary = run_citrix(&options, &mut outbox, &|_, _| Box::new(NoProgress))?;
//! println!("{} of {} organisations told", summary.notified_orgs, summary.affected_orgs);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod days;
pub mod generate;
mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use baken_app::{App, AppError, NotifyRequest};
use baken_deliver::Transport;
use baken_feeds::{FeedKind, Options};
use baken_model::{Party, Tlp};
use baken_pipeline::Progress;
use baken_pipeline::advisories::ImportOutcome;
use baken_pipeline::ingest::{FileSummary, Input, Settings};
use baken_pipeline::notify::IncidentOutcome;
use baken_pipeline::plan::{Affected, Coverage};
use baken_store::TimelineStep;
use chrono::DateTime;
use serde::Serialize;

pub use generate::{CITRIX_INCIDENT, DEMO_ADVISORY, Params};

/// What went wrong in a replay.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A call of the application core failed.
    #[error(transparent)]
    App(#[from] AppError),
    /// A generated input or an output file could not be written or read back.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The outbox could not be made.
    #[error(transparent)]
    Deliver(#[from] baken_deliver::DeliverError),
    /// The scenario cannot go on as generated (a bug in the generator).
    #[error("{0}")]
    Usage(String),
}

impl From<baken_store::StoreError> for DemoError {
    /// A read of the record through [`App::store`] failed: the core's store error.
    fn from(e: baken_store::StoreError) -> Self {
        DemoError::App(AppError::Store(e))
    }
}

/// Results of the demo.
pub type Result<T> = std::result::Result<T, DemoError>;

pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError {
    let path = path.display().to_string();
    move |source| DemoError::Io { path, source }
}

/// The sender of the demo's messages.
const FROM: &str = "NCSC baken <baken@ncsc.example>";

/// A notify round of the demo's incident under `policy`: findings without a label are
/// TLP:AMBER, nobody is named, and the transport (an outbox, or a relay the demo was given)
/// may be handed a message twice.
fn notify_request(incident: &str, policy: &str) -> NotifyRequest {
    NotifyRequest {
        incident: Some(incident.to_string()),
        from: FROM.into(),
        tlp: Tlp::Amber,
        policy: policy.to_string(),
        named: Vec::new(),
        idempotent_transport: true,
        resend_uncertain: false,
        daily: None,
    }
}

/// Opens a fresh data directory for a replay at `db_dir`, wiping what an earlier run left.
/// A replay keeps its own embedded store there, whatever store the installation uses: it
/// never writes into the system of record.
fn fresh_app(db_dir: &Path) -> Result<App> {
    if db_dir.exists() {
        std::fs::remove_dir_all(db_dir).map_err(io_error(db_dir))?;
    }
    Ok(App::open_at(
        db_dir,
        &baken_store::StoreUrl::default_in(db_dir),
    )?)
}

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
    /// The sharing policy the digests are sent under (a shipped name or a file).
    pub policy: String,
}

/// Affected organisations in one group.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Reach {
    /// Registered organisations with findings.
    pub affected: u64,
    /// Of those, reached by a message about them (directly, through their CERT, the DTC or
    /// their hoster).
    pub notified: u64,
    /// Of those, not reachable.
    pub unreachable: u64,
}

/// Reach of one policy, planned (nothing sent): for the side-by-side comparison.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PolicyReach {
    /// Affected parties: `organisations` + `others`.
    pub affected: u64,
    /// Affected registered organisations.
    pub organisations: u64,
    /// Affected parties that are not registered organisations: groups of unregistered
    /// addresses in a provider's network, and addresses nobody holds.
    pub others: u64,
    /// Of those, told something specific.
    pub reached: u64,
    /// Of those, not.
    pub unreachable: u64,
    /// Registered organisations reached, of those affected.
    pub registered_reached: u64,
    /// Non-vital registered organisations reached.
    pub non_vital_reached: u64,
    /// Parties reached per path (a party may be reached along several).
    pub by_path: BTreeMap<String, u64>,
}

/// The demo's summary; `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    /// The incident replayed (named after the advisory).
    pub incident: String,
    /// The advisory the replay starts from.
    pub advisory: String,
    /// Its severity, explained.
    pub severity: String,
    /// Registered organisations the exposure analysis found affected (scans and inventories).
    pub exposure_affected_orgs: u64,
    /// Registered organisations with only matches of unknown status.
    pub exposure_unknown_orgs: u64,
    /// Matches by evidence kind.
    pub exposure_by_evidence: BTreeMap<String, u64>,
    /// The policy the digests were sent under.
    pub policy: String,
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
    /// Registered organisations reached by a delivered message about them.
    pub notified_orgs: u64,
    /// Registered organisations that could not be told.
    pub unreachable_orgs: u64,
    /// Affected parties reached per path (direct, cert, dtc, hoster).
    pub reached_by_path: BTreeMap<String, u64>,
    /// Groups of unregistered addresses in a hoster's network (stand-in parties).
    pub unregistered_holders: u64,
    /// Of those, reached through the hosting provider.
    pub unregistered_reached: u64,
    /// Addresses with no owner and no abuse contact.
    pub unattributed_hosts: u64,
    /// Why parties were unreachable: reason → number of parties.
    pub unreachable_reasons: BTreeMap<String, u64>,
    /// Messages delivered (all recipients).
    pub messages: u64,
    /// Seconds from the feed being received to the last digest written.
    pub seconds_to_last_notification: f64,
    /// Seconds from the feed being received to the end of ingest.
    pub seconds_to_ingested: f64,
    /// Reach under each shipped policy, planned on the same findings (nothing sent).
    pub policies: BTreeMap<String, PolicyReach>,
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
) -> Result<DemoSummary> {
    let mut app = fresh_app(&options.db_dir)?;
    // a policy that does not load stops the replay before anything is generated
    app.policy(&options.policy)?;
    let input_dir = options.out.join("input");
    let generated = generate::generate(&options.params, &input_dir)?;
    tracing::debug!(organisations = options.params.orgs, "world generated");
    let registry_orgs = app
        .import_registry(&generated.registry, false)?
        .organisations;
    app.import_routing(&generated.pfx2as)?;
    app.import_rpsl(std::slice::from_ref(&generated.rpsl))?;
    let incident = baken_pipeline::exposure::advisory_incident(DEMO_ADVISORY);

    // The disclosure: the advisory comes in, validated like any CSAF document.
    let bytes = std::fs::read(&generated.advisory).map_err(io_error(&generated.advisory))?;
    match app.import_advisory_bytes(&bytes, &generated.advisory.display().to_string(), None)? {
        ImportOutcome::Imported { .. } => {}
        other => {
            return Err(DemoError::Usage(format!(
                "the demo advisory did not import: {other:?}"
            )));
        }
    }
    app.add_step(&TimelineStep {
        incident: incident.clone(),
        step: "advisory-imported".into(),
        at: baken_store::now(),
        detail: DEMO_ADVISORY.into(),
    })?;
    for (org, path, _) in &generated.inventories {
        app.import_inventory(org, path)?;
    }
    for (org, path) in &generated.other_inventories {
        app.import_inventory(org, path)?;
    }
    tracing::debug!(
        inventories = generated.inventories.len() + generated.other_inventories.len(),
        "inventories imported"
    );

    let bar = progress("ingest", Some(generated.feed_rows));
    let file = app.ingest(
        &Input {
            path: generated.feed.clone(),
            feed: FeedKind::Shadowserver,
        },
        &Options::default(),
        &Settings::default(),
        bar.as_ref(),
    )?;
    drop(bar);

    // Exposure: scan findings and declared inventories matched against the advisory.
    let exposure = app.exposure(DEMO_ADVISORY, true)?;
    // what the summary takes from it, so that the rows and organisations it lists are not
    // held while notifying
    let advisory = exposure.advisory.clone();
    let severity = match (exposure.highest_score, &exposure.severity, &exposure.vector) {
        (Some(score), Some(sev), Some(vector)) => {
            format!("{score:.1} {sev} on a scale of 0.0 to 10.0 ({vector})")
        }
        _ => "unknown".into(),
    };
    let (exposure_affected_orgs, exposure_unknown_orgs) =
        (exposure.affected_orgs as u64, exposure.unknown_orgs as u64);
    let exposure_by_evidence: BTreeMap<String, u64> = exposure
        .by_evidence
        .iter()
        .map(|(k, v)| (k.clone(), *v as u64))
        .collect();
    drop(exposure);

    let bar = progress("notify", None);
    let request = notify_request(&incident, &options.policy);
    let outcome = app
        .notify(&request, transport, bar.as_ref())?
        .incidents
        .into_iter()
        .next()
        .expect("one incident was asked for");
    drop(bar);
    // what the summary takes from the notification, so that a national incident's
    // affected parties are not held while the policies are compared
    let timeline = app.store().timeline(&incident)?;
    let mut summary = summarise(registry_orgs, &file, &outcome, timeline);
    drop(outcome);

    let mut policies = BTreeMap::new();
    for name in baken_policy::Policy::builtin_names() {
        let reach = match app.reach(&incident, name, request.tlp) {
            Ok(affected) => policy_reach(&affected),
            // an incident nobody is affected by: every count is nought
            Err(AppError::NotFound(_)) => PolicyReach::default(),
            Err(e) => return Err(e.into()),
        };
        policies.insert(name.to_string(), reach);
    }

    summary.policies = policies;
    summary.advisory = advisory;
    summary.severity = severity;
    summary.exposure_affected_orgs = exposure_affected_orgs;
    summary.exposure_unknown_orgs = exposure_unknown_orgs;
    summary.exposure_by_evidence = exposure_by_evidence;
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

/// Reach of a plan or outcome, counted.
pub fn policy_reach(affected: &[Affected]) -> PolicyReach {
    let mut r = PolicyReach::default();
    for a in affected {
        r.affected += 1;
        if a.registered {
            r.organisations += 1;
        } else {
            r.others += 1;
        }
        match &a.coverage {
            Coverage::Reached { paths } => {
                r.reached += 1;
                if a.registered {
                    r.registered_reached += 1;
                    if !a.vital {
                        r.non_vital_reached += 1;
                    }
                }
                for p in paths {
                    *r.by_path.entry(p.as_str().to_string()).or_default() += 1;
                }
            }
            Coverage::Unreachable { .. } => r.unreachable += 1,
        }
    }
    r
}

fn summarise(
    registry_orgs: u64,
    file: &FileSummary,
    outcome: &IncidentOutcome,
    timeline: Vec<TimelineStep>,
) -> DemoSummary {
    let mut by_sector: BTreeMap<String, Reach> = BTreeMap::new();
    let (mut affected, mut vital, mut non_vital, mut notified) = (0, 0, 0, 0);
    let (mut holders, mut holders_reached, mut unattributed) = (0, 0, 0);
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    for a in &outcome.affected {
        let reached = matches!(a.coverage, Coverage::Reached { .. });
        if let Some(reason) = a.unreachable_reason() {
            *reasons.entry(generalise(&reason)).or_default() += 1;
        }
        if a.registered {
            affected += 1;
            if a.vital {
                vital += 1;
            } else {
                non_vital += 1;
            }
            let reach = by_sector
                .entry(a.sector.clone().unwrap_or_else(|| "(unknown)".into()))
                .or_default();
            reach.affected += 1;
            if reached {
                notified += 1;
                reach.notified += 1;
            } else {
                reach.unreachable += 1;
            }
        } else if let Party::UnregisteredHolders { .. } = a.id {
            holders += 1;
            holders_reached += u64::from(reached);
        } else {
            unattributed += 1;
        }
    }
    let reach = policy_reach(&outcome.affected);
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
    DemoSummary {
        incident: outcome.incident.clone(),
        advisory: String::new(),
        severity: String::new(),
        exposure_affected_orgs: 0,
        exposure_unknown_orgs: 0,
        exposure_by_evidence: BTreeMap::new(),
        policy: outcome.policy.clone(),
        registry_orgs,
        rows_read: file.read,
        rows_stored: file.stored,
        rows_duplicate: file.duplicate,
        rows_quarantined: file.quarantined,
        quarantine_samples: file.quarantine_samples.clone(),
        incident_findings: outcome.findings as u64,
        affected_orgs: affected,
        affected_vital: vital,
        affected_non_vital: non_vital,
        by_sector,
        notified_orgs: notified,
        unreachable_orgs: affected - notified,
        reached_by_path: reach.by_path,
        unregistered_holders: holders,
        unregistered_reached: holders_reached,
        unattributed_hosts: unattributed,
        unreachable_reasons: reasons,
        messages: outcome.sent() as u64,
        seconds_to_last_notification: last,
        seconds_to_ingested: ingested,
        policies: BTreeMap::new(),
        timeline,
        outbox: String::new(),
        report: String::new(),
        inputs: Vec::new(),
    }
}

/// Groups reasons that differ only in the addresses and recipients they name.
fn generalise(reason: &str) -> String {
    const PATHS: [&str; 5] = ["direct", "cert", "dtc", "hoster", "supervisor"];
    let words: Vec<&str> = reason.split_whitespace().collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    for (i, w) in words.iter().enumerate() {
        let bare = w.trim_matches(|c: char| ",;:()".contains(c));
        let after_path = i > 0 && PATHS.contains(&words[i - 1]);
        let before_may = words.get(i + 1) == Some(&"may");
        // a recipient without a contact address is named: someone can add one
        let actionable = reason.contains("has no contact address");
        if after_path && before_may && !actionable {
            continue; // the recipient's id: "cert z-cert may get …" → "cert may get …"
        }
        // the stand-in keeps the punctuation around the word: "198.18.0.1;" → "<address>;"
        if bare.parse::<std::net::IpAddr>().is_ok() || bare.parse::<ipnet::IpNet>().is_ok() {
            out.push(w.replacen(bare, "<address>", 1));
        } else if bare.starts_with("AS")
            && bare[2..].chars().all(|c| c.is_ascii_digit())
            && bare.len() > 2
        {
            out.push(w.replacen(bare, "<AS>", 1));
        } else {
            out.push(w.to_string());
        }
    }
    out.join(" ")
}

/// The default output directory of the demo.
pub fn default_out() -> PathBuf {
    Path::new("baken-out").join("citrix-2020")
}

#[cfg(test)]
mod tests {
    use super::generalise;

    #[test]
    fn reasons_are_grouped_without_losing_their_punctuation_or_what_to_act_on() {
        assert_eq!(
            generalise(
                "no owner found: no registered network contains 198.18.7.1; AS64512 (from the \
                 event) is not registered; no public registry abuse contact"
            ),
            "no owner found: no registered network contains <address>; <AS> (from the event) \
             is not registered; no public registry abuse contact"
        );
        assert_eq!(
            generalise(
                "direct org-1 may get nothing (rule r); cert z-cert may get aggregate (rule s)"
            ),
            "direct may get nothing (rule r); cert may get aggregate (rule s)"
        );
        assert_eq!(
            generalise("direct org-7 may be told but has no contact address"),
            "direct org-7 may be told but has no contact address",
            "the party to fix is named"
        );
    }
}
