//! STIX 2.1 bundles a peer shares: the vulnerable systems it observed.
//!
//! A bundle is read whole. Each object that says *this address (and port) was seen* gives
//! rows, reported with the line the object starts on:
//!
//! | object                                   | what it gives                                      |
//! |------------------------------------------|----------------------------------------------------|
//! | `sighting` with `observed_data_refs`     | the services of the observed data, seen `first_seen` … `last_seen` (else the observed data's times), of what `sighting_of_ref` names |
//! | `sighting` of an `indicator` without observed data | the services of the indicator's pattern |
//! | `observed-data` no sighting refers to    | its services, `first_observed` … `last_observed`    |
//! | `indicator` no sighting refers to whose pattern names an address | its services, from `valid_from` |
//!
//! A service is an `ipv4-addr` / `ipv6-addr` (`source.ip`), or a `network-traffic` with a
//! `dst_ref` to one and a `dst_port` (`source.port`; `protocols`' `tcp`, `udp` or `sctp` →
//! `protocol.transport`). An indicator's pattern is read for comparisons `ipv4-addr:value =
//! '…'`, `ipv6-addr:value = '…'`, `network-traffic:dst_ref.value = '…'` and
//! `network-traffic:dst_port = N`. Each service gives one event at the first time and, when
//! the last differs, one at the last, so that a finding keeps its first and last sighting.
//!
//! The CVEs are the `vulnerability` objects the sighting is of, or that a `relationship`
//! links the observed data or indicator to (the external reference `cve`, else a name that
//! is a CVE id), in `product.vulnerabilities`; a vulnerability without a CVE id names the
//! incident by its name (`classification.identifier`). Events are `vulnerable` /
//! `vulnerable-system`, `feed.name` `stix`, with `extra.stix_id` (the object) and
//! `extra.stix_count` (a sighting's `count`), and `tlp`: the most restrictive TLP label
//! among the object's markings (TLP 2.0 or 1.0 marking definitions; those of the observed
//! data count for a sighting).
//!
//! An object is rejected, with its id and property, when it has no `type` or `id`, refers to
//! an object the bundle lacks, has a time that is no RFC 3339 time, an address that is not
//! one IP address, a port out of range, or names no address at all. A file that is not a
//! JSON bundle is refused whole.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use baken_model::Tlp;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::document::{self, ListRows, accept, reject};
use crate::intelmq::jsonl::{Stamp, normalise_time};
use crate::{Event, FeedError, Options, Row, Rows};

/// `feed.name` of events from STIX bundles.
pub const FEED_NAME: &str = "stix";

/// The id of the OASIS TLP 2.0 extension of marking definitions.
const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// Opens a STIX 2.1 bundle.
pub fn open(path: &Path, options: &Options) -> Result<Rows, FeedError> {
    let text = document::read(path)?;
    parse(path, &text, options)
}

/// Parses the bundle `text` as [`open`] parses a file named `name`.
pub fn read_text(name: &Path, text: Vec<u8>, options: &Options) -> Result<Rows, FeedError> {
    let text = document::text(name, text)?;
    parse(name, &text, options)
}

#[derive(Deserialize)]
struct Bundle<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(borrow, default)]
    objects: Option<Vec<&'a RawValue>>,
}

/// One object of the bundle.
struct Object<'a> {
    line: u64,
    raw: &'a RawValue,
    map: Map<String, Value>,
}

impl Object<'_> {
    fn id(&self) -> &str {
        self.map.get("id").and_then(Value::as_str).unwrap_or("")
    }

    fn kind(&self) -> &str {
        self.map.get("type").and_then(Value::as_str).unwrap_or("")
    }

    fn str(&self, key: &str) -> Option<&str> {
        self.map.get(key).and_then(Value::as_str)
    }

    fn refs(&self, key: &str) -> Vec<String> {
        match self.map.get(key) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `id.key` for a rejection.
    fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.id())
    }
}

/// One vulnerable service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Service {
    ip: IpAddr,
    port: Option<u16>,
    transport: Option<String>,
}

/// Why an object was rejected: the property (`id.key`) and what is wrong.
struct Why(String, String);

struct Index<'a> {
    objects: Vec<Object<'a>>,
    by_id: HashMap<String, usize>,
    /// Marking definitions' labels by id.
    markings: HashMap<String, Tlp>,
    /// For each object, the vulnerabilities a relationship links it to.
    related: HashMap<String, Vec<String>>,
}

impl<'a> Index<'a> {
    fn get(&self, id: &str) -> Option<&Object<'a>> {
        self.by_id.get(id).map(|&i| &self.objects[i])
    }

    /// The most restrictive TLP label of `o`'s markings.
    fn tlp(&self, o: &Object) -> Option<Tlp> {
        o.refs("object_marking_refs")
            .iter()
            .filter_map(|m| {
                self.markings
                    .get(m)
                    .copied()
                    .or_else(|| Tlp::from_stix_marking(m))
            })
            .max()
    }

    /// The CVEs (or names) of vulnerability `id`.
    fn vulnerability(&self, id: &str) -> Option<Named> {
        let v = self.get(id)?;
        if v.kind() != "vulnerability" {
            return None;
        }
        let cve = v
            .map
            .get("external_references")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|r| r.get("source_name").and_then(Value::as_str) == Some("cve"))
            .and_then(|r| r.get("external_id").and_then(Value::as_str))
            .or_else(|| v.str("name").filter(|n| is_cve(n)));
        Some(match cve {
            Some(c) => Named::Cve(c.to_ascii_lowercase()),
            None => Named::Other(v.str("name").unwrap_or("vulnerability").to_lowercase()),
        })
    }

    /// What the vulnerabilities linked to `id` by relationships name.
    fn related(&self, id: &str) -> Vec<Named> {
        self.related
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|v| self.vulnerability(v))
            .collect()
    }

    /// The services `refs` (of object `o`, property `key`) name.
    fn services(&self, o: &Object, key: &str, refs: &[String]) -> Result<Vec<Service>, Why> {
        let mut out = BTreeSet::new();
        let mut in_traffic = HashSet::new();
        let address = |id: &str, field: String| -> Result<IpAddr, Why> {
            let a = self
                .get(id)
                .ok_or_else(|| Why(field.clone(), format!("{id} is not in the bundle")))?;
            if !matches!(a.kind(), "ipv4-addr" | "ipv6-addr") {
                return Err(Why(field, format!("{id} is no ipv4-addr or ipv6-addr")));
            }
            let value = a.str("value").unwrap_or("");
            value.parse::<IpAddr>().map_err(|_| {
                Why(
                    a.field("value"),
                    format!("not one ip address: {value:?} (a network is not read as hosts)"),
                )
            })
        };
        for r in refs {
            let Some(x) = self.get(r) else {
                return Err(Why(o.field(key), format!("{r} is not in the bundle")));
            };
            if x.kind() == "network-traffic" {
                let Some(dst) = x.str("dst_ref") else {
                    continue;
                };
                let ip = address(dst, x.field("dst_ref"))?;
                in_traffic.insert(dst.to_string());
                let port = match x.map.get("dst_port") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(v.as_u64().and_then(|p| u16::try_from(p).ok()).ok_or_else(
                        || Why(x.field("dst_port"), format!("not a port 0-65535: {v}")),
                    )?),
                };
                let transport = x
                    .refs("protocols")
                    .into_iter()
                    .map(|p| p.to_ascii_lowercase())
                    .find(|p| matches!(p.as_str(), "tcp" | "udp" | "sctp"));
                out.insert(Service {
                    ip,
                    port,
                    transport,
                });
            }
        }
        for r in refs {
            let Some(x) = self.get(r) else { continue };
            if matches!(x.kind(), "ipv4-addr" | "ipv6-addr") && !in_traffic.contains(r) {
                let ip = address(r, o.field(key))?;
                out.insert(Service {
                    ip,
                    port: None,
                    transport: None,
                });
            }
        }
        Ok(out.into_iter().collect())
    }
}

/// What a vulnerability object names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Named {
    Cve(String),
    Other(String),
}

fn is_cve(s: &str) -> bool {
    let s = s.to_ascii_lowercase();
    s.strip_prefix("cve-").is_some_and(|rest| {
        let mut parts = rest.split('-');
        matches!((parts.next(), parts.next(), parts.next()),
            (Some(y), Some(n), None) if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit())
                && n.len() >= 4 && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

fn time(o: &Object, key: &str) -> Result<Option<String>, Why> {
    match o.map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(normalise_time)
            .map(Some)
            .ok_or_else(|| Why(o.field(key), format!("not an rfc 3339 time: {v}"))),
    }
}

fn parse(path: &Path, text: &str, options: &Options) -> Result<Rows, FeedError> {
    let format = |message: String| FeedError::Format {
        path: path.to_path_buf(),
        message,
    };
    let bundle: Bundle = serde_json::from_str(text).map_err(|e| {
        format(format!(
            "not a STIX bundle: invalid json: {}",
            e.to_string().to_lowercase()
        ))
    })?;
    if bundle.kind.as_deref() != Some("bundle") {
        return Err(format(
            "not a STIX bundle: its \"type\" is not \"bundle\"".into(),
        ));
    }
    let stamp = Stamp::new(options, FEED_NAME);
    let mut rows: Vec<Row> = Vec::new();
    let mut index = Index {
        objects: Vec::new(),
        by_id: HashMap::new(),
        markings: HashMap::new(),
        related: HashMap::new(),
    };
    for raw in bundle.objects.unwrap_or_default() {
        let line = document::line_of(text, raw);
        let map = match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Object(map)) => map,
            _ => {
                rows.push(reject(
                    line,
                    "objects".into(),
                    "not a json object".into(),
                    document::raw(raw),
                ));
                continue;
            }
        };
        let o = Object { line, raw, map };
        for key in ["type", "id"] {
            if o.str(key).is_none_or(str::is_empty) {
                let what = o.str("id").or(o.str("type")).unwrap_or("an object");
                rows.push(reject(
                    line,
                    format!("{what}.{key}"),
                    format!("missing: every STIX object has a \"{key}\""),
                    document::raw(raw),
                ));
            }
        }
        if o.id().is_empty() || o.kind().is_empty() {
            continue;
        }
        index.by_id.insert(o.id().to_string(), index.objects.len());
        index.objects.push(o);
    }
    for o in &index.objects {
        match o.kind() {
            "marking-definition" => {
                let tlp2 = o
                    .map
                    .get("extensions")
                    .and_then(|e| e.get(TLP2_EXTENSION))
                    .and_then(|e| e.get("tlp_2_0"))
                    .and_then(Value::as_str);
                let tlp1 = (o.str("definition_type") == Some("tlp"))
                    .then(|| o.map.get("definition").and_then(|d| d.get("tlp")))
                    .flatten()
                    .and_then(Value::as_str);
                let tlp = tlp2
                    .or(tlp1)
                    .and_then(|t| t.parse::<Tlp>().ok())
                    .or_else(|| Tlp::from_stix_marking(o.id()));
                if let Some(tlp) = tlp {
                    index.markings.insert(o.id().to_string(), tlp);
                }
            }
            "relationship" => {
                let (Some(s), Some(t)) = (o.str("source_ref"), o.str("target_ref")) else {
                    continue;
                };
                if t.starts_with("vulnerability--") {
                    index
                        .related
                        .entry(s.to_string())
                        .or_default()
                        .push(t.to_string());
                } else if s.starts_with("vulnerability--") {
                    index
                        .related
                        .entry(t.to_string())
                        .or_default()
                        .push(s.to_string());
                }
            }
            _ => {}
        }
    }

    let mut used: HashSet<String> = HashSet::new();
    for o in index.objects.iter().filter(|o| o.kind() == "sighting") {
        for r in o.refs("observed_data_refs") {
            used.insert(r);
        }
        if let Some(s) = o.str("sighting_of_ref") {
            used.insert(s.to_string());
        }
    }
    for o in &index.objects {
        let outcome = match o.kind() {
            "sighting" => sighting(&index, o),
            "observed-data" if !used.contains(o.id()) => observed(&index, o),
            "indicator" if !used.contains(o.id()) => match indicator(&index, o) {
                Ok(None) => continue,
                Ok(Some(found)) => Ok(found),
                Err(why) => Err(why),
            },
            _ => continue,
        };
        match outcome {
            Ok(found) => {
                for event in found.events(o, &stamp) {
                    rows.push(accept(o.line, event));
                }
            }
            Err(Why(field, message)) => {
                rows.push(reject(o.line, field, message, document::raw(o.raw)))
            }
        }
    }
    if rows.is_empty() {
        return Err(format(
            "no sighting, observed-data or indicator names an ipv4-addr or ipv6-addr: nothing to read"
                .into(),
        ));
    }
    Ok(ListRows::boxed(rows))
}

/// What one object says was seen.
struct Found {
    services: Vec<Service>,
    named: Vec<Named>,
    first: Option<String>,
    last: Option<String>,
    count: Option<u64>,
    tlp: Option<Tlp>,
}

impl Found {
    fn events(&self, o: &Object, stamp: &Stamp) -> Vec<Event> {
        let mut cves: Vec<String> = self
            .named
            .iter()
            .filter_map(|n| match n {
                Named::Cve(c) => Some(c.clone()),
                Named::Other(_) => None,
            })
            .collect();
        cves.sort();
        cves.dedup();
        let other = self.named.iter().find_map(|n| match n {
            Named::Other(name) => Some(name.clone()),
            Named::Cve(_) => None,
        });
        let mut times = vec![self.first.clone()];
        if self.last.is_some() && self.last != self.first {
            times.push(self.last.clone());
        }
        let mut out = Vec::new();
        for s in &self.services {
            for t in &times {
                let mut e = Event::new();
                e.insert("source.ip", s.ip.to_string());
                if let Some(p) = s.port {
                    e.insert("source.port", p);
                }
                if let Some(t) = &s.transport {
                    e.insert("protocol.transport", t.clone());
                }
                if let Some(t) = t {
                    e.insert("time.source", t.clone());
                }
                e.insert("classification.taxonomy", "vulnerable");
                e.insert("classification.type", "vulnerable-system");
                e.insert(
                    "classification.identifier",
                    other.clone().unwrap_or_else(|| "stix".into()),
                );
                if !cves.is_empty() {
                    e.insert("product.vulnerabilities", cves.join(";"));
                }
                if let Some(tlp) = self.tlp {
                    e.insert("tlp", tlp.label().trim_start_matches("TLP:"));
                }
                e.insert("extra.stix_id", o.id().to_string());
                if let Some(c) = self.count {
                    e.insert("extra.stix_count", c);
                }
                stamp.apply(&mut e, o.raw.get());
                out.push(e);
            }
        }
        out
    }
}

fn sighting(index: &Index, o: &Object) -> Result<Found, Why> {
    let of = o.str("sighting_of_ref").ok_or_else(|| {
        Why(
            o.field("sighting_of_ref"),
            "missing: a sighting names what was seen".into(),
        )
    })?;
    let target = index.get(of).ok_or_else(|| {
        Why(
            o.field("sighting_of_ref"),
            format!("{of} is not in the bundle"),
        )
    })?;
    let mut named = index.vulnerability(of).into_iter().collect::<Vec<_>>();
    named.extend(index.related(of));
    let mut tlp = index.tlp(o);
    let mut services = Vec::new();
    let (mut first, mut last) = (time(o, "first_seen")?, time(o, "last_seen")?);
    let refs = o.refs("observed_data_refs");
    for r in &refs {
        let d = index
            .get(r)
            .filter(|d| d.kind() == "observed-data")
            .ok_or_else(|| {
                Why(
                    o.field("observed_data_refs"),
                    format!("{r} is not an observed-data of the bundle"),
                )
            })?;
        services.extend(index.services(d, "object_refs", &d.refs("object_refs"))?);
        first = first.or(time(d, "first_observed")?);
        last = last.or(time(d, "last_observed")?);
        tlp = tlp.max(index.tlp(d));
        named.extend(index.related(r));
    }
    if refs.is_empty() && target.kind() == "indicator" {
        services = pattern_services(target)?;
        first = first.or(time(target, "valid_from")?);
        tlp = tlp.max(index.tlp(target));
    }
    if services.is_empty() {
        return Err(Why(
            o.field("observed_data_refs"),
            "names no ipv4-addr or ipv6-addr: nothing seen to read".into(),
        ));
    }
    let count = o.map.get("count").and_then(Value::as_u64);
    Ok(Found {
        services,
        named,
        first,
        last,
        count,
        tlp,
    })
}

fn observed(index: &Index, o: &Object) -> Result<Found, Why> {
    let services = index.services(o, "object_refs", &o.refs("object_refs"))?;
    if services.is_empty() {
        return Err(Why(
            o.field("object_refs"),
            "names no ipv4-addr or ipv6-addr: nothing seen to read".into(),
        ));
    }
    Ok(Found {
        services,
        named: index.related(o.id()),
        first: time(o, "first_observed")?,
        last: time(o, "last_observed")?,
        count: o.map.get("number_observed").and_then(Value::as_u64),
        tlp: index.tlp(o),
    })
}

fn indicator(index: &Index, o: &Object) -> Result<Option<Found>, Why> {
    let services = pattern_services(o)?;
    if services.is_empty() {
        return Ok(None);
    }
    Ok(Some(Found {
        services,
        named: index.related(o.id()),
        first: time(o, "valid_from")?,
        last: None,
        count: None,
        tlp: index.tlp(o),
    }))
}

/// The services an indicator's pattern compares addresses and ports with.
fn pattern_services(o: &Object) -> Result<Vec<Service>, Why> {
    let pattern = o.str("pattern").unwrap_or("");
    let mut ips = Vec::new();
    let mut ports = Vec::new();
    for (path, value) in comparisons(pattern) {
        match path.as_str() {
            "ipv4-addr:value" | "ipv6-addr:value" | "network-traffic:dst_ref.value" => {
                let ip = value.parse::<IpAddr>().map_err(|_| {
                    Why(
                        o.field("pattern"),
                        format!("{path}: not one ip address: {value:?}"),
                    )
                })?;
                ips.push(ip);
            }
            "network-traffic:dst_port" => {
                let port = value.parse::<u16>().map_err(|_| {
                    Why(
                        o.field("pattern"),
                        format!("{path}: not a port 0-65535: {value}"),
                    )
                })?;
                ports.push(Some(port));
            }
            _ => {}
        }
    }
    if ports.is_empty() {
        ports.push(None);
    }
    let mut out = BTreeSet::new();
    for ip in ips {
        for port in &ports {
            out.insert(Service {
                ip,
                port: *port,
                transport: port.map(|_| "tcp".to_string()),
            });
        }
    }
    Ok(out.into_iter().collect())
}

/// The `path = value` comparisons of a STIX pattern (string values unquoted).
fn comparisons(pattern: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let bytes = pattern.as_bytes();
    let mut i = 0;
    while let Some(eq) = pattern[i..].find('=') {
        let at = i + eq;
        // the path: the word before `=`
        let before = pattern[..at].trim_end();
        let start = before
            .char_indices()
            .rfind(|&(_, c)| c.is_whitespace() || c == '[' || c == '(')
            .map_or(0, |(p, c)| p + c.len_utf8());
        let path = before[start..].to_string();
        // the value after `=`
        let mut j = at + 1;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        let (value, end) = if j < bytes.len() && bytes[j] == b'\'' {
            match pattern[j + 1..].find('\'') {
                Some(k) => (pattern[j + 1..j + 1 + k].to_string(), j + 2 + k),
                None => break,
            }
        } else {
            let k = pattern[j..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(pattern.len(), |k| j + k);
            (pattern[j..k].to_string(), k)
        };
        if !path.is_empty() && !value.is_empty() {
            out.push((path, value));
        }
        i = end.max(at + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Result<Vec<Row>, FeedError> {
        let options = Options {
            observation_time: Some("2026-03-24T00:00:00+00:00".into()),
            ..Options::default()
        };
        read_text(Path::new("b.json"), text.as_bytes().to_vec(), &options)
            .map(|r| r.collect::<Vec<_>>())
    }

    const BUNDLE: &str = include_str!("../tests/data/stix/bundle.json");

    #[test]
    fn sightings_observed_data_and_indicators_give_services() {
        let rows = rows(BUNDLE).unwrap();
        let ok: Vec<&Event> = rows
            .iter()
            .filter_map(|r| r.outcome.as_ref().ok())
            .collect();
        // the sighting: first and last seen; the indicator: from valid_from
        assert_eq!(ok.len(), 3, "{rows:#?}");
        assert_eq!(ok[0].get_str("source.ip"), Some("198.18.4.7"));
        assert_eq!(ok[0].get("source.port"), Some(&Value::from(443)));
        assert_eq!(ok[0].get_str("protocol.transport"), Some("tcp"));
        assert_eq!(
            ok[0].get_str("time.source"),
            Some("2020-01-10T09:00:00+00:00")
        );
        assert_eq!(
            ok[1].get_str("time.source"),
            Some("2020-01-12T09:00:00+00:00")
        );
        assert_eq!(
            ok[0].get_str("product.vulnerabilities"),
            Some("cve-2019-19781")
        );
        assert_eq!(ok[0].get_str("tlp"), Some("GREEN"));
        assert_eq!(ok[0].get("extra.stix_count"), Some(&Value::from(3)));
        assert_eq!(ok[2].get_str("source.ip"), Some("2001:db8::7"));
        assert_eq!(ok[2].get("source.port"), Some(&Value::from(8443)));
        assert_eq!(
            ok[2].get_str("product.vulnerabilities"),
            Some("cve-2019-19781")
        );
        // the sighting of missing observed data is rejected with its id, property and line
        let bad: Vec<_> = rows
            .iter()
            .filter_map(|r| r.outcome.as_ref().err().map(|e| (r.line, e)))
            .collect();
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, 14);
        assert_eq!(
            bad[0].1.field.as_deref(),
            Some("sighting--2.observed_data_refs")
        );
        assert!(bad[0].1.message.contains("observed-data--missing"));
    }

    #[test]
    fn bad_values_are_rejected_with_the_object_and_property() {
        let text = BUNDLE
            .replace("\"198.18.4.7\"", "\"198.18.4.0/24\"")
            .replace("\"2020-01-11T00:00:00Z\"", "\"yesterday\"");
        let rows = rows(&text).unwrap();
        let fields: Vec<String> = rows
            .iter()
            .filter_map(|r| r.outcome.as_ref().err())
            .filter_map(|e| e.field.clone())
            .collect();
        assert_eq!(
            fields,
            [
                "ipv4-addr--1.value",
                "sighting--2.observed_data_refs",
                "indicator--1.valid_from"
            ]
        );
    }

    #[test]
    fn a_file_that_is_no_bundle_is_refused_whole() {
        for text in [
            "",
            "[]",
            "{\"type\": \"report\"}",
            "{\"type\": \"bundle\", \"objects\": []}",
            "{\"type\": \"bundle\", \"objects\": [{\"type\": \"identity\", \"id\": \"identity--1\"}]}",
        ] {
            assert!(
                matches!(rows(text), Err(FeedError::Format { .. })),
                "{text}"
            );
        }
        // not a panic on objects that are no objects
        let rows = rows("{\"type\": \"bundle\", \"objects\": [1, {\"id\": \"x--1\"}]}").unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.outcome.is_err()));
    }

    #[test]
    fn comparisons_of_patterns() {
        assert_eq!(
            comparisons(
                "[ipv4-addr:value = '198.18.0.1' OR ipv4-addr:value='198.18.0.2'] AND [network-traffic:dst_port = 443]"
            ),
            [
                ("ipv4-addr:value".to_string(), "198.18.0.1".to_string()),
                ("ipv4-addr:value".to_string(), "198.18.0.2".to_string()),
                ("network-traffic:dst_port".to_string(), "443".to_string()),
            ]
        );
        // a path after whitespace that is more than one byte long (U+2009, a thin space)
        assert_eq!(
            comparisons("[ipv6-addr:value\u{2009}= '2001:db8::7']"),
            [("ipv6-addr:value".to_string(), "2001:db8::7".to_string())]
        );
        assert_eq!(
            comparisons("[x\u{2009}ipv4-addr:value = '198.18.0.1']"),
            [("ipv4-addr:value".to_string(), "198.18.0.1".to_string())]
        );
    }

    proptest::proptest! {
        /// A document damaged anywhere (a byte replaced by one that matters to JSON, the rest
        /// cut off) is read or refused, never a panic.
        #[test]
        fn damaged_documents_never_panic(
            at in 0usize..4096,
            with in proptest::sample::select(b"{}[]\",:0 -/\\x".to_vec()),
            keep in 0usize..4096,
        ) {
            let mut bytes = BUNDLE.as_bytes().to_vec();
            let at = at % bytes.len();
            bytes[at] = with;
            bytes.truncate(keep.max(at + 1));
            if let Ok(rows) = read_text(Path::new("d.json"), bytes, &Options::default()) {
                for row in rows {
                    let _ = row.outcome;
                }
            }
        }
    }
}
