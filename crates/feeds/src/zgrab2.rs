//! zgrab2 results: one JSON object per scanned target and line,
//! `{"ip": …, "domain": …, "data": {"<module>": {"status", "protocol", "result", "timestamp", "error"}}}`.
//!
//! **One event per successful module result.** A line usually holds one module (`zgrab2 http`);
//! with `zgrab2 multiple` it holds one per configured scan (`http80`, `https443`, …), each a
//! different service with its own port and protocol, which an analyst handles — and a
//! constituent is notified about — separately. All events of a line carry its line number.
//!
//! A line with **no** successful module (the common `connection-timeout`, `io-timeout`, …)
//! is rejected with a [`RowError`](crate::RowError) `no successful module result (http:
//! connection-timeout: …)`, so that nothing is dropped silently; the field is
//! `data.<module>.status` when the line has one module, else `data`. A failed module next to a
//! successful one on the same line is left out (the line did produce events).
//!
//! A banner grab is an observation, not a finding: events are classified like Shadowserver's
//! `accessible-*` reports (`scan_http`, `scan_ssl`): `classification.taxonomy` = `other`,
//! `classification.type` = `other`, `classification.identifier` = `accessible-<application>`,
//! `severity` = `info`. Deciding whether the service is vulnerable is left to matching
//! (`product.*` against advisories).
//!
//! | zgrab2                                   | event                                         |
//! |------------------------------------------|-----------------------------------------------|
//! | `ip`                                     | `source.ip`                                   |
//! | `domain`                                 | `source.fqdn` (lower case)                    |
//! | `data.<m>.port` / `result.port`, else the port of the HTTP request URL, else the module's default port | `source.port`; a default port is flagged `extra.port_inferred` = `true` (zgrab2 does not write the port it used) |
//! | `data.<m>.protocol` (`amqp091` → `amqp`; `http` over TLS → `https`) | `protocol.application` |
//! | (`ntp`, `bacnet`: `udp`; others `tcp`)   | `protocol.transport`                          |
//! | `data.<m>.timestamp`                     | `time.source` (UTC, `+00:00`)                 |
//! | module name                              | `extra.zgrab2_module`                         |
//! | HTTP request URL                         | `source.url`                                  |
//! | HTTP `status_code`, `Server` header, `<title>`, `body_sha256` | `extra.http_status`, `extra.server`, `extra.title`, `extra.http_body_sha256` |
//! | `Server` header `name/version …`         | `product.full_name` (the header), `product.name`, `product.version` |
//! | AMQP `server_properties.product` / `version` | `product.name` (lower case), `product.version`, `product.full_name` |
//! | `result.banner`                          | `extra.banner`                                |
//! | TLS server hello version, cipher suite   | `extra.tls_version`, `extra.tls_cipher_suite` |
//! | TLS leaf certificate subject / issuer DN, not-after, SHA-256, names, self-signed, browser-trusted | `extra.tls_cert_subject`, `extra.tls_cert_issuer`, `extra.tls_cert_not_after`, `extra.tls_cert_sha256`, `extra.tls_cert_names`, `extra.tls_cert_self_signed`, `extra.tls_browser_trusted` |

use std::net::IpAddr;
use std::path::Path;

use serde_json::{Map, Value};

use crate::intelmq::jsonl::{self, Reject};
use crate::{Event, FeedError, Options, Rows};

/// `feed.name` of zgrab2 events.
pub const FEED_NAME: &str = "zgrab2";

/// Longest `extra.title` / `extra.banner` kept, in characters.
const MAX_TEXT: usize = 256;

/// Opens a file of zgrab2 JSON lines.
pub fn open(path: &Path, options: &Options) -> Result<Rows, FeedError> {
    let stamp = jsonl::Stamp::new(options, FEED_NAME);
    jsonl::open(path, move |line| {
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
    jsonl::read(Box::new(std::io::Cursor::new(text)), move |line| {
        let mut events = parse_line(line)?;
        for event in &mut events {
            stamp.apply(event, line);
        }
        Ok(events)
    })
}

/// Parses one line into one event per successful module (without the per-file stamp).
fn parse_line(line: &str) -> Result<Vec<Event>, Reject> {
    let object = jsonl::parse_object(line)?;
    let ip = match object.get("ip") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_str()
                .and_then(|s| s.trim().parse::<IpAddr>().ok())
                .ok_or_else(|| Reject::field("ip", format!("not an ip address: {value}")))?,
        ),
    };
    let domain = object
        .get("domain")
        .and_then(Value::as_str)
        .map(|d| d.trim().trim_end_matches('.').to_lowercase())
        .filter(|d| !d.is_empty());
    if ip.is_none() && domain.is_none() {
        return Err(Reject::field(
            "ip",
            "missing, and there is no domain either",
        ));
    }
    let data = match object.get("data") {
        Some(Value::Object(data)) if !data.is_empty() => data,
        Some(Value::Object(_)) => return Err(Reject::field("data", "no module result")),
        Some(_) => return Err(Reject::field("data", "not a json object")),
        None => return Err(Reject::field("data", "missing")),
    };

    let mut events = Vec::new();
    let mut failures = Vec::new();
    for (name, module) in data {
        let Some(module) = module.as_object() else {
            return Err(Reject::field(format!("data.{name}"), "not a json object"));
        };
        let status = module.get("status").and_then(Value::as_str).unwrap_or("");
        if status != "success" {
            let status = if status.is_empty() {
                "no status"
            } else {
                status
            };
            match module.get("error").and_then(Value::as_str) {
                Some(error) => failures.push(format!("{name}: {status}: {error}")),
                None => failures.push(format!("{name}: {status}")),
            }
            continue;
        }
        let mut event = Event::new();
        if let Some(ip) = ip {
            event.insert("source.ip", ip.to_string());
        }
        if let Some(domain) = &domain {
            event.insert("source.fqdn", domain.clone());
        }
        module_event(&mut event, name, module)?;
        events.push(event);
    }
    if events.is_empty() {
        let field = if data.len() == 1 {
            data.keys()
                .next()
                .map_or_else(|| "data".to_owned(), |k| format!("data.{k}.status"))
        } else {
            "data".to_owned()
        };
        return Err(Reject::field(
            field,
            format!("no successful module result ({})", failures.join("; ")),
        ));
    }
    Ok(events)
}

/// Fills `event` from one successful module result.
fn module_event(event: &mut Event, name: &str, module: &Map<String, Value>) -> Result<(), Reject> {
    let empty = Map::new();
    let result = module
        .get("result")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let protocol = module
        .get("protocol")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .unwrap_or(name)
        .to_ascii_lowercase();
    let response = get(result, &["response"]);
    let request_url = response.and_then(|r| get(r, &["request", "url"]));
    let handshake = tls_handshake(result);

    // application and port
    let scheme = request_url.and_then(|u| str_at(u, &["scheme"]));
    let application = match (protocol.as_str(), scheme) {
        ("http", Some(scheme)) => scheme.to_ascii_lowercase(),
        ("http", None) if handshake.is_some() => "https".to_owned(),
        ("amqp091", _) => "amqp".to_owned(),
        (p, _) => p.to_owned(),
    };
    let explicit = [module.get("port"), result.get("port")]
        .into_iter()
        .flatten()
        .find(|v| !v.is_null());
    let port = match explicit {
        Some(value) => Some(
            value
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| {
                    Reject::field(
                        format!("data.{name}.port"),
                        format!("not a port number: {value}"),
                    )
                })?,
        ),
        None => request_url
            .and_then(|u| str_at(u, &["host"]))
            .and_then(url_port)
            .or_else(|| match application.as_str() {
                "http" | "https" if request_url.is_some() => default_port(&application),
                _ => None,
            }),
    };
    match port {
        Some(port) => event.insert("source.port", port),
        None => {
            let tls = handshake.is_some();
            let default = match (protocol.as_str(), tls) {
                ("amqp091", true) => Some(5671),
                _ => default_port(&application).or_else(|| default_port(&protocol)),
            };
            if let Some(port) = default {
                event.insert("source.port", port);
                event.insert("extra.port_inferred", true);
            }
        }
    }
    event.insert("protocol.application", application.clone());
    event.insert(
        "protocol.transport",
        if matches!(protocol.as_str(), "ntp" | "bacnet") {
            "udp"
        } else {
            "tcp"
        },
    );
    event.insert("extra.zgrab2_module", name);

    // when
    if let Some(value) = module.get("timestamp").filter(|v| !v.is_null()) {
        let time = value
            .as_str()
            .and_then(jsonl::normalise_time)
            .ok_or_else(|| {
                Reject::field(
                    format!("data.{name}.timestamp"),
                    format!("not an iso 8601 time: {value}"),
                )
            })?;
        event.insert("time.source", time);
    }

    // what
    event.insert("classification.taxonomy", "other");
    event.insert("classification.type", "other");
    event.insert(
        "classification.identifier",
        format!("accessible-{application}"),
    );
    event.insert("severity", "info");

    if let Some(response) = response {
        http_fields(event, response, request_url);
    }
    if let Some(properties) = get(result, &["server_properties"])
        && let Some(product) = str_at(properties, &["product"])
    {
        event.insert("product.name", product.to_lowercase());
        let version = str_at(properties, &["version"]);
        if let Some(version) = version {
            event.insert("product.version", version.to_lowercase());
        }
        let full = match version {
            Some(v) => format!("{product} {v}"),
            None => product.to_owned(),
        };
        event.insert("product.full_name", full);
    }
    if let Some(banner) = str_at(result, &["banner"]) {
        event.insert("extra.banner", truncate(banner.trim()));
    }
    if let Some(handshake) = handshake {
        tls_fields(event, handshake);
    }
    Ok(())
}

/// HTTP response fields.
fn http_fields(event: &mut Event, response: &Map<String, Value>, url: Option<&Map<String, Value>>) {
    if let Some(url) = url
        && let (Some(scheme), Some(host)) = (str_at(url, &["scheme"]), str_at(url, &["host"]))
    {
        let path = str_at(url, &["path"]).unwrap_or("/");
        event.insert("source.url", format!("{scheme}://{host}{path}"));
    }
    if let Some(status) = response.get("status_code").and_then(Value::as_u64) {
        event.insert("extra.http_status", status);
    }
    let server = get(response, &["headers"])
        .and_then(|h| h.get("server"))
        .and_then(Value::as_array)
        .and_then(|values| values.first())
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(server) = server {
        event.insert("extra.server", server);
        event.insert("product.full_name", server);
        // `Apache/2.4.41 (Ubuntu)` → apache, 2.4.41
        let first = server.split_whitespace().next().unwrap_or(server);
        let (name, version) = first.split_once('/').unwrap_or((first, ""));
        if !name.is_empty() {
            event.insert("product.name", name.to_lowercase());
        }
        if version.starts_with(|c: char| c.is_ascii_digit()) {
            event.insert("product.version", version.to_lowercase());
        }
    }
    if let Some(title) = str_at(response, &["body"]).and_then(html_title) {
        event.insert("extra.title", title);
    }
    if let Some(sha) = str_at(response, &["body_sha256"]) {
        event.insert("extra.http_body_sha256", sha);
    }
}

/// TLS handshake fields: versions, cipher, leaf certificate.
fn tls_fields(event: &mut Event, handshake: &Map<String, Value>) {
    if let Some(version) = str_at(handshake, &["server_hello", "version", "name"]) {
        event.insert("extra.tls_version", version);
    }
    if let Some(cipher) = str_at(handshake, &["server_hello", "cipher_suite", "name"]) {
        event.insert("extra.tls_cipher_suite", cipher);
    }
    let Some(certificates) = get(handshake, &["server_certificates"]) else {
        return;
    };
    if let Some(trusted) = get_value(certificates, &["validation", "browser_trusted"])
        && trusted.is_boolean()
    {
        event.insert("extra.tls_browser_trusted", trusted.clone());
    }
    let Some(parsed) = get(certificates, &["certificate", "parsed"]) else {
        return;
    };
    for (path, field) in [
        (&["subject_dn"][..], "extra.tls_cert_subject"),
        (&["issuer_dn"][..], "extra.tls_cert_issuer"),
        (&["fingerprint_sha256"][..], "extra.tls_cert_sha256"),
    ] {
        if let Some(value) = str_at(parsed, path) {
            event.insert(field, value);
        }
    }
    if let Some(end) = str_at(parsed, &["validity", "end"]) {
        event.insert(
            "extra.tls_cert_not_after",
            jsonl::normalise_time(end).unwrap_or_else(|| end.to_owned()),
        );
    }
    if let Some(self_signed) = get_value(parsed, &["signature", "self_signed"])
        && self_signed.is_boolean()
    {
        event.insert("extra.tls_cert_self_signed", self_signed.clone());
    }
    let names = parsed
        .get("names")
        .or_else(|| get_value(parsed, &["extensions", "subject_alt_name", "dns_names"]))
        .or_else(|| get_value(parsed, &["subject", "common_name"]));
    if let Some(Value::Array(names)) = names {
        let names: Vec<Value> = names.iter().filter(|n| n.is_string()).cloned().collect();
        if !names.is_empty() {
            event.insert("extra.tls_cert_names", names);
        }
    }
}

/// The TLS handshake log wherever the module puts it (`http`: in the request's `tls_log`;
/// `amqp091` and others: `tls`; the `tls` module: the result itself).
fn tls_handshake(result: &Map<String, Value>) -> Option<&Map<String, Value>> {
    [
        &["response", "request", "tls_log", "handshake_log"][..],
        &["tls_log", "handshake_log"],
        &["tls", "handshake_log"],
        &["handshake_log"],
    ]
    .into_iter()
    .find_map(|path| get(result, path))
}

/// The contents of the first `<title>` of an HTML body, whitespace collapsed.
fn html_title(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let title = body[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!title.is_empty()).then(|| truncate(&title))
}

/// `text` cut to [`MAX_TEXT`] characters.
fn truncate(text: &str) -> String {
    text.chars().take(MAX_TEXT).collect()
}

/// The port in a URL host (`a.example:8080`, `[2001:db8::1]:8443`).
fn url_port(host: &str) -> Option<u16> {
    let after = match host.rsplit_once(']') {
        Some((_, after)) => after,
        None if host.matches(':').count() == 1 => host.split_once(':').map_or("", |(_, p)| p),
        None => return None,
    };
    after.trim_start_matches(':').parse().ok()
}

/// zgrab2's default port for a protocol, used when zgrab2 is not told another.
fn default_port(protocol: &str) -> Option<u16> {
    Some(match protocol {
        "http" => 80,
        "https" | "tls" => 443,
        "amqp" | "amqp091" => 5672,
        "bacnet" => 47808,
        "dnp3" => 20000,
        "fox" => 1911,
        "ftp" => 21,
        "imap" => 143,
        "ipp" => 631,
        "memcached" => 11211,
        "modbus" => 502,
        "mongodb" => 27017,
        "mqtt" => 1883,
        "mssql" => 1433,
        "mysql" => 3306,
        "ntp" => 123,
        "oracle" => 1521,
        "pop3" => 110,
        "postgres" => 5432,
        "redis" => 6379,
        "siemens" => 102,
        "smb" => 445,
        "smtp" => 25,
        "ssh" => 22,
        "telnet" => 23,
        _ => return None,
    })
}

/// The object at `path` below `map`.
fn get<'a>(map: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Map<String, Value>> {
    get_value(map, path).and_then(Value::as_object)
}

/// The value at `path` below `map`.
fn get_value<'a>(map: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut map = map;
    for key in parents {
        map = map.get(*key)?.as_object()?;
    }
    map.get(*last)
}

/// The non-empty string at `path` below `map`.
fn str_at<'a>(map: &'a Map<String, Value>, path: &[&str]) -> Option<&'a str> {
    get_value(map, path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_found_case_insensitively() {
        assert_eq!(
            html_title("<html><HEAD><Title lang=en>\n  Log in\n </TITLE>").as_deref(),
            Some("Log in")
        );
        assert_eq!(html_title("<html><body>no title</body></html>"), None);
    }

    #[test]
    fn ports_in_url_hosts() {
        assert_eq!(url_port("a.example:8080"), Some(8080));
        assert_eq!(url_port("[2001:db8::1]:8443"), Some(8443));
        assert_eq!(url_port("a.example"), None);
        assert_eq!(url_port("[2001:db8::1]"), None);
    }

    #[test]
    fn failed_modules_next_to_a_successful_one_are_left_out() {
        let line = r#"{"ip":"198.18.0.9","data":{"http80":{"status":"success","protocol":"http","result":{"response":{"status_code":301,"request":{"url":{"scheme":"http","host":"198.18.0.9","path":"/"}}}}},"https443":{"status":"io-timeout","protocol":"http","error":"i/o timeout"}}}"#;
        let events = parse_line(line).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].get_str("extra.zgrab2_module"), Some("http80"));
        assert_eq!(events[0].get("source.port"), Some(&Value::from(80)));
    }
}
