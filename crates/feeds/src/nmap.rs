//! nmap results, as `nmap -oX` writes them: `<nmaprun>` holding one `<host>` element per
//! host scanned, read as a stream (a scan of a large network is never held in memory).
//!
//! **A row is a `<host>` element**, at the line its start tag is on; it gives one event
//! per port whose state is `open`, all with that line:
//!
//! | nmap                                          | event                                   |
//! |-----------------------------------------------|-----------------------------------------|
//! | `address[@addrtype=ipv4 or ipv6]/@addr`       | `source.ip`                             |
//! | `hostnames/hostname/@name` (`user` before `PTR`) | `source.fqdn` (lower case, no trailing dot) |
//! | `port/@portid`                                | `source.port`                           |
//! | `port/@protocol` (`tcp`, `udp`, `sctp`)       | `protocol.transport`                    |
//! | `host/@starttime`, else `nmaprun/@start` (Unix seconds) | `time.source` (UTC, `+00:00`) |
//! | `service/@name` (`http` with `tunnel="ssl"` → `https`) | `protocol.application`        |
//! | `service/cpe` (`cpe:/a:VENDOR:PRODUCT:VERSION`) | `extra.cpe` (a list); the first application CPE's vendor and product → `product.vendor`, `product.name` |
//! | `service/@product`                            | `product.name` (lower case) when no CPE names one |
//! | the CPE's version, else `service/@version`    | `product.version` (lower case)          |
//! | `service/@product` `@version` (`@extrainfo`)  | `product.full_name`                     |
//! | `service/@method`, `@conf`                    | `extra.nmap_service_method` (`probed`, or `table`: guessed from the port number), `extra.nmap_service_conf` |
//! | `service/@tunnel`, `@ostype`                  | `extra.tunnel`, `extra.os_type`         |
//! | `port/state/@reason`, `@reason_ttl`           | `extra.nmap_reason`, `extra.ttl`        |
//!
//! Like zgrab2's banner grabs, an open port is an observation, not a finding:
//! `classification.taxonomy` = `other`, `classification.type` = `other`, `severity` =
//! `info`, `classification.identifier` = `accessible-<application>`, or `open-port` when nmap
//! named no service. Whether the service is vulnerable is left to matching (`product.*`
//! against advisories).
//!
//! A host is rejected, naming the element and attribute, when it has no IPv4 or IPv6
//! address, a port number, protocol or time does not parse, it is down, or it has no open
//! port (`no open port (2 closed, 997 filtered)`): every host of the file is an event or a
//! reason. XML that is not well-formed ends the reading with a rejected row at the line of
//! the fault, as does a file that ends inside a `<host>` (a scan cut short).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::Path;

use quick_xml::events::{BytesStart, Event as Xml};

use crate::intelmq::jsonl::{self, Reject};
use crate::{Event, FeedError, Options, Row, RowError, RowStream, Rows};

/// `feed.name` of nmap events.
pub const FEED_NAME: &str = "nmap";

/// Opens a file of nmap XML output (`nmap -oX FILE`).
pub fn open(path: &Path, options: &Options) -> Result<Rows, FeedError> {
    let file = File::open(path).map_err(|source| FeedError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(read(Box::new(BufReader::new(file)), options))
}

/// Parses `text`, as [`open`] parses a file.
pub fn read_text(text: Vec<u8>, options: &Options) -> Rows {
    read(Box::new(std::io::Cursor::new(text)), options)
}

fn read(reader: Box<dyn BufRead + Send>, options: &Options) -> Rows {
    let mut xml = quick_xml::Reader::from_reader(Counting {
        inner: reader,
        newlines: VecDeque::new(),
        forgotten: 0,
        position: 0,
        capture: None,
    });
    xml.config_mut().trim_text(true);
    Box::new(Hosts {
        xml,
        buf: Vec::new(),
        stamp: jsonl::Stamp::new(options, FEED_NAME),
        scan_start: None,
        pending: VecDeque::new(),
        done: false,
    })
}

/// A reader that counts the line breaks it hands out, so that an element's line is known,
/// and keeps the bytes of the element being read (the row as read, for the quarantine).
struct Counting {
    inner: Box<dyn BufRead + Send>,
    /// Offsets of the line breaks read since the last [`Counting::forget`].
    newlines: VecDeque<u64>,
    /// Line breaks before those.
    forgotten: u64,
    /// Bytes handed out.
    position: u64,
    /// The bytes of the element being read.
    capture: Option<Vec<u8>>,
}

impl Counting {
    /// The 1-based line of the byte at `offset` (not before the last [`Counting::forget`]).
    fn line_of(&self, offset: u64) -> u64 {
        1 + self.forgotten + self.newlines.iter().take_while(|&&n| n < offset).count() as u64
    }

    /// Forgets where the line breaks before `offset` are (only how many).
    fn forget(&mut self, offset: u64) {
        while self.newlines.front().is_some_and(|&n| n < offset) {
            self.newlines.pop_front();
            self.forgotten += 1;
        }
    }
}

impl std::io::Read for Counting {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Counting {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        // the bytes consumed are still in the inner buffer: `fill_buf` returns it again
        // without reading
        if let Ok(buf) = self.inner.fill_buf() {
            let taken = &buf[..n.min(buf.len())];
            for i in memchr::memchr_iter(b'\n', taken) {
                self.newlines.push_back(self.position + i as u64);
            }
            if let Some(capture) = &mut self.capture {
                capture.extend_from_slice(taken);
            }
        }
        self.position += n as u64;
        self.inner.consume(n);
    }
}

/// The row iterator.
struct Hosts {
    xml: quick_xml::Reader<Counting>,
    buf: Vec<u8>,
    stamp: jsonl::Stamp,
    /// `nmaprun/@start`, as IntelMQ's time.
    scan_start: Option<String>,
    pending: VecDeque<Row>,
    done: bool,
}

impl RowStream for Hosts {}

impl Iterator for Hosts {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        loop {
            if let Some(row) = self.pending.pop_front() {
                return Some(row);
            }
            if self.done {
                return None;
            }
            self.buf.clear();
            let before = self.xml.buffer_position();
            let event = match self.xml.read_event_into(&mut self.buf) {
                Ok(event) => event.into_owned(),
                Err(e) => return Some(self.broken(before, &e.to_string())),
            };
            match event {
                Xml::Start(start) | Xml::Empty(start) if start.name().as_ref() == b"nmaprun" => {
                    if let Some(value) = attribute(&start, "start") {
                        self.scan_start = unix_time(&value);
                    }
                }
                Xml::Empty(start) if start.name().as_ref() == b"host" => {
                    let at = self
                        .xml
                        .buffer_position()
                        .saturating_sub(start.len() as u64 + 3);
                    let line = self.xml.get_ref().line_of(at);
                    let raw = format!("<{}/>", String::from_utf8_lossy(&start));
                    return Some(Row {
                        line,
                        outcome: Err(RowError {
                            field: Some("host".into()),
                            message: "an empty host element: no address, no port".into(),
                            raw,
                        }),
                    });
                }
                Xml::Start(start) if start.name().as_ref() == b"host" => {
                    let at = self
                        .xml
                        .buffer_position()
                        .saturating_sub(start.len() as u64 + 2);
                    let line = self.xml.get_ref().line_of(at);
                    self.xml.get_mut().forget(at);
                    let mut capture = Vec::with_capacity(4096);
                    capture.push(b'<');
                    capture.extend_from_slice(&start);
                    capture.push(b'>');
                    self.xml.get_mut().capture = Some(capture);
                    let host = self.host(&start);
                    let raw = self.xml.get_mut().capture.take().unwrap_or_default();
                    let raw = String::from_utf8_lossy(&raw).into_owned();
                    match host {
                        Ok(mut events) => {
                            for event in &mut events {
                                self.stamp.apply(event, &raw);
                            }
                            self.pending.extend(events.into_iter().map(|e| Row {
                                line,
                                outcome: Ok(e),
                            }));
                        }
                        Err(r) => {
                            return Some(Row {
                                line,
                                outcome: Err(RowError {
                                    field: r.field,
                                    message: r.message,
                                    raw,
                                }),
                            });
                        }
                    }
                }
                Xml::Eof => self.done = true,
                _ => {}
            }
        }
    }
}

/// A port as read.
#[derive(Default)]
struct Port {
    number: String,
    protocol: String,
    state: String,
    reason: Option<String>,
    ttl: Option<String>,
    service: Option<BytesStart<'static>>,
    cpes: Vec<String>,
}

impl Hosts {
    /// The row of XML that is not well-formed at `offset`; reading stops.
    fn broken(&mut self, offset: u64, message: &str) -> Row {
        self.done = true;
        let at = self.xml.error_position().max(offset);
        let line = self.xml.get_ref().line_of(at);
        let raw = self.xml.get_mut().capture.take().unwrap_or_default();
        Row {
            line,
            outcome: Err(RowError {
                field: None,
                message: format!("not well-formed xml, reading stops: {message}"),
                raw: String::from_utf8_lossy(&raw).into_owned(),
            }),
        }
    }

    /// Reads a `<host>` element to its end: its events, or why it is rejected.
    fn host(&mut self, start: &BytesStart<'_>) -> Result<Vec<Event>, Reject> {
        let time = match attribute(start, "starttime") {
            Some(value) => Some(unix_time(&value).ok_or_else(|| {
                Reject::field("host/@starttime", format!("not unix seconds: {value:?}"))
            })?),
            None => self.scan_start.clone(),
        };
        let mut ip: Option<IpAddr> = None;
        let mut bad_ip: Option<String> = None;
        let mut names: Vec<(String, String)> = Vec::new();
        let mut status: Option<String> = None;
        let mut ports: Vec<Port> = Vec::new();
        let mut extra_ports: Vec<(String, String)> = Vec::new();
        // the elements open below <host>
        let mut path: Vec<Vec<u8>> = Vec::new();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let event = match self.xml.read_event_into(&mut buf) {
                Ok(event) => event,
                Err(e) => {
                    self.done = true;
                    return Err(Reject::line(format!(
                        "not well-formed xml, reading stops: {e}"
                    )));
                }
            };
            let (start, empty) = match &event {
                Xml::Start(s) => (Some(s), false),
                Xml::Empty(s) => (Some(s), true),
                Xml::End(_) if path.is_empty() => break,
                Xml::End(_) => {
                    path.pop();
                    continue;
                }
                Xml::Text(text) => {
                    if path.last().is_some_and(|n| n == b"cpe")
                        && path.iter().any(|n| n == b"service")
                        && let Some(port) = ports.last_mut()
                        && let Ok(text) = text.decode()
                    {
                        port.cpes.push(text.trim().to_owned());
                    }
                    continue;
                }
                Xml::Eof => {
                    self.done = true;
                    return Err(Reject::line(
                        "the file ends inside this host element (a scan cut short?)",
                    ));
                }
                _ => continue,
            };
            let Some(start) = start else { continue };
            let name = start.name().as_ref().to_vec();
            let parent = path.last().map(Vec::as_slice);
            match (name.as_slice(), parent) {
                (b"status", None) => status = attribute(start, "state"),
                (b"address", None) => {
                    let kind = attribute(start, "addrtype").unwrap_or_default();
                    if (kind == "ipv4" || kind == "ipv6") && ip.is_none() {
                        let addr = attribute(start, "addr").unwrap_or_default();
                        match addr.parse() {
                            Ok(a) => ip = Some(a),
                            Err(_) => bad_ip = Some(addr),
                        }
                    }
                }
                (b"hostname", Some(b"hostnames")) => {
                    if let Some(n) = attribute(start, "name") {
                        names.push((attribute(start, "type").unwrap_or_default(), n));
                    }
                }
                (b"port", Some(b"ports")) => ports.push(Port {
                    number: attribute(start, "portid").unwrap_or_default(),
                    protocol: attribute(start, "protocol").unwrap_or_default(),
                    ..Port::default()
                }),
                (b"extraports", Some(b"ports")) => extra_ports.push((
                    attribute(start, "state").unwrap_or_default(),
                    attribute(start, "count").unwrap_or_default(),
                )),
                (b"state", Some(b"port")) => {
                    if let Some(port) = ports.last_mut() {
                        port.state = attribute(start, "state").unwrap_or_default();
                        port.reason = attribute(start, "reason");
                        port.ttl = attribute(start, "reason_ttl");
                    }
                }
                (b"service", Some(b"port")) => {
                    if let Some(port) = ports.last_mut() {
                        port.service = Some(start.clone().into_owned());
                    }
                }
                _ => {}
            }
            if !empty {
                path.push(name);
            }
        }

        let ip = match (ip, bad_ip) {
            (Some(ip), _) => ip,
            (None, Some(bad)) => {
                return Err(Reject::field(
                    "address/@addr",
                    format!("not an ip address: {bad:?}"),
                ));
            }
            (None, None) => {
                return Err(Reject::field(
                    "address",
                    "no ipv4 or ipv6 address in the host element",
                ));
            }
        };
        if let Some(state) = status.as_deref().filter(|s| *s != "up") {
            return Err(Reject::field(
                "status/@state",
                format!("host {state}, not up: no open port"),
            ));
        }
        let fqdn = names
            .iter()
            .find(|(kind, _)| kind == "user")
            .or_else(|| names.first())
            .map(|(_, n)| n.trim().trim_end_matches('.').to_lowercase())
            .filter(|n| !n.is_empty());
        let mut events = Vec::new();
        let mut others: Vec<(String, u64)> = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            let number: u16 = port.number.parse().map_err(|_| {
                Reject::field(
                    format!("port[{}]/@portid", i + 1),
                    format!("not a port number 0-65535: {:?}", port.number),
                )
            })?;
            if port.state != "open" {
                tally(&mut others, &port.state, 1);
                continue;
            }
            let transport = match port.protocol.as_str() {
                p @ ("tcp" | "udp" | "sctp") => p.to_owned(),
                other => {
                    return Err(Reject::field(
                        format!("port[{}]/@protocol", i + 1),
                        format!("not tcp, udp or sctp: {other:?}"),
                    ));
                }
            };
            let mut event = Event::new();
            event.insert("source.ip", ip.to_string());
            if let Some(fqdn) = &fqdn {
                event.insert("source.fqdn", fqdn.clone());
            }
            event.insert("source.port", number);
            event.insert("protocol.transport", transport);
            if let Some(time) = &time {
                event.insert("time.source", time.clone());
            }
            event.insert("classification.taxonomy", "other");
            event.insert("classification.type", "other");
            event.insert("severity", "info");
            if let Some(reason) = &port.reason {
                event.insert("extra.nmap_reason", reason.clone());
            }
            if let Some(ttl) = port.ttl.as_deref().and_then(|t| t.parse::<u64>().ok()) {
                event.insert("extra.ttl", ttl);
            }
            service_fields(&mut event, port);
            events.push(event);
        }
        if events.is_empty() {
            for (state, count) in &extra_ports {
                tally(&mut others, state, count.parse().unwrap_or(0));
            }
            let counts = others
                .iter()
                .map(|(state, n)| format!("{n} {state}"))
                .collect::<Vec<_>>()
                .join(", ");
            let counts = if counts.is_empty() {
                String::new()
            } else {
                format!(" ({counts})")
            };
            return Err(Reject::field("ports", format!("no open port{counts}")));
        }
        Ok(events)
    }
}

/// Adds `n` ports in `state` to `tally`.
fn tally(tally: &mut Vec<(String, u64)>, state: &str, n: u64) {
    match tally.iter_mut().find(|(s, _)| s == state) {
        Some((_, count)) => *count += n,
        None => tally.push((state.to_owned(), n)),
    }
}

/// The service nmap names on a port, and its product.
fn service_fields(event: &mut Event, port: &Port) {
    let service = port.service.as_ref();
    let get = |key: &str| {
        service
            .and_then(|s| attribute(s, key))
            .filter(|v| !v.is_empty())
    };
    let tunnel = get("tunnel");
    let application =
        get("name")
            .filter(|n| n != "unknown")
            .map(|n| match (n.as_str(), tunnel.as_deref()) {
                ("http", Some("ssl")) => "https".to_owned(),
                _ => n.to_ascii_lowercase(),
            });
    match &application {
        Some(app) => {
            event.insert("protocol.application", app.clone());
            event.insert("classification.identifier", format!("accessible-{app}"));
        }
        None => event.insert("classification.identifier", "open-port"),
    }
    let cpe = port
        .cpes
        .iter()
        .find_map(|c| c.strip_prefix("cpe:/a:"))
        .map(|c| c.split(':').collect::<Vec<_>>());
    let product = get("product");
    let version = get("version");
    if let Some(cpe) = &cpe {
        if let Some(vendor) = cpe.first().filter(|v| !v.is_empty()) {
            event.insert("product.vendor", vendor.to_lowercase());
        }
        if let Some(name) = cpe.get(1).filter(|v| !v.is_empty()) {
            event.insert("product.name", name.to_lowercase());
        }
    }
    if !event.contains("product.name")
        && let Some(product) = &product
    {
        event.insert("product.name", product.to_lowercase());
    }
    // the CPE's version is the plain one (`8.2p1`, where the service says `8.2p1 Ubuntu
    // 4ubuntu0.5`)
    if let Some(v) = cpe
        .as_ref()
        .and_then(|c| c.get(2))
        .filter(|v| !v.is_empty())
        .map(|v| v.to_string())
        .or_else(|| version.clone())
    {
        event.insert("product.version", v.to_lowercase());
    }
    if let Some(product) = &product {
        let mut full = product.clone();
        if let Some(v) = &version {
            full = format!("{full} {v}");
        }
        if let Some(extra) = get("extrainfo") {
            full = format!("{full} ({extra})");
        }
        event.insert("product.full_name", full);
    }
    if !port.cpes.is_empty() {
        event.insert("extra.cpe", port.cpes.clone());
    }
    for (key, field) in [
        ("method", "extra.nmap_service_method"),
        ("tunnel", "extra.tunnel"),
        ("ostype", "extra.os_type"),
    ] {
        if let Some(v) = get(key) {
            event.insert(field, v);
        }
    }
    if let Some(conf) = get("conf").and_then(|c| c.parse::<u64>().ok()) {
        event.insert("extra.nmap_service_conf", conf);
    }
}

/// An attribute's value, unescaped.
fn attribute(start: &BytesStart<'_>, key: &str) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key.as_bytes())
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// Unix seconds as IntelMQ's time.
fn unix_time(text: &str) -> Option<String> {
    text.trim()
        .parse::<i64>()
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(jsonl::format_utc)
}
