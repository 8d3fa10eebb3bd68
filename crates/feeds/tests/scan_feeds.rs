//! The port scanners' feeds (masscan, nmap) against hand-written samples of their output
//! formats: concrete field values, the line of each row, what a rejected row says, and
//! that a text read again (as a kept chunk is) gives the same rows.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use baken_feeds::{Event, FeedKind, Options, Row, RowError, open, read_text};
use serde_json::{Value, json};

const OBSERVED: &str = "2026-03-24T12:00:00+00:00";

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

fn options() -> Options {
    Options {
        observation_time: Some(OBSERVED.into()),
        strict: true,
        ..Options::default()
    }
}

fn read(kind: FeedKind, path: &Path) -> Vec<Row> {
    open(kind, path, &options())
        .unwrap_or_else(|e| panic!("{e}"))
        .collect()
}

fn events(rows: &[Row], line: u64) -> Vec<&Event> {
    let found: Vec<&Event> = rows
        .iter()
        .filter(|r| r.line == line)
        .map(|r| {
            r.outcome
                .as_ref()
                .unwrap_or_else(|e| panic!("line {line} rejected: {e}"))
        })
        .collect();
    assert!(!found.is_empty(), "no row for line {line}");
    found
}

fn error(rows: &[Row], line: u64) -> &RowError {
    let row = rows
        .iter()
        .find(|r| r.line == line)
        .unwrap_or_else(|| panic!("no row for line {line}"));
    match &row.outcome {
        Err(e) => e,
        Ok(e) => panic!("line {line} accepted: {}", e.to_json_line()),
    }
}

/// `event` has exactly these values (`Value::Null`: the field is absent).
fn check(event: &Event, expected: &[(&str, Value)]) {
    for (field, value) in expected {
        match value {
            Value::Null => assert!(
                !event.contains(field),
                "{field} should be absent in {}",
                event.to_json_line()
            ),
            v => assert_eq!(
                event.get(field),
                Some(v),
                "{field} in {}",
                event.to_json_line()
            ),
        }
    }
}

/// A rejected row: its field and the start of its message, in lower case prose.
fn check_error(rows: &[Row], line: u64, field: Option<&str>, message: &str) {
    let e = error(rows, line);
    assert_eq!(e.field.as_deref(), field, "line {line}: {e}");
    assert!(
        e.message.starts_with(message),
        "line {line}: {:?} should start with {message:?}",
        e.message
    );
    assert!(!e.message.starts_with(char::is_uppercase), "line {line}");
    assert!(!e.message.ends_with('.'), "line {line}");
    assert!(!e.raw.is_empty(), "line {line}: the row as read is kept");
}

fn lines(rows: &[Row]) -> Vec<(u64, bool)> {
    rows.iter().map(|r| (r.line, r.outcome.is_ok())).collect()
}

/// The text of `path` from line `from` on, after its first `header` lines, read again as
/// ingest reads a kept chunk, gives the rows read from the file at those lines.
fn reads_again(kind: FeedKind, path: &Path, header: usize, from: u64) {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut again = lines[..header].concat();
    again.push_str(&lines[from as usize - 1..].concat());
    let rows_again: Vec<Row> = read_text(kind, path, again.into_bytes(), &options())
        .unwrap()
        .collect();
    let offset = from - header as u64 - 1;
    let expected: Vec<Row> = read(kind, path)
        .into_iter()
        .filter(|r| r.line >= from)
        .collect();
    let got: Vec<Row> = rows_again
        .into_iter()
        .map(|mut r| {
            r.line += offset;
            r
        })
        .collect();
    assert_eq!(got, expected);
}

// --- masscan --------------------------------------------------------------------------

#[test]
fn masscan_json() {
    let file = data("masscan/masscan-oJ.json");
    let rows = read(FeedKind::Masscan, &file);
    // `[`, `,` and `]` hold no row; every other line is one
    assert_eq!(
        lines(&rows),
        vec![
            (2, true),
            (4, true),
            (6, true),
            (8, false),
            (10, false),
            (12, false),
            (14, false),
            (16, false)
        ]
    );
    check(
        events(&rows, 2)[0],
        &[
            ("source.ip", json!("198.18.0.5")),
            ("source.port", json!(443)),
            ("protocol.transport", json!("tcp")),
            ("time.source", json!("2023-11-14T22:13:20+00:00")),
            ("time.observation", json!(OBSERVED)),
            ("feed.name", json!("masscan")),
            ("classification.taxonomy", json!("other")),
            ("classification.type", json!("other")),
            ("classification.identifier", json!("open-port")),
            ("severity", json!("info")),
            ("extra.masscan_reason", json!("syn-ack")),
            ("extra.ttl", json!(54)),
            ("protocol.application", Value::Null),
            ("product.name", Value::Null),
        ],
    );
    check(
        events(&rows, 4)[0],
        &[
            ("source.ip", json!("198.18.0.6")),
            ("source.port", json!(80)),
            ("protocol.application", json!("http")),
            ("classification.identifier", json!("accessible-http")),
            ("product.name", json!("apache")),
            ("product.version", json!("2.4.49")),
            ("product.full_name", json!("Apache/2.4.49 (Unix)")),
            ("extra.masscan_service", json!("http")),
        ],
    );
    check(
        events(&rows, 6)[0],
        &[
            ("source.ip", json!("2001:db8::17")),
            ("protocol.application", json!("ssh")),
            ("product.name", json!("openssh")),
            ("product.version", json!("8.2p1")),
            (
                "extra.banner",
                json!("SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.5"),
            ),
        ],
    );
    check_error(&rows, 8, Some("ip"), "not an ip address: \"198.18.0.300\"");
    check_error(
        &rows,
        10,
        Some("ports[0].port"),
        "not a port number 0-65535: 70000",
    );
    check_error(
        &rows,
        12,
        Some("ports[0].status"),
        "\"closed\", not an open port",
    );
    check_error(
        &rows,
        14,
        Some("timestamp"),
        "not unix seconds: \"yesterday\"",
    );
    check_error(&rows, 16, None, "invalid json");
}

#[test]
fn masscan_json_of_older_versions() {
    let file = data("masscan/masscan-oJ-1.0.json");
    let rows = read(FeedKind::Masscan, &file);
    // records end with `,`; a record of two ports gives two events; `{finished: 1}` is frame
    assert_eq!(lines(&rows), vec![(2, true), (3, true), (3, true)]);
    let two = events(&rows, 3);
    assert_eq!(two[0].get("source.port"), Some(&json!(80)));
    assert_eq!(two[1].get("source.port"), Some(&json!(8443)));
}

#[test]
fn masscan_list() {
    let file = data("masscan/masscan-oL.txt");
    let rows = read(FeedKind::Masscan, &file);
    assert_eq!(
        lines(&rows),
        vec![
            (2, true),
            (3, true),
            (4, true),
            (5, true),
            (6, false),
            (7, false),
            (8, false),
            (9, false)
        ]
    );
    check(
        events(&rows, 3)[0],
        &[
            ("source.ip", json!("2001:db8:2::1")),
            ("source.port", json!(161)),
            ("protocol.transport", json!("udp")),
            ("time.source", json!("2023-11-14T22:15:01+00:00")),
            ("classification.identifier", json!("open-port")),
        ],
    );
    check(
        events(&rows, 4)[0],
        &[
            ("product.name", json!("nginx")),
            ("product.version", json!("1.18.0")),
            ("product.full_name", json!("nginx/1.18.0 (Ubuntu)")),
            (
                "extra.banner",
                json!("HTTP/1.0 200 OK\r\nServer: nginx/1.18.0 (Ubuntu)"),
            ),
        ],
    );
    check(
        events(&rows, 5)[0],
        &[
            ("product.name", json!("openssh")),
            ("product.version", json!("7.4")),
        ],
    );
    check_error(
        &rows,
        6,
        Some("ip"),
        "not an ip address: \"not-an-address\"",
    );
    check_error(&rows, 7, Some("proto"), "not tcp, udp or sctp: \"icmp\"");
    check_error(&rows, 8, None, "not a masscan result");
    check_error(&rows, 9, Some("status"), "\"closed\", not an open port");
}

#[test]
fn masscan_rows_read_again_from_their_lines() {
    for (file, from) in [
        ("masscan/masscan-oJ.json", 4),
        ("masscan/masscan-oL.txt", 4),
    ] {
        reads_again(FeedKind::Masscan, &data(file), 1, from);
    }
}

// --- nmap ------------------------------------------------------------------------------

#[test]
fn nmap_xml() {
    let file = data("nmap/nmap-oX.xml");
    let rows = read(FeedKind::Nmap, &file);
    // a row per <host> at the line of its start tag, an event per open port
    assert_eq!(
        lines(&rows),
        vec![
            (14, true),
            (14, true),
            (14, true),
            (31, false),
            (43, true),
            (43, true),
            (54, false),
            (58, false),
            (62, true)
        ]
    );
    let host = events(&rows, 14);
    check(
        host[0],
        &[
            ("source.ip", json!("198.18.3.1")),
            ("source.fqdn", json!("vpn.zorg.example")),
            ("source.port", json!(22)),
            ("protocol.transport", json!("tcp")),
            ("protocol.application", json!("ssh")),
            ("time.source", json!("2023-11-14T22:13:30+00:00")),
            ("time.observation", json!(OBSERVED)),
            ("feed.name", json!("nmap")),
            ("classification.taxonomy", json!("other")),
            ("classification.type", json!("other")),
            ("classification.identifier", json!("accessible-ssh")),
            ("severity", json!("info")),
            ("product.vendor", json!("openbsd")),
            ("product.name", json!("openssh")),
            ("product.version", json!("8.2p1")),
            (
                "product.full_name",
                json!("OpenSSH 8.2p1 Ubuntu 4ubuntu0.5 (Ubuntu Linux; protocol 2.0)"),
            ),
            (
                "extra.cpe",
                json!(["cpe:/a:openbsd:openssh:8.2p1", "cpe:/o:linux:linux_kernel"]),
            ),
            ("extra.nmap_service_method", json!("probed")),
            ("extra.nmap_service_conf", json!(10)),
            ("extra.os_type", json!("Linux")),
            ("extra.nmap_reason", json!("syn-ack")),
            ("extra.ttl", json!(63)),
        ],
    );
    check(
        host[1],
        &[
            ("source.port", json!(443)),
            ("protocol.application", json!("https")),
            ("classification.identifier", json!("accessible-https")),
            ("product.vendor", json!("citrix")),
            (
                "product.name",
                json!("netscaler_application_delivery_controller"),
            ),
            ("product.version", Value::Null),
            ("extra.tunnel", json!("ssl")),
        ],
    );
    check(
        host[2],
        &[
            ("source.port", json!(8081)),
            ("protocol.application", Value::Null),
            ("classification.identifier", json!("open-port")),
            ("extra.nmap_service_method", json!("table")),
        ],
    );
    check_error(
        &rows,
        31,
        Some("ports"),
        "no open port (2 closed, 998 filtered)",
    );
    let v6 = events(&rows, 43);
    check(
        v6[0],
        &[
            ("source.ip", json!("2001:db8:3::5")),
            ("source.fqdn", json!("www.zorg.example")),
            ("product.vendor", json!("apache")),
            ("product.name", json!("http_server")),
            ("product.version", json!("2.4.49")),
        ],
    );
    check(
        v6[1],
        &[
            ("protocol.transport", json!("udp")),
            ("product.name", json!("net-snmp")),
        ],
    );
    check_error(
        &rows,
        54,
        Some("address"),
        "no ipv4 or ipv6 address in the host element",
    );
    check_error(
        &rows,
        58,
        Some("host/@starttime"),
        "not unix seconds: \"notatime\"",
    );
    // no time of its own: the scan's start
    check(
        events(&rows, 62)[0],
        &[
            ("time.source", json!("2023-11-14T22:13:20+00:00")),
            ("product.name", json!("microsoft terminal services")),
        ],
    );
    let rejected = error(&rows, 54);
    assert!(rejected.raw.starts_with("<host starttime=\"1700000013\""));
    assert!(rejected.raw.ends_with("</host>"));
}

#[test]
fn nmap_rows_read_again_from_their_lines() {
    // ingest keeps the lines before the first row as the header, then chunks of rows
    reads_again(FeedKind::Nmap, &data("nmap/nmap-oX.xml"), 13, 43);
    reads_again(FeedKind::Nmap, &data("nmap/nmap-oX.xml"), 13, 14);
}

#[test]
fn nmap_cut_short_and_broken_files() {
    let text = std::fs::read_to_string(data("nmap/nmap-oX.xml")).unwrap();
    let cut: String = text.lines().take(48).map(|l| format!("{l}\n")).collect();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(cut.as_bytes()).unwrap();
    let rows = read(FeedKind::Nmap, file.path());
    assert_eq!(
        lines(&rows),
        vec![(14, true), (14, true), (14, true), (31, false), (43, false)]
    );
    check_error(&rows, 43, None, "the file ends inside this host element");

    let broken = text.replace(
        "<port protocol=\"udp\" portid=\"161\">",
        "<port protocol=\"udp\" portid=\"161\"<",
    );
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(broken.as_bytes()).unwrap();
    let rows = read(FeedKind::Nmap, file.path());
    let last = rows.last().unwrap();
    assert!(
        matches!(&last.outcome, Err(e) if e.message.starts_with("not well-formed xml")),
        "{last:?}"
    );
    // never more: reading stops at the fault
    assert_eq!(rows.iter().filter(|r| r.outcome.is_ok()).count(), 3);
}

#[test]
fn feeds_are_named_and_guessed() {
    assert_eq!("masscan".parse::<FeedKind>(), Ok(FeedKind::Masscan));
    assert_eq!("NMAP".parse::<FeedKind>(), Ok(FeedKind::Nmap));
    assert_eq!(
        FeedKind::guess(Path::new("scan-2026-03-24.xml")),
        Some(FeedKind::Nmap)
    );
    assert_eq!(
        FeedKind::guess(Path::new("masscan-2026-03-24.json")),
        Some(FeedKind::Masscan)
    );
    // a peer's documents by their names, so that the intake directory takes them as feeds,
    // not as advisories
    assert_eq!(
        FeedKind::guess(Path::new("cert-eu-2020-01-10.stix.json")),
        Some(FeedKind::Stix)
    );
    assert_eq!(
        FeedKind::guess(Path::new("misp-event-1234.json")),
        Some(FeedKind::Misp)
    );
    assert_eq!(FeedKind::guess(Path::new("NCSC-2020-0001.json")), None);
}
