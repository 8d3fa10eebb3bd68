//! Routing: who hears about a finding — the owner, its CERT, the DTC, its hoster, its
//! supervisor — each with a [`Decision`], and a reason when nobody may be told.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;

use baken_model::{OrgId, OrgKind, Organisation};
use serde::{Deserialize, Serialize};

use crate::decide::{Decision, Item, Recipient, decide, disclose};
use crate::policy::Policy;
use crate::vocab::Form;

/// The part of the registry routing needs. Implemented by the caller over whatever holds
/// the registry, so this crate stays free of IO; [`MemoryRegistry`] is a simple one.
pub trait RegistryView {
    /// The organisation with this id.
    fn organisation(&self, id: &OrgId) -> Option<&Organisation>;

    /// The hosting provider or ISP whose network holds `address`, if one is known: a
    /// registered organisation of kind `hoster`, or one the caller builds from an RPSL abuse
    /// record (kind `hoster`, the abuse mailbox as its contact).
    fn hoster_of(&self, address: IpAddr) -> Option<&Organisation>;

    /// The Digital Trust Center, if it is registered.
    fn dtc(&self) -> Option<&Organisation>;

    /// The CERT that represents `org` (by its `cert` field).
    fn cert_of(&self, org: &Organisation) -> Option<&Organisation> {
        let id = OrgId(org.cert.clone()?);
        self.organisation(&id)
    }

    /// The supervisor of `org` (by its `supervisor` field, read as an id).
    fn supervisor_of(&self, org: &Organisation) -> Option<&Organisation> {
        let id = OrgId(org.supervisor.clone()?);
        self.organisation(&id)
    }
}

/// A registry held in memory: organisations by id, hosters found by scanning the networks
/// of organisations of kind `hoster` (longest prefix wins). Fine for tests and small
/// registries; a national registry uses `baken-attribute`'s index behind [`RegistryView`].
#[derive(Debug, Clone, Default)]
pub struct MemoryRegistry {
    orgs: Vec<Organisation>,
    by_id: HashMap<OrgId, usize>,
}

impl MemoryRegistry {
    /// A registry of these organisations; with duplicate ids the last one wins.
    pub fn new(orgs: Vec<Organisation>) -> MemoryRegistry {
        let by_id = orgs
            .iter()
            .enumerate()
            .map(|(i, o)| (o.id.clone(), i))
            .collect();
        MemoryRegistry { orgs, by_id }
    }

    /// All organisations.
    pub fn organisations(&self) -> &[Organisation] {
        &self.orgs
    }
}

impl RegistryView for MemoryRegistry {
    fn organisation(&self, id: &OrgId) -> Option<&Organisation> {
        self.by_id.get(id).map(|&i| &self.orgs[i])
    }

    fn hoster_of(&self, address: IpAddr) -> Option<&Organisation> {
        self.orgs
            .iter()
            .filter(|o| o.kind == OrgKind::Hoster)
            .flat_map(|o| o.networks.iter().map(move |n| (n, o)))
            .filter(|(n, _)| n.contains(&address))
            .max_by_key(|(n, _)| n.prefix_len())
            .map(|(_, o)| o)
    }

    fn dtc(&self) -> Option<&Organisation> {
        self.orgs.iter().find(|o| o.kind == OrgKind::Dtc)
    }
}

/// How a recipient is connected to the organisation a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Path {
    /// The owner itself.
    Direct,
    /// The CERT that represents it.
    Cert,
    /// The Digital Trust Center.
    Dtc,
    /// The hosting provider or ISP holding its addresses, through its abuse contact.
    Hoster,
    /// Its sector supervisor (aggregates).
    Supervisor,
}

impl Path {
    /// Stable name: `direct`, `cert`, `dtc`, `hoster`, `supervisor`.
    pub fn as_str(self) -> &'static str {
        match self {
            Path::Direct => "direct",
            Path::Cert => "cert",
            Path::Dtc => "dtc",
            Path::Hoster => "hoster",
            Path::Supervisor => "supervisor",
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recipient considered for a finding, and what it may get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteStep {
    /// How it is connected to the owner.
    pub path: Path,
    /// The recipient's id.
    pub recipient: OrgId,
    /// The decision.
    pub decision: Decision,
    /// The addresses that go out to it (empty unless the form is full or own-assets).
    pub addresses: Vec<IpAddr>,
    /// Whether this step tells somebody specifically about the owner's finding.
    pub informs: bool,
}

/// Whether the owner of a finding is reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reach {
    /// Reached along these paths.
    Reached(Vec<Path>),
    /// Nobody may tell it anything specific; why.
    Unreachable(String),
}

/// Everything routing decided for one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The organisation the finding is about.
    pub subject: Option<OrgId>,
    /// Every recipient considered, in order: owner, CERT, DTC, hosters, supervisor.
    pub steps: Vec<RouteStep>,
    /// Whether the owner is reached, and if not, why.
    pub reach: Reach,
}

/// Routes a finding: the owner if it may be told; the CERT that represents it; when neither
/// tells it anything specific, the DTC and the hosting providers holding its addresses
/// (their own addresses only, as the policy allows); and its supervisor, for the sector
/// aggregate. Hosters are looked up for assets without a network holder.
pub fn route(policy: &Policy, item: &Item, view: &dyn RegistryView) -> Route {
    let unreachable = |subject: Option<OrgId>, reason: String| Route {
        subject,
        steps: Vec::new(),
        reach: Reach::Unreachable(reason),
    };
    let Some(subject) = &item.subject else {
        return unreachable(None, "the item is not about an organisation".into());
    };
    let Some(owner) = view.organisation(&subject.id) else {
        return unreachable(
            Some(subject.id.clone()),
            format!("{} is not in the registry", subject.id),
        );
    };
    let mut item = item.clone();
    for asset in &mut item.assets {
        if asset.network_holder.is_none() {
            asset.network_holder = view
                .hoster_of(asset.address)
                .map(|h| h.id.clone())
                .filter(|h| *h != asset.owner);
        }
    }
    let mut steps = Vec::new();
    let mut seen = BTreeSet::new();
    let mut notes = Vec::new();
    let mut step = |path: Path, org: &Organisation, steps: &mut Vec<RouteStep>| {
        if !seen.insert(org.id.clone()) {
            return;
        }
        let recipient = Recipient::for_subject(policy, org, owner);
        let decision = decide(policy, &item, &recipient);
        let assets = disclose(&decision, &item, &recipient.id);
        let informs = match decision.form {
            Form::Full => true,
            Form::OwnAssets => {
                recipient.id == owner.id || assets.iter().any(|a| a.owner == owner.id)
            }
            Form::Aggregate | Form::Nothing => false,
        };
        tracing::trace!(
            subject = %owner.id,
            recipient = %recipient.id,
            path = path.as_str(),
            form = %decision.form,
            rule = decision.rule.as_deref().unwrap_or("-"),
            tlp = decision.tlp.label(),
            informs,
            "decided"
        );
        steps.push(RouteStep {
            path,
            recipient: recipient.id,
            addresses: assets.iter().map(|a| a.address).collect(),
            decision,
            informs,
        });
    };

    step(Path::Direct, owner, &mut steps);
    match view.cert_of(owner) {
        Some(cert) => step(Path::Cert, cert, &mut steps),
        None => notes.push(match &owner.cert {
            Some(id) => format!("its CERT {id} is not in the registry"),
            None => "no CERT represents it".to_string(),
        }),
    }
    if !steps.iter().any(|s| s.informs) {
        match view.dtc() {
            Some(dtc) => step(Path::Dtc, dtc, &mut steps),
            None => notes.push("no DTC is registered".to_string()),
        }
        let mut hosters = BTreeSet::new();
        for asset in &item.assets {
            if let Some(holder) = &asset.network_holder {
                hosters.insert(holder.clone());
            }
        }
        if hosters.is_empty() {
            notes.push("no hosting provider is known for its addresses".to_string());
        }
        for id in hosters {
            match view.organisation(&id).or_else(|| {
                // The holder may be known to `hoster_of` only (built from RPSL).
                item.assets
                    .iter()
                    .filter(|a| a.network_holder.as_ref() == Some(&id))
                    .find_map(|a| view.hoster_of(a.address))
                    .filter(|h| h.id == id)
            }) {
                Some(hoster) => step(Path::Hoster, hoster, &mut steps),
                None => notes.push(format!("hosting provider {id} is not in the registry")),
            }
        }
    }
    if let Some(supervisor) = view.supervisor_of(owner) {
        step(Path::Supervisor, supervisor, &mut steps);
    }

    let mut paths: Vec<Path> = steps.iter().filter(|s| s.informs).map(|s| s.path).collect();
    paths.dedup();
    let reach = if paths.is_empty() {
        let mut reasons: Vec<String> = steps
            .iter()
            .filter(|s| s.path != Path::Supervisor)
            .map(|s| {
                let what = match (&s.decision.rule, s.decision.invariant) {
                    (_, Some(inv)) => inv.as_str().to_string(),
                    (Some(rule), None) => format!("rule {rule}"),
                    (None, None) => "no rule".to_string(),
                };
                let form = if s.decision.form.is_specific() {
                    "none of its addresses".to_string()
                } else {
                    s.decision.form.to_string()
                };
                format!("{} {} may get {form} ({what})", s.path, s.recipient)
            })
            .collect();
        reasons.extend(notes);
        Reach::Unreachable(reasons.join("; "))
    } else {
        Reach::Reached(paths)
    };
    Route {
        subject: Some(owner.id.clone()),
        steps,
        reach,
    }
}
