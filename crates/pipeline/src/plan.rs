//! The disclosure plan of an incident under a sharing policy: for every affected party, who
//! may be told what, in which form, and why — before anything is sent.
//!
//! Findings are grouped by the organisation they are about (their *subject*). Addresses that
//! nobody registered but that sit in a hosting provider's network (found through RPSL) get a
//! stand-in subject, "unregistered holders in that provider's network": non-vital, no CERT.
//! Each subject's finding is routed with [`baken_policy::route`] (owner, CERT, DTC, hoster,
//! supervisor), and the steps are regrouped by recipient into digests (full or own-assets
//! forms) and aggregates. A step that may inform but whose recipient has no contact address
//! does not count as reaching the subject. `notify` delivers a plan; `why`, `whatif` and
//! `coverage` only read it.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use crate::PipelineError;
use baken_attribute::Attributor;
use baken_model::{Contact, ContactRole, OrgId, OrgKind, Organisation, Owner, Party, Tlp};
use baken_policy::{
    Decision, Form, Item, Path, Policy, Provenance, Reach, RegistryView, RouteStep, route,
};
use baken_store::{Finding, FindingState};
use serde::{Deserialize, Serialize};

/// How an affected party fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// Told something specific along these paths.
    Reached {
        /// The paths (direct, cert, dtc, hoster).
        paths: Vec<Path>,
    },
    /// Nobody can tell it anything specific.
    Unreachable {
        /// Why; [`Affected::unreachable_reason`] gives it as text.
        reason: Reason,
    },
}

/// Why a party is unreachable, shared by the parties unreachable for the same reason: a
/// national incident has hundreds of thousands of them, and their reasons name the party
/// itself (`direct org-17 may get …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The text with [`PARTY`] where it names the party, which [`Reason::text`] puts back.
    Shared(Arc<str>),
    /// The text as it is.
    Verbatim(Arc<str>),
}

/// What stands for the party in a [`Reason::Shared`]: a control character, which no
/// organisation id, name or policy text holds (a reason that does is kept verbatim).
const PARTY: char = '\u{1}';

impl Reason {
    /// A reason as it is.
    pub fn verbatim(text: impl Into<Arc<str>>) -> Self {
        Reason::Verbatim(text.into())
    }

    /// The text of the reason a party whose id is `party` has.
    pub fn text(&self, party: &str) -> Cow<'_, str> {
        match self {
            Reason::Shared(t) if t.contains(PARTY) => Cow::Owned(t.replace(PARTY, party)),
            Reason::Shared(t) | Reason::Verbatim(t) => Cow::Borrowed(t),
        }
    }
}

/// One affected party.
#[derive(Debug, Clone)]
pub struct Affected {
    /// Who it is: a registry entry, the unregistered holders behind a hoster, or an address
    /// nobody holds (serialised as its key).
    pub id: Party,
    /// Its name.
    pub name: String,
    /// Its sector.
    pub sector: Option<String>,
    /// Whether it is a vital provider.
    pub vital: bool,
    /// Whether it is in the registry.
    pub registered: bool,
    /// Number of findings.
    pub findings: usize,
    /// Reached or not.
    pub coverage: Coverage,
}

impl Affected {
    /// Why it is unreachable, as text; `None` when it was reached.
    pub fn unreachable_reason(&self) -> Option<Cow<'_, str>> {
        match &self.coverage {
            Coverage::Unreachable { reason } => Some(reason.text(&self.id.org_id().0)),
            Coverage::Reached { .. } => None,
        }
    }
}

impl Serialize for Affected {
    /// As its fields, the coverage as `{"status": "reached", "paths": […]}` or
    /// `{"status": "unreachable", "reason": "…"}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(tag = "status", rename_all = "kebab-case")]
        enum CoverageJson<'a> {
            Reached { paths: &'a [Path] },
            Unreachable { reason: Cow<'a, str> },
        }
        #[derive(Serialize)]
        struct AffectedJson<'a> {
            id: &'a Party,
            name: &'a str,
            sector: &'a Option<String>,
            vital: bool,
            registered: bool,
            findings: usize,
            coverage: CoverageJson<'a>,
        }
        let coverage = match &self.coverage {
            Coverage::Reached { paths } => CoverageJson::Reached { paths },
            Coverage::Unreachable { .. } => CoverageJson::Unreachable {
                reason: self.unreachable_reason().unwrap_or_default(),
            },
        };
        AffectedJson {
            id: &self.id,
            name: &self.name,
            sector: &self.sector,
            vital: self.vital,
            registered: self.registered,
            findings: self.findings,
            coverage,
        }
        .serialize(s)
    }
}

/// One decision of the plan: a recipient considered for a subject's finding.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedDecision {
    /// The subject.
    pub subject: Party,
    /// The recipient.
    pub recipient: Party,
    /// How the recipient relates to the subject.
    pub path: Path,
    /// The decision (form, rule, role, TLP, legal basis, explanation).
    pub decision: Decision,
    /// The addresses that may go to the recipient.
    pub addresses: Vec<IpAddr>,
    /// Where it goes, or why it cannot (no contact address); serialised as
    /// `{"address": …}` or `{"missing": why}`.
    #[serde(serialize_with = "contact_json")]
    pub contact: Result<String, String>,
    /// Where the contact was learnt when not from the registry file, e.g. `security.txt
    /// https://zorg.example/.well-known/security.txt, read 2026-03-01T06:00:00Z, until
    /// 2027-01-01T00:00:00Z`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_source: Option<String>,
}

fn contact_json<S: serde::Serializer>(
    contact: &Result<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(1))?;
    match contact {
        Ok(address) => map.serialize_entry("address", address)?,
        Err(why) => map.serialize_entry("missing", why)?,
    }
    map.end()
}

/// What one recipient gets about one subject.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DigestPart {
    /// The subject.
    pub subject: Party,
    /// The subject's name.
    pub subject_name: String,
    /// The findings that may go out (only the allowed addresses), shared with the other
    /// parts that carry them.
    pub findings: Vec<Arc<Finding>>,
    /// Why.
    pub decision: Decision,
    /// The path.
    pub path: Path,
}

/// A finding counted in an aggregate: what deciding whether it was told needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    /// Store id.
    pub id: i64,
    /// Its lifecycle state.
    pub state: FindingState,
    /// First `time.source` seen (Unix seconds).
    pub first_seen: i64,
    /// Last `time.source` seen (Unix seconds).
    pub last_seen: i64,
}

impl From<&Finding> for Counted {
    fn from(f: &Finding) -> Self {
        Self {
            id: f.id,
            state: f.state,
            first_seen: f.first_seen,
            last_seen: f.last_seen,
        }
    }
}

/// A subject as an aggregate counts it: its sector, its id and its findings.
pub type Aggregated = (Option<String>, OrgId, Vec<Counted>);

/// One message to one recipient: specific findings, or an aggregate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedDigest {
    /// The recipient organisation.
    pub recipient: Organisation,
    /// Its address.
    pub email: String,
    /// The specific parts (one per subject).
    pub parts: Vec<DigestPart>,
    /// Subjects it gets only as counts: (sector, subject id, the findings counted), shared
    /// by the recipients that get the same subject's (its CERT, the DTC).
    pub aggregate: Vec<Arc<Aggregated>>,
    /// The most restrictive TLP label of what it carries: the message's label.
    pub tlp: Tlp,
}

impl PlannedDigest {
    /// Whether it tells its recipient of its own findings only (and says why they are its).
    pub fn is_own(&self) -> bool {
        self.parts.iter().any(|p| !p.findings.is_empty())
            && self.parts.iter().all(|p| {
                p.path == Path::Direct && p.subject.registered() == Some(&self.recipient.id)
            })
    }
}

/// The plan of one incident.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The incident.
    pub incident: String,
    /// The policy's name.
    pub policy: String,
    /// Every affected party.
    pub affected: Vec<Affected>,
    /// Every decision, in subject order.
    pub decisions: Vec<PlannedDecision>,
    /// The messages to send, by recipient id.
    pub digests: BTreeMap<String, PlannedDigest>,
}

impl Plan {
    /// Counts for `coverage`: affected, reached, unreachable, and reached parties per path.
    pub fn counts(&self) -> (usize, usize, usize, BTreeMap<String, usize>) {
        let mut by_path: BTreeMap<String, usize> = BTreeMap::new();
        let mut reached = 0;
        for a in &self.affected {
            if let Coverage::Reached { paths } = &a.coverage {
                reached += 1;
                for p in paths {
                    *by_path.entry(p.as_str().to_string()).or_default() += 1;
                }
            }
        }
        (
            self.affected.len(),
            reached,
            self.affected.len() - reached,
            by_path,
        )
    }
}

struct View<'a> {
    attributor: &'a Attributor,
    extra: HashMap<OrgId, Organisation>,
    hoster_by_address: HashMap<IpAddr, OrgId>,
    dtc: Option<OrgId>,
}

impl View<'_> {
    /// The organisation a plan is about, decoded for it alone: each is about one of them once,
    /// and a national incident's hundreds of thousands would otherwise all be kept decoded.
    fn subject(&self, id: &OrgId) -> Option<Organisation> {
        match self.extra.get(id) {
            Some(org) => Some(org.clone()),
            None => self.attributor.organisation_once(id).map(Cow::into_owned),
        }
    }
}

/// The registry as [`route`] sees it while routing one subject: that subject as decoded for
/// it, everybody else (CERTs, the DTC, hosters, supervisors: few, asked for again and again)
/// from the [`View`].
struct WithSubject<'a> {
    view: &'a View<'a>,
    subject: &'a Organisation,
}

impl RegistryView for WithSubject<'_> {
    fn organisation(&self, id: &OrgId) -> Option<&Organisation> {
        if *id == self.subject.id {
            Some(self.subject)
        } else {
            self.view.organisation(id)
        }
    }

    fn hoster_of(&self, address: IpAddr) -> Option<&Organisation> {
        self.organisation(self.view.hoster_by_address.get(&address)?)
    }

    fn dtc(&self) -> Option<&Organisation> {
        self.organisation(self.view.dtc.as_ref()?)
    }
}

impl RegistryView for View<'_> {
    fn organisation(&self, id: &OrgId) -> Option<&Organisation> {
        self.extra
            .get(id)
            .or_else(|| self.attributor.organisation(id))
    }

    fn hoster_of(&self, address: IpAddr) -> Option<&Organisation> {
        self.organisation(self.hoster_by_address.get(&address)?)
    }

    fn dtc(&self) -> Option<&Organisation> {
        self.organisation(self.dtc.as_ref()?)
    }
}

/// Builds the plan of `incident` from its stored findings; `tlp` labels findings that came in
/// without one; `named` are the recipients the source named, the only ones TLP:RED findings
/// may go to.
pub fn plan(
    policy: &Policy,
    attributor: &Attributor,
    incident: &str,
    findings: Vec<Finding>,
    tlp: Tlp,
    named: &[OrgId],
) -> Plan {
    let mut decisions = Vec::new();
    let mut keep = |d| {
        decisions.push(d);
        Ok(())
    };
    let built = build(
        policy,
        attributor,
        incident,
        findings,
        tlp,
        named,
        Some(&mut keep),
    );
    let mut plan = built.expect("keeping a decision cannot fail");
    // held while the messages are delivered: no room to spare
    decisions.shrink_to_fit();
    plan.decisions = decisions;
    plan
}

/// [`plan`], each decision handed to `decided` as it is made instead of kept in the plan
/// (whose `decisions` stay empty): a national notification audits its decisions a batch at
/// a time without holding them all. An error of `decided` ends the plan.
pub fn plan_deciding(
    policy: &Policy,
    attributor: &Attributor,
    incident: &str,
    findings: Vec<Finding>,
    tlp: Tlp,
    named: &[OrgId],
    decided: &mut dyn FnMut(PlannedDecision) -> Result<(), PipelineError>,
) -> Result<Plan, PipelineError> {
    build(
        policy,
        attributor,
        incident,
        findings,
        tlp,
        named,
        Some(decided),
    )
}

/// The affected parties of [`plan`] and how they fare, without its decisions and digests:
/// what comparing policies needs, at a fraction of the memory. The findings need only their
/// addresses and host names ([`crate::findings::EventFields::Address`]).
pub fn reach(
    policy: &Policy,
    attributor: &Attributor,
    incident: &str,
    findings: Vec<Finding>,
    tlp: Tlp,
    named: &[OrgId],
) -> Vec<Affected> {
    build(policy, attributor, incident, findings, tlp, named, None)
        .expect("a plan without decisions cannot fail")
        .affected
}

/// The plan, its decisions handed to `decided`; without it only who is affected and how
/// they fare (`digests` stay empty too). `decisions` are left empty either way.
fn build(
    policy: &Policy,
    attributor: &Attributor,
    incident: &str,
    findings: Vec<Finding>,
    tlp: Tlp,
    named: &[OrgId],
    mut decided: Option<&mut dyn FnMut(PlannedDecision) -> Result<(), PipelineError>>,
) -> Result<Plan, PipelineError> {
    let messages = decided.is_some();
    // contacts past their expiry (a security.txt's `Expires`) are not used; the store's clock
    let now = chrono::DateTime::parse_from_rfc3339(&baken_store::now())
        .map_or_else(|_| chrono::Utc::now(), |t| t.with_timezone(&chrono::Utc));
    // Registered hosters by their abuse (or any) contact address, to recognise them in RPSL.
    let mut hoster_by_email: HashMap<String, OrgId> = HashMap::new();
    let mut dtc = None;
    for org in attributor.organisations_of_kinds(&[OrgKind::Hoster, OrgKind::Dtc]) {
        match org.kind {
            OrgKind::Hoster => {
                for c in &org.contacts {
                    hoster_by_email
                        .entry(c.email.to_ascii_lowercase())
                        .or_insert_with(|| org.id.clone());
                }
            }
            OrgKind::Dtc if dtc.is_none() => dtc = Some(org.id.clone()),
            _ => {}
        }
    }
    let mut view = View {
        attributor,
        extra: HashMap::new(),
        hoster_by_address: HashMap::new(),
        dtc,
    };

    let mut reasons = Reasons::default();
    let mut subjects: BTreeMap<Party, Vec<Arc<Finding>>> = BTreeMap::new();
    let mut affected = Vec::new();
    let mut nobody: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for f in findings {
        let ip = f.event.source_ip();
        // Which hosting provider holds the address, from public registry data.
        if let Some(ip) = ip
            && let Some(contact) = attributor.registry_abuse(ip)
        {
            let id = hoster_by_email
                .get(&contact.email.to_ascii_lowercase())
                .cloned()
                .unwrap_or_else(|| {
                    let id = Party::RegistryHoster {
                        abuse: contact.email.clone(),
                    }
                    .org_id();
                    view.extra.entry(id.clone()).or_insert_with(|| {
                        let name = contact
                            .holder
                            .clone()
                            .unwrap_or_else(|| contact.email.clone());
                        let mut hoster = stand_in(&id, name, OrgKind::Hoster);
                        hoster.contacts.push(Contact {
                            email: contact.email.clone(),
                            role: ContactRole::Abuse,
                            ..Default::default()
                        });
                        hoster
                    });
                    id
                });
            view.hoster_by_address.insert(ip, id);
        }
        match &f.attribution.owner {
            Owner::Organisation { id } => subjects
                .entry(Party::Registered(id.clone()))
                .or_default()
                .push(Arc::new(f)),
            Owner::Abuse(contact) => {
                let party = Party::UnregisteredHolders {
                    abuse: contact.email.clone(),
                };
                let id = party.org_id();
                view.extra.entry(id).or_insert_with(|| {
                    let name = format!(
                        "unregistered holders of addresses in {}",
                        contact.holder.as_deref().unwrap_or(&contact.email)
                    );
                    stand_in(&party.org_id(), name, OrgKind::Organisation)
                });
                subjects.entry(party).or_default().push(Arc::new(f));
            }
            Owner::Unknown => {
                let party = ip
                    .map(|i| i.to_string())
                    .or_else(|| f.event.source_domain().map(str::to_string))
                    .unwrap_or_else(|| format!("event {}", f.id));
                let e = nobody
                    .entry(party)
                    .or_insert((0, f.attribution.reason.clone()));
                e.0 += 1;
            }
        }
    }

    let mut digests: BTreeMap<String, PlannedDigest> = BTreeMap::new();
    let mut digest_tlp: HashMap<String, Tlp> = HashMap::new();
    // held while the messages are delivered: made at its size, never grown by doubling
    affected.reserve_exact(subjects.len() + nobody.len());
    for (subject_id, subject_findings) in &subjects {
        let Some(subject) = view.subject(&subject_id.org_id()) else {
            affected.push(Affected {
                id: subject_id.clone(),
                name: subject_id.to_string(),
                sector: None,
                vital: false,
                registered: false,
                findings: subject_findings.len(),
                coverage: Coverage::Unreachable {
                    reason: Reason::verbatim(format!("{subject_id} is no longer in the registry")),
                },
            });
            continue;
        };
        // The item carries the most restrictive label of its findings, and where they came from.
        let item_tlp = subject_findings
            .iter()
            .map(|f| f.tlp.unwrap_or(tlp))
            .max()
            .unwrap_or(tlp);
        let sources: BTreeSet<&str> = subject_findings.iter().map(|f| &*f.provenance).collect();
        let provenance = Provenance {
            source: format!(
                "{incident}: {}",
                sources.into_iter().collect::<Vec<_>>().join("; ")
            ),
            supplied_by: None,
        };
        let mut item = Item::finding(
            &subject,
            item_tlp,
            provenance,
            subject_findings.iter().filter_map(|f| f.event.source_ip()),
        );
        item.named_recipients = named.to_vec();
        let view = WithSubject {
            view: &view,
            subject: &subject,
        };
        let routed = route(policy, &item, &view);
        let mut told: Vec<Path> = Vec::new();
        let mut silent: Vec<String> = Vec::new();
        // the subject as aggregates count it, made for the first recipient of one
        let mut counted: Option<Arc<Aggregated>> = None;
        for step in &routed.steps {
            let recipient = view.organisation(&step.recipient).cloned();
            let chosen = recipient
                .as_ref()
                .and_then(|r| r.notification_contact_at(now));
            let contact = match chosen {
                Some(c) => Ok(c.email.clone()),
                None => Err(format!("{} has no contact address", step.recipient)),
            };
            if let Some(decided) = decided.as_mut() {
                let source = chosen.and_then(contact_source);
                decided(planned(subject_id, step, contact.clone(), source))?;
            }
            let (Some(recipient), Ok(email)) = (recipient, contact.clone()) else {
                if step.informs {
                    silent.push(format!(
                        "{} {} may be told but has no contact address",
                        step.path, step.recipient
                    ));
                }
                continue;
            };
            if !messages {
                // told when some of its findings may go out in full or as its own
                if step.informs && matches!(step.decision.form, Form::Full | Form::OwnAssets) {
                    let (allowed, whole) = narrowing(step, &subject);
                    if subject_findings.iter().any(|f| goes(f, &allowed, whole)) {
                        told.push(step.path);
                    }
                }
                continue;
            }
            if matches!(
                step.decision.form,
                Form::Full | Form::OwnAssets | Form::Aggregate
            ) {
                let t = digest_tlp
                    .entry(recipient.id.0.clone())
                    .or_insert(Tlp::Clear);
                *t = (*t).max(step.decision.tlp);
            }
            // made when something goes in: most steps of a national incident give nothing
            // (a non-vital organisation's own, under a policy that tells it through others)
            let digest = || {
                digests
                    .entry(recipient.id.0.clone())
                    .or_insert_with(|| PlannedDigest {
                        recipient: recipient.clone(),
                        email,
                        parts: Vec::new(),
                        aggregate: Vec::new(),
                        tlp: Tlp::Clear,
                    })
            };
            match step.decision.form {
                Form::Full | Form::OwnAssets => {
                    let (allowed, whole) = narrowing(step, &subject);
                    let findings: Vec<Arc<Finding>> = subject_findings
                        .iter()
                        .filter(|f| goes(f, &allowed, whole))
                        .cloned()
                        .collect();
                    if !findings.is_empty() {
                        digest().parts.push(DigestPart {
                            subject: subject_id.clone(),
                            subject_name: subject.name.clone(),
                            findings,
                            decision: step.decision.clone(),
                            path: step.path,
                        });
                        if step.informs {
                            told.push(step.path);
                        }
                    }
                }
                Form::Aggregate => {
                    let counted = counted.get_or_insert_with(|| {
                        Arc::new((
                            subject.sector.clone(),
                            subject.id.clone(),
                            subject_findings
                                .iter()
                                .map(|f| Counted::from(&**f))
                                .collect(),
                        ))
                    });
                    digest().aggregate.push(counted.clone())
                }
                _ => {}
            }
        }
        told.sort();
        told.dedup();
        let coverage = if told.is_empty() {
            let mut reason = match &routed.reach {
                Reach::Unreachable(r) => r.clone(),
                Reach::Reached(_) => String::new(),
            };
            for s in silent {
                if !reason.is_empty() {
                    reason.push_str("; ");
                }
                reason.push_str(&s);
            }
            Coverage::Unreachable {
                reason: reasons.shared(reason, &subject.id.0),
            }
        } else {
            Coverage::Reached { paths: told }
        };
        affected.push(Affected {
            id: subject_id.clone(),
            name: subject.name.clone(),
            sector: subject.sector.clone(),
            vital: subject.vital,
            registered: !subject_id.is_stand_in(),
            findings: subject_findings.len(),
            coverage,
        });
    }
    for (what, (n, reason)) in nobody {
        affected.push(Affected {
            id: Party::Unattributed { what: what.clone() },
            name: what,
            sector: None,
            vital: false,
            registered: false,
            findings: n,
            coverage: Coverage::Unreachable {
                reason: reasons.verbatim(reason),
            },
        });
    }
    // the most restrictive label of everything each recipient may be given
    for (id, digest) in &mut digests {
        digest.tlp = digest_tlp.get(id).copied().unwrap_or(Tlp::Clear);
    }
    Ok(Plan {
        incident: incident.into(),
        policy: policy.name().into(),
        affected,
        decisions: Vec::new(),
        digests,
    })
}

/// Each reason a party is unreachable for, held once however many parties share it.
#[derive(Default)]
struct Reasons(HashSet<Arc<str>>);

impl Reasons {
    /// The reason of the party whose id is `party`, shared with the parties whose reasons
    /// differ from it only in naming themselves.
    fn shared(&mut self, reason: String, party: &str) -> Reason {
        if party.is_empty() || reason.contains(PARTY) {
            return self.verbatim(reason);
        }
        Reason::Shared(self.held(reason.replace(party, PARTY.encode_utf8(&mut [0; 4]))))
    }

    /// A reason as it is, held once.
    fn verbatim(&mut self, reason: String) -> Reason {
        Reason::Verbatim(self.held(reason))
    }

    fn held(&mut self, text: String) -> Arc<str> {
        if let Some(r) = self.0.get(text.as_str()) {
            return r.clone();
        }
        let r: Arc<str> = text.into();
        self.0.insert(r.clone());
        r
    }
}

/// What a full or own-assets `step` about `subject` lets through: the addresses it allows,
/// and whether a finding named by a host name only (a lookalike domain, an inventory's host),
/// which has no address to narrow by, goes too: where the whole finding may go, in full or to
/// the organisation it is about.
fn narrowing(step: &RouteStep, subject: &Organisation) -> (BTreeSet<IpAddr>, bool) {
    let allowed = step.addresses.iter().copied().collect();
    let whole = step.decision.form == Form::Full || step.recipient == subject.id;
    (allowed, whole)
}

/// Whether `finding` goes out along a step that lets through `allowed` and, for findings
/// without an address, `whole` ([`narrowing`]).
fn goes(finding: &Finding, allowed: &BTreeSet<IpAddr>, whole: bool) -> bool {
    match finding.event.source_ip() {
        Some(ip) => allowed.contains(&ip),
        None => whole,
    }
}

/// A party the registry does not hold, standing in for routing: non-vital, no CERT, no
/// supervisor, no contact unless one is added.
fn stand_in(id: &OrgId, name: String, kind: OrgKind) -> Organisation {
    Organisation {
        id: id.clone(),
        name,
        kind,
        sector: None,
        vital: false,
        wbni: Default::default(),
        supervisor: None,
        cert: None,
        networks: vec![],
        asns: vec![],
        domains: vec![],
        contacts: vec![],
    }
}

fn planned(
    subject: &Party,
    step: &RouteStep,
    contact: Result<String, String>,
    source: Option<String>,
) -> PlannedDecision {
    PlannedDecision {
        subject: subject.clone(),
        recipient: Party::from_key(&step.recipient.0),
        path: step.path,
        decision: step.decision.clone(),
        addresses: step.addresses.clone(),
        contact,
        contact_source: source,
    }
}

/// Where a contact was learnt, in words, when not from the registry file.
fn contact_source(contact: &Contact) -> Option<String> {
    let source = contact.source.as_ref()?;
    let secs = chrono::SecondsFormat::Secs;
    Some(format!(
        "{} {}, read {}{}",
        source.via,
        source.location,
        source.fetched.to_rfc3339_opts(secs, true),
        contact
            .expires
            .map(|t| format!(", until {}", t.to_rfc3339_opts(secs, true)))
            .unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reason kept once for the parties it differs between only by naming them gives each
    /// party its own text back, whatever else the text holds.
    #[test]
    fn shared_reasons_give_each_party_its_own_text() {
        let mut reasons = Reasons::default();
        let why = |id: &str| {
            format!(
                "direct {id} may get none of its addresses (rule non-vital); cert org-12 may get \
                 aggregate (rule cert-aggregate); {id}'s sector has no supervisor"
            )
        };
        // "org-1" and "g-1" are parts of "org-12" too: their templates differ, their texts not
        let parties = [
            "org-123",
            "org-77",
            "unregistered@abuse@h.example",
            "org-1",
            "g-1",
        ];
        let mut held = Vec::new();
        for id in parties {
            let reason = reasons.shared(why(id), id);
            assert_eq!(reason.text(id), why(id), "{id}");
            held.push(reason);
        }
        let Reason::Shared(first) = &held[0] else {
            panic!("{held:?}");
        };
        for other in &held[1..3] {
            assert!(
                matches!(other, Reason::Shared(t) if Arc::ptr_eq(t, first)),
                "{held:?}"
            );
        }
        assert_eq!(reasons.0.len(), 3, "{:?}", reasons.0);
        // a text holding the stand-in character, or a party without an id, is kept as it is
        let odd = "direct org-1 may get \u{1} nothing".to_string();
        let reason = reasons.shared(odd.clone(), "org-1");
        assert!(matches!(reason, Reason::Verbatim(_)));
        assert_eq!(reason.text("org-1"), odd);
        assert_eq!(reasons.shared(why(""), "").text("anything"), why(""));
    }

    /// An affected party serialises its coverage as before reasons were shared.
    #[test]
    fn an_unreachable_party_serialises_its_own_reason() {
        let mut reasons = Reasons::default();
        let id = OrgId("org-7".into());
        let party = Affected {
            id: Party::Registered(id.clone()),
            name: "Seven".into(),
            sector: Some("health".into()),
            vital: false,
            registered: true,
            findings: 2,
            coverage: Coverage::Unreachable {
                reason: reasons.shared("direct org-7 may get aggregate".into(), &id.0),
            },
        };
        assert_eq!(
            serde_json::to_value(&party).unwrap(),
            serde_json::json!({
                "id": "org-7", "name": "Seven", "sector": "health", "vital": false,
                "registered": true, "findings": 2,
                "coverage": {"status": "unreachable", "reason": "direct org-7 may get aggregate"}
            })
        );
        let reached = Affected {
            coverage: Coverage::Reached {
                paths: vec![Path::Direct],
            },
            ..party
        };
        assert_eq!(
            serde_json::to_value(&reached).unwrap()["coverage"],
            serde_json::json!({"status": "reached", "paths": ["direct"]})
        );
        assert_eq!(reached.unreachable_reason(), None);
    }
}
