//! X-ARF v4 reports (JSON) of findings, for recipients whose contact prefers them
//! (`report_format = "xarf"`, typically a hoster's abuse desk that ingests reports
//! automatically).
//!
//! X-ARF v4 is one report per incident ("one incident = one report", no bundling), so a
//! message carries one `application/json` attachment per finding. Each report is of category
//! `vulnerability`: type `cve` (with `cve_id`, `service` and `service_port`) when the
//! finding names a CVE, else type `open_service` (with `service`). Reporter and sender are the
//! sending team (from the message's `From`); `source_identifier` is the host's address. The
//! `report_id` is a UUID (version 4 layout) derived from the message key and the finding, so
//! a message renders to the same bytes every time. [`check`] holds the spec's required fields
//! and formats, for tests and for anyone who wants to check a report.

use baken_store::Finding;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The X-ARF version written.
pub const VERSION: &str = "4.0.0";

/// Who sends the reports: the `reporter` and `sender` of X-ARF (`org`, `contact`, `domain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// The organisation's name.
    pub org: String,
    /// Its e-mail address.
    pub contact: String,
    /// Its domain.
    pub domain: String,
}

impl Sender {
    /// From a mailbox as `From` has it: `NCSC baken <baken@ncsc.example>` or a bare address
    /// (the domain then names the organisation).
    pub fn from_mailbox(mailbox: &str) -> Self {
        let (name, address) = match (mailbox.find('<'), mailbox.rfind('>')) {
            (Some(a), Some(b)) if a < b => (mailbox[..a].trim(), mailbox[a + 1..b].trim()),
            _ => ("", mailbox.trim()),
        };
        let domain = address.rsplit('@').next().unwrap_or(address).to_string();
        let name = name.trim_matches('"').trim();
        Sender {
            org: if name.is_empty() {
                domain.clone()
            } else {
                name.to_string()
            },
            contact: address.to_string(),
            domain,
        }
    }
}

/// The first CVE the finding names (its vulnerabilities, its identifier, or the incident).
fn cve_of(finding: &Finding, incident: &str) -> Option<String> {
    let candidates = [
        finding.event.get("product.vulnerabilities"),
        finding.event.get("classification.identifier"),
    ];
    let texts = candidates
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .chain(std::iter::once(incident));
    for text in texts {
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            let upper = word.to_ascii_uppercase();
            if is_cve(&upper) {
                return Some(upper);
            }
        }
    }
    None
}

/// `CVE-YYYY-N…`.
fn is_cve(text: &str) -> bool {
    let mut parts = text.splitn(3, '-');
    parts.next() == Some("CVE")
        && parts
            .next()
            .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .next()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn text(finding: &Finding, field: &str) -> Option<String> {
    match finding.event.get(field)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A UUID in the version-4 layout from the first 16 bytes of a hash of `parts`.
fn report_id(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for p in parts {
        hash.update((p.len() as u64).to_be_bytes());
        hash.update(p.as_bytes());
    }
    let mut b: [u8; 16] = hash.finalize()[..16].try_into().expect("16 bytes");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The X-ARF v4 report of one finding of `incident`, in the message with key `key`.
pub fn report(finding: &Finding, incident: &str, key: &str, sender: &Sender) -> Value {
    let contact = json!({
        "org": sender.org,
        "contact": sender.contact,
        "domain": sender.domain,
    });
    let timestamp = text(finding, "time.source").unwrap_or_else(|| {
        chrono::DateTime::from_timestamp(finding.last_seen, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    });
    let service = text(finding, "product.name")
        .or_else(|| text(finding, "protocol.application"))
        .unwrap_or_else(|| "unknown".into());
    let mut r = json!({
        "xarf_version": VERSION,
        "report_id": report_id(&[key, &finding.id.to_string()]),
        "timestamp": timestamp,
        "reporter": contact,
        "sender": contact,
        "source_identifier": text(finding, "source.ip").unwrap_or_default(),
        "category": "vulnerability",
        "evidence_source": "vulnerability_scan",
        "service": service,
        "description": format!("{incident}: found by {}", finding.provenance),
    });
    let port = finding
        .event
        .get("source.port")
        .and_then(Value::as_u64)
        .filter(|p| (1..=65535).contains(p));
    if let Some(p) = port {
        r["source_port"] = json!(p);
        r["service_port"] = json!(p);
    }
    if let Some(v) = text(finding, "product.version") {
        r["service_version"] = json!(v);
    }
    match (cve_of(finding, incident), port) {
        (Some(cve), Some(_)) => {
            r["type"] = json!("cve");
            r["cve_id"] = json!(cve);
        }
        _ => r["type"] = json!("open_service"),
    }
    r
}

/// What a report lacks or gets wrong under X-ARF v4's core schema and the `vulnerability`
/// types written here (required fields, their types and formats); empty when it is sound.
pub fn check(report: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(obj) = report.as_object() else {
        return vec!["a report is a JSON object".into()];
    };
    let string = |field: &str| obj.get(field).and_then(Value::as_str);
    for field in [
        "xarf_version",
        "report_id",
        "timestamp",
        "reporter",
        "sender",
        "source_identifier",
        "category",
        "type",
    ] {
        if !obj.contains_key(field) {
            problems.push(format!("required field `{field}` is missing"));
        }
    }
    if let Some(v) = string("xarf_version") {
        let parts: Vec<&str> = v.split('.').collect();
        let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !(parts.len() == 3 && parts[0] == "4" && numeric(parts[1]) && numeric(parts[2])) {
            problems.push(format!("xarf_version {v:?} is not 4.x.y"));
        }
    }
    if let Some(id) = string("report_id") {
        let groups: Vec<&str> = id.split('-').collect();
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        if lens != [8, 4, 4, 4, 12] || !id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()) {
            problems.push(format!("report_id {id:?} is not a UUID"));
        }
    }
    if let Some(t) = string("timestamp")
        && chrono::DateTime::parse_from_rfc3339(t).is_err()
    {
        problems.push(format!("timestamp {t:?} is not an RFC 3339 date-time"));
    }
    for who in ["reporter", "sender"] {
        if let Some(c) = obj.get(who) {
            let Some(c) = c.as_object() else {
                problems.push(format!("`{who}` is not an object"));
                continue;
            };
            for field in ["org", "contact", "domain"] {
                if !c.get(field).is_some_and(Value::is_string) {
                    problems.push(format!("`{who}.{field}` is missing"));
                }
            }
            if let Some(extra) = c
                .keys()
                .find(|k| !["org", "contact", "domain"].contains(&k.as_str()))
            {
                problems.push(format!("`{who}` has a field X-ARF does not allow: {extra}"));
            }
            if !c
                .get("contact")
                .and_then(Value::as_str)
                .is_some_and(|m| m.contains('@'))
            {
                problems.push(format!("`{who}.contact` is not an e-mail address"));
            }
        }
    }
    if string("category").is_some_and(|c| c != "vulnerability") {
        problems.push("category is not `vulnerability`".into());
    }
    let port_ok = |field: &str| {
        obj.get(field)
            .and_then(Value::as_u64)
            .is_some_and(|p| (1..=65535).contains(&p))
    };
    for field in ["source_port", "service_port"] {
        if obj.contains_key(field) && !port_ok(field) {
            problems.push(format!("`{field}` is not a port from 1 to 65535"));
        }
    }
    match string("type") {
        Some("cve") => {
            for field in ["service", "service_port", "cve_id"] {
                if !obj.contains_key(field) {
                    problems.push(format!("type cve requires `{field}`"));
                }
            }
            if let Some(id) = string("cve_id")
                && !is_cve(id)
            {
                problems.push(format!("cve_id {id:?} is not CVE-YYYY-N"));
            }
        }
        Some("open_service") if !obj.contains_key("service") => {
            problems.push("type open_service requires `service`".into());
        }
        Some("open_service") => {}
        Some(other) => problems.push(format!("type {other:?} is not one baken writes")),
        None => {}
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use baken_model::{Attribution, Event};

    fn finding(fields: &[(&'static str, Value)]) -> Finding {
        let mut event = Event::new();
        for (k, v) in fields {
            event.insert(*k, v.clone());
        }
        Finding {
            id: 7,
            event,
            partial: None,
            attribution: Attribution::unknown("test"),
            tlp: None,
            provenance: "shadowserver scan_http".into(),
            state: baken_store::FindingState::Open,
            first_seen: 1_578_636_000,
            last_seen: 1_578_636_000,
        }
    }

    fn sender() -> Sender {
        Sender::from_mailbox("NCSC baken <baken@ncsc.example>")
    }

    #[test]
    fn a_finding_with_a_cve_is_a_valid_cve_report() {
        let f = finding(&[
            ("source.ip", json!("198.18.4.7")),
            ("source.port", json!(443)),
            ("time.source", json!("2020-01-10T06:00:00+00:00")),
            ("product.name", json!("Citrix ADC")),
        ]);
        let r = report(&f, "cve-2019-19781", "k1", &sender());
        assert_eq!(check(&r), Vec::<String>::new(), "{r:#}");
        assert_eq!(r["type"], "cve");
        assert_eq!(r["cve_id"], "CVE-2019-19781");
        assert_eq!(r["source_identifier"], "198.18.4.7");
        assert_eq!(r["service_port"], 443);
        assert_eq!(r["reporter"]["org"], "NCSC baken");
        assert_eq!(r["reporter"]["domain"], "ncsc.example");
        // stable: the same message and finding give the same report id
        assert_eq!(r, report(&f, "cve-2019-19781", "k1", &sender()));
        assert_ne!(
            r["report_id"],
            report(&f, "cve-2019-19781", "k2", &sender())["report_id"]
        );
    }

    #[test]
    fn a_finding_without_a_cve_is_an_open_service_report() {
        let f = finding(&[
            ("source.ip", json!("198.18.4.8")),
            ("protocol.application", json!("rdp")),
        ]);
        let r = report(&f, "open-rdp", "k1", &sender());
        assert_eq!(check(&r), Vec::<String>::new(), "{r:#}");
        assert_eq!(r["type"], "open_service");
        assert_eq!(r["service"], "rdp");
        assert_eq!(r["timestamp"], "2020-01-10T06:00:00Z");
    }

    #[test]
    fn the_checks_can_fail() {
        let f = finding(&[
            ("source.ip", json!("198.18.4.7")),
            ("source.port", json!(443)),
        ]);
        let good = report(&f, "cve-2019-19781", "k1", &sender());
        let broken = |change: &dyn Fn(&mut Value), needle: &str| {
            let mut r = good.clone();
            change(&mut r);
            let problems = check(&r);
            assert!(
                problems.iter().any(|p| p.contains(needle)),
                "{problems:?} lacks {needle:?}"
            );
        };
        broken(
            &|r| drop(r.as_object_mut().unwrap().remove("sender")),
            "`sender`",
        );
        broken(&|r| r["xarf_version"] = json!("3.0"), "4.x.y");
        broken(&|r| r["report_id"] = json!("42"), "UUID");
        broken(&|r| r["timestamp"] = json!("yesterday"), "RFC 3339");
        broken(&|r| r["cve_id"] = json!("CVE-19781"), "CVE-YYYY-N");
        broken(
            &|r| drop(r.as_object_mut().unwrap().remove("service_port")),
            "service_port",
        );
        broken(&|r| r["reporter"]["phone"] = json!("1"), "does not allow");
        broken(&|r| r["source_port"] = json!(0), "port");
    }
}
