//! Evaluation straight from the record: how many parties an incident affected, who was told
//! what and when, along which path, and how long fixing took — computed from the stored
//! findings, their lifecycle, the messages and what each carried, the timeline and the
//! advisories, never from a separate tally.
//!
//! Three views, each plain serialisable data that the CLI only presents:
//!
//! * [`report`] — one incident: the timeline from disclosure to each path's first and last
//!   message, affected = reached + unreachable, the remediation curve, time to fix by path
//!   and sector, findings fixed after exploitation began, and who was never reached and why;
//! * [`timeline`] — one incident's recorded steps in time order;
//! * [`indicators`] — readiness indicators over all incidents but exercises, per sector and
//!   nationwide.
//!
//! The words the report counts with are defined once, in [`DEFINITIONS`], and every
//! rendering (text, JSON, HTML) carries them:
//!
//! * **affected**: a party at least one finding of the incident is about — a registered
//!   organisation, the unregistered holders of addresses in one hosting provider's network
//!   (`unregistered@…`), or an address nobody is known to hold;
//! * **reached**: an affected party about which a delivered message (state `sent`) carried at
//!   least one finding specifically, in full or as its own assets; sector counts reach
//!   nobody;
//! * **unreachable**: an affected party that is not reached, with the plan's reason under the
//!   policy given, or why its message did not go out.
//!
//! ```no_run
//! use baken_pipeline::{attributor_from_store, load_policy, report};
//! use baken_store::SqliteStore;
//! let store = SqliteStore::open("baken-data".as_ref())?;
//! let attributor = attributor_from_store(&store)?;
//! let policy = load_policy("nl-2020")?;
//! let r = report::report(&store, &attributor, &policy, "cve-2019-19781", &Default::default())?;
//! let a = &r.reach.total;
//! assert_eq!(a.affected, a.reached + a.unreachable);
//! # Ok::<(), baken_pipeline::PipelineError>(())
//! ```

pub mod html;
pub mod stats;

use std::collections::{BTreeMap, BTreeSet};

use baken_attribute::Attributor;
use baken_model::{OrgId, OrgKind, Owner, Tlp};
use baken_policy::{Path, Policy};
use baken_store::{
    Cause, FindingQuery, FindingRecord, FindingState, MessageRecord, MessageState, Store,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::PipelineError;
use crate::plan::Coverage;
pub use stats::{median, percentile};

/// The words the report counts with, each defined once; every rendering carries them.
pub const DEFINITIONS: &[(&str, &str)] = &[
    (
        "disclosure",
        "the first release of the advisory that covers the incident; when none does, the \
         receipt of the first feed that held one of its findings",
    ),
    (
        "affected",
        "a party at least one finding of the incident is about: a registered organisation, \
         the unregistered holders of addresses in one hosting provider's network, or an \
         address nobody is known to hold",
    ),
    (
        "reached",
        "an affected party about which a delivered message (state sent) carried at least one \
         finding specifically, in full or as its own assets; sector counts reach nobody",
    ),
    (
        "unreachable",
        "an affected party that is not reached, with the plan's reason under the policy \
         given, or why its message did not go out; affected = reached + unreachable",
    ),
    (
        "path",
        "how the first delivered message that carried a finding reached it: direct (to the \
         owner), cert, dtc or hoster; not-reached when no delivered message carried it",
    ),
    (
        "open",
        "a finding is open on a day when, at the day's end (24:00 UTC), it had been first \
         seen and was not verified fixed: from the day it was first seen up to, not \
         including, the day of its verified-fixed transition, and again from the day of a \
         reopening",
    ),
    (
        "time to fix",
        "hours from the first delivered message that carried a finding to the verified-fixed \
         transition that fixed it (the latest, for a finding reopened and fixed again); only \
         findings verified fixed now are fixed, the rest are still open and counted apart",
    ),
    (
        "median / p90",
        "the median is the middle value (the mean of the two middle values for an even \
         count); p90 is the nearest-rank 90th percentile, the value of rank ⌈0.9·n⌉",
    ),
];

/// The paths a specific finding can take, in report order.
pub const PATHS: [&str; 5] = ["direct", "cert", "dtc", "hoster", NOT_REACHED];
/// The path of a finding no delivered message carried.
pub const NOT_REACHED: &str = "not-reached";

/// What a report needs besides the store.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// When exploitation of the vulnerability began, if known: the report then counts the
    /// findings fixed after it (their owners should check for compromise).
    pub exploited_since: Option<DateTime<Utc>>,
    /// TLP label of findings stored without one (for the plan).
    pub tlp: Tlp,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            exploited_since: None,
            tlp: Tlp::Amber,
        }
    }
}

/// A word and what it means in the report.
#[derive(Debug, Clone, Serialize)]
pub struct Definition {
    /// The word.
    pub term: &'static str,
    /// Its meaning.
    pub meaning: &'static str,
}

fn definitions() -> Vec<Definition> {
    DEFINITIONS
        .iter()
        .map(|&(term, meaning)| Definition { term, meaning })
        .collect()
}

/// A moment of the incident and how long after disclosure it came.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Moment {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Hours since disclosure (`None` when the disclosure is not known).
    pub hours: Option<f64>,
    /// What it was.
    pub what: String,
}

/// The messages of one path: how many, the first and the last.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathMessages {
    /// direct, cert, dtc, hoster or supervisor.
    pub path: String,
    /// Delivered messages along it.
    pub messages: u64,
    /// The first delivered.
    pub first: Option<Moment>,
    /// The last delivered.
    pub last: Option<Moment>,
}

/// From disclosure to the last message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    /// The disclosure (see [`DEFINITIONS`]); `None` when neither an advisory nor a feed
    /// says when.
    pub disclosure: Option<Moment>,
    /// The earliest `first_seen` of the incident's findings.
    pub first_seen: Option<Moment>,
    /// Per path (direct, cert, dtc, hoster, supervisor): its first and last delivered
    /// message.
    pub paths: Vec<PathMessages>,
}

/// Affected, reached and unreachable parties of one group; `affected = reached +
/// unreachable`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Affected parties.
    pub affected: u64,
    /// Of those, reached.
    pub reached: u64,
    /// Of those, unreachable.
    pub unreachable: u64,
}

impl Counts {
    fn add(&mut self, reached: bool) {
        self.affected += 1;
        if reached {
            self.reached += 1;
        } else {
            self.unreachable += 1;
        }
    }

    /// Whether `affected = reached + unreachable`.
    pub fn reconciles(&self) -> bool {
        self.affected == self.reached + self.unreachable
    }
}

/// Who was affected and who was reached, by group.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Reach {
    /// Every affected party: `organisations + unregistered_holders + unattributed`.
    pub total: Counts,
    /// Registered organisations.
    pub organisations: Counts,
    /// Of those, vital providers.
    pub vital: Counts,
    /// Of those, non-vital.
    pub non_vital: Counts,
    /// Registered organisations by sector (`(none)` for those without one).
    pub by_sector: BTreeMap<String, Counts>,
    /// Unregistered holders of addresses in a hosting provider's network (one party per
    /// provider).
    pub unregistered_holders: Counts,
    /// Addresses nobody is known to hold (one party per address).
    pub unattributed: Counts,
    /// Reached parties per path; a party reached along several paths counts on each.
    pub by_path: BTreeMap<String, u64>,
}

impl Reach {
    /// Whether every group reconciles and the groups add up to the total.
    pub fn reconciles(&self) -> bool {
        let groups = [
            self.organisations,
            self.unregistered_holders,
            self.unattributed,
        ];
        let sum = |f: fn(&Counts) -> u64| groups.iter().map(f).sum::<u64>();
        let sectors: u64 = self.by_sector.values().map(|c| c.affected).sum();
        groups.iter().all(Counts::reconciles)
            && self.total.reconciles()
            && self.vital.reconciles()
            && self.non_vital.reconciles()
            && self.by_sector.values().all(Counts::reconciles)
            && sum(|c| c.affected) == self.total.affected
            && sum(|c| c.reached) == self.total.reached
            && self.vital.affected + self.non_vital.affected == self.organisations.affected
            && sectors == self.organisations.affected
    }
}

/// Open findings at the end of one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurveDay {
    /// The day (UTC), `YYYY-MM-DD`.
    pub day: String,
    /// Open findings.
    pub open: u64,
    /// Of those, by path (direct, cert, dtc, hoster, not-reached; every key present).
    pub by_path: BTreeMap<String, u64>,
    /// Of those, findings about vital providers.
    pub vital: u64,
    /// Of those, the rest (non-vital organisations, unregistered holders, unknown).
    pub non_vital: u64,
}

/// Time to fix of one group of findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixStats {
    /// The path or sector.
    pub group: String,
    /// Findings in the group: `fixed + still_open`.
    pub findings: u64,
    /// Verified fixed now.
    pub fixed: u64,
    /// Not verified fixed now (never fixed, reopened, or only claimed fixed).
    pub still_open: u64,
    /// Fixed findings the hours are computed from: told by a delivered message before the
    /// fix (the rest were fixed without being told, or before).
    pub measured: u64,
    /// Median hours to fix.
    pub median_hours: Option<f64>,
    /// 90th percentile of the hours to fix.
    pub p90_hours: Option<f64>,
}

/// Time to fix, by path and by sector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeToFix {
    /// Every finding.
    pub all: FixStats,
    /// By path (direct, cert, dtc, hoster, not-reached).
    pub by_path: Vec<FixStats>,
    /// By sector of the organisation the finding is about (`(none)`, `(unregistered)`,
    /// `(no known holder)` for the rest).
    pub by_sector: Vec<FixStats>,
}

/// Findings and the start of exploitation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exploitation {
    /// When exploitation began (RFC 3339).
    pub since: String,
    /// Verified fixed before it began (and not reopened since).
    pub fixed_before: u64,
    /// Verified fixed after it began: exposed while it was exploited; their owners should
    /// check for compromise.
    pub fixed_after: u64,
    /// Not verified fixed now.
    pub still_open: u64,
    /// The findings fixed after it began, by path.
    pub fixed_after_by_path: BTreeMap<String, u64>,
    /// Their store ids.
    pub fixed_after_findings: Vec<i64>,
}

/// An affected party that was never reached, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unreached {
    /// Its id (registry id, `unregistered@…`, or an address).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its sector.
    pub sector: Option<String>,
    /// Whether it is a vital provider.
    pub vital: bool,
    /// Whether it is a registered organisation.
    pub registered: bool,
    /// Its findings.
    pub findings: u64,
    /// Why nobody could tell it, or why no message did.
    pub reason: String,
}

/// The evaluation of one incident.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The incident.
    pub incident: String,
    /// The policy whose plan gives the reasons of the unreachable.
    pub policy: String,
    /// The words counted with.
    pub definitions: Vec<Definition>,
    /// Findings of the incident.
    pub findings: u64,
    /// From disclosure to each path's messages.
    pub timeline: Timeline,
    /// Affected, reached, unreachable.
    pub reach: Reach,
    /// Open findings per day, from the first day a finding was seen to the last day the
    /// record speaks of (a message, a fix, a reopening, a sighting).
    pub curve: Vec<CurveDay>,
    /// Time to fix by path and sector.
    pub time_to_fix: TimeToFix,
    /// Findings fixed after exploitation began; `None` when no start was given.
    pub exploitation: Option<Exploitation>,
    /// Every affected party never reached, with the reason; complete.
    pub unreachable: Vec<Unreached>,
    /// The incident reports that cite the incident (its CVE or advisory).
    pub incident_reports: ReportsCiting,
}

/// The incident reports that cite an incident, beside its findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReportsCiting {
    /// Reports.
    pub total: u64,
    /// Reports by the reporting organisation's sector (`(none)` for none).
    pub by_sector: BTreeMap<String, u64>,
    /// Reports of a compromise.
    pub compromised: u64,
    /// Vital providers that report a compromise while findings of theirs are still open:
    /// `ORGANISATION/REFERENCE` with the open findings.
    pub vital_compromised_with_open_findings: Vec<(String, u64)>,
}

/// The incident reports citing `incident`, counted.
fn reports_citing(
    store: &dyn Store,
    attributor: &Attributor,
    incident: &str,
) -> Result<ReportsCiting, PipelineError> {
    let now = chrono::DateTime::parse_from_rfc3339(&baken_store::now())
        .map(|t| t.to_utc())
        .unwrap_or_else(|_| Utc::now());
    let mut out = ReportsCiting::default();
    for r in crate::incident_reports::reports(store, attributor, now)? {
        if !r.incidents.iter().any(|i| i == incident) {
            continue;
        }
        out.total += 1;
        *out.by_sector
            .entry(r.sector.clone().unwrap_or_else(|| "(none)".into()))
            .or_default() += 1;
        if r.compromised {
            out.compromised += 1;
            if r.vital && r.open_findings > 0 {
                out.vital_compromised_with_open_findings.push((
                    format!("{}/{}", r.organisation, r.reference),
                    r.open_findings,
                ));
            }
        }
    }
    Ok(out)
}

/// Which kind of party a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Organisation,
    Unregistered,
    Unattributed,
}

/// What the record says about one finding.
#[derive(Debug, Clone)]
struct FindingFacts {
    id: i64,
    /// The party it is about (as the plan names it).
    subject: String,
    group: Group,
    sector: Option<String>,
    vital: bool,
    spans: stats::OpenSpans,
    /// The last verified-fixed transition, when it is verified fixed now.
    fixed_at: Option<DateTime<Utc>>,
    /// The first delivered message that carried it specifically, and its path.
    first_told: Option<(DateTime<Utc>, Path)>,
    /// Every path along which a delivered message carried it.
    paths: BTreeSet<Path>,
    /// The last time the record speaks of it.
    last_event: DateTime<Utc>,
}

impl FindingFacts {
    fn path_name(&self) -> &'static str {
        self.first_told.map_or(NOT_REACHED, |(_, p)| p.as_str())
    }

    fn sector_name(&self) -> String {
        match self.group {
            Group::Organisation => self.sector.clone().unwrap_or_else(|| "(none)".into()),
            Group::Unregistered => "(unregistered)".into(),
            Group::Unattributed => "(no known holder)".into(),
        }
    }

    /// Hours from the first delivered message to the fix, when both are known and in that
    /// order.
    fn hours_to_fix(&self) -> Option<f64> {
        let (told, _) = self.first_told?;
        let fixed = self.fixed_at?;
        (fixed >= told).then(|| stats::hours(told, fixed))
    }
}

/// What the record holds about one incident, read once.
struct IncidentRecord {
    findings: Vec<FindingFacts>,
    messages: Vec<MessageRecord>,
    disclosure: Option<(DateTime<Utc>, String)>,
}

fn parse(at: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn unix(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

/// The party a stored finding is about, as the plan names it.
fn subject_of(f: &FindingRecord) -> (String, Group) {
    let group = match &f.attribution.owner {
        Owner::Organisation { .. } => Group::Organisation,
        Owner::Abuse(_) => Group::Unregistered,
        Owner::Unknown => Group::Unattributed,
    };
    let what = if f.addr.is_empty() {
        format!("event {}", f.id)
    } else {
        f.addr.clone()
    };
    (
        baken_model::Party::owning(&f.attribution.owner, what).key(),
        group,
    )
}

/// The path along which message `m` carried a finding about `subject`: the message's only
/// specific path, else the one the recipient's relation to the subject gives.
fn path_of(attributor: &Attributor, m: &MessageRecord, subject: &str) -> Option<Path> {
    let specific: Vec<Path> = [Path::Direct, Path::Cert, Path::Dtc, Path::Hoster]
        .into_iter()
        .filter(|p| m.path.split(',').any(|x| x == p.as_str()))
        .collect();
    if let [only] = specific[..] {
        return Some(only);
    }
    let recipient = attributor.organisation(&OrgId(m.party.clone()));
    let kind = recipient.map(|r| r.kind);
    let guess = if m.party == subject {
        Path::Direct
    } else if kind == Some(OrgKind::Cert)
        || attributor
            .organisation(&OrgId(subject.to_string()))
            .and_then(|s| s.cert.as_ref())
            .is_some_and(|c| *c == m.party)
    {
        Path::Cert
    } else if kind == Some(OrgKind::Dtc) {
        Path::Dtc
    } else {
        Path::Hoster
    };
    if specific.is_empty() || specific.contains(&guess) {
        Some(guess)
    } else {
        specific.first().copied()
    }
}

/// When the incident was disclosed: the first release of its advisory, else the receipt of
/// the first feed that held one of its findings.
fn disclosure(
    store: &dyn Store,
    incident: &str,
    records: &[FindingRecord],
) -> Result<Option<(DateTime<Utc>, String)>, PipelineError> {
    if let Some(context) = crate::notify::advisory_context(store, incident)?
        && let Some((advisory, history)) = crate::advisories::show(store, &context.id)?
    {
        let released = history
            .iter()
            .filter_map(|r| r.released.as_deref().and_then(parse))
            .chain(advisory.initial_release)
            .min();
        if let Some(at) = released {
            return Ok(Some((
                at,
                format!("advisory {} first released", context.id),
            )));
        }
    }
    // The finding made first was made by the first feed that held the incident; its
    // earliest kept row says which run that was.
    let Some(first) = records.iter().min_by_key(|f| f.id) else {
        return Ok(None);
    };
    let Some(chunk) = store
        .observations(first.id)?
        .iter()
        .map(|o| o.row.chunk)
        .min()
    else {
        return Ok(None);
    };
    let run = store.run(store.chunk(chunk)?.run)?;
    Ok(parse(&run.started_at).map(|at| (at, format!("feed {} received", run.file))))
}

/// Reads what the record says about `incident`.
fn read_incident(
    store: &dyn Store,
    attributor: &Attributor,
    incident: &str,
) -> Result<IncidentRecord, PipelineError> {
    let incident = incident.to_ascii_lowercase();
    let records = store.finding_records(&FindingQuery {
        incident: Some(incident.clone()),
        ..FindingQuery::default()
    })?;
    let messages = store.messages(Some(&incident))?;
    let by_key: BTreeMap<&str, &MessageRecord> =
        messages.iter().map(|m| (m.key.as_str(), m)).collect();
    // (time, path, …) of every delivered message that carried a finding specifically
    let mut told: BTreeMap<i64, Vec<(DateTime<Utc>, &MessageRecord)>> = BTreeMap::new();
    for d in store.disclosures(&incident)? {
        if d.form == baken_policy::Form::Aggregate.as_str() {
            continue;
        }
        let Some(m) = by_key.get(d.message.as_str()) else {
            continue;
        };
        if m.state != MessageState::Sent {
            continue;
        }
        let Some(at) = m.sent_at.as_deref().and_then(parse) else {
            continue;
        };
        told.entry(d.finding).or_default().push((at, m));
    }
    let mut changes: BTreeMap<i64, Vec<(DateTime<Utc>, bool)>> = BTreeMap::new();
    let mut last_change: BTreeMap<i64, DateTime<Utc>> = BTreeMap::new();
    for t in store.incident_transitions(&incident)? {
        let Some(at) = parse(&t.at) else { continue };
        last_change
            .entry(t.finding)
            .and_modify(|l| *l = (*l).max(at))
            .or_insert(at);
        if t.from == t.to {
            continue; // a note
        }
        match t.to {
            FindingState::VerifiedFixed => changes.entry(t.finding).or_default().push((at, false)),
            FindingState::Reopened => changes.entry(t.finding).or_default().push((at, true)),
            _ => {}
        }
    }
    let mut findings = Vec::with_capacity(records.len());
    for f in &records {
        let (subject, group) = subject_of(f);
        let org = match group {
            Group::Organisation => attributor.organisation(&OrgId(subject.clone())),
            _ => None,
        };
        let mut carried = told.remove(&f.id).unwrap_or_default();
        carried.sort_by_key(|(at, m)| (*at, m.key.clone()));
        let paths: BTreeSet<Path> = carried
            .iter()
            .filter_map(|(_, m)| path_of(attributor, m, &subject))
            .collect();
        let first_told = carried
            .first()
            .and_then(|(at, m)| Some((*at, path_of(attributor, m, &subject)?)));
        let changes = changes.remove(&f.id).unwrap_or_default();
        let fixed_at = match f.state {
            FindingState::VerifiedFixed => changes
                .iter()
                .rev()
                .find(|(_, open)| !open)
                .map(|(at, _)| *at),
            _ => None,
        };
        let last_event = [
            Some(unix(f.last_seen)),
            last_change.get(&f.id).copied(),
            carried.last().map(|(at, _)| *at),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or_else(|| unix(f.first_seen));
        findings.push(FindingFacts {
            id: f.id,
            subject,
            group,
            sector: org.and_then(|o| o.sector.clone()),
            vital: org.is_some_and(|o| o.vital),
            spans: stats::OpenSpans {
                first_seen: unix(f.first_seen),
                changes,
            },
            fixed_at,
            first_told,
            paths,
            last_event,
        });
    }
    let disclosure = disclosure(store, &incident, &records)?;
    Ok(IncidentRecord {
        findings,
        messages,
        disclosure,
    })
}

/// The evaluation of `incident`: see the module documentation. `policy` gives the plan whose
/// reasons explain the unreachable.
pub fn report(
    store: &dyn Store,
    attributor: &Attributor,
    policy: &Policy,
    incident: &str,
    options: &ReportOptions,
) -> Result<Report, PipelineError> {
    let incident = incident.to_ascii_lowercase();
    let record = read_incident(store, attributor, &incident)?;
    if record.findings.is_empty() {
        return Err(PipelineError::Usage(format!(
            "incident {incident:?} has no findings; `baken ingest` a feed first"
        )));
    }
    let plan =
        crate::notify::plan_incident(store, attributor, policy, &incident, options.tlp, &[])?;
    let planned = crate::notify::delivered_coverage(store, &plan)?;
    let disclosure_at = record.disclosure.as_ref().map(|(at, _)| *at);
    let moment = |at: DateTime<Utc>, what: String| Moment {
        at: rfc3339(at),
        hours: disclosure_at.map(|d| stats::hours(d, at)),
        what,
    };

    // timeline
    let mut paths = Vec::new();
    for path in ["direct", "cert", "dtc", "hoster", "supervisor"] {
        let sent: Vec<(DateTime<Utc>, &MessageRecord)> = record
            .messages
            .iter()
            .filter(|m| m.state == MessageState::Sent && m.path.split(',').any(|p| p == path))
            .filter_map(|m| Some((m.sent_at.as_deref().and_then(parse)?, m)))
            .collect();
        let first = sent.iter().min_by_key(|(at, _)| *at);
        let last = sent.iter().max_by_key(|(at, _)| *at);
        let describe = |(at, m): &(DateTime<Utc>, &MessageRecord)| {
            moment(*at, format!("{} message to {}", m.kind.as_str(), m.party))
        };
        paths.push(PathMessages {
            path: path.into(),
            messages: sent.len() as u64,
            first: first.map(describe),
            last: last.map(describe),
        });
    }
    let first_seen = record
        .findings
        .iter()
        .map(|f| f.spans.first_seen)
        .min()
        .map(|at| moment(at, "the earliest time.source of its findings".into()));
    let timeline = Timeline {
        disclosure: record
            .disclosure
            .as_ref()
            .map(|(at, what)| moment(*at, what.clone())),
        first_seen,
        paths,
    };

    // affected, reached, unreachable: one party per subject
    struct Party {
        group: Group,
        sector: Option<String>,
        vital: bool,
        findings: u64,
        paths: BTreeSet<Path>,
    }
    let mut parties: BTreeMap<&str, Party> = BTreeMap::new();
    for f in &record.findings {
        let p = parties.entry(f.subject.as_str()).or_insert_with(|| Party {
            group: f.group,
            sector: f.sector.clone(),
            vital: f.vital,
            findings: 0,
            paths: BTreeSet::new(),
        });
        p.findings += 1;
        p.paths.extend(f.paths.iter().copied());
    }
    let mut reach = Reach::default();
    let mut unreachable = Vec::new();
    for (id, p) in &parties {
        let reached = !p.paths.is_empty();
        reach.total.add(reached);
        match p.group {
            Group::Organisation => {
                reach.organisations.add(reached);
                if p.vital {
                    reach.vital.add(reached);
                } else {
                    reach.non_vital.add(reached);
                }
                reach
                    .by_sector
                    .entry(p.sector.clone().unwrap_or_else(|| "(none)".into()))
                    .or_default()
                    .add(reached);
            }
            Group::Unregistered => reach.unregistered_holders.add(reached),
            Group::Unattributed => reach.unattributed.add(reached),
        }
        for path in &p.paths {
            *reach.by_path.entry(path.as_str().into()).or_default() += 1;
        }
        if reached {
            continue;
        }
        let in_plan = planned.iter().find(|a| a.id.key() == *id);
        let reason = match in_plan.map(|a| (a, &a.coverage)) {
            Some((a, Coverage::Unreachable { reason })) => {
                reason.text(&a.id.org_id().0).into_owned()
            }
            Some((_, Coverage::Reached { .. })) => {
                "a message to it was delivered, but none carried one of its findings".into()
            }
            None => format!("not in the plan under policy {}", plan.policy),
        };
        unreachable.push(Unreached {
            id: id.to_string(),
            name: in_plan.map_or_else(|| id.to_string(), |a| a.name.clone()),
            sector: p.sector.clone(),
            vital: p.vital,
            registered: p.group == Group::Organisation,
            findings: p.findings,
            reason,
        });
    }
    debug_assert!(reach.reconciles());

    // when exploitation began: as given, else as recorded (KEV import, `incident exploited`)
    let exploited_since = match options.exploited_since {
        Some(since) => Some(since),
        None => {
            let context = crate::notify::advisory_context(store, &incident)?;
            crate::notify::exploited_since(store, &incident, context.as_ref())?
                .and_then(|s| DateTime::from_timestamp(s, 0))
        }
    };
    let exploitation = exploited_since.map(|since| exploitation(&record.findings, since));
    let incident_reports = reports_citing(store, attributor, &incident)?;
    Ok(Report {
        incident,
        policy: plan.policy.clone(),
        definitions: definitions(),
        findings: record.findings.len() as u64,
        timeline,
        reach,
        curve: curve(&record.findings),
        time_to_fix: time_to_fix(&record.findings),
        exploitation,
        unreachable,
        incident_reports,
    })
}

/// Open findings at the end of each day, from the first day one was seen to the last day the
/// record speaks of.
fn curve(findings: &[FindingFacts]) -> Vec<CurveDay> {
    let (Some(first), Some(last)) = (
        findings.iter().map(|f| f.spans.first_seen).min(),
        findings.iter().map(|f| f.last_event).max(),
    ) else {
        return Vec::new();
    };
    stats::days(first.date_naive(), last.date_naive())
        .into_iter()
        .map(|day| curve_day(findings, day))
        .collect()
}

fn curve_day(findings: &[FindingFacts], day: NaiveDate) -> CurveDay {
    let mut by_path: BTreeMap<String, u64> = PATHS.iter().map(|p| (p.to_string(), 0)).collect();
    let (mut open, mut vital) = (0, 0);
    for f in findings.iter().filter(|f| f.spans.open_on(day)) {
        open += 1;
        vital += u64::from(f.vital);
        *by_path.entry(f.path_name().into()).or_default() += 1;
    }
    CurveDay {
        day: day.to_string(),
        open,
        by_path,
        vital,
        non_vital: open - vital,
    }
}

fn fix_stats<'a>(group: String, findings: impl Iterator<Item = &'a FindingFacts>) -> FixStats {
    let mut s = FixStats {
        group,
        findings: 0,
        fixed: 0,
        still_open: 0,
        measured: 0,
        median_hours: None,
        p90_hours: None,
    };
    let mut hours = Vec::new();
    for f in findings {
        s.findings += 1;
        if f.fixed_at.is_some() {
            s.fixed += 1;
        } else {
            s.still_open += 1;
        }
        if let Some(h) = f.hours_to_fix() {
            hours.push(h);
        }
    }
    s.measured = hours.len() as u64;
    s.median_hours = median(&hours);
    s.p90_hours = percentile(&hours, 90.0);
    s
}

fn time_to_fix(findings: &[FindingFacts]) -> TimeToFix {
    let by_path = PATHS
        .iter()
        .map(|p| {
            fix_stats(
                p.to_string(),
                findings.iter().filter(|f| f.path_name() == *p),
            )
        })
        .collect();
    let sectors: BTreeSet<String> = findings.iter().map(FindingFacts::sector_name).collect();
    let by_sector = sectors
        .into_iter()
        .map(|s| {
            let of = findings.iter().filter(|f| f.sector_name() == s);
            fix_stats(s.clone(), of)
        })
        .collect();
    TimeToFix {
        all: fix_stats("all".into(), findings.iter()),
        by_path,
        by_sector,
    }
}

fn exploitation(findings: &[FindingFacts], since: DateTime<Utc>) -> Exploitation {
    let mut e = Exploitation {
        since: rfc3339(since),
        fixed_before: 0,
        fixed_after: 0,
        still_open: 0,
        fixed_after_by_path: PATHS.iter().map(|p| (p.to_string(), 0)).collect(),
        fixed_after_findings: Vec::new(),
    };
    for f in findings {
        match f.fixed_at {
            None => e.still_open += 1,
            Some(at) if at <= since => e.fixed_before += 1,
            Some(_) => {
                e.fixed_after += 1;
                *e.fixed_after_by_path
                    .entry(f.path_name().into())
                    .or_default() += 1;
                e.fixed_after_findings.push(f.id);
            }
        }
    }
    e
}

/// One recorded step of an incident, for `baken timeline`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// When (as recorded: RFC 3339).
    pub at: String,
    /// `step` (the timeline), `message`, `findings` (transitions of a day and cause) or
    /// `advisory`.
    pub kind: String,
    /// What happened.
    pub what: String,
    /// Details.
    pub detail: String,
}

/// The recorded steps of `incident` in time order: timeline steps (including those not
/// tied to one incident, such as a feed received), messages, the findings' transitions
/// counted per day, state and cause, and the advisory's revisions.
pub fn timeline(store: &dyn Store, incident: &str) -> Result<Vec<Entry>, PipelineError> {
    let incident = incident.to_ascii_lowercase();
    let mut entries: Vec<(DateTime<Utc>, Entry)> = Vec::new();
    let mut push = |at: &str, kind: &str, what: String, detail: String| {
        if let Some(t) = parse(at) {
            entries.push((
                t,
                Entry {
                    at: at.to_string(),
                    kind: kind.into(),
                    what,
                    detail,
                },
            ));
        }
    };
    for s in store.timeline(&incident)? {
        push(&s.at, "step", s.step.clone(), s.detail.clone());
    }
    for m in store.messages(Some(&incident))? {
        let at = m.sent_at.as_deref().unwrap_or(&m.created_at).to_string();
        push(
            &at,
            "message",
            format!("{} message to {} ({})", m.kind.as_str(), m.party, m.path),
            format!(
                "{}, {} findings, <{}>{}",
                m.state.as_str(),
                m.findings,
                m.recipient,
                m.ticket
                    .map(|t| format!(", {}", crate::notify::ticket_reference(t)))
                    .unwrap_or_default()
            ),
        );
    }
    // transitions of a day with the same state and cause, counted
    let mut groups: BTreeMap<(NaiveDate, String, String), (String, u64, String)> = BTreeMap::new();
    let mut order: Vec<(NaiveDate, String, String)> = Vec::new();
    for t in store.incident_transitions(&incident)? {
        let Some(at) = parse(&t.at) else { continue };
        let what = if t.from == t.to {
            "note".to_string()
        } else {
            t.to.as_str().replace('-', " ")
        };
        let by = match (t.cause, &t.reference, &t.by) {
            (Cause::Message, Some(r), Some(by)) => format!("by message {r} to {by}"),
            (Cause::Report, Some(r), _) => format!("by report {r}"),
            (Cause::Analyst, _, Some(by)) => format!("by analyst {by}"),
            (cause, Some(r), _) => format!("by {} {r}", cause.as_str()),
            (cause, None, _) => format!("by {}", cause.as_str()),
        };
        let key = (at.date_naive(), what, by);
        let e = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            (t.at.clone(), 0, String::new())
        });
        e.1 += 1;
        if !e.2.is_empty() {
            e.2.push(' ');
        }
        e.2.push_str(&t.finding.to_string());
    }
    for key in order {
        let (day, what, by) = &key;
        let (at, n, ids) = &groups[&key];
        push(
            at,
            "findings",
            format!("{day}: {n} {what} {by}"),
            format!("findings {ids}"),
        );
    }
    if let Some(context) = crate::notify::advisory_context(store, &incident)? {
        for r in store.advisory_revisions(&context.id)? {
            let revision = r.revision.as_deref().unwrap_or("-");
            let score = match (r.highest_score, &r.highest_vector) {
                (Some(s), Some(v)) => format!("highest score {s:.1} ({v})"),
                _ => "no score".into(),
            };
            if let Some(released) = &r.released {
                push(
                    released,
                    "advisory",
                    format!("advisory {} revision {revision} released", r.id),
                    score.clone(),
                );
            }
            push(
                &r.imported_at,
                "advisory",
                format!("advisory {} revision {revision} imported", r.id),
                format!("{score}; from {}", r.source),
            );
        }
    }
    // stable: what was recorded first stays first among equal times
    entries.sort_by_key(|(t, _)| *t);
    Ok(entries.into_iter().map(|(_, e)| e).collect())
}

/// Readiness indicators of one sector, or of the whole country.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    /// The sector, `(none)`, `(unregistered)`, `(no known holder)`, or `nationwide`.
    pub sector: String,
    /// Findings (over all incidents).
    pub findings: u64,
    /// Findings a delivered message carried specifically.
    pub notified: u64,
    /// Median hours from a finding's first sighting — or its incident's disclosure, when
    /// later — to the first delivered message that carried it.
    pub time_to_notify_hours: Option<f64>,
    /// Affected registered organisations, counted once per incident.
    pub affected_organisations: u64,
    /// Of those, reached.
    pub reached_organisations: u64,
    /// `reached_organisations / affected_organisations`.
    pub coverage: Option<f64>,
    /// Fixed findings the time to fix is computed from.
    pub fixed_measured: u64,
    /// Median time to fix, in hours.
    pub time_to_fix_hours: Option<f64>,
    /// Notified findings verified fixed now.
    pub verified_fixed: u64,
    /// `verified_fixed / notified`.
    pub share_verified: Option<f64>,
}

/// Readiness indicators over every incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicators {
    /// Incidents counted.
    pub incidents: u64,
    /// The whole country.
    pub nationwide: Indicator,
    /// Per sector of the organisations findings are about.
    pub sectors: Vec<Indicator>,
    /// Incident reports filed, by the reporting organisation's sector (one sector when asked
    /// for one).
    pub incident_reports: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Tally {
    findings: u64,
    to_notify: Vec<f64>,
    orgs: BTreeSet<(String, String)>,
    reached: BTreeSet<(String, String)>,
    to_fix: Vec<f64>,
    verified: u64,
}

impl Tally {
    fn add(&mut self, incident: &str, disclosure: Option<DateTime<Utc>>, f: &FindingFacts) {
        self.findings += 1;
        if f.group == Group::Organisation {
            let key = (incident.to_string(), f.subject.clone());
            if !f.paths.is_empty() {
                self.reached.insert(key.clone());
            }
            self.orgs.insert(key);
        }
        if let Some((told, _)) = f.first_told {
            let start = disclosure.map_or(f.spans.first_seen, |d| d.max(f.spans.first_seen));
            self.to_notify.push(stats::hours(start, told));
            if f.fixed_at.is_some() {
                self.verified += 1;
            }
        }
        if let Some(h) = f.hours_to_fix() {
            self.to_fix.push(h);
        }
    }

    fn indicator(&self, sector: String) -> Indicator {
        let notified = self.to_notify.len() as u64;
        let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        Indicator {
            sector,
            findings: self.findings,
            notified,
            time_to_notify_hours: median(&self.to_notify),
            affected_organisations: self.orgs.len() as u64,
            reached_organisations: self.reached.len() as u64,
            coverage: ratio(self.reached.len() as u64, self.orgs.len() as u64),
            fixed_measured: self.to_fix.len() as u64,
            time_to_fix_hours: median(&self.to_fix),
            verified_fixed: self.verified,
            share_verified: ratio(self.verified, notified),
        }
    }
}

/// Readiness indicators (R14) over every incident in the store, nationwide and per sector
/// (only `sector` when given).
pub fn indicators(
    store: &dyn Store,
    attributor: &Attributor,
    sector: Option<&str>,
) -> Result<Indicators, PipelineError> {
    // a drill measures a drill: its findings are no part of the real indicators
    let incidents: Vec<(String, u64)> = store
        .incidents()?
        .into_iter()
        .filter(|(i, _)| !crate::exercise::is_exercise(i))
        .collect();
    let mut nationwide = Tally::default();
    let mut sectors: BTreeMap<String, Tally> = BTreeMap::new();
    for (incident, _) in &incidents {
        let record = read_incident(store, attributor, incident)?;
        let disclosure = record.disclosure.as_ref().map(|(at, _)| *at);
        for f in &record.findings {
            nationwide.add(incident, disclosure, f);
            sectors
                .entry(f.sector_name())
                .or_default()
                .add(incident, disclosure, f);
        }
    }
    let now = chrono::DateTime::parse_from_rfc3339(&baken_store::now())
        .map(|t| t.to_utc())
        .unwrap_or_else(|_| Utc::now());
    let mut incident_reports: BTreeMap<String, u64> = BTreeMap::new();
    for r in crate::incident_reports::reports(store, attributor, now)? {
        let s = r.sector.unwrap_or_else(|| "(none)".into());
        if sector.is_none_or(|want| want.eq_ignore_ascii_case(&s)) {
            *incident_reports.entry(s).or_default() += 1;
        }
    }
    Ok(Indicators {
        incident_reports,
        incidents: incidents.len() as u64,
        nationwide: nationwide.indicator("nationwide".into()),
        sectors: sectors
            .into_iter()
            .filter(|(s, _)| sector.is_none_or(|want| want.eq_ignore_ascii_case(s)))
            .map(|(s, t)| t.indicator(s))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// A finding about `subject`, first seen at `seen`, told along `path` at `told`, and
    /// fixed (verified) at `fixed`.
    fn finding(
        id: i64,
        subject: &str,
        vital: bool,
        seen: &str,
        told: Option<(&str, Path)>,
        fixed: Option<&str>,
    ) -> FindingFacts {
        let changes: Vec<(DateTime<Utc>, bool)> = fixed.iter().map(|f| (t(f), false)).collect();
        let first_told = told.map(|(at, p)| (t(at), p));
        FindingFacts {
            id,
            subject: subject.into(),
            group: Group::Organisation,
            sector: Some(if vital { "health" } else { "retail" }.into()),
            vital,
            fixed_at: fixed.map(t),
            paths: first_told.iter().map(|(_, p)| *p).collect(),
            first_told,
            last_event: changes.last().map_or(t(seen), |(at, _)| *at),
            spans: stats::OpenSpans {
                first_seen: t(seen),
                changes,
            },
        }
    }

    fn world() -> Vec<FindingFacts> {
        vec![
            // told directly, fixed 24 h later
            finding(
                1,
                "org-a",
                true,
                "2020-01-10T06:00:00Z",
                Some(("2020-01-10T08:00:00Z", Path::Direct)),
                Some("2020-01-11T08:00:00Z"),
            ),
            // told directly, fixed 48 h later
            finding(
                2,
                "org-a",
                true,
                "2020-01-10T06:00:00Z",
                Some(("2020-01-10T08:00:00Z", Path::Direct)),
                Some("2020-01-12T08:00:00Z"),
            ),
            // told through the CERT, still open
            finding(
                3,
                "org-b",
                false,
                "2020-01-11T06:00:00Z",
                Some(("2020-01-11T09:00:00Z", Path::Cert)),
                None,
            ),
            // never told, fixed anyway
            finding(
                4,
                "org-c",
                false,
                "2020-01-10T06:00:00Z",
                None,
                Some("2020-01-12T10:00:00Z"),
            ),
        ]
    }

    #[test]
    fn the_curve_counts_open_findings_at_each_days_end_by_path_and_vitality() {
        let curve = curve(&world());
        let days: Vec<&str> = curve.iter().map(|d| d.day.as_str()).collect();
        assert_eq!(days, ["2020-01-10", "2020-01-11", "2020-01-12"]);
        let open: Vec<u64> = curve.iter().map(|d| d.open).collect();
        assert_eq!(
            open,
            [3, 3, 1],
            "1, 2, 4 open on the 10th; 2, 3, 4 on the 11th; 3 after"
        );
        let direct: Vec<u64> = curve.iter().map(|d| d.by_path["direct"]).collect();
        assert_eq!(direct, [2, 1, 0]);
        let not_reached: Vec<u64> = curve.iter().map(|d| d.by_path[NOT_REACHED]).collect();
        assert_eq!(not_reached, [1, 1, 0]);
        for d in &curve {
            assert_eq!(d.by_path.values().sum::<u64>(), d.open, "{d:?}");
            assert_eq!(d.vital + d.non_vital, d.open, "{d:?}");
            assert_eq!(d.by_path.len(), PATHS.len(), "every path is a key");
        }
        assert_eq!(curve[0].vital, 2);
        assert_eq!(curve[2].vital, 0);
    }

    #[test]
    fn time_to_fix_runs_from_the_first_message_to_the_fix() {
        let ttf = time_to_fix(&world());
        assert_eq!(ttf.all.findings, 4);
        assert_eq!(ttf.all.fixed, 3);
        assert_eq!(ttf.all.still_open, 1);
        assert_eq!(
            ttf.all.measured, 2,
            "the finding never told has no time to fix"
        );
        assert_eq!(ttf.all.median_hours, Some(36.0));
        assert_eq!(ttf.all.p90_hours, Some(48.0));
        let direct = ttf.by_path.iter().find(|s| s.group == "direct").unwrap();
        assert_eq!((direct.findings, direct.fixed, direct.measured), (2, 2, 2));
        let cert = ttf.by_path.iter().find(|s| s.group == "cert").unwrap();
        assert_eq!(
            (cert.findings, cert.still_open, cert.median_hours),
            (1, 1, None)
        );
        let unreached = ttf.by_path.iter().find(|s| s.group == NOT_REACHED).unwrap();
        assert_eq!((unreached.fixed, unreached.measured), (1, 0));
        let sectors: Vec<(&str, u64)> = ttf
            .by_sector
            .iter()
            .map(|s| (s.group.as_str(), s.findings))
            .collect();
        assert_eq!(sectors, [("health", 2), ("retail", 2)]);
        for s in ttf.by_path.iter().chain(&ttf.by_sector) {
            assert_eq!(s.fixed + s.still_open, s.findings, "{s:?}");
        }
    }

    #[test]
    fn findings_fixed_after_exploitation_began_are_counted_apart() {
        let e = exploitation(&world(), t("2020-01-11T12:00:00Z"));
        assert_eq!((e.fixed_before, e.fixed_after, e.still_open), (1, 2, 1));
        assert_eq!(e.fixed_after_findings, [2, 4]);
        assert_eq!(e.fixed_after_by_path["direct"], 1);
        assert_eq!(e.fixed_after_by_path[NOT_REACHED], 1);
    }

    #[test]
    fn indicators_measure_notify_from_the_later_of_sighting_and_disclosure() {
        let mut tally = Tally::default();
        let disclosure = Some(t("2020-01-10T07:00:00Z"));
        for f in &world() {
            tally.add("cve-x", disclosure, f);
        }
        let i = tally.indicator("nationwide".into());
        // 1 h (from disclosure, 07:00 → 08:00), 1 h, 3 h (from sighting, 06:00 → 09:00)
        assert_eq!(i.time_to_notify_hours, Some(1.0));
        assert_eq!(i.notified, 3);
        assert_eq!((i.affected_organisations, i.reached_organisations), (3, 2));
        assert_eq!(i.verified_fixed, 2);
        assert_eq!(i.share_verified, Some(2.0 / 3.0));
        assert_eq!(i.time_to_fix_hours, Some(36.0));
    }

    #[test]
    fn every_word_counted_with_is_defined_once() {
        let mut terms: Vec<&str> = DEFINITIONS.iter().map(|(t, _)| *t).collect();
        let n = terms.len();
        terms.sort();
        terms.dedup();
        assert_eq!(terms.len(), n);
        for word in ["affected", "reached", "unreachable", "open", "time to fix"] {
            assert!(terms.contains(&word), "{word} is defined");
        }
    }

    fn org(id: &str, kind: OrgKind, cert: Option<&str>) -> baken_model::Organisation {
        baken_model::Organisation {
            id: OrgId(id.into()),
            name: id.into(),
            kind,
            sector: None,
            vital: false,
            wbni: Default::default(),
            supervisor: None,
            cert: cert.map(str::to_string),
            networks: vec![],
            asns: vec![],
            domains: vec![],
            contacts: vec![],
        }
    }

    fn message(party: &str, path: &str) -> MessageRecord {
        MessageRecord {
            key: format!("k-{party}"),
            ticket: None,
            round: 1,
            kind: baken_store::MessageKind::First,
            incident: "cve-x".into(),
            recipient: format!("x@{party}.example"),
            party: party.into(),
            path: path.into(),
            findings: 1,
            state: MessageState::Sent,
            detail: None,
            created_at: "2020-01-10T08:00:00Z".into(),
            sent_at: Some("2020-01-10T08:00:00Z".into()),
        }
    }

    #[test]
    fn a_message_along_several_paths_carries_each_finding_along_one() {
        let attributor = Attributor::new(
            vec![
                org("org-a", OrgKind::Organisation, Some("cert-x")),
                org("cert-x", OrgKind::Cert, None),
                org("isp-h", OrgKind::Hoster, None),
                org("dtc", OrgKind::Dtc, None),
            ],
            vec![],
            vec![],
        )
        .unwrap();
        let only = message("cert-x", "cert,supervisor");
        assert_eq!(path_of(&attributor, &only, "org-a"), Some(Path::Cert));
        // a hosting provider told about its own systems and about its customers'
        let both = message("isp-h", "direct,hoster");
        assert_eq!(path_of(&attributor, &both, "isp-h"), Some(Path::Direct));
        assert_eq!(
            path_of(&attributor, &both, "unregistered@abuse@isp-h.example"),
            Some(Path::Hoster)
        );
        let dtc = message("dtc", "direct,dtc");
        assert_eq!(path_of(&attributor, &dtc, "org-a"), Some(Path::Dtc));
        let cert = message("cert-x", "direct,cert");
        assert_eq!(path_of(&attributor, &cert, "org-a"), Some(Path::Cert));
    }

    #[test]
    fn reach_reconciles_only_when_the_groups_add_up() {
        let mut r = Reach::default();
        r.total.add(true);
        r.organisations.add(true);
        r.vital.add(true);
        r.by_sector.entry("health".into()).or_default().add(true);
        assert!(r.reconciles());
        r.total.add(false);
        assert!(!r.reconciles(), "a party in the total but in no group");
        r.unattributed.add(false);
        assert!(r.reconciles());
    }
}
