//! Ingest end to end: reconciliation, idempotence, and a kill in the middle.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use baken_store::{SqliteStore, prelude::*};
use common::{run_ok, s, small_world};
use serde_json::Value;

fn ingest_json(data: &std::path::Path, file: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec!["ingest", "--json"];
    args.extend_from_slice(extra);
    args.push(s(file));
    let out = run_ok(data, &args);
    let v: Value = serde_json::from_str(&out).expect("ingest --json prints JSON");
    v[0].clone()
}

#[test]
fn ingest_reconciles_and_a_second_ingest_stores_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let g = small_world(&dir.path().join("input"), &data, 300);

    let first = ingest_json(&data, &g.feed, &[]);
    let (read, stored, dup, quar) = (
        first["read"].as_u64().unwrap(),
        first["stored"].as_u64().unwrap(),
        first["duplicate"].as_u64().unwrap(),
        first["quarantined"].as_u64().unwrap(),
    );
    assert_eq!(read, g.feed_rows, "every data row of the feed is read");
    assert_eq!(read, stored + dup + quar, "counts reconcile: {first}");
    assert_eq!(
        quar, g.malformed_rows,
        "exactly the planted malformed rows are quarantined"
    );
    assert_eq!(dup, 0);
    // Each quarantine sample names the file and the line.
    let samples = first["quarantine_samples"].as_array().unwrap();
    assert_eq!(samples.len() as u64, quar);
    for q in samples {
        let q = q.as_str().unwrap();
        assert!(q.starts_with(&format!("{}:", g.feed.display())), "{q}");
        let line: u64 = q.split(':').nth(1).unwrap().parse().expect("a line number");
        assert!(line >= 2 && line <= read + 1, "{q}");
    }

    let second = ingest_json(&data, &g.feed, &[]);
    assert_eq!(second["read"], first["read"]);
    assert_eq!(second["stored"].as_u64(), Some(0), "nothing new: {second}");
    assert_eq!(second["duplicate"].as_u64(), Some(stored));
    assert_eq!(second["quarantined"].as_u64(), Some(quar));

    let store = SqliteStore::open(&data).unwrap();
    let totals = store.totals().unwrap();
    let quarantined = totals.quarantined;
    assert_eq!(
        totals.observations, stored,
        "one observation per stored row"
    );
    assert_eq!(
        quarantined, quar,
        "the quarantine does not grow on re-ingest"
    );
    let citrix = store
        .finding_records(&baken_store::FindingQuery {
            incident: Some("cve-2019-19781".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(citrix.len() as u64, g.citrix_rows);
}

/// Writes a Vulnerable-HTTP feed of `n` distinct, well-formed rows.
fn big_feed(path: &std::path::Path, n: u32) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "timestamp,severity,ip,protocol,port,hostname,tag,asn,geo,region,city,naics,hostname_source,sector,http,http_code,http_reason,content_type,connection,www_authenticate,set_cookie,server,content_length,transfer_encoding,http_date,version,build_date,detail,build_branch").unwrap();
    for i in 0..n {
        let ip =
            std::net::Ipv6Addr::from(0x2001_0db8_0000_0000_0000_0000_0000_0000u128 + u128::from(i));
        writeln!(
            f,
            "2020-01-10 10:00:00,critical,{ip},tcp,443,,citrix;cve-2019-19781,,NL,,,0,,,HTTP/1.1,200,OK,text/html,,,,Apache,1024,,,13.0,,,"
        )
        .unwrap();
    }
}

#[test]
fn a_kill_during_ingest_leaves_only_whole_batches_and_a_rerun_completes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let feed = dir
        .path()
        .join("2020-01-10-scan6_http_vulnerable-nl-geo-asn.csv");
    let rows = 100_000;
    big_feed(&feed, rows);
    let batch = 500;

    let mut child = common::baken()
        .arg("--data")
        .arg(&data)
        .args(["ingest", "--batch", &batch.to_string(), s(&feed)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill as soon as some batches are in, well before the end.
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let stored = SqliteStore::open(&data)
            .ok()
            .and_then(|s| s.totals().ok())
            .map(|t| t.observations)
            .unwrap_or(0);
        if stored >= 3 * batch {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "ingest stored nothing within two minutes"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "ingest ended before the kill"
        );
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let store = SqliteStore::open(&data).expect("the database opens after a kill");
    assert_eq!(store.integrity_check().unwrap(), Ok(()));
    let per_run = store.observations_per_run().unwrap();
    assert_eq!(per_run.len(), 1);
    let stored_before = per_run[0].1;
    assert!(
        stored_before > 0 && stored_before < u64::from(rows),
        "killed mid-way: {stored_before}"
    );
    assert_eq!(
        stored_before % batch,
        0,
        "only whole batches: {stored_before}"
    );
    drop(store);

    let out = run_ok(&data, &["ingest", "--json", s(&feed)]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["read"].as_u64(), Some(u64::from(rows)));
    assert_eq!(v[0]["duplicate"].as_u64(), Some(stored_before));
    assert_eq!(
        v[0]["stored"].as_u64(),
        Some(u64::from(rows) - stored_before)
    );
    let store = SqliteStore::open(&data).unwrap();
    assert_eq!(store.totals().unwrap().observations, u64::from(rows));
}
