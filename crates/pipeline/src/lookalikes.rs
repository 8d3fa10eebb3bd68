//! Lookalike domain names as findings: a flagged name becomes a finding of the `lookalike`
//! incident owned by the protected name's owner; a takedown request goes to the abuse desk of
//! its registrar (RDAP) and of the hoster its addresses are in (the registry, else RPSL),
//! each as the policy's `takedown-request` decision allows; a later check that finds the name
//! no longer resolving or serving closes the finding as taken down.
//!
//! What a check saw of a name is read in dnstwist's JSON field names (`domain`, `dns_a`,
//! `dns_aaaa`, `dns_ns`, `dns_mx`), as a JSON array (`dnstwist --format json`) or one object
//! a line, with two fields of baken's own: `http_status` (the status of a request to the
//! name, when one was made) and `time` (when it was seen, RFC 3339).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;

use baken_attribute::Attributor;
use baken_deliver::{OutgoingMessage, Transport, header};
use baken_model::{Attribution, Event, OrgId, Owner, Party, Rule, Tlp};
use baken_policy::{Decision, Form, Item, Policy, Provenance, Recipient, Role, decide};
use baken_store::audit::NewAuditEntry;
use baken_store::{
    Batch, Cause, FindingState, KeptChunk, Label, MessageFinding, MessageKind, MessageRecord,
    MessageState, Observed, RunSource, Store, TimelineStep, Transition, keys, now,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::PipelineError;

/// The incident lookalike findings belong to.
pub const INCIDENT: &str = "lookalike";

/// The form takedown requests are recorded with in a message's findings.
const TAKEDOWN_FORM: &str = "takedown-request";

/// A name a scan flagged, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flagged {
    /// The name (ASCII form).
    pub domain: String,
    /// Its Unicode form, for IDN names.
    pub unicode: Option<String>,
    /// The protected name it imitates.
    pub protected: String,
    /// The protected name's owner (a registry id), when known.
    pub owner: Option<String>,
    /// The rules that matched.
    pub kinds: Vec<String>,
    /// The crisis keywords in it.
    pub keywords: Vec<String>,
    /// How likely an imitation, 0–100.
    pub score: u32,
}

/// What a check saw of a name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sighting {
    /// The name.
    pub domain: String,
    /// IPv4 addresses it resolved to (texts that are no address, such as dnstwist's
    /// `!ServFail`, are left out when read).
    #[serde(default)]
    pub dns_a: Vec<String>,
    /// IPv6 addresses.
    #[serde(default)]
    pub dns_aaaa: Vec<String>,
    /// Name servers.
    #[serde(default)]
    pub dns_ns: Vec<String>,
    /// Mail exchangers.
    #[serde(default)]
    pub dns_mx: Vec<String>,
    /// The HTTP status a request to the name got, when one was made.
    #[serde(default)]
    pub http_status: Option<u16>,
    /// When it was seen (RFC 3339); the check's time when absent.
    #[serde(default)]
    pub time: Option<String>,
}

impl Sighting {
    /// The addresses it resolved to.
    pub fn addresses(&self) -> Vec<IpAddr> {
        self.dns_a
            .iter()
            .chain(&self.dns_aaaa)
            .filter_map(|a| a.parse().ok())
            .collect()
    }

    /// Whether the name still resolves to an address or answers HTTP.
    pub fn resolves(&self) -> bool {
        !self.addresses().is_empty() || self.http_status.is_some()
    }
}

/// Reads what a check saw: a JSON array or JSON lines of [`Sighting`]s. Errors name the file,
/// the line (or the array's element) and the field.
pub fn read_sightings(path: &Path) -> Result<Vec<Sighting>, PipelineError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(crate::io_error(path))?;
    let bad = |at: String, e: serde_json::Error| {
        PipelineError::Usage(format!(
            "{shown}:{at}: {e} (expected dnstwist's JSON: domain, dns_a, dns_aaaa, dns_ns, \
             dns_mx, and optionally http_status and time)"
        ))
    };
    let mut out: Vec<Sighting> = Vec::new();
    if text.trim_start().starts_with('[') {
        let values: Vec<serde_json::Value> =
            serde_json::from_str(&text).map_err(|e| bad(e.line().to_string(), e))?;
        for (i, v) in values.into_iter().enumerate() {
            out.push(serde_json::from_value(v).map_err(|e| bad(format!("element {}", i + 1), e))?);
        }
    } else {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            out.push(serde_json::from_str(line).map_err(|e| bad((i + 1).to_string(), e))?);
        }
    }
    for s in &mut out {
        s.domain = s.domain.trim().trim_end_matches('.').to_ascii_lowercase();
        if s.domain.is_empty() {
            return Err(PipelineError::Usage(format!(
                "{shown}: a sighting has an empty `domain`"
            )));
        }
        if let Some(t) = &s.time
            && keys::parse_time(t).is_none()
        {
            return Err(PipelineError::Usage(format!(
                "{shown}: {}: `time` {t:?} is not an RFC 3339 time",
                s.domain
            )));
        }
    }
    Ok(out)
}

/// What recording flagged names did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Recorded {
    /// Names recorded (new observations).
    pub stored: u64,
    /// Names already recorded with the same time.
    pub duplicate: u64,
    /// Names seen for the first time.
    pub new_findings: u64,
    /// Names taken down before and seen again.
    pub reopened: u64,
}

/// The event a flagged name is kept as.
fn event_of(flag: &Flagged, sighting: Option<&Sighting>, seen: &str, at: &str) -> Event {
    let mut e = Event::new();
    e.insert("classification.taxonomy", "fraud");
    e.insert("classification.type", "masquerade");
    e.insert("classification.identifier", INCIDENT);
    e.insert("feed.name", INCIDENT);
    e.insert("source.fqdn", flag.domain.clone());
    e.insert("time.source", seen.to_string());
    e.insert("time.observation", at.to_string());
    e.insert("extra.protected", flag.protected.clone());
    e.insert("extra.kinds", flag.kinds.join(","));
    e.insert("extra.score", serde_json::Value::from(flag.score));
    if let Some(u) = &flag.unicode {
        e.insert("extra.unicode", u.clone());
    }
    if !flag.keywords.is_empty() {
        e.insert("extra.keywords", flag.keywords.join(","));
    }
    if let Some(s) = sighting {
        let list = |v: &[String]| serde_json::Value::from(v.to_vec());
        let addresses: Vec<String> = s.addresses().iter().map(|a| a.to_string()).collect();
        if !addresses.is_empty() {
            e.insert("extra.dns_addresses", list(&addresses));
        }
        if !s.dns_ns.is_empty() {
            e.insert("extra.dns_ns", list(&s.dns_ns));
        }
        if !s.dns_mx.is_empty() {
            e.insert("extra.dns_mx", list(&s.dns_mx));
        }
        if let Some(status) = s.http_status {
            e.insert("extra.http_status", serde_json::Value::from(status));
        }
    }
    e
}

/// The flag a stored lookalike event records.
fn flag_of(event: &Event) -> Option<Flagged> {
    let list = |key: &str| -> Vec<String> {
        event
            .get_str(key)
            .map(|s| {
                s.split(',')
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    Some(Flagged {
        domain: event.get_str("source.fqdn")?.to_string(),
        unicode: event.get_str("extra.unicode").map(str::to_string),
        protected: event.get_str("extra.protected")?.to_string(),
        owner: None,
        kinds: list("extra.kinds"),
        keywords: list("extra.keywords"),
        score: event
            .get("extra.score")
            .and_then(|v| v.as_u64())
            .unwrap_or(0) as u32,
    })
}

/// The addresses a stored lookalike event says the name resolved to.
fn addresses_of(event: &Event) -> Vec<IpAddr> {
    event
        .get("extra.dns_addresses")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// Why a lookalike finding is its owner's.
pub fn reason(owner: &str, event: &Event) -> String {
    format!(
        "{} imitates {} ({}), a name protected for {owner}",
        event.get_str("source.fqdn").unwrap_or("-"),
        event.get_str("extra.protected").unwrap_or("-"),
        event.get_str("extra.kinds").unwrap_or("-"),
    )
}

/// Records flagged names as findings of the [`INCIDENT`], each owned by its protected name's
/// owner (nobody when the name has none or the owner is not in the registry), seen at the
/// sighting's time, else at `at`. `file` names the input in the store's runs.
pub fn record(
    store: &mut dyn Store,
    attributor: &Attributor,
    flagged: &[Flagged],
    sightings: &BTreeMap<String, Sighting>,
    file: &str,
    label: &Label,
    at: &str,
) -> Result<Recorded, PipelineError> {
    let mut events = Vec::with_capacity(flagged.len());
    for flag in flagged {
        let sighting = sightings.get(&flag.domain);
        let seen = sighting
            .and_then(|s| s.time.clone())
            .unwrap_or_else(|| at.to_string());
        let event = event_of(flag, sighting, &seen, at);
        let attribution = match &flag.owner {
            Some(o) if attributor.is_registered(&OrgId(o.clone())) => Attribution {
                owner: Owner::Organisation {
                    id: OrgId(o.clone()),
                },
                rule: Rule::Lookalike,
                reason: reason(o, &event),
            },
            Some(o) => Attribution::unknown(format!(
                "{} imitates {}, whose owner {o} is not in the registry",
                flag.domain, flag.protected
            )),
            None => Attribution::unknown(format!(
                "{} imitates {}, which names no owner",
                flag.domain, flag.protected
            )),
        };
        events.push((event, attribution));
    }
    let run = store.begin_run(
        file,
        &RunSource {
            feed: INCIDENT.into(),
            report: Some(INCIDENT.into()),
            ..RunSource::default()
        },
        label,
    )?;
    let incidents: std::sync::Arc<[String]> = vec![INCIDENT.to_string()].into();
    let observed: Vec<Observed> = events
        .iter()
        .enumerate()
        .map(|(i, (e, a))| Observed::of(e, i as u32, a, incidents.clone()))
        .collect();
    let list: Vec<&Event> = events.iter().map(|(e, _)| e).collect();
    let mut batch = Batch::default();
    if !list.is_empty() {
        batch.chunks.push(KeptChunk::events(1, &list, observed)?);
    }
    let counts = store.store_batch(run, &batch)?;
    store.finish_run(run, list.len() as u64, counts)?;
    store.add_step(&TimelineStep {
        incident: INCIDENT.into(),
        step: "lookalikes-recorded".into(),
        at: now(),
        detail: format!(
            "{file}: {} names, {} new findings, {} seen again after a takedown",
            list.len(),
            counts.new_findings,
            counts.reopened
        ),
    })?;
    Ok(Recorded {
        stored: counts.stored,
        duplicate: counts.duplicate,
        new_findings: counts.new_findings,
        reopened: counts.reopened,
    })
}

/// What a check of recorded names did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Recheck {
    /// Names that still resolve or serve: recorded again.
    pub still_up: Recorded,
    /// Findings closed as taken down, by id.
    pub taken_down: Vec<i64>,
    /// Names of the check that are no lookalike finding.
    pub not_recorded: Vec<String>,
}

/// Checks recorded lookalikes against what a check saw: a name still resolving or serving is
/// recorded again (a taken-down one so reopens); one that no longer does is closed as
/// `verified-fixed` with cause `taken-down`. Names the check does not mention are left as
/// they are.
pub fn recheck(
    store: &mut dyn Store,
    attributor: &Attributor,
    sightings: &[Sighting],
    file: &str,
    label: &Label,
    at: &str,
) -> Result<Recheck, PipelineError> {
    let findings = crate::findings::of_incident(store, attributor, INCIDENT)?;
    let by_domain: BTreeMap<&str, &baken_store::Finding> = findings
        .iter()
        .filter_map(|f| f.event.get_str("source.fqdn").map(|d| (d, f)))
        .collect();
    let mut out = Recheck::default();
    let mut again = Vec::new();
    let mut seen_again = BTreeMap::new();
    let mut changes = Vec::new();
    for s in sightings {
        let Some(f) = by_domain.get(s.domain.as_str()) else {
            out.not_recorded.push(s.domain.clone());
            continue;
        };
        if s.resolves() {
            if let Some(mut flag) = flag_of(&f.event) {
                if let Owner::Organisation { id } = &f.attribution.owner {
                    flag.owner = Some(id.0.clone());
                }
                again.push(flag);
                seen_again.insert(s.domain.clone(), s.clone());
            }
        } else if f.state != FindingState::VerifiedFixed {
            let when = s.time.clone().unwrap_or_else(|| at.to_string());
            changes.push(Transition {
                finding: f.id,
                to: Some(FindingState::VerifiedFixed),
                cause: Cause::TakenDown,
                reference: Some(file.to_string()),
                by: None,
                note: Some(format!(
                    "{} no longer resolves or serves (checked {when})",
                    s.domain
                )),
            });
            out.taken_down.push(f.id);
        }
    }
    store.transition(&changes)?;
    if !again.is_empty() {
        out.still_up = record(store, attributor, &again, &seen_again, file, label, at)?;
    }
    if !out.taken_down.is_empty() {
        store.add_step(&TimelineStep {
            incident: INCIDENT.into(),
            step: "lookalikes-taken-down".into(),
            at: now(),
            detail: format!(
                "{file}: {} names no longer resolve or serve",
                out.taken_down.len()
            ),
        })?;
    }
    Ok(out)
}

/// An abuse desk a takedown request may go to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Desk {
    /// The party (a registry id, or `rpsl-abuse:ADDRESS` for a desk known from RDAP or RPSL).
    pub party: String,
    /// Its name, for readers.
    pub name: String,
    /// The abuse mailbox.
    pub email: String,
    /// `registrar` or `hoster`.
    pub role: String,
    /// How it was found, e.g. `RDAP: registrar Example Registrar (IANA 9999)`.
    pub via: String,
}

/// The registrar's abuse desk of an RDAP domain answer (RFC 9083): the `abuse` entity under
/// the `registrar` entity, with its e-mail address, and when the name was registered.
pub fn registrar_desk(rdap: &serde_json::Value) -> (Option<Desk>, Option<String>) {
    let registered = rdap["events"].as_array().and_then(|events| {
        events
            .iter()
            .find(|e| e["eventAction"] == "registration")
            .and_then(|e| e["eventDate"].as_str())
            .map(str::to_string)
    });
    let has_role = |e: &serde_json::Value, role: &str| {
        e["roles"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == role))
    };
    let vcard = |e: &serde_json::Value, field: &str| -> Option<String> {
        e["vcardArray"][1].as_array()?.iter().find_map(|p| {
            (p[0] == field)
                .then(|| p[3].as_str().map(str::to_string))
                .flatten()
        })
    };
    let desk = rdap["entities"].as_array().and_then(|entities| {
        let registrar = entities.iter().find(|e| has_role(e, "registrar"))?;
        let name = vcard(registrar, "fn").unwrap_or_else(|| "the registrar".into());
        let iana = registrar["publicIds"].as_array().and_then(|ids| {
            ids.iter()
                .find_map(|i| i["identifier"].as_str().map(str::to_string))
        });
        let abuse = registrar["entities"]
            .as_array()?
            .iter()
            .find(|e| has_role(e, "abuse"))?;
        let email = vcard(abuse, "email")?.trim().to_ascii_lowercase();
        if !email.contains('@') {
            return None;
        }
        Some(Desk {
            party: Party::RegistryHoster {
                abuse: email.clone(),
            }
            .key(),
            name: format!("{name} (registrar)"),
            email,
            role: "registrar".into(),
            via: match iana {
                Some(id) => format!("RDAP: registrar {name} (IANA {id})"),
                None => format!("RDAP: registrar {name}"),
            },
        })
    });
    (desk, registered)
}

/// The hoster's abuse desk for an address: a registered hosting provider's abuse contact
/// (else its first contact), or the RPSL abuse mailbox of the network.
fn hoster_desk(attributor: &Attributor, address: IpAddr) -> Option<Desk> {
    let a = attributor.attribute(Some(address), None, None);
    match a.owner {
        Owner::Organisation { id } => {
            let org = attributor.organisation(&id)?;
            let contact = org
                .contacts
                .iter()
                .find(|c| c.role == baken_model::ContactRole::Abuse)
                .or_else(|| org.contacts.first())?;
            Some(Desk {
                party: org.id.0.clone(),
                name: org.name.clone(),
                email: contact.email.clone(),
                role: "hoster".into(),
                via: a.reason,
            })
        }
        Owner::Abuse(c) => Some(Desk {
            party: Party::RegistryHoster {
                abuse: c.email.clone(),
            }
            .key(),
            name: c.holder.clone().unwrap_or_else(|| c.email.clone()),
            email: c.email,
            role: "hoster".into(),
            via: c.via,
        }),
        Owner::Unknown => None,
    }
}

/// One takedown request: a lookalike finding, one desk, and the policy's decision.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedTakedown {
    /// The finding.
    pub finding: i64,
    /// The name.
    pub domain: String,
    /// The protected name it imitates.
    pub protected: String,
    /// The desk.
    pub desk: Desk,
    /// What the policy decided.
    pub decision: Decision,
    /// The message's idempotency key.
    pub key: String,
    /// The evidence the request carries, one line each.
    pub evidence: Vec<String>,
    /// The finding's TLP label.
    pub tlp: Tlp,
}

/// Where the RDAP answers are: `DIR/NAME.json` for each name.
pub fn read_rdap(dir: &Path, domain: &str) -> Result<Option<serde_json::Value>, PipelineError> {
    let path = dir.join(format!("{domain}.json"));
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(crate::io_error(&path))?;
    serde_json::from_str(&text).map(Some).map_err(|e| {
        PipelineError::Usage(format!(
            "{}:{}: not an RDAP answer: {e}",
            path.display(),
            e.line()
        ))
    })
}

/// The takedown requests for every open lookalike finding: for each, the registrar's desk
/// (from `rdap`, when given and it has an answer for the name) and the desk of the hoster of
/// each address it resolved to, each with the policy's `takedown-request` decision.
/// Findings taken down already get none.
pub fn plan_takedowns(
    store: &dyn Store,
    attributor: &Attributor,
    policy: &Policy,
    rdap: Option<&Path>,
    default_tlp: Tlp,
) -> Result<Vec<PlannedTakedown>, PipelineError> {
    let findings = crate::findings::of_incident(store, attributor, INCIDENT)?;
    let mut out = Vec::new();
    for f in findings {
        if f.state == FindingState::VerifiedFixed {
            continue;
        }
        let Some(domain) = f.event.get_str("source.fqdn").map(str::to_string) else {
            continue;
        };
        let protected = f
            .event
            .get_str("extra.protected")
            .unwrap_or("-")
            .to_string();
        let mut desks = Vec::new();
        let mut registered = None;
        if let Some(dir) = rdap
            && let Some(answer) = read_rdap(dir, &domain)?
        {
            let (desk, when) = registrar_desk(&answer);
            registered = when;
            desks.extend(desk);
        }
        let addresses = addresses_of(&f.event);
        for a in &addresses {
            desks.extend(hoster_desk(attributor, *a));
        }
        let mut seen = BTreeSet::new();
        desks.retain(|d| seen.insert(d.email.clone()));
        let tlp = f.tlp.unwrap_or(default_tlp);
        let subject = match &f.attribution.owner {
            Owner::Organisation { id } => attributor.organisation(id),
            _ => None,
        };
        let item = Item::takedown_request(
            subject,
            tlp,
            Provenance {
                source: f.provenance.to_string(),
                supplied_by: None,
            },
        );
        let mut evidence = vec![
            format!("name: {domain}"),
            format!(
                "imitates: {protected} ({})",
                f.event.get_str("extra.kinds").unwrap_or("-")
            ),
            format!("first seen: {}", keys::format_time(f.first_seen)),
            format!("last seen: {}", keys::format_time(f.last_seen)),
        ];
        if let Some(u) = f.event.get_str("extra.unicode") {
            evidence.push(format!("shown as: {u}"));
        }
        if let Some(r) = &registered {
            evidence.push(format!("registered: {r}"));
        }
        if !addresses.is_empty() {
            let list: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
            evidence.push(format!("resolves to: {}", list.join(", ")));
        }
        for (key, what) in [("extra.dns_ns", "name servers"), ("extra.dns_mx", "mail")] {
            if let Some(list) = f.event.get(key).and_then(|v| v.as_array()) {
                let list: Vec<&str> = list.iter().filter_map(|x| x.as_str()).collect();
                evidence.push(format!("{what}: {}", list.join(", ")));
            }
        }
        if let Some(status) = f.event.get("extra.http_status") {
            evidence.push(format!("HTTP status: {status}"));
        }
        for desk in desks {
            let recipient = desk_recipient(policy, attributor, &desk);
            let decision = decide(policy, &item, &recipient);
            out.push(PlannedTakedown {
                finding: f.id,
                domain: domain.clone(),
                protected: protected.clone(),
                key: takedown_key(f.id, &desk.email),
                desk,
                decision,
                evidence: evidence.clone(),
                tlp,
            });
        }
    }
    Ok(out)
}

/// The recipient a desk is to the policy: a registered party with its roles, else a hoster.
fn desk_recipient(policy: &Policy, attributor: &Attributor, desk: &Desk) -> Recipient {
    if let Some(org) = attributor.organisation(&OrgId(desk.party.clone())) {
        return Recipient::new(policy, org);
    }
    Recipient {
        id: OrgId(desk.party.clone()),
        name: desk.name.clone(),
        roles: vec![Role::Hoster],
        constituency: BTreeSet::new(),
        supervised: BTreeSet::new(),
    }
}

/// The idempotency key of the takedown request for `finding` to `email`: the same request is
/// never sent twice.
pub fn takedown_key(finding: i64, email: &str) -> String {
    let hash = Sha256::digest(format!("{finding}\0{email}").as_bytes());
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("takedown--{finding}--{hex}")
}

/// What became of one takedown request.
#[derive(Debug, Clone, Serialize)]
pub struct TakedownOutcome {
    /// The request as planned.
    #[serde(flatten)]
    pub request: PlannedTakedown,
    /// `sent`, `already-sent`, `withheld` (the policy gives nothing), `failed` or `pending`
    /// (a transient failure: the next run tries again).
    pub outcome: String,
    /// Where it went, or why not.
    pub detail: String,
}

/// Sends the planned requests the policy allows, each once, recording each as a message of
/// the [`INCIDENT`] and in the audit log, signed with `signer` when given (OpenPGP/MIME);
/// requests the policy withholds are only reported.
pub fn send_takedowns(
    store: &mut dyn Store,
    transport: &mut dyn Transport,
    planned: Vec<PlannedTakedown>,
    from: &str,
    signer: Option<&std::sync::Arc<baken_deliver::SigningKey>>,
) -> Result<Vec<TakedownOutcome>, PipelineError> {
    let mut out = Vec::with_capacity(planned.len());
    for request in planned {
        if request.decision.form == Form::Nothing {
            let detail = request.decision.explanation.clone();
            out.push(TakedownOutcome {
                request,
                outcome: "withheld".into(),
                detail,
            });
            continue;
        }
        if let Some(m) = store.message(&request.key)?
            && matches!(m.state, MessageState::Sent | MessageState::Failed)
        {
            let outcome = if m.state == MessageState::Sent {
                "already-sent"
            } else {
                "failed"
            };
            out.push(TakedownOutcome {
                request,
                outcome: outcome.into(),
                detail: m.detail.unwrap_or_default(),
            });
            continue;
        }
        let ticket = store.ticket(INCIDENT, &request.desk.party)?;
        store.record_message(
            &MessageRecord {
                key: request.key.clone(),
                ticket: Some(ticket),
                round: 1,
                kind: MessageKind::Takedown,
                incident: INCIDENT.into(),
                recipient: request.desk.email.clone(),
                party: request.desk.party.clone(),
                path: "hoster".into(),
                findings: 1,
                state: MessageState::Pending,
                detail: None,
                created_at: now(),
                sent_at: None,
            },
            &[MessageFinding {
                finding: request.finding,
                form: TAKEDOWN_FORM.into(),
            }],
        )?;
        let mut message = compose(&request, from, ticket);
        message.openpgp = signer.map(|s| baken_deliver::OpenPgp {
            signer: s.clone(),
            encrypt_to: None,
        });
        store.set_message_state(&request.key, MessageState::Sending, &transport.describe())?;
        let delivered = transport.deliver(&message);
        store.append_audit(&[NewAuditEntry {
            kind: if delivered.is_ok() {
                "delivery"
            } else {
                "delivery-failed"
            }
            .into(),
            subject: request.key.clone(),
            body: serde_json::json!({
                "incident": INCIDENT,
                "kind": MessageKind::Takedown.as_str(),
                "recipient": request.desk.party,
                "address": request.desk.email,
                "desk": request.desk.role,
                "via": request.desk.via,
                "findings": [request.finding],
                "domain": request.domain,
                "tlp": request.tlp,
                "rule": request.decision.rule,
                "decision": request.decision.explanation,
                "result": match &delivered {
                    Ok(r) => serde_json::json!({"message_id": r.message_id, "destination": r.destination}),
                    Err(e) => serde_json::json!({"error": e.to_string(), "permanent": e.is_permanent()}),
                },
            }).to_string(),
        }])?;
        let (outcome, detail) = match delivered {
            Ok(r) => {
                store.set_message_state(&request.key, MessageState::Sent, &r.destination)?;
                store.add_step(&TimelineStep {
                    incident: INCIDENT.into(),
                    step: "takedown-requested".into(),
                    at: now(),
                    detail: format!(
                        "{} to {} <{}>",
                        request.domain, request.desk.name, request.desk.email
                    ),
                })?;
                ("sent", r.destination)
            }
            Err(e) if e.is_permanent() => {
                store.set_message_state(&request.key, MessageState::Failed, &e.to_string())?;
                ("failed", e.to_string())
            }
            Err(e) => {
                store.set_message_state(&request.key, MessageState::Pending, &e.to_string())?;
                ("pending", e.to_string())
            }
        };
        out.push(TakedownOutcome {
            request,
            outcome: outcome.into(),
            detail,
        });
    }
    Ok(out)
}

/// The takedown request as a mail.
fn compose(request: &PlannedTakedown, from: &str, ticket: i64) -> OutgoingMessage {
    let role = &request.desk.role;
    let mut text = format!(
        "Dear {} abuse desk,\n\n\
         The domain name {} imitates {}, a name we protect for the organisation that holds it. \
         As its {role}, please take it down, or tell us why you cannot.\n\n\
         What we saw:\n",
        request.desk.name, request.domain, request.protected
    );
    for line in &request.evidence {
        text.push_str("  ");
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&format!(
        "\nWe reached you as: {}.\n\
         This request is {} ({}).\n\
         Please keep the reference [lookalike #{ticket}] in the subject of your reply.\n",
        request.desk.via, request.tlp, request.decision.explanation
    ));
    OutgoingMessage {
        key: request.key.clone(),
        from: from.to_string(),
        to: vec![request.desk.email.clone()],
        subject: format!(
            "[{}] [lookalike #{ticket}] Takedown request: {} imitates {}",
            request.tlp, request.domain, request.protected
        ),
        text,
        attachments: Vec::new(),
        openpgp: None,
        headers: vec![header::tlp(request.tlp), header::incident(INCIDENT)],
        date: None,
    }
}
