//! MISP events, as MISP's JSON export and PyMISP's `MISPEvent` write them.
//!
//! | what baken knows               | MISP                                                          |
//! |--------------------------------|---------------------------------------------------------------|
//! | the incident (a CVE)           | a `vulnerability` attribute, and a `vulnerability` object (`id`, `cvss-score`, `cvss-string`, `summary`, `references`) |
//! | a finding                      | an `ip-port` object: `ip` (`ip-dst`, or `domain`), `dst-port`, `protocol`, `first-seen` / `last-seen`, tagged with its TLP label |
//! | counts only                    | a `text` attribute per sector, no address                     |
//! | the export's TLP label         | the event's `tlp:` tag (the most restrictive label it carries)|
//! | the policy's form and TLP      | the event's `distribution` ([`Distribution`])                 |
//!
//! Object templates are MISP's own (`misp-objects`): `ip-port` version 10 and `vulnerability`
//! version 12.

use baken_model::Tlp;
use serde_json::{Value, json};

use crate::{Export, ExportedFinding, stable_uuid, timestamp};

/// MISP's `distribution` of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Distribution {
    /// `0`: the recipient's organisation only.
    OrganisationOnly,
    /// `1`: the recipient's community.
    Community,
    /// `2`: connected communities.
    Connected,
    /// `3`: all communities.
    All,
}

impl Distribution {
    /// What `tlp` lets a recipient pass on: CLEAR to all, GREEN to its community, AMBER and
    /// stricter to its own organisation.
    pub fn of_tlp(tlp: Tlp) -> Self {
        match tlp {
            Tlp::Clear => Distribution::All,
            Tlp::Green => Distribution::Community,
            Tlp::Amber | Tlp::AmberStrict | Tlp::Red => Distribution::OrganisationOnly,
        }
    }

    /// What a sharing form lets a recipient pass on, no more than its TLP label does: its own
    /// assets stay in its organisation; findings about others (a CERT's constituents) and
    /// counts go as far as the label allows.
    pub fn of(form: &str, tlp: Tlp) -> Self {
        let by_tlp = Self::of_tlp(tlp);
        match form {
            "own-assets" => Distribution::OrganisationOnly,
            _ => by_tlp,
        }
    }

    /// The number MISP writes.
    pub fn code(self) -> &'static str {
        match self {
            Distribution::OrganisationOnly => "0",
            Distribution::Community => "1",
            Distribution::Connected => "2",
            Distribution::All => "3",
        }
    }
}

/// The MISP tag of `tlp` (`tlp:amber+strict`).
pub fn tlp_tag(tlp: Tlp) -> String {
    tlp.label().to_ascii_lowercase()
}

fn attribute(key: &str, kind: &str, category: &str, relation: Option<&str>, value: &str) -> Value {
    let mut a = json!({
        "uuid": stable_uuid(&format!("misp|attribute|{key}|{}|{value}", relation.unwrap_or(kind))).to_string(),
        "type": kind,
        "category": category,
        "value": value,
        "to_ids": false,
        "distribution": "5",
        "disable_correlation": false,
    });
    if let Some(r) = relation {
        a["object_relation"] = json!(r);
    }
    a
}

fn ip_port(export: &Export, f: &ExportedFinding) -> Value {
    let key = format!("{}|{}", export.incident.to_ascii_lowercase(), f.key());
    let is_ip = f.address.parse::<std::net::IpAddr>().is_ok();
    let mut attributes = vec![if is_ip {
        attribute(&key, "ip-dst", "Network activity", Some("ip"), &f.address)
    } else {
        attribute(
            &key,
            "domain",
            "Network activity",
            Some("domain"),
            &f.address,
        )
    }];
    if let Some(port) = f.port {
        attributes.push(attribute(
            &key,
            "port",
            "Network activity",
            Some("dst-port"),
            &port.to_string(),
        ));
    }
    if let Some(t) = &f.transport {
        attributes.push(attribute(
            &key,
            "text",
            "Network activity",
            Some("protocol"),
            t,
        ));
    }
    attributes.push(attribute(
        &key,
        "datetime",
        "Other",
        Some("first-seen"),
        &timestamp(f.first_seen),
    ));
    attributes.push(attribute(
        &key,
        "datetime",
        "Other",
        Some("last-seen"),
        &timestamp(f.last_seen),
    ));
    let tag = json!([{"name": tlp_tag(f.tlp)}]);
    for a in &mut attributes {
        a["Tag"] = tag.clone();
    }
    json!({
        "uuid": stable_uuid(&format!("misp|object|{key}")).to_string(),
        "name": "ip-port",
        "meta-category": "network",
        "description": "An IP address (or domain) and a port seen as a tuple (or as a triple) in a specific time frame.",
        "template_uuid": "9f8cea74-16fe-4968-a2b4-026676949ac6",
        "template_version": "10",
        "distribution": "5",
        "comment": format!(
            "{} of {}: seen {} times ({})",
            export.incident, f.about, f.times_seen, f.form
        ),
        "first_seen": timestamp(f.first_seen),
        "last_seen": timestamp(f.last_seen),
        "Attribute": attributes,
    })
}

/// The event of `export`: `{"Event": {…}}`.
pub fn event(export: &Export) -> Value {
    let incident = export.incident.to_ascii_lowercase();
    let recipient = export.recipient.as_deref().unwrap_or("analysts");
    let name = export.cve().unwrap_or_else(|| export.incident.clone());
    let mut attributes = Vec::new();
    let mut objects = Vec::new();
    let advisory = export.vulnerability.as_ref();
    if let Some(cve) = export.cve() {
        attributes.push(attribute(
            &incident,
            "vulnerability",
            "External analysis",
            None,
            &cve,
        ));
        let mut v = vec![attribute(
            &incident,
            "vulnerability",
            "External analysis",
            Some("id"),
            &cve,
        )];
        if let Some(score) = advisory.and_then(|a| a.score.as_ref()) {
            v.push(attribute(
                &incident,
                "float",
                "Other",
                Some("cvss-score"),
                &score.base_score,
            ));
            v.push(attribute(
                &incident,
                "text",
                "Other",
                Some("cvss-string"),
                &score.vector,
            ));
        }
        if let Some(title) = advisory.and_then(|a| a.title.as_ref()) {
            v.push(attribute(
                &incident,
                "text",
                "Other",
                Some("summary"),
                title,
            ));
        }
        for r in advisory.map(|a| a.remediations.as_slice()).unwrap_or(&[]) {
            if let Some(url) = &r.url {
                v.push(attribute(
                    &incident,
                    "link",
                    "External analysis",
                    Some("references"),
                    url,
                ));
            }
        }
        objects.push(json!({
            "uuid": stable_uuid(&format!("misp|object|{incident}|vulnerability")).to_string(),
            "name": "vulnerability",
            "meta-category": "vulnerability",
            "description": "Vulnerability object describing a common vulnerability enumeration which can describe published, unpublished, under review or embargo vulnerabilities for software, equipments or hardware.",
            "template_uuid": "81650945-f186-437b-8945-9f31715d32da",
            "template_version": "12",
            "distribution": "5",
            "comment": "",
            "Attribute": v,
        }));
    }
    for r in advisory.map(|a| a.remediations.as_slice()).unwrap_or(&[]) {
        let mut a = attribute(
            &incident,
            "text",
            "External analysis",
            None,
            &format!("{}: {}", r.category.replace('_', " "), r.details),
        );
        a["comment"] = json!("what to do");
        attributes.push(a);
    }
    for f in &export.findings {
        objects.push(ip_port(export, f));
    }
    for c in &export.counts {
        let mut a = attribute(
            &format!("{incident}|{recipient}|counts"),
            "text",
            "Other",
            None,
            &format!(
                "sector {}: {} {} affected, {} findings",
                c.sector,
                c.organisations,
                if c.organisations == "1" {
                    "organisation"
                } else {
                    "organisations"
                },
                c.findings
            ),
        );
        a["comment"] = json!("counts only: the sharing policy lets the recipient know no more");
        attributes.push(a);
    }
    let threat_level = match advisory
        .and_then(|a| a.score.as_ref())
        .and_then(|s| s.base_score.parse::<f64>().ok())
    {
        Some(s) if s >= 7.0 => "1",
        Some(s) if s >= 4.0 => "2",
        Some(_) => "3",
        None => "4",
    };
    let title = advisory
        .and_then(|a| a.title.clone())
        .map(|t| format!(": {t}"))
        .unwrap_or_default();
    json!({
        "Event": {
            "uuid": stable_uuid(&format!("misp|event|{recipient}|{incident}")).to_string(),
            "info": format!("{name}{title} (for {recipient})"),
            "date": export.since.format("%Y-%m-%d").to_string(),
            "timestamp": export.generated_at.timestamp().to_string(),
            "published": false,
            "analysis": "2",
            "threat_level_id": threat_level,
            "distribution": export.distribution.code(),
            "Orgc": {
                "name": export.producer,
                "uuid": stable_uuid(&format!("misp|org|{}", export.producer)).to_string(),
            },
            "Tag": [{"name": tlp_tag(export.tlp)}],
            "Attribute": attributes,
            "Object": objects,
        }
    })
}
