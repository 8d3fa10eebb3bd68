//! `baken parse`: strict by default like `ingest`, lenient like IntelMQ on request; the same
//! output on several threads as on one; nothing altered without a trace.

mod common;

use std::io::Write;

use common::{run, run_ok, s};

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
    let parse = |threads: &str, lenient: bool| {
        let mut args = vec!["parse", "--feed", "shadowserver", "--allow-rejected"];
        if lenient {
            args.push("--lenient");
        }
        args.extend(["--threads", threads, s(&csv)]);
        let out = run(&data, &args);
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
    for (lenient, name) in [(true, "lenient"), (false, "strict")] {
        let (one, one_errors) = parse("1", lenient);
        let events = one.lines().count();
        // `FILE:LINE: reason` per rejected row, then `FILE: N events, M rows rejected (MODE)`
        let rejected = one_errors
            .lines()
            .filter(|l| {
                l.split_once(".csv:")
                    .is_some_and(|(_, rest)| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
            .count();
        if name == "lenient" {
            // IntelMQ keeps rows with an invalid address (without `source.ip`); bad ports fail
            assert!(
                events > 8_800 && rejected > 50,
                "{events} events, {rejected} rejected"
            );
        } else {
            // strict: the rows with an invalid address are rejected too
            assert!(
                events > 8_700 && rejected > 150,
                "{events} events, {rejected} rejected"
            );
        }
        assert_eq!(events + rejected, 9_000);
        assert!(
            one_errors.contains(&format!(
                "{events} events, {rejected} rows rejected ({name})"
            )),
            "{one_errors}"
        );
        assert!(one.contains("\"extra.detail\":\"two\\r\\nlines\""));
        for threads in ["2", "3"] {
            let (many, many_errors) = parse(threads, lenient);
            assert!(many == one, "{name}, {threads} threads: other events");
            assert_eq!(many_errors, one_errors, "{name}, {threads} threads");
        }
    }
}

const HEADER: &str = "timestamp,severity,ip,protocol,port,hostname,tag,asn,geo,region,city\n";

/// A Vulnerable-HTTP report named as Shadowserver names it, in `dir`.
fn small_report(dir: &std::path::Path, body: &[u8]) -> std::path::PathBuf {
    let csv = dir.join("2026-03-24-scan_http_vulnerable-nl-geo-asn.csv");
    let mut text = HEADER.as_bytes().to_vec();
    text.extend_from_slice(body);
    std::fs::write(&csv, text).unwrap();
    csv
}

/// `baken parse ARGS… FILE`: exit success, events, standard error.
fn parse_file(
    data: &std::path::Path,
    args: &[&str],
    file: &std::path::Path,
) -> (bool, Vec<String>, String) {
    let mut all = vec!["parse", "--feed", "shadowserver"];
    all.extend_from_slice(args);
    all.push(s(file));
    let out = run(data, &all);
    (
        out.status.success(),
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The rejected rows' `FILE:LINE: field "F"` prefixes on standard error.
fn rejected_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains(".csv:") && l.contains(": field "))
        .map(|l| l.split(": required").next().unwrap().to_string())
        .collect()
}

#[test]
fn parse_is_strict_like_ingest_and_fails_when_a_row_is_rejected() {
    // the bug: parse printed an event without `source.ip` for a row that ingest
    // quarantines, and exited 0 even when it rejected every row
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let row = |ip: &str| {
        format!("2026-03-24 10:00:00,critical,{ip},tcp,443,h.example,citrix,64496,NL,,\n")
    };
    let body = [
        row("198.18.0.1"),
        row("not-an-address"),
        row(""),
        row("198.18.0.4"),
    ]
    .concat();
    let csv = small_report(dir.path(), body.as_bytes());

    let (ok, events, stderr) = parse_file(&data, &["--threads", "1"], &csv);
    assert!(!ok, "rows were rejected: the exit status says so\n{stderr}");
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.contains("\"source.ip\"")));
    let rejected = rejected_lines(&stderr);
    assert_eq!(
        rejected,
        [3, 4].map(|l| format!("{}:{l}: field \"ip\"", csv.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 events, 2 rows rejected (strict)"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-rejected"), "{stderr}");

    // --allow-rejected: the same output and messages, exit 0
    let (ok, allowed, allowed_err) =
        parse_file(&data, &["--threads", "1", "--allow-rejected"], &csv);
    assert!(ok, "{allowed_err}");
    // the same events but when they were parsed (two runs may fall in two seconds)
    let unobserved = |events: &[String]| -> Vec<serde_json::Value> {
        events
            .iter()
            .map(|e| {
                let mut v: serde_json::Value = serde_json::from_str(e).unwrap();
                v.as_object_mut().unwrap().remove("time.observation");
                v
            })
            .collect()
    };
    assert_eq!(unobserved(&allowed), unobserved(&events));
    assert_eq!(rejected_lines(&allowed_err), rejected);

    // --lenient: IntelMQ's events, the bad addresses left to `extra`
    let (ok, lenient, lenient_err) = parse_file(&data, &["--lenient"], &csv);
    assert!(ok, "{lenient_err}");
    assert_eq!(lenient.len(), 4);
    assert!(lenient[1].contains("\"extra.ip\":\"not-an-address\""));
    assert!(!lenient[1].contains("\"source.ip\""));
    assert!(
        lenient_err.contains("4 events, 0 rows rejected (lenient)"),
        "{lenient_err}"
    );

    // ingest quarantines exactly the rows parse rejects
    let out = run_ok(&data, &["ingest", "--json", s(&csv)]);
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary[0]["stored"], 2);
    assert_eq!(summary[0]["quarantined"], 2);
    let samples: Vec<String> = summary[0]["quarantine_samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            q.as_str()
                .unwrap()
                .split(": required")
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(samples, rejected);

    // every row rejected: a failure, also in lenient mode
    let bad_port = "2026-03-24 10:00:00,critical,198.18.0.9,tcp,x443,,,,,,\n";
    let all_bad = small_report(dir.path(), bad_port.repeat(3).as_bytes());
    for args in [&[][..], &["--lenient"][..]] {
        let (ok, events, stderr) = parse_file(&data, args, &all_bad);
        assert!(!ok && events.is_empty(), "{args:?}: {stderr}");
        assert!(stderr.contains("0 events, 3 rows rejected"), "{stderr}");
    }
}

#[test]
fn what_parse_and_ingest_alter_as_intelmq_does_is_reported() {
    // the bug: NUL bytes and invalid UTF-8 were dropped and short and long rows read
    // without a word; IntelMQ does the same, so the rows are kept, and counted
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let body: &[u8] =
        b"2026-03-24 10:00:00,critical,198.18.0.1,tcp,443,h.example,citrix,64496,NL,,\n\
        2026-03-24 10:00:00,critical,198.18.0.2\x00,tcp,443,h.example,citrix,64496,NL,,\n\
        2026-03-24 10:00:00,critical,198.18.0.3,tcp,443,h\xff.example,citrix,64496,NL,,\n\
        2026-03-24 10:00:00,critical,198.18.0.4,tcp,443\n\
        2026-03-24 10:00:00,critical,198.18.0.5,tcp,443,h.example,citrix,64496,NL,,,surplus\n";
    let csv = small_report(dir.path(), body);
    let phrases = "1 NUL byte removed, 1 byte of invalid UTF-8 dropped, \
                   1 row short (cells missing, first at line 5), \
                   1 row long (cells past the header dropped, first at line 6)";
    for threads in ["1", "2"] {
        let (ok, events, stderr) = parse_file(&data, &["--threads", threads], &csv);
        assert!(ok, "{stderr}");
        assert_eq!(events.len(), 5);
        assert!(events[1].contains("\"source.ip\":\"198.18.0.2\""));
        assert!(
            stderr.contains(&format!(
                "5 events, 0 rows rejected (strict); altered: {phrases}"
            )),
            "{stderr}"
        );
    }

    let out = run_ok(&data, &["ingest", "--json", s(&csv)]);
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary[0]["stored"], 5);
    let altered = &summary[0]["altered"];
    assert_eq!(altered["nul_bytes"], 1, "{altered}");
    assert_eq!(altered["invalid_utf8_bytes"], 1, "{altered}");
    for (kind, line) in [("short_rows", 5), ("long_rows", 6)] {
        assert_eq!(altered[kind]["rows"], 1, "{kind}: {altered}");
        assert_eq!(altered[kind]["first_line"], line, "{kind}: {altered}");
    }
    let text = run_ok(&dir.path().join("data2"), &["ingest", s(&csv)]);
    assert!(
        text.contains(&format!("altered as IntelMQ alters them: {phrases}")),
        "{text}"
    );
}
