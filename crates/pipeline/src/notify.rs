//! Notify: deliver an incident's disclosure plan — one message per recipient per incident,
//! exactly what the sharing policy allows, at most once.
//!
//! The plan ([`crate::plan`]) decides, per affected organisation, who may be told what: the
//! owner itself, its CERT, the DTC, the hosting provider holding its addresses (its own
//! addresses only), its supervisor (counts only). Each recipient gets one message: the
//! specific findings it may see, as a CSV attachment, and the pseudonymised sector counts it
//! may see, small counts suppressed. The TLP label leads the subject and the body, as FIRST's
//! TLP 2.0 prescribes.
//!
//! Every decision is written to the audit log. Each message is recorded in the store before
//! delivery (`pending` → `sending` → `sent`), keyed by incident and recipient, so a re-run or
//! a restart after a crash never sends a message twice: one left in `sending` by a crash is
//! re-delivered only to an idempotent transport (the outbox, which keeps one file per key);
//! over SMTP it is reported as uncertain.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use baken_attribute::Attributor;
use baken_deliver::{
    Attachment, DeliverError, OpenPgp, OutgoingMessage, Protection, PublicKey, Receipt, SigningKey,
    Staged, Transport, header,
};
use baken_model::{Language, OrgId, Party, ReportFormat, Tlp};
use baken_policy::Form;
use baken_policy::{NO_SECTOR, Path, Policy, Pseudonymiser, SectorAggregate, aggregate};
use baken_store::audit::NewAuditEntry;
use baken_store::{
    Cause, Finding, FindingState, MessageFinding, MessageKind, MessageRecord, MessageState, Store,
    TimelineStep, Transition, keys, now,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::findings::{EventFields, MessageFields};
use crate::message::{
    self, AggregateContext, Audience, BasisContext, MessageContext, Moment, PartContext,
    SystemContext,
};
use crate::plan::{
    self, Affected, Counted, Coverage, DigestPart, Plan, PlannedDecision, PlannedDigest, Reason,
};
use crate::{PipelineError, Progress};

/// Columns of the CSV attachment, in order (IntelMQ field names).
pub const CSV_COLUMNS: &[&str] = &[
    "time.source",
    "source.ip",
    "source.port",
    "source.reverse_dns",
    "source.asn",
    "protocol.transport",
    "protocol.application",
    "classification.type",
    "classification.identifier",
    "product.vulnerabilities",
    "product.name",
    "product.version",
    "extra.evidence",
    "feed.name",
];

/// Whether a message reads the field `name` of a finding's event: the CSV's columns
/// ([`CSV_COLUMNS`]), the host name of a finding without an address, and how an inventory
/// match was judged ([`status`]). A plan for notifying holds its findings' events with these
/// fields only.
pub fn is_message_field(name: &str) -> bool {
    message_fields().any(|n| n == name)
}

/// The fields a message reads ([`is_message_field`]), in a fixed order.
pub fn message_fields() -> impl Iterator<Item = &'static str> {
    CSV_COLUMNS
        .iter()
        .copied()
        .chain(["source.fqdn", "extra.match_status"])
}

/// How to notify.
#[derive(Debug, Clone)]
pub struct NotifyOptions {
    /// Only this incident; all incidents when `None`.
    pub incident: Option<String>,
    /// The sender, e.g. `NCSC baken <baken@ncsc.example>`.
    pub from: String,
    /// The TLP label of findings that came in without one (each ingest labels its items).
    pub tlp: Tlp,
    /// The sharing policy.
    pub policy: Policy,
    /// The key of the pseudonyms in aggregates (at least 16 bytes; keep it secret and stable).
    pub secret: Vec<u8>,
    /// Whether the transport may be given the same message twice without a second copy
    /// arriving (true for the outbox).
    pub idempotent_transport: bool,
    /// Re-send messages that a crash left in `sending` even over a non-idempotent transport.
    pub resend_uncertain: bool,
    /// The recipients the source named: the only ones TLP:RED findings may go to.
    pub named_recipients: Vec<OrgId>,
    /// Recipients (party keys) whose messages wait for a later round, e.g. a daily digest
    /// that is not due yet: nothing is composed or sent to them now, and a later round tells
    /// them everything they have not been told.
    pub held: BTreeSet<String>,
    /// The sender's OpenPGP key: every message is signed (PGP/MIME), and encrypted to the
    /// recipient contact's `pgp_key` when it has a usable one; `None`: plain messages.
    pub signer: Option<Arc<SigningKey>>,
}

impl NotifyOptions {
    /// Options with the defaults: sender `NCSC baken <baken@ncsc.example>`, TLP:AMBER, an
    /// idempotent transport.
    pub fn new(policy: Policy, secret: Vec<u8>) -> Self {
        Self {
            incident: None,
            from: "NCSC baken <baken@ncsc.example>".into(),
            tlp: Tlp::Amber,
            policy,
            secret,
            idempotent_transport: true,
            resend_uncertain: false,
            named_recipients: Vec::new(),
            held: BTreeSet::new(),
            signer: None,
        }
    }
}

/// One message and what happened to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DigestOutcome {
    /// Message key.
    pub key: String,
    /// What it is in the exchange with its recipient (first, follow-up, …).
    pub kind: MessageKind,
    /// The ticket of that exchange (`[baken#N]` in the subject).
    pub ticket: Option<i64>,
    /// The recipient organisation.
    pub party: String,
    /// Recipient address.
    pub recipient: String,
    /// How the recipient relates to the organisations in it (direct, cert, dtc, hoster,
    /// supervisor).
    pub paths: Vec<Path>,
    /// Organisations it names specifically.
    pub subjects: Vec<String>,
    /// Number of specific findings.
    pub findings: usize,
    /// Whether it carries sector counts.
    pub aggregate: bool,
    /// Final state after this run.
    pub state: MessageState,
    /// Whether this run delivered it (false: it had been delivered before, or failed).
    pub delivered_now: bool,
    /// Where it went or what failed.
    pub detail: String,
    /// How this run's message was protected — `plain`, `signed` or `signed+encrypted`, and
    /// why not encrypted when the recipient's key could not be used; none when nothing was
    /// composed this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protection: Option<String>,
}

/// The outcome for one incident.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentOutcome {
    /// The incident.
    pub incident: String,
    /// The policy applied.
    pub policy: String,
    /// Findings stored for it.
    pub findings: usize,
    /// Every affected party and whether a delivered message reached it.
    pub affected: Vec<Affected>,
    /// The messages, one per recipient.
    pub digests: Vec<DigestOutcome>,
}

impl IncidentOutcome {
    /// Messages in state `sent`.
    pub fn sent(&self) -> usize {
        self.digests
            .iter()
            .filter(|d| d.state == MessageState::Sent)
            .count()
    }
}

/// What an advisory tells about an incident, for the message text.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AdvisoryContext {
    /// Advisory id.
    pub id: String,
    /// Title.
    pub title: Option<String>,
    /// Publisher.
    pub publisher: Option<String>,
    /// CVEs.
    pub cves: Vec<String>,
    /// The highest score.
    pub score: Option<Score>,
    /// Remediations, without repeats.
    pub remediations: Vec<Remediation>,
    /// Detection guidance: the advisory's remediations and references that speak of
    /// detecting compromise, as text (`vendor fix: … <url>`, `summary <url>`).
    pub detection: Vec<String>,
    /// The affected product, as a reader knows it ("Citrix ADC"), when the advisory names one.
    pub product: Option<String>,
}

/// An advisory's score, for the message text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// The CVSS version when baken computed the score from its vector (`CVSS v3.1`); none
    /// when only the advisory's stated score is known.
    pub version: Option<String>,
    /// The base score, one decimal (`9.8`).
    pub base_score: String,
    /// The qualitative rating (`CRITICAL`) of a computed score; empty otherwise.
    pub severity: String,
    /// The vector.
    pub vector: String,
}

/// One of an advisory's remediations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remediation {
    /// CSAF's category: `vendor_fix`, `mitigation`, `workaround`, `none_available`, …
    pub category: String,
    /// What to do.
    pub details: String,
    /// Where to read more.
    pub url: Option<String>,
}

impl Remediation {
    /// `vendor fix: upgrade to … <url>`.
    fn line(&self) -> String {
        format!(
            "{}: {}{}",
            self.category.replace('_', " "),
            self.details,
            self.url
                .as_deref()
                .map(|u| format!(" <{u}>"))
                .unwrap_or_default()
        )
    }
}

/// The advisory behind an incident: one whose id is the incident, else the most severe one
/// that covers the incident's CVE.
pub fn advisory_context(
    store: &dyn Store,
    incident: &str,
) -> Result<Option<AdvisoryContext>, PipelineError> {
    let mut best: Option<(f64, baken_advisory::Advisory)> = None;
    for record in store.advisories()? {
        let by_id = record.id.eq_ignore_ascii_case(incident);
        let Some((a, _)) = crate::advisories::show(store, &record.id)? else {
            continue;
        };
        let by_cve = a.cves.iter().any(|c| c.eq_ignore_ascii_case(incident));
        if !(by_id || by_cve) {
            continue;
        }
        let rank = if by_id {
            f64::INFINITY
        } else {
            a.highest_score().map(|s| s.value()).unwrap_or(0.0)
        };
        if best.as_ref().is_none_or(|(r, _)| rank > *r) {
            best = Some((rank, a));
        }
    }
    Ok(best.map(|(_, a)| {
        let score = a.highest_score().map(|s| match &s.computed {
            Some(c) => Score {
                version: Some(c.version.to_string()),
                base_score: format!("{:.1}", c.base_score),
                severity: c.severity.to_string(),
                vector: s.vector.clone(),
            },
            None => Score {
                version: None,
                base_score: format!("{:.1}", s.value()),
                severity: String::new(),
                vector: s.vector.clone(),
            },
        });
        let mut remediations = Vec::new();
        for v in &a.vulnerabilities {
            for r in &v.remediations {
                let remediation = Remediation {
                    category: r.category.clone(),
                    details: r.details.clone(),
                    url: r.url.clone(),
                };
                if !remediations.contains(&remediation) {
                    remediations.push(remediation);
                }
            }
        }
        // detection guidance: what the advisory says about finding an intruder
        let speaks_of_detection = |t: &str| {
            let t = t.to_ascii_lowercase();
            ["detect", "indicator", "compromise", "ioc"]
                .iter()
                .any(|w| t.contains(w))
        };
        let mut detection: Vec<String> = remediations
            .iter()
            .map(Remediation::line)
            .filter(|r| speaks_of_detection(r))
            .collect();
        for r in &a.references {
            let summary = r.summary.as_deref().unwrap_or("");
            if speaks_of_detection(summary) || speaks_of_detection(&r.url) {
                detection.push(format!("{summary} <{}>", r.url).trim().to_string());
            }
        }
        // the product: vendor and product of the first affected one, else its name
        let product = a
            .vulnerabilities
            .iter()
            .flat_map(|v| &v.affected)
            .next()
            .map(|p| match (&p.vendor, &p.product) {
                (Some(v), Some(prod))
                    if !prod.to_ascii_lowercase().contains(&v.to_ascii_lowercase()) =>
                {
                    format!("{v} {prod}")
                }
                (_, Some(prod)) => prod.clone(),
                _ => p.name.clone(),
            });
        AdvisoryContext {
            id: a.id.clone(),
            title: a.title.clone(),
            publisher: a.publisher.clone(),
            cves: a.cves.clone(),
            score,
            remediations,
            detection,
            product,
        }
    }))
}

/// Builds the plan of one incident from the store.
pub fn plan_incident(
    store: &dyn Store,
    attributor: &Attributor,
    policy: &Policy,
    incident: &str,
    tlp: Tlp,
    named: &[OrgId],
) -> Result<Plan, PipelineError> {
    let started = std::time::Instant::now();
    let findings = crate::findings::of_incident(store, attributor, incident)?;
    let read_ms = started.elapsed().as_millis() as u64;
    let plan = plan::plan(
        policy,
        attributor,
        &incident.to_ascii_lowercase(),
        findings,
        tlp,
        named,
    );
    tracing::debug!(
        incident = %plan.incident,
        policy = %plan.policy,
        affected = plan.affected.len(),
        decisions = plan.decisions.len(),
        recipients = plan.digests.len(),
        read_ms,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "planned"
    );
    Ok(plan)
}

/// Who of `incident` is affected and how each fares under `policy` ([`plan::reach`]): the
/// plan's affected parties, from the store, without its decisions and digests.
pub fn reach_incident(
    store: &dyn Store,
    attributor: &Attributor,
    policy: &Policy,
    incident: &str,
    tlp: Tlp,
    named: &[OrgId],
) -> Result<Vec<Affected>, PipelineError> {
    let findings =
        crate::findings::of_incident_keeping(store, attributor, incident, EventFields::Address)?;
    Ok(plan::reach(
        policy,
        attributor,
        &incident.to_ascii_lowercase(),
        findings,
        tlp,
        named,
    ))
}

/// Notifies every recipient of every incident (or of `options.incident`), delivering here
/// over `transport`.
pub fn notify(
    store: &mut dyn Store,
    attributor: &Attributor,
    transport: &mut dyn Transport,
    options: &NotifyOptions,
    progress: &dyn Progress,
) -> Result<Vec<IncidentOutcome>, PipelineError> {
    notify_with(
        store,
        attributor,
        &mut Here { transport },
        options,
        progress,
    )
}

/// Notifies every recipient of every incident (or of `options.incident`): each incident's
/// round is planned and begun here, its messages delivered by `deliver` (here, or by
/// workers), and finished here.
pub fn notify_with(
    store: &mut dyn Store,
    attributor: &Attributor,
    deliver: &mut dyn Deliver,
    options: &NotifyOptions,
    progress: &dyn Progress,
) -> Result<Vec<IncidentOutcome>, PipelineError> {
    let pseudonymiser = Pseudonymiser::new(&options.secret)
        .map_err(|e| PipelineError::Usage(format!("the pseudonym key is too short: {e}")))?;
    let incidents: Vec<String> = match &options.incident {
        Some(i) => vec![i.to_ascii_lowercase()],
        None => store.incidents()?.into_iter().map(|(i, _)| i).collect(),
    };
    let mut out = Vec::new();
    for incident in incidents {
        let _span = tracing::info_span!("notify", incident = %incident).entered();
        // findings still seen past their deadline are overdue (or escalated) before the plan
        crate::lifecycle::review(store, attributor, &options.policy.lifecycle(), &incident)?;
        // TLP:RED goes to the recipients named on the command line and in the policy
        let mut named = options.named_recipients.clone();
        named.extend(options.policy.red_recipients().iter().cloned());
        // The plan is held while its messages go out: its findings keep their addresses
        // (each message reads the rest of its own as it is written), and its decisions are
        // audited as they are made rather than kept.
        let started = std::time::Instant::now();
        let findings = crate::findings::of_incident_keeping(
            store,
            attributor,
            &incident,
            EventFields::Address,
        )?;
        let read_ms = started.elapsed().as_millis() as u64;
        let mut audit = DecisionAudit::new(store, &incident, options.policy.name())?;
        let mut plan = plan::plan_deciding(
            &options.policy,
            attributor,
            &incident,
            findings,
            options.tlp,
            &named,
            &mut |d| audit.add(store, &d),
        )?;
        let decisions = audit.finish(store)?;
        tracing::debug!(
            incident = %plan.incident,
            policy = %plan.policy,
            affected = plan.affected.len(),
            decisions,
            recipients = plan.digests.len(),
            read_ms,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "planned"
        );
        let context = advisory_context(store, &incident)?;
        let started = std::time::Instant::now();
        let round = begin_round(store, options, &mut plan, context)?;
        progress.expect((round.digests.len() + round.held.len()) as u64);
        progress.advance(round.held.len() as u64);
        let deliveries = if round.digests.is_empty() {
            Vec::new()
        } else {
            deliver.deliver(store, attributor, options, &pseudonymiser, &round, progress)?
        };
        out.push(finish_round(store, plan, &round, deliveries, started)?);
    }
    Ok(out)
}

/// When exploitation of `incident` began (Unix seconds): the earliest date recorded for the
/// incident itself or for any CVE its advisory covers.
pub fn exploited_since(
    store: &dyn Store,
    incident: &str,
    context: Option<&AdvisoryContext>,
) -> Result<Option<i64>, PipelineError> {
    let mut names = vec![incident.to_string()];
    if let Some(c) = context {
        names.extend(c.cves.iter().cloned());
    }
    let mut earliest: Option<i64> = None;
    for name in names {
        if let Some((since, _)) = store.exploitation(&name)? {
            earliest = Some(earliest.map_or(since, |e| e.min(since)));
        }
    }
    Ok(earliest)
}

/// Who delivers the messages of a round: this process ([`Here`]) or workers.
pub trait Deliver {
    /// Delivers what each party of `round.digests` should get now (as [`deliver_round`]
    /// does) and answers, per party, what happened. A party missing from the answer counts
    /// as not reached.
    /// `attributor` works out why a finding is its recipient's where the plan kept only its
    /// addresses.
    fn deliver(
        &mut self,
        store: &mut dyn Store,
        attributor: &Attributor,
        options: &NotifyOptions,
        pseudonymiser: &Pseudonymiser,
        round: &Round,
        progress: &dyn Progress,
    ) -> Result<Vec<PartyDelivery>, PipelineError>;
}

/// Delivery in this process, over one transport.
pub struct Here<'a> {
    /// Where messages go.
    pub transport: &'a mut dyn Transport,
}

impl Deliver for Here<'_> {
    fn deliver(
        &mut self,
        store: &mut dyn Store,
        attributor: &Attributor,
        options: &NotifyOptions,
        pseudonymiser: &Pseudonymiser,
        round: &Round,
        progress: &dyn Progress,
    ) -> Result<Vec<PartyDelivery>, PipelineError> {
        let parties: Vec<String> = round.digests.keys().cloned().collect();
        deliver_round(
            store,
            self.transport,
            Some(attributor),
            options,
            pseudonymiser,
            round,
            &parties,
            progress,
        )
    }
}

/// One incident's notify round, begun: its decisions audited, and what each recipient due
/// now may be told. It holds everything a worker needs to deliver any of its parties, so it
/// travels to workers as it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Round {
    /// The incident.
    pub incident: String,
    /// The policy's name.
    pub policy: String,
    /// The recipients due now, by party key, with what each may be told.
    pub digests: BTreeMap<String, PlannedDigest>,
    /// Recipients held for a later digest, and whether anything was delivered to them
    /// before.
    pub held: BTreeMap<String, bool>,
    /// What the advisory behind the incident says.
    pub context: Option<AdvisoryContext>,
    /// When exploitation began (Unix seconds), if known.
    pub exploited_since: Option<i64>,
    /// The incidents naming the same hosts (the advisory and the CVEs it covers).
    pub related: Vec<String>,
}

/// What happened to one party of a round.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartyDelivery {
    /// The party's key.
    pub party: String,
    /// Its messages: the ones finished and the ones sent now.
    pub outcomes: Vec<DigestOutcome>,
    /// Whether a message to it is delivered (now or before).
    pub delivered: bool,
}

/// Begins the round of `plan`: marks the start on the incident's timeline, audits the
/// decisions that are new or changed, completes what an interrupted round left, and sets
/// apart the recipients whose digest is not due.
pub fn begin_round(
    store: &mut dyn Store,
    options: &NotifyOptions,
    plan: &mut Plan,
    context: Option<AdvisoryContext>,
) -> Result<Round, PipelineError> {
    let incident = plan.incident.clone();
    let findings: usize = plan.affected.iter().map(|a| a.findings).sum();
    store.add_step(&TimelineStep {
        incident: incident.clone(),
        step: "notify-started".into(),
        at: now(),
        detail: format!("{findings} findings, policy {}", plan.policy),
    })?;
    // decisions a plan kept (those of `plan_deciding` were audited as they were made)
    if !plan.decisions.is_empty() {
        let mut audit = DecisionAudit::new(store, &incident, &plan.policy)?;
        for d in std::mem::take(&mut plan.decisions) {
            audit.add(store, &d)?;
        }
        audit.finish(store)?;
    }

    let exploited_since = exploited_since(store, &incident, context.as_ref())?;
    // the advisory and the CVEs it covers name the same hosts: what one told, the other has
    let related: Vec<String> = context
        .as_ref()
        .map(|c| {
            std::iter::once(c.id.to_ascii_lowercase())
                .chain(c.cves.iter().map(|v| v.to_ascii_lowercase()))
                .collect()
        })
        .unwrap_or_default();
    let record = Record::load(store, &incident, &related)?;
    catch_up_notified(store, plan, &record)?;
    // the due digests are moved, not copied (they hold most of a plan's memory); the held
    // ones stay in the plan, where `finish_round` finds them
    let mut held = BTreeMap::new();
    let (held_digests, digests): (BTreeMap<_, _>, BTreeMap<_, _>) =
        std::mem::take(&mut plan.digests)
            .into_iter()
            .partition(|(party, _)| options.held.contains(party));
    for party in held_digests.keys() {
        tracing::debug!(party = %party, "held for its digest");
        held.insert(party.clone(), record.delivered(party));
    }
    plan.digests = held_digests;
    Ok(Round {
        incident,
        policy: plan.policy.clone(),
        digests,
        held,
        context,
        exploited_since,
        related,
    })
}

/// Decisions written to the audit log in one transaction.
const DECISION_BATCH: usize = 10_000;

/// Writes a plan's decisions to the audit log as they come. A decision is written when it is
/// new or has changed since it was last written: a notify that decides as the one before
/// writes nothing again. The entries are made, compared and written a batch at a time, so a
/// national notification never holds every entry at once; a batch and its digests commit
/// together, so a notify stopped between batches writes only the rest when run again.
struct DecisionAudit {
    incident: String,
    policy: String,
    /// The digest of each (subject, recipient)'s decision as last written.
    logged: HashMap<(String, String), String>,
    fresh: Vec<NewAuditEntry>,
    marks: Vec<(String, String, String)>,
    in_batch: usize,
    seen: usize,
    written: usize,
}

impl DecisionAudit {
    fn new(store: &dyn Store, incident: &str, policy: &str) -> Result<Self, PipelineError> {
        Ok(DecisionAudit {
            incident: incident.to_string(),
            policy: policy.to_string(),
            logged: store.decision_digests(incident)?,
            fresh: Vec::new(),
            marks: Vec::new(),
            in_batch: 0,
            seen: 0,
            written: 0,
        })
    }

    fn add(&mut self, store: &mut dyn Store, d: &PlannedDecision) -> Result<(), PipelineError> {
        let entry = decision_entry(&self.incident, &self.policy, d);
        let digest = hex::encode(Sha256::digest(entry.body.as_bytes()));
        let key = (d.subject.key(), d.recipient.key());
        if self.logged.get(&key) != Some(&digest) {
            self.marks.push((key.0, key.1, digest));
            self.fresh.push(entry);
        }
        self.seen += 1;
        self.in_batch += 1;
        if self.in_batch == DECISION_BATCH {
            self.flush(store)?;
        }
        Ok(())
    }

    fn flush(&mut self, store: &mut dyn Store) -> Result<(), PipelineError> {
        if !self.fresh.is_empty() {
            self.written += self.fresh.len();
            store.append_decisions(&self.incident, &self.fresh, &self.marks)?;
        }
        self.fresh.clear();
        self.marks.clear();
        self.in_batch = 0;
        Ok(())
    }

    /// Writes what is left; the number of decisions seen.
    fn finish(mut self, store: &mut dyn Store) -> Result<usize, PipelineError> {
        self.flush(store)?;
        tracing::debug!(
            incident = %self.incident,
            decisions = self.written,
            unchanged = self.seen - self.written,
            "decisions audited"
        );
        Ok(self.seen)
    }
}

/// The audit entry of one decision of a plan.
fn decision_entry(incident: &str, policy: &str, d: &PlannedDecision) -> NewAuditEntry {
    NewAuditEntry {
        kind: "decision".into(),
        subject: format!("{incident}/{}/{}", d.subject.key(), d.recipient.key()),
        body: serde_json::json!({
            "incident": incident,
            "policy": policy,
            "about": d.subject,
            "recipient": d.recipient,
            "path": d.path,
            "form": d.decision.form,
            "class": d.decision.class,
            "tlp": d.decision.tlp,
            "role": d.decision.role,
            "rule": d.decision.rule,
            "limited_by": d.decision.invariant,
            "basis": d.decision.basis,
            "why": d.decision.explanation,
            // The log refers to findings by id and holds no more personal data than it
            // needs: the addresses a decision allows are counted, not listed (the delivery
            // entry names the findings a message carried, by id), and the recipient's mail
            // address is written once, where a message went to it (the delivery entry); here
            // only why there is none.
            "addresses": d.addresses.len(),
            "no_contact": d.contact.as_ref().err(),
        })
        .to_string(),
    }
}

/// Delivers what each of `parties` (keys of `round.digests`) should get now: first any
/// message a previous run left unfinished, then what it has not been told. A party's
/// messages are recorded before they are sent, so a round run again, here or by another
/// worker, sends nothing twice. `attributor` works out why a finding is its recipient's
/// where the plan kept only its addresses; a worker, given whole findings, has none.
#[allow(clippy::too_many_arguments)]
pub fn deliver_round(
    store: &mut dyn Store,
    transport: &mut dyn Transport,
    attributor: Option<&Attributor>,
    options: &NotifyOptions,
    pseudonymiser: &Pseudonymiser,
    round: &Round,
    parties: &[String],
    progress: &dyn Progress,
) -> Result<Vec<PartyDelivery>, PipelineError> {
    let mut record = Record::load(store, &round.incident, &round.related)?;
    // what the messages read of the findings the plan kept the addresses of
    // (without an attributor, a finding the plan kept less of is an error when filled)
    let fields = match attributor {
        Some(attributor) => MessageFields::read(
            store,
            attributor,
            parties
                .iter()
                .filter_map(|p| round.digests.get(p))
                .flat_map(message_findings),
        )?,
        None => MessageFields::default(),
    };
    let writer = Writer {
        options,
        pseudonymiser,
        incident: &round.incident,
        digests: &round.digests,
        context: round.context.as_ref(),
        exploited_since: round.exploited_since,
    };
    let mut out = Vec::with_capacity(parties.len());
    let mut group = Group::default();
    let delivered = (|| {
        for (i, party) in parties.iter().enumerate() {
            let Some(digest) = round.digests.get(party) else {
                return Err(PipelineError::Usage(format!(
                    "{party}: not a recipient of this round of {}",
                    round.incident
                )));
            };
            let digest = with_message_fields(&fields, digest)?;
            let deliveries = deliver_party(
                store,
                transport,
                &writer,
                &mut record,
                party,
                &digest,
                &mut group.handed,
            )?;
            group.parties.push((party.clone(), deliveries));
            if group.handed.len() >= DELIVERY_GROUP || i + 1 == parties.len() {
                settle(
                    store,
                    transport,
                    &mut record,
                    &mut group,
                    &mut out,
                    progress,
                )?;
            } else {
                // still working (a worker's job stays its own)
                progress.advance(0);
            }
        }
        Ok(())
    })();
    if delivered.is_err() {
        // What the transport holds goes out; the record keeps those messages as being sent,
        // and the next run finds them delivered (the outbox) or asks (a relay).
        let _ = transport.flush();
    }
    delivered.map(|()| out)
}

/// The findings `digest`'s message reads, each with whether it says why the finding is the
/// recipient's: what [`MessageFields::read`] is given.
pub fn message_findings(digest: &PlannedDigest) -> impl Iterator<Item = (&Finding, bool)> {
    let own = digest.is_own();
    digest
        .parts
        .iter()
        .flat_map(move |p| p.findings.iter().map(move |f| (&**f, own)))
}

/// `digest` with the whole of what its message reads of each of its findings, where the
/// plan kept less, from `fields` ([`MessageFields`]).
pub fn with_message_fields<'a>(
    fields: &MessageFields,
    digest: &'a PlannedDigest,
) -> Result<Cow<'a, PlannedDigest>, PipelineError> {
    if digest
        .parts
        .iter()
        .all(|p| p.findings.iter().all(|f| f.partial.is_none()))
    {
        return Ok(Cow::Borrowed(digest));
    }
    let mut parts = Vec::with_capacity(digest.parts.len());
    for part in &digest.parts {
        parts.push(DigestPart {
            subject: part.subject.clone(),
            subject_name: part.subject_name.clone(),
            findings: fields.fill(&part.findings)?,
            decision: part.decision.clone(),
            path: part.path,
        });
    }
    let whole = PlannedDigest {
        recipient: digest.recipient.clone(),
        email: digest.email.clone(),
        parts,
        aggregate: digest.aggregate.clone(),
        tlp: digest.tlp,
    };
    Ok(Cow::Owned(whole))
}

/// How many messages a transport that groups them (the outbox) takes before they are made
/// durable together and their outcomes recorded: one flush to disk for the group instead of
/// two per message.
const DELIVERY_GROUP: usize = 256;

/// Messages handed to the transport whose outcomes are not known yet, and the parties they
/// are for.
#[derive(Default)]
struct Group {
    handed: Vec<Handed>,
    /// Parties in the group, with their outcomes so far.
    parties: Vec<(String, Vec<Delivery>)>,
}

/// A message's outcome, or the key of a message waiting for the transport's flush.
enum Delivery {
    Done(DigestOutcome),
    Waiting(String),
}

/// A message handed to the transport: what is recorded once its delivery is known.
struct Handed {
    /// The outcome, but for its state and detail.
    outcome: DigestOutcome,
    incident: String,
    tlp: Tlp,
    finding_ids: Vec<i64>,
    plain: bool,
    /// The findings it names specifically that become notified.
    notified: Vec<Transition>,
}

/// Flushes the transport and records what happened to every message of `group`, then each
/// of its parties' deliveries.
fn settle(
    store: &mut dyn Store,
    transport: &mut dyn Transport,
    record: &mut Record,
    group: &mut Group,
    out: &mut Vec<PartyDelivery>,
    progress: &dyn Progress,
) -> Result<(), PipelineError> {
    let mut results: HashMap<String, Result<Receipt, DeliverError>> = if group.handed.is_empty() {
        HashMap::new()
    } else {
        transport.flush().into_iter().collect()
    };
    let mut settled: HashMap<String, DigestOutcome> = HashMap::new();
    for handed in group.handed.drain(..) {
        let key = handed.outcome.key.clone();
        let delivered = results.remove(&key).unwrap_or_else(|| {
            Err(DeliverError::Io {
                action: "deliver",
                path: std::path::PathBuf::from(transport.describe()),
                source: std::io::Error::other("the transport gave no outcome for the message"),
            })
        });
        settled.insert(key, record_delivery(store, record, handed, delivered)?);
    }
    for (party, deliveries) in group.parties.drain(..) {
        let mut outcomes = Vec::with_capacity(deliveries.len());
        for d in deliveries {
            let o = match d {
                Delivery::Done(o) => o,
                Delivery::Waiting(key) => settled.remove(&key).ok_or_else(|| {
                    PipelineError::Usage(format!("message {key}: handed over twice"))
                })?,
            };
            tracing::debug!(
                key = %o.key,
                party = %o.party,
                kind = o.kind.as_str(),
                findings = o.findings,
                aggregate = o.aggregate,
                state = o.state.as_str(),
                delivered_now = o.delivered_now,
                "message"
            );
            outcomes.push(o);
        }
        out.push(PartyDelivery {
            delivered: record.delivered(&party),
            party,
            outcomes,
        });
        progress.advance(1);
    }
    Ok(())
}

/// Finishes a round: who was reached through a message that went out, and the end on the
/// incident's timeline.
pub fn finish_round(
    store: &mut dyn Store,
    plan: Plan,
    round: &Round,
    deliveries: Vec<PartyDelivery>,
    started: std::time::Instant,
) -> Result<IncidentOutcome, PipelineError> {
    let incident = plan.incident.clone();
    let findings: usize = plan.affected.iter().map(|a| a.findings).sum();
    let mut reached: BTreeMap<Party, BTreeSet<Path>> = BTreeMap::new();
    let mut failed: BTreeMap<Party, String> = BTreeMap::new();
    let mut by_party: BTreeMap<&str, &PartyDelivery> = BTreeMap::new();
    for d in &deliveries {
        by_party.insert(d.party.as_str(), d);
    }
    for (party, digest) in round.digests.iter().chain(&plan.digests) {
        // the party's subjects are reached when a message to it is (or was) delivered
        let (delivered, why) = match (round.held.get(party), by_party.get(party.as_str())) {
            (Some(&delivered), _) => (
                delivered,
                format!("{party} is told in its digest, which is not due yet"),
            ),
            (None, Some(d)) => (
                d.delivered,
                match d.outcomes.iter().find(|o| o.state != MessageState::Sent) {
                    Some(o) => format!("the message to {party} was not delivered: {}", o.detail),
                    None => String::new(),
                },
            ),
            (None, None) => (false, format!("the message to {party} was not delivered")),
        };
        for part in &digest.parts {
            if delivered {
                reached
                    .entry(part.subject.clone())
                    .or_default()
                    .insert(part.path);
            } else if !why.is_empty() {
                failed.insert(part.subject.clone(), why.clone());
            }
        }
    }
    let digests: Vec<DigestOutcome> = deliveries.into_iter().flat_map(|d| d.outcomes).collect();
    // Coverage as delivered: a party counts as reached only through a message that went out.
    let affected = plan
        .affected
        .into_iter()
        .map(|mut a| {
            if let Coverage::Reached { .. } = a.coverage {
                a.coverage = match reached.get(&a.id) {
                    Some(paths) => Coverage::Reached {
                        paths: paths.iter().copied().collect(),
                    },
                    None => Coverage::Unreachable {
                        reason: failed.get(&a.id).cloned().map_or_else(
                            || Reason::verbatim("no message reached it"),
                            Reason::verbatim,
                        ),
                    },
                };
            }
            a
        })
        .collect::<Vec<_>>();
    let unreachable = affected
        .iter()
        .filter(|a| matches!(a.coverage, Coverage::Unreachable { .. }))
        .count();
    let sent = |kind: MessageKind| {
        digests
            .iter()
            .filter(|d| d.delivered_now && d.kind == kind)
            .count()
    };
    tracing::info!(
        incident = %incident,
        policy = %plan.policy,
        findings,
        messages = digests.len(),
        first = sent(MessageKind::First),
        follow_up = sent(MessageKind::FollowUp),
        reminder = sent(MessageKind::Reminder),
        escalation = sent(MessageKind::Escalation),
        compromise = sent(MessageKind::Compromise),
        not_delivered = digests.iter().filter(|d| d.state != MessageState::Sent).count(),
        unreachable,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "notified"
    );
    store.add_step(&TimelineStep {
        incident: incident.clone(),
        step: "notify-finished".into(),
        at: now(),
        detail: format!(
            "{} messages, {unreachable} parties unreachable",
            digests.len()
        ),
    })?;
    Ok(IncidentOutcome {
        incident,
        policy: plan.policy,
        findings,
        affected,
        digests,
    })
}

/// Coverage of a plan as delivered so far: a party counts as reached along a path only when
/// the message to that path's recipient is recorded as sent; a party the plan reaches but
/// no sent message names yet is reported as waiting for its message.
pub fn delivered_coverage(store: &dyn Store, plan: &Plan) -> Result<Vec<Affected>, PipelineError> {
    let mut sent: BTreeMap<&Party, BTreeSet<Path>> = BTreeMap::new();
    let mut waiting: BTreeMap<&Party, String> = BTreeMap::new();
    let record = Record::load(store, &plan.incident, &[])?;
    for (party, digest) in &plan.digests {
        let state = if record.delivered(party) {
            Some(MessageState::Sent)
        } else {
            record
                .messages
                .get(party.as_str())
                .and_then(|m| m.last())
                .map(|m| m.state)
        };
        for part in &digest.parts {
            if state == Some(MessageState::Sent) {
                sent.entry(&part.subject).or_default().insert(part.path);
            } else {
                waiting.insert(
                    &part.subject,
                    match state {
                        None => format!(
                            "may be told through {} {party}, but nothing has been sent yet",
                            part.path
                        ),
                        Some(s) => format!(
                            "may be told through {} {party}; that message is {}",
                            part.path,
                            s.as_str()
                        ),
                    },
                );
            }
        }
    }
    Ok(plan
        .affected
        .iter()
        .cloned()
        .map(|mut a| {
            if let Coverage::Reached { .. } = a.coverage {
                a.coverage = match sent.get(&a.id) {
                    Some(paths) => Coverage::Reached {
                        paths: paths.iter().copied().collect(),
                    },
                    None => Coverage::Unreachable {
                        reason: waiting.get(&a.id).cloned().map_or_else(
                            || Reason::verbatim("no message names it"),
                            Reason::verbatim,
                        ),
                    },
                };
            }
            a
        })
        .collect())
}

/// The message key of round `round` (1 for the first message) of the exchange with `party`
/// about `incident`: a readable form of the incident and a digest of the exact incident and
/// party (so that `open.port` and `open-port` never share a key), safe as a file name.
pub fn message_key(incident: &str, party: &str, round: u32) -> String {
    let slug: String = incident
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let mut hash = Sha256::new();
    hash.update(incident.as_bytes());
    hash.update([0]);
    hash.update(party.as_bytes());
    let hash = hash.finalize();
    format!("{slug}--{}--{round}", hex::encode(&hash[..8]))
}

/// What the store says an incident's recipients were sent: their messages, and which
/// findings each message carries in which form.
struct Record {
    /// Messages by party, in round order.
    messages: BTreeMap<String, Vec<MessageRecord>>,
    /// (finding, form) carried, by message key.
    carried: BTreeMap<String, BTreeSet<(i64, String)>>,
    /// When findings seen again after their fix were last reopened: a message before that
    /// told of the old problem, not of this one.
    reopened_at: BTreeMap<i64, String>,
    /// The service (address, port, transport) of each finding of the incident.
    services: HashMap<i64, Service>,
    /// (party, service, form) told under a related incident (the advisory and the CVEs it
    /// covers): one host is not told twice under two names.
    related: HashSet<(String, Service, String)>,
    /// Messages handed to the transport whose outcome is not known yet: a later message to
    /// the same party refers to them as to messages sent.
    handed: HashSet<String>,
}

/// A finding's service: address, port, transport.
type Service = (String, u16, String);

impl Record {
    /// The record of `incident`, and of what `related` incidents told whom.
    fn load(store: &dyn Store, incident: &str, related: &[String]) -> Result<Self, PipelineError> {
        let mut messages: BTreeMap<String, Vec<MessageRecord>> = BTreeMap::new();
        for m in store.messages(Some(incident))? {
            messages.entry(m.party.clone()).or_default().push(m);
        }
        for list in messages.values_mut() {
            list.sort_by_key(|m| m.round);
        }
        let mut carried: BTreeMap<String, BTreeSet<(i64, String)>> = BTreeMap::new();
        for d in store.disclosures(incident)? {
            carried
                .entry(d.message)
                .or_default()
                .insert((d.finding, d.form));
        }
        let mut reopened_at = BTreeMap::new();
        for t in store.incident_transitions(incident)? {
            if t.to == baken_store::FindingState::Reopened && t.from != t.to {
                reopened_at.insert(t.finding, t.at);
            }
        }
        let service_of = |name: &str| -> Result<HashMap<i64, Service>, PipelineError> {
            Ok(store
                .finding_records(&baken_store::FindingQuery {
                    incident: Some(name.to_string()),
                    ..baken_store::FindingQuery::default()
                })?
                .into_iter()
                .map(|f| (f.id, (f.addr, f.port, f.transport)))
                .collect())
        };
        let mut told_related = HashSet::new();
        for other in related.iter().filter(|r| r.as_str() != incident) {
            let disclosures = store.disclosures(other)?;
            if disclosures.is_empty() {
                continue;
            }
            let services = service_of(other)?;
            for d in disclosures {
                if d.state == MessageState::Failed {
                    continue;
                }
                if let Some(service) = services.get(&d.finding) {
                    told_related.insert((d.party, service.clone(), d.form));
                }
            }
        }
        let services = if told_related.is_empty() {
            HashMap::new()
        } else {
            service_of(incident)?
        };
        Ok(Self {
            messages,
            carried,
            reopened_at,
            services,
            related: told_related,
            handed: HashSet::new(),
        })
    }

    /// Whether any message to `party` was delivered.
    fn delivered(&self, party: &str) -> bool {
        self.messages
            .get(party)
            .is_some_and(|l| l.iter().any(|m| m.state == MessageState::Sent))
    }

    /// Whether `party` has been told, or is being told, `finding` in `form`: a message that
    /// carries it is sent or under way (a failed one told nothing), and was made after the
    /// finding was last reopened. A message from before messages named their findings told
    /// every finding first seen before it was sent.
    fn told(&self, party: &str, finding: Counted, form: &str) -> bool {
        if !self.related.is_empty()
            && let Some(service) = self.services.get(&finding.id)
            && self
                .related
                .contains(&(party.to_string(), service.clone(), form.to_string()))
        {
            return true;
        }
        let reopened = self.reopened_at.get(&finding.id);
        self.messages.get(party).is_some_and(|list| {
            list.iter().any(|m| {
                if m.state == MessageState::Failed
                    || reopened.is_some_and(|at| m.created_at.as_str() <= at.as_str())
                {
                    return false;
                }
                if m.round == 0 {
                    let sent = m.sent_at.as_deref().and_then(keys::parse_time);
                    return m.state != MessageState::Sent
                        || sent.is_some_and(|t| finding.first_seen <= t);
                }
                self.carried
                    .get(&m.key)
                    .is_some_and(|c| c.contains(&(finding.id, form.to_string())))
            })
        })
    }
}

/// Moves to `notified` the findings a delivered message named specifically that are still
/// `open` (or `reopened` before that message): a run stopped between a delivery and its
/// transitions leaves such findings, and the next round completes them.
fn catch_up_notified(
    store: &mut dyn Store,
    plan: &Plan,
    record: &Record,
) -> Result<(), PipelineError> {
    let states: BTreeMap<i64, FindingState> = plan
        .digests
        .values()
        .flat_map(|d| d.parts.iter().flat_map(|p| &p.findings))
        .map(|f| (f.id, f.state))
        .collect();
    let mut done = BTreeSet::new();
    let mut changes = Vec::new();
    for m in record.messages.values().flatten() {
        if m.state != MessageState::Sent || m.round == 0 {
            continue;
        }
        for (finding, form) in record.carried.get(&m.key).into_iter().flatten() {
            let specific = form == Form::Full.as_str() || form == Form::OwnAssets.as_str();
            let waiting = matches!(
                states.get(finding),
                Some(FindingState::Open | FindingState::Reopened)
            );
            let before_reopening = record
                .reopened_at
                .get(finding)
                .is_some_and(|at| m.created_at.as_str() <= at.as_str());
            if specific && waiting && !before_reopening && done.insert(*finding) {
                changes.push(Transition {
                    finding: *finding,
                    to: Some(FindingState::Notified),
                    cause: Cause::Message,
                    reference: Some(m.key.clone()),
                    by: Some(m.party.clone()),
                    note: Some("recorded after an interrupted run".into()),
                });
            }
        }
    }
    // findings whose host was told under a related incident (the advisory or its CVE)
    for (party, digest) in &plan.digests {
        for part in &digest.parts {
            let form = form_name(part.decision.form);
            for f in &part.findings {
                let waiting = matches!(f.state, FindingState::Open | FindingState::Reopened);
                if waiting
                    && !done.contains(&f.id)
                    && record.services.get(&f.id).is_some_and(|service| {
                        record
                            .related
                            .contains(&(party.clone(), service.clone(), form.clone()))
                    })
                {
                    done.insert(f.id);
                    changes.push(Transition {
                        finding: f.id,
                        to: Some(FindingState::Notified),
                        cause: Cause::Message,
                        reference: None,
                        by: Some(party.clone()),
                        note: Some(
                            "the same host was told under a related incident (the advisory or \
                             the CVE it covers)"
                                .into(),
                        ),
                    });
                }
            }
        }
    }
    store.transition(&changes)?;
    Ok(())
}

/// Form names as the record keeps them.
fn form_name(form: Form) -> String {
    form.as_str().to_string()
}

/// Delivers what `party` should get now: first any message a previous run left unfinished,
/// then one message with what it has not been told yet (none when there is nothing new).
fn deliver_party(
    store: &mut dyn Store,
    transport: &mut dyn Transport,
    writer: &Writer<'_>,
    record: &mut Record,
    party: &str,
    digest: &PlannedDigest,
    handed: &mut Vec<Handed>,
) -> Result<Vec<Delivery>, PipelineError> {
    let mut outcomes = Vec::new();
    // 1. messages a previous run recorded but did not finish, with what they carry
    let unfinished: Vec<MessageRecord> = record
        .messages
        .get(party)
        .into_iter()
        .flatten()
        .filter(|m| matches!(m.state, MessageState::Pending | MessageState::Sending))
        .cloned()
        .collect();
    for m in unfinished {
        let part = if m.round == 0 {
            digest.clone()
        } else {
            let carried = record.carried.get(&m.key).cloned().unwrap_or_default();
            let ids: BTreeSet<i64> = carried.iter().map(|(id, _)| *id).collect();
            restrict(digest, |f, _| ids.contains(&f.id))
        };
        // delivered now, not grouped: what is sent next depends on whether it went out
        let outcome = deliver_message(store, transport, writer, record, party, &part, m, None)?;
        outcomes.push(outcome);
    }
    // 2. what is new for it: open findings it was not told in this form
    let mut new = restrict(digest, |f, form| {
        f.state.is_open() && !record.told(party, f, form)
    });
    if !new.aggregate.is_empty() {
        // an aggregate goes out whole (every open finding counted) when anything in it is new
        new.aggregate = digest.aggregate.clone();
    }
    outcomes.extend(send(
        store,
        transport,
        writer,
        record,
        party,
        &new,
        Sending::News,
        handed,
    )?);
    // 3. reminders: what it was told that is still seen past the deadline
    let overdue = |s: FindingState| matches!(s, FindingState::Overdue | FindingState::Escalated);
    let mut reminder = restrict(digest, |f, form| {
        overdue(f.state) && record.told(party, f, form) && !record.told(party, f, REMINDER)
    });
    reminder.aggregate.clear();
    outcomes.extend(send(
        store,
        transport,
        writer,
        record,
        party,
        &reminder,
        Sending::Reminder,
        handed,
    )?);
    // 4. escalations: to whoever else than the owner was told, for findings escalated
    let mut escalation = restrict(digest, |f, _| {
        f.state == FindingState::Escalated && !record.told(party, f, ESCALATION)
    });
    escalation.parts.retain(|p| p.path != Path::Direct);
    escalation.aggregate.iter_mut().for_each(|a| {
        Arc::make_mut(a)
            .2
            .retain(|c| c.state == FindingState::Escalated)
    });
    escalation.aggregate.retain(|a| !a.2.is_empty());
    outcomes.extend(send(
        store,
        transport,
        writer,
        record,
        party,
        &escalation,
        Sending::Escalation,
        handed,
    )?);
    // 5. fixed after exploitation began: ask the owner side to check for compromise
    if let Some(since) = writer.exploited_since {
        let mut compromise = restrict(digest, |f, form| {
            !f.state.is_open()
                && f.last_seen >= since
                && record.told(party, f, form)
                && !record.told(party, f, COMPROMISE)
        });
        compromise.aggregate.clear();
        outcomes.extend(send(
            store,
            transport,
            writer,
            record,
            party,
            &compromise,
            Sending::Compromise,
            handed,
        )?);
    }
    Ok(outcomes)
}

/// The form a reminder, an escalation and a compromise follow-up are recorded under: each is
/// sent once per finding and recipient (a reopened finding's again).
const REMINDER: &str = "reminder";
const ESCALATION: &str = "escalation";
const COMPROMISE: &str = "compromise";

/// What a message of a round is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sending {
    /// Findings the recipient has not been told (a first notice or a follow-up).
    News,
    /// Told findings still seen past the deadline.
    Reminder,
    /// Escalated findings, to those who were told besides the owner.
    Escalation,
    /// Findings fixed after exploitation began.
    Compromise,
}

/// Records and delivers one message of `digest` to `party` (nothing when it is empty).
#[allow(clippy::too_many_arguments)] // the round's state as `deliver_party` holds it, and what to send
fn send(
    store: &mut dyn Store,
    transport: &mut dyn Transport,
    writer: &Writer<'_>,
    record: &mut Record,
    party: &str,
    digest: &PlannedDigest,
    sending: Sending,
    handed: &mut Vec<Handed>,
) -> Result<Option<Delivery>, PipelineError> {
    let incident = writer.incident;
    if digest.parts.is_empty() && digest.aggregate.is_empty() {
        return Ok(None);
    }
    let list = record.messages.get(party);
    let previous = list.map_or(0, |l| l.len() as u32);
    let round = list
        .and_then(|l| l.iter().map(|m| m.round).max())
        .map_or(1, |r| r.max(previous) + 1);
    let kind = match sending {
        Sending::News if record.delivered(party) => MessageKind::FollowUp,
        Sending::News => MessageKind::First,
        Sending::Reminder => MessageKind::Reminder,
        Sending::Escalation => MessageKind::Escalation,
        Sending::Compromise => MessageKind::Compromise,
    };
    let ticket = store.ticket(incident, party)?;
    let mut paths: Vec<Path> = digest.parts.iter().map(|p| p.path).collect();
    if !digest.aggregate.is_empty() {
        paths.push(if digest.recipient.kind == baken_model::OrgKind::Dtc {
            Path::Dtc
        } else {
            Path::Supervisor
        });
    }
    paths.sort();
    paths.dedup();
    let form_of = |form: Form| match sending {
        Sending::News => form_name(form),
        Sending::Reminder => REMINDER.to_string(),
        Sending::Escalation => ESCALATION.to_string(),
        Sending::Compromise => COMPROMISE.to_string(),
    };
    let mut carried: Vec<MessageFinding> = Vec::new();
    for p in &digest.parts {
        let form = form_of(p.decision.form);
        carried.extend(p.findings.iter().map(|f| MessageFinding {
            finding: f.id,
            form: form.clone(),
        }));
    }
    for (_, _, counted) in digest.aggregate.iter().map(|a| &**a) {
        carried.extend(
            counted
                .iter()
                .filter(|c| c.state.is_open())
                .map(|c| MessageFinding {
                    finding: c.id,
                    form: form_of(Form::Aggregate),
                }),
        );
    }
    carried.sort_by(|a, b| (a.finding, &a.form).cmp(&(b.finding, &b.form)));
    carried.dedup();
    let key = message_key(incident, party, round);
    let m = store.record_message(
        &MessageRecord {
            key: key.clone(),
            ticket: Some(ticket),
            round,
            kind,
            incident: incident.to_string(),
            recipient: digest.email.clone(),
            party: party.into(),
            path: paths
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(","),
            findings: digest.parts.iter().map(|p| p.findings.len() as u64).sum(),
            state: MessageState::Pending,
            detail: None,
            created_at: now(),
            sent_at: None,
        },
        &carried,
    )?;
    record.carried.insert(
        key.clone(),
        carried.into_iter().map(|c| (c.finding, c.form)).collect(),
    );
    record
        .messages
        .entry(party.to_string())
        .or_default()
        .push(m.clone());
    deliver_message(
        store,
        transport,
        writer,
        record,
        party,
        digest,
        m,
        Some(handed),
    )
    .map(Some)
}

/// `digest` with only the findings `keep` accepts (per finding and form); aggregates with
/// only subjects that have such a finding.
fn restrict(digest: &PlannedDigest, keep: impl Fn(Counted, &str) -> bool) -> PlannedDigest {
    let mut out = digest.clone();
    for part in &mut out.parts {
        let form = form_name(part.decision.form);
        part.findings.retain(|f| keep(Counted::from(&**f), &form));
    }
    out.parts.retain(|p| !p.findings.is_empty());
    let aggregate = form_name(Form::Aggregate);
    out.aggregate
        .retain(|a| a.2.iter().any(|&c| keep(c, &aggregate)));
    out
}

/// Delivers one recorded message (state pending or sending), unless it is done.
#[allow(clippy::too_many_arguments)] // the round's state, the message, and where handed ones wait
fn deliver_message(
    store: &mut dyn Store,
    transport: &mut dyn Transport,
    writer: &Writer<'_>,
    record: &mut Record,
    party: &str,
    digest: &PlannedDigest,
    m: MessageRecord,
    handed: Option<&mut Vec<Handed>>,
) -> Result<Delivery, PipelineError> {
    let options = writer.options;
    let incident = writer.incident;
    let key = m.key.clone();
    let n_findings: usize = digest.parts.iter().map(|p| p.findings.len()).sum();
    let paths: Vec<Path> = [
        Path::Direct,
        Path::Cert,
        Path::Dtc,
        Path::Hoster,
        Path::Supervisor,
    ]
    .into_iter()
    .filter(|p| m.path.split(',').any(|x| x == p.as_str()))
    .collect();
    let outcome = |state, delivered_now, detail: String| DigestOutcome {
        key: key.clone(),
        party: party.into(),
        recipient: digest.email.clone(),
        kind: m.kind,
        ticket: m.ticket,
        paths: paths.clone(),
        subjects: digest.parts.iter().map(|p| p.subject.key()).collect(),
        findings: n_findings,
        aggregate: !digest.aggregate.is_empty(),
        state,
        delivered_now,
        detail,
        protection: None,
    };
    let set_state = |record: &mut Record, state: MessageState| {
        if let Some(list) = record.messages.get_mut(party)
            && let Some(stored) = list.iter_mut().find(|x| x.key == key)
        {
            stored.state = state;
        }
    };
    match m.state {
        MessageState::Sent | MessageState::Failed => {
            return Ok(Delivery::Done(outcome(
                m.state,
                false,
                m.detail.clone().unwrap_or_default(),
            )));
        }
        MessageState::Sending if !(options.idempotent_transport || options.resend_uncertain) => {
            return Ok(Delivery::Done(outcome(
                MessageState::Sending,
                false,
                "uncertain: a previous run stopped while delivering; check the relay's log, \
                 then re-run with --resend-uncertain if it did not arrive"
                    .into(),
            )));
        }
        MessageState::Pending | MessageState::Sending => {}
    }
    if digest.parts.is_empty() && digest.aggregate.is_empty() {
        // the plan no longer lets it carry anything (the policy or the registry changed)
        let why = "withdrawn: the current plan no longer carries what it was to carry";
        store.set_message_state(&key, MessageState::Failed, why)?;
        set_state(record, MessageState::Failed);
        return Ok(Delivery::Done(outcome(
            MessageState::Failed,
            false,
            why.into(),
        )));
    }
    let thread: Vec<String> = record
        .messages
        .get(party)
        .into_iter()
        .flatten()
        .filter(|x| {
            x.key != key && (x.state == MessageState::Sent || record.handed.contains(&x.key))
        })
        .map(|x| x.key.clone())
        .collect();
    let still_open = still_open(writer.digests, party);
    let audit_head = store.audit_head()?;
    let mut message = compose(
        writer,
        &Heading {
            key: &key,
            kind: m.kind,
            ticket: m.ticket,
            earlier: &thread,
            still_open,
            audit_head,
        },
        digest,
    )?;
    let (openpgp, not_encrypted) = openpgp_for(options, digest);
    message.openpgp = openpgp;
    let protection = match &not_encrypted {
        None => message.protection().as_str().to_string(),
        Some(why) => format!("{} ({why})", message.protection().as_str()),
    };
    store.set_message_state(&key, MessageState::Sending, &transport.describe())?;
    set_state(record, MessageState::Sending);
    let handing = Handed {
        outcome: DigestOutcome {
            protection: Some(protection),
            ..outcome(MessageState::Sending, false, String::new())
        },
        incident: incident.to_string(),
        tlp: digest.tlp,
        finding_ids: digest
            .parts
            .iter()
            .flat_map(|p| p.findings.iter().map(|f| f.id))
            .collect(),
        plain: message.protection() == Protection::Plain,
        // the findings it names specifically are notified once it is delivered
        notified: digest
            .parts
            .iter()
            .flat_map(|p| &p.findings)
            .filter(|f| {
                matches!(
                    f.state,
                    baken_store::FindingState::Open | baken_store::FindingState::Reopened
                )
            })
            .map(|f| Transition {
                finding: f.id,
                to: Some(baken_store::FindingState::Notified),
                cause: Cause::Message,
                reference: Some(key.clone()),
                by: Some(party.to_string()),
                note: None,
            })
            .collect(),
    };
    let delivered = match handed {
        None => transport.deliver(&message),
        Some(handed) => match transport.stage(&message) {
            Staged::Done(delivered) => delivered,
            Staged::Waiting => {
                record.handed.insert(key.clone());
                handed.push(handing);
                return Ok(Delivery::Waiting(key));
            }
        },
    };
    record_delivery(store, record, handing, delivered).map(Delivery::Done)
}

/// Records what happened to a message handed to the transport: the audit entry, its state,
/// and when delivered, its findings notified and the step on the incident's timeline.
fn record_delivery(
    store: &mut dyn Store,
    record: &mut Record,
    handed: Handed,
    delivered: Result<Receipt, DeliverError>,
) -> Result<DigestOutcome, PipelineError> {
    let Handed {
        outcome: template,
        incident,
        tlp,
        finding_ids,
        plain,
        notified,
    } = handed;
    let key = template.key.clone();
    let party = template.party.clone();
    record.handed.remove(&key);
    let set_state = |record: &mut Record, state: MessageState| {
        if let Some(list) = record.messages.get_mut(&party)
            && let Some(stored) = list.iter_mut().find(|x| x.key == key)
        {
            stored.state = state;
        }
    };
    let protection = template.protection.clone().unwrap_or_default();
    let outcome = |state, delivered_now, detail: String| DigestOutcome {
        state,
        delivered_now,
        detail,
        ..template.clone()
    };
    store.append_audit(&[NewAuditEntry {
        kind: if delivered.is_ok() {
            "delivery"
        } else {
            "delivery-failed"
        }
        .into(),
        subject: key.clone(),
        body: match &delivered {
            Ok(r) => serde_json::json!({
                "incident": incident,
                "recipient": party,
                "address": template.recipient,
                "kind": template.kind.as_str(),
                "ticket": template.ticket,
                "about": template.subjects,
                "findings": finding_ids,
                "aggregate": template.aggregate,
                "tlp": tlp,
                "message_id": r.message_id,
                "destination": r.destination,
                "already_delivered": r.already_delivered,
                "protection": protection,
            }),
            Err(e) => serde_json::json!({
                "incident": incident,
                "recipient": party,
                "address": template.recipient,
                "error": e.to_string(),
                "permanent": e.is_permanent(),
            }),
        }
        .to_string(),
    }])?;
    match delivered {
        Ok(receipt) => {
            // the record says how the message was protected, beside where it went
            let detail = if plain {
                receipt.destination.clone()
            } else {
                format!("{} (OpenPGP {protection})", receipt.destination)
            };
            store.set_message_state(&key, MessageState::Sent, &detail)?;
            set_state(record, MessageState::Sent);
            store.transition(&notified)?;
            store.add_step(&TimelineStep {
                incident: incident.to_string(),
                step: "digest-written".into(),
                at: now(),
                detail: format!(
                    "{party} <{}> ({})",
                    template.recipient,
                    template.kind.as_str()
                ),
            })?;
            Ok(outcome(
                MessageState::Sent,
                !receipt.already_delivered,
                detail,
            ))
        }
        Err(e) if e.is_permanent() => {
            store.set_message_state(&key, MessageState::Failed, &e.to_string())?;
            set_state(record, MessageState::Failed);
            Ok(outcome(MessageState::Failed, false, e.to_string()))
        }
        Err(e) => {
            // Transient: nothing was accepted, so the next run may try again.
            store.set_message_state(&key, MessageState::Pending, &e.to_string())?;
            set_state(record, MessageState::Pending);
            Ok(outcome(MessageState::Pending, false, e.to_string()))
        }
    }
}

/// The keys of a message to `digest`'s recipient: none without a sender key; signed with it,
/// and encrypted to the recipient contact's `pgp_key` when that key can be used now (else
/// signed only, with why not encrypted).
fn openpgp_for(
    options: &NotifyOptions,
    digest: &PlannedDigest,
) -> (Option<OpenPgp>, Option<String>) {
    let Some(signer) = &options.signer else {
        return (None, None);
    };
    let key = digest
        .recipient
        .contacts
        .iter()
        .find(|c| c.email.eq_ignore_ascii_case(&digest.email))
        .and_then(|c| c.pgp_key.as_deref());
    let (encrypt_to, why) = match key {
        None => (None, None),
        Some(armored) => match PublicKey::for_encryption(armored, std::time::SystemTime::now()) {
            Ok(key) => (Some(Arc::new(key)), None),
            Err(e) => (None, Some(format!("not encrypted: {e}"))),
        },
    };
    (
        Some(OpenPgp {
            signer: signer.clone(),
            encrypt_to,
        }),
        why,
    )
}

/// How many of the findings `party` may see specifically are still open.
fn still_open(digests: &BTreeMap<String, PlannedDigest>, party: &str) -> usize {
    digests.get(party).map_or(0, |d| {
        d.parts
            .iter()
            .flat_map(|p| &p.findings)
            .filter(|f| f.state.is_open())
            .count()
    })
}

/// What writing a message needs besides its recipient.
struct Writer<'a> {
    options: &'a NotifyOptions,
    pseudonymiser: &'a Pseudonymiser,
    /// The incident.
    incident: &'a str,
    /// Every recipient's whole digest of the round.
    digests: &'a BTreeMap<String, PlannedDigest>,
    context: Option<&'a AdvisoryContext>,
    /// When exploitation of the incident's vulnerability began (Unix seconds), if known.
    exploited_since: Option<i64>,
}

/// What sets one message of an exchange apart: its key, kind, ticket and the messages before.
struct Heading<'a> {
    key: &'a str,
    kind: MessageKind,
    ticket: Option<i64>,
    /// Keys of the messages of the exchange delivered before, oldest first.
    earlier: &'a [String],
    /// Findings the recipient may see that are still open, this message's included.
    still_open: usize,
    /// The audit log's head (seq, hash) when the message is composed, which the message
    /// carries so that its recipient holds a witness of the log.
    audit_head: Option<(i64, String)>,
}

/// How sure we are that a finding is real: confirmed by a scan, declared by its owner in
/// an inventory, or unknown (the installed version could not be compared).
pub fn status(f: &Finding) -> &'static str {
    match f.event.get_str("feed.name") {
        Some("inventory") => {
            if f.event
                .get_str("extra.match_status")
                .is_some_and(|s| s.starts_with("unknown"))
            {
                "unknown"
            } else {
                "declared"
            }
        }
        _ => "confirmed",
    }
}

/// How a message names an organisation it speaks of: its name and registry id, or, for the
/// stand-in of unregistered holders, only its description (the internal id means nothing to
/// a reader).
pub fn subject_label(party: &Party, name: &str) -> String {
    match party.registered() {
        Some(id) => format!("{name} ({id})"),
        None => name.to_string(),
    }
}

/// The ticket reference of a message's subject, e.g. `[baken#12]`.
pub fn ticket_reference(ticket: i64) -> String {
    format!("[baken#{ticket}]")
}

/// The language `digest` is written in: that of the contact it goes to, when the registry
/// names one, else the policy's default (`[messages] language`).
fn language_of(digest: &PlannedDigest, default: Language) -> Language {
    digest
        .recipient
        .contacts
        .iter()
        .find(|c| c.email.eq_ignore_ascii_case(&digest.email))
        .and_then(|c| c.language)
        .unwrap_or(default)
}

/// Who `digest` speaks to, for its wording.
fn audience_of(digest: &PlannedDigest) -> Audience {
    let recipient = &digest.recipient;
    if digest.parts.iter().all(|p| p.findings.is_empty()) {
        Audience::Counts
    } else if digest.is_own() {
        Audience::Own
    } else if recipient.kind == baken_model::OrgKind::Hoster {
        Audience::Hoster
    } else if recipient.kind == baken_model::OrgKind::Dtc {
        Audience::Dtc
    } else {
        Audience::Cert
    }
}

/// The facts of the message `heading` names with what `digest` carries, and its sector
/// counts (which the attachment also carries).
fn message_context(
    writer: &Writer<'_>,
    heading: &Heading<'_>,
    digest: &PlannedDigest,
) -> (MessageContext, Vec<SectorAggregate>) {
    let Writer {
        options,
        pseudonymiser,
        incident,
        context,
        exploited_since,
        ..
    } = *writer;
    let audience = audience_of(digest);
    let own = audience == Audience::Own;
    let n: usize = digest.parts.iter().map(|p| p.findings.len()).sum();
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for f in digest.parts.iter().flat_map(|p| &p.findings) {
        *by_status.entry(status(f)).or_default() += 1;
    }
    let count = |s: &str| by_status.get(s).copied().unwrap_or(0);
    let parts = digest
        .parts
        .iter()
        .map(|part| PartContext {
            label: (!own).then(|| subject_label(&part.subject, &part.subject_name)),
            systems: part
                .findings
                .iter()
                .take(10)
                .map(|f| {
                    let e = &f.event;
                    let port = e
                        .get("source.port")
                        .map(|p| format!(":{p}"))
                        .unwrap_or_default();
                    let host = e
                        .get_str("source.reverse_dns")
                        .map(|h| format!(" ({h})"))
                        .unwrap_or_default();
                    SystemContext {
                        address: format!(
                            "{}{port}{host}",
                            e.get_str("source.ip")
                                .or_else(|| e.get_str("source.fqdn"))
                                .unwrap_or("-")
                        ),
                        unsure: status(f) == "unknown",
                    }
                })
                .collect(),
            more: part.findings.len().saturating_sub(10),
        })
        .collect();
    let aggregates = aggregate(
        &options.policy,
        digest.aggregate.iter().flat_map(|a| {
            let (sector, org, counted) = &**a;
            let open = counted.iter().filter(|c| c.state.is_open()).count();
            std::iter::repeat_n((sector.as_deref(), org), open)
        }),
        pseudonymiser,
    );
    let mut reasons = Vec::new();
    let mut bases = BTreeSet::new();
    for part in &digest.parts {
        bases.insert(BasisContext {
            rule: part.decision.rule.clone().unwrap_or_else(|| "-".into()),
            form: part.decision.form.to_string(),
            basis: part.decision.basis.clone(),
        });
        if own {
            let mine: BTreeSet<&str> = part
                .findings
                .iter()
                .map(|f| f.attribution.reason.as_str())
                .collect();
            reasons.extend(mine.into_iter().take(5).map(str::to_string));
        }
    }
    let lifecycle = options.policy.lifecycle();
    let facts = MessageContext {
        language: language_of(digest, options.policy.messages().language),
        kind: heading.kind.as_str(),
        audience,
        tlp: digest.tlp.label().into(),
        recipient: digest.recipient.name.clone(),
        key: heading.key.into(),
        ticket: heading.ticket.map(ticket_reference),
        incident: match context {
            Some(c) if c.id.eq_ignore_ascii_case(incident) => c.id.clone(),
            _ => incident.to_ascii_uppercase(),
        },
        incident_id: incident.to_string(),
        cve: incident.starts_with("cve-") || context.is_some(),
        lookalike: incident == crate::lookalikes::INCIDENT,
        cves: context.map(|c| c.cves.clone()).unwrap_or_default(),
        product: context.and_then(|c| c.product.clone()),
        incident_in_cves: context
            .is_some_and(|c| c.cves.iter().any(|v| v.eq_ignore_ascii_case(incident))),
        findings: n,
        more: heading.kind == MessageKind::FollowUp,
        organisations: digest.parts.len(),
        uncertain: n > 0 && count("unknown") == n,
        confirmed: count("confirmed"),
        declared: count("declared"),
        unknown: count("unknown"),
        mixed: by_status.len() > 1,
        parts,
        aggregates: aggregates
            .iter()
            .map(|a| AggregateContext {
                sector: Some(a.sector.clone()).filter(|s| s != NO_SECTOR),
                organisations: a.organisations.to_string(),
                findings: a.findings.to_string(),
            })
            .collect(),
        min_count: options.policy.min_count(),
        advisory: context.cloned(),
        earlier: heading.earlier.len(),
        still_open: heading.still_open,
        deadline_hours_vital: lifecycle.deadline_hours_vital,
        deadline_hours: lifecycle.deadline_hours,
        escalate_after_hours: lifecycle.escalate_after_hours,
        exploited_since: exploited_since.map(Moment::of),
        reasons,
        bases: bases.into_iter().collect(),
        policy: options.policy.name().into(),
        exercise: crate::exercise::exercise_of(incident).map(str::to_string),
    };
    (facts, aggregates)
}

/// The message `heading` names: its text from the templates of its language
/// ([`crate::message`]), the findings as CSV and the sector counts as CSV attached.
fn compose(
    writer: &Writer<'_>,
    heading: &Heading<'_>,
    digest: &PlannedDigest,
) -> Result<OutgoingMessage, PipelineError> {
    let options = writer.options;
    let incident = writer.incident;
    let key = heading.key;
    let tlp = digest.tlp;
    let (facts, aggregates) = message_context(writer, heading, digest);
    let subject = message::subject(&facts)?;
    let text = message::body(&facts)?;
    let own = facts.audience == Audience::Own;
    let n = facts.findings;
    let mut attachments = Vec::new();
    if n > 0 {
        let rows: Vec<(&str, &Finding)> = digest
            .parts
            .iter()
            .flat_map(|p| {
                // the registry id where there is one; the stand-in's description otherwise
                let label = match p.subject.registered() {
                    Some(id) => id.0.as_str(),
                    None => p.subject_name.as_str(),
                };
                p.findings.iter().map(move |f| (label, &**f))
            })
            .collect();
        let xarf = digest
            .recipient
            .contacts
            .iter()
            .find(|c| c.email.eq_ignore_ascii_case(&digest.email))
            .and_then(|c| c.report_format)
            == Some(ReportFormat::Xarf);
        if xarf {
            // X-ARF: one report per finding, as the recipient's contact prefers
            let sender = crate::xarf::Sender::from_mailbox(&options.from);
            for (_, f) in &rows {
                let report = crate::xarf::report(f, incident, key, &sender);
                attachments.push(Attachment {
                    filename: attachment_name(incident, &format!("xarf-{}.json", f.id)),
                    content_type: "application/json".into(),
                    body: serde_json::to_vec_pretty(&report).expect("JSON serialises"),
                });
            }
        } else {
            attachments.push(Attachment {
                filename: attachment_name(incident, "findings.csv"),
                content_type: "text/csv; charset=utf-8".into(),
                body: findings_csv(&rows, !own),
            });
        }
    }
    if !aggregates.is_empty() {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["sector", "organisations", "findings"])
            .expect("writing to memory");
        for a in &aggregates {
            w.write_record([
                csv_cell(&a.sector),
                a.organisations.to_string(),
                a.findings.to_string(),
            ])
            .expect("writing to memory");
        }
        attachments.push(Attachment {
            filename: attachment_name(incident, "sectors.csv"),
            content_type: "text/csv; charset=utf-8".into(),
            body: w.into_inner().expect("writing to memory"),
        });
    }
    Ok(OutgoingMessage {
        key: key.into(),
        from: options.from.clone(),
        to: vec![digest.email.clone()],
        subject,
        text,
        attachments,
        headers: {
            let mut headers = vec![
                header::tlp(tlp),
                header::incident(incident),
                ("Content-Language".into(), facts.language.code().into()),
            ];
            let (seq, hash) = heading
                .audit_head
                .clone()
                .unwrap_or_else(|| (0, baken_store::audit::GENESIS.to_string()));
            headers.push(header::audit_head(seq, &hash));
            if let Some(t) = heading.ticket {
                headers.push(("X-Baken-Ticket".into(), t.to_string()));
            }
            if let Some(id) = &facts.exercise {
                headers.push(header::exercise(id));
            }
            // follow-ups thread under the messages before them (RFC 5322 section 3.6.4)
            let ids: Vec<String> = heading
                .earlier
                .iter()
                .filter_map(|k| message_id_of(k, &options.from))
                .collect();
            if let Some(last) = ids.last() {
                headers.push(("In-Reply-To".into(), last.clone()));
                headers.push(("References".into(), ids.join(" ")));
            }
            headers
        },
        date: None,
        openpgp: None,
    })
}

/// Longest incident part of an attachment's file name, in bytes; file systems and mail
/// clients take 255.
const MAX_NAME_STEM: usize = 100;

/// The file name of an attachment about `incident`: `INCIDENT-WHAT`, with every character
/// of the incident outside `[A-Za-z0-9._-]` (a path separator, a space, a control
/// character, anything not ASCII) written `-`, a name of only dots made `incident`, and the
/// incident cut to [`MAX_NAME_STEM`] characters. Any incident id gives a plain file name.
fn attachment_name(incident: &str, what: &str) -> String {
    let mut stem: String = incident
        .chars()
        .take(MAX_NAME_STEM)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if stem.chars().all(|c| c == '.') {
        stem = "incident".into();
    }
    format!("{stem}-{what}")
}

/// The Message-ID of the message with key `key` from `from` (as [`baken_deliver::message_id`]
/// makes it).
fn message_id_of(key: &str, from: &str) -> Option<String> {
    baken_deliver::message_id(&OutgoingMessage {
        key: key.into(),
        from: from.into(),
        to: vec![],
        subject: String::new(),
        text: String::new(),
        attachments: vec![],
        headers: vec![],
        date: None,
        openpgp: None,
    })
    .ok()
}

/// Findings as CSV: `status` (confirmed, declared, unknown: see [`status`]) and
/// [`CSV_COLUMNS`], preceded by an `organisation` column when the message speaks of several
/// organisations. Every cell is safe to open in a spreadsheet (see [`csv_cell`]).
pub fn findings_csv(rows: &[(&str, &Finding)], with_organisation: bool) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = Vec::new();
    if with_organisation {
        header.push("organisation");
    }
    header.push("status");
    header.extend_from_slice(CSV_COLUMNS);
    w.write_record(&header).expect("writing to memory");
    for (org, f) in rows {
        let mut row: Vec<String> = Vec::new();
        if with_organisation {
            row.push(csv_cell(org));
        }
        row.push(status(f).to_string());
        row.extend(CSV_COLUMNS.iter().map(|c| match f.event.get(c) {
            Some(serde_json::Value::String(s)) => csv_cell(s),
            Some(v) => v.to_string(),
            None => String::new(),
        }));
        w.write_record(&row).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

/// A text cell that a spreadsheet will not run as a formula: a cell starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return gets a leading `'`, as OWASP's advice on CSV
/// injection has it; a number (`-1`, `+3.5`) stays as it is.
pub fn csv_cell(text: &str) -> String {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && text.trim().parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_file_safe_stable_and_exact() {
        let k = message_key("cve-2019-19781", "org-17", 1);
        assert_eq!(k, message_key("cve-2019-19781", "org-17", 1));
        assert_ne!(k, message_key("cve-2019-19781", "org-18", 1));
        assert_ne!(k, message_key("cve-2019-19781", "org-17", 2));
        assert!(k.starts_with("cve-2019-19781--"));
        assert!(k.ends_with("--1"));
        assert!(k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        // incidents that read alike are told apart
        assert_ne!(
            message_key("open.port", "org-1", 1),
            message_key("open-port", "org-1", 1)
        );
    }

    #[test]
    fn attachment_names_are_plain_file_names_whatever_the_incident() {
        assert_eq!(
            attachment_name("cve-2019-19781", "findings.csv"),
            "cve-2019-19781-findings.csv"
        );
        assert_eq!(
            attachment_name("a/b c", "findings.csv"),
            "a-b-c-findings.csv"
        );
        assert_eq!(attachment_name("..", "x.csv"), "incident-x.csv");
        assert_eq!(attachment_name("", "x.csv"), "incident-x.csv");
        let long = "é\\".repeat(500);
        let name = attachment_name(&long, "findings.csv");
        assert_eq!(name.len(), MAX_NAME_STEM + "-findings.csv".len());
        for name in [name, attachment_name("x\r\n\0:*?\"<>|", "s.csv")] {
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')),
                "{name}"
            );
        }
    }

    /// A message composed from a plan whose findings keep only the message's fields
    /// ([`is_message_field`]) is the message composed from whole events: text, CSV and
    /// X-ARF alike, for a scan, an inventory match and a host without an address.
    #[test]
    fn a_message_reads_only_the_fields_a_plan_for_notifying_keeps() {
        use baken_model::{
            Attribution, Contact, ContactRole, Event, OrgKind, Organisation, Owner, ReportFormat,
            Rule,
        };
        let org = |id: &str, net: &str, format: Option<ReportFormat>| Organisation {
            id: OrgId(id.into()),
            name: format!("{id} BV"),
            kind: OrgKind::Organisation,
            sector: Some("health".into()),
            vital: true,
            wbni: Default::default(),
            supervisor: None,
            cert: None,
            networks: vec![net.parse().unwrap()],
            asns: vec![],
            domains: vec![format!("{id}.example")],
            contacts: vec![Contact {
                email: format!("soc@{id}.example"),
                role: ContactRole::Security,
                report_format: format,
                ..Default::default()
            }],
        };
        let attributor = Attributor::new(
            vec![
                org("org-a", "198.18.1.0/24", None),
                org("org-x", "198.18.2.0/24", Some(ReportFormat::Xarf)),
            ],
            vec![],
            vec![],
        )
        .unwrap();
        let event = |fields: &[(&str, serde_json::Value)]| -> Event {
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        let scan = |ip: &str| {
            event(&[
                ("classification.identifier", "vulnerable-http".into()),
                ("classification.taxonomy", "vulnerable".into()),
                ("classification.type", "vulnerable-system".into()),
                ("extra.content_type", "text/html".into()),
                ("extra.evidence", "=HYPERLINK(\"x\")".into()),
                ("extra.http_code", 200.into()),
                ("extra.server", "Apache".into()),
                ("extra.tag", "citrix;cve-2019-19781".into()),
                ("feed.documentation", "https://example.org/".into()),
                ("feed.name", "Vulnerable-HTTP".into()),
                ("product.name", "Citrix ADC".into()),
                ("product.version", "13.0".into()),
                ("product.vulnerabilities", "cve-2019-19781".into()),
                ("protocol.application", "http".into()),
                ("protocol.transport", "tcp".into()),
                ("severity", "critical".into()),
                ("source.asn", 64496.into()),
                ("source.geolocation.cc", "NL".into()),
                ("source.ip", ip.into()),
                ("source.port", 443.into()),
                ("source.reverse_dns", "gw.example".into()),
                ("time.observation", "2026-01-01T00:00:00+00:00".into()),
                ("time.source", "2020-01-10T12:27:00+00:00".into()),
            ])
        };
        let declared = |ip: &str| {
            event(&[
                ("extra.match_detail", "Citrix ADC 13.0 < 13.0.47.24".into()),
                ("extra.match_status", "unknown: no build".into()),
                ("feed.name", "inventory".into()),
                ("product.name", "Citrix ADC".into()),
                ("product.vulnerabilities", "cve-2019-19781".into()),
                ("source.ip", ip.into()),
                ("time.source", "2020-01-10T00:00:00+00:00".into()),
            ])
        };
        let host = event(&[
            ("feed.name", "scan-citrix".into()),
            ("product.vulnerabilities", "cve-2019-19781".into()),
            ("source.fqdn", "gateway.org-a.example".into()),
            ("source.port", 8443.into()),
            ("time.source", "2020-01-10T06:00:00+00:00".into()),
        ]);
        let owned = |id: &str| Attribution {
            owner: Owner::Organisation {
                id: OrgId(id.into()),
            },
            rule: Rule::Prefix,
            reason: String::new(),
        };
        let findings = [
            (scan("198.18.1.5"), owned("org-a")),
            (declared("198.18.1.6"), owned("org-a")),
            (host, owned("org-a")),
            (scan("198.18.2.5"), owned("org-x")),
            (declared("198.18.2.6"), owned("org-x")),
        ];
        let policy = Policy::builtin("nl-2020").unwrap();
        let options =
            NotifyOptions::new(policy.clone(), b"a pseudonym key of enough bytes".to_vec());
        let pseudonymiser = Pseudonymiser::new(&options.secret).unwrap();
        let compose_all = |fields: EventFields| {
            let findings = findings
                .iter()
                .enumerate()
                .map(|(i, (event, attribution))| {
                    let mut event = event.clone();
                    event.retain(|name| fields.keeps(name));
                    Finding {
                        id: i as i64 + 1,
                        event,
                        partial: None,
                        attribution: attribution.clone(),
                        tlp: Some(Tlp::Amber),
                        provenance: "shadowserver".into(),
                        state: baken_store::FindingState::Open,
                        first_seen: 0,
                        last_seen: 0,
                    }
                })
                .collect();
            let plan = plan::plan(
                &policy,
                &attributor,
                "cve-2019-19781",
                findings,
                Tlp::Amber,
                &[],
            );
            let writer = Writer {
                options: &options,
                pseudonymiser: &pseudonymiser,
                incident: "cve-2019-19781",
                digests: &plan.digests,
                context: None,
                exploited_since: None,
            };
            plan.digests
                .iter()
                .map(|(party, digest)| {
                    let heading = Heading {
                        key: "k",
                        kind: MessageKind::First,
                        ticket: None,
                        earlier: &[],
                        still_open: 0,
                        audit_head: None,
                    };
                    let m = compose(&writer, &heading, digest).unwrap();
                    let attached: Vec<(String, String)> = m
                        .attachments
                        .iter()
                        .map(|a| (a.filename.clone(), String::from_utf8_lossy(&a.body).into()))
                        .collect();
                    (party.clone(), m.subject, m.text, attached)
                })
                .collect::<Vec<_>>()
        };
        let whole = compose_all(EventFields::All);
        let kept = compose_all(EventFields::Message);
        assert_eq!(whole.len(), 2, "both organisations get a message");
        assert!(
            whole[0].3[0].1.contains("Vulnerable-HTTP"),
            "{:?}",
            whole[0].3
        );
        assert!(
            whole[0].2.contains("gateway.org-a.example"),
            "{}",
            whole[0].2
        );
        assert!(whole[1].3[0].0.contains("xarf-"), "{:?}", whole[1].3);
        assert_eq!(kept, whole);
    }

    #[test]
    fn csv_cells_never_start_a_formula() {
        for risky in [
            "=HYPERLINK(\"x\")",
            "=cmd|' /C calc'!A0",
            "@SUM(A1)",
            "+1+1",
            "-2+3",
            "\tx",
            "\rx",
        ] {
            assert_eq!(csv_cell(risky), format!("'{risky}"), "{risky:?}");
        }
        for safe in ["-1", "+3.5", "-0.25", "citrix adc", "", "1=1"] {
            assert_eq!(csv_cell(safe), safe);
        }
    }
}
