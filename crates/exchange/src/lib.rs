//! What baken hands to peers, in their formats: STIX 2.1 bundles ([`stix`]), MISP events
//! ([`misp`]) and IntelMQ events ([`intelmq`]).
//!
//! This crate only writes formats. What goes into an [`Export`] — which findings, in which
//! form, counts instead of findings — is decided before, by the same sharing decision that
//! decides a mail (`baken-app`'s exports); a builder never adds what it was not handed.
//!
//! Ids are deterministic: STIX objects and MISP events are named by UUIDv5 over stable keys
//! (the incident, an address, port and transport), and cyber observables by the UUIDv5 the
//! STIX 2.1 specification prescribes, so exporting the same record twice names the same
//! objects.
//!
//! ```
//! use baken_exchange::{Export, ExportedFinding, stix};
//! use baken_model::Tlp;
//! let at = chrono::DateTime::parse_from_rfc3339("2020-01-10T09:00:00Z").unwrap().to_utc();
//! let export = Export {
//!     incident: "cve-2019-19781".into(),
//!     producer: "NCSC-NL".into(),
//!     recipient: Some("org-17".into()),
//!     since: at,
//!     generated_at: at,
//!     vulnerability: None,
//!     findings: vec![ExportedFinding {
//!         address: "198.18.4.7".into(),
//!         port: Some(443),
//!         transport: Some("tcp".into()),
//!         first_seen: at,
//!         last_seen: at,
//!         times_seen: 1,
//!         tlp: Tlp::Amber,
//!         about: "org-17".into(),
//!         form: "own-assets".into(),
//!     }],
//!     counts: vec![],
//!     distribution: baken_exchange::misp::Distribution::OrganisationOnly,
//!     tlp: Tlp::Amber,
//! };
//! let bundle = stix::bundle(&export);
//! assert_eq!(bundle["type"], "bundle");
//! ```

pub mod intelmq;
pub mod misp;
pub mod stix;

use baken_model::Tlp;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Everything one export holds: what the sharing decision let out for one recipient.
#[derive(Debug, Clone)]
pub struct Export {
    /// The incident (`cve-2019-19781`, or a feed classification).
    pub incident: String,
    /// Who produces the export (the CSIRT running baken), as its name.
    pub producer: String,
    /// The party it is for (its key), or `None` for the analysts' own use.
    pub recipient: Option<String>,
    /// When the incident was first seen: the stable creation time of the objects that
    /// describe the incident itself (vulnerability, remediation, producer).
    pub since: DateTime<Utc>,
    /// When the export was made: the time of objects that summarise the record now (counts).
    pub generated_at: DateTime<Utc>,
    /// What the advisory behind the incident says, when one is imported.
    pub vulnerability: Option<Vulnerability>,
    /// The findings the recipient may see, in the form it may see them.
    pub findings: Vec<ExportedFinding>,
    /// What it may see only as counts.
    pub counts: Vec<Count>,
    /// The MISP distribution the policy's form and TLP allow.
    pub distribution: misp::Distribution,
    /// The label of the whole: the most restrictive of what it carries.
    pub tlp: Tlp,
}

impl Export {
    /// The CVE the incident is, in upper case, when it is one.
    pub fn cve(&self) -> Option<String> {
        let upper = self.incident.to_ascii_uppercase();
        upper.starts_with("CVE-").then_some(upper)
    }
}

/// What an advisory says about the incident.
#[derive(Debug, Clone, Default)]
pub struct Vulnerability {
    /// Its title.
    pub title: Option<String>,
    /// Its highest CVSS score.
    pub score: Option<Cvss>,
    /// What to do.
    pub remediations: Vec<Remediation>,
}

/// A CVSS score.
#[derive(Debug, Clone)]
pub struct Cvss {
    /// `CVSS v3.1`, when computed from the vector.
    pub version: Option<String>,
    /// The base score, one decimal.
    pub base_score: String,
    /// The qualitative rating (`CRITICAL`), or empty.
    pub severity: String,
    /// The vector (`CVSS:3.1/AV:N/…`).
    pub vector: String,
}

/// One remediation.
#[derive(Debug, Clone)]
pub struct Remediation {
    /// CSAF's category (`vendor_fix`, `mitigation`, `workaround`, …).
    pub category: String,
    /// What to do.
    pub details: String,
    /// Where it is described.
    pub url: Option<String>,
}

/// One finding as it may leave: a vulnerable service of one party.
#[derive(Debug, Clone)]
pub struct ExportedFinding {
    /// The address (an IP address, else a host name).
    pub address: String,
    /// The port.
    pub port: Option<u16>,
    /// The transport (`tcp`, `udp`).
    pub transport: Option<String>,
    /// First seen.
    pub first_seen: DateTime<Utc>,
    /// Last seen.
    pub last_seen: DateTime<Utc>,
    /// How often it was seen.
    pub times_seen: u64,
    /// Its TLP label.
    pub tlp: Tlp,
    /// The party it is about (its key).
    pub about: String,
    /// The form the policy allows (`full`, `own-assets`).
    pub form: String,
}

impl ExportedFinding {
    /// The stable key of the service: address, port and transport.
    fn key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.address,
            self.port.map(|p| p.to_string()).unwrap_or_default(),
            self.transport.as_deref().unwrap_or("")
        )
    }
}

/// Findings of one sector counted, never named.
#[derive(Debug, Clone)]
pub struct Count {
    /// The sector (`-` when the registry names none).
    pub sector: String,
    /// Organisations affected, as published: `12`, or `<5` below the policy's small-count
    /// threshold.
    pub organisations: String,
    /// Their findings, published the same way.
    pub findings: String,
}

/// The namespace of baken's own UUIDv5 ids.
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"urn:baken:exchange")
}

/// A UUIDv5 in baken's namespace over `key`.
pub fn stable_uuid(key: &str) -> Uuid {
    Uuid::new_v5(&namespace(), key.as_bytes())
}

/// A time as STIX and MISP write it: UTC, milliseconds, `Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use misp::Distribution;

    fn at(t: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(t).unwrap().to_utc()
    }

    fn export(findings: Vec<ExportedFinding>, counts: Vec<Count>, now: &str) -> Export {
        Export {
            incident: "cve-2019-19781".into(),
            producer: "NCSC-NL".into(),
            recipient: Some("igj".into()),
            since: at("2020-01-10T06:00:00Z"),
            generated_at: at(now),
            vulnerability: None,
            findings,
            counts,
            distribution: Distribution::OrganisationOnly,
            tlp: Tlp::Amber,
        }
    }

    fn finding(address: &str, tlp: Tlp) -> ExportedFinding {
        ExportedFinding {
            address: address.into(),
            port: Some(443),
            transport: Some("tcp".into()),
            first_seen: at("2020-01-10T06:00:00Z"),
            last_seen: at("2020-01-12T06:00:00Z"),
            times_seen: 2,
            tlp,
            about: "org-a".into(),
            form: "own-assets".into(),
        }
    }

    #[test]
    fn counts_leave_without_an_address() {
        let counts = vec![Count {
            sector: "health".into(),
            organisations: "2".into(),
            findings: "5".into(),
        }];
        let e = export(vec![], counts, "2026-03-24T00:00:00Z");
        let bundle = stix::bundle(&e).to_string();
        for kind in ["ipv4-addr", "ipv6-addr", "network-traffic", "sighting"] {
            assert!(
                !bundle.contains(&format!("\"{kind}--")),
                "{kind} in {bundle}"
            );
        }
        assert!(bundle.contains("sector health: 2 organisations affected, 5 findings"));
        let event = misp::event(&e).to_string();
        assert!(!event.contains("ip-port") && !event.contains("ip-dst"));
        let events = intelmq::count_events(&e);
        assert_eq!(events.len(), 1);
        assert!(events[0].source_ip().is_none());
    }

    #[test]
    fn ids_stay_the_same_on_a_later_export() {
        let findings = vec![
            finding("198.18.1.1", Tlp::Amber),
            finding("2001:db8::1", Tlp::Red),
        ];
        let ids = |now: &str| -> Vec<String> {
            stix::bundle(&export(findings.clone(), vec![], now))["objects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(ids("2026-03-24T00:00:00Z"), ids("2026-05-01T00:00:00Z"));
        // each finding carries its own label
        let bundle = stix::bundle(&export(findings, vec![], "2026-03-24T00:00:00Z"));
        let marked: Vec<&str> = bundle["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["type"] == "sighting")
            .map(|o| o["object_marking_refs"][0].as_str().unwrap())
            .collect();
        assert_eq!(
            marked,
            [Tlp::Amber.stix_marking_id(), Tlp::Red.stix_marking_id()]
        );
    }

    #[test]
    fn distribution_is_no_wider_than_form_and_label() {
        assert_eq!(
            Distribution::of("own-assets", Tlp::Clear),
            Distribution::OrganisationOnly
        );
        assert_eq!(Distribution::of("full", Tlp::Clear), Distribution::All);
        assert_eq!(
            Distribution::of("full", Tlp::Green),
            Distribution::Community
        );
        for tlp in [Tlp::Amber, Tlp::AmberStrict, Tlp::Red] {
            assert_eq!(
                Distribution::of("full", tlp),
                Distribution::OrganisationOnly
            );
        }
        assert_eq!(Distribution::OrganisationOnly.code(), "0");
    }
}
