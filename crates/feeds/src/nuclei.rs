//! nuclei results, as `nuclei -jsonl` writes them: one finding per line.
//!
//! Each finding becomes one event:
//!
//! | nuclei                              | event                                              |
//! |-------------------------------------|----------------------------------------------------|
//! | `ip`, else `host` when it is an IP  | `source.ip`                                        |
//! | `host` when it is a name            | `source.fqdn` (lower case, no trailing dot)        |
//! | `port`, else the port in `host` / `matched-at` / `url`, else 80 / 443 for http / https | `source.port` |
//! | `matched-at` when a URL, else `url` | `source.url`; a `matched-at` that is no URL goes to `extra.matched_at` |
//! | `scheme`, else the URL's scheme     | `protocol.application`                             |
//! | `type` `http`, `ssl`, `tcp`, `websocket`, `headless` | `protocol.transport` = `tcp`      |
//! | `timestamp`                         | `time.source` (UTC, `+00:00`)                      |
//! | `template-id`                       | `classification.identifier`                        |
//! | `info.classification.cve-id`, else a CVE `template-id` | `product.vulnerabilities`: lower case, sorted, `;`-separated, as IntelMQ's Shadowserver parser writes them |
//! | `info.severity`                     | `severity` (`unknown` → `undefined`)               |
//! | `info.metadata.vendor` / `product`  | `product.vendor` / `product.name` (lower case)     |
//! | `info.name`                         | `extra.template_name`                              |
//! | `info.classification.cvss-score` / `cvss-metrics` / `epss-score` / `cwe-id` | `extra.cvss_score` / `extra.cvss_metrics` / `extra.epss_score` / `extra.cwe_ids` |
//! | `info.tags`, `info.reference`       | `extra.tags`, `extra.references` (lists)           |
//! | `matcher-name`, `extractor-name`, `extracted-results`, `type` | `extra.matcher_name`, `extra.extractor_name`, `extra.extracted_results`, `extra.template_type` |
//!
//! The classification follows IntelMQ's taxonomy, decided from the template's directory in the
//! nuclei-templates tree (`template` / `template-path`), then its CVEs and tags:
//!
//! | finding                                               | taxonomy / type                        |
//! |-------------------------------------------------------|----------------------------------------|
//! | has a CVE; `cves/`, `vulnerabilities/`, `default-logins/`, `cnvd/` | `vulnerable` / `vulnerable-system` |
//! | `exposed-panels/` or tag `panel`                      | `vulnerable` / `potentially-unwanted-accessible` |
//! | `misconfiguration/`, `misconfig/` or tag `misconfig`              | `vulnerable` / `misconfiguration`      |
//! | `exposures/` or tag `exposure`                        | `vulnerable` / `information-disclosure`|
//! | `type` `ssl` with severity above `info`               | `vulnerable` / `weak-crypto`           |
//! | any other finding with severity above `info`          | `vulnerable` / `vulnerable-system`     |
//! | any other `info` finding (technology detection, …)    | `other` / `other`, as Shadowserver's `accessible-*` reports |
//!
//! A line is rejected when it is not a JSON object, lacks `template-id`, has an `ip`, `port`
//! or `timestamp` that does not parse, or names no target at all (`ip`, `host`, `url`).

use std::net::IpAddr;
use std::path::Path;

use serde_json::{Map, Value};

use crate::intelmq::jsonl::{self, Reject};
use crate::{Event, FeedError, Options, Rows};

/// `feed.name` of nuclei events.
pub const FEED_NAME: &str = "nuclei";

/// Opens a file of nuclei JSON lines (`nuclei -jsonl -o FILE`).
pub fn open(path: &Path, options: &Options) -> Result<Rows, FeedError> {
    let stamp = jsonl::Stamp::new(options, FEED_NAME);
    jsonl::open(path, move |line| {
        let mut event = parse_line(line)?;
        stamp.apply(&mut event, line);
        Ok(vec![event])
    })
}

/// Parses lines from `text`, as [`open`] parses a file.
pub fn read_text(text: Vec<u8>, options: &Options) -> Rows {
    let stamp = jsonl::Stamp::new(options, FEED_NAME);
    jsonl::read(Box::new(std::io::Cursor::new(text)), move |line| {
        let mut event = parse_line(line)?;
        stamp.apply(&mut event, line);
        Ok(vec![event])
    })
}

/// Parses one finding into an event (without the per-file stamp).
fn parse_line(line: &str) -> Result<Event, Reject> {
    let object = jsonl::parse_object(line)?;
    let empty = Map::new();
    let info = object
        .get("info")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let classification = info
        .get("classification")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut event = Event::new();

    let template_id = text(&object, "template-id")
        .ok_or_else(|| Reject::field("template-id", "missing or empty"))?;
    event.insert("classification.identifier", template_id);

    // where: IP, name, port, URL
    let host = text(&object, "host").map(Target::parse);
    let matched_at = text(&object, "matched-at");
    let matched_url = matched_at.filter(|m| m.contains("://")).map(Target::parse);
    let base_url = text(&object, "url")
        .filter(|u| u.contains("://"))
        .map(Target::parse);
    if let Some(ip) = text(&object, "ip") {
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| Reject::field("ip", format!("not an ip address: {ip:?}")))?;
        event.insert("source.ip", ip.to_string());
    }
    if let Some(host) = &host {
        match host.host.parse::<IpAddr>() {
            Ok(ip) if !event.contains("source.ip") => event.insert("source.ip", ip.to_string()),
            Ok(_) => {}
            Err(_) if !host.host.is_empty() => {
                event.insert(
                    "source.fqdn",
                    host.host.trim_end_matches('.').to_lowercase(),
                );
            }
            Err(_) => {}
        }
    }
    let url = matched_url.as_ref().or(base_url.as_ref());
    match (matched_at, &matched_url) {
        (Some(_), Some(m)) => event.insert("source.url", m.text.clone()),
        (Some(m), None) => {
            event.insert("extra.matched_at", m);
            if let Some(u) = &base_url {
                event.insert("source.url", u.text.clone());
            }
        }
        (None, _) => {
            if let Some(u) = &base_url {
                event.insert("source.url", u.text.clone());
            }
        }
    }
    if !event.contains("source.ip") && !event.contains("source.fqdn") {
        match url.map(|u| u.host.as_str()) {
            Some(name) if !name.is_empty() => match name.parse::<IpAddr>() {
                Ok(ip) => event.insert("source.ip", ip.to_string()),
                Err(_) => event.insert("source.fqdn", name.trim_end_matches('.').to_lowercase()),
            },
            _ => {
                return Err(Reject::field(
                    "host",
                    "no target: none of ip, host, url is set",
                ));
            }
        }
    }
    let scheme = text(&object, "scheme")
        .map(str::to_ascii_lowercase)
        .or_else(|| url.and_then(|u| u.scheme.clone()))
        .or_else(|| host.as_ref().and_then(|h| h.scheme.clone()));
    let port =
        match object.get("port") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(value) => Some(port(value).ok_or_else(|| {
                Reject::field("port", format!("not a port number 0-65535: {value}"))
            })?),
        };
    let port = port
        .or_else(|| host.as_ref().and_then(|h| h.port))
        .or_else(|| url.and_then(|u| u.port))
        .or(match scheme.as_deref() {
            Some("http") => Some(80),
            Some("https") => Some(443),
            _ => None,
        });
    if let Some(port) = port {
        event.insert("source.port", port);
    }
    if let Some(scheme) = scheme {
        event.insert("protocol.application", scheme);
    }
    let kind = text(&object, "type").map(str::to_ascii_lowercase);
    if let Some(kind) = &kind {
        if matches!(
            kind.as_str(),
            "http" | "ssl" | "tcp" | "network" | "websocket" | "headless"
        ) {
            event.insert("protocol.transport", "tcp");
        }
        event.insert("extra.template_type", kind.clone());
    }

    // when
    if let Some(value) = object.get("timestamp").filter(|v| !v.is_null()) {
        let time = value
            .as_str()
            .and_then(jsonl::normalise_time)
            .ok_or_else(|| Reject::field("timestamp", format!("not an iso 8601 time: {value}")))?;
        event.insert("time.source", time);
    }

    // what
    let severity = text(info, "severity").map(str::to_ascii_lowercase);
    let severity = match severity.as_deref() {
        Some(s @ ("critical" | "high" | "medium" | "low" | "info")) => s.to_owned(),
        _ => "undefined".to_owned(),
    };
    let mut cves: Vec<String> = strings(classification.get("cve-id"))
        .into_iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| is_cve(c))
        .collect();
    if cves.is_empty() && is_cve(&template_id.to_ascii_lowercase()) {
        cves.push(template_id.to_ascii_lowercase());
    }
    cves.sort();
    cves.dedup();
    if !cves.is_empty() {
        event.insert("product.vulnerabilities", cves.join(";"));
    }
    let tags: Vec<String> = strings(info.get("tags"))
        .into_iter()
        .flat_map(|t| {
            t.split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .filter(|t| !t.is_empty())
        .collect();
    let template_path = text(&object, "template")
        .or_else(|| text(&object, "template-path"))
        .unwrap_or_default();
    let (taxonomy, kind_of) = classify(
        template_path,
        !cves.is_empty(),
        &tags,
        kind.as_deref(),
        &severity,
    );
    event.insert("classification.taxonomy", taxonomy);
    event.insert("classification.type", kind_of);
    event.insert("severity", severity);

    if let Some(metadata) = info.get("metadata").and_then(Value::as_object) {
        if let Some(vendor) = text(metadata, "vendor") {
            event.insert("product.vendor", vendor.to_lowercase());
        }
        if let Some(product) = text(metadata, "product") {
            event.insert("product.name", product.to_lowercase());
        }
    }
    if let Some(name) = text(info, "name") {
        event.insert("extra.template_name", name);
    }
    for (from, to) in [
        ("cvss-score", "extra.cvss_score"),
        ("epss-score", "extra.epss_score"),
    ] {
        if let Some(n) = classification.get(from).filter(|v| v.is_number()) {
            event.insert(to, n.clone());
        }
    }
    if let Some(metrics) = text(classification, "cvss-metrics") {
        event.insert("extra.cvss_metrics", metrics);
    }
    let cwes: Vec<String> = strings(classification.get("cwe-id"))
        .into_iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty())
        .collect();
    if !cwes.is_empty() {
        event.insert("extra.cwe_ids", cwes);
    }
    if !tags.is_empty() {
        event.insert("extra.tags", tags);
    }
    let references = strings(info.get("reference"));
    if !references.is_empty() {
        event.insert("extra.references", references);
    }
    for (from, to) in [
        ("matcher-name", "extra.matcher_name"),
        ("extractor-name", "extra.extractor_name"),
    ] {
        if let Some(name) = text(&object, from) {
            event.insert(to, name);
        }
    }
    let extracted = strings(object.get("extracted-results"));
    if !extracted.is_empty() {
        event.insert("extra.extracted_results", extracted);
    }
    Ok(event)
}

/// The IntelMQ classification (taxonomy, type) of a finding; see the module documentation.
fn classify(
    template_path: &str,
    has_cve: bool,
    tags: &[String],
    kind: Option<&str>,
    severity: &str,
) -> (&'static str, &'static str) {
    let dirs: Vec<&str> = template_path.split(['/', '\\']).collect();
    let in_dir = |names: &[&str]| dirs.iter().any(|d| names.contains(d));
    let tagged = |name: &str| tags.iter().any(|t| t == name);
    if has_cve || in_dir(&["cves", "vulnerabilities", "default-logins", "cnvd"]) {
        ("vulnerable", "vulnerable-system")
    } else if in_dir(&["exposed-panels"]) || tagged("panel") {
        ("vulnerable", "potentially-unwanted-accessible")
    } else if in_dir(&["misconfiguration", "misconfig"]) || tagged("misconfig") {
        ("vulnerable", "misconfiguration")
    } else if in_dir(&["exposures"]) || tagged("exposure") {
        ("vulnerable", "information-disclosure")
    } else if severity == "info" {
        ("other", "other")
    } else if kind == Some("ssl") {
        ("vulnerable", "weak-crypto")
    } else {
        ("vulnerable", "vulnerable-system")
    }
}

/// Whether `id` (lower case) has the form `cve-YYYY-NNNN…`.
fn is_cve(id: &str) -> bool {
    let mut parts = id.split('-');
    parts.next() == Some("cve")
        && parts
            .next()
            .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .next()
            .is_some_and(|n| n.len() >= 4 && n.bytes().all(|b| b.is_ascii_digit()))
        && parts.next().is_none()
}

/// A non-empty string value of `key`.
fn text<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A list of strings from a string or an array of strings (nuclei writes either).
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// A port from a number or a numeric string.
fn port(value: &Value) -> Option<u16> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A target as nuclei writes it: `https://a.example:8443/x`, `a.example:443`,
/// `[2001:db8::1]:22`, `198.18.0.1`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// The text as given.
    text: String,
    /// The scheme, lower case, when there is one.
    scheme: Option<String>,
    /// The host name or IP address, without brackets.
    host: String,
    /// The port, when one is given and valid.
    port: Option<u16>,
}

impl Target {
    fn parse(text: &str) -> Self {
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
            None => (None, text),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
            match inner.split_once(']') {
                Some((host, after)) => (host, after.strip_prefix(':')),
                None => (inner, None),
            }
        } else if authority.matches(':').count() == 1 {
            let (host, port) = authority.split_once(':').unwrap_or((authority, ""));
            (host, Some(port))
        } else {
            (authority, None)
        };
        Self {
            text: text.to_owned(),
            scheme,
            host: host.to_owned(),
            port: port.and_then(|p| p.parse().ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_split() {
        let t = Target::parse("https://User@WWW.a.example:8443/x?y");
        assert_eq!(t.scheme.as_deref(), Some("https"));
        assert_eq!((t.host.as_str(), t.port), ("WWW.a.example", Some(8443)));
        let t = Target::parse("[2001:db8::1]:22");
        assert_eq!((t.host.as_str(), t.port), ("2001:db8::1", Some(22)));
        let t = Target::parse("2001:db8::1");
        assert_eq!((t.host.as_str(), t.port), ("2001:db8::1", None));
        let t = Target::parse("198.18.0.1:6379");
        assert_eq!((t.host.as_str(), t.port), ("198.18.0.1", Some(6379)));
    }

    #[test]
    fn cve_form() {
        assert!(is_cve("cve-2021-44228"));
        assert!(!is_cve("cve-21-44228"));
        assert!(!is_cve("cve-2021-44228-x"));
        assert!(!is_cve("cwe-2021-4422"));
    }

    #[test]
    fn classification_by_directory_then_tags_then_severity() {
        let none: Vec<String> = Vec::new();
        assert_eq!(
            classify(
                "http/exposed-panels/grafana.yaml",
                false,
                &none,
                Some("http"),
                "info"
            ),
            ("vulnerable", "potentially-unwanted-accessible")
        );
        assert_eq!(
            classify("", false, &["misconfig".into()], None, "low"),
            ("vulnerable", "misconfiguration")
        );
        assert_eq!(
            classify(
                "ssl/weak-cipher-suites.yaml",
                false,
                &none,
                Some("ssl"),
                "low"
            ),
            ("vulnerable", "weak-crypto")
        );
        assert_eq!(
            classify(
                "http/technologies/tech-detect.yaml",
                false,
                &none,
                Some("http"),
                "info"
            ),
            ("other", "other")
        );
        assert_eq!(
            classify("", true, &none, None, "info"),
            ("vulnerable", "vulnerable-system")
        );
    }
}
