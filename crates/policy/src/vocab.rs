//! The three axes of a policy rule — information class, recipient role — and the form that
//! goes out, with their names as written in a policy file.

use std::fmt;

use baken_model::{OrgKind, Organisation};
use serde::{Deserialize, Serialize};

use crate::policy::Policy;

/// The part a recipient plays in the information-sharing system; one organisation may play
/// several (a vital ISP is both [`Role::VitalProvider`] and [`Role::Hoster`]).
///
/// Ordered as listed; when roles give equally wide forms the first one is quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// An operator of critical infrastructure (`vital`).
    #[serde(rename = "vital")]
    VitalProvider,
    /// An organisation that is not a vital provider (`non-vital`).
    NonVital,
    /// A CERT or CSIRT serving a constituency (`cert`).
    Cert,
    /// An organisation the policy designates as OKTT: its task, objectively known, is to
    /// inform others or the public about vulnerabilities and threats (`oktt`).
    Oktt,
    /// The Digital Trust Center (`dtc`).
    Dtc,
    /// A sector supervisor (`supervisor`).
    Supervisor,
    /// A hosting provider or ISP, reached through its abuse contact (`hoster`).
    Hoster,
    /// A peer national CSIRT (`peer-csirt`).
    PeerCsirt,
}

impl Role {
    /// Every role, in order.
    pub const ALL: [Role; 8] = [
        Role::VitalProvider,
        Role::NonVital,
        Role::Cert,
        Role::Oktt,
        Role::Dtc,
        Role::Supervisor,
        Role::Hoster,
        Role::PeerCsirt,
    ];

    /// The name used in policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::VitalProvider => "vital",
            Role::NonVital => "non-vital",
            Role::Cert => "cert",
            Role::Oktt => "oktt",
            Role::Dtc => "dtc",
            Role::Supervisor => "supervisor",
            Role::Hoster => "hoster",
            Role::PeerCsirt => "peer-csirt",
        }
    }

    /// The role with this policy-file name.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The roles an organisation plays under `policy`, in [`Role`] order, never empty.
///
/// The kind gives the base role (`organisation` → vital or non-vital, `cert` → CERT,
/// `hoster` → hosting provider, `supervisor`, `dtc`, `national-csirt` → peer CSIRT); a vital
/// organisation of another kind is a vital provider as well; the policy's `[oktt]` list
/// (by id or by kind) adds [`Role::Oktt`].
///
/// ```
/// use baken_model::{OrgId, OrgKind, Organisation};
/// use baken_policy::{Policy, Role, roles};
///
/// let dtc: Organisation = toml::from_str(r#"
///     id = "dtc"
///     name = "Digital Trust Center"
///     kind = "dtc"
/// "#).unwrap();
/// assert_eq!(roles(&Policy::builtin("nl-2020").unwrap(), &dtc), vec![Role::Dtc]);
/// assert_eq!(roles(&Policy::builtin("nl-dtc-oktt").unwrap(), &dtc), vec![Role::Oktt, Role::Dtc]);
/// ```
pub fn roles(policy: &Policy, org: &Organisation) -> Vec<Role> {
    let mut out = Vec::with_capacity(2);
    match org.kind {
        OrgKind::Organisation => out.push(if org.vital {
            Role::VitalProvider
        } else {
            Role::NonVital
        }),
        OrgKind::Cert => out.push(Role::Cert),
        OrgKind::Hoster => out.push(Role::Hoster),
        OrgKind::Supervisor => out.push(Role::Supervisor),
        OrgKind::Dtc => out.push(Role::Dtc),
        OrgKind::NationalCsirt => out.push(Role::PeerCsirt),
    }
    if org.vital && org.kind != OrgKind::Organisation {
        out.push(Role::VitalProvider);
    }
    if policy.oktt().designates(org) {
        out.push(Role::Oktt);
    }
    out.sort();
    out
}

/// What a piece of information is, as far as the policy is concerned.
///
/// A finding is classed relative to its recipient: it is an own-asset finding for the
/// organisation it is about and a third-party finding for anybody else, split by whether
/// the organisation it is about is a vital provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InfoClass {
    /// A finding with IP addresses, told to the organisation whose assets they are
    /// (`own-asset-finding`).
    OwnAssetFinding,
    /// A finding about a vital provider, told to somebody else: its CERT, an OKTT, a hoster
    /// (`third-party-finding-vital`).
    #[serde(rename = "third-party-finding-vital")]
    ThirdPartyVital,
    /// A finding about a non-vital organisation, told to somebody else: its CERT, the DTC,
    /// an OKTT, its hoster (`third-party-finding-non-vital`).
    #[serde(rename = "third-party-finding-non-vital")]
    ThirdPartyNonVital,
    /// An advisory: a vulnerability, its severity and mitigations, about no one organisation
    /// (`advisory`).
    Advisory,
    /// Counts of findings per sector (`sector-aggregate`); always pseudonymised.
    SectorAggregate,
    /// A request to the registrar's or hoster's abuse desk to take down a domain name that
    /// imitates a protected one (`takedown-request`): the name, what it imitates, and what
    /// was seen of it. A policy that has no rule for it sends none.
    TakedownRequest,
}

impl InfoClass {
    /// Every class, in order.
    pub const ALL: [InfoClass; 6] = [
        InfoClass::OwnAssetFinding,
        InfoClass::ThirdPartyVital,
        InfoClass::ThirdPartyNonVital,
        InfoClass::Advisory,
        InfoClass::SectorAggregate,
        InfoClass::TakedownRequest,
    ];

    /// The name used in policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            InfoClass::OwnAssetFinding => "own-asset-finding",
            InfoClass::ThirdPartyVital => "third-party-finding-vital",
            InfoClass::ThirdPartyNonVital => "third-party-finding-non-vital",
            InfoClass::Advisory => "advisory",
            InfoClass::SectorAggregate => "sector-aggregate",
            InfoClass::TakedownRequest => "takedown-request",
        }
    }

    /// The class with this policy-file name.
    pub fn from_name(name: &str) -> Option<InfoClass> {
        InfoClass::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether a policy must decide every case of this class; a policy that leaves a class
    /// out that need not be decided gives nothing of it to anyone.
    pub fn must_be_decided(self) -> bool {
        self != InfoClass::TakedownRequest
    }

    /// Whether this is a finding about somebody other than the recipient.
    pub fn is_third_party(self) -> bool {
        matches!(
            self,
            InfoClass::ThirdPartyVital | InfoClass::ThirdPartyNonVital
        )
    }

    /// The forms a rule may give this class: advisories go out whole or not at all, sector
    /// aggregates only pseudonymised, findings in any form.
    pub fn allowed_forms(self) -> &'static [Form] {
        match self {
            InfoClass::Advisory | InfoClass::TakedownRequest => &[Form::Full, Form::Nothing],
            InfoClass::SectorAggregate => &[Form::Aggregate, Form::Nothing],
            _ => &Form::ALL,
        }
    }
}

impl fmt::Display for InfoClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The form in which information may go out, ordered from narrowest to widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    /// Nothing (`nothing`).
    Nothing,
    /// Only as counts in a pseudonymised sector aggregate (`aggregate`).
    Aggregate,
    /// Only the addresses that are the recipient's own: its assets, or addresses in networks
    /// it holds as hosting provider (`own-assets`).
    OwnAssets,
    /// Everything, including other organisations' addresses (`full`).
    Full,
}

impl Form {
    /// Every form, narrowest first.
    pub const ALL: [Form; 4] = [Form::Nothing, Form::Aggregate, Form::OwnAssets, Form::Full];

    /// The name used in policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Nothing => "nothing",
            Form::Aggregate => "aggregate",
            Form::OwnAssets => "own-assets",
            Form::Full => "full",
        }
    }

    /// The form with this policy-file name.
    pub fn from_name(name: &str) -> Option<Form> {
        Form::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Whether the recipient learns something specific (addresses) in this form.
    pub fn is_specific(self) -> bool {
        matches!(self, Form::OwnAssets | Form::Full)
    }
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
