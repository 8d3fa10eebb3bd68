//! Inbox: recipients' replies close the loop. A reply to one of baken's messages
//! acknowledges the findings that message carried, or claims them fixed when it plainly
//! says so.
//!
//! [`import`] reads replies from a Maildir (`cur/` and `new/`), an mbox file, a directory
//! of `.eml` files or one `.eml` file ([`read::messages`]) and returns a [`Reply`] per
//! message; the CLI only presents them.
//!
//! # Matching
//!
//! A reply answers the baken message whose Message-ID (`<KEY@sender-domain>`, see
//! [`baken_deliver::message_id`]) is in its `In-Reply-To`, else the latest one in its
//! `References`: the key is the Message-ID's local part. Failing that, a ticket reference
//! `[baken#N]` in its subject relates it to every delivered message of that ticket. A reply
//! that matches nothing is listed as unmatched and changes nothing.
//!
//! # What a reply does
//!
//! A matched reply moves the findings the message(s) carried specifically (not those only
//! counted in a sector aggregate) to `acknowledged`, or to `mitigation-claimed` when it
//! claims a fix. Each change is a [`Transition`] with [`Cause::Reply`], the reply's
//! Message-ID as reference (`sha256:…` of its bytes when it has none) and its From address
//! as `by`; the store refuses what its lifecycle rules do not allow (a claim is not undone
//! by a later acknowledgement, a verified fix is not undone by either), and those findings
//! are listed as unchanged with the reason. A reply from another address than the message's
//! recipient is applied all the same and flagged.
//!
//! # The rule for "fixed"
//!
//! Conservative: only what the writer plainly says counts. The reply's own text is read —
//! lines quoted with `>` and everything from the quoted original on (an `On … wrote:` or
//! `Op … schreef:` line, an `-----Original Message-----` separator, an Outlook header
//! block, a `-- ` signature) are left out ([`claim::own_text`]) — and cut into sentences. A
//! sentence claims a fix when it holds one of [`claim::CLAIMS`] as whole words: "fixed",
//! "patched", "remediated", "mitigated", "resolved", "updated to", "upgraded", "taken
//! offline", "no longer exposed/vulnerable"; Dutch "opgelost", "gepatcht", "verholpen",
//! "bijgewerkt", "geüpdatet", "offline gehaald", "niet meer kwetsbaar". A claim is doubted
//! by a word of [`claim::DOUBTS`] in the same sentence (negation such as "not", "not yet",
//! "niet", "nog niet"; the future or a plan: "will", "zullen", "planned", "gepland",
//! "tomorrow"; conditions and hedges: "if", "maybe", "think"; partial fixes: "some",
//! "partially"), a word ending in `n't` or `'ll`, or a question mark. The reply claims a fix
//! when some sentence claims one and no claiming sentence is doubted. A doubted claim is
//! *unclear*: the findings are acknowledged, and the reply is listed for an analyst with
//! the reason ("mentions a fix ('patched') but also 'not yet'"). The subject is not read:
//! it quotes baken's own.
//!
//! # Auto-replies
//!
//! A message with `Auto-Submitted` other than `no`, an `X-Autoreply` or `X-Autorespond`
//! header, `Precedence: auto_reply`, `bulk` or `junk`, a delivery report
//! (`multipart/report`), or an out-of-office or delivery-failure subject ("Out of Office",
//! "Automatic reply", "Afwezig", "Automatisch antwoord", "Undeliverable", …) is listed as an
//! auto-reply and changes nothing.
//!
//! # Idempotence
//!
//! Importing the same replies again changes nothing: a finding whose history already holds a
//! change caused by a reply with the same reference is left alone ("already recorded from
//! this reply"), so a reply found twice (in a Maildir and an mbox, or imported twice) is
//! applied once.
//!
//! # Totals
//!
//! Every message read is counted once: `read = applied + unclear + unmatched + auto_replies +
//! unreadable` ([`Totals::reconciles`]). A message file that cannot be read, or that is not a
//! mail message with a From address, is *unreadable*: listed with its place and the reason,
//! and the CLI exits non-zero naming it.

pub mod claim;
pub mod read;

use std::collections::BTreeSet;
use std::path::PathBuf;

use baken_store::{Cause, FindingState, MessageState, Store, Transition, TransitionOutcome};
use mail_parser::{MessageParser, MimeHeaders};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::PipelineError;
use crate::incident_reports::{self, ReportDocument};
use baken_attribute::Attributor;
use baken_model::OrgId;
use claim::Reading;

/// What became of one reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Matched and read as an acknowledgement or a claim of a fix.
    Applied,
    /// Matched, mentions a fix doubtfully: acknowledged, for an analyst to read.
    Unclear,
    /// Matches no message of baken's; nothing changed.
    Unmatched,
    /// An automatic reply; nothing changed.
    AutoReply,
    /// Not readable as a mail message; nothing changed.
    Unreadable,
    /// A stage of an incident report (a report document attached, or as the body), filed.
    IncidentReport,
    /// An incident report from an address that is no contact of the organisation or of its
    /// CERT, or one that cannot be filed; nothing filed.
    ReportRefused,
}

/// What a matched reply says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Said {
    /// It acknowledges the message (or its claim of a fix is unclear).
    Acknowledged,
    /// It claims the findings are fixed.
    Fixed,
}

/// How a reply was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchedBy {
    /// Its `In-Reply-To` names a message of ours.
    InReplyTo,
    /// Its `References` names one.
    References,
    /// Its subject holds a ticket reference `[baken#N]`.
    Ticket,
}

/// The message(s) a reply answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matched {
    /// How.
    pub by: MatchedBy,
    /// The messages' keys.
    pub messages: Vec<String>,
    /// Their ticket.
    pub ticket: Option<i64>,
    /// Their incident.
    pub incident: String,
}

/// A finding a reply left as it was, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unchanged {
    /// The finding.
    pub finding: i64,
    /// Its state.
    pub state: Option<FindingState>,
    /// Why it was not changed.
    pub why: String,
}

/// One reply and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    /// Where it was read: a file, or `MBOX:LINE`.
    pub place: String,
    /// Its Message-ID, with angle brackets.
    pub message_id: Option<String>,
    /// Its From address.
    pub from: Option<String>,
    /// Its subject.
    pub subject: Option<String>,
    /// What became of it.
    pub outcome: Outcome,
    /// What it says, when matched.
    pub said: Option<Said>,
    /// What it answers, when matched.
    pub matched: Option<Matched>,
    /// Findings it moved to `acknowledged`.
    pub acknowledged: Vec<i64>,
    /// Findings it moved to `mitigation-claimed`.
    pub claimed_fixed: Vec<i64>,
    /// Findings it left as they were.
    pub unchanged: Vec<Unchanged>,
    /// Why: the claiming sentence, the doubt, what did not match, the auto-reply header,
    /// the read error.
    pub reason: Option<String>,
    /// Things an analyst should know ("from another address than the recipient …").
    pub flags: Vec<String>,
    /// The incident report stage it filed (`ORGANISATION/REFERENCE stage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_report: Option<String>,
}

impl Reply {
    fn new(place: String, outcome: Outcome) -> Self {
        Reply {
            place,
            message_id: None,
            from: None,
            subject: None,
            outcome,
            said: None,
            matched: None,
            acknowledged: Vec::new(),
            claimed_fixed: Vec::new(),
            unchanged: Vec::new(),
            reason: None,
            flags: Vec::new(),
            incident_report: None,
        }
    }
}

/// Counts over an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Messages read.
    pub read: u64,
    /// Replies applied (acknowledgements and claims of a fix).
    pub applied: u64,
    /// Replies acknowledged but unclear about a fix.
    pub unclear: u64,
    /// Replies that matched nothing.
    pub unmatched: u64,
    /// Automatic replies.
    pub auto_replies: u64,
    /// Messages that could not be read.
    pub unreadable: u64,
    /// Findings moved to `acknowledged`.
    pub acknowledged: u64,
    /// Findings moved to `mitigation-claimed`.
    pub claimed_fixed: u64,
    /// Findings a matched reply left as they were.
    pub unchanged: u64,
    /// Incident report stages filed.
    pub incident_reports: u64,
    /// Incident reports refused.
    pub reports_refused: u64,
}

impl Totals {
    /// Whether every message read is counted once.
    pub fn reconciles(&self) -> bool {
        self.read
            == self.applied
                + self.unclear
                + self.unmatched
                + self.auto_replies
                + self.unreadable
                + self.incident_reports
                + self.reports_refused
    }

    fn add(&mut self, reply: &Reply) {
        self.read += 1;
        match reply.outcome {
            Outcome::Applied => self.applied += 1,
            Outcome::Unclear => self.unclear += 1,
            Outcome::Unmatched => self.unmatched += 1,
            Outcome::AutoReply => self.auto_replies += 1,
            Outcome::Unreadable => self.unreadable += 1,
            Outcome::IncidentReport => self.incident_reports += 1,
            Outcome::ReportRefused => self.reports_refused += 1,
        }
        self.acknowledged += reply.acknowledged.len() as u64;
        self.claimed_fixed += reply.claimed_fixed.len() as u64;
        self.unchanged += reply.unchanged.len() as u64;
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Imported {
    /// Each message read, in the order read.
    pub replies: Vec<Reply>,
    /// Counts.
    pub totals: Totals,
}

/// Reads the replies at `paths` (each a Maildir, mbox, directory of `.eml` files or `.eml`
/// file) and applies them to `store`, as the module docs say. Every input is read before
/// anything is applied, so a path that cannot be read fails the import before it changes
/// anything; a single message that cannot be read is listed as unreadable.
///
/// A message that carries an incident report document (an attachment named `*.toml` or
/// `*.json`, or a body that is one; see [`crate::incident_reports::ReportDocument`]) files
/// that stage when it comes from a contact address of the organisation or of its CERT in
/// the registry, and is refused otherwise; it changes no finding.
pub fn import(
    store: &mut dyn Store,
    attributor: &Attributor,
    paths: &[PathBuf],
) -> Result<Imported, PipelineError> {
    let mut raws = Vec::new();
    for path in paths {
        raws.extend(read::messages(path)?);
    }
    let mut imported = Imported::default();
    for raw in raws {
        let reply = match raw.bytes {
            Ok(bytes) => one(store, attributor, raw.place, &bytes)?,
            Err(e) => {
                let mut r = Reply::new(raw.place, Outcome::Unreadable);
                r.reason = Some(format!("cannot be read: {e}"));
                r
            }
        };
        imported.totals.add(&reply);
        imported.replies.push(reply);
    }
    Ok(imported)
}

/// Reads and applies one message.
fn one(
    store: &mut dyn Store,
    attributor: &Attributor,
    place: String,
    bytes: &[u8],
) -> Result<Reply, PipelineError> {
    let Some(mail) = MessageParser::default()
        .parse(bytes)
        .filter(|m| !m.headers().is_empty())
    else {
        let mut r = Reply::new(place, Outcome::Unreadable);
        r.reason = Some("not a mail message (no headers)".into());
        return Ok(r);
    };
    let mut reply = Reply::new(place, Outcome::Unreadable);
    reply.subject = mail.subject().map(str::to_string);
    reply.message_id = mail.message_id().map(|id| format!("<{id}>"));
    reply.from = mail
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(|a| a.trim().to_ascii_lowercase());
    let Some(from) = reply.from.clone() else {
        reply.reason = Some("no From address".into());
        return Ok(reply);
    };
    let header = |name: &str| raw_header(&mail, name);

    if let Some(why) = auto_reply(&header, reply.subject.as_deref().unwrap_or("")) {
        reply.outcome = Outcome::AutoReply;
        reply.reason = Some(why);
        return Ok(reply);
    }

    if let Some((name, text)) = report_document(&mail) {
        file_report(store, attributor, &mut reply, &from, &name, &text)?;
        return Ok(reply);
    }

    let Some((matched, recipients)) = find_match(
        store,
        header("In-Reply-To").as_deref(),
        header("References").as_deref(),
        reply.subject.as_deref(),
    )?
    else {
        reply.outcome = Outcome::Unmatched;
        reply.reason = Some(
            "no In-Reply-To or References names a message of ours, and the subject holds no \
             ticket reference [baken#N] of a delivered message"
                .into(),
        );
        return Ok(reply);
    };
    let mut findings = BTreeSet::new();
    for key in &matched.messages {
        for f in store.message_findings(key)? {
            // a recipient told only counts has not been told of the finding itself
            if f.form != "aggregate" && f.form != "nothing" {
                findings.insert(f.finding);
            }
        }
    }
    if !recipients.contains(&from) {
        reply.flags.push(format!(
            "from another address than the recipient ({})",
            recipients.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }

    let body = mail
        .body_text(0)
        .map(|b| b.into_owned())
        .unwrap_or_default();
    let reading = claim::read(&body);
    let (to, note) = match &reading {
        Reading::Acknowledgement => {
            reply.outcome = Outcome::Applied;
            reply.said = Some(Said::Acknowledged);
            (FindingState::Acknowledged, None)
        }
        Reading::Fixed { phrase, sentence } => {
            reply.outcome = Outcome::Applied;
            reply.said = Some(Said::Fixed);
            let why = format!("claims a fix ('{phrase}'): \"{}\"", clip(sentence));
            reply.reason = Some(why.clone());
            (FindingState::MitigationClaimed, Some(why))
        }
        Reading::Unclear { sentence, .. } => {
            reply.outcome = Outcome::Unclear;
            reply.said = Some(Said::Acknowledged);
            let why = reading.reason().unwrap_or_default();
            reply.reason = Some(why.clone());
            (
                FindingState::Acknowledged,
                Some(format!(
                    "{why}; for an analyst to read: \"{}\"",
                    clip(sentence)
                )),
            )
        }
    };
    if findings.is_empty() {
        reply.reason = Some(match reply.reason.take() {
            Some(r) => format!("{r}; the message carried no findings specifically"),
            None => "the message carried no findings specifically (counts only)".into(),
        });
    }
    let reference = reply
        .message_id
        .clone()
        .unwrap_or_else(|| format!("sha256:{}", hex(&Sha256::digest(bytes)[..16])));

    // the latest delivery among the messages it answers: a finding reopened after that is a
    // new problem the reply cannot speak of
    let mut answered_at: Option<String> = None;
    for key in &matched.messages {
        if let Some(at) = store.message(key)?.and_then(|m| m.sent_at) {
            answered_at = Some(answered_at.map_or(at.clone(), |a: String| a.max(at)));
        }
    }
    let mut changes = Vec::new();
    for &finding in &findings {
        let history = store.transitions(finding)?;
        let recorded = history
            .iter()
            .find(|t| t.cause == Cause::Reply && t.reference.as_deref() == Some(&reference));
        let reopened_since = history.iter().rev().find(|t| {
            t.to == FindingState::Reopened
                && t.from != t.to
                && answered_at.as_ref().is_some_and(|at| t.at > *at)
        });
        match (recorded, reopened_since) {
            (Some(t), _) => reply.unchanged.push(Unchanged {
                finding,
                state: Some(t.to),
                why: "already recorded from this reply".into(),
            }),
            (None, Some(t)) => reply.unchanged.push(Unchanged {
                finding,
                state: Some(t.to),
                why: format!(
                    "reopened at {} after the message this reply answers: the reply speaks of \
                     the earlier problem",
                    t.at
                ),
            }),
            (None, None) => changes.push(Transition {
                finding,
                to: Some(to),
                cause: Cause::Reply,
                reference: Some(reference.clone()),
                by: Some(from.clone()),
                note: note.clone(),
            }),
        }
    }
    let outcomes = store.transition(&changes)?;
    for (change, outcome) in changes.iter().zip(outcomes) {
        match outcome {
            TransitionOutcome::Applied { .. } => match to {
                FindingState::MitigationClaimed => reply.claimed_fixed.push(change.finding),
                _ => reply.acknowledged.push(change.finding),
            },
            TransitionOutcome::Refused { from, why } => reply.unchanged.push(Unchanged {
                finding: change.finding,
                state: Some(from),
                why,
            }),
            TransitionOutcome::NoSuchFinding => reply.unchanged.push(Unchanged {
                finding: change.finding,
                state: None,
                why: "no such finding (pruned)".into(),
            }),
        }
    }
    reply.unchanged.sort_by_key(|u| u.finding);
    reply.matched = Some(matched);
    Ok(reply)
}

/// The first header called `name` (any case), unfolded and trimmed.
fn raw_header(mail: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    mail.headers_raw()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Why a message is an automatic reply, if it is one.
fn auto_reply(header: &dyn Fn(&str) -> Option<String>, subject: &str) -> Option<String> {
    if let Some(v) = header("Auto-Submitted") {
        let value = v
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if value != "no" {
            return Some(format!("Auto-Submitted: {v}"));
        }
    }
    for name in ["X-Autoreply", "X-Autorespond"] {
        if let Some(v) = header(name) {
            return Some(format!("{name}: {v}"));
        }
    }
    if let Some(v) = header("Precedence") {
        let value = v.trim().to_ascii_lowercase();
        if ["auto_reply", "bulk", "junk"].contains(&value.as_str()) {
            return Some(format!("Precedence: {v}"));
        }
    }
    if header("Content-Type")
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/report"))
    {
        return Some("a delivery report (multipart/report)".into());
    }
    let lower = subject.to_lowercase();
    const SUBJECTS: &[&str] = &[
        "out of office",
        "out-of-office",
        "automatic reply",
        "auto reply",
        "auto-reply",
        "autoreply",
        "auto:",
        "afwezig",
        "automatisch antwoord",
        "niet aanwezig",
        "buiten kantoor",
        "undeliverable",
        "delivery status notification",
        "mail delivery failed",
        "onbestelbaar",
    ];
    SUBJECTS
        .iter()
        .find(|s| lower.contains(*s))
        .map(|s| format!("an automatic reply by its subject ('{s}')"))
}

/// The message(s) a reply answers and their recipients (lower case), or `None`.
fn find_match(
    store: &dyn Store,
    in_reply_to: Option<&str>,
    references: Option<&str>,
    subject: Option<&str>,
) -> Result<Option<(Matched, BTreeSet<String>)>, PipelineError> {
    let by_id = [
        (MatchedBy::InReplyTo, message_ids(in_reply_to.unwrap_or(""))),
        (MatchedBy::References, {
            // the latest reference is the message answered
            let mut ids = message_ids(references.unwrap_or(""));
            ids.reverse();
            ids
        }),
    ];
    for (by, ids) in by_id {
        for id in ids {
            let Some(key) = id.split('@').next().filter(|k| !k.is_empty()) else {
                continue;
            };
            if let Some(m) = store.message(key)? {
                let recipients = BTreeSet::from([address(&m.recipient)]);
                return Ok(Some((
                    Matched {
                        by,
                        messages: vec![m.key],
                        ticket: m.ticket,
                        incident: m.incident,
                    },
                    recipients,
                )));
            }
        }
    }
    for ticket in tickets(subject.unwrap_or("")) {
        let delivered: Vec<_> = store
            .ticket_messages(ticket)?
            .into_iter()
            .filter(|m| m.state == MessageState::Sent)
            .collect();
        if let Some(first) = delivered.first() {
            return Ok(Some((
                Matched {
                    by: MatchedBy::Ticket,
                    messages: delivered.iter().map(|m| m.key.clone()).collect(),
                    ticket: Some(ticket),
                    incident: first.incident.clone(),
                },
                delivered.iter().map(|m| address(&m.recipient)).collect(),
            )));
        }
    }
    Ok(None)
}

/// The message ids in a header value (without angle brackets): each `<…>`, or, when there
/// are none, each word with an `@`.
fn message_ids(value: &str) -> Vec<String> {
    let mut ids: Vec<String> = value
        .split('<')
        .skip(1)
        .filter_map(|s| s.split_once('>'))
        .map(|(id, _)| id.trim().to_string())
        .filter(|id| !id.is_empty())
        .collect();
    if ids.is_empty() {
        ids = value
            .split_whitespace()
            .filter(|w| w.contains('@'))
            .map(str::to_string)
            .collect();
    }
    ids
}

/// The ticket numbers of `[baken#N]` references in a subject, in order.
fn tickets(subject: &str) -> Vec<i64> {
    subject
        .split("[baken#")
        .skip(1)
        .filter_map(|s| s.split_once(']'))
        .filter_map(|(n, _)| n.trim().parse().ok())
        .collect()
}

/// The address of `Name <addr>` or `addr`, in lower case.
fn address(mailbox: &str) -> String {
    let a = match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(i), Some(j)) if i < j => &mailbox[i + 1..j],
        _ => mailbox,
    };
    a.trim().to_ascii_lowercase()
}

fn clip(s: &str) -> String {
    const MAX: usize = 300;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The incident report document a message carries: an attachment named `*.toml` or `*.json`
/// that reads as one, else a body that does; with where it was found.
fn report_document(mail: &mail_parser::Message<'_>) -> Option<(String, String)> {
    for part in mail.attachments() {
        let Some(name) = part.attachment_name() else {
            continue;
        };
        let lower = name.to_ascii_lowercase();
        if !(lower.ends_with(".toml") || lower.ends_with(".json")) {
            continue;
        }
        let text = String::from_utf8_lossy(part.contents()).into_owned();
        if ReportDocument::parse(&text, name).is_ok() || looks_like_report(&text) {
            return Some((name.to_string(), text));
        }
    }
    let body = mail.body_text(0)?.into_owned();
    looks_like_report(&body).then(|| ("the body".to_string(), body))
}

/// Whether a text means to be a report document (so that a mistake in it is reported, not
/// taken for an ordinary reply): it names the organisation, the reference and the stage.
fn looks_like_report(text: &str) -> bool {
    ["organisation", "reference", "stage"]
        .iter()
        .all(|key| text.contains(key))
        && (text.trim_start().starts_with('{') || text.trim_start().starts_with("organisation"))
}

/// Files the report document `text` (found in `name`) sent by `from`, when `from` is a
/// contact of the organisation or of its CERT.
fn file_report(
    store: &mut dyn Store,
    attributor: &Attributor,
    reply: &mut Reply,
    from: &str,
    name: &str,
    text: &str,
) -> Result<(), PipelineError> {
    reply.outcome = Outcome::ReportRefused;
    let doc = match ReportDocument::parse(text, name) {
        Ok(doc) => doc,
        Err(e) => {
            reply.reason = Some(format!("an incident report that cannot be read: {e}"));
            return Ok(());
        }
    };
    let Some(org) = attributor.organisation(&OrgId(doc.organisation.clone())) else {
        reply.reason = Some(format!(
            "an incident report about {}, which is not in the registry",
            doc.organisation
        ));
        return Ok(());
    };
    let contact_of = |o: &baken_model::Organisation| {
        o.contacts
            .iter()
            .any(|c| c.email.eq_ignore_ascii_case(from))
    };
    let filer = if contact_of(org) {
        org.id.0.clone()
    } else if let Some(cert) = org
        .cert
        .as_deref()
        .and_then(|c| attributor.organisation(&OrgId(c.into())))
        .filter(|c| contact_of(c))
    {
        cert.id.0.clone()
    } else {
        reply.reason = Some(format!(
            "an incident report about {} from {from}, which is no contact address of it or of its CERT in the registry: nothing filed",
            doc.organisation
        ));
        return Ok(());
    };
    let now = chrono::DateTime::parse_from_rfc3339(&baken_store::now())
        .map(|t| t.to_utc())
        .unwrap_or_else(|_| chrono::Utc::now());
    match incident_reports::submit(
        store,
        attributor,
        &doc,
        &format!("{from} ({filer}, mail)"),
        now,
    ) {
        Ok((report, new)) => {
            reply.outcome = Outcome::IncidentReport;
            reply.incident_report = Some(format!(
                "{}/{} {}",
                report.organisation,
                report.reference,
                doc.stage.as_str()
            ));
            if !new {
                reply.reason = Some("the same document was filed before: nothing changed".into());
            }
        }
        Err(PipelineError::Usage(m)) => reply.reason = Some(m),
        Err(e) => return Err(e),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_read_with_or_without_brackets() {
        assert_eq!(
            message_ids("<a--1@ncsc.example> <b--2@ncsc.example>"),
            ["a--1@ncsc.example", "b--2@ncsc.example"]
        );
        assert_eq!(message_ids("a--1@ncsc.example"), ["a--1@ncsc.example"]);
        assert!(message_ids("").is_empty());
    }

    #[test]
    fn tickets_are_read_from_subjects() {
        assert_eq!(
            tickets("Re: [TLP:AMBER] [baken#12] CVE-2019-19781: 2 systems"),
            [12]
        );
        assert!(tickets("Re: [baken#x] nothing").is_empty());
    }

    #[test]
    fn auto_replies_are_told_by_header_and_subject() {
        let none = |_: &str| None;
        assert_eq!(auto_reply(&none, "Re: [baken#1] thanks"), None);
        assert!(auto_reply(&none, "Automatic reply: [baken#1]").is_some());
        assert!(auto_reply(&none, "Afwezig: Re: [baken#1]").is_some());
        let submitted = |n: &str| (n == "Auto-Submitted").then(|| "auto-replied".to_string());
        assert!(auto_reply(&submitted, "Re: x").is_some());
        let not_auto = |n: &str| (n == "Auto-Submitted").then(|| "no".to_string());
        assert_eq!(auto_reply(&not_auto, "Re: x"), None);
        let bulk = |n: &str| (n == "Precedence").then(|| "bulk".to_string());
        assert!(auto_reply(&bulk, "Re: x").is_some());
    }

    #[test]
    fn addresses_are_compared_in_lower_case() {
        assert_eq!(address("SOC <Soc@Alpha.example>"), "soc@alpha.example");
        assert_eq!(address("soc@alpha.example"), "soc@alpha.example");
    }
}
