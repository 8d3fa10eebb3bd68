//! A file cut into parts (`ingest::Split`), each read apart (`ingest::read_part`) and stored
//! as a part of its run, in any order and some twice, stores what `ingest_file` stores, and
//! every kept row reads back as the event the file gives on its line.

use std::io::Write;
use std::path::Path;

use baken_attribute::Attributor;
use baken_feeds::{FeedKind, Options};
use baken_pipeline::NoProgress;
use baken_pipeline::findings::RowReader;
use baken_pipeline::ingest::{Input, PartText, Settings, Split, ingest_file, read_part};
use baken_store::{Batch, BatchCounts, FindingQuery, SqliteStore, prelude::*};

const HEADER: &str = "timestamp,severity,ip,protocol,port,hostname,tag,asn,geo,region,city,naics,hostname_source,sector,http,http_code,http_reason,content_type,connection,www_authenticate,set_cookie,server,content_length,transfer_encoding,http_date,version,build_date,detail,build_branch";

fn csv_row(i: u32, detail: &str) -> String {
    format!(
        "2026-03-24 06:{:02}:{:02},critical,198.18.{}.{},tcp,443,,citrix;cve-2019-19781,,NL,,,0,,,HTTP/1.1,200,OK,text/html,,,,Apache,{},,,13.0,,{detail},",
        i / 60 % 60,
        i % 60,
        i / 250,
        i % 250 + 1,
        1000 + i
    )
}

/// What a store holds of its findings, without ids.
fn findings(store: &SqliteStore) -> Vec<String> {
    let mut out: Vec<String> = store
        .finding_records(&FindingQuery::default())
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}:{}/{} seen {} first {} last {}",
                r.incident, r.addr, r.port, r.transport, r.times_seen, r.first_seen, r.last_seen
            )
        })
        .collect();
    out.sort();
    out
}

fn check(path: &Path, feed: FeedKind, rows_per_part: u64, max_bytes: usize) {
    let attributor = Attributor::new(Vec::new(), Vec::new(), Vec::new()).unwrap();
    let options = Options {
        observation_time: Some("2026-03-24T07:00:00+00:00".into()),
        strict: true,
        ..Options::default()
    };
    let input = Input {
        path: path.to_path_buf(),
        feed,
    };
    let settings = Settings {
        batch_size: 128,
        ..Default::default()
    };
    let (here, there) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut local = SqliteStore::open(here.path()).unwrap();
    let summary = ingest_file(
        &mut local,
        &attributor,
        &input,
        &options,
        &settings,
        &NoProgress,
    )
    .unwrap();

    let mut store = SqliteStore::open(there.path()).unwrap();
    let mut split = Split::open(&input, &options, rows_per_part, max_bytes).unwrap();
    let file = path.display().to_string();
    let run = baken_pipeline::ingest::begin(&mut store, &file, &split.source, &settings).unwrap();
    let mut parts = Vec::new();
    while let Some(part) = split.next_part().unwrap() {
        parts.push(part);
    }
    if split.keep_text {
        assert!(parts.len() > 2, "{} parts", parts.len());
    } else {
        assert_eq!(
            parts.len(),
            1,
            "a file whose rows are not lines is one part"
        );
    }
    // stored last part first, and every other part twice
    let mut counts = BatchCounts::default();
    let mut rows = 0;
    for (n, part) in parts.iter().enumerate().rev() {
        let text = PartText {
            file: &file,
            feed,
            header: &split.header,
            header_lines: split.header_lines(),
            first_line: part.first_line,
            text: &part.text,
            keep_text: split.keep_text,
        };
        let (batch, read) = read_part(&attributor, text, &options).unwrap();
        assert_eq!(
            read.rows, part.rows,
            "part {n} reads the rows it was cut with"
        );
        let batch = Batch {
            part: Some(part.number),
            ..batch
        };
        let c = store.store_batch(run, &batch).unwrap();
        if n % 2 == 0 {
            assert_eq!(
                store.store_batch(run, &batch).unwrap(),
                c,
                "a part stored again"
            );
        }
        counts += c;
        rows += read.rows;
    }
    let read = split.read().clone();
    assert_eq!(read.rows, rows);
    let parted =
        baken_pipeline::ingest::finish(&mut store, run, &file, feed, read, counts, &settings)
            .unwrap();
    assert_eq!(
        (
            parted.read,
            parted.duplicate + parted.stored,
            parted.quarantined,
            parted.new_findings
        ),
        (
            summary.read,
            summary.duplicate + summary.stored,
            summary.quarantined,
            summary.new_findings
        )
    );
    assert_eq!(parted.quarantine_samples, summary.quarantine_samples);
    assert_eq!(findings(&store), findings(&local));
    assert_eq!(store.totals().unwrap(), local.totals().unwrap());

    // every observation reads back as an event the file gives on its line
    let mut by_line: std::collections::BTreeMap<u64, Vec<baken_model::Event>> = Default::default();
    for row in baken_feeds::open(feed, path, &options).unwrap() {
        if let Ok(e) = row.outcome {
            by_line.entry(row.line).or_default().push(e);
        }
    }
    let mut reader = RowReader::new(&store);
    for r in store.finding_records(&FindingQuery::default()).unwrap() {
        for o in store.observations(r.id).unwrap() {
            let kept = reader.row(o.row).unwrap();
            assert!(
                by_line[&kept.line].contains(&kept.event),
                "line {} read back as {}",
                kept.line,
                kept.event.to_json_line()
            );
        }
    }
}

fn report(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("2026-03-24-scan_http_vulnerable-nl-geo-asn.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn an_irregular_report_in_parts_stores_what_a_local_ingest_stores() {
    let dir = tempfile::tempdir().unwrap();
    // a quoted detail over two lines now and then, blank lines, quarantined rows, and rows
    // repeated
    let mut text = format!("{HEADER}\n");
    for i in 0..700 {
        let detail = if i % 97 == 5 {
            "\"first line\nsecond line\""
        } else {
            ""
        };
        text.push_str(&csv_row(i, detail));
        text.push('\n');
        if i % 131 == 7 {
            text.push('\n');
        }
        if i % 173 == 9 {
            text.push_str("2026-03-24 06:00:00,critical,not-an-ip,tcp,443\n");
        }
        if i % 59 == 3 {
            text.push_str(&csv_row(i / 2, ""));
            text.push('\n');
        }
    }
    let path = report(dir.path(), &text);
    check(&path, FeedKind::Shadowserver, 50, usize::MAX);
    // parts cut by size
    check(&path, FeedKind::Shadowserver, 10_000, 4_000);
}

#[test]
fn several_events_of_one_line_stay_in_one_part() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zgrab2-output.json");
    let mut f = std::fs::File::create(&path).unwrap();
    for i in 0..300u32 {
        writeln!(
            f,
            r#"{{"ip":"198.18.7.{}","data":{{"http":{{"status":"success","protocol":"http","port":80,"timestamp":"2026-03-24T06:00:00Z","result":{{"response":{{"status_code":200}}}}}},"https":{{"status":"success","protocol":"http","port":443,"timestamp":"2026-03-24T06:00:00Z","result":{{"response":{{"status_code":200}}}}}}}}}}"#,
            i % 250 + 1
        )
        .unwrap();
    }
    drop(f);
    // an odd number of rows a part: a line's two events would fall into two parts
    check(&path, FeedKind::Zgrab2, 7, usize::MAX);
}

#[test]
fn a_report_with_carriage_returns_only_is_one_part() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!("{HEADER}\r");
    for i in 0..300 {
        text.push_str(&csv_row(i, ""));
        text.push('\r');
    }
    let path = report(dir.path(), &text);
    check(&path, FeedKind::Shadowserver, 50, usize::MAX);
}
