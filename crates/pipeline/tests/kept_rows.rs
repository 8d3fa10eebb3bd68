//! Every stored row reads back as the event ingest parsed: on the fast path (a report whose
//! every line is one row), and on the full one (a record spanning two lines, blank lines,
//! several events from one line split between two chunks).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use baken_attribute::Attributor;
use baken_feeds::{FeedKind, Options};
use baken_pipeline::NoProgress;
use baken_pipeline::findings::{EventFields, MessageFields, RowReader, with_fields};
use baken_pipeline::ingest::{Input, ingest_file};
use baken_store::{Finding, FindingQuery, SqliteStore, prelude::*};

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

/// Ingests `path` with chunks of `batch` rows, then checks every finding's latest row against
/// the events the feed parser gives for the file, by line.
fn check(path: &Path, feed: FeedKind, batch: usize) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    let attributor = Attributor::new(Vec::new(), Vec::new(), Vec::new()).unwrap();
    let observation = "2026-03-24T07:00:00+00:00".to_string();
    let options = Options {
        observation_time: Some(observation.clone()),
        strict: true,
        ..Options::default()
    };
    let summary = ingest_file(
        &mut store,
        &attributor,
        &Input {
            path: path.to_path_buf(),
            feed,
        },
        &options,
        &baken_pipeline::ingest::Settings {
            batch_size: batch,
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    assert!(summary.reconciles());
    assert!(summary.stored > 0);
    // what the parser gives, by line (a line may give several events)
    let mut by_line: std::collections::BTreeMap<u64, Vec<baken_model::Event>> = Default::default();
    for row in baken_feeds::open(feed, path, &options).unwrap() {
        if let Ok(e) = row.outcome {
            by_line.entry(row.line).or_default().push(e);
        }
    }
    let records = store.finding_records(&FindingQuery::default()).unwrap();
    assert!(!records.is_empty());
    let mut reader = RowReader::new(&store);
    for r in &records {
        let kept = reader.row(r.last_row).unwrap();
        let events = &by_line[&kept.line];
        assert!(
            events.contains(&kept.event),
            "finding {} ({}): line {} read back as {} but the file gives {:?}",
            r.id,
            r.addr,
            kept.line,
            kept.event.to_json_line(),
            events.iter().map(|e| e.to_json_line()).collect::<Vec<_>>()
        );
        assert_eq!(kept.event.get_str("source.ip"), Some(r.addr.as_str()));
        // and with every observation
        for o in store.observations(r.id).unwrap() {
            let row = reader.row(o.row).unwrap();
            assert!(by_line[&row.line].contains(&row.event));
        }
    }
    // several rows of one chunk at once, as notify reads them
    let first = records[0].last_row.chunk;
    let mut wanted: Vec<u32> = records
        .iter()
        .filter(|r| r.last_row.chunk == first)
        .map(|r| r.last_row.row)
        .collect();
    wanted.sort();
    wanted.dedup();
    let mut got = Vec::new();
    reader
        .rows(first, &wanted, |row, kept| got.push((row, kept.line)))
        .unwrap();
    assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), wanted);
    message_fields_read_back(&store, &attributor, &records);
    summary.read
}

/// A plan's findings keep their addresses, and what their messages read is read back for
/// them ([`MessageFields`]): each is then the finding read with the message's fields.
fn message_fields_read_back(
    store: &SqliteStore,
    attributor: &Attributor,
    records: &[baken_store::FindingRecord],
) {
    let whole = with_fields(store, attributor, records.to_vec(), EventFields::All).unwrap();
    let slim = with_fields(store, attributor, records.to_vec(), EventFields::Address).unwrap();
    // the reason for the owner is worked out for the messages that say it, and only for those
    let fields = MessageFields::read(store, attributor, slim.iter().map(|f| (f, true))).unwrap();
    let unsaid = MessageFields::read(store, attributor, slim.iter().map(|f| (f, false))).unwrap();
    let slim: Vec<Arc<Finding>> = slim.into_iter().map(Arc::new).collect();
    let filled = fields.fill(&slim).unwrap();
    assert_eq!(filled.len(), whole.len());
    let unsaid = unsaid.fill(&slim).unwrap();
    for (((w, s), u), f) in whole.iter().zip(&slim).zip(&unsaid).zip(&filled) {
        assert!(!w.attribution.reason.is_empty(), "finding {}", w.id);
        // a plan's finding holds the reason as stored, unless nobody owns it
        assert_eq!(
            s.attribution.reason, u.attribution.reason,
            "finding {}",
            w.id
        );
        if s.attribution.owner != baken_model::Owner::Unknown {
            assert_ne!(
                u.attribution.reason, w.attribution.reason,
                "finding {}",
                w.id
            );
        }
        assert_eq!(u.event, f.event, "finding {}", w.id);
    }
    for ((w, s), f) in whole.iter().zip(&slim).zip(&filled) {
        assert!(s.partial.is_some(), "finding {}", s.id);
        assert!(s.event.iter().all(|(n, _)| EventFields::Address.keeps(n)));
        assert!(s.event.get_str("source.ip").is_some());
        let mut expected = w.event.clone();
        expected.retain(|n| EventFields::Message.keeps(n));
        assert!(expected.len() > s.event.len(), "finding {}", w.id);
        assert_eq!(f.event, expected, "finding {}", w.id);
        assert_eq!(f.partial, None);
        assert_eq!(
            (f.id, &f.attribution, f.tlp, &f.provenance, f.state),
            (w.id, &w.attribution, w.tlp, &w.provenance, w.state)
        );
        assert_eq!((f.first_seen, f.last_seen), (w.first_seen, w.last_seen));
    }
    // findings that hold their events are shared, not read again
    let held: Vec<Arc<Finding>> = whole.into_iter().map(Arc::new).collect();
    let again = MessageFields::default().fill(&held).unwrap();
    assert!(held.iter().zip(&again).all(|(a, b)| Arc::ptr_eq(a, b)));
    // a finding whose fields were not read is an error, not a message without them
    assert!(MessageFields::default().fill(&slim[..1]).is_err());
}

/// A Vulnerable-HTTP report in `dir`: the header, then what `rows` writes.
fn report(dir: &Path, rows: impl FnOnce(&mut std::fs::File)) -> std::path::PathBuf {
    let path = dir.join("2026-03-24-scan_http_vulnerable-nl-geo-asn.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "{HEADER}").unwrap();
    rows(&mut f);
    path
}

#[test]
fn rows_of_a_plain_report_read_back_on_the_fast_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = report(dir.path(), |f| {
        for i in 0..700 {
            writeln!(f, "{}", csv_row(i, "")).unwrap();
        }
    });
    check(&path, FeedKind::Shadowserver, 128);
}

#[test]
fn rows_of_an_irregular_report_read_back_on_the_full_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = report(dir.path(), write_irregular);
    check(&path, FeedKind::Shadowserver, 128);
}

/// Rows with a quoted detail over two lines now and then, blank lines, and rows that are
/// quarantined.
fn write_irregular(f: &mut std::fs::File) {
    for i in 0..700 {
        let detail = if i % 97 == 5 {
            "\"first line\nsecond line\""
        } else {
            ""
        };
        writeln!(f, "{}", csv_row(i, detail)).unwrap();
        if i % 131 == 7 {
            writeln!(f).unwrap();
        }
        if i % 173 == 9 {
            writeln!(f, "2026-03-24 06:00:00,critical,not-an-ip,tcp,443").unwrap();
        }
    }
}

#[test]
fn several_events_of_one_line_split_between_chunks_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zgrab2-output.json");
    let mut f = std::fs::File::create(&path).unwrap();
    for i in 0..300u32 {
        // two modules per line: two events, the same line
        writeln!(
            f,
            r#"{{"ip":"198.18.7.{}","data":{{"http":{{"status":"success","protocol":"http","port":80,"timestamp":"2026-03-24T06:00:00Z","result":{{"response":{{"status_code":200}}}}}},"https":{{"status":"success","protocol":"http","port":443,"timestamp":"2026-03-24T06:00:00Z","result":{{"response":{{"status_code":200}}}}}}}}}}"#,
            i % 250 + 1
        )
        .unwrap();
    }
    drop(f);
    // an odd chunk size, so that a line's two events fall into two chunks
    assert_eq!(check(&path, FeedKind::Zgrab2, 7), 600, "two events a line");
}

#[test]
fn rows_of_a_report_with_carriage_returns_only_are_kept_as_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("2026-03-24-scan_http_vulnerable-nl-geo-asn.csv");
    let mut text = format!("{HEADER}\r");
    for i in 0..300 {
        text.push_str(&csv_row(i, ""));
        text.push('\r');
    }
    std::fs::write(&path, text).unwrap();
    assert_eq!(check(&path, FeedKind::Shadowserver, 128), 300);
}
