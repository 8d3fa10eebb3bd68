//! Exercises: a drill injected through the real chain — the same registry, policy, delivery
//! paths and lifecycle — and measured afterwards.
//!
//! `exercise_run` reads a scenario (a shipped one, see [`SCENARIOS`], or a TOML file of the
//! same form), writes a synthetic CSAF advisory and IntelMQ scan rows for the participants'
//! registered addresses, imports and ingests them as any other advisory and feed, and runs a
//! notify round for the exercise's incident. The incident is `exercise-<id>-<rehearses>`
//! ([`baken_pipeline::exercise`]): the rows carry it as their classification and no CVE, the
//! advisory names no CVE, and the run's report type is the exercise's own, so nothing of the
//! drill is linked to a real incident, counted in its coverage, report or indicators, or
//! taken as a later report of a real feed. Every message of it says it is an exercise.
//!
//! Participants answer as they would for real (a reply read by `inbox import`, the API,
//! `finding ack|fixed`); `exercise_report` measures each and each sector from the record, and
//! `exercise_end` closes the findings that are still open, cause `exercise`.
//!
//! ```no_run
//! use baken_app::{App, ExerciseRequest, NotifyRequest};
//! use baken_deliver::Outbox;
//! use baken_model::Tlp;
//! let mut app = App::open("baken-data".as_ref())?;
//! let mut outbox = Outbox::new("baken-data/outbox")?;
//! let request = ExerciseRequest {
//!     scenario: "citrix-adc".into(),
//!     id: Some("drill1".into()),
//!     participants: None,
//!     out: None,
//!     notify: NotifyRequest {
//!         incident: None,
//!         from: "NCSC baken <baken@ncsc.example>".into(),
//!         tlp: Tlp::Amber,
//!         policy: "nl-2020".into(),
//!         named: Vec::new(),
//!         idempotent_transport: true,
//!         resend_uncertain: false,
//!         daily: None,
//!     },
//! };
//! let run = app.exercise_run(&request, &mut outbox, &baken_pipeline::NoProgress)?;
//! let report = app.exercise_report(&run.id)?;
//! println!("{} of {} participants told", report.total.delivered, report.total.participants);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use baken_deliver::Transport;
use baken_feeds::{FeedKind, Options};
use baken_model::{Event, OrgId, Tlp};
use baken_pipeline::Progress;
use baken_pipeline::advisories::ImportOutcome;
use baken_pipeline::exercise as names;
use baken_pipeline::ingest::{FileSummary, Input, Settings};
use baken_store::audit::NewAuditEntry;
use baken_store::{
    Cause, FindingQuery, FindingState, Label, MessageState, TimelineStep, Transition,
    TransitionOutcome,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{App, AppError, NotifyReport, NotifyRequest, Result};

/// The shipped scenarios, by name, as the files a user copies and edits.
pub const SCENARIOS: &[(&str, &str)] = &[
    ("citrix-adc", include_str!("../scenarios/citrix-adc.toml")),
    (
        "pulse-secure",
        include_str!("../scenarios/pulse-secure.toml"),
    ),
    ("supplier", include_str!("../scenarios/supplier.toml")),
];

/// The timeline step that records an exercise's start (its detail: [`Started`] as JSON);
/// also the kind of its audit entry.
pub const STARTED: &str = "exercise-started";
/// The timeline step that records an exercise's end; also the kind of its audit entry.
pub const ENDED: &str = "exercise-ended";

/// A drill: what it rehearses, the advisory it issues, the scan rows it generates and who
/// takes part by default. Read from TOML (see the shipped files in `crates/app/scenarios/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The name a shipped scenario is known by.
    pub name: String,
    /// What the drill rehearses: a CVE or a short name (letters, digits, `-`); the
    /// exercise's incident is `exercise-<id>-<rehearses>`.
    pub rehearses: String,
    /// The advisory's title.
    pub title: String,
    /// The advisory's summary.
    pub summary: String,
    /// The vendor of the affected product.
    pub vendor: String,
    /// The affected product.
    pub product: String,
    /// A CVSS v3.1 vector.
    pub cvss: String,
    /// Its base score.
    pub base_score: f64,
    /// Its rating (`CRITICAL`, `HIGH`, …).
    pub severity: String,
    /// What to do, as the advisory's remediations.
    #[serde(default)]
    pub remediations: Vec<ScenarioRemediation>,
    /// The scan rows to generate.
    pub scan: ScanSpec,
    /// Who takes part when no list is given.
    #[serde(default)]
    pub participants: ParticipantSpec,
}

/// One remediation of a scenario's advisory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioRemediation {
    /// CSAF's category: `vendor_fix`, `mitigation`, `workaround`, …
    pub category: String,
    /// What to do.
    pub details: String,
    /// Where to read more.
    #[serde(default)]
    pub url: Option<String>,
}

/// The scan rows a scenario generates, one per host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSpec {
    /// The port seen.
    pub port: u16,
    /// `tcp` or `udp`.
    pub transport: String,
    /// The application protocol (`https`).
    pub application: String,
    /// IntelMQ's `classification.taxonomy` (`vulnerable`, `intrusions`).
    pub taxonomy: String,
    /// IntelMQ's `classification.type` (`vulnerable-system`, `compromised`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Hosts per participant: the first addresses of its networks, up to this many.
    pub hosts_per_participant: usize,
}

/// Who takes part in a drill when no list is given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantSpec {
    /// Only organisations of these sectors (every sector when empty).
    #[serde(default)]
    pub sectors: Vec<String>,
    /// Only organisations whose inventory declares one of these products (a word of the
    /// entry's name or CPE, case-insensitive), when any organisation declares one.
    #[serde(default)]
    pub products: Vec<String>,
}

impl Scenario {
    /// Reads a scenario from TOML `text`; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Scenario> {
        let s: Scenario =
            toml::from_str(text).map_err(|e| AppError::Usage(format!("scenario {source}: {e}")))?;
        let what = s.rehearses.to_ascii_lowercase();
        if what.is_empty()
            || !what
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(AppError::Usage(format!(
                "scenario {source}: rehearses = {:?}: write a CVE or a short name of letters, \
                 digits and -",
                s.rehearses
            )));
        }
        if s.scan.hosts_per_participant == 0 {
            return Err(AppError::Usage(format!(
                "scenario {source}: [scan] hosts_per_participant must be at least 1"
            )));
        }
        Ok(s)
    }

    /// The shipped scenario `spec`, else the scenario file at path `spec`.
    pub fn load(spec: &str) -> Result<Scenario> {
        if let Some((_, text)) = SCENARIOS.iter().find(|(n, _)| *n == spec) {
            return Scenario::parse(text, spec);
        }
        let path = Path::new(spec);
        if !path.exists() {
            return Err(AppError::Usage(format!(
                "no scenario {spec:?}: name a shipped one ({}) or a scenario file",
                SCENARIOS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| AppError::Usage(format!("{spec}: {e}")))?;
        Scenario::parse(&text, spec)
    }

    /// The advisory of exercise `id`: CSAF 2.0, its id the exercise's incident in upper
    /// case, naming no CVE.
    pub fn advisory(&self, id: &str, at: &str) -> serde_json::Value {
        let tracking = names::incident(id, &self.rehearses).to_ascii_uppercase();
        let remediations: Vec<serde_json::Value> = self
            .remediations
            .iter()
            .map(|r| {
                let mut v = serde_json::json!({
                    "category": r.category,
                    "details": r.details,
                    "product_ids": ["EXERCISE-PRODUCT"],
                });
                if let Some(url) = &r.url {
                    v["url"] = url.clone().into();
                }
                v
            })
            .collect();
        serde_json::json!({
            "document": {
                "category": "csaf_security_advisory",
                "csaf_version": "2.0",
                "title": format!("EXERCISE {id}: {}", self.title),
                "lang": "en",
                "publisher": {
                    "category": "coordinator",
                    "name": "baken exercise",
                    "namespace": "https://exercise.example"
                },
                "distribution": {"tlp": {"label": "AMBER", "url": "https://www.first.org/tlp/"}},
                "notes": [
                    {
                        "category": "summary",
                        "text": format!(
                            "EXERCISE {id}: this advisory is part of an exercise and describes \
                             nothing real. {}", self.summary),
                    }
                ],
                "tracking": {
                    "id": tracking,
                    "status": "final",
                    "version": "1",
                    "initial_release_date": at,
                    "current_release_date": at,
                    "revision_history": [
                        {"number": "1", "date": at, "summary": "Issued for the exercise."}
                    ]
                }
            },
            "product_tree": {
                "branches": [{
                    "category": "vendor",
                    "name": self.vendor,
                    "branches": [{
                        "category": "product_name",
                        "name": self.product,
                        "product": {
                            "name": format!("{} {}", self.vendor, self.product),
                            "product_id": "EXERCISE-PRODUCT"
                        }
                    }]
                }]
            },
            "vulnerabilities": [{
                "title": self.title,
                "ids": [{"system_name": "baken exercise", "text": tracking}],
                "notes": [{"category": "description", "text": self.summary}],
                "product_status": {"known_affected": ["EXERCISE-PRODUCT"]},
                "scores": [{
                    "products": ["EXERCISE-PRODUCT"],
                    "cvss_v3": {
                        "version": "3.1",
                        "vectorString": self.cvss,
                        "baseScore": self.base_score,
                        "baseSeverity": self.severity,
                    }
                }],
                "remediations": remediations,
            }]
        })
    }

    /// The scan row of exercise `id` for host `ip` seen at `at`, as IntelMQ writes an event.
    pub fn scan_row(&self, id: &str, ip: &str, at: &str) -> Event {
        let mut e = Event::new();
        e.insert("time.source", at.to_string());
        e.insert("source.ip", ip.to_string());
        e.insert("source.port", u64::from(self.scan.port));
        e.insert("protocol.transport", self.scan.transport.clone());
        e.insert("protocol.application", self.scan.application.clone());
        e.insert("classification.taxonomy", self.scan.taxonomy.clone());
        e.insert("classification.type", self.scan.kind.clone());
        // the exercise's incident, and no CVE: nothing links the row to the real incident
        e.insert(
            "classification.identifier",
            names::incident(id, &self.rehearses),
        );
        e.insert("feed.name", format!("baken-exercise-{id}"));
        e.insert("product.vendor", self.vendor.clone());
        e.insert("product.product", self.product.clone());
        e.insert("extra.exercise", id.to_string());
        e
    }
}

/// A shipped scenario, as `exercise scenarios` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ShippedScenario {
    /// Its name.
    pub name: String,
    /// What it rehearses.
    pub rehearses: String,
    /// Its title.
    pub title: String,
    /// The file's text, to copy and edit.
    pub text: String,
}

/// The shipped scenarios.
pub fn scenarios() -> Vec<ShippedScenario> {
    SCENARIOS
        .iter()
        .map(|(name, text)| {
            let s = Scenario::parse(text, name).expect("a shipped scenario reads");
            ShippedScenario {
                name: name.to_string(),
                rehearses: s.rehearses,
                title: s.title,
                text: text.to_string(),
            }
        })
        .collect()
}

/// What `exercise run` is asked to do.
#[derive(Debug, Clone)]
pub struct ExerciseRequest {
    /// A shipped scenario's name or a scenario file.
    pub scenario: String,
    /// The exercise's id (1 to 32 lower-case letters and digits); made from the scenario and
    /// the time when `None`.
    pub id: Option<String>,
    /// The participants (registry ids); the scenario's choice when `None`.
    pub participants: Option<Vec<String>>,
    /// Where the generated advisory and scan rows go (default `DATA/exercises/<id>`).
    pub out: Option<PathBuf>,
    /// How to notify (its `incident` is the exercise's).
    pub notify: NotifyRequest,
}

/// What an exercise's start records (the detail of its `exercise-started` timeline step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Started {
    /// The exercise.
    pub id: String,
    /// Its scenario's name.
    pub scenario: String,
    /// The scenario's title.
    pub title: String,
    /// The policy it was notified under.
    pub policy: String,
    /// The participants (registry ids).
    pub participants: Vec<String>,
}

/// One participant of a drill and the hosts generated for it.
#[derive(Debug, Clone, Serialize)]
pub struct Participant {
    /// Registry id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Sector.
    pub sector: Option<String>,
    /// The addresses its scan rows name (none: it has no registered network).
    pub hosts: Vec<String>,
}

/// What `exercise run` did.
#[derive(Debug, Clone, Serialize)]
pub struct ExerciseRun {
    /// The exercise.
    pub id: String,
    /// Its incident.
    pub incident: String,
    /// The scenario.
    pub scenario: String,
    /// The advisory issued for it.
    pub advisory: String,
    /// The participants.
    pub participants: Vec<Participant>,
    /// The generated advisory and scan rows.
    pub inputs: Vec<String>,
    /// What ingesting the scan rows did.
    pub ingest: FileSummary,
    /// What the notify round did.
    pub notify: NotifyReport,
}

/// One exercise, as `exercise list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ExerciseSummary {
    /// The exercise.
    pub id: String,
    /// Its incident.
    pub incident: String,
    /// Its scenario.
    pub scenario: String,
    /// Its participants.
    pub participants: usize,
    /// Its findings.
    pub findings: u64,
    /// When it started.
    pub started_at: String,
    /// When it ended, if it did.
    pub ended_at: Option<String>,
}

/// What `exercise end` did.
#[derive(Debug, Clone, Serialize)]
pub struct ExerciseEnd {
    /// The exercise.
    pub id: String,
    /// Its incident.
    pub incident: String,
    /// When it ended.
    pub ended_at: String,
    /// Findings closed now.
    pub closed: usize,
    /// Findings that were closed already (verified fixed).
    pub already_closed: usize,
}

/// How one participant fared in a drill.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ParticipantResult {
    /// Registry id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Sector, `(no sector)` when none.
    pub sector: String,
    /// Whether it is a vital provider.
    pub vital: bool,
    /// Its findings in the drill.
    pub findings: usize,
    /// When a delivered message first carried one of its findings specifically.
    pub delivered_at: Option<String>,
    /// When it first acknowledged (or claimed a fix, which acknowledges too).
    pub acknowledged_at: Option<String>,
    /// Hours from delivery to that.
    pub hours_to_acknowledge: Option<f64>,
    /// When it first claimed a mitigation (or a rescan verified the fix).
    pub mitigation_claimed_at: Option<String>,
    /// Hours from delivery to that.
    pub hours_to_mitigation_claimed: Option<f64>,
    /// Delivered, and never acknowledged nor claimed a fix.
    pub never_responded: bool,
    /// Why no message reached it, when none did.
    pub unreachable: Option<String>,
}

/// The figures of a group of participants (a sector, or all of them).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct GroupResult {
    /// The sector, or `all`.
    pub group: String,
    /// Participants.
    pub participants: usize,
    /// Reached by a delivered message.
    pub delivered: usize,
    /// Acknowledged (or claimed a fix).
    pub acknowledged: usize,
    /// Claimed a mitigation.
    pub mitigation_claimed: usize,
    /// Delivered and never responded.
    pub never_responded: usize,
    /// Not reached.
    pub unreachable: usize,
    /// Median hours from delivery to acknowledgement.
    pub median_hours_to_acknowledge: Option<f64>,
    /// Median hours from delivery to a mitigation claimed.
    pub median_hours_to_mitigation_claimed: Option<f64>,
}

/// The measures of a drill, per participant and per sector: `exercise report`.
#[derive(Debug, Clone, Serialize)]
pub struct ExerciseReport {
    /// The exercise.
    pub id: String,
    /// Its incident.
    pub incident: String,
    /// Its scenario.
    pub scenario: String,
    /// The scenario's title.
    pub title: String,
    /// The policy it was notified under.
    pub policy: String,
    /// When it started.
    pub started_at: String,
    /// When it ended, if it did.
    pub ended_at: Option<String>,
    /// Every participant.
    pub participants: Vec<ParticipantResult>,
    /// Per sector.
    pub sectors: Vec<GroupResult>,
    /// All participants.
    pub total: GroupResult,
    /// The words the report counts with.
    pub definitions: &'static [(&'static str, &'static str)],
}

/// Why a participant without a registered network is unreachable.
pub const NO_NETWORK: &str = "no registered network to generate a scan row for";

/// The words the exercise report counts with.
pub const DEFINITIONS: &[(&str, &str)] = &[
    (
        "delivered",
        "a message in state sent carried at least one of the participant's findings \
         specifically (sector counts deliver nothing); times are measured from the first",
    ),
    (
        "acknowledged",
        "the first change of one of its findings to acknowledged or mitigation-claimed, by \
         a reply or a person (inbox import, the API, finding ack|fixed)",
    ),
    (
        "mitigation claimed",
        "the first change of one of its findings to mitigation-claimed, or to verified-fixed \
         by a later report; closing the exercise does not count",
    ),
    (
        "never responded",
        "delivered, and neither acknowledged nor claimed a mitigation",
    ),
    (
        "unreachable",
        "no delivered message carried its findings: the plan's reason under the exercise's \
         policy, why its message did not go out, or that it has no registered network",
    ),
];

fn parse_time(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t).ok().map(|t| t.to_utc())
}

fn hours(from: &str, to: &str) -> Option<f64> {
    let (a, b) = (parse_time(from)?, parse_time(to)?);
    Some(((b - a).num_seconds().max(0) as f64 / 3600.0 * 100.0).round() / 100.0)
}

impl App {
    /// The incident of exercise `id` and its start record.
    fn exercise_started(&self, id: &str) -> Result<(String, Started, String)> {
        for (incident, _) in self.store.incidents()? {
            if names::exercise_of(&incident) != Some(id) {
                continue;
            }
            for step in self.store.timeline(&incident)? {
                if step.step == STARTED {
                    let started: Started = serde_json::from_str(&step.detail).map_err(|e| {
                        AppError::Store(baken_store::StoreError::Corrupt {
                            what: "exercise start",
                            detail: format!("the start of exercise {id} does not read: {e}"),
                        })
                    })?;
                    return Ok((incident, started, step.at));
                }
            }
        }
        Err(AppError::NotFound(format!(
            "no exercise {id:?}; `baken exercise run` starts one"
        )))
    }

    /// Every exercise in the store, oldest first.
    pub fn exercises(&self) -> Result<Vec<ExerciseSummary>> {
        let mut out = Vec::new();
        for (incident, findings) in self.store.incidents()? {
            let Some(id) = names::exercise_of(&incident) else {
                continue;
            };
            let id = id.to_string();
            let steps = self.store.timeline(&incident)?;
            let Some(start) = steps.iter().find(|s| s.step == STARTED) else {
                continue;
            };
            let Ok(started) = serde_json::from_str::<Started>(&start.detail) else {
                continue;
            };
            out.push(ExerciseSummary {
                id,
                incident,
                scenario: started.scenario,
                participants: started.participants.len(),
                findings,
                started_at: start.at.clone(),
                ended_at: steps.iter().find(|s| s.step == ENDED).map(|s| s.at.clone()),
            });
        }
        out.sort_by(|a, b| a.started_at.cmp(&b.started_at));
        Ok(out)
    }

    /// The organisations a scenario picks when no participants are named.
    fn chosen_participants(&mut self, scenario: &Scenario) -> Result<Vec<String>> {
        let attributor = self.attributor()?;
        let in_sector = |o: &baken_model::Organisation| {
            scenario.participants.sectors.is_empty()
                || o.sector.as_deref().is_some_and(|s| {
                    scenario
                        .participants
                        .sectors
                        .iter()
                        .any(|w| w.eq_ignore_ascii_case(s))
                })
        };
        let words: Vec<String> = scenario
            .participants
            .products
            .iter()
            .map(|w| w.to_ascii_lowercase())
            .collect();
        let mut declared = BTreeSet::new();
        if !words.is_empty() {
            for entry in self.store.inventory()? {
                let text = format!(
                    "{} {}",
                    entry.name.as_deref().unwrap_or(""),
                    entry.cpe.as_deref().unwrap_or("")
                )
                .to_ascii_lowercase();
                if words.iter().any(|w| text.contains(w.as_str())) {
                    declared.insert(entry.org);
                }
            }
        }
        Ok(attributor
            .organisations()
            .iter()
            .filter(|o| o.kind == baken_model::OrgKind::Organisation)
            .filter(|o| !o.networks.is_empty() && in_sector(o))
            .filter(|o| declared.is_empty() || declared.contains(&o.id.0))
            .map(|o| o.id.0.clone())
            .collect())
    }

    /// Runs a drill: issues the scenario's advisory, ingests scan rows for the participants'
    /// registered addresses, and notifies under the request's policy over `transport`.
    pub fn exercise_run(
        &mut self,
        request: &ExerciseRequest,
        transport: &mut dyn Transport,
        progress: &dyn Progress,
    ) -> Result<ExerciseRun> {
        let scenario = Scenario::load(&request.scenario)?;
        self.policy(&request.notify.policy)?;
        let now = baken_store::now();
        let id = match &request.id {
            Some(id) => id.clone(),
            None => {
                let stem: String = scenario
                    .name
                    .bytes()
                    .filter(u8::is_ascii_alphanumeric)
                    .map(|b| b.to_ascii_lowercase() as char)
                    .take(16)
                    .collect();
                let at = parse_time(&now).unwrap_or_else(Utc::now);
                format!("{stem}{}", at.format("%Y%m%d%H%M%S"))
            }
        };
        if !names::valid_id(&id) {
            return Err(AppError::Usage(format!(
                "{id:?} cannot name an exercise: use 1 to 32 lower-case letters and digits"
            )));
        }
        if self.exercise_started(&id).is_ok() {
            return Err(AppError::Usage(format!(
                "exercise {id} exists already; choose another id"
            )));
        }
        let incident = names::incident(&id, &scenario.rehearses);
        let mut participants = match &request.participants {
            Some(list) => list.clone(),
            None => self.chosen_participants(&scenario)?,
        };
        // each once, in the order given
        let mut seen = BTreeSet::new();
        participants.retain(|p| seen.insert(p.clone()));
        if participants.is_empty() {
            return Err(AppError::Usage(format!(
                "scenario {} picks no organisation of the registry; name the participants \
                 in a file",
                scenario.name
            )));
        }
        let attributor = self.attributor()?;
        let mut taking_part = Vec::new();
        for p in &participants {
            let Some(org) = attributor.organisation(&OrgId(p.clone())) else {
                return Err(AppError::NotFound(format!(
                    "participant {p}: no organisation with that id in the registry"
                )));
            };
            let hosts: Vec<String> = org
                .networks
                .iter()
                .flat_map(|net| {
                    // the first addresses of the network (a v6 network's first is its own)
                    let skip = usize::from(matches!(net, ipnet::IpNet::V6(_)));
                    net.hosts()
                        .skip(skip)
                        .take(scenario.scan.hosts_per_participant)
                })
                .take(scenario.scan.hosts_per_participant)
                .map(|ip| ip.to_string())
                .collect();
            taking_part.push(Participant {
                id: org.id.0.clone(),
                name: org.name.clone(),
                sector: org.sector.clone(),
                hosts,
            });
        }
        if taking_part.iter().all(|p| p.hosts.is_empty()) {
            return Err(AppError::Usage(
                "no participant has a registered network to generate a scan row for".into(),
            ));
        }

        let out = request
            .out
            .clone()
            .unwrap_or_else(|| self.data.join("exercises").join(&id));
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |e: std::io::Error| AppError::Usage(format!("{path}: {e}"))
        };
        std::fs::create_dir_all(&out).map_err(io(&out))?;

        // the disclosure: the exercise's advisory, imported like any other
        let advisory = scenario.advisory(&id, &now);
        let advisory_path = out.join(format!("{incident}.csaf.json"));
        let bytes = serde_json::to_vec_pretty(&advisory).expect("an advisory serialises");
        std::fs::write(&advisory_path, &bytes).map_err(io(&advisory_path))?;
        let advisory_id =
            match self.import_advisory_bytes(&bytes, &advisory_path.display().to_string(), None)? {
                ImportOutcome::Imported { .. } => advisory["document"]["tracking"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                other => {
                    return Err(AppError::Usage(format!(
                        "the advisory of scenario {} did not import: {other:?}",
                        scenario.name
                    )));
                }
            };
        self.store.add_step(&TimelineStep {
            incident: incident.clone(),
            step: STARTED.into(),
            at: now.clone(),
            detail: serde_json::to_string(&Started {
                id: id.clone(),
                scenario: scenario.name.clone(),
                title: scenario.title.clone(),
                policy: request.notify.policy.clone(),
                participants: taking_part.iter().map(|p| p.id.clone()).collect(),
            })
            .expect("a start serialises"),
        })?;
        self.store.append_audit(&[NewAuditEntry {
            kind: STARTED.into(),
            subject: incident.clone(),
            body: serde_json::json!({
                "exercise": id,
                "scenario": scenario.name,
                "policy": request.notify.policy,
                "participants": taking_part.iter().map(|p| &p.id).collect::<Vec<_>>(),
            })
            .to_string(),
        }])?;
        self.store.add_step(&TimelineStep {
            incident: incident.clone(),
            step: "advisory-imported".into(),
            at: baken_store::now(),
            detail: advisory_id.clone(),
        })?;

        // the scan: one IntelMQ event per host, ingested as any feed, as its own report type
        let seen = parse_time(&now)
            .unwrap_or_else(Utc::now)
            .format("%Y-%m-%dT%H:%M:%S+00:00")
            .to_string();
        let mut rows = Vec::new();
        for p in &taking_part {
            for ip in &p.hosts {
                scenario.scan_row(&id, ip, &seen).write_json_line(&mut rows);
                rows.push(b'\n');
            }
        }
        let scan_path = out.join(format!("{incident}.intelmq.jsonl"));
        std::fs::write(&scan_path, &rows).map_err(io(&scan_path))?;
        let settings = Settings {
            label: Label {
                tlp: request.notify.tlp,
                supplied_by: Some(format!("baken exercise {id}")),
            },
            // its steps are the exercise's, in no real incident's timeline
            timeline_incident: Some(incident.clone()),
            verify_after_reports: self
                .policy(&request.notify.policy)?
                .lifecycle()
                .verify_after_reports,
            ..Settings::default()
        };
        let ingest = self.ingest(
            &Input {
                path: scan_path.clone(),
                feed: FeedKind::Intelmq,
            },
            &Options {
                // a report type of its own: the drill is no later report of a real feed
                report: Some(format!("exercise-{id}")),
                ..Options::default()
            },
            &settings,
            progress,
        )?;

        let mut notify = request.notify.clone();
        notify.incident = Some(incident.clone());
        let notify = self.notify(&notify, transport, progress)?;
        Ok(ExerciseRun {
            id,
            incident,
            scenario: scenario.name,
            advisory: advisory_id,
            participants: taking_part,
            inputs: vec![
                advisory_path.display().to_string(),
                scan_path.display().to_string(),
            ],
            ingest,
            notify,
        })
    }

    /// Ends exercise `id`: every finding of it not yet closed becomes verified fixed, cause
    /// `exercise`, and the end is recorded. An exercise ends once.
    pub fn exercise_end(&mut self, id: &str, by: &str) -> Result<ExerciseEnd> {
        let (incident, _, _) = self.exercise_started(id)?;
        if let Some(end) = self
            .store
            .timeline(&incident)?
            .into_iter()
            .find(|s| s.step == ENDED)
        {
            return Err(AppError::Usage(format!(
                "exercise {id} ended at {}",
                end.at
            )));
        }
        let findings = self.store.finding_records(&FindingQuery {
            incident: Some(incident.clone()),
            ..FindingQuery::default()
        })?;
        let (open, closed): (Vec<_>, Vec<_>) = findings
            .iter()
            .partition(|f| f.state != FindingState::VerifiedFixed);
        let changes: Vec<Transition> = open
            .iter()
            .map(|f| Transition {
                finding: f.id,
                to: Some(FindingState::VerifiedFixed),
                cause: Cause::Exercise,
                reference: Some(format!("exercise {id}")),
                by: Some(by.to_string()),
                note: Some("the exercise ended".into()),
            })
            .collect();
        let outcomes = self.store.transition(&changes)?;
        let done = outcomes
            .iter()
            .filter(|o| matches!(o, TransitionOutcome::Applied { .. }))
            .count();
        let ended_at = baken_store::now();
        self.store.append_audit(&[NewAuditEntry {
            kind: ENDED.into(),
            subject: incident.clone(),
            body: serde_json::json!({"exercise": id, "by": by, "closed": done}).to_string(),
        }])?;
        self.store.add_step(&TimelineStep {
            incident: incident.clone(),
            step: ENDED.into(),
            at: ended_at.clone(),
            detail: format!("{done} findings closed by {by}"),
        })?;
        Ok(ExerciseEnd {
            id: id.to_string(),
            incident,
            ended_at,
            closed: done,
            already_closed: closed.len(),
        })
    }

    /// Measures exercise `id` from the record: per participant and per sector, delivered,
    /// time to acknowledge, time to a mitigation claimed, never responded, unreachable and
    /// why.
    pub fn exercise_report(&mut self, id: &str) -> Result<ExerciseReport> {
        let (incident, started, started_at) = self.exercise_started(id)?;
        let ended_at = self
            .store
            .timeline(&incident)?
            .into_iter()
            .find(|s| s.step == ENDED)
            .map(|s| s.at);
        let attributor = self.attributor()?;
        let findings = self.store.finding_records(&FindingQuery {
            incident: Some(incident.clone()),
            ..FindingQuery::default()
        })?;
        let owner_of: BTreeMap<i64, String> = findings
            .iter()
            .filter_map(|f| match &f.attribution.owner {
                baken_model::Owner::Organisation { id } => Some((f.id, id.0.clone())),
                _ => None,
            })
            .collect();
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for owner in owner_of.values() {
            *count.entry(owner.as_str()).or_default() += 1;
        }
        // first delivery per participant: sent messages that carried its findings specifically
        let messages = self.store.messages(Some(&incident))?;
        let sent_at: BTreeMap<&str, &str> = messages
            .iter()
            .filter(|m| m.state == MessageState::Sent)
            .filter_map(|m| Some((m.key.as_str(), m.sent_at.as_deref()?)))
            .collect();
        let mut delivered: BTreeMap<String, String> = BTreeMap::new();
        for d in self.store.disclosures(&incident)? {
            if d.form == baken_policy::Form::Aggregate.as_str() {
                continue;
            }
            let (Some(at), Some(owner)) =
                (sent_at.get(d.message.as_str()), owner_of.get(&d.finding))
            else {
                continue;
            };
            let e = delivered
                .entry(owner.clone())
                .or_insert_with(|| at.to_string());
            if parse_time(at) < parse_time(e) {
                *e = at.to_string();
            }
        }
        // first acknowledgement and claim per participant
        let mut acked: BTreeMap<String, String> = BTreeMap::new();
        let mut claimed: BTreeMap<String, String> = BTreeMap::new();
        for t in self.store.incident_transitions(&incident)? {
            let Some(owner) = owner_of.get(&t.finding) else {
                continue;
            };
            let earliest = |map: &mut BTreeMap<String, String>| {
                let e = map.entry(owner.clone()).or_insert_with(|| t.at.clone());
                if parse_time(&t.at) < parse_time(e) {
                    *e = t.at.clone();
                }
            };
            let said = matches!(t.cause, Cause::Reply | Cause::Analyst);
            match t.to {
                FindingState::Acknowledged if said => earliest(&mut acked),
                FindingState::MitigationClaimed if said => {
                    earliest(&mut acked);
                    earliest(&mut claimed);
                }
                FindingState::VerifiedFixed if t.cause == Cause::Report => earliest(&mut claimed),
                _ => {}
            }
        }
        // why the others were not reached: the plan's reasons, or the failed delivery's
        let reasons: BTreeMap<String, String> =
            match self.plan(&incident, &started.policy, Tlp::Amber) {
                Ok(plan) => baken_pipeline::notify::delivered_coverage(&*self.store, &plan)?
                    .into_iter()
                    .filter_map(|a| Some((a.id.key(), a.unreachable_reason()?.into_owned())))
                    .collect(),
                Err(AppError::NotFound(_)) => BTreeMap::new(),
                Err(e) => return Err(e),
            };

        let mut participants = Vec::new();
        for p in &started.participants {
            let org = attributor.organisation(&OrgId(p.clone()));
            let delivered_at = delivered.get(p).cloned();
            let acknowledged_at = acked.get(p).cloned();
            let mitigation_claimed_at = claimed.get(p).cloned();
            let n = count.get(p.as_str()).copied().unwrap_or(0);
            let unreachable = match (&delivered_at, n) {
                (Some(_), _) => None,
                (None, 0) if org.is_none_or(|o| o.networks.is_empty()) => Some(NO_NETWORK.into()),
                (None, 0) => Some(
                    "its scan rows were attributed to another party (a more specific network)"
                        .into(),
                ),
                (None, _) => Some(
                    reasons
                        .get(p)
                        .cloned()
                        .unwrap_or_else(|| "no message carried its findings".into()),
                ),
            };
            let since = |at: &Option<String>| match (&delivered_at, at) {
                (Some(d), Some(a)) => hours(d, a),
                _ => None,
            };
            participants.push(ParticipantResult {
                id: p.clone(),
                name: org.map_or_else(|| p.clone(), |o| o.name.clone()),
                sector: org
                    .and_then(|o| o.sector.clone())
                    .unwrap_or_else(|| "(no sector)".into()),
                vital: org.is_some_and(|o| o.vital),
                findings: n,
                hours_to_acknowledge: since(&acknowledged_at),
                hours_to_mitigation_claimed: since(&mitigation_claimed_at),
                never_responded: delivered_at.is_some()
                    && acknowledged_at.is_none()
                    && mitigation_claimed_at.is_none(),
                delivered_at,
                acknowledged_at,
                mitigation_claimed_at,
                unreachable,
            });
        }
        let mut by_sector: BTreeMap<&str, Vec<&ParticipantResult>> = BTreeMap::new();
        for p in &participants {
            by_sector.entry(p.sector.as_str()).or_default().push(p);
        }
        let sectors = by_sector
            .iter()
            .map(|(s, ps)| group(s, ps))
            .collect::<Vec<_>>();
        let total = group("all", &participants.iter().collect::<Vec<_>>());
        Ok(ExerciseReport {
            id: id.to_string(),
            incident,
            scenario: started.scenario,
            title: started.title,
            policy: started.policy,
            started_at,
            ended_at,
            participants,
            sectors,
            total,
            definitions: DEFINITIONS,
        })
    }
}

fn group(name: &str, ps: &[&ParticipantResult]) -> GroupResult {
    let acks: Vec<f64> = ps.iter().filter_map(|p| p.hours_to_acknowledge).collect();
    let claims: Vec<f64> = ps
        .iter()
        .filter_map(|p| p.hours_to_mitigation_claimed)
        .collect();
    GroupResult {
        group: name.to_string(),
        participants: ps.len(),
        delivered: ps.iter().filter(|p| p.delivered_at.is_some()).count(),
        acknowledged: ps.iter().filter(|p| p.acknowledged_at.is_some()).count(),
        mitigation_claimed: ps
            .iter()
            .filter(|p| p.mitigation_claimed_at.is_some())
            .count(),
        never_responded: ps.iter().filter(|p| p.never_responded).count(),
        unreachable: ps.iter().filter(|p| p.unreachable.is_some()).count(),
        median_hours_to_acknowledge: baken_pipeline::report::median(&acks),
        median_hours_to_mitigation_claimed: baken_pipeline::report::median(&claims),
    }
}

impl ExerciseReport {
    /// The report as one self-contained HTML page: a bar per sector (inline SVG) and the
    /// tables, no script, nothing loaded from elsewhere.
    pub fn html(&self) -> String {
        let mut h = String::new();
        let title = format!("Exercise {}: {}", self.id, self.title);
        h.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        h.push_str(&format!("<title>{}</title>", esc(&title)));
        h.push_str(
            "<style>body{font-family:sans-serif;margin:2em;max-width:80em}\
             table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;\
             padding:.25em .5em;text-align:left}td.n{text-align:right}\
             .banner{background:#fde68a;padding:.5em;font-weight:bold}</style></head><body>\n",
        );
        h.push_str(&format!(
            "<p class=\"banner\">EXERCISE {}: nothing in this report is a real incident.</p>\n",
            esc(&self.id)
        ));
        h.push_str(&format!("<h1>{}</h1>\n", esc(&title)));
        h.push_str(&format!(
            "<p>Scenario <b>{}</b>, incident <code>{}</code>, policy {}; started {}, {}.</p>\n",
            esc(&self.scenario),
            esc(&self.incident),
            esc(&self.policy),
            esc(&self.started_at),
            match &self.ended_at {
                Some(e) => format!("ended {}", esc(e)),
                None => "not ended".into(),
            }
        ));
        h.push_str("<h2>Per sector</h2>\n");
        h.push_str(&self.chart());
        h.push_str(
            "<table><tr><th>sector</th><th>participants</th><th>delivered</th>\
             <th>acknowledged</th><th>mitigation claimed</th><th>never responded</th>\
             <th>unreachable</th><th>median h to acknowledge</th>\
             <th>median h to mitigation claimed</th></tr>\n",
        );
        for g in self.sectors.iter().chain(std::iter::once(&self.total)) {
            h.push_str(&format!(
                "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td>\
                 <td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td>\
                 <td class=n>{}</td></tr>\n",
                esc(&g.group),
                g.participants,
                g.delivered,
                g.acknowledged,
                g.mitigation_claimed,
                g.never_responded,
                g.unreachable,
                opt(g.median_hours_to_acknowledge),
                opt(g.median_hours_to_mitigation_claimed),
            ));
        }
        h.push_str("</table>\n<h2>Per participant</h2>\n");
        h.push_str(
            "<table><tr><th>participant</th><th>sector</th><th>findings</th>\
             <th>delivered</th><th>h to acknowledge</th><th>h to mitigation claimed</th>\
             <th>outcome</th></tr>\n",
        );
        for p in &self.participants {
            let outcome = match (&p.unreachable, p.never_responded) {
                (Some(why), _) => format!("unreachable: {why}"),
                (None, true) => "never responded".into(),
                (None, false) => "responded".into(),
            };
            h.push_str(&format!(
                "<tr><td>{} ({})</td><td>{}</td><td class=n>{}</td><td>{}</td>\
                 <td class=n>{}</td><td class=n>{}</td><td>{}</td></tr>\n",
                esc(&p.name),
                esc(&p.id),
                esc(&p.sector),
                p.findings,
                esc(p.delivered_at.as_deref().unwrap_or("-")),
                opt(p.hours_to_acknowledge),
                opt(p.hours_to_mitigation_claimed),
                esc(&outcome),
            ));
        }
        h.push_str("</table>\n<h2>Definitions</h2>\n<dl>\n");
        for (term, meaning) in self.definitions {
            h.push_str(&format!(
                "<dt><b>{}</b></dt><dd>{}</dd>\n",
                esc(term),
                esc(meaning)
            ));
        }
        h.push_str("</dl>\n</body></html>\n");
        h
    }

    /// Per sector, bars of participants delivered, acknowledged and claimed, as inline SVG.
    fn chart(&self) -> String {
        let rows = &self.sectors;
        let (label_w, bar_w, row_h) = (160.0, 420.0, 54.0);
        let height = 20.0 + row_h * rows.len() as f64;
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" \
             role=\"img\" aria-label=\"participants delivered, acknowledged and claimed per \
             sector\">\n",
            label_w + bar_w + 170.0
        );
        for (i, g) in rows.iter().enumerate() {
            let y = 10.0 + row_h * i as f64;
            s.push_str(&format!(
                "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text>\n",
                y + 28.0,
                esc(&g.group)
            ));
            let whole = g.participants.max(1) as f64;
            for (j, (n, colour, what)) in [
                (g.delivered, "#60a5fa", "delivered"),
                (g.acknowledged, "#34d399", "acknowledged"),
                (g.mitigation_claimed, "#059669", "mitigation claimed"),
            ]
            .into_iter()
            .enumerate()
            {
                let w = bar_w * n as f64 / whole;
                let by = y + 14.0 * j as f64;
                s.push_str(&format!(
                    "<rect x=\"{label_w}\" y=\"{by}\" width=\"{w:.1}\" height=\"12\" \
                     fill=\"{colour}\"><title>{what}: {n} of {}</title></rect>\
                     <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{what} {n}/{}</text>\n",
                    g.participants,
                    label_w + w + 4.0,
                    by + 10.0,
                    g.participants
                ));
            }
        }
        s.push_str("</svg>\n");
        s
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |h| format!("{h:.1}"))
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_scenario_reads_and_names_no_real_incident() {
        for s in scenarios() {
            let scenario = Scenario::parse(&s.text, &s.name).unwrap();
            assert_eq!(scenario.name, s.name, "a file's name is its scenario's");
            let advisory = scenario.advisory("drill1", "2026-01-01T00:00:00Z");
            let text = advisory.to_string();
            assert!(
                !text.contains("\"cve\""),
                "{}: the advisory names a CVE",
                s.name
            );
            let row = scenario.scan_row("drill1", "198.18.0.1", "2026-01-01T00:00:00+00:00");
            assert_eq!(
                baken_pipeline::ingest::incidents_of(&row),
                vec![names::incident("drill1", &scenario.rehearses)]
            );
        }
    }

    #[test]
    fn a_scenario_with_an_unknown_field_or_bad_name_is_refused() {
        let (_, text) = SCENARIOS[0];
        let bad = format!("{text}\nsurprise = 1\n");
        assert!(Scenario::parse(&bad, "x").is_err());
        let bad = text.replace("rehearses = \"CVE-2019-19781\"", "rehearses = \"a b\"");
        assert!(Scenario::parse(&bad, "x").is_err());
    }
}
