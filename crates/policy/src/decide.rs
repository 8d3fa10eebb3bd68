//! `decide`: the form one item may take to one recipient, with the rule, the legal basis and
//! a line a person can read; TLP 2.0 enforced on top of the policy.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use baken_model::{OrgId, Organisation, Tlp};
use serde::{Deserialize, Serialize};

use crate::policy::Policy;
use crate::vocab::{Form, InfoClass, Role, roles};

/// What an item is; [`decide`] turns it into an [`InfoClass`] relative to the recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    /// Findings (vulnerable systems with their addresses) about one organisation.
    Finding,
    /// An advisory.
    Advisory,
    /// Counts of findings per sector.
    SectorAggregate,
    /// A request to an abuse desk to take down a lookalike domain name.
    TakedownRequest,
}

/// The organisation an item is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Its id.
    pub id: OrgId,
    /// Whether it is a vital provider.
    pub vital: bool,
}

impl Subject {
    /// The subject for a registry entry.
    pub fn of(org: &Organisation) -> Subject {
        Subject {
            id: org.id.clone(),
            vital: org.vital,
        }
    }
}

/// One address a finding names, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// The address.
    pub address: IpAddr,
    /// The organisation whose system it is.
    pub owner: OrgId,
    /// The hosting provider or ISP holding the network, if that is not the owner.
    pub network_holder: Option<OrgId>,
}

impl Asset {
    /// Whether the address is `org`'s own: its system, or in a network it holds.
    pub fn belongs_to(&self, org: &OrgId) -> bool {
        self.owner == *org || self.network_holder.as_ref() == Some(org)
    }
}

/// Where an item came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The feed or advisory it came from, e.g. `shadowserver scan_http` or `NCSC-2020-0001`.
    pub source: String,
    /// Who supplied it, when not ourselves (a peer CSIRT, a vendor, a researcher).
    pub supplied_by: Option<String>,
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.supplied_by {
            Some(by) => write!(f, "{} (supplied by {by})", self.source),
            None => f.write_str(&self.source),
        }
    }
}

/// A piece of information baken may share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// What it is.
    pub kind: ItemKind,
    /// Its TLP label.
    pub tlp: Tlp,
    /// The organisation it is about (findings); `None` for advisories and aggregates.
    pub subject: Option<Subject>,
    /// Where it came from.
    pub provenance: Provenance,
    /// The addresses it names (findings).
    pub assets: Vec<Asset>,
    /// For TLP:RED, the recipients the source named; nobody else may receive it.
    pub named_recipients: Vec<OrgId>,
}

impl Item {
    /// A finding about `subject`'s systems at `addresses`.
    pub fn finding(
        subject: &Organisation,
        tlp: Tlp,
        provenance: Provenance,
        addresses: impl IntoIterator<Item = IpAddr>,
    ) -> Item {
        Item {
            kind: ItemKind::Finding,
            tlp,
            subject: Some(Subject::of(subject)),
            provenance,
            assets: addresses
                .into_iter()
                .map(|address| Asset {
                    address,
                    owner: subject.id.clone(),
                    network_holder: None,
                })
                .collect(),
            named_recipients: Vec::new(),
        }
    }

    /// A takedown request for a lookalike domain name that imitates `protected`'s (the
    /// organisation it is about, when the protected name has an owner).
    pub fn takedown_request(
        protected: Option<&Organisation>,
        tlp: Tlp,
        provenance: Provenance,
    ) -> Item {
        Item {
            kind: ItemKind::TakedownRequest,
            tlp,
            subject: protected.map(Subject::of),
            provenance,
            assets: Vec::new(),
            named_recipients: Vec::new(),
        }
    }

    /// The class of this item for `recipient`: a finding is an own-asset finding only for
    /// the organisation it is about.
    pub fn class_for(&self, recipient: &OrgId) -> InfoClass {
        match (self.kind, &self.subject) {
            (ItemKind::Advisory, _) => InfoClass::Advisory,
            (ItemKind::SectorAggregate, _) => InfoClass::SectorAggregate,
            (ItemKind::TakedownRequest, _) => InfoClass::TakedownRequest,
            (ItemKind::Finding, Some(s)) if s.id == *recipient => InfoClass::OwnAssetFinding,
            (ItemKind::Finding, Some(s)) if s.vital => InfoClass::ThirdPartyVital,
            (ItemKind::Finding, _) => InfoClass::ThirdPartyNonVital,
        }
    }
}

/// Who would receive an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// Its registry id.
    pub id: OrgId,
    /// Its display name.
    pub name: String,
    /// The roles it plays (see [`roles`]).
    pub roles: Vec<Role>,
    /// The organisations it speaks for as CERT. Callers may give only the ones an item is
    /// about.
    pub constituency: BTreeSet<OrgId>,
    /// The organisations it supervises as sector supervisor. Callers may give only the ones
    /// an item is about.
    pub supervised: BTreeSet<OrgId>,
}

impl Recipient {
    /// A recipient with its roles under `policy`, speaking for nobody and supervising nobody
    /// (set [`Recipient::constituency`] and [`Recipient::supervised`] as needed).
    pub fn new(policy: &Policy, org: &Organisation) -> Recipient {
        Recipient {
            id: org.id.clone(),
            name: org.name.clone(),
            roles: roles(policy, org),
            constituency: BTreeSet::new(),
            supervised: BTreeSet::new(),
        }
    }

    /// The recipient `org` for items about `subject`: in its constituency when `subject`
    /// names it as CERT, supervised when `subject` names it as supervisor.
    pub fn for_subject(policy: &Policy, org: &Organisation, subject: &Organisation) -> Recipient {
        let mut recipient = Recipient::new(policy, org);
        if subject.cert.as_deref() == Some(org.id.0.as_str()) {
            recipient.constituency.insert(subject.id.clone());
        }
        if subject.supervisor.as_deref() == Some(org.id.0.as_str()) {
            recipient.supervised.insert(subject.id.clone());
        }
        recipient
    }
}

/// A TLP 2.0 rule or mandate limit that narrowed what the policy allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Invariant {
    /// TLP:RED goes only to the recipients its source named.
    RedNamedOnly,
    /// TLP:AMBER+STRICT goes only to the organisation it is about.
    AmberStrictSubjectOnly,
    /// TLP:AMBER+STRICT never carries another organisation's address.
    AmberStrictOwnAssets,
    /// None of the recipient's roles gives it a mandate for this item: a CERT or supervisor
    /// hears about its own constituency only, a hoster about its own networks only.
    NoMandate,
}

impl Invariant {
    /// Stable name, as shown in `baken why` and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Invariant::RedNamedOnly => "tlp-red-named-recipients-only",
            Invariant::AmberStrictSubjectOnly => "tlp-amber-strict-subject-only",
            Invariant::AmberStrictOwnAssets => "tlp-amber-strict-own-assets",
            Invariant::NoMandate => "no-mandate",
        }
    }

    fn because(self) -> &'static str {
        match self {
            Invariant::RedNamedOnly => "TLP:RED goes only to the recipients its source named",
            Invariant::AmberStrictSubjectOnly => {
                "TLP:AMBER+STRICT goes only to the organisation it is about"
            }
            Invariant::AmberStrictOwnAssets => {
                "TLP:AMBER+STRICT never carries another organisation's address"
            }
            Invariant::NoMandate => {
                "it is not about the recipient's constituency or networks, so no role applies"
            }
        }
    }
}

/// What may go to one recipient, and why: what `baken why` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The form that may go out.
    pub form: Form,
    /// The item's class for this recipient.
    pub class: InfoClass,
    /// The item's TLP label, carried on whatever goes out.
    pub tlp: Tlp,
    /// The role the decision was made under (`None` when no role applied).
    pub role: Option<Role>,
    /// The policy rule that decided (`None` when no role applied).
    pub rule: Option<String>,
    /// The form that rule allowed, before TLP narrowed it.
    pub rule_form: Form,
    /// The TLP rule or mandate limit that narrowed the rule's form, if any.
    pub invariant: Option<Invariant>,
    /// The legal basis the rule quotes.
    pub basis: String,
    /// One line for a person.
    pub explanation: String,
}

/// Decides what of `item` may go to `recipient` under `policy`.
///
/// The roles that apply to the item are looked up in the policy and the widest form wins
/// (each role is a mandate of its own). TLP 2.0 then narrows it, whatever the policy says:
/// TLP:RED only to named recipients, TLP:AMBER+STRICT only to the organisation the item is
/// about and never with another organisation's address. A CERT or supervisor hears about
/// findings in its constituency only, a hoster only about addresses in its networks.
pub fn decide(policy: &Policy, item: &Item, recipient: &Recipient) -> Decision {
    let class = item.class_for(&recipient.id);
    let mut best: Option<(Role, &crate::policy::RuleSpec)> = None;
    for &role in &recipient.roles {
        if !applies(role, class, item, recipient) {
            continue;
        }
        let rule = policy.rule_for(class, item.tlp, role);
        if best.is_none_or(|(_, b)| rule.form > b.form) {
            best = Some((role, rule));
        }
    }
    let roles = recipient
        .roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let Some((role, rule)) = best else {
        return Decision {
            form: Form::Nothing,
            class,
            tlp: item.tlp,
            role: None,
            rule: None,
            rule_form: Form::Nothing,
            invariant: Some(Invariant::NoMandate),
            basis: String::new(),
            explanation: format!(
                "{} ({roles}) gets nothing of this {class} at {}: {}",
                recipient.name,
                item.tlp,
                Invariant::NoMandate.because()
            ),
        };
    };
    let mut form = rule.form;
    let mut invariant = None;
    let is_subject = item.subject.as_ref().is_some_and(|s| s.id == recipient.id);
    match item.tlp {
        Tlp::Red if !item.named_recipients.contains(&recipient.id) => {
            invariant = Some(Invariant::RedNamedOnly);
        }
        Tlp::AmberStrict if !is_subject => invariant = Some(Invariant::AmberStrictSubjectOnly),
        Tlp::AmberStrict
            if form == Form::Full && item.assets.iter().any(|a| !a.belongs_to(&recipient.id)) =>
        {
            invariant = Some(Invariant::AmberStrictOwnAssets);
        }
        _ => {}
    }
    match invariant {
        Some(Invariant::AmberStrictOwnAssets) => form = form.min(Form::OwnAssets),
        Some(_) if form != Form::Nothing => form = Form::Nothing,
        Some(_) => invariant = None,
        None => {}
    }
    let explanation = match invariant {
        None => format!(
            "{} ({roles}) gets {form} of this {class} at {} as {role}: rule {} of {} ({})",
            recipient.name,
            item.tlp,
            rule.name,
            policy.name(),
            rule.basis
        ),
        Some(inv) => format!(
            "{} ({roles}) gets {form} of this {class} at {}: rule {} of {} would allow {} as {role}, but {}",
            recipient.name,
            item.tlp,
            rule.name,
            policy.name(),
            rule.form,
            inv.because()
        ),
    };
    Decision {
        form,
        class,
        tlp: item.tlp,
        role: Some(role),
        rule: Some(rule.name.clone()),
        rule_form: rule.form,
        invariant,
        basis: rule.basis.clone(),
        explanation,
    }
}

/// Whether `role` gives `recipient` any standing for `item` at all.
fn applies(role: Role, class: InfoClass, item: &Item, recipient: &Recipient) -> bool {
    if !class.is_third_party() {
        return true;
    }
    match role {
        Role::Cert => item
            .subject
            .as_ref()
            .is_some_and(|s| recipient.constituency.contains(&s.id)),
        Role::Supervisor => item
            .subject
            .as_ref()
            .is_some_and(|s| recipient.supervised.contains(&s.id)),
        Role::Hoster => item
            .assets
            .iter()
            .any(|a| a.network_holder.as_ref() == Some(&recipient.id)),
        _ => true,
    }
}

/// The addresses of `item` that go out to `recipient` under `decision`: all of them in full
/// form, only the recipient's own in own-assets form, none otherwise.
pub fn disclose<'a>(decision: &Decision, item: &'a Item, recipient: &OrgId) -> Vec<&'a Asset> {
    match decision.form {
        Form::Full => item.assets.iter().collect(),
        Form::OwnAssets => item
            .assets
            .iter()
            .filter(|a| a.belongs_to(recipient))
            .collect(),
        Form::Aggregate | Form::Nothing => Vec::new(),
    }
}
