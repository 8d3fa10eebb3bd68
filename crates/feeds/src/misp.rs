//! MISP events as MISP exports them in JSON: `{"Event": {…}}`, a list of those, or
//! `{"response": [{"Event": {…}}, …]}` as the REST API answers.
//!
//! Each element that names an address gives rows, reported with the line it starts on:
//!
//! | MISP                                         | what it gives                                   |
//! |----------------------------------------------|-------------------------------------------------|
//! | an object with `ip-dst` / `ip-src` attributes (`ip-port`, …) | one service per address: `dst-port` (`port`) → `source.port`, `protocol` → `protocol.transport`, seen `first-seen` … `last-seen` (the attributes, else the object's `first_seen` / `last_seen`, else its `timestamp`) |
//! | an attribute `ip-dst` / `ip-src` outside objects | one service without a port                  |
//! | an attribute `ip-dst|port` / `ip-src|port`   | one service with its port                       |
//!
//! The CVEs are the event's `vulnerability` attributes (at the event or in its objects), in
//! `product.vulnerabilities`. Each service gives one event at its first time and, when the
//! last differs, one at the last. Events are `vulnerable` / `vulnerable-system`,
//! `classification.identifier` `misp` (the incident when no CVE is named), `feed.name`
//! `misp`, with `extra.misp_event` and `extra.misp_uuid` (the object or attribute), and `tlp`:
//! the most restrictive `tlp:` tag of the attributes, else of the event.
//!
//! An element is rejected, naming its uuid (or place) and attribute, when an address is not
//! one IP address, a port is out of range, a time is not one, or an `ip-port` object names no
//! address. A file that is not a MISP event is refused whole.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use baken_model::Tlp;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::document::{self, ListRows, accept, reject};
use crate::intelmq::jsonl::{Stamp, format_utc, normalise_time};
use crate::{Event, FeedError, Options, Row, Rows};

/// `feed.name` of events from MISP.
pub const FEED_NAME: &str = "misp";

/// Opens a MISP event export.
pub fn open(path: &Path, options: &Options) -> Result<Rows, FeedError> {
    let text = document::read(path)?;
    parse(path, &text, options)
}

/// Parses the export `text` as [`open`] parses a file named `name`.
pub fn read_text(name: &Path, text: Vec<u8>, options: &Options) -> Result<Rows, FeedError> {
    let text = document::text(name, text)?;
    parse(name, &text, options)
}

#[derive(Deserialize)]
struct EventDoc<'a> {
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    timestamp: Option<Value>,
    #[serde(default, rename = "Tag")]
    tags: Option<Vec<Map<String, Value>>>,
    #[serde(default, borrow, rename = "Attribute")]
    attributes: Option<Vec<&'a RawValue>>,
    #[serde(default, borrow, rename = "Object")]
    objects: Option<Vec<&'a RawValue>>,
}

/// The `tlp:` label among `tags`, the most restrictive.
fn tlp_of(tags: Option<&Value>) -> Option<Tlp> {
    tags?
        .as_array()?
        .iter()
        .filter_map(|t| t.get("name").and_then(Value::as_str))
        .filter(|n| n.to_ascii_lowercase().starts_with("tlp:"))
        .filter_map(|n| n.parse::<Tlp>().ok())
        .max()
}

/// The events of the document `text`.
fn events<'a>(path: &Path, text: &'a str) -> Result<Vec<EventDoc<'a>>, FeedError> {
    let format = |message: String| FeedError::Format {
        path: path.to_path_buf(),
        message,
    };
    let invalid = |e: serde_json::Error| {
        format(format!(
            "not a MISP event: invalid json: {}",
            e.to_string().to_lowercase()
        ))
    };
    let top: &RawValue = serde_json::from_str(text).map_err(invalid)?;
    let mut wrappers: Vec<&RawValue> = Vec::new();
    if top.get().trim_start().starts_with('[') {
        wrappers = serde_json::from_str(top.get()).map_err(invalid)?;
    } else {
        let map: BTreeMap<String, &RawValue> = serde_json::from_str(top.get()).map_err(invalid)?;
        if let Some(response) = map.get("response") {
            wrappers = serde_json::from_str(response.get()).map_err(invalid)?;
        } else {
            wrappers.push(top);
        }
    }
    let mut out = Vec::new();
    for w in wrappers {
        let map: BTreeMap<String, &RawValue> = serde_json::from_str(w.get())
            .map_err(|_| format("not a MISP event: an element is no JSON object".into()))?;
        let doc = match map.get("Event") {
            Some(e) => e,
            None if map.contains_key("Attribute") || map.contains_key("Object") => w,
            None => {
                return Err(format(
                    "not a MISP event: no \"Event\" (nor \"Attribute\" or \"Object\")".into(),
                ));
            }
        };
        out.push(serde_json::from_str(doc.get()).map_err(invalid)?);
    }
    Ok(out)
}

/// One element (object or attribute) read.
struct Element<'a> {
    line: u64,
    raw: &'a RawValue,
    map: Map<String, Value>,
    /// Its name for a rejection: its uuid, else its place.
    name: String,
}

/// One vulnerable service seen.
struct Seen {
    ip: IpAddr,
    port: Option<u16>,
    transport: Option<String>,
}

fn time_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() => s
            .parse::<i64>()
            .ok()
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(format_utc),
        Value::Number(n) => n
            .as_i64()
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(format_utc),
        Value::String(s) => normalise_time(s),
        _ => None,
    }
}

/// The elements of one list of an event, each located by its line.
fn elements<'a>(
    text: &str,
    event_name: &str,
    list: Option<Vec<&'a RawValue>>,
    kind: &str,
) -> Vec<Result<Element<'a>, Row>> {
    list.unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let line = document::line_of(text, raw);
            match serde_json::from_str::<Value>(raw.get()) {
                Ok(Value::Object(map)) => {
                    let name = map
                        .get("uuid")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("{event_name}.{kind}[{i}]"));
                    Ok(Element {
                        line,
                        raw,
                        map,
                        name,
                    })
                }
                _ => Err(reject(
                    line,
                    format!("{event_name}.{kind}[{i}]"),
                    "not a json object".into(),
                    document::raw(raw),
                )),
            }
        })
        .collect()
}

fn parse(path: &Path, text: &str, options: &Options) -> Result<Rows, FeedError> {
    let stamp = Stamp::new(options, FEED_NAME);
    let mut rows: Vec<Row> = Vec::new();
    for (n, event) in events(path, text)?.into_iter().enumerate() {
        let event_name = event.uuid.clone().unwrap_or_else(|| format!("Event[{n}]"));
        let event_tlp = tlp_of(event.tags.map(Value::from).as_ref());
        let event_time = event
            .timestamp
            .as_ref()
            .and_then(time_value)
            .or_else(|| event.date.as_deref().and_then(normalise_time))
            .or_else(|| {
                event
                    .date
                    .as_deref()
                    .and_then(|d| normalise_time(&format!("{d}T00:00:00")))
            });
        let mut attributes = Vec::new();
        for a in elements(text, &event_name, event.attributes, "Attribute") {
            match a {
                Ok(a) => attributes.push(a),
                Err(row) => rows.push(row),
            }
        }
        let mut objects = Vec::new();
        for o in elements(text, &event_name, event.objects, "Object") {
            match o {
                Ok(o) => objects.push(o),
                Err(row) => rows.push(row),
            }
        }
        // the CVEs the event names, at the event or in its objects
        let kind = |a: &Value| {
            a.get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let mut cves: Vec<String> = attributes
            .iter()
            .map(|a| Value::Object(a.map.clone()))
            .chain(objects.iter().flat_map(|o| {
                o.map
                    .get("Attribute")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            }))
            .filter(|a| kind(a) == "vulnerability")
            .filter_map(|a| a.get("value").and_then(Value::as_str).map(str::to_string))
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| v.starts_with("cve-"))
            .collect();
        cves.sort();
        cves.dedup();

        let emit = |rows: &mut Vec<Row>,
                    el: &Element,
                    seen: Vec<Seen>,
                    first: Option<String>,
                    last: Option<String>,
                    tlp: Option<Tlp>| {
            let first = first.or_else(|| event_time.clone());
            let mut times = vec![first.clone()];
            if last.is_some() && last != first {
                times.push(last);
            }
            for s in &seen {
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
                    e.insert("classification.identifier", "misp");
                    if !cves.is_empty() {
                        e.insert("product.vulnerabilities", cves.join(";"));
                    }
                    if let Some(tlp) = tlp.or(event_tlp) {
                        e.insert("tlp", tlp.label().trim_start_matches("TLP:"));
                    }
                    e.insert("extra.misp_event", event_name.clone());
                    e.insert("extra.misp_uuid", el.name.clone());
                    stamp.apply(&mut e, el.raw.get());
                    rows.push(accept(el.line, e));
                }
            }
        };

        for o in &objects {
            match object(o) {
                Ok(None) => {}
                Ok(Some((seen, first, last, tlp))) => emit(&mut rows, o, seen, first, last, tlp),
                Err((field, message)) => {
                    rows.push(reject(o.line, field, message, document::raw(o.raw)))
                }
            }
        }
        for a in &attributes {
            match attribute(a) {
                Ok(None) => {}
                Ok(Some((seen, first, last))) => {
                    let tlp = tlp_of(a.map.get("Tag"));
                    emit(&mut rows, a, vec![seen], first, last, tlp)
                }
                Err((field, message)) => {
                    rows.push(reject(a.line, field, message, document::raw(a.raw)))
                }
            }
        }
    }
    if rows.is_empty() {
        return Err(FeedError::Format {
            path: path.to_path_buf(),
            message: "no attribute or object names an ip-dst or ip-src: nothing to read".into(),
        });
    }
    Ok(ListRows::boxed(rows))
}

type Problem = (String, String);

fn ip(el: &str, relation: &str, value: &str) -> Result<IpAddr, Problem> {
    value.trim().parse().map_err(|_| {
        (
            format!("{el}.{relation}"),
            format!("not one ip address: {value:?}"),
        )
    })
}

fn port(el: &str, relation: &str, value: &str) -> Result<u16, Problem> {
    value.trim().parse().map_err(|_| {
        (
            format!("{el}.{relation}"),
            format!("not a port 0-65535: {value:?}"),
        )
    })
}

/// A standalone attribute: the service it names, with its times.
#[allow(clippy::type_complexity)] // read once, here
fn attribute(a: &Element) -> Result<Option<(Seen, Option<String>, Option<String>)>, Problem> {
    let kind = a.map.get("type").and_then(Value::as_str).unwrap_or("");
    let value = a.map.get("value").and_then(Value::as_str).unwrap_or("");
    let seen = match kind {
        "ip-dst" | "ip-src" => Seen {
            ip: ip(&a.name, kind, value)?,
            port: None,
            transport: None,
        },
        "ip-dst|port" | "ip-src|port" => {
            let (addr, p) = value.rsplit_once('|').unwrap_or((value, ""));
            Seen {
                ip: ip(&a.name, kind, addr)?,
                port: Some(port(&a.name, kind, p)?),
                transport: None,
            }
        }
        _ => return Ok(None),
    };
    let (first, last) = times(a)?;
    let first = first.or_else(|| a.map.get("timestamp").and_then(time_value));
    Ok(Some((seen, first, last)))
}

/// The element's own `first_seen` and `last_seen`.
fn times(el: &Element) -> Result<(Option<String>, Option<String>), Problem> {
    let get = |key: &str| -> Result<Option<String>, Problem> {
        match el.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(v) => time_value(v)
                .map(Some)
                .ok_or_else(|| (format!("{}.{key}", el.name), format!("not a time: {v}"))),
        }
    };
    Ok((get("first_seen")?, get("last_seen")?))
}

/// An object: the services its addresses and ports name, with times and label.
#[allow(clippy::type_complexity)] // read once, here
fn object(
    o: &Element,
) -> Result<Option<(Vec<Seen>, Option<String>, Option<String>, Option<Tlp>)>, Problem> {
    let name = o.map.get("name").and_then(Value::as_str).unwrap_or("");
    let attributes = o
        .map
        .get("Attribute")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut ips = Vec::new();
    let mut ports = Vec::new();
    let mut transport = None;
    let (mut first, mut last) = (None, None);
    let mut tlp = None;
    for a in &attributes {
        let kind = a.get("type").and_then(Value::as_str).unwrap_or("");
        let relation = a
            .get("object_relation")
            .and_then(Value::as_str)
            .unwrap_or(kind);
        let value = a.get("value").and_then(Value::as_str).unwrap_or("");
        match (kind, relation) {
            ("ip-dst" | "ip-src", _) => {
                ips.push(ip(&o.name, relation, value)?);
                tlp = tlp.max(tlp_of(a.get("Tag")));
            }
            ("port", "dst-port") | ("port", "port") => ports.push(port(&o.name, relation, value)?),
            (_, "protocol") => transport = Some(value.trim().to_ascii_lowercase()),
            (_, "first-seen") => {
                first = Some(normalise_time(value).ok_or_else(|| {
                    (
                        format!("{}.first-seen", o.name),
                        format!("not a time: {value:?}"),
                    )
                })?)
            }
            (_, "last-seen") => {
                last = Some(normalise_time(value).ok_or_else(|| {
                    (
                        format!("{}.last-seen", o.name),
                        format!("not a time: {value:?}"),
                    )
                })?)
            }
            _ => {}
        }
    }
    if ips.is_empty() {
        return if name == "ip-port" {
            Err((
                format!("{}.ip", o.name),
                "an ip-port object without an ip-dst or ip-src: nothing seen to read".into(),
            ))
        } else {
            Ok(None)
        };
    }
    let (own_first, own_last) = times(o)?;
    let first = first
        .or(own_first)
        .or_else(|| o.map.get("timestamp").and_then(time_value));
    let last = last.or(own_last);
    let transport = transport.filter(|t| matches!(t.as_str(), "tcp" | "udp" | "sctp"));
    if ports.is_empty() {
        ports.push(0);
    }
    let mut seen = Vec::new();
    for ip in ips {
        for &p in &ports {
            seen.push(Seen {
                ip,
                port: (p != 0 || ports.len() > 1).then_some(p),
                transport: transport.clone(),
            });
        }
    }
    Ok(Some((seen, first, last, tlp)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Result<Vec<Row>, FeedError> {
        let options = Options {
            observation_time: Some("2026-03-24T00:00:00+00:00".into()),
            ..Options::default()
        };
        read_text(Path::new("e.json"), text.as_bytes().to_vec(), &options)
            .map(|r| r.collect::<Vec<_>>())
    }

    const EVENT: &str = include_str!("../tests/data/misp/event.json");

    #[test]
    fn objects_and_attributes_give_services() {
        let rows = rows(EVENT).unwrap();
        let ok: Vec<&Event> = rows
            .iter()
            .filter_map(|r| r.outcome.as_ref().ok())
            .collect();
        assert_eq!(ok.len(), 3, "{rows:#?}");
        let e = ok
            .iter()
            .find(|e| e.get_str("source.ip") == Some("198.18.4.7"))
            .unwrap();
        assert_eq!(e.get("source.port"), Some(&Value::from(443)));
        assert_eq!(e.get_str("protocol.transport"), Some("tcp"));
        assert_eq!(e.get_str("product.vulnerabilities"), Some("cve-2019-19781"));
        assert_eq!(e.get_str("tlp"), Some("GREEN"));
        assert_eq!(e.get_str("time.source"), Some("2020-01-10T09:00:00+00:00"));
        let e = ok
            .iter()
            .find(|e| e.get_str("source.ip") == Some("198.18.4.8"))
            .unwrap();
        assert_eq!(e.get("source.port"), Some(&Value::from(8443)));
        assert_eq!(e.get_str("tlp"), Some("AMBER"));
        let bad: Vec<_> = rows
            .iter()
            .filter_map(|r| r.outcome.as_ref().err().map(|e| (r.line, e.field.clone())))
            .collect();
        assert_eq!(
            bad,
            [
                (9, Some("a-3.ip-dst".to_string())),
                (19, Some("o-2.dst-port".to_string()))
            ]
        );
    }

    #[test]
    fn a_file_that_is_no_event_is_refused_whole() {
        for text in [
            "",
            "{}",
            "[1]",
            "{\"Event\": {\"Attribute\": []}}",
            "{\"response\": 3}",
        ] {
            assert!(
                matches!(rows(text), Err(FeedError::Format { .. })),
                "{text}"
            );
        }
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
            let mut bytes = EVENT.as_bytes().to_vec();
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
