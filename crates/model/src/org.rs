//! Organisations of the registry, and the attribution of an event to an owner.

use std::fmt;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::Language;

/// The registry's identifier of an organisation (for example a chamber-of-commerce number).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgId(pub String);

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of party an organisation is in the information-sharing system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrgKind {
    /// An organisation that owns systems and may be affected.
    #[default]
    Organisation,
    /// A CERT or CSIRT serving a constituency.
    Cert,
    /// A hosting provider or ISP, reached through its abuse contact.
    Hoster,
    /// A sector supervisor (regulator).
    Supervisor,
    /// The Digital Trust Center.
    Dtc,
    /// The national CSIRT itself or a peer national CSIRT.
    NationalCsirt,
}

/// Duties under the Dutch network and information systems act (Wbni).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WbniDuties {
    /// Duty to report incidents (meldplicht).
    #[serde(default)]
    pub report: bool,
    /// Duty of care (zorgplicht).
    #[serde(default)]
    pub care: bool,
}

/// What a contact is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContactRole {
    /// The security contact (CISO, security team); preferred for notifications.
    #[default]
    Security,
    /// The abuse mailbox.
    Abuse,
    /// A general or technical contact.
    General,
}

/// The form of the findings a message carries, as the recipient prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportFormat {
    /// A CSV file of the findings (the default).
    #[default]
    Csv,
    /// X-ARF v4 (JSON) reports, one `Vulnerable` report per finding, as a hoster's abuse
    /// desk ingests them.
    Xarf,
}

/// Where a contact was learnt, when not from the registry file itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactSource {
    /// What it was read from, e.g. `security.txt`.
    pub via: String,
    /// The URL or file it was read from.
    pub location: String,
    /// When it was read.
    pub fetched: DateTime<Utc>,
}

/// A way to reach an organisation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// E-mail address.
    pub email: String,
    /// What the contact is for.
    #[serde(default)]
    pub role: ContactRole,
    /// The language messages to this contact are written in (`en`, `nl`); the sharing
    /// policy's default (`[messages] language`) when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// The contact's OpenPGP public key, armored: messages to the contact are encrypted to
    /// it. A registry file may name a file holding the key instead; import stores the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgp_key: Option<String>,
    /// The form of the findings this contact prefers (`csv`, `xarf`); CSV when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_format: Option<ReportFormat>,
    /// Where the contact was learnt (e.g. a security.txt); none for the registry's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ContactSource>,
    /// When the contact stops being used (a security.txt's `Expires`); never when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<DateTime<Utc>>,
}

impl Contact {
    /// Whether the contact may be used at `now`: it has no expiry or has not reached it.
    pub fn live_at(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|at| at > now)
    }
}

/// An entry of the registry of organisations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Stable identifier.
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Kind of party.
    #[serde(default)]
    pub kind: OrgKind,
    /// Sector (free text, e.g. `health`, `energy`, `finance`).
    #[serde(default)]
    pub sector: Option<String>,
    /// Whether it is a vital provider (operator of critical infrastructure).
    #[serde(default)]
    pub vital: bool,
    /// Wbni duties.
    #[serde(default)]
    pub wbni: WbniDuties,
    /// The sector supervisor's name or id.
    #[serde(default)]
    pub supervisor: Option<String>,
    /// The id of the CERT that represents it.
    #[serde(default)]
    pub cert: Option<String>,
    /// IPv4 and IPv6 networks it holds.
    #[serde(default)]
    pub networks: Vec<IpNet>,
    /// Autonomous systems it operates.
    #[serde(default)]
    pub asns: Vec<u32>,
    /// Domain names it holds (suffixes: `a.example` covers `www.a.example`).
    #[serde(default)]
    pub domains: Vec<String>,
    /// Ways to reach it.
    #[serde(default)]
    pub contacts: Vec<Contact>,
}

impl Organisation {
    /// The address notifications go to: the first security contact, else the first contact.
    pub fn notification_contact(&self) -> Option<&Contact> {
        self.contacts
            .iter()
            .find(|c| c.role == ContactRole::Security)
            .or_else(|| self.contacts.first())
    }

    /// [`notification_contact`](Self::notification_contact) among the contacts still live at
    /// `now` (an expired security.txt contact is as if it were not there).
    pub fn notification_contact_at(&self, now: DateTime<Utc>) -> Option<&Contact> {
        let mut live = self.contacts.iter().filter(|c| c.live_at(now));
        live.clone()
            .find(|c| c.role == ContactRole::Security)
            .or_else(|| live.next())
    }
}

/// An abuse contact found in public registry data for a network nobody registered with us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbuseContact {
    /// The abuse mailbox.
    pub email: String,
    /// The RIR object that led to it, e.g. `inetnum 198.18.0.0 - 198.18.255.255 (EXAMPLE-NET)`.
    pub via: String,
    /// The holder's name as the registry gives it (netname, as-name or org), when known.
    pub holder: Option<String>,
    /// The country the registry gives for the network or AS, else for its organisation
    /// (ISO 3166-1 alpha-2, upper case), when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// Who an event's address belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Owner {
    /// A registered organisation.
    Organisation {
        /// Its id.
        id: OrgId,
    },
    /// Nobody registered; the hosting provider's abuse contact from public registry data.
    Abuse(AbuseContact),
    /// Nobody could be found.
    Unknown,
}

/// The rule that decided an attribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The longest registered network containing the address.
    Prefix,
    /// A registered autonomous system (from the event, or from the routing table).
    Asn,
    /// A registered domain suffix of the event's host name.
    Domain,
    /// Public registry data (RPSL inetnum/inet6num or aut-num) with an abuse mailbox.
    RegistryAbuse,
    /// The organisation declared the system in its own inventory (SBOM, asset list).
    Inventory,
    /// The domain name imitates a name protected for the organisation (a lookalike).
    Lookalike,
    /// No rule matched.
    None,
}

impl Rule {
    /// Stable lower-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Prefix => "prefix",
            Rule::Asn => "asn",
            Rule::Domain => "domain",
            Rule::RegistryAbuse => "registry-abuse",
            Rule::Inventory => "inventory",
            Rule::Lookalike => "lookalike",
            Rule::None => "none",
        }
    }
}

/// The owner of an event's address, the rule that found it, and why in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    /// Who owns it.
    pub owner: Owner,
    /// Which rule decided.
    pub rule: Rule,
    /// One line a person can check, e.g. `198.18.4.7 is in 198.18.4.0/24 registered to org-17`.
    pub reason: String,
}

impl Attribution {
    /// No owner found, with the reason.
    pub fn unknown(reason: impl Into<String>) -> Self {
        Self {
            owner: Owner::Unknown,
            rule: Rule::None,
            reason: reason.into(),
        }
    }
}

/// One entry of a public prefix-to-AS table (CAIDA pfx2as, iptoasn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutedPrefix {
    /// The announced prefix.
    pub net: IpNet,
    /// The origin AS (the first one, for multi-origin prefixes).
    pub asn: u32,
}

/// What an abuse record from public registry data covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum AbuseScope {
    /// An address block (an inetnum range is split into the CIDRs that cover it exactly).
    Network(IpNet),
    /// An autonomous system (aut-num).
    Asn(u32),
}

/// An abuse mailbox from public registry data (RPSL), for what it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbuseRecord {
    /// The network or AS.
    pub scope: AbuseScope,
    /// The contact and the object that led to it.
    pub contact: AbuseContact,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn an_expired_contact_is_as_if_it_were_not_there() {
        let org = Organisation {
            id: OrgId("org-1".into()),
            name: "One".into(),
            kind: OrgKind::Organisation,
            sector: None,
            vital: false,
            wbni: WbniDuties::default(),
            supervisor: None,
            cert: None,
            networks: vec![],
            asns: vec![],
            domains: vec![],
            contacts: vec![
                Contact {
                    email: "csirt@one.example".into(),
                    expires: Some(at("2027-01-01T00:00:00Z")),
                    ..Default::default()
                },
                Contact {
                    email: "abuse@one.example".into(),
                    role: ContactRole::Abuse,
                    ..Default::default()
                },
            ],
        };
        let before = org
            .notification_contact_at(at("2026-12-31T23:59:59Z"))
            .unwrap();
        assert_eq!(before.email, "csirt@one.example");
        let after = org
            .notification_contact_at(at("2027-01-01T00:00:00Z"))
            .unwrap();
        assert_eq!(after.email, "abuse@one.example");
        let mut only = org.clone();
        only.contacts.truncate(1);
        assert!(
            only.notification_contact_at(at("2027-06-01T00:00:00Z"))
                .is_none()
        );
    }
}
