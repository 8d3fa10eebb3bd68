//! Unit tests of the Shadowserver parser. Expected values are what IntelMQ 3.5.0 gives
//! (checked with its `_config.py` functions and harmonisation).

use std::collections::HashMap;
use std::io::Write;

use serde_json::{Value, json};

use super::convert::{self, Conversion, RowLookup};
use super::pyval::{self, PyVal, float_repr};
use super::*;

struct MapRow(HashMap<&'static str, Option<&'static str>>);

impl RowLookup for MapRow {
    fn get(&self, column: &str) -> Option<Option<&str>> {
        self.0.get(column).copied()
    }
}

fn row(pairs: &[(&'static str, &'static str)]) -> MapRow {
    MapRow(pairs.iter().map(|&(k, v)| (k, Some(v))).collect())
}

/// `check(conversion, input, expected)`: `Ok(value)` or `Err(())` where IntelMQ raises.
fn check_with(name: &str, input: &str, r: &MapRow, expected: Result<PyVal<'_>, ()>) {
    let conv = Conversion::from_name(name);
    assert!(conv.is_known(), "{name}");
    let with_row = matches!(
        conv,
        Conversion::ConvertHttpHostAndUrl | Conversion::CategoryOrDetail
    );
    let got = convert::apply(&conv, input, r, with_row).map_err(|_| ());
    assert_eq!(got, expected, "{name}({input:?})");
}

fn check(name: &str, input: &str, expected: Result<PyVal<'_>, ()>) {
    check_with(name, input, &row(&[]), expected);
}

fn s(v: &str) -> Result<PyVal<'_>, ()> {
    Ok(PyVal::str(v))
}

const NONE: Result<PyVal<'static>, ()> = Ok(PyVal::None);

#[test]
fn add_utc_to_timestamp() {
    check(
        "add_UTC_to_timestamp",
        "2026-03-24 01:02:03",
        s("2026-03-24 01:02:03 UTC"),
    );
}

#[test]
fn convert_int() {
    check("convert_int", "443", Ok(PyVal::Int(443)));
    check("convert_int", "", NONE);
    check("convert_int", "-5", Ok(PyVal::Int(-5)));
    check("convert_int", " 8 ", Ok(PyVal::Int(8)));
    check("convert_int", "1_000", Ok(PyVal::Int(1000)));
    check("convert_int", "abc", Err(()));
    check("convert_int", "1.0", Err(()));
}

#[test]
fn convert_float() {
    check("convert_float", "1.5", Ok(PyVal::Float(1.5)));
    check("convert_float", "", NONE);
    check("convert_float", "1e3", Ok(PyVal::Float(1000.0)));
    check("convert_float", " 2 ", Ok(PyVal::Float(2.0)));
    check("convert_float", "inf", Ok(PyVal::Float(f64::INFINITY)));
    check("convert_float", "abc", Err(()));
}

#[test]
fn validate_to_none() {
    check("validate_to_none", "", NONE);
    check("validate_to_none", "0", NONE);
    check("validate_to_none", "unknown", NONE);
    check("validate_to_none", "Unknown", s("Unknown"));
    check("validate_to_none", "x", s("x"));
}

#[test]
fn invalidate_zero() {
    check("invalidate_zero", "", NONE);
    check("invalidate_zero", "0", NONE);
    check("invalidate_zero", "00", NONE);
    check("invalidate_zero", "7", Ok(PyVal::Int(7)));
    check("invalidate_zero", "abc", Err(()));
}

#[test]
fn extract_cve_from_tag() {
    check(
        "extract_cve_from_tag",
        "citrix;cve-2019-19781",
        s("cve-2019-19781"),
    );
    check(
        "extract_cve_from_tag",
        "cve-2021-2;cve-2020-1;cve-2021-2",
        s("cve-2020-1;cve-2021-2"),
    );
    check("extract_cve_from_tag", "CVE-2020-1", NONE);
    check("extract_cve_from_tag", "", NONE);
    check("extract_cve_from_tag", "cve-1-2x", NONE);
}

#[test]
fn convert_bool() {
    for (v, b) in [
        ("Y", true),
        ("no", false),
        ("TRUE", true),
        ("Enabled", true),
        ("1", true),
    ] {
        check("convert_bool", v, Ok(PyVal::Bool(b)));
    }
    check("convert_bool", "", NONE);
    check("convert_bool", "maybe", NONE);
}

#[test]
fn convert_date() {
    check("convert_date", "2026-03-20", s("2026-03-20T00:00:00+00:00"));
    check(
        "convert_date",
        "2026-03-20 10:11:12",
        s("2026-03-20T10:11:12+00:00"),
    );
    check("convert_date", "", NONE);
    check("convert_date", "unknown", NONE);
    // HTTP Date headers, as Shadowserver's http_date column carries them; expected values are
    // what IntelMQ 3.5.0's DateTime.sanitize returns.
    check(
        "convert_date",
        "Tue, 24 Mar 2026 00:00:00 GMT",
        s("2026-03-24T00:00:00+00:00"),
    );
    check(
        "convert_date",
        "24 Mar 2026",
        s("2026-03-24T00:00:00+00:00"),
    );
    check(
        "convert_date",
        "March 24, 2026 10:00",
        s("2026-03-24T10:00:00+00:00"),
    );
    check(
        "convert_date",
        "Tue Mar 24 10:00:00 2026",
        s("2026-03-24T10:00:00+00:00"),
    );
    check(
        "convert_date",
        "2026-03-20T10:11:12+01:00",
        s("2026-03-20T09:11:12+00:00"),
    );
    check("convert_date", "2026-13-01", NONE);
    // from_isoformat accepts it and returns it unchanged
    check(
        "convert_date",
        "2026-3-2T1:02:03+00:00",
        s("2026-3-2T1:02:03+00:00"),
    );
}

#[test]
fn convert_date_utc() {
    check(
        "convert_date_utc",
        "2026-03-20",
        s("2026-03-20T00:00:00+00:00"),
    );
    check(
        "convert_date_utc",
        "2026-03-20 10:11:12",
        s("2026-03-20T10:11:12+00:00"),
    );
}

#[test]
fn dateutil_subset_matches_intelmq() {
    for (input, want) in [
        ("2020-01-02 03:04:05 UTC", Some("2020-01-02T03:04:05+00:00")),
        (
            "2020-01-02 03:04:05.123 UTC",
            Some("2020-01-02T03:04:05.123000+00:00"),
        ),
        (
            "2020-01-02T03:04:05Z UTC",
            Some("2020-01-02T03:04:05+00:00"),
        ),
        (
            "2020-01-02 03:04:05+02:00 UTC",
            Some("2020-01-02T01:04:05+00:00"),
        ),
        (
            "2020-01-02 03:04:05 UTC+02:00",
            Some("2020-01-02T05:04:05+00:00"),
        ),
        (
            "2020-01-02 03:04:05 -0130",
            Some("2020-01-02T04:34:05+00:00"),
        ),
        ("2020-01-02 03:04:05 +05", Some("2020-01-01T22:04:05+00:00")),
        ("2020-01-02+05:30", Some("2020-01-02T05:30:00+00:00")),
        (
            "2020-01-02 03:04:05 CEST UTC",
            Some("2020-01-02T03:04:05+00:00"),
        ),
        (
            "Mon 2020-01-02 03:04:05 UTC",
            Some("2020-01-02T03:04:05+00:00"),
        ),
        (
            "2020-01-02 03:04:05.1234567 UTC",
            Some("2020-01-02T03:04:05.123456+00:00"),
        ),
        (" UTC", None),
        ("foo UTC", None),
        ("2020-02-30 UTC", None),
        ("2020-01-02 24:00:00 UTC", None),
    ] {
        assert_eq!(pydate::sanitize(input).as_deref(), want, "{input:?}");
    }
}

#[test]
fn validate_ip() {
    for ok in ["198.18.0.1", "3323068417", "2001:DB8::1", "fe80::1%eth0"] {
        check("validate_ip", ok, s(ok));
    }
    for bad in ["0.0.0.0", "198.18.0.1/32", "x", "", "0", "01.2.3.4"] {
        check("validate_ip", bad, NONE);
    }
}

#[test]
fn validate_network() {
    check("validate_network", "198.18.0.0/24", s("198.18.0.0/24"));
    check("validate_network", "198.18.1.7/24", s("198.18.1.7/24"));
    check("validate_network", "198.18.0.1", NONE);
    check("validate_network", "x/1", NONE);
}

#[test]
fn validate_fqdn() {
    check("validate_fqdn", "host.example", s("host.example"));
    check("validate_fqdn", "Host.Example.", s("Host.Example."));
    for bad in ["", "bad..example", "198.18.0.1", "a/b.example", "x:80"] {
        check("validate_fqdn", bad, NONE);
    }
}

#[test]
fn force_base64() {
    check("force_base64", "aGVsbG8=", s("aGVsbG8="));
    check("force_base64", "abcd", s("abcd"));
    check("force_base64", "hello world", s("aGVsbG8gd29ybGQ="));
    check("force_base64", "ab=", s("YWI9"));
    check("force_base64", "", NONE);
    // non-ASCII makes Python's b64decode raise ValueError, which IntelMQ does not catch
    check("force_base64", "h\u{e9}llo", Err(()));
}

#[test]
fn scan_exchange() {
    check(
        "scan_exchange_taxonomy",
        "exchange;webshell",
        s("intrusions"),
    );
    check("scan_exchange_taxonomy", "exchange", s("vulnerable"));
    check(
        "scan_exchange_type",
        "exchange;webshell",
        s("system-compromise"),
    );
    check("scan_exchange_type", "exchange", s("vulnerable-system"));
    check(
        "scan_exchange_identifier",
        "exchange;webshell",
        s("exchange-server-webshell"),
    );
    check(
        "scan_exchange_identifier",
        "exchange",
        s("vulnerable-exchange-server"),
    );
}

#[test]
fn category_or_detail() {
    let c = "category_or_detail";
    check_with(
        c,
        "x",
        &row(&[("category", "cat"), ("detail", "det")]),
        s("cat"),
    );
    check_with(
        c,
        "x",
        &row(&[("category", ""), ("detail", "det")]),
        s("det"),
    );
    check_with(c, "x", &row(&[]), s(""));
}

#[test]
fn convert_http_host_and_url() {
    let c = "convert_http_host_and_url";
    check_with(
        c,
        "/x",
        &row(&[
            ("http_host", "www.example"),
            ("url", "GET /login?a=1 HTTP/1.1"),
            ("application", "https"),
        ]),
        s("https://www.example/login?a=1"),
    );
    check_with(
        c,
        "/x",
        &row(&[
            ("cc_dns", "c2.example"),
            ("http_host", "www.example"),
            ("url", "/path"),
        ]),
        s("http://c2.example/path"),
    );
    check_with(
        c,
        "/x",
        &row(&[("ip", "198.18.0.1"), ("http_url", "/p q")]),
        s("http://198.18.0.1/p"),
    );
    check_with(
        c,
        "/x",
        &row(&[("http_host", ""), ("url", "/path")]),
        s("/x"),
    );
}

#[test]
fn unknown_conversion_is_not_a_panic() {
    let conv = Conversion::from_name("brand_new_function");
    assert!(!conv.is_known());
    assert!(convert::apply(&conv, "v", &row(&[]), false).is_err());
}

#[test]
fn python_float_repr() {
    for (f, want) in [
        (1.0, "1.0"),
        (1.5, "1.5"),
        (1e16, "1e+16"),
        (1e15, "1000000000000000.0"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.5e-7, "-2.5e-07"),
    ] {
        assert_eq!(float_repr(f), want);
    }
}

#[test]
fn ipv6_is_formatted_as_python_3_11() {
    let f = |s: &str| harmonize::ip_sanitize(PyVal::str(s));
    assert_eq!(f("2001:DB8:0:0::1").as_deref(), Some("2001:db8::1"));
    assert_eq!(f("::ffff:198.18.0.1").as_deref(), Some("::ffff:c612:1"));
    assert_eq!(
        f("2001:db8:0:1:0:0:0:1").as_deref(),
        Some("2001:db8:0:1::1")
    );
    assert_eq!(f("3323068417").as_deref(), Some("198.18.0.1"));
}

#[test]
fn ipv4_is_formatted_as_a_dotted_quad() {
    for octet in 0..=255u32 {
        for a in [
            octet << 24,
            octet << 16 | 7,
            octet << 8 | 0x0a00_0000,
            octet | 0xc612_0000,
        ] {
            let want = std::net::Ipv4Addr::from(a).to_string();
            assert_eq!(net::Addr::V4(a).to_string(), want);
        }
    }
}

#[test]
fn case_checks_equal_comparing_with_the_converted_string() {
    for s in [
        "",
        "abc",
        "aBc",
        "ABC",
        "a-1.b",
        "ςσ",
        "Σ",
        "ΑΣ",
        "straße",
        "STRASSE",
        "İ",
        "ǅ",
        "x\u{0130}",
        "ÿ",
    ] {
        assert_eq!(pyval::is_lowercase(s), s.to_lowercase() == s, "{s:?}");
        assert_eq!(pyval::is_uppercase(s), s.to_uppercase() == s, "{s:?}");
    }
}

#[test]
fn report_from_file_name() {
    for (name, want) in [
        (
            "2026-03-24-scan_http_vulnerable-nl-geo-asn.csv",
            Some("scan_http_vulnerable"),
        ),
        ("scan_ssl_poodle.csv", Some("scan_ssl_poodle")),
        (
            "2026-03-24-event4_sinkhole_http-nl.csv",
            Some("event4_sinkhole_http"),
        ),
        ("2026-03-24.csv", Some("2026")),
        ("2026-03-24-scan http.csv", None),
        ("scan_http.txt", None),
        ("-scan.csv", None),
    ] {
        assert_eq!(report_name_from_file_name(name), want, "{name}");
    }
}

const SCHEMA: &str = r#"{
  "_meta": {"date_created": "2026-01-01T00:00:00Z", "change_log": []},
  "scan_test": {
    "feed_name": "Test-Report",
    "file_name": "scan_test",
    "url": "https://example.invalid/doc",
    "required_fields": [
      ["time.source", "timestamp", "add_UTC_to_timestamp"],
      ["source.ip", "ip", "validate_ip"]
    ],
    "optional_fields": [
      ["source.port", "port", "convert_int"],
      ["source.geolocation.cc", "geo"],
      ["source.reverse_dns", "hostname"],
      ["extra.", "tag", "validate_to_none"],
      ["product.vulnerabilities", "tag", "extract_cve_from_tag"],
      ["extra.", "future", "not_yet_invented"]
    ],
    "constant_fields": {
      "classification.taxonomy": "vulnerable",
      "classification.type": "vulnerable-system",
      "classification.identifier": "test"
    }
  }
}"#;

fn parse(name: &str, text: &str, options: &Options) -> Result<Vec<Row>, FeedError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .expect("write");
    let schema = Schema::from_json(SCHEMA).expect("schema");
    open_with_schema(&path, &schema, options).map(Iterator::collect)
}

fn opts() -> Options {
    Options {
        observation_time: Some("2026-03-24T06:00:00+00:00".into()),
        ..Options::default()
    }
}

#[test]
fn a_row_becomes_an_intelmq_event() {
    let rows = parse(
        "2026-03-24-scan_test-nl.csv",
        "timestamp,ip,port,geo,tag,future,other\n\
         2026-03-24 01:02:03,198.18.0.1,443,nl,citrix;cve-2019-19781,x,leftover\n",
        &Options {
            raw: true,
            ..opts()
        },
    )
    .expect("parse");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].line, 2);
    let event = rows[0].outcome.as_ref().expect("event");
    let want = json!({
        "classification.identifier": "test",
        "classification.taxonomy": "vulnerable",
        "classification.type": "vulnerable-system",
        "extra.future": "x",
        "extra.other": "leftover",
        "extra.tag": "citrix;cve-2019-19781",
        "feed.documentation": "https://example.invalid/doc",
        "feed.name": "Test-Report",
        "product.vulnerabilities": "cve-2019-19781",
        "raw": base64::engine::general_purpose::STANDARD.encode(
            "\"timestamp\",\"ip\",\"port\",\"geo\",\"tag\",\"future\",\"other\"\n\
             2026-03-24 01:02:03,198.18.0.1,443,nl,citrix;cve-2019-19781,x,leftover"
        ),
        "source.geolocation.cc": "NL",
        "source.ip": "198.18.0.1",
        "source.port": 443,
        "time.observation": "2026-03-24T06:00:00+00:00",
        "time.source": "2026-03-24T01:02:03+00:00",
    });
    assert_eq!(serde_json::to_value(event).expect("json"), want);
}

#[test]
fn invalid_optional_values_go_to_extra_and_null_ip_stays() {
    let rows = parse(
        "scan_test.csv",
        "timestamp,ip,geo\n2026-03-24 01:02:03,0.0.0.0,XXX\n",
        &opts(),
    )
    .expect("parse");
    let e = rows[0].outcome.as_ref().expect("event");
    // validate_ip gives None: the required column is left over, into extra
    assert_eq!(e.get("extra.ip"), Some(&Value::from("0.0.0.0")));
    assert_eq!(e.get("extra.geo"), Some(&Value::from("XXX")));
    assert!(!e.contains("source.ip"));
}

#[test]
fn bad_required_value_is_a_row_error_with_line_and_field() {
    let rows = parse(
        "scan_test.csv",
        "timestamp,ip\n2026-03-24 01:02:03,198.18.0.1\n,198.18.0.2\n2026-03-24 01:02:03,198.18.0.3\n",
        &opts(),
    )
    .expect("parse");
    assert_eq!(rows.len(), 3);
    assert!(rows[0].outcome.is_ok());
    let err = rows[1].outcome.as_ref().expect_err("row error");
    assert_eq!(rows[1].line, 3);
    assert_eq!(err.field.as_deref(), Some("timestamp"));
    assert_eq!(err.raw, ",198.18.0.2");
    assert!(rows[2].outcome.is_ok());
}

#[test]
fn conversion_failure_on_optional_is_a_row_error() {
    let rows = parse(
        "scan_test.csv",
        "timestamp,ip,port\n2026-03-24 01:02:03,198.18.0.1,http\n",
        &opts(),
    )
    .expect("parse");
    let err = rows[0].outcome.as_ref().expect_err("row error");
    assert_eq!(err.field.as_deref(), Some("port"));
}

#[test]
fn missing_required_column_is_a_feed_error() {
    let err = parse(
        "scan_test.csv",
        "timestamp,port\n2026-03-24 01:02:03,1\n",
        &opts(),
    )
    .expect_err("feed error");
    assert!(err.to_string().contains("\"ip\""), "{err}");
}

#[test]
fn unknown_report_is_a_feed_error_naming_report_option() {
    let err = parse("whatever.txt", "a\n1\n", &opts()).expect_err("feed error");
    let msg = err.to_string();
    assert!(
        msg.contains("whatever.txt") && msg.contains("--report"),
        "{msg}"
    );
}

#[test]
fn report_option_accepts_file_name_or_feed_name() {
    for report in ["scan_test", "Test-Report"] {
        let rows = parse(
            "data.csv",
            "timestamp,ip\n2026-03-24 01:02:03,198.18.0.1\n",
            &Options {
                report: Some(report.into()),
                ..opts()
            },
        )
        .expect("parse");
        assert!(rows[0].outcome.is_ok());
    }
}

#[test]
fn schema_file_loads_every_report() {
    let path = Schema::default_path().expect("schema path");
    let schema = Schema::load(&path).expect("schema");
    assert_eq!(schema.reports().len(), 170);
    assert_eq!(
        schema
            .detect("2026-03-24-scan_http_vulnerable-nl-geo-asn.csv")
            .map(|r| r.feed_name.as_str()),
        Some("Vulnerable-HTTP")
    );
}

#[test]
fn strict_parsing_rejects_a_required_field_without_a_valid_value() {
    let text = "timestamp,ip,port\n\
                2026-03-24 01:02:03,198.18.1.300,443\n\
                2026-03-24 01:02:03,,443\n";
    // IntelMQ's behaviour: events without `source.ip`, the bad value kept in `extra.ip`.
    let lax = parse("scan_test.csv", text, &opts()).expect("parse");
    let first = lax[0]
        .outcome
        .as_ref()
        .expect("an event, as IntelMQ makes it");
    assert!(!first.contains("source.ip"));
    assert_eq!(first.get_str("extra.ip"), Some("198.18.1.300"));
    assert!(
        lax[1]
            .outcome
            .as_ref()
            .is_ok_and(|e| !e.contains("source.ip"))
    );
    // Strict (what ingest uses): both rows are rejected, naming line and column.
    let strict = parse(
        "scan_test.csv",
        text,
        &Options {
            strict: true,
            ..opts()
        },
    )
    .expect("parse");
    let errors: Vec<_> = strict
        .iter()
        .map(|r| (r.line, r.outcome.clone().expect_err("rejected")))
        .collect();
    assert_eq!(errors[0].0, 2);
    assert_eq!(errors[0].1.field.as_deref(), Some("ip"));
    assert_eq!(
        errors[0].1.message,
        "required field: \"198.18.1.300\" is not a valid value"
    );
    assert_eq!(errors[1].0, 3);
    assert_eq!(errors[1].1.message, "required field: the value is missing");
}

/// Rows whose cells repeat (so that remembered outcomes are used) and are often invalid,
/// past the point where the parser decides which columns to remember.
fn repetitive_report(rows: usize) -> String {
    let mut text = String::from("timestamp,ip,port,geo,tag,future,other,other\n");
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let pick = |i: u64, options: &[&'static str]| options[i as usize % options.len()];
    for i in 0..rows {
        let ts = match next(50) {
            0 => String::from("yesterday"),
            1 => String::new(),
            n => format!(
                "2026-03-24 {:02}:{:02}:{:02}",
                n % 24,
                i % 60,
                (i / 60) % 60
            ),
        };
        let ip = match next(40) {
            0 => String::from("0.0.0.0"),
            1 => String::from("not an address"),
            2 => String::from("2001:db8::1"),
            n => format!("198.18.{}.{}", n, i % 250),
        };
        let port = pick(next(30), &["443", "80", "", "-", "8443", "x"]);
        let geo = pick(next(7), &["nl", "NL", "XXX", "", "de", "N/A", "b"]);
        let tag = pick(
            next(6),
            &[
                "citrix;cve-2019-19781",
                "",
                "pulse;CVE-2019-11510;cve-2018-13379",
                "0",
                "unknown",
                "http",
            ],
        );
        let future = pick(next(3), &["", "x", "y"]);
        let other = pick(next(4), &["", "a", "b", "c"]);
        let more = if next(20) == 0 { "" } else { ",z" };
        text.push_str(&format!(
            "{ts},{ip},{port},{geo},{tag},{future},{other}{more}\n"
        ));
    }
    text
}

#[test]
fn remembered_outcomes_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("2026-03-24-scan_test-nl.csv");
    std::fs::write(&path, repetitive_report(12_000)).expect("write");
    let schema = Schema::from_json(SCHEMA).expect("schema");
    let report = schema.report("scan_test").expect("report");
    for (raw, strict) in [(false, false), (true, false), (false, true)] {
        let parser = |remember: bool, shaped: bool| {
            let file = File::open(&path).expect("open");
            let mut p = Parser::new(
                BufReader::new(file),
                report,
                path.clone(),
                "2026-03-24T06:00:00+00:00".into(),
                raw,
                "\n",
            )
            .expect("parser");
            p.strict = strict;
            p.work.remember = remember;
            p.work.shaped = shaped;
            p
        };
        let plain: Vec<Row> = parser(false, false).collect();
        let remembered: Vec<Row> = parser(true, false).collect();
        assert_eq!(plain.len(), 12_000);
        let failed = plain.iter().filter(|r| r.outcome.is_err()).count();
        assert!(failed > 100 && failed < 6_000, "{failed} failed rows");
        assert_eq!(plain, remembered, "raw {raw}, strict {strict}");
        // filled by shapes, with and without remembering, into a new event per row
        let shaped: Vec<Row> = parser(true, true).collect();
        assert_eq!(plain, shaped, "shaped, raw {raw}, strict {strict}");
        let shaped: Vec<Row> = parser(false, true).collect();
        assert_eq!(
            plain, shaped,
            "shaped, not remembered, raw {raw}, strict {strict}"
        );
        // one event refilled row after row gives the same events, with or without shapes,
        // also when the caller adds and removes fields between rows
        for (shaped, meddle) in [(false, false), (true, false), (true, true)] {
            let mut stream = parser(true, shaped);
            let mut event = Event::new();
            let mut refilled = Vec::new();
            while let Some(r) = stream.next_into(&mut event) {
                refilled.push(Row {
                    line: r.line,
                    outcome: r.outcome.map(|()| event.clone()),
                });
                if meddle {
                    event.insert_static("source.asn", 64496);
                    event.insert_static("aaa", "first");
                    event.insert_static("zzz", Value::Null);
                    event.remove("time.observation");
                    let first = event.iter().next().map(|(k, _)| k.to_string());
                    if let Some(k) = first {
                        event.insert(k, 7);
                    }
                }
            }
            assert_eq!(
                plain, refilled,
                "raw {raw}, strict {strict}, shaped {shaped}, meddled with {meddle}"
            );
        }
    }
}

#[test]
fn rows_of_a_few_shapes_take_the_fast_path_and_give_the_same_events() {
    // three shapes, interleaved: without a port, with one, and with one and a text in a
    // column the schema does not know (left to `extra`)
    let mut text = String::from("timestamp,ip,port,geo,tag,other\n");
    for i in 0..6_000 {
        let (port, other) = match i % 7 {
            0 | 3 => ("", ""),
            5 => ("443", "z"),
            _ => ("8443", ""),
        };
        text.push_str(&format!(
            "2026-03-24 00:{:02}:{:02},198.18.{}.{},{port},NL,citrix,{other}\n",
            (i / 60) % 60,
            i % 60,
            i % 200,
            i % 250
        ));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("2026-03-24-scan_test-nl.csv");
    std::fs::write(&path, text).expect("write");
    let schema = Schema::from_json(SCHEMA).expect("schema");
    let report = schema.report("scan_test").expect("report");
    let parser = |shaped: bool| {
        let file = File::open(&path).expect("open");
        let mut p = Parser::new(
            BufReader::new(file),
            report,
            path.clone(),
            "2026-03-24T06:00:00+00:00".into(),
            false,
            "\n",
        )
        .expect("parser");
        p.work.shaped = shaped;
        p
    };
    let general: Vec<Row> = parser(false).collect();
    let mut shaped = parser(true);
    let mut event = Event::new();
    let mut rows = Vec::new();
    while let Some(r) = shaped.next_into(&mut event) {
        rows.push(Row {
            line: r.line,
            outcome: r.outcome.map(|()| event.clone()),
        });
    }
    for (g, r) in general.iter().zip(&rows) {
        assert_eq!(g, r);
    }
    assert_eq!(general.len(), rows.len());
    assert!(general.iter().all(|r| r.outcome.is_ok()));
    let ports = general
        .iter()
        .filter(|r| r.outcome.as_ref().is_ok_and(|e| e.contains("source.port")))
        .count();
    assert_eq!(ports, 6_000 - 2 * 6_000 / 7 - 1);
    // the general path read one row of each shape only
    let shapes = &shaped.work.shapes;
    assert_eq!(shapes.len(), 3);
    assert_eq!(shapes.general_rows(), 3);
}

#[test]
fn plain_host_names_are_judged_as_the_general_fqdn_check_judges_them() {
    use super::harmonize::{fqdn_is_valid_general, plain_host_name};
    let long = "a".repeat(63);
    let too_long = "a".repeat(64);
    let labels = [
        "host-198-18-0-1",
        "example",
        "nl",
        "a",
        "1",
        "123",
        "-",
        "a-",
        "x1",
        "",
        "xn--bcher-kva",
        long.as_str(),
        too_long.as_str(),
        "Host",
        "h_st",
        "h st",
        "ü",
    ];
    let mut fast = 0;
    for a in labels {
        for b in labels {
            for shape in [
                format!("{a}.{b}"),
                a.to_string(),
                format!("{a}.{b}."),
                format!(".{a}"),
                format!("{a}..{b}"),
                format!("{a}.{b}.example"),
            ] {
                if let Some(valid) = plain_host_name(&shape) {
                    fast += 1;
                    assert_eq!(valid, fqdn_is_valid_general(&shape), "{shape:?}");
                }
            }
        }
    }
    assert!(fast > 200, "{fast}");
    // names without a letter are left to the general check, which tells addresses apart
    // (IntelMQ takes 0.0.0.0, which is not a valid address, for a host name)
    for (ip_like, valid) in [("198.18.0.1", false), ("1.2.3.4", false), ("0.0.0.0", true)] {
        assert_eq!(plain_host_name(ip_like), None, "{ip_like}");
        assert_eq!(fqdn_is_valid_general(ip_like), valid, "{ip_like}");
    }
}

/// Rows read from `path` by [`open`], and what the parser altered in them.
fn rows_and_alterations(path: &Path, options: &Options) -> (Vec<Row>, crate::Alterations) {
    let mut rows = open(path, options).expect("open");
    let read: Vec<Row> = rows.by_ref().collect();
    let altered = rows.take_alterations();
    assert!(rows.take_alterations().is_empty(), "taking forgets");
    (read, altered)
}

#[test]
fn what_intelmq_alters_is_counted_with_its_first_line() {
    // line 1: invalid UTF-8 in the header; 3: a NUL; 4: invalid UTF-8; 5: short; 6: long;
    // 7: short, with two NULs; 8: a byte that is not UTF-8 before a quote, dropped before
    // the CSV is split, so the quoted cell is read as one

    let text: &[u8] = b"timestamp,ip,port,geo,t\xffag\n\
        2026-03-24 01:02:03,198.18.0.1,443,nl,a\n\
        2026-03-24 01:02:03,198.18.0.\x002,443,nl,a\n\
        2026-03-24 01:02:03,198.18.0.3,443,n\xc3l,a\n\
        2026-03-24 01:02:03,198.18.0.4,443\n\
        2026-03-24 01:02:03,198.18.0.5,443,nl,a,b,c\n\
        2026-03-24 01:02:03,198.18.0.6\0\0,443\n\
        2026-03-24 01:02:03,198.18.0.7,443,nl,\xff\"a, b\"\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let schema_path = dir.path().join("schema.json");
    std::fs::write(&schema_path, SCHEMA).expect("write schema");
    let path = dir.path().join("2026-03-24-scan_test-nl.csv");
    std::fs::write(&path, text).expect("write report");
    let want = crate::Alterations {
        nul_bytes: 3,
        invalid_utf8_bytes: 3,
        short_rows: crate::Tally {
            rows: 2,
            first_line: Some(5),
        },
        long_rows: crate::Tally {
            rows: 1,
            first_line: Some(6),
        },
    };
    for strict in [false, true] {
        let options = Options {
            schema: Some(schema_path.clone()),
            strict,
            ..opts()
        };
        let (rows, altered) = rows_and_alterations(&path, &options);
        assert_eq!(altered, want, "strict {strict}");
        // the rows are read as IntelMQ reads them: altered, not rejected
        let events: Vec<Event> = rows
            .into_iter()
            .map(|r| r.outcome.expect("event"))
            .collect();
        assert_eq!(events.len(), 7);
        assert_eq!(events[1].get_str("source.ip"), Some("198.18.0.2"));
        assert_eq!(events[2].get_str("source.geolocation.cc"), Some("NL"));
        assert_eq!(
            events[2].get_str("extra.tag"),
            Some("a"),
            "the header's tag is read"
        );
        assert_eq!(events[5].get_str("source.ip"), Some("198.18.0.6"));
        assert_eq!(events[6].get_str("extra.tag"), Some("a, b"));
        for threads in [1, 2, 3] {
            let mut many = crate::Alterations::default();
            par_chunks(
                &path,
                &options,
                threads,
                |rows| {
                    (&mut *rows).for_each(drop);
                    rows.take_alterations()
                },
                |chunk| {
                    many.add(chunk);
                    true
                },
            )
            .expect("parallel parse");
            assert_eq!(many, want, "{threads} threads");
        }
    }
    assert_eq!(
        want.phrases().join(", "),
        "3 NUL bytes removed, 3 bytes of invalid UTF-8 dropped, \
         2 rows short (cells missing, first at line 5), \
         1 row long (cells past the header dropped, first at line 6)"
    );
}

/// `text` with, here and there, a NUL byte, bytes that are not UTF-8 and a cell past the
/// header (every line keeps its line break).
fn with_alterations(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 100);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let (body, end) = line.split_at(line.trim_end_matches(['\r', '\n']).len());
        let mut body = body.as_bytes().to_vec();
        if i > 0 && i % 613 == 0 {
            body.insert(body.len() / 2, 0);
        }
        if i > 0 && i % 701 == 0 {
            body.extend_from_slice(b",past the header");
        }
        if i > 0 && i % 809 == 0 {
            body.insert(body.len() / 3, 0xff);
        }
        out.extend_from_slice(&body);
        out.extend_from_slice(end.as_bytes());
    }
    out
}

#[test]
fn parsing_on_several_threads_gives_the_rows_of_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema_path = dir.path().join("schema.json");
    std::fs::write(&schema_path, SCHEMA).expect("write schema");
    let lf = repetitive_report(9_000);
    // CRLF line ends, a quoted line break and a stray quote in the middle of the report
    let mut crlf = lf.replace('\n', "\r\n");
    let middle = crlf.len() / 2;
    let cut = middle + crlf[middle..].find("\r\n").expect("a line end") + 2;
    crlf.insert_str(
        cut,
        "2026-03-24 01:02:03,198.18.0.9,443,nl,\"multi\r\nline\",x,a\r\n\
         2026-03-24 01:02:03,198.18.0.9,4\"43,nl,tag,x,a\r\n\r\n",
    );
    let altered = with_alterations(&lf);
    for (name, text) in [
        ("lf", lf.into_bytes()),
        ("crlf", crlf.into_bytes()),
        ("altered", altered),
    ] {
        let path = dir.path().join(format!("2026-03-24-scan_test-{name}.csv"));
        std::fs::write(&path, text).expect("write report");
        for (raw, strict) in [(false, false), (true, true)] {
            let options = Options {
                schema: Some(schema_path.clone()),
                raw,
                strict,
                ..opts()
            };
            let (one, one_altered) = rows_and_alterations(&path, &options);
            if name == "altered" {
                let a = one_altered;
                assert!(
                    a.nul_bytes > 10 && a.invalid_utf8_bytes > 10 && a.long_rows.rows > 10,
                    "{a:?}"
                );
            }
            // the report has short rows (7 cells of 8)
            assert!(one_altered.short_rows.rows > 100, "{name}: {one_altered:?}");
            for threads in [1, 2, 3] {
                let mut many: Vec<Row> = Vec::new();
                let mut many_altered = crate::Alterations::default();
                par_chunks(
                    &path,
                    &options,
                    threads,
                    |rows| {
                        let chunk = (&mut *rows).collect::<Vec<Row>>();
                        (chunk, rows.take_alterations())
                    },
                    |(chunk, altered)| {
                        many.extend(chunk);
                        many_altered.add(altered);
                        true
                    },
                )
                .expect("parallel parse");
                assert_eq!(many.len(), one.len(), "{name}, {threads} threads");
                assert!(
                    many == one,
                    "{name}, raw {raw}, {threads} threads: rows differ"
                );
                assert_eq!(many_altered, one_altered, "{name}, {threads} threads");
            }
            // a caller that stops after the first chunk is not kept waiting
            let mut chunks = 0;
            par_chunks(
                &path,
                &options,
                2,
                |rows| rows.count(),
                |_| {
                    chunks += 1;
                    false
                },
            )
            .expect("stopped parse");
            assert_eq!(chunks, 1);
        }
    }
}

#[test]
fn plain_outcomes_equal_the_general_path() {
    let schema = Schema::from_json(SCHEMA).expect("schema");
    let report = schema.report("scan_test").expect("report");
    let header: Vec<String> = ["timestamp", "ip", "hostname"].map(String::from).to_vec();
    let plan = Plan::new(
        report,
        header,
        "2026-03-24T06:00:00+00:00",
        std::path::Path::new("test.csv"),
    )
    .expect("plan");
    let column = |steps: &[Step], name: &str| -> Step {
        steps
            .iter()
            .find(|s| s.column == name)
            .expect("the column has a step")
            .clone()
    };
    let timestamp = column(&plan.required, "timestamp");
    let ip = column(&plan.required, "ip");
    let hostname = column(&plan.optional, "hostname");
    let cells: Vec<String> = vec![];
    let row = RowView {
        plan: &plan,
        cells: Cells::Decoded(&cells),
    };
    let mut texts: Vec<String> = Vec::new();
    // every month's last days, in leap and common years, and dates that are no dates
    let mut dates = vec![
        String::from("0999-12-31"),
        "2026-3-24".into(),
        "2026-03-2x".into(),
        "+026-03-24".into(),
    ];
    for y in ["1000", "1900", "2000", "2023", "2024", "2100", "9999"] {
        for m in 0..=13 {
            for d in [0, 1, 28, 29, 30, 31, 32] {
                dates.push(format!("{y}-{m:02}-{d:02}"));
            }
        }
    }
    let real_dates = dates
        .iter()
        .filter(|d| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok_and(|d| {
                use chrono::Datelike;
                d.year() >= 1000
            }) && d.len() == 10
        })
        .count();
    assert!(real_dates > 300, "{real_dates}");
    for d in &dates {
        for t in [
            "00:00:00", "23:59:59", "24:00:00", "12:60:00", "07:08:60", "1:02:03",
        ] {
            for sep in [" ", "T", "_"] {
                texts.push(format!("{d}{sep}{t}"));
            }
        }
    }
    for ip in [
        "198.18.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "01.2.3.4",
        "1.2.3",
        " 1.2.3.4",
        "2001:db8::1",
    ] {
        texts.push(ip.to_string());
    }
    for host in [
        "host-1.example",
        "Host.example",
        "a..b",
        "example.",
        "1.2.3.4",
        "x",
        "-",
        "ü.example",
        "a b",
    ] {
        texts.push(host.to_string());
    }
    let mut plain = 0;
    for (step, required) in [(&timestamp, true), (&ip, true), (&hostname, false)] {
        for text in &texts {
            if let Some(known) = plain_outcome(step, text) {
                plain += 1;
                assert_eq!(
                    known,
                    general_outcome(step, required, Some(text), &row),
                    "{} {text:?}",
                    step.column
                );
            }
        }
    }
    // the real dates (from year 1000) x 2 valid times x 2 separators; 3 addresses (one from
    // the names); 2 names
    assert_eq!(plain, real_dates * 2 * 2 + 3 + 2);
}

/// How many of `texts` an optional `extra.` step of `column` with `conversion` takes by its
/// plain path, each checked against the general path's outcome.
fn plain_extra_outcomes_equal_the_general_path(
    column: &str,
    conversion: Conversion,
    texts: &[String],
) -> usize {
    let step = Step {
        slot: Some(0),
        column: column.into(),
        target: StepTarget::Extra(0),
        conversion: Some(conversion),
        with_row: false,
        invalid_key_field: None,
    };
    let schema = Schema::from_json(SCHEMA).expect("schema");
    let plan = Plan::new(
        schema.report("scan_test").expect("report"),
        ["timestamp", "ip", column].map(String::from).to_vec(),
        "2026-03-24T06:00:00+00:00",
        std::path::Path::new("test.csv"),
    )
    .expect("plan");
    let row = RowView {
        plan: &plan,
        cells: Cells::Decoded(&[]),
    };
    let mut plain = 0;
    for text in texts {
        if let Some(known) = plain_outcome(&step, text) {
            plain += 1;
            let general = general_outcome(&step, false, Some(text), &row);
            assert_eq!(known, general, "{column} {text:?}");
        }
    }
    plain
}

#[test]
fn plain_http_dates_equal_convert_date() {
    let mut texts = Vec::new();
    for day in ["Tue", "Xyz"] {
        for date_text in [
            "24 Mar 2026",
            "29 Feb 2023",
            "29 Feb 2024",
            "31 Dec 9999",
            "01 Jan 1000",
            "30 Nov 2026",
            "31 Nov 2026",
            "01 Foo 2026",
            "15 Dec 0999",
        ] {
            for time in ["10:11:12", "24:00:00", "23:59:59", "00:00:00"] {
                for tail in [" GMT", " UTC", ""] {
                    texts.push(format!("{day}, {date_text} {time}{tail}"));
                }
            }
        }
    }
    let plain =
        plain_extra_outcomes_equal_the_general_path("http_date", Conversion::ConvertDate, &texts);
    // Tue (the day name is not checked against the date) x 5 real dates x 3 real times
    assert_eq!(plain, 5 * 3);
}

#[test]
fn a_panic_in_a_worker_reaches_the_caller_instead_of_hanging() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema_path = dir.path().join("schema.json");
    std::fs::write(&schema_path, SCHEMA).expect("write schema");
    let path = dir.path().join("2026-03-24-scan_test-nl.csv");
    std::fs::write(&path, repetitive_report(20_000)).expect("write report");
    let options = Options {
        schema: Some(schema_path),
        ..opts()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(|| {
            let mut chunks = 0;
            let _ = par_chunks(
                &path,
                &options,
                2,
                |rows| {
                    let n = rows.count();
                    assert!(n != 2048 || chunks_seen() < 2, "a bug in the caller's work");
                    n
                },
                |_| {
                    chunks += 1;
                    true
                },
            );
        });
        let _ = tx.send(outcome.is_err());
    });
    // every chunk but the last has 2,048 rows: the work panics on one of the first
    let panicked = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the parse ends instead of hanging");
    assert!(panicked, "the worker's panic reaches the caller");
}

/// Chunks the workers of the panic test have finished, across threads.
fn chunks_seen() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    SEEN.fetch_add(1, Ordering::SeqCst)
}

#[test]
fn plain_integers_equal_convert_int() {
    let mut texts: Vec<String> = [
        "0", "00", "007", "6699", "-1", "+1", "1_000", " 1", "1 ", "", "1.0", "1e3", "٣", "x",
    ]
    .map(String::from)
    .to_vec();
    for digits in 15..=21 {
        texts.push("9".repeat(digits));
        texts.push(format!("1{}", "0".repeat(digits - 1)));
    }
    let plain = plain_extra_outcomes_equal_the_general_path(
        "content_length",
        Conversion::ConvertInt,
        &texts,
    );
    // "0", "00", "007", "6699", and the 9s and powers of ten of 15 to 18 digits
    assert_eq!(plain, 4 + 4 * 2);
}

/// Every ASCII character and a few longer ones (a non-ASCII digit among them), to put in
/// every place of a cell the fast paths read.
pub(super) fn every_char() -> impl Iterator<Item = char> {
    (0..=127u8)
        .map(char::from)
        .chain(['\u{80}', 'é', 'ü', '٣', '€', '\u{10ffff}'])
}

/// A memo's trial keeps a column of some hundreds of distinct texts, which miss at first and
/// then hit every time, and drops one whose texts never repeat (addresses, time stamps).
#[test]
fn a_memo_keeps_a_column_of_hundreds_of_texts_and_drops_one_that_never_repeats() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut draw = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        state >> 33
    };
    let (mut some, mut unique) = (Memo::default(), Memo::default());
    let mut late_hits = 0;
    for i in 0..3 * MEMO_TRIAL {
        // 800 texts: more than half of the trial's 1,024 lookups miss, but fewer than half
        // of its second half do
        let city = format!("city {}", draw() % 800);
        let found = some.index(&city, || Outcome::NoValue);
        if i >= 2 * MEMO_TRIAL && found.is_ok() {
            late_hits += 1;
        }
        let address = format!("198.18.{}.{}", i / 256, i % 256);
        let _ = unique.index(&address, || Outcome::NoValue);
    }
    assert!(!some.is_off(), "a column of 800 texts is remembered");
    assert!(late_hits > MEMO_TRIAL * 9 / 10, "{late_hits} late hits");
    assert!(
        unique.is_off(),
        "a column that never repeats is not remembered"
    );
}

/// A schema file is read once per process, and again when it changes.
#[test]
fn a_schema_file_is_read_once_and_again_when_it_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema_path = dir.path().join("schema.json");
    std::fs::write(&schema_path, SCHEMA).expect("write");
    let options = Options {
        schema: Some(schema_path.clone()),
        ..opts()
    };
    let csv = dir.path().join("2026-03-24-scan_test-nl.csv");
    let first = load_schema(&csv, &options).expect("schema");
    let again = load_schema(&csv, &options).expect("schema");
    assert!(Arc::ptr_eq(&first, &again), "read once");
    assert_eq!(first.reports()[0].feed_name, "Test-Report");
    // changed (and longer): read again
    std::fs::write(&schema_path, SCHEMA.replace("Test-Report", "Test-Report-2")).expect("write");
    let changed = load_schema(&csv, &options).expect("schema");
    assert!(!Arc::ptr_eq(&first, &changed), "read again");
    assert_eq!(changed.reports()[0].feed_name, "Test-Report-2");
    // gone: its error, not the schema read before
    std::fs::remove_file(&schema_path).expect("remove");
    let gone = load_schema(&csv, &options).expect_err("no schema file");
    assert!(gone.to_string().contains("schema.json"), "{gone}");
}
