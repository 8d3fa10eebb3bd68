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

use std::collections::{BTreeMap, BTreeSet};

use baken_attribute::Attributor;
use baken_deliver::{Attachment, OutgoingMessage, Transport, header};
use baken_model::Tlp;
use baken_policy::{Path, Policy, Pseudonymiser, aggregate};
use baken_store::audit::NewAuditEntry;
use baken_store::{Finding, MessageRecord, MessageState, Store, TimelineStep, now};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::plan::{self, Affected, Coverage, Plan, PlannedDigest};
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
        }
    }
}

/// One message and what happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct DigestOutcome {
    /// Message key.
    pub key: String,
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
#[derive(Debug, Clone, Default)]
pub struct AdvisoryContext {
    /// Advisory id.
    pub id: String,
    /// Title.
    pub title: Option<String>,
    /// Publisher.
    pub publisher: Option<String>,
    /// CVEs.
    pub cves: Vec<String>,
    /// "CVSS v3.1 base score 9.8 (CRITICAL) on a scale of 0.0 to 10.0, vector …".
    pub score: Option<String>,
    /// Remediations: "vendor_fix: upgrade to …".
    pub remediations: Vec<String>,
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
            Some(c) => format!(
                "{} base score {:.1} ({}) on a scale of 0.0 to 10.0; vector {}",
                c.version, c.base_score, c.severity, s.vector
            ),
            None => format!("stated score {:.1}; vector {}", s.value(), s.vector),
        });
        let mut remediations = Vec::new();
        for v in &a.vulnerabilities {
            for r in &v.remediations {
                let line = format!(
                    "{}: {}{}",
                    r.category.replace('_', " "),
                    r.details,
                    r.url
                        .as_deref()
                        .map(|u| format!(" <{u}>"))
                        .unwrap_or_default()
                );
                if !remediations.contains(&line) {
                    remediations.push(line);
                }
            }
        }
        AdvisoryContext {
            id: a.id.clone(),
            title: a.title.clone(),
            publisher: a.publisher.clone(),
            cves: a.cves.clone(),
            score,
            remediations,
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
) -> Result<Plan, PipelineError> {
    let findings = crate::findings::of_incident(store, attributor, incident)?;
    Ok(plan::plan(
        policy,
        attributor,
        &incident.to_ascii_lowercase(),
        findings,
        tlp,
    ))
}

/// Notifies every recipient of every incident (or of `options.incident`).
pub fn notify(
    store: &mut dyn Store,
    attributor: &Attributor,
    transport: &mut dyn Transport,
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
        let plan = plan_incident(store, attributor, &options.policy, &incident, options.tlp)?;
        let context = advisory_context(store, &incident)?;
        out.push(deliver_plan(
            store,
            transport,
            options,
            &pseudonymiser,
            plan,
            context.as_ref(),
            progress,
        )?);
    }
    Ok(out)
}

/// Delivers a plan: audit its decisions, send each message once, and record who was reached.
pub fn deliver_plan(
    store: &mut dyn Store,
    transport: &mut dyn Transport,
    options: &NotifyOptions,
    pseudonymiser: &Pseudonymiser,
    plan: Plan,
    context: Option<&AdvisoryContext>,
    progress: &dyn Progress,
) -> Result<IncidentOutcome, PipelineError> {
    let incident = plan.incident.clone();
    let findings: usize = plan.affected.iter().map(|a| a.findings).sum();
    store.add_step(&TimelineStep {
        incident: incident.clone(),
        step: "notify-started".into(),
        at: now(),
        detail: format!("{findings} findings, policy {}", plan.policy),
    })?;
    let entries: Vec<NewAuditEntry> = plan
        .decisions
        .iter()
        .map(|d| NewAuditEntry {
            kind: "decision".into(),
            subject: format!("{incident}/{}/{}", d.subject, d.recipient),
            body: serde_json::json!({
                "incident": incident,
                "policy": plan.policy,
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
                "addresses": d.addresses,
                "contact": match &d.contact { Ok(c) => c.clone(), Err(e) => e.clone() },
            }),
        })
        .collect();
    store.append_audit(&entries)?;

    let mut digests = Vec::with_capacity(plan.digests.len());
    let mut reached: BTreeMap<String, BTreeSet<Path>> = BTreeMap::new();
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    for (party, digest) in &plan.digests {
        let writer = Writer {
            options,
            pseudonymiser,
            plan: &plan,
            context,
        };
        let outcome = deliver_digest(store, transport, &writer, party, digest)?;
        for part in &digest.parts {
            if outcome.state == MessageState::Sent {
                reached
                    .entry(part.subject.clone())
                    .or_default()
                    .insert(part.path);
            } else {
                failed.insert(
                    part.subject.clone(),
                    format!(
                        "the message to {party} was not delivered: {}",
                        outcome.detail
                    ),
                );
            }
        }
        digests.push(outcome);
        progress.advance(1);
    }
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
                        reason: failed
                            .get(&a.id)
                            .cloned()
                            .unwrap_or_else(|| "no message reached it".into()),
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
    let mut sent: BTreeMap<&str, BTreeSet<Path>> = BTreeMap::new();
    let mut waiting: BTreeMap<&str, String> = BTreeMap::new();
    for (party, digest) in &plan.digests {
        let state = store
            .message(&message_key(&plan.incident, party))?
            .map(|m| m.state);
        for part in &digest.parts {
            if state == Some(MessageState::Sent) {
                sent.entry(part.subject.as_str())
                    .or_default()
                    .insert(part.path);
            } else {
                waiting.insert(
                    part.subject.as_str(),
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
                a.coverage = match sent.get(a.id.as_str()) {
                    Some(paths) => Coverage::Reached {
                        paths: paths.iter().copied().collect(),
                    },
                    None => Coverage::Unreachable {
                        reason: waiting
                            .get(a.id.as_str())
                            .cloned()
                            .unwrap_or_else(|| "no message names it".into()),
                    },
                };
            }
            a
        })
        .collect())
}

/// The message key: the incident and a digest of the recipient, safe as a file name.
pub fn message_key(incident: &str, party: &str) -> String {
    let slug: String = incident
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let hash = Sha256::digest(party.as_bytes());
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{slug}--{hex}")
}

/// What writing a message needs besides its recipient.
struct Writer<'a> {
    options: &'a NotifyOptions,
    pseudonymiser: &'a Pseudonymiser,
    plan: &'a Plan,
    context: Option<&'a AdvisoryContext>,
}

fn deliver_digest(
    store: &mut dyn Store,
    transport: &mut dyn Transport,
    writer: &Writer<'_>,
    party: &str,
    digest: &PlannedDigest,
) -> Result<DigestOutcome, PipelineError> {
    let (options, plan) = (writer.options, writer.plan);
    let incident = &plan.incident;
    let key = message_key(incident, party);
    let n_findings: usize = digest.parts.iter().map(|p| p.findings.len()).sum();
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
    let record = store.record_message(&MessageRecord {
        key: key.clone(),
        incident: incident.clone(),
        recipient: digest.email.clone(),
        party: party.into(),
        path: paths
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(","),
        findings: n_findings as u64,
        state: MessageState::Pending,
        detail: None,
        created_at: now(),
        sent_at: None,
    })?;
    let outcome = |state, delivered_now, detail: String| DigestOutcome {
        key: key.clone(),
        party: party.into(),
        recipient: digest.email.clone(),
        paths: paths.clone(),
        subjects: digest.parts.iter().map(|p| p.subject.clone()).collect(),
        findings: n_findings,
        aggregate: !digest.aggregate.is_empty(),
        state,
        delivered_now,
        detail,
    };
    match record.state {
        MessageState::Sent | MessageState::Failed => {
            return Ok(outcome(
                record.state,
                false,
                record.detail.unwrap_or_default(),
            ));
        }
        MessageState::Sending if !(options.idempotent_transport || options.resend_uncertain) => {
            return Ok(outcome(
                MessageState::Sending,
                false,
                "uncertain: a previous run stopped while delivering; check the relay's log, \
                 then re-run with --resend-uncertain if it did not arrive"
                    .into(),
            ));
        }
        MessageState::Pending | MessageState::Sending => {}
    }
    let message = compose(writer, &key, digest);
    store.set_message_state(&key, MessageState::Sending, &transport.describe())?;
    let delivered = transport.deliver(&message);
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
                "address": digest.email,
                "about": digest.parts.iter().map(|p| &p.subject).collect::<Vec<_>>(),
                "findings": digest.parts.iter().flat_map(|p| p.findings.iter().map(|f| f.id)).collect::<Vec<_>>(),
                "aggregate": !digest.aggregate.is_empty(),
                "tlp": digest.tlp,
                "message_id": r.message_id,
                "destination": r.destination,
                "already_delivered": r.already_delivered,
            }),
            Err(e) => serde_json::json!({
                "incident": incident,
                "recipient": party,
                "address": digest.email,
                "error": e.to_string(),
                "permanent": e.is_permanent(),
            }),
        },
    }])?;
    match delivered {
        Ok(receipt) => {
            store.set_message_state(&key, MessageState::Sent, &receipt.destination)?;
            store.add_step(&TimelineStep {
                incident: incident.clone(),
                step: "digest-written".into(),
                at: now(),
                detail: format!("{party} <{}>", digest.email),
            })?;
            Ok(outcome(
                MessageState::Sent,
                !receipt.already_delivered,
                receipt.destination,
            ))
        }
        Err(e) if e.is_permanent() => {
            store.set_message_state(&key, MessageState::Failed, &e.to_string())?;
            Ok(outcome(MessageState::Failed, false, e.to_string()))
        }
        Err(e) => {
            // Transient: nothing was accepted, so the next run may try again.
            store.set_message_state(&key, MessageState::Pending, &e.to_string())?;
            Ok(outcome(MessageState::Pending, false, e.to_string()))
        }
    }
}

fn push(text: &mut String, line: &str) {
    text.push_str(line);
    text.push('\n');
}

fn compose(writer: &Writer<'_>, key: &str, digest: &PlannedDigest) -> OutgoingMessage {
    let Writer {
        options,
        pseudonymiser,
        plan,
        context,
    } = *writer;
    let incident = &plan.incident;
    let tlp = digest.tlp;
    let incident_upper = match context {
        Some(c) if c.id.eq_ignore_ascii_case(incident) => c.id.clone(),
        _ => incident.to_ascii_uppercase(),
    };
    let is_cve = incident.starts_with("cve-") || context.is_some();
    let recipient = &digest.recipient;
    let own = digest
        .parts
        .iter()
        .all(|p| p.path == Path::Direct && p.subject == recipient.id.0);
    let n: usize = digest.parts.iter().map(|p| p.findings.len()).sum();
    let orgs = digest.parts.len();
    let systems = if n == 1 { "system" } else { "systems" };
    let what = if is_cve {
        format!("vulnerable to {incident_upper}")
    } else {
        format!("reported as {incident}")
    };
    let subject = if n == 0 {
        format!(
            "[{}] {incident_upper}: affected organisations by sector (counts only)",
            tlp.label()
        )
    } else if own {
        format!(
            "[{}] {incident_upper}: {n} {systems} of {} {what}",
            tlp.label(),
            recipient.name
        )
    } else if recipient.kind == baken_model::OrgKind::Hoster {
        format!(
            "[{}] {incident_upper}: {n} {systems} in your network {what}",
            tlp.label()
        )
    } else {
        format!(
            "[{}] {incident_upper}: {n} {systems} of {orgs} organisation{} you represent {what}",
            tlp.label(),
            if orgs == 1 { "" } else { "s" }
        )
    };

    let mut text = String::new();
    push(&mut text, tlp.label());
    push(&mut text, "");
    push(&mut text, &format!("Dear {},", recipient.name));
    push(&mut text, "");
    push(&mut text, "WHAT WAS FOUND");
    if n > 0 {
        let whose = if own {
            "of your organisation".to_string()
        } else if recipient.kind == baken_model::OrgKind::Hoster {
            "in your network".to_string()
        } else {
            format!("of {orgs} organisation(s) you represent")
        };
        let mut sources: BTreeSet<&str> = BTreeSet::new();
        for f in digest.parts.iter().flat_map(|p| &p.findings) {
            sources.insert(match f.event.get_str("feed.name") {
                Some("inventory") => "your declared inventory",
                Some(_) => "internet scans",
                None => "our records",
            });
        }
        let sources: Vec<&str> = sources.into_iter().collect();
        push(
            &mut text,
            &format!(
                "We found {n} {systems} {whose} {what} (from {}). The attached CSV lists each \
                 of them; these are the first:",
                sources.join(" and ")
            ),
        );
        for part in &digest.parts {
            if !own {
                push(
                    &mut text,
                    &format!("  {} ({}):", part.subject_name, part.subject),
                );
            }
            for f in part.findings.iter().take(10) {
                let e = &f.event;
                let ip = e.get_str("source.ip").unwrap_or("-");
                let port = e
                    .get("source.port")
                    .map(|p| format!(":{p}"))
                    .unwrap_or_default();
                let host = e
                    .get_str("source.reverse_dns")
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                push(&mut text, &format!("  - {ip}{port}{host}"));
            }
            if part.findings.len() > 10 {
                push(
                    &mut text,
                    &format!(
                        "  … and {} more in the attachment",
                        part.findings.len() - 10
                    ),
                );
            }
        }
    }
    let aggregates = aggregate(
        &options.policy,
        digest.aggregate.iter().flat_map(|(sector, org, count)| {
            std::iter::repeat_n((sector.as_deref(), org), *count as usize)
        }),
        pseudonymiser,
    );
    if !aggregates.is_empty() {
        push(
            &mut text,
            &format!(
                "Affected organisations you may know of only as counts (counts below {} are \
                 shown as <{}; organisations are pseudonymised):",
                options.policy.min_count(),
                options.policy.min_count()
            ),
        );
        for a in &aggregates {
            push(
                &mut text,
                &format!(
                    "  - {}: {} organisations, {} findings",
                    a.sector, a.organisations, a.findings
                ),
            );
        }
    }
    push(&mut text, "");
    push(&mut text, "WHY IT MATTERS");
    if let Some(c) = context {
        push(
            &mut text,
            &format!(
                "{} — {}{}",
                c.id,
                c.title.as_deref().unwrap_or("(no title)"),
                c.publisher
                    .as_deref()
                    .map(|p| format!(", published by {p}"))
                    .unwrap_or_default()
            ),
        );
        if !c.cves.is_empty() {
            push(
                &mut text,
                &format!("Vulnerabilities: {}", c.cves.join(", ")),
            );
        }
        if let Some(score) = &c.score {
            push(&mut text, &format!("Severity: {score}"));
        }
        push(
            &mut text,
            "Systems reachable from the internet while vulnerable are sought by attackers \
             within days of a disclosure and may already be compromised.",
        );
        for cve in &c.cves {
            push(
                &mut text,
                &format!("Details: https://www.cve.org/CVERecord?id={cve}"),
            );
        }
    } else if is_cve {
        push(
            &mut text,
            &format!(
                "{incident_upper} lets an attacker compromise these systems over the internet. \
                 Attackers scan for vulnerable systems within days of a disclosure; a system \
                 that was reachable while vulnerable may already be compromised."
            ),
        );
        push(
            &mut text,
            &format!("Details: https://www.cve.org/CVERecord?id={incident_upper}"),
        );
    } else {
        push(
            &mut text,
            "These systems expose a weakness that attackers look for on the internet.",
        );
    }
    push(&mut text, "");
    push(&mut text, "WHAT TO DO");
    if let Some(c) = context
        && n > 0
    {
        for r in c.remediations.iter().take(4) {
            push(&mut text, &format!("  - {r}"));
        }
    }
    if n > 0 {
        if own {
            push(
                &mut text,
                "1. Apply the vendor's update or, until you can, its mitigation, on every listed system.",
            );
            push(
                &mut text,
                "2. Check the systems for signs of compromise; a fix does not remove an intruder.",
            );
            push(
                &mut text,
                "3. Reply to this message when you have acted, so that we can verify with a new scan.",
            );
        } else {
            push(
                &mut text,
                "Please pass each organisation its own findings, and only its own, so that it can \
                 update, check for compromise, and tell us when it has acted.",
            );
        }
    } else {
        push(
            &mut text,
            "These counts are for your overview; they name no organisation and no address.",
        );
    }
    push(&mut text, "");
    push(&mut text, "WHY YOU");
    let mut bases = BTreeSet::new();
    for part in &digest.parts {
        bases.insert(format!(
            "{} ({}): {}",
            part.decision.rule.as_deref().unwrap_or("-"),
            part.decision.form,
            part.decision.basis
        ));
        if own {
            let reasons: BTreeSet<&str> = part
                .findings
                .iter()
                .map(|f| f.attribution.reason.as_str())
                .collect();
            for r in reasons.iter().take(5) {
                push(&mut text, &format!("  - {r}"));
            }
        }
    }
    for b in &bases {
        push(&mut text, &format!("  - shared under rule {b}"));
    }
    push(
        &mut text,
        &format!("  - sharing policy {}", options.policy.name()),
    );
    push(&mut text, "");
    push(
        &mut text,
        &format!("This message is {}. {}", tlp.label(), tlp.sharing_rule()),
    );
    push(&mut text, &format!("Reference: {key}"));

    let mut attachments = Vec::new();
    if n > 0 {
        let rows: Vec<(&str, &Finding)> = digest
            .parts
            .iter()
            .flat_map(|p| p.findings.iter().map(move |f| (p.subject.as_str(), f)))
            .collect();
        attachments.push(Attachment {
            filename: format!("{incident}-findings.csv"),
            content_type: "text/csv; charset=utf-8".into(),
            body: findings_csv(&rows, !own),
        });
    }
    if !aggregates.is_empty() {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["sector", "organisations", "findings"])
            .expect("writing to memory");
        for a in &aggregates {
            w.write_record([
                a.sector.clone(),
                a.organisations.to_string(),
                a.findings.to_string(),
            ])
            .expect("writing to memory");
        }
        attachments.push(Attachment {
            filename: format!("{incident}-sectors.csv"),
            content_type: "text/csv; charset=utf-8".into(),
            body: w.into_inner().expect("writing to memory"),
        });
    }
    OutgoingMessage {
        key: key.into(),
        from: options.from.clone(),
        to: vec![digest.email.clone()],
        subject,
        text,
        attachments,
        headers: vec![header::tlp(tlp), header::incident(incident)],
        date: None,
    }
}

/// Findings as CSV with [`CSV_COLUMNS`], preceded by an `organisation` column when the
/// message speaks of several organisations.
pub fn findings_csv(rows: &[(&str, &Finding)], with_organisation: bool) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = Vec::new();
    if with_organisation {
        header.push("organisation");
    }
    header.extend_from_slice(CSV_COLUMNS);
    w.write_record(&header).expect("writing to memory");
    for (org, f) in rows {
        let mut row: Vec<String> = Vec::new();
        if with_organisation {
            row.push((*org).to_string());
        }
        row.extend(CSV_COLUMNS.iter().map(|c| match f.event.get(c) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        }));
        w.write_record(&row).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_file_safe_and_stable() {
        let k = message_key("cve-2019-19781", "org-17");
        assert_eq!(k, message_key("cve-2019-19781", "org-17"));
        assert_ne!(k, message_key("cve-2019-19781", "org-18"));
        assert!(k.starts_with("cve-2019-19781--"));
        assert!(k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
