//! Differential test: baken's Shadowserver parser against IntelMQ 3.5.0's, on synthetic
//! reports of every report type in the schema.
//!
//! Needs the test virtualenv with IntelMQ (`scripts/test.sh` creates it) or a Python with
//! IntelMQ 3.5.0 in `BAKEN_TEST_PYTHON`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use baken_feeds::shadowserver::{self, Conversion, Schema, Target};
use baken_feeds::{Options, Row};
use serde_json::Value;

const OBSERVATION: &str = "2026-03-24T06:00:00+00:00";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("BAKEN_TEST_PYTHON") {
        let p = PathBuf::from(p);
        assert!(
            p.exists(),
            "BAKEN_TEST_PYTHON={} does not exist",
            p.display()
        );
        return p;
    }
    let p = workspace().join("target/test-venv/bin/python");
    assert!(
        p.exists(),
        "no Python with IntelMQ for the differential test: {} is missing; run scripts/test.sh \
         (it creates the test virtualenv) or set BAKEN_TEST_PYTHON",
        p.display()
    );
    p
}

/// A small deterministic generator (no external randomness: failures must reproduce).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[(self.next() as usize) % options.len()]
    }
}

/// What the schema does with a column of one report.
#[derive(Default)]
struct Usage {
    conversions: BTreeSet<String>,
    keys: BTreeSet<String>,
}

fn usages(report: &shadowserver::Report) -> HashMap<String, Usage> {
    let mut out: HashMap<String, Usage> = HashMap::new();
    for rule in report.required.iter().chain(&report.optional) {
        let u = out.entry(rule.column.clone()).or_default();
        if let Some(c) = &rule.conversion {
            u.conversions.insert(format!("{c:?}"));
        }
        if let Target::Key(k) = &rule.target {
            u.keys.insert(k.clone());
        }
    }
    out
}

/// Candidate values for a column, the first one typical, the rest edge cases.
fn candidates(column: &str, usage: Option<&Usage>, v6: bool, row: usize) -> Vec<String> {
    let ip = if v6 {
        format!("2001:db8::{:x}", row + 1)
    } else {
        format!("198.18.{}.{}", row / 200, row % 200 + 1)
    };
    let Some(u) = usage else {
        return vec!["unmapped value".into(), String::new(), "x,y \"q\"".into()];
    };
    let has = |c: &Conversion| u.conversions.contains(&format!("{c:?}"));
    let key = |k: &str| u.keys.iter().any(|x| x == k);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    if has(&Conversion::AddUtcToTimestamp) {
        return s(&[
            "2026-03-24 01:02:03",
            "2026-03-24 01:02:03.456",
            "2026-03-24T01:02:03Z",
            "2026-03-24 01:02:03+02:00",
            "",
            "2026-02-30 00:00:00",
        ]);
    }
    if has(&Conversion::ValidateIp) || has(&Conversion::ValidateNetwork) {
        let mut v = vec![
            ip.clone(),
            ip.clone(),
            "0.0.0.0".into(),
            String::new(),
            "3323068417".into(),
            "198.18.0.0/24".into(),
            "not-an-ip".into(),
            "2001:DB8:0:0::1".into(),
            "::ffff:198.18.0.1".into(),
        ];
        if has(&Conversion::ValidateNetwork) {
            v.push("198.18.1.7/24".into());
        }
        return v;
    }
    if has(&Conversion::ExtractCveFromTag) {
        return s(&[
            "citrix;cve-2019-19781",
            "cve-2021-44228;log4j;cve-2021-45046;cve-2021-44228",
            "",
            "nocve;CVE-2020-1",
            "scan;cve-x-1",
        ]);
    }
    if has(&Conversion::ConvertInt) || has(&Conversion::InvalidateZero) {
        if key("source.asn") || key("destination.asn") || column.contains("asn") {
            return s(&["64496", "0", "", "AS64497", "4294967296", "64511"]);
        }
        return s(&["443", "0", "", "-5", "070", "123456", "1_000", " 8 "]);
    }
    if has(&Conversion::ConvertFloat) {
        return s(&["1.5", "", "0", "1e3", "-0.25", "7"]);
    }
    if has(&Conversion::ConvertBool) {
        return s(&["Y", "N", "", "maybe", "TRUE", "disabled"]);
    }
    if has(&Conversion::ConvertDate) || has(&Conversion::ConvertDateUtc) {
        return s(&[
            "2026-03-20",
            "2026-03-20 10:11:12",
            "",
            "unknown",
            "2026-03-20T10:11:12+01:00",
            "2026-13-01",
            // HTTP `Date` headers (Shadowserver's http_date) and other dateutil forms
            "Fri, 20 Mar 2026 10:11:12 GMT",
            "20 Mar 2026",
            "March 20, 2026 10:11",
            "Fri Mar 20 10:11:12 2026",
        ]);
    }
    if has(&Conversion::ValidateFqdn) {
        return s(&[
            "host-1.example",
            "",
            "Host.Example.",
            "bad..example",
            "198.18.0.1",
            "a/b.example",
        ]);
    }
    if has(&Conversion::ForceBase64) {
        return s(&["aGVsbG8=", "hello world", "", "abcd", "ab="]);
    }
    if has(&Conversion::ConvertHttpHostAndUrl) {
        return s(&[
            "/index.php?q=1",
            "GET /login HTTP/1.1",
            "",
            "http://www.example/x",
        ]);
    }
    if has(&Conversion::ScanExchangeTaxonomy)
        || has(&Conversion::ScanExchangeType)
        || has(&Conversion::ScanExchangeIdentifier)
    {
        return s(&[
            "exchange;webshell",
            "exchange",
            "",
            "cve-2021-26855;exchange",
        ]);
    }
    if key("source.geolocation.cc") || key("destination.geolocation.cc") || column == "geo" {
        return s(&["NL", "nl", "", "XXX", "-", "N/A"]);
    }
    if key("source.reverse_dns")
        || key("source.fqdn")
        || key("destination.fqdn")
        || key("destination.reverse_dns")
    {
        return s(&[
            "host-1.example",
            "",
            "HOST.example.",
            "-",
            "198.18.0.1",
            "bad host.example",
            "x:80",
        ]);
    }
    if key("source.port") || key("destination.port") {
        return s(&["443", "", "0", "99999999", "abc"]);
    }
    if key("protocol.transport") {
        return s(&["tcp", "UDP", "", "bogus", "ax.25"]);
    }
    if key("protocol.application") {
        return s(&["http", "HTTPS", "", "bad\tapp"]);
    }
    if key("severity") {
        return s(&["high", "CRITICAL", "", "bogus", "0", "unknown"]);
    }
    if key("source.url") || key("destination.url") {
        return s(&["http://www.example/a", "", "/path", "hxxp://bad.example/"]);
    }
    if key("malware.name") {
        return s(&["Mirai", "", "n\u{e4}me", "0"]);
    }
    if key("classification.identifier") || key("classification.type") {
        return s(&["something", "", "unknown", "botnet drone"]);
    }
    if key("product.vulnerabilities") || key("product.name") || key("product.vendor") {
        return s(&["Citrix", "", "unknown", "0", "  Spaced  "]);
    }
    if key("source.account") || key("status") || key("event_description.text") {
        return s(&["value", "", "unknown", "  padded "]);
    }
    s(&[
        "value",
        "",
        "0",
        "unknown",
        "-",
        "N/A",
        "comma, inside",
        "quote \"inside\"",
        "\u{fc}n\u{ef}code",
    ])
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) || v.starts_with(' ') {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

fn col_is_unmapped_multiline(report_index: usize, row: usize) -> bool {
    report_index % 11 == 4 && row == 3
}

/// Stands for a NUL byte in a generated report.
const NUL: char = '\u{e000}';
/// Stands for the byte 0xff, never valid in UTF-8, in a generated report.
const NOT_UTF8: char = '\u{e001}';

/// Writes one CSV per report type; returns (file name, report id) pairs.
fn generate(schema: &Schema, columns: &Value, dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut rng = Lcg(0x5eed);
    for (ri, report) in schema.reports().iter().enumerate() {
        let usage = usages(report);
        let mut header: Vec<String> = columns
            .get(&report.file_name)
            .and_then(|r| r.get("fields"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_else(|| {
                let mut seen = BTreeSet::new();
                report
                    .required
                    .iter()
                    .chain(&report.optional)
                    .map(|r| r.column.clone())
                    .filter(|c| seen.insert(c.clone()))
                    .collect()
            });
        for r in &report.required {
            if !header.contains(&r.column) {
                header.push(r.column.clone());
            }
        }
        header.push("unmapped_col".into());
        let v6 = report.file_name.contains('6');
        let eol = if ri % 5 == 0 { "\r\n" } else { "\n" };
        let mut text = header
            .iter()
            .map(|h| csv_field(h))
            .collect::<Vec<_>>()
            .join(",");
        let rows = 12;
        for row in 0..rows {
            text.push_str(eol);
            let mut cells = Vec::with_capacity(header.len());
            for (ci, col) in header.iter().enumerate() {
                let c = candidates(col, usage.get(col), v6, row);
                let v = if row == 0 {
                    c[0].clone()
                } else if row == 1 {
                    c[(ci + 1) % c.len()].clone()
                } else if rng.next().is_multiple_of(4) {
                    rng.pick(&c.iter().map(String::as_str).collect::<Vec<_>>())
                        .to_string()
                } else {
                    c[0].clone()
                };
                // keep most rows free of conversion failures so that events get compared
                let v = if row < 3
                    && usage.get(col).is_some_and(|u| {
                        u.conversions
                            .iter()
                            .any(|c| c.contains("Int") || c.contains("Zero") || c.contains("Float"))
                    })
                    && (v.parse::<f64>().is_err() && !v.is_empty())
                {
                    "7".to_string()
                } else {
                    v
                };
                cells.push(csv_field(&v));
            }
            if col_is_unmapped_multiline(ri, row) {
                // a quoted field over two lines: IntelMQ's raw keeps only the last line
                let last = cells.len() - 1;
                cells[last] = "\"first line\nsecond, line\"".into();
            }
            if ri % 7 == 3 && row == 2 {
                text.push_str(eol);
            }
            let mut line = cells.join(",");
            // a NUL byte, bytes that are not UTF-8, cells past the header: IntelMQ removes
            // the NULs from the report, drops the bytes and ignores the cells
            let boundary = |line: &str, at: usize| {
                (at..=line.len())
                    .find(|&i| line.is_char_boundary(i))
                    .unwrap()
            };
            match row {
                4 => line.insert(boundary(&line, line.len() / 2), NUL),
                5 => line.insert(boundary(&line, line.len() / 3), NOT_UTF8),
                6 => line.push_str(",surplus,cells"),
                _ => {}
            }
            if row == rows - 1 {
                // a short row: DictReader fills missing columns with None
                let keep = (header.len() / 2).max(1);
                line = cells[..keep].join(",");
            }
            text.push_str(&line);
        }
        if ri % 3 == 0 {
            text.push_str(eol);
        }
        if ri % 13 == 6 {
            // IntelMQ strips the whole report
            text = format!("\n \n{text}  \n\n");
        }
        let name = format!("2026-03-24-{}-nl-geo-asn.csv", report.file_name);
        let mut bytes = Vec::with_capacity(text.len());
        for c in text.chars() {
            match c {
                NUL => bytes.push(0),
                NOT_UTF8 => bytes.push(0xff),
                c => bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        std::fs::write(dir.join(&name), bytes).expect("write csv");
        files.push((name, report.id.clone()));
    }
    files
}

#[derive(Debug)]
enum Outcome {
    Event(BTreeMap<String, Value>),
    Error(String),
}

fn run_oracle(schema_path: &Path, dir: &Path) -> BTreeMap<String, Result<Vec<Outcome>, String>> {
    let out = dir.join("oracle.jsonl");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/intelmq/diff_oracle.py");
    let status = Command::new(python())
        .arg(&script)
        .arg(schema_path)
        .arg(dir)
        .arg(OBSERVATION)
        .arg(&out)
        .status()
        .expect("run the IntelMQ oracle");
    assert!(status.success(), "the IntelMQ oracle failed: {status}");
    let mut result: BTreeMap<String, Result<Vec<Outcome>, String>> = BTreeMap::new();
    for line in std::fs::read_to_string(&out)
        .expect("oracle output")
        .lines()
    {
        let v: Value = serde_json::from_str(line).expect("oracle JSON");
        let file = v["file"].as_str().expect("file").to_string();
        if let Some(f) = v.get("fatal") {
            result.insert(file, Err(f.to_string()));
            continue;
        }
        let entry = result.entry(file).or_insert_with(|| Ok(Vec::new()));
        let Ok(list) = entry else { continue };
        if let Some(e) = v.get("error") {
            list.push(Outcome::Error(e.as_str().unwrap_or_default().to_string()));
        } else {
            let events = v["events"].as_array().expect("events");
            assert_eq!(
                events.len(),
                1,
                "IntelMQ made {} events of one row",
                events.len()
            );
            let map: BTreeMap<String, Value> = events[0]
                .as_object()
                .expect("event object")
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            list.push(Outcome::Event(map));
        }
    }
    result
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            x.is_f64() == y.is_f64() && x.as_f64() == y.as_f64()
        }
        _ => a == b,
    }
}

#[test]
fn baken_matches_intelmq_on_every_report_type() {
    let schema_path = Schema::default_path().expect("the shadowserver schema");
    let schema = Schema::load(&schema_path).expect("load schema");
    let columns: Value = serde_json::from_str(
        &std::fs::read_to_string(schema_path.with_file_name("reports.json"))
            .expect("reports.json beside the schema"),
    )
    .expect("reports.json");
    let dir = tempfile::tempdir().expect("tempdir");
    let files = generate(&schema, &columns, dir.path());

    // one report with a required column missing: a FeedError for baken, every row failed by
    // IntelMQ
    let first = &schema.reports()[0];
    let req = &first.required[0].column;
    let broken = format!("2026-03-24-{}-missing.csv", first.file_name);
    std::fs::write(dir.path().join(&broken), "x,y\n1,2\n3,4\n").expect("write");
    assert!(!req.is_empty());

    let oracle = run_oracle(&schema_path, dir.path());

    let options = Options {
        raw: true,
        observation_time: Some(OBSERVATION.into()),
        ..Options::default()
    };
    let mut failures = String::new();
    let mut compared_events = 0usize;
    let mut compared_errors = 0usize;
    let mut covered = BTreeSet::new();
    for (name, id) in &files {
        let path = dir.path().join(name);
        let (rows, altered): (Vec<Row>, _) =
            match shadowserver::open_with_schema(&path, &schema, &options) {
                Ok(mut rows) => (rows.by_ref().collect(), rows.take_alterations()),
                Err(e) => {
                    let _ = writeln!(failures, "{id}: baken refused the file: {e}");
                    continue;
                }
            };
        // each report has one row of each alteration, and baken counts it
        if altered.nul_bytes != 1
            || altered.invalid_utf8_bytes != 1
            || altered.short_rows.rows != 1
            || altered.long_rows.rows != 1
        {
            let _ = writeln!(failures, "{id}: alterations counted: {altered:?}");
        }
        let expected = match oracle.get(name) {
            Some(Ok(list)) => list,
            Some(Err(fatal)) => {
                let _ = writeln!(failures, "{id}: IntelMQ failed the report: {fatal}");
                continue;
            }
            None => {
                let _ = writeln!(failures, "{id}: no IntelMQ output");
                continue;
            }
        };
        if rows.len() != expected.len() {
            let _ = writeln!(
                failures,
                "{id}: baken gave {} rows, IntelMQ {}",
                rows.len(),
                expected.len()
            );
            continue;
        }
        covered.insert(id.clone());
        if std::env::var_os("BAKEN_DIFF_DUMP").is_some() {
            for row in &rows {
                match &row.outcome {
                    Ok(e) => eprintln!("{id} line {}: {}", row.line, e.to_json_line()),
                    Err(e) => eprintln!("{id} line {}: ERROR {e}", row.line),
                }
            }
        }
        for (row, exp) in rows.iter().zip(expected) {
            match (&row.outcome, exp) {
                (Ok(event), Outcome::Event(want)) => {
                    compared_events += 1;
                    let got = event.to_map();
                    let keys: BTreeSet<&String> = got.keys().chain(want.keys()).collect();
                    for k in keys {
                        match (want.get(k), got.get(k)) {
                            (Some(a), Some(b)) if same(a, b) => {}
                            (a, b) => {
                                let _ = writeln!(
                                    failures,
                                    "{id} line {}: field {k}: IntelMQ {} vs baken {}",
                                    row.line,
                                    a.map_or("(absent)".into(), Value::to_string),
                                    b.map_or("(absent)".into(), Value::to_string),
                                );
                            }
                        }
                    }
                }
                (Err(_), Outcome::Error(_)) => compared_errors += 1,
                (Ok(_), Outcome::Error(e)) => {
                    let _ = writeln!(
                        failures,
                        "{id} line {}: IntelMQ rejected the row ({e}), baken made an event",
                        row.line
                    );
                }
                (Err(e), Outcome::Event(_)) => {
                    let _ = writeln!(
                        failures,
                        "{id} line {}: baken rejected the row ({e}), IntelMQ made an event",
                        row.line
                    );
                }
            }
        }
    }

    // the report with a missing required column
    match shadowserver::open_with_schema(&dir.path().join(&broken), &schema, &options) {
        Ok(_) => failures.push_str("missing required column: baken accepted the file\n"),
        Err(_) => match oracle.get(&broken) {
            Some(Ok(list))
                if !list.is_empty() && list.iter().all(|o| matches!(o, Outcome::Error(_))) => {}
            other => {
                let _ = writeln!(failures, "missing required column: IntelMQ gave {other:?}");
            }
        },
    }

    let lines: Vec<&str> = failures.lines().collect();
    assert!(
        lines.is_empty(),
        "{} differences between IntelMQ and baken (first 200):\n{}",
        lines.len(),
        lines
            .iter()
            .take(200)
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        covered.len(),
        schema.reports().len(),
        "report types covered"
    );
    assert_eq!(covered.len(), 170, "the schema's report types");
    assert!(compared_events > 0, "no events compared");
    assert!(compared_errors > 0, "no rejected rows compared");
    eprintln!(
        "compared {compared_events} events and {compared_errors} rejected rows over {} report types",
        covered.len()
    );
}
