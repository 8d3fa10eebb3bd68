//! STIX 2.1 bundles.
//!
//! | what baken knows                 | STIX 2.1                                                    |
//! |----------------------------------|-------------------------------------------------------------|
//! | the incident (a CVE)             | `vulnerability`, the CVE as an external reference (`cve`), the CVSS vector and score as one more (`cvss`, with FIRST's calculator URL) |
//! | a finding's address              | `ipv4-addr` / `ipv6-addr` (or `domain-name`)                |
//! | its port and transport           | `network-traffic` (`dst_ref`, `dst_port`, `protocols`)      |
//! | its observations                 | `observed-data` of the two, and a `sighting` of the vulnerability with `first_seen`, `last_seen` and `count` |
//! | the advisory's remediations      | `course-of-action`, `remediates` (vendor fixes) or `mitigates` the vulnerability |
//! | counts a recipient may only see as counts | a `note` per sector about the vulnerability, no address |
//! | TLP labels                       | the TLP 2.0 `marking-definition`s of the OASIS extension (`extension-definition--60a3c5c5-…`) |
//! | the CSIRT running baken          | the producer `identity`, `created_by_ref` of every object   |
//!
//! Observables carry the ids STIX 2.1 (section 2.9) prescribes: UUIDv5 in the STIX namespace
//! over the canonical JSON of their id-contributing properties. Every other object's id is a
//! UUIDv5 over a stable key (see [`crate::stable_uuid`]).

use baken_model::Tlp;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Export, ExportedFinding, stable_uuid, timestamp};

/// The id of the OASIS TLP 2.0 extension definition.
pub const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// The STIX 2.1 namespace of observables' UUIDv5 ids.
const SCO_NAMESPACE: Uuid = uuid::uuid!("00abedb4-aa42-466c-9c01-fed23315a9b7");

/// The official TLP 2.0 marking definition object of `tlp`.
pub fn tlp_marking(tlp: Tlp) -> Value {
    let level = match tlp {
        Tlp::Clear => "clear",
        Tlp::Green => "green",
        Tlp::Amber => "amber",
        Tlp::AmberStrict => "amber+strict",
        Tlp::Red => "red",
    };
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": tlp.stix_marking_id(),
        "created": "2022-10-01T00:00:00.000Z",
        "name": tlp.label(),
        "extensions": {
            TLP2_EXTENSION: {
                "extension_type": "property-extension",
                "tlp_2_0": level,
            }
        }
    })
}

/// An observable's id: `type--` and the UUIDv5 (STIX namespace) of `canonical`, the JSON of
/// its id-contributing properties with sorted keys and no white space (RFC 8785).
fn sco_id(kind: &str, canonical: &str) -> String {
    format!(
        "{kind}--{}",
        Uuid::new_v5(&SCO_NAMESPACE, canonical.as_bytes())
    )
}

/// The id of an object of `kind` named by `key`.
fn sdo_id(kind: &str, key: &str) -> String {
    format!("{kind}--{}", stable_uuid(&format!("stix|{kind}|{key}")))
}

/// The address observable of a finding: `ipv4-addr`, `ipv6-addr` or `domain-name`.
fn address(f: &ExportedFinding) -> Value {
    let kind = match f.address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => "ipv4-addr",
        Ok(std::net::IpAddr::V6(_)) => "ipv6-addr",
        Err(_) => "domain-name",
    };
    let value = Value::String(f.address.clone());
    json!({
        "type": kind,
        "spec_version": "2.1",
        "id": sco_id(kind, &format!("{{\"value\":{value}}}")),
        "value": value,
    })
}

/// The protocols of a finding's traffic: its transport, else the address family.
fn protocols(f: &ExportedFinding) -> Vec<String> {
    match &f.transport {
        Some(t) if !t.is_empty() => vec![t.to_ascii_lowercase()],
        _ if f.address.contains(':') => vec!["ipv6".into()],
        _ => vec!["ipv4".into()],
    }
}

/// The bundle of `export`.
pub fn bundle(export: &Export) -> Value {
    let producer = sdo_id("identity", &export.producer);
    let since = timestamp(export.since);
    let export_tlp = export.tlp;
    let mut objects = Vec::new();
    let mut tlps = vec![export_tlp];
    let marked = |tlp: Tlp| json!([tlp.stix_marking_id()]);

    objects.push(json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": producer,
        "created": since,
        "modified": since,
        "name": export.producer,
        "identity_class": "organization",
        "sectors": ["government-national"],
    }));

    // the vulnerability
    let cve = export.cve();
    let vulnerability = sdo_id("vulnerability", &export.incident.to_ascii_lowercase());
    let mut references = Vec::new();
    if let Some(cve) = &cve {
        references.push(json!({"source_name": "cve", "external_id": cve}));
    }
    let advisory = export.vulnerability.as_ref();
    if let Some(score) = advisory.and_then(|v| v.score.as_ref()) {
        let version = score.version.as_deref().unwrap_or("CVSS");
        let mut reference = json!({
            "source_name": "cvss",
            "description": format!("{version} base score {} {}: {}", score.base_score, score.severity, score.vector)
                .replace("  ", " "),
            "external_id": score.vector,
        });
        let calculator = [
            ("CVSS:3.0/", "3.0"),
            ("CVSS:3.1/", "3.1"),
            ("CVSS:4.0/", "4.0"),
        ]
        .into_iter()
        .find(|(prefix, _)| score.vector.starts_with(prefix));
        if let Some((_, v)) = calculator {
            reference["url"] = json!(format!(
                "https://www.first.org/cvss/calculator/{v}#{}",
                score.vector
            ));
        }
        references.push(reference);
    }
    let mut vuln = json!({
        "type": "vulnerability",
        "spec_version": "2.1",
        "id": vulnerability,
        "created_by_ref": producer,
        "created": since,
        "modified": since,
        "name": cve.clone().unwrap_or_else(|| export.incident.clone()),
        "object_marking_refs": marked(Tlp::Clear),
    });
    if let Some(title) = advisory.and_then(|v| v.title.as_ref()) {
        vuln["description"] = json!(title);
    }
    if !references.is_empty() {
        vuln["external_references"] = json!(references);
    }
    tlps.push(Tlp::Clear);
    objects.push(vuln);

    // what to do
    for r in advisory.map(|v| v.remediations.as_slice()).unwrap_or(&[]) {
        let key = format!("{}|{}|{}", export.incident, r.category, r.details);
        let id = sdo_id("course-of-action", &key);
        let name: String = r.details.chars().take(80).collect();
        let mut coa = json!({
            "type": "course-of-action",
            "spec_version": "2.1",
            "id": id,
            "created_by_ref": producer,
            "created": since,
            "modified": since,
            "name": format!("{}: {name}", r.category.replace('_', " ")),
            "description": r.details,
            "object_marking_refs": marked(Tlp::Clear),
        });
        if let Some(url) = &r.url {
            coa["external_references"] = json!([{"source_name": r.category, "url": url}]);
        }
        objects.push(coa);
        let kind = if r.category == "vendor_fix" {
            "remediates"
        } else {
            "mitigates"
        };
        objects.push(json!({
            "type": "relationship",
            "spec_version": "2.1",
            "id": sdo_id("relationship", &format!("{key}|{kind}")),
            "created_by_ref": producer,
            "created": since,
            "modified": since,
            "relationship_type": kind,
            "source_ref": id,
            "target_ref": vulnerability,
            "object_marking_refs": marked(Tlp::Clear),
        }));
    }

    // the findings: what was seen where
    for f in &export.findings {
        tlps.push(f.tlp);
        let key = format!("{}|{}", export.incident.to_ascii_lowercase(), f.key());
        let addr = address(f);
        let addr_id = addr["id"].as_str().unwrap_or_default().to_string();
        let protocols = protocols(f);
        let mut canonical = String::from("{");
        if let Some(port) = f.port {
            canonical += &format!("\"dst_port\":{port},");
        }
        canonical += &format!(
            "\"dst_ref\":{},\"protocols\":{}}}",
            Value::String(addr_id.clone()),
            json!(protocols)
        );
        let traffic_id = sco_id("network-traffic", &canonical);
        let mut traffic = json!({
            "type": "network-traffic",
            "spec_version": "2.1",
            "id": traffic_id,
            "dst_ref": addr_id,
            "protocols": protocols,
        });
        if let Some(port) = f.port {
            traffic["dst_port"] = json!(port);
        }
        let (first, last) = (timestamp(f.first_seen), timestamp(f.last_seen));
        let count = f.times_seen.clamp(1, 999_999_999);
        let observed = sdo_id("observed-data", &key);
        objects.push(addr);
        objects.push(traffic);
        objects.push(json!({
            "type": "observed-data",
            "spec_version": "2.1",
            "id": observed,
            "created_by_ref": producer,
            "created": first,
            "modified": last,
            "first_observed": first,
            "last_observed": last,
            "number_observed": count,
            "object_refs": [addr_id, traffic_id],
            "object_marking_refs": marked(f.tlp),
        }));
        objects.push(json!({
            "type": "sighting",
            "spec_version": "2.1",
            "id": sdo_id("sighting", &key),
            "created_by_ref": producer,
            "created": first,
            "modified": last,
            "first_seen": first,
            "last_seen": last,
            "count": count,
            "sighting_of_ref": vulnerability,
            "observed_data_refs": [observed],
            "where_sighted_refs": [producer],
            "object_marking_refs": marked(f.tlp),
        }));
    }

    // what may be known only as counts
    let now = timestamp(export.generated_at);
    for c in &export.counts {
        let orgs = if c.organisations == "1" {
            "organisation"
        } else {
            "organisations"
        };
        let text = format!(
            "sector {}: {} {orgs} affected, {} findings",
            c.sector, c.organisations, c.findings
        );
        objects.push(json!({
            "type": "note",
            "spec_version": "2.1",
            "id": sdo_id("note", &format!(
                "{}|{}|{}",
                export.recipient.as_deref().unwrap_or("-"),
                export.incident,
                c.sector
            )),
            "created_by_ref": producer,
            "created": now,
            "modified": now,
            "abstract": text,
            "content": format!("{text} (counts only: the sharing policy lets the recipient know no more)"),
            "object_refs": [vulnerability],
            "object_marking_refs": marked(export_tlp),
        }));
    }

    tlps.sort();
    tlps.dedup();
    let mut all: Vec<Value> = tlps.into_iter().map(tlp_marking).collect();
    all.extend(objects);
    json!({
        "type": "bundle",
        "id": format!("bundle--{}", stable_uuid(&format!(
            "stix|bundle|{}|{}",
            export.recipient.as_deref().unwrap_or("-"),
            export.incident.to_ascii_lowercase()
        ))),
        "objects": all,
    })
}
