//! masscan results, in either of the two forms masscan writes a line per result in:
//!
//! * JSON (`-oJ`): the records inside `[` … `]`, one per line, separated by lines of `,`
//!   (older versions end each record with `,` instead, and may close with `{finished: 1}`):
//!   `{   "ip": "198.18.0.5",   "timestamp": "1700000000", "ports": [ {"port": 443, "proto":
//!   "tcp", "status": "open", "reason": "syn-ack", "ttl": 54} ] }`, or for a banner
//!   `… "ports": [ {"port": 80, "proto": "tcp", "service": {"name": "http", "banner": "…"} } ]`;
//! * list (`-oL`): `open tcp 443 198.18.0.5 1700000000` and `banner tcp 80 198.18.0.5
//!   1700000000 http HTTP/1.1 200 OK\x0d\x0aServer: …`, between `#masscan` and `# end`.
//!
//! Each line is read in the form it has, so one file may even hold both. The frame (`[`, `]`,
//! `,`, `{finished: 1}`) and comment lines (`#…`) hold no row and are passed over; every
//! other line is a row.
//!
//! **One event per port of a record** (masscan writes one, older versions sometimes
//! several), all with the record's line:
//!
//! | masscan                          | event                                              |
//! |----------------------------------|----------------------------------------------------|
//! | `ip`                             | `source.ip`                                        |
//! | `port`                           | `source.port`                                      |
//! | `proto` (`tcp`, `udp`, `sctp`)   | `protocol.transport`                               |
//! | `timestamp` (Unix seconds)       | `time.source` (UTC, `+00:00`)                      |
//! | `reason`, `ttl`                  | `extra.masscan_reason`, `extra.ttl`                |
//! | banner `service.name`            | `protocol.application` (lower case; `title` and `html` → `http`), `extra.masscan_service` |
//! | banner text                      | `extra.banner` (first 256 characters)              |
//! | HTTP `Server:` header in a banner, SSH version banner | `product.full_name`, `product.name` (lower case), `product.version` |
//!
//! Like zgrab2's banner grabs, a result is an observation, not a finding: `classification.
//! taxonomy` = `other`, `classification.type` = `other`, `severity` = `info`,
//! `classification.identifier` = `accessible-<application>` for a banner and `open-port`
//! for a bare open port. Whether the service is vulnerable is left to matching.
//!
//! A line is rejected, naming the field, when it is not a record of either form, its `ip`,
//! `port`, `proto` or `timestamp` does not parse, it has no port, or its status is not
//! `open` (`--show closed` output: a closed port is no finding).

use std::net::IpAddr;
use std::path::Path;

use serde_json::{Map, Value};

use crate::intelmq::jsonl::{self, Reject};
use crate::{Event, FeedError, Options, Rows};

/// `feed.name` of masscan events.
pub const FEED_NAME: &str = "masscan";

/// Longest `extra.banner` kept, in characters.
const MAX_TEXT: usize = 256;

/// Opens a file of masscan output (`-oJ` or `-oL`).
pub fn open(path: &Path, options: &Options) -> Result<Rows, FeedError> {
    let stamp = jsonl::Stamp::new(options, FEED_NAME);
    jsonl::open_skipping(path, is_frame, move |line| {
        let mut events = parse_line(line)?;
        for event in &mut events {
            stamp.apply(event, line);
        }
        Ok(events)
    })
}

/// Parses lines from `text`, as [`open`] parses a file.
pub fn read_text(text: Vec<u8>, options: &Options) -> Rows {
    let stamp = jsonl::Stamp::new(options, FEED_NAME);
    jsonl::read_skipping(
        Box::new(std::io::Cursor::new(text)),
        is_frame,
        move |line| {
            let mut events = parse_line(line)?;
            for event in &mut events {
                stamp.apply(event, line);
            }
            Ok(events)
        },
    )
}

/// Whether a line is part of the output's frame, not a result.
fn is_frame(line: &str) -> bool {
    let line = line.trim();
    if matches!(line, "[" | "]" | "," | "],") || line.starts_with('#') {
        return true;
    }
    // masscan before 1.3 closed its JSON with `{finished: 1}` (not JSON: the key is bare)
    let bare: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    bare.starts_with("{finished:")
}

/// Parses one result line (without the per-file stamp).
fn parse_line(line: &str) -> Result<Vec<Event>, Reject> {
    let text = line.trim().trim_start_matches(',').trim();
    if text.starts_with('{') {
        json_record(text.trim_end_matches(',').trim_end())
    } else {
        list_record(text).map(|e| vec![e])
    }
}

/// A JSON record: one event per entry of `ports`.
fn json_record(text: &str) -> Result<Vec<Event>, Reject> {
    let object = jsonl::parse_object(text)?;
    let ip = match object.get("ip") {
        Some(Value::String(s)) => parse_ip(s, "ip")?,
        Some(other) => return Err(Reject::field("ip", format!("not an ip address: {other}"))),
        None => return Err(Reject::field("ip", "missing")),
    };
    let time = match object.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(parse_time(s)?),
        Some(Value::Number(n)) => Some(parse_time(&n.to_string())?),
        Some(other) => {
            return Err(Reject::field(
                "timestamp",
                format!("not unix seconds: {other}"),
            ));
        }
    };
    let ports = match object.get("ports") {
        Some(Value::Array(ports)) if !ports.is_empty() => ports,
        Some(Value::Array(_)) => return Err(Reject::field("ports", "empty: no port")),
        Some(_) => return Err(Reject::field("ports", "not a json array")),
        None => return Err(Reject::field("ports", "missing")),
    };
    let mut events = Vec::with_capacity(ports.len());
    for (i, entry) in ports.iter().enumerate() {
        let at = |key: &str| format!("ports[{i}].{key}");
        let Some(entry) = entry.as_object() else {
            return Err(Reject::field(format!("ports[{i}]"), "not a json object"));
        };
        let port = entry
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| {
                Reject::field(
                    at("port"),
                    format!(
                        "not a port number 0-65535: {}",
                        entry.get("port").unwrap_or(&Value::Null)
                    ),
                )
            })?;
        let proto = str_of(entry, "proto").ok_or_else(|| Reject::field(at("proto"), "missing"))?;
        let transport = transport(proto).map_err(|m| Reject::field(at("proto"), m))?;
        let mut event = base(ip, port, transport, time.as_deref());
        match entry.get("service").and_then(Value::as_object) {
            Some(service) => {
                let name = str_of(service, "name").unwrap_or("unknown");
                let banner = str_of(service, "banner").unwrap_or("");
                banner_fields(&mut event, name, banner);
            }
            None => {
                let status = str_of(entry, "status").unwrap_or("");
                if status != "open" {
                    return Err(Reject::field(
                        at("status"),
                        format!("{status:?}, not an open port"),
                    ));
                }
                open_fields(&mut event);
                if let Some(reason) = str_of(entry, "reason") {
                    event.insert("extra.masscan_reason", reason);
                }
                if let Some(ttl) = entry.get("ttl").and_then(Value::as_u64) {
                    event.insert("extra.ttl", ttl);
                }
            }
        }
        events.push(event);
    }
    Ok(events)
}

/// A list line: `open tcp 443 198.18.0.5 1700000000` or `banner tcp 80 198.18.0.5
/// 1700000000 http TEXT`.
fn list_record(text: &str) -> Result<Event, Reject> {
    let mut cells = text.splitn(7, ' ');
    let mut cell = || cells.next().unwrap_or("");
    let (status, proto, port, ip, timestamp) = (cell(), cell(), cell(), cell(), cell());
    let (service, banner) = (cell(), cell());
    if !matches!(status, "open" | "closed" | "banner") {
        return Err(Reject::line(format!(
            "not a masscan result: {status:?} is neither open nor banner (a -oJ record starts with {{, a -oL line with open or banner)"
        )));
    }
    let transport = transport(proto).map_err(|m| Reject::field("proto", m))?;
    let port: u16 = port
        .parse()
        .map_err(|_| Reject::field("port", format!("not a port number 0-65535: {port:?}")))?;
    let ip = parse_ip(ip, "ip")?;
    let time = parse_time(timestamp)?;
    let mut event = base(ip, port, transport, Some(&time));
    match status {
        "open" => open_fields(&mut event),
        "banner" => {
            if service.is_empty() {
                return Err(Reject::field("service", "missing"));
            }
            banner_fields(&mut event, service, &unescape(banner));
        }
        _ => {
            return Err(Reject::field(
                "status",
                format!("{status:?}, not an open port"),
            ));
        }
    }
    Ok(event)
}

/// The fields every masscan event has.
fn base(ip: IpAddr, port: u16, transport: &str, time: Option<&str>) -> Event {
    let mut event = Event::new();
    event.insert("source.ip", ip.to_string());
    event.insert("source.port", port);
    event.insert("protocol.transport", transport);
    if let Some(time) = time {
        event.insert("time.source", time);
    }
    event.insert("classification.taxonomy", "other");
    event.insert("classification.type", "other");
    event.insert("severity", "info");
    event
}

/// A bare open port.
fn open_fields(event: &mut Event) {
    event.insert("classification.identifier", "open-port");
}

/// A banner: application, text and, where the banner names it, the product.
fn banner_fields(event: &mut Event, service: &str, banner: &str) {
    let application = match service.to_ascii_lowercase().as_str() {
        "title" | "html" => "http".to_owned(),
        other => other.to_owned(),
    };
    event.insert(
        "classification.identifier",
        format!("accessible-{application}"),
    );
    event.insert("protocol.application", application);
    event.insert("extra.masscan_service", service);
    let banner = banner.trim();
    if !banner.is_empty() {
        event.insert(
            "extra.banner",
            banner.chars().take(MAX_TEXT).collect::<String>(),
        );
    }
    if let Some((full, name, version)) = banner_product(banner) {
        event.insert("product.full_name", full);
        event.insert("product.name", name.to_lowercase());
        if let Some(version) = version {
            event.insert("product.version", version.to_lowercase());
        }
    }
}

/// The product a banner names: an HTTP `Server:` header (`nginx/1.18.0 (Ubuntu)`) or an SSH
/// identification string (`SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.5`), as (full name, name,
/// version).
fn banner_product(banner: &str) -> Option<(String, String, Option<String>)> {
    if let Some(rest) = banner.strip_prefix("SSH-") {
        // SSH-protoversion-softwareversion SP comments
        let (_, software) = rest.split_once('-')?;
        let software = software.lines().next()?.trim();
        let first = software.split_whitespace().next()?;
        let (name, version) = match first.split_once('_') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (first, None),
        };
        return Some((software.to_owned(), name.to_owned(), version));
    }
    let server = banner.lines().find_map(|l| {
        let (key, value) = l.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case("server")
            .then(|| value.trim())
    })?;
    let first = server.split_whitespace().next()?;
    let (name, version) = first.split_once('/').unwrap_or((first, ""));
    if name.is_empty() {
        return None;
    }
    let version = version
        .starts_with(|c: char| c.is_ascii_digit())
        .then(|| version.to_owned());
    Some((server.to_owned(), name.to_owned(), version))
}

/// masscan's list output writes bytes that are not printable as `\xNN`.
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && bytes.get(i + 1) == Some(&b'x')
            && let Some(hex) = text.get(i + 2..i + 4)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_ip(text: &str, field: &str) -> Result<IpAddr, Reject> {
    text.trim()
        .parse()
        .map_err(|_| Reject::field(field, format!("not an ip address: {text:?}")))
}

/// Unix seconds as IntelMQ's time.
fn parse_time(text: &str) -> Result<String, Reject> {
    text.trim()
        .parse::<i64>()
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(jsonl::format_utc)
        .ok_or_else(|| Reject::field("timestamp", format!("not unix seconds: {text:?}")))
}

fn transport(proto: &str) -> Result<&'static str, String> {
    match proto.to_ascii_lowercase().as_str() {
        "tcp" => Ok("tcp"),
        "udp" => Ok("udp"),
        "sctp" => Ok("sctp"),
        other => Err(format!("not tcp, udp or sctp: {other:?}")),
    }
}

fn str_of<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_lines_hold_no_row() {
        for line in [
            "[",
            "]",
            ",",
            "#masscan",
            "# end",
            "{finished: 1}",
            " { finished : 1 } ",
        ] {
            assert!(is_frame(line), "{line}");
        }
        assert!(!is_frame(r#"{"ip": "198.18.0.1"}"#));
        assert!(!is_frame("open tcp 80 198.18.0.1 1700000000"));
    }

    #[test]
    fn products_in_banners() {
        assert_eq!(
            banner_product("SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.5"),
            Some((
                "OpenSSH_8.2p1 Ubuntu-4ubuntu0.5".into(),
                "OpenSSH".into(),
                Some("8.2p1".into())
            ))
        );
        assert_eq!(
            banner_product("HTTP/1.1 200 OK\r\nServer: nginx/1.18.0 (Ubuntu)\r\n\r\n"),
            Some((
                "nginx/1.18.0 (Ubuntu)".into(),
                "nginx".into(),
                Some("1.18.0".into())
            ))
        );
        assert_eq!(banner_product("220 mail.example ESMTP"), None);
    }

    #[test]
    fn list_escapes_are_undone() {
        assert_eq!(unescape(r"a\x0d\x0ab\x"), "a\r\nb\\x");
    }
}
