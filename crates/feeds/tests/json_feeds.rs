//! The JSON-lines feeds (nuclei, zgrab2, IntelMQ) against fixtures: concrete field values,
//! line numbers of bad lines, and what their row errors say.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use baken_feeds::{Event, FeedError, FeedKind, Options, Row, RowError, open};
use base64::Engine as _;
use serde_json::{Value, json};

const OBSERVED: &str = "2026-03-24T12:00:00+00:00";

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

fn scanners(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/scanners")
        .join(name)
}

fn options() -> Options {
    Options {
        observation_time: Some(OBSERVED.into()),
        ..Options::default()
    }
}

fn read(kind: FeedKind, path: &Path, options: &Options) -> Vec<Row> {
    open(kind, path, options)
        .unwrap_or_else(|e| panic!("{e}"))
        .collect()
}

/// Writes `text` to a temporary file and reads it as `kind`.
fn read_text(kind: FeedKind, text: &str) -> Vec<Row> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    read(kind, file.path(), &options())
}

fn event(rows: &[Row], line: u64) -> &Event {
    let row = rows
        .iter()
        .find(|r| r.line == line)
        .unwrap_or_else(|| panic!("no row for line {line}"));
    row.outcome
        .as_ref()
        .unwrap_or_else(|e| panic!("line {line} rejected: {e}"))
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

/// Checks that `event` has exactly the `expected` values for the fields named there
/// (`Value::Null` = the field must be absent).
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

/// Checks a rejected line: its field and the start of its message; its raw text is the line.
fn check_error(rows: &[Row], line: u64, field: Option<&str>, message: &str, file: &Path) {
    let e = error(rows, line);
    assert_eq!(e.field.as_deref(), field, "line {line}: {e}");
    assert!(
        e.message.starts_with(message),
        "line {line}: {:?} should start with {message:?}",
        e.message
    );
    // lower case prose; quoted input may keep its case
    assert!(
        !e.message.starts_with(char::is_uppercase),
        "line {line}: lower case"
    );
    assert!(!e.message.ends_with('.'), "line {line}: no trailing period");
    let text = std::fs::read_to_string(file).unwrap();
    let raw_line = text
        .lines()
        .nth(usize::try_from(line).unwrap() - 1)
        .unwrap();
    assert_eq!(e.raw, raw_line, "line {line}: raw");
}

fn lines(rows: &[Row]) -> Vec<(u64, bool)> {
    rows.iter().map(|r| (r.line, r.outcome.is_ok())).collect()
}

// --- nuclei ---------------------------------------------------------------------------

#[test]
fn nuclei_rows_and_line_numbers() {
    let rows = read(FeedKind::Nuclei, &data("nuclei/findings.jsonl"), &options());
    assert_eq!(
        lines(&rows),
        [
            (1, true),
            (2, true),
            (4, true),
            (5, true),
            (6, false),
            (7, false),
            (8, false),
            (9, false),
            (10, false),
            (11, true),
            (12, false),
        ]
    );
}

#[test]
fn nuclei_cve_finding() {
    let rows = read(FeedKind::Nuclei, &data("nuclei/findings.jsonl"), &options());
    let e = event(&rows, 1);
    check(
        e,
        &[
            ("feed.name", json!("nuclei")),
            ("time.observation", json!(OBSERVED)),
            ("time.source", json!("2026-03-24T09:32:07.482913+00:00")),
            ("source.ip", json!("198.18.10.5")),
            ("source.fqdn", json!("mail.a.example")),
            ("source.port", json!(443)),
            (
                "source.url",
                json!("https://mail.a.example/autodiscover/autodiscover.json?@zdi/Powershell"),
            ),
            ("protocol.application", json!("https")),
            ("protocol.transport", json!("tcp")),
            ("classification.taxonomy", json!("vulnerable")),
            ("classification.type", json!("vulnerable-system")),
            ("classification.identifier", json!("CVE-2022-41040")),
            // the form of IntelMQ's Shadowserver parser: lower case, sorted, `;`
            (
                "product.vulnerabilities",
                json!("cve-2022-41040;cve-2022-41082"),
            ),
            ("product.vendor", json!("microsoft")),
            ("product.name", json!("exchange_server")),
            ("severity", json!("high")),
            ("extra.cvss_score", json!(8.8)),
            (
                "extra.cvss_metrics",
                json!("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N"),
            ),
            ("extra.epss_score", json!(0.97181)),
            ("extra.cwe_ids", json!(["cwe-918"])),
            (
                "extra.template_name",
                json!("Microsoft Exchange Server - Server-Side Request Forgery"),
            ),
            ("extra.matcher_name", json!("proxyshell-autodiscover")),
            ("extra.template_type", json!("http")),
            (
                "extra.tags",
                json!(["cve", "cve2022", "ssrf", "exchange", "kev", "microsoft"]),
            ),
            ("extra.matched_at", Value::Null),
            ("raw", Value::Null),
        ],
    );
    assert_eq!(
        e.vulnerabilities(),
        ["cve-2022-41040", "cve-2022-41082"],
        "baken_model reads the same list back"
    );
}

#[test]
fn nuclei_panel_network_tech_and_tls_findings() {
    let rows = read(FeedKind::Nuclei, &data("nuclei/findings.jsonl"), &options());
    check(
        event(&rows, 2),
        &[
            ("source.ip", json!("198.18.7.20")),
            ("source.fqdn", Value::Null),
            ("source.port", json!(3000)),
            ("source.url", json!("http://198.18.7.20:3000/login")),
            ("protocol.application", json!("http")),
            ("time.source", json!("2026-03-24T09:15:00+00:00")),
            ("classification.taxonomy", json!("vulnerable")),
            (
                "classification.type",
                json!("potentially-unwanted-accessible"),
            ),
            ("classification.identifier", json!("grafana-detect")),
            ("severity", json!("info")),
            ("product.vulnerabilities", Value::Null),
            ("product.name", json!("grafana")),
            ("extra.extractor_name", json!("version")),
            ("extra.extracted_results", json!(["10.2.3"])),
            ("extra.references", Value::Null),
        ],
    );
    check(
        event(&rows, 4),
        &[
            ("source.ip", json!("2001:db8::25")),
            ("source.port", json!(6379)),
            ("source.url", Value::Null),
            ("extra.matched_at", json!("[2001:db8::25]:6379")),
            ("protocol.application", Value::Null),
            ("protocol.transport", json!("tcp")),
            ("time.source", json!("2026-03-24T09:16:41+00:00")),
            ("classification.type", json!("misconfiguration")),
            ("severity", json!("high")),
            ("extra.cvss_score", json!(7.5)),
            ("extra.extracted_results", json!(["7.0.11"])),
        ],
    );
    check(
        event(&rows, 5),
        &[
            ("source.ip", json!("198.18.3.4")),
            ("source.fqdn", json!("www.b.example")),
            ("source.url", json!("https://www.b.example")),
            ("classification.taxonomy", json!("other")),
            ("classification.type", json!("other")),
            ("classification.identifier", json!("tech-detect")),
            ("extra.matcher_name", json!("nginx")),
            ("severity", json!("info")),
        ],
    );
    check(
        event(&rows, 11),
        &[
            ("source.ip", json!("198.19.0.10")),
            ("source.fqdn", json!("mail.c.example")),
            ("source.port", json!(465)),
            ("classification.taxonomy", json!("vulnerable")),
            ("classification.type", json!("weak-crypto")),
            ("severity", json!("low")),
            ("extra.tags", json!(["ssl", "tls", "misc"])),
            ("extra.cwe_ids", json!(["cwe-326"])),
            ("extra.matched_at", json!("mail.c.example:465")),
        ],
    );
}

#[test]
fn nuclei_bad_lines() {
    let file = data("nuclei/findings.jsonl");
    let rows = read(FeedKind::Nuclei, &file, &options());
    check_error(&rows, 6, None, "invalid json: ", &file);
    check_error(&rows, 7, Some("ip"), "not an ip address", &file);
    check_error(&rows, 8, Some("template-id"), "missing", &file);
    check_error(&rows, 9, Some("port"), "not a port number", &file);
    check_error(&rows, 10, Some("timestamp"), "not an iso 8601 time", &file);
    check_error(&rows, 12, Some("host"), "no target", &file);
}

#[test]
fn nuclei_raw_and_observation_time() {
    let file = data("nuclei/findings.jsonl");
    let options = Options {
        raw: true,
        ..Options::default()
    };
    let rows = read(FeedKind::Nuclei, &file, &options);
    let e = event(&rows, 2);
    let raw = base64::engine::general_purpose::STANDARD
        .decode(e.get_str("raw").unwrap())
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        String::from_utf8(raw).unwrap(),
        text.lines().nth(1).unwrap()
    );
    // the current time, in IntelMQ's form
    let observed = e.get_str("time.observation").unwrap();
    assert!(observed.ends_with("+00:00"), "{observed}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(observed).is_ok(),
        "{observed}"
    );
    let other = event(&rows, 5).get_str("time.observation").unwrap();
    assert_eq!(observed, other, "one observation time per file");
}

#[test]
fn nuclei_crlf_and_invalid_utf8() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"{\"template-id\":\"t\",\"host\":\"198.18.0.1\",\"info\":{\"severity\":\"medium\"}}\r\n\r\n\xff\xfe\n")
        .unwrap();
    let rows = read(FeedKind::Nuclei, file.path(), &options());
    assert_eq!(lines(&rows), [(1, true), (3, false)]);
    check(
        event(&rows, 1),
        &[
            ("source.ip", json!("198.18.0.1")),
            ("severity", json!("medium")),
            ("classification.type", json!("vulnerable-system")),
        ],
    );
    assert!(error(&rows, 3).message.starts_with("not valid utf-8"));
}

// --- zgrab2 ---------------------------------------------------------------------------

#[test]
fn zgrab2_http() {
    let rows = read(
        FeedKind::Zgrab2,
        &scanners("zgrab2_http-http.json"),
        &options(),
    );
    assert_eq!(lines(&rows), [(1, true)]);
    check(
        event(&rows, 1),
        &[
            ("feed.name", json!("zgrab2")),
            ("time.observation", json!(OBSERVED)),
            ("time.source", json!("2018-04-06T19:38:09+00:00")),
            ("source.ip", json!("172.17.0.3")),
            ("source.fqdn", json!("target")),
            ("source.port", json!(80)),
            ("source.url", json!("http://target/")),
            ("protocol.application", json!("http")),
            ("protocol.transport", json!("tcp")),
            ("classification.taxonomy", json!("other")),
            ("classification.type", json!("other")),
            ("classification.identifier", json!("accessible-http")),
            ("severity", json!("info")),
            ("extra.zgrab2_module", json!("http")),
            ("extra.http_status", json!(200)),
            ("extra.server", json!("lighttpd/1.4.35")),
            ("product.full_name", json!("lighttpd/1.4.35")),
            ("product.name", json!("lighttpd")),
            ("product.version", json!("1.4.35")),
            (
                "extra.http_body_sha256",
                json!("c11fdc020dbb3150da741f51dcf0423c5ce93a798e91bd5c1957ea7299f4e103"),
            ),
            ("extra.title", Value::Null),
            ("extra.port_inferred", Value::Null),
            ("extra.tls_version", Value::Null),
        ],
    );
}

#[test]
fn zgrab2_https_certificate() {
    let rows = read(
        FeedKind::Zgrab2,
        &scanners("zgrab2_http-https.json"),
        &options(),
    );
    assert_eq!(lines(&rows), [(1, true)]);
    check(
        event(&rows, 1),
        &[
            ("time.source", json!("2018-04-06T19:38:11+00:00")),
            ("source.port", json!(443)),
            ("source.url", json!("https://target/")),
            ("protocol.application", json!("https")),
            ("classification.identifier", json!("accessible-https")),
            ("extra.tls_version", json!("TLSv1.2")),
            (
                "extra.tls_cipher_suite",
                json!("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            ),
            ("extra.tls_cert_subject", json!("CN=target")),
            ("extra.tls_cert_issuer", json!("CN=target")),
            (
                "extra.tls_cert_not_after",
                json!("2018-03-11T20:31:40+00:00"),
            ),
            (
                "extra.tls_cert_sha256",
                json!("fe01d8aaa47e75e281f404ab5e60c3e73da4747b02e558c238cc77cf023586fd"),
            ),
            ("extra.tls_cert_names", json!(["target"])),
            ("extra.tls_cert_self_signed", json!(true)),
            ("extra.tls_browser_trusted", json!(false)),
        ],
    );
}

#[test]
fn zgrab2_amqp() {
    let rows = read(
        FeedKind::Zgrab2,
        &scanners("zgrab2_output_amqp091.json"),
        &options(),
    );
    assert_eq!(lines(&rows), [(1, true)]);
    let e = event(&rows, 1);
    check(
        e,
        &[
            // -07:00 in the input
            ("time.source", json!("2024-05-15T07:02:49+00:00")),
            ("source.ip", json!("165.227.114.176")),
            ("source.fqdn", Value::Null),
            // zgrab2 does not write the port: AMQP over TLS defaults to 5671
            ("source.port", json!(5671)),
            ("extra.port_inferred", json!(true)),
            ("protocol.application", json!("amqp")),
            ("classification.identifier", json!("accessible-amqp")),
            ("extra.zgrab2_module", json!("amqp091")),
            ("product.name", json!("rabbitmq")),
            ("product.version", json!("3.8.16")),
            ("product.full_name", json!("RabbitMQ 3.8.16")),
            ("extra.tls_cert_subject", json!("CN=*.rmq2.cloudamqp.com")),
            (
                "extra.tls_cert_issuer",
                json!("C=US, O=Let's Encrypt, CN=R3"),
            ),
            (
                "extra.tls_cert_not_after",
                json!("2024-07-18T09:04:12+00:00"),
            ),
            ("extra.tls_cert_self_signed", json!(false)),
        ],
    );
    let names = e
        .get("extra.tls_cert_names")
        .and_then(Value::as_array)
        .unwrap();
    assert!(
        names.contains(&json!("*.in.rmq2.cloudamqp.com")),
        "{names:?}"
    );
}

const ZGRAB2_MIXED: &str = r#"{"ip":"198.18.0.1","data":{"http":{"status":"connection-timeout","protocol":"http","timestamp":"2026-03-24T10:00:00Z","error":"dial tcp 198.18.0.1:80: i/o timeout"}}}

{"ip":"198.18.0.2","domain":"WWW.E.example","data":{"http80":{"status":"success","protocol":"http","result":{"response":{"status_code":200,"headers":{"server":["Apache/2.4.41 (Ubuntu)"]},"body":"<html><head><title>\n  Intranet   Login </title></head></html>","request":{"url":{"scheme":"http","host":"www.e.example:8080","path":"/"}}}},"timestamp":"2026-03-24T10:00:01Z"},"ssh":{"status":"success","protocol":"ssh","result":{"banner":"SSH-2.0-OpenSSH_8.9p1"},"timestamp":"2026-03-24T10:00:02Z"}}}
{"ip":"198.18.0.999","data":{"http":{"status":"success","protocol":"http"}}}
{"ip":"198.18.0.3","data":{"http":{"status":"success","protocol":"http","timestamp":"soon"}}}
{"ip":"198.18.0.4"}
{"ip":"198.18.0.5","data":{"a":{"status":"io-timeout"},"b":{"status":"unknown-error","error":"eof"}}}
{"ip":"198.18.0.6","data":{"http"
"#;

#[test]
fn zgrab2_modules_and_bad_lines() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(ZGRAB2_MIXED.as_bytes()).unwrap();
    let rows = read(FeedKind::Zgrab2, file.path(), &options());
    assert_eq!(
        lines(&rows),
        [
            (1, false),
            (3, true),
            (3, true),
            (4, false),
            (5, false),
            (6, false),
            (7, false),
            (8, false),
        ]
    );
    let path = file.path();
    check_error(
        &rows,
        1,
        Some("data.http.status"),
        "no successful module result (http: connection-timeout: dial tcp 198.18.0.1:80: i/o timeout)",
        path,
    );
    check_error(&rows, 4, Some("ip"), "not an ip address", path);
    check_error(
        &rows,
        5,
        Some("data.http.timestamp"),
        "not an iso 8601 time",
        path,
    );
    check_error(&rows, 6, Some("data"), "missing", path);
    check_error(
        &rows,
        7,
        Some("data"),
        "no successful module result (a: io-timeout; b: unknown-error: eof)",
        path,
    );
    check_error(&rows, 8, None, "invalid json", path);

    // one event per successful module, both with line 3
    let events: Vec<&Event> = rows
        .iter()
        .filter(|r| r.line == 3)
        .map(|r| r.outcome.as_ref().unwrap())
        .collect();
    check(
        events[0],
        &[
            ("source.ip", json!("198.18.0.2")),
            ("source.fqdn", json!("www.e.example")),
            ("source.port", json!(8080)),
            ("source.url", json!("http://www.e.example:8080/")),
            ("extra.zgrab2_module", json!("http80")),
            ("extra.title", json!("Intranet Login")),
            ("product.name", json!("apache")),
            ("product.version", json!("2.4.41")),
            ("extra.port_inferred", Value::Null),
        ],
    );
    check(
        events[1],
        &[
            ("source.ip", json!("198.18.0.2")),
            ("source.port", json!(22)),
            ("extra.port_inferred", json!(true)),
            ("protocol.application", json!("ssh")),
            ("classification.identifier", json!("accessible-ssh")),
            ("extra.banner", json!("SSH-2.0-OpenSSH_8.9p1")),
            ("time.source", json!("2026-03-24T10:00:02+00:00")),
        ],
    );
}

// --- IntelMQ --------------------------------------------------------------------------

#[test]
fn intelmq_shapes_written_by_intelmq() {
    let rows = read(FeedKind::Intelmq, &data("intelmq/events.jsonl"), &options());
    assert_eq!(lines(&rows), [(1, true), (2, true), (3, true), (4, true)]);
    let flat = event(&rows, 1);
    assert_eq!(flat, event(&rows, 2), "hierarchical output reads the same");
    assert_eq!(flat, event(&rows, 3), "__type is dropped");
    check(
        flat,
        &[
            ("feed.name", json!("Shadowserver Accessible-HTTP")),
            ("source.ip", json!("198.51.100.7")),
            ("source.port", json!(8443)),
            ("source.asn", json!(64496)),
            ("source.geolocation.cc", json!("NL")),
            ("time.source", json!("2026-03-24T01:02:03+00:00")),
            // the upstream observation is kept
            (
                "time.observation",
                json!("2026-03-24T06:00:00.123456+00:00"),
            ),
            (
                "product.vulnerabilities",
                json!("cve-2023-4966;cve-2019-19781"),
            ),
            ("extra.naics", json!(517311)),
            ("extra.http", json!({"server": "Apache", "status": 200})),
            ("extra.http.status", Value::Null),
            ("__type", Value::Null),
            ("raw", Value::Null),
        ],
    );
    assert_eq!(flat.len(), 19, "{}", flat.to_json_line());
    check(
        event(&rows, 4),
        &[
            ("source.ip", json!("2001:db8::1")),
            ("source.fqdn", json!("www.b.example")),
            ("classification.type", json!("weak-crypto")),
            ("time.observation", json!(OBSERVED)),
        ],
    );
}

#[test]
fn intelmq_raw_is_kept_or_made_when_asked_for() {
    let file = data("intelmq/events.jsonl");
    let options = Options {
        raw: true,
        ..options()
    };
    let rows = read(FeedKind::Intelmq, &file, &options);
    check(
        event(&rows, 1),
        &[("raw", json!("SW5ScGJXVnpkR0Z0Y0NJc0ltbHdJaXdpY0c5eWRDSUs="))],
    );
    let line4 = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .nth(3)
        .unwrap()
        .to_owned();
    check(
        event(&rows, 4),
        &[(
            "raw",
            json!(base64::engine::general_purpose::STANDARD.encode(line4)),
        )],
    );
}

#[test]
fn intelmq_validation() {
    let file = data("intelmq/mixed.jsonl");
    let rows = read(FeedKind::Intelmq, &file, &options());
    assert_eq!(
        lines(&rows),
        [
            (1, true),
            (3, false),
            (4, false),
            (5, false),
            (6, false),
            (7, false),
            (8, false),
            (9, false),
            (10, false),
            (11, false),
            (12, true),
        ]
    );
    check(
        event(&rows, 1),
        &[
            ("source.port", json!(25)),
            ("source.asn", json!(64497)),
            ("time.source", json!("2026-03-24T04:05:06+00:00")),
            ("extra.smtp_banner", json!("220 mx.c.example ESMTP")),
            ("classification.type", json!("vulnerable-system")),
            ("feed.name", json!("intelmq")),
            ("time.observation", json!(OBSERVED)),
        ],
    );
    check_error(&rows, 3, Some("source.ip"), "not an ip address", &file);
    check_error(
        &rows,
        4,
        Some("source.asn"),
        "not an integer 0-4294967295",
        &file,
    );
    check_error(
        &rows,
        5,
        Some("source.port"),
        "not an integer 0-65535",
        &file,
    );
    check_error(&rows, 6, Some("time.source"), "not an iso 8601 time", &file);
    check_error(&rows, 7, Some("__type"), "not an event", &file);
    check_error(&rows, 8, None, "not a json object", &file);
    check_error(&rows, 9, Some("extra"), "not a json object", &file);
    check_error(&rows, 10, None, "invalid json", &file);
    check_error(&rows, 11, None, "the event has no fields", &file);
    check(
        event(&rows, 12),
        &[
            ("source.ip", json!("2001:db8::a")),
            ("source.fqdn", json!("www.d.example")),
            ("time.source", json!("2026-03-24T08:00:00+00:00")),
            ("time.observation", json!("2026-03-24T09:00:00+00:00")),
            // IntelMQ's JSON parser default
            ("classification.type", json!("undetermined")),
            ("source.network", Value::Null),
            ("destination.port", Value::Null),
        ],
    );
}

#[test]
fn intelmq_reads_what_the_other_json_feeds_write() {
    // nuclei events written as IntelMQ-style flat lines read back unchanged
    let rows = read(FeedKind::Nuclei, &data("nuclei/findings.jsonl"), &options());
    let text: String = rows
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok())
        .map(|e| e.to_json_line() + "\n")
        .collect();
    let back = read_text(FeedKind::Intelmq, &text);
    let original: Vec<&Event> = rows
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok())
        .collect();
    assert_eq!(back.len(), original.len());
    for (row, e) in back.iter().zip(original) {
        assert_eq!(row.outcome.as_ref().unwrap(), e);
    }
}

// --- all three ------------------------------------------------------------------------

#[test]
fn a_missing_file_is_a_feed_error() {
    for kind in [FeedKind::Nuclei, FeedKind::Zgrab2, FeedKind::Intelmq] {
        match open(kind, Path::new("/nonexistent/x.jsonl"), &options()) {
            Err(FeedError::Io { path, .. }) => assert_eq!(path, Path::new("/nonexistent/x.jsonl")),
            Err(e) => panic!("{kind}: {e}"),
            Ok(_) => panic!("{kind}: opened a missing file"),
        }
    }
}

#[test]
fn empty_files_give_no_rows() {
    for kind in [FeedKind::Nuclei, FeedKind::Zgrab2, FeedKind::Intelmq] {
        assert!(read_text(kind, "\n  \n\n").is_empty(), "{kind}");
    }
}
