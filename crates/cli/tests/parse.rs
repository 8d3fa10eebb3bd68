//! `baken parse` on several threads prints what it prints on one.

mod common;

use std::io::Write;

use common::{run, s};

/// A Vulnerable-HTTP report of `n` rows with CRLF line ends, quoted cells (with commas and,
/// once, a line break), a stray quote, and rows whose address or port is invalid.
fn report(path: &std::path::Path, n: u32) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    write!(f, "timestamp,severity,ip,protocol,port,hostname,tag,asn,geo,region,city,naics,hostname_source,sector,http,http_code,http_reason,content_type,connection,www_authenticate,set_cookie,server,content_length,transfer_encoding,http_date,version,build_date,detail,build_branch\r\n").unwrap();
    for i in 0..n {
        let ip = match i % 97 {
            0 => "not-an-address".to_string(),
            _ => format!("198.18.{}.{}", i / 250 % 256, i % 250),
        };
        let port = if i % 89 == 0 { "x443" } else { "443" };
        let host = if i % 3 == 0 {
            String::new()
        } else {
            format!("host-{i}.example")
        };
        let tag = match i % 4 {
            0 => "citrix;cve-2019-19781",
            1 => "\"pulse,secure;cve-2019-11510\"",
            2 => "",
            _ => "http",
        };
        let detail = match i {
            1000 => "\"two\r\nlines\"",
            2000 => "a\"quote",
            _ => "",
        };
        write!(
            f,
            "2026-03-24 {:02}:{:02}:{:02},critical,{ip},tcp,{port},{host},{tag},,NL,,,0,,Government,HTTP/1.1,200,OK,text/html,close,,,Apache,{},,\"Tue, 24 Mar 2026 10:11:12 GMT\",,,{detail},\r\n",
            i / 3600 % 24,
            i / 60 % 60,
            i % 60,
            i % 5000
        )
        .unwrap();
    }
}

/// The output without `time.observation` (the time of the run).
fn without_observation(out: &[u8]) -> String {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| {
            let start = l
                .find("\"time.observation\":")
                .expect("every event has one");
            let end = start + l[start..].find("\",").expect("a string value") + 2;
            format!("{}{}\n", &l[..start], &l[end..])
        })
        .collect()
}

#[test]
fn parse_prints_the_same_on_one_two_and_three_threads() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = dir
        .path()
        .join("2026-03-24-scan_http_vulnerable-nl-geo-asn.csv");
    report(&csv, 9_000);
    let parse = |threads: &str| {
        let out = run(
            &data,
            &[
                "parse",
                "--feed",
                "shadowserver",
                "--threads",
                threads,
                s(&csv),
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            without_observation(&out.stdout),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (one, one_errors) = parse("1");
    let events = one.lines().count();
    // `FILE:LINE: reason` per rejected row, then `FILE: N events, M rows rejected`
    let rejected = one_errors
        .lines()
        .filter(|l| {
            l.split_once(".csv:")
                .is_some_and(|(_, rest)| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count();
    // IntelMQ keeps rows with an invalid address (without `source.ip`); bad ports fail
    assert!(
        events > 8_800 && rejected > 50,
        "{events} events, {rejected} rejected"
    );
    assert!(one_errors.contains(&format!("{events} events, {rejected} rows rejected")));
    assert!(one.contains("\"extra.detail\":\"two\\r\\nlines\""));
    for threads in ["2", "3"] {
        let (many, many_errors) = parse(threads);
        assert!(many == one, "{threads} threads: other events");
        assert_eq!(many_errors, one_errors, "{threads} threads");
    }
}
