//! The two engines side by side, as a user runs them: the same inputs ingested and notified
//! once into the embedded SQLite store and once into PostgreSQL (`--store postgres://…`)
//! give the same findings, states, messages and audit decisions; and `baken store copy`
//! moves the SQLite installation into PostgreSQL whole.

mod common;

use std::path::Path;
use std::process::Output;

use baken_demo::generate::{Generated, Params, generate};
use baken_store::postgres::testing::TempDatabase;
use baken_store::prelude::*;
use baken_store::{FindingQuery, PostgresStore, SqliteStore, Store};
use common::s;
use serde_json::Value;

/// Runs `baken --data DATA [--store STORE] ARGS…`.
fn run(data: &Path, store: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = common::baken();
    cmd.arg("--data").arg(data).env_remove("BAKEN_STORE");
    if let Some(url) = store {
        cmd.arg("--store").arg(url);
    }
    cmd.args(args).output().expect("the baken binary runs")
}

fn run_ok(data: &Path, store: Option<&str>, args: &[&str]) -> String {
    let out = run(data, store, args);
    assert!(
        out.status.success(),
        "baken {args:?} on {store:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The same world, day and notify round on one engine; returns the ingest summary.
fn crisis(g: &Generated, data: &Path, store: Option<&str>) -> Value {
    run_ok(data, store, &["registry", "import", s(&g.registry)]);
    run_ok(data, store, &["registry", "import-routing", s(&g.pfx2as)]);
    run_ok(data, store, &["registry", "import-rpsl", s(&g.rpsl)]);
    run_ok(data, store, &["advisory", "import", s(&g.advisory)]);
    let ingested = run_ok(data, store, &["ingest", "--json", s(&g.feed)]);
    run_ok(data, store, &["notify", "--json"]);
    // a second round sends nothing new
    run_ok(data, store, &["notify", "--json"]);
    serde_json::from_str(&ingested).unwrap()
}

/// What a store holds, without what differs by nature between two runs (times of day,
/// the data directory): findings with their states, messages with their recipients and
/// findings, and the audit log's entries: kind, subject and what each says.
fn held(store: &dyn Store, data: &Path) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut findings: Vec<String> = store
        .finding_records(&FindingQuery::default())
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} {:?} {:?} {} {} {}",
                f.incident,
                f.addr,
                f.port,
                f.transport,
                f.attribution.owner,
                f.state,
                f.first_seen,
                f.last_seen,
                f.times_seen
            )
        })
        .collect();
    findings.sort();
    let mut messages: Vec<String> = store
        .messages(None)
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{} {} {} {} {:?} {:?} {}",
                m.incident, m.recipient, m.party, m.findings, m.state, m.kind, m.round
            )
        })
        .collect();
    messages.sort();
    let mut audit: Vec<String> = store
        .audit_log()
        .unwrap()
        .iter()
        .map(|e| {
            // a delivery names the outbox file, in the data directory of its run
            let body = e.body.replace(s(data), "DATA");
            format!("{} {} {body}", e.kind, e.subject)
        })
        .collect();
    audit.sort();
    (findings, messages, audit)
}

#[test]
fn sqlite_and_postgres_agree_and_a_store_moves_up_whole() {
    let dir = tempfile::tempdir().unwrap();
    let pg =
        TempDatabase::new("engines").expect("the test PostgreSQL server (BAKEN_TEST_POSTGRES)");
    let lite_data = dir.path().join("lite");
    let pg_data = dir.path().join("pg");
    let g = generate(&Params { orgs: 300, seed: 7 }, &dir.path().join("world")).unwrap();
    let lite_summary = crisis(&g, &lite_data, None);
    let pg_summary = crisis(&g, &pg_data, Some(pg.url()));
    assert_eq!(lite_summary, pg_summary, "ingest summaries");
    // the PostgreSQL run left no database file behind
    assert!(!pg_data.join("baken.db").exists());

    let lite = SqliteStore::open(&lite_data).unwrap();
    let postgres = PostgresStore::connect(pg.url()).unwrap();
    let (lf, lm, la) = held(&lite, &lite_data);
    let (pf, pm, pa) = held(&postgres, &pg_data);
    assert!(!lf.is_empty() && !lm.is_empty() && !la.is_empty());
    assert_eq!(lf, pf, "findings and their states");
    assert_eq!(lm, pm, "messages");
    let only_lite: Vec<&String> = la.iter().filter(|e| !pa.contains(e)).collect();
    let only_pg: Vec<&String> = pa.iter().filter(|e| !la.contains(e)).collect();
    assert!(
        only_lite.is_empty() && only_pg.is_empty(),
        "audit entries only in SQLite: {only_lite:#?}\nonly in PostgreSQL: {only_pg:#?}"
    );
    assert_eq!(la.len(), pa.len(), "audit entries");
    assert!(baken_store::audit::verify(&postgres.audit_log().unwrap()).is_ok());
    // what a user reads back is the same
    let read = |data: &Path, store: Option<&str>| {
        run_ok(data, store, &["findings", "--json"])
            .lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("id");
                v.to_string()
            })
            .collect::<Vec<_>>()
    };
    let mut a = read(&lite_data, None);
    let mut b = read(&pg_data, Some(pg.url()));
    a.sort();
    b.sort();
    assert_eq!(a, b);

    // moving up: the SQLite installation copied into an empty database is the same store
    let target = TempDatabase::new("copy").unwrap();
    let out = run_ok(
        &lite_data,
        None,
        &["store", "copy", "--to", target.url(), "--json"],
    );
    let copied: Value = serde_json::from_str(&out).unwrap();
    let head = lite.audit_head().unwrap().unwrap();
    assert_eq!(copied["audit_head"][0], head.0);
    assert_eq!(copied["audit_head"][1], head.1.as_str());
    let moved = PostgresStore::connect(target.url()).unwrap();
    assert_eq!(
        held(&moved, &lite_data),
        (lf.clone(), lm.clone(), la.clone())
    );
    assert_eq!(
        moved.finding_records(&FindingQuery::default()).unwrap(),
        lite.finding_records(&FindingQuery::default()).unwrap(),
        "ids and all"
    );
    assert_eq!(moved.audit_log().unwrap(), lite.audit_log().unwrap());
    // the moved installation carries on: a rerun of notify there sends nothing new
    let before = moved.messages(None).unwrap().len();
    run_ok(&lite_data, Some(target.url()), &["notify", "--json"]);
    assert_eq!(moved.messages(None).unwrap().len(), before);
    // a finding's rows read back from the copied kept chunks
    let first = moved.finding_records(&FindingQuery::default()).unwrap()[0].id;
    let shown = run_ok(
        &lite_data,
        Some(target.url()),
        &["finding", "show", &first.to_string(), "--json"],
    );
    assert!(shown.contains("source.ip"), "{shown}");

    // a copy never lands on data: the target now holds some, and it is refused, naming it
    let again = run(&lite_data, None, &["store", "copy", "--to", target.url()]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("already holds") && err.contains("empty database"),
        "{err}"
    );
    // only SQLite into PostgreSQL
    let wrong = run(
        &lite_data,
        None,
        &["store", "copy", "--to", "sqlite:/tmp/x.db"],
    );
    assert!(!wrong.status.success());
}
