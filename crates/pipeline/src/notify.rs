//! Notify: one digest per recipient per incident, delivered at most once.
//!
//! For each incident the findings are grouped by who must hear of them:
//!
//! * a registered organisation, through its security contact (else its first contact);
//! * for addresses nobody registered, the hosting provider's abuse mailbox found in public
//!   registry data, with only the addresses of that provider's network;
//! * everything else is listed as unreachable, with the reason.
//!
//! A digest holds the recipient's own findings and nothing of anyone else's. Each message
//! is recorded in the store before delivery (`pending` → `sending` → `sent`), keyed by
//! incident and recipient, so a re-run or a restart after a crash never sends a digest twice:
//! a message left in `sending` by a crash is re-delivered only to an idempotent transport
//! (the outbox, which keeps one file per key); over SMTP it is reported as uncertain.

use std::collections::{BTreeMap, BTreeSet};

use baken_attribute::Attributor;
use baken_deliver::{Attachment, OutgoingMessage, Transport, header};
use baken_model::{Organisation, Owner, Tlp};
use baken_store::audit::NewAuditEntry;
use baken_store::{Finding, MessageRecord, MessageState, Store, TimelineStep, now};
use serde::Serialize;
use sha2::{Digest, Sha256};

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
    "feed.name",
];

/// How to notify.
#[derive(Debug, Clone)]
pub struct NotifyOptions {
    /// Only this incident; all incidents when `None`.
    pub incident: Option<String>,
    /// The sender, e.g. `NCSC baken <baken@ncsc.example>`.
    pub from: String,
    /// The TLP label of the digests (the recipient's own findings).
    pub tlp: Tlp,
    /// Whether the transport may be given the same message twice without a second copy
    /// arriving (true for the outbox).
    pub idempotent_transport: bool,
    /// Re-send messages a crash left in `sending` even over a non-idempotent transport.
    pub resend_uncertain: bool,
}

impl Default for NotifyOptions {
    fn default() -> Self {
        Self {
            incident: None,
            from: "NCSC baken <baken@ncsc.example>".into(),
            tlp: Tlp::Amber,
            idempotent_transport: true,
            resend_uncertain: false,
        }
    }
}

/// How a recipient was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Path {
    /// The registered organisation itself.
    Direct,
    /// The abuse contact of the network, from public registry data.
    AbuseContact,
}

impl Path {
    fn as_str(self) -> &'static str {
        match self {
            Path::Direct => "direct",
            Path::AbuseContact => "abuse-contact",
        }
    }
}

/// One digest and what happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct DigestOutcome {
    /// Message key.
    pub key: String,
    /// The party (organisation id, or `abuse:<mailbox>`).
    pub party: String,
    /// Recipient address.
    pub recipient: String,
    /// How the recipient was found.
    pub path: Path,
    /// Number of findings.
    pub findings: usize,
    /// Final state after this run.
    pub state: MessageState,
    /// Whether this run delivered it (false: it had been delivered before).
    pub delivered_now: bool,
    /// Where it went or what failed.
    pub detail: String,
}

/// An affected party nobody can be told, with the reason.
#[derive(Debug, Clone, Serialize)]
pub struct Unreachable {
    /// The organisation id, or the address when no owner is known.
    pub party: String,
    /// How many findings.
    pub findings: usize,
    /// Why.
    pub reason: String,
}

/// The outcome for one incident.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentOutcome {
    /// The incident.
    pub incident: String,
    /// Findings stored for it.
    pub findings: usize,
    /// Registered organisations with findings.
    pub affected_orgs: BTreeSet<String>,
    /// Digests, one per recipient.
    pub digests: Vec<DigestOutcome>,
    /// Parties that cannot be told.
    pub unreachable: Vec<Unreachable>,
}

impl IncidentOutcome {
    /// Digests in state `sent`.
    pub fn sent(&self) -> usize {
        self.digests
            .iter()
            .filter(|d| d.state == MessageState::Sent)
            .count()
    }
}

struct Group<'a> {
    path: Path,
    recipient: String,
    org: Option<&'a Organisation>,
    holder: Option<String>,
    via: Option<String>,
    findings: Vec<&'a Finding>,
}

/// Notifies every recipient of every incident (or of `options.incident`).
pub fn notify(
    store: &mut dyn Store,
    attributor: &Attributor,
    transport: &mut dyn Transport,
    options: &NotifyOptions,
    progress: &dyn Progress,
) -> Result<Vec<IncidentOutcome>, PipelineError> {
    let incidents: Vec<String> = match &options.incident {
        Some(i) => vec![i.to_ascii_lowercase()],
        None => store.incidents()?.into_iter().map(|(i, _)| i).collect(),
    };
    let mut out = Vec::new();
    for incident in incidents {
        out.push(notify_incident(
            store, attributor, transport, options, &incident, progress,
        )?);
    }
    Ok(out)
}

fn notify_incident(
    store: &mut dyn Store,
    attributor: &Attributor,
    transport: &mut dyn Transport,
    options: &NotifyOptions,
    incident: &str,
    progress: &dyn Progress,
) -> Result<IncidentOutcome, PipelineError> {
    let findings = store.findings(incident)?;
    store.add_step(&TimelineStep {
        incident: incident.into(),
        step: "notify-started".into(),
        at: now(),
        detail: format!("{} findings", findings.len()),
    })?;
    let mut groups: BTreeMap<String, Group<'_>> = BTreeMap::new();
    let mut unreachable: BTreeMap<String, Unreachable> = BTreeMap::new();
    let mut affected_orgs = BTreeSet::new();
    for f in &findings {
        match &f.attribution.owner {
            Owner::Organisation { id } => {
                affected_orgs.insert(id.0.clone());
                let Some(org) = attributor.organisation(id) else {
                    add_unreachable(
                        &mut unreachable,
                        &id.0,
                        "the organisation is no longer in the registry",
                    );
                    continue;
                };
                let Some(contact) = org.notification_contact() else {
                    add_unreachable(
                        &mut unreachable,
                        &id.0,
                        "registered without any contact address",
                    );
                    continue;
                };
                groups
                    .entry(id.0.clone())
                    .or_insert_with(|| Group {
                        path: Path::Direct,
                        recipient: contact.email.clone(),
                        org: Some(org),
                        holder: None,
                        via: None,
                        findings: Vec::new(),
                    })
                    .findings
                    .push(f);
            }
            Owner::Abuse(c) => {
                groups
                    .entry(format!("abuse:{}", c.email))
                    .or_insert_with(|| Group {
                        path: Path::AbuseContact,
                        recipient: c.email.clone(),
                        org: None,
                        holder: c.holder.clone(),
                        via: Some(c.via.clone()),
                        findings: Vec::new(),
                    })
                    .findings
                    .push(f);
            }
            Owner::Unknown => {
                let party = f
                    .event
                    .get_str("source.ip")
                    .or_else(|| f.event.source_domain())
                    .unwrap_or("(no address)")
                    .to_string();
                add_unreachable(&mut unreachable, &party, &f.attribution.reason);
            }
        }
    }

    let mut digests = Vec::with_capacity(groups.len());
    for (party, group) in &groups {
        digests.push(deliver_group(
            store, transport, options, incident, party, group,
        )?);
        progress.advance(1);
    }
    let not_told: Vec<NewAuditEntry> = unreachable
        .values()
        .map(|u| NewAuditEntry {
            kind: "decision".into(),
            subject: u.party.clone(),
            body: serde_json::json!({
                "incident": incident,
                "party": u.party,
                "form": "nothing",
                "findings": u.findings,
                "why": u.reason,
            }),
        })
        .collect();
    store.append_audit(&not_told)?;
    store.add_step(&TimelineStep {
        incident: incident.into(),
        step: "notify-finished".into(),
        at: now(),
        detail: format!(
            "{} digests, {} unreachable",
            digests.len(),
            unreachable.len()
        ),
    })?;
    Ok(IncidentOutcome {
        incident: incident.into(),
        findings: findings.len(),
        affected_orgs,
        digests,
        unreachable: unreachable.into_values().collect(),
    })
}

fn add_unreachable(map: &mut BTreeMap<String, Unreachable>, party: &str, reason: &str) {
    map.entry(party.to_string())
        .or_insert_with(|| Unreachable {
            party: party.to_string(),
            findings: 0,
            reason: reason.to_string(),
        })
        .findings += 1;
}

/// The message key: the incident and a digest of the party, safe as a file name.
pub fn message_key(incident: &str, party: &str) -> String {
    let slug: String = incident
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let hash = Sha256::digest(party.as_bytes());
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{slug}--{hex}")
}

fn deliver_group(
    store: &mut dyn Store,
    transport: &mut dyn Transport,
    options: &NotifyOptions,
    incident: &str,
    party: &str,
    group: &Group<'_>,
) -> Result<DigestOutcome, PipelineError> {
    let key = message_key(incident, party);
    let record = store.record_message(&MessageRecord {
        key: key.clone(),
        incident: incident.into(),
        recipient: group.recipient.clone(),
        party: party.into(),
        path: group.path.as_str().into(),
        findings: group.findings.len() as u64,
        state: MessageState::Pending,
        detail: None,
        created_at: now(),
        sent_at: None,
    })?;
    let outcome = |state, delivered_now, detail: String| DigestOutcome {
        key: key.clone(),
        party: party.into(),
        recipient: group.recipient.clone(),
        path: group.path,
        findings: group.findings.len(),
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
    let message = compose(options, incident, &key, group);
    store.append_audit(&[NewAuditEntry {
        kind: "decision".into(),
        subject: key.clone(),
        body: serde_json::json!({
            "incident": incident,
            "party": party,
            "recipient": group.recipient,
            "path": group.path.as_str(),
            "form": "own-assets",
            "tlp": options.tlp.label(),
            "findings": group.findings.iter().map(|f| f.id).collect::<Vec<_>>(),
            "why": match group.path {
                Path::Direct => "the registered organisation is told of its own findings",
                Path::AbuseContact => "nobody registered these addresses; the network's abuse contact from public registry data is told of them",
            },
        }),
    }])?;
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
                "recipient": group.recipient,
                "message_id": r.message_id,
                "destination": r.destination,
                "already_delivered": r.already_delivered,
            }),
            Err(e) => serde_json::json!({
                "recipient": group.recipient,
                "error": e.to_string(),
                "permanent": e.is_permanent(),
            }),
        },
    }])?;
    match delivered {
        Ok(receipt) => {
            store.set_message_state(&key, MessageState::Sent, &receipt.destination)?;
            store.add_step(&TimelineStep {
                incident: incident.into(),
                step: "digest-written".into(),
                at: now(),
                detail: format!("{party} <{}>", group.recipient),
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

fn compose(
    options: &NotifyOptions,
    incident: &str,
    key: &str,
    group: &Group<'_>,
) -> OutgoingMessage {
    let tlp = options.tlp;
    let n = group.findings.len();
    let systems = if n == 1 { "system" } else { "systems" };
    let incident_upper = incident.to_ascii_uppercase();
    let is_cve = incident.starts_with("cve-");
    let what = if is_cve {
        format!("vulnerable to {incident_upper}")
    } else {
        format!("reported as {incident}")
    };
    let (greeting, whose) = match (group.org, &group.holder) {
        (Some(org), _) => (
            format!("Dear security contact of {},", org.name),
            format!("of {}", org.name),
        ),
        (None, Some(holder)) => (
            format!("Dear abuse team of {holder},"),
            "in your network".to_string(),
        ),
        (None, None) => (
            "Dear abuse team,".to_string(),
            "in your network".to_string(),
        ),
    };
    let subject = format!(
        "[{}] {incident_upper}: {n} {systems} {whose} {what}",
        tlp.label()
    );

    let mut feeds = BTreeSet::new();
    let mut docs = BTreeSet::new();
    let (mut first, mut last) = (None::<String>, None::<String>);
    for f in &group.findings {
        if let Some(name) = f.event.get_str("feed.name") {
            feeds.insert(name.to_string());
        }
        if let Some(doc) = f.event.get_str("feed.documentation") {
            docs.insert(doc.to_string());
        }
        if let Some(t) = f.event.get_str("time.source") {
            if first.as_deref().is_none_or(|x| t < x) {
                first = Some(t.to_string());
            }
            if last.as_deref().is_none_or(|x| t > x) {
                last = Some(t.to_string());
            }
        }
    }
    let feeds = feeds.into_iter().collect::<Vec<_>>().join(", ");
    let seen = match (&first, &last) {
        (Some(a), Some(b)) if a == b => format!(" on {a}"),
        (Some(a), Some(b)) => format!(" between {a} and {b}"),
        _ => String::new(),
    };

    let mut text = String::new();
    let push = |text: &mut String, line: &str| {
        text.push_str(line);
        text.push('\n');
    };
    push(&mut text, tlp.label());
    push(&mut text, "");
    push(&mut text, &greeting);
    push(&mut text, "");
    push(&mut text, "WHAT WAS FOUND");
    push(
        &mut text,
        &format!(
            "Internet scans ({feeds}){seen} found {n} {systems} {whose} {what}. \
             The attached CSV lists each of them; these are the first:"
        ),
    );
    for f in group.findings.iter().take(10) {
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
    if n > 10 {
        push(
            &mut text,
            &format!("  … and {} more in the attachment", n - 10),
        );
    }
    push(&mut text, "");
    push(&mut text, "WHY IT MATTERS");
    if is_cve {
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
    for doc in &docs {
        push(&mut text, &format!("About the scan: {doc}"));
    }
    push(&mut text, "");
    push(&mut text, "WHAT TO DO");
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
    if group.path == Path::AbuseContact {
        push(
            &mut text,
            "These addresses are in your network and nobody else is registered with us for them: \
             please pass this on to your customer who runs them.",
        );
    }
    push(&mut text, "");
    push(&mut text, "WHY YOU");
    match (&group.org, &group.via) {
        (Some(_), _) => {
            let reasons: BTreeSet<&str> = group
                .findings
                .iter()
                .map(|f| f.attribution.reason.as_str())
                .collect();
            for r in reasons.iter().take(5) {
                push(&mut text, &format!("  - {r}"));
            }
            if reasons.len() > 5 {
                push(&mut text, &format!("  … and {} more", reasons.len() - 5));
            }
        }
        (None, Some(via)) => push(
            &mut text,
            &format!("  - the public registry names you as abuse contact: {via}"),
        ),
        (None, None) => {}
    }
    push(&mut text, "");
    push(
        &mut text,
        &format!("This message is {}. {}", tlp.label(), tlp.sharing_rule()),
    );
    push(&mut text, &format!("Reference: {key}"));

    OutgoingMessage {
        key: key.into(),
        from: options.from.clone(),
        to: vec![group.recipient.clone()],
        subject,
        text,
        attachments: vec![Attachment {
            filename: format!("{incident}-findings.csv"),
            content_type: "text/csv; charset=utf-8".into(),
            body: findings_csv(&group.findings),
        }],
        headers: vec![header::tlp(tlp), header::incident(incident)],
        date: None,
    }
}

/// The recipient's findings as CSV with [`CSV_COLUMNS`].
pub fn findings_csv(findings: &[&Finding]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS).expect("writing to memory");
    for f in findings {
        let row: Vec<String> = CSV_COLUMNS
            .iter()
            .map(|c| match f.event.get(c) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            })
            .collect();
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
