//! Batches on the PostgreSQL store: merged set-based, they give what the SQLite store's
//! row-by-row merge gives, and writers in several processes at once store what one writer
//! would.

use std::sync::Arc;

use baken_model::{OrgId, Owner, Rule};
use baken_store::postgres::testing::TempDatabase;
use baken_store::prelude::*;
use baken_store::{
    Batch, BatchCounts, Cause, FindingQuery, FindingRecord, FindingState, KeptChunk, Label,
    Observed, PostgresStore, QuarantinedRow, RunSource, SqliteStore, Transition,
};

/// A small random number generator (xorshift), so that a failing seed can be run again.
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn pick<'a, T>(&mut self, of: &'a [T]) -> &'a T {
        &of[self.below(of.len() as u64) as usize]
    }
}

fn org(id: &str) -> Owner {
    Owner::Organisation {
        id: OrgId(id.into()),
    }
}

fn observed(
    row: u32,
    addr: &str,
    port: u16,
    transport: &'static str,
    seen_at: Option<i64>,
    owner: Owner,
    incidents: &[&str],
) -> Observed {
    Observed {
        row,
        addr: addr.into(),
        port,
        transport: transport.into(),
        seen_at,
        owner,
        rule: Rule::Prefix,
        incidents: incidents
            .iter()
            .map(|s| s.to_string())
            .collect::<Arc<[String]>>(),
    }
}

/// A random batch over few keys, times, owners and incidents, so that rows meet findings
/// and observations of earlier batches and of their own: repeats in one batch, rows without
/// a time, rows of two incidents or none, older rows, quarantined rows.
fn random_batch(rng: &mut Random) -> Batch {
    const ADDRS: [&str; 5] = [
        "198.18.0.1",
        "198.18.0.2",
        "198.18.0.3",
        "198.19.7.7",
        "x.example",
    ];
    const TIMES: [Option<i64>; 6] = [
        None,
        Some(1_774_000_000),
        Some(1_774_086_400),
        Some(1_774_172_800),
        Some(1_774_259_200),
        Some(1_774_345_600),
    ];
    const INCIDENTS: [&[&str]; 5] = [&["a"], &["b"], &["a", "c"], &[], &["c"]];
    let owners = [org("org-1"), org("org-2"), Owner::Unknown];
    let chunks = (0..1 + rng.below(3))
        .map(|_| {
            let n = rng.below(9) as u32;
            let observed = (0..n)
                .map(|row| {
                    observed(
                        row,
                        ADDRS[rng.below(5) as usize],
                        *rng.pick(&[80, 443]),
                        ["tcp", "udp"][rng.below(2) as usize],
                        *rng.pick(&TIMES),
                        rng.pick(&owners).clone(),
                        INCIDENTS[rng.below(5) as usize],
                    )
                })
                .collect();
            KeptChunk::text(1, 0, n, b"kept,row\n", observed).unwrap()
        })
        .collect();
    let quarantined = (0..rng.below(3))
        .map(|i| QuarantinedRow {
            file: "day.csv".into(),
            line: rng.below(4) + i,
            field: None,
            reason: "not an address".into(),
            raw: "x".into(),
        })
        .collect();
    Batch {
        chunks,
        quarantined,
        part: (rng.below(4) == 0).then(|| rng.below(3)),
    }
}

/// What a store holds of its findings, to compare two stores: every field of every finding,
/// its observations and its transitions (without their time), and the audit log's entries
/// (without their time and hashes).
fn contents(store: &dyn FindingStore) -> String {
    let mut out = String::new();
    for f in store.finding_records(&FindingQuery::default()).unwrap() {
        out.push_str(&format!("{f:?}\n"));
        for o in store.observations(f.id).unwrap() {
            out.push_str(&format!("  {o:?}\n"));
        }
        for t in store.transitions(f.id).unwrap() {
            out.push_str(&format!(
                "  {:?} {:?} {:?} {:?} {:?}\n",
                t.from, t.to, t.cause, t.reference, t.note
            ));
        }
    }
    for e in store.audit_log().unwrap() {
        out.push_str(&format!("{} {} {} {}\n", e.seq, e.kind, e.subject, e.body));
    }
    out.push_str(&format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n",
        store.totals().unwrap(),
        store.incidents().unwrap(),
        store.finding_states().unwrap(),
        store.quarantined(100).unwrap()
    ));
    out
}

#[test]
fn batches_merge_as_the_sqlite_store_merges_them() {
    for seed in 1..=6u64 {
        let db = TempDatabase::new("merge").expect("the test PostgreSQL server");
        let mut pg = db.store().unwrap();
        let mut lite = SqliteStore::in_memory().unwrap();
        let mut rng = Random(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let source = RunSource {
            feed: "shadowserver".into(),
            report: Some("scan_http".into()),
            ..RunSource::default()
        };
        let mut run = 0;
        for step in 0..40 {
            if step % 6 == 0 {
                // both runs start at the same second, one of the rows' times: a row without
                // a time is kept at it, and ties with the rows of that time
                let start = 1_774_000_000 + 86_400 * (step / 6 % 5);
                baken_store::set_clock(Some(chrono::DateTime::from_timestamp(start, 0).unwrap()));
                let label = Label::default();
                run = lite.begin_run("day.csv", &source, &label).unwrap();
                assert_eq!(pg.begin_run("day.csv", &source, &label).unwrap(), run);
                baken_store::set_clock(None);
            }
            let batch = random_batch(&mut rng);
            let want = lite.store_batch(run, &batch).unwrap();
            let got = pg.store_batch(run, &batch).unwrap();
            assert_eq!(got, want, "seed {seed}, step {step}: counts of {batch:?}");
            match rng.below(5) {
                0 => {
                    // some findings are verified fixed, to be reopened by later rows
                    let ids: Vec<i64> = lite
                        .finding_records(&FindingQuery::default())
                        .unwrap()
                        .iter()
                        .map(|f| f.id)
                        .filter(|_| rng.below(2) == 0)
                        .collect();
                    let changes: Vec<Transition> = ids
                        .iter()
                        .map(|&finding| Transition {
                            finding,
                            to: Some(FindingState::VerifiedFixed),
                            cause: Cause::Analyst,
                            reference: None,
                            by: Some("analyst".into()),
                            note: None,
                        })
                        .collect();
                    assert_eq!(
                        pg.transition(&changes).unwrap(),
                        lite.transition(&changes).unwrap()
                    );
                }
                1 => assert_eq!(
                    pg.count_absences(run, 1).unwrap(),
                    lite.count_absences(run, 1).unwrap(),
                    "seed {seed}, step {step}: absences"
                ),
                _ => {}
            }
            assert_eq!(
                contents(&pg),
                contents(&lite),
                "seed {seed}, step {step}: after {batch:?}"
            );
        }
    }
}

/// A batch of `rows` rows of one incident each, over keys that other batches share.
fn overlapping_batch(n: u64, rows: u32) -> Batch {
    let mut rng = Random(n.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
    let observed = (0..rows)
        .map(|row| {
            let host = rng.below(1500);
            let addr = format!("198.18.{}.{}", host / 250, host % 250);
            // the owner goes with the address, so that which batch comes first cannot
            // change a finding's owner
            let owner = org(&format!("org-{}", host % 7));
            let time = 1_774_000_000 + 86_400 * rng.below(4) as i64;
            let incident = ["cve-2019-19781", "open-http"][(host % 2) as usize];
            observed(row, &addr, 443, "tcp", Some(time), owner, &[incident])
        })
        .collect();
    Batch {
        chunks: vec![KeptChunk::text(1, 0, rows, b"kept,row\n", observed).unwrap()],
        quarantined: vec![QuarantinedRow {
            file: "day.csv".into(),
            line: n % 3,
            field: None,
            reason: "not an address".into(),
            raw: "x".into(),
        }],
        part: None,
    }
}

/// A store holding a first day: findings of the first time, a third of them verified fixed
/// (so that later rows reopen them). Returns the run.
fn first_day(store: &mut PostgresStore) -> i64 {
    let run = store
        .begin_run("day.csv", &RunSource::default(), &Label::default())
        .unwrap();
    let mut day = overlapping_batch(0, 3000);
    for o in &mut day.chunks[0].observed {
        o.seen_at = Some(1_773_900_000);
    }
    store.store_batch(run, &day).unwrap();
    let fixed: Vec<Transition> = store
        .finding_records(&FindingQuery::default())
        .unwrap()
        .iter()
        .filter(|f| f.id % 3 == 0)
        .map(|f| Transition {
            finding: f.id,
            to: Some(FindingState::VerifiedFixed),
            cause: Cause::Analyst,
            reference: None,
            by: None,
            note: None,
        })
        .collect();
    store.transition(&fixed).unwrap();
    run
}

/// Each finding by its key, without what depends on the order batches were stored in (ids,
/// rows, runs).
fn by_key(store: &dyn FindingStore) -> Vec<String> {
    let mut v: Vec<String> = store
        .finding_records(&FindingQuery::default())
        .unwrap()
        .into_iter()
        .map(|f: FindingRecord| {
            format!(
                "{} {} {} {} {:?} {} {} {} {:?}",
                f.incident,
                f.addr,
                f.port,
                f.transport,
                f.attribution.owner,
                f.first_seen,
                f.last_seen,
                f.times_seen,
                f.state
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn concurrent_writers_store_what_one_writer_would() {
    const WRITERS: u64 = 4;
    const BATCHES: u64 = 16;
    let batches: Vec<Batch> = (1..=BATCHES).map(|n| overlapping_batch(n, 1500)).collect();

    let one = TempDatabase::new("serial").expect("the test PostgreSQL server");
    let mut serial = one.store().unwrap();
    let run = first_day(&mut serial);
    let mut want = BatchCounts::default();
    for b in &batches {
        want += serial.store_batch(run, b).unwrap();
    }

    let db = TempDatabase::new("concurrent").expect("the test PostgreSQL server");
    let run = first_day(&mut db.store().unwrap());
    let batches = Arc::new(batches);
    let start = Arc::new(std::sync::Barrier::new(WRITERS as usize));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (url, batches, start) = (db.url().to_string(), batches.clone(), start.clone());
            std::thread::spawn(move || {
                // a store of its own, as a worker process has
                let mut store = PostgresStore::connect(&url).unwrap();
                start.wait();
                let mut counts = BatchCounts::default();
                for b in batches.iter().skip(w as usize).step_by(WRITERS as usize) {
                    counts += store.store_batch(run, b).unwrap();
                }
                counts
            })
        })
        .collect();
    let mut got = BatchCounts::default();
    for w in writers {
        got += w.join().unwrap();
    }
    let store = db.store().unwrap();

    assert_eq!(got, want, "every row counted as one writer counts it");
    assert_eq!(store.totals().unwrap(), serial.totals().unwrap());
    assert_eq!(by_key(&store), by_key(&serial));
    assert!(want.reopened > 0 && want.duplicate > 0, "{want:?}");
    let log = store.audit_log().unwrap();
    assert_eq!(log.len(), serial.audit_log().unwrap().len());
    baken_store::audit::verify(&log).expect("one unbroken chain");
}

#[test]
fn the_findings_stamp_moves_with_what_another_process_writes() {
    let db = TempDatabase::new("stamp").expect("the test PostgreSQL server");
    let (reader, mut writer) = (db.store().unwrap(), db.store().unwrap());
    let run = writer
        .begin_run("day.csv", &RunSource::default(), &Label::default())
        .unwrap();
    let before = reader.findings_stamp().unwrap();
    writer.store_batch(run, &overlapping_batch(1, 10)).unwrap();
    let stored = reader.findings_stamp().unwrap();
    assert_ne!(stored, before, "a batch moves it");
    assert_eq!(reader.findings_stamp().unwrap(), stored, "reading does not");
    let id = reader.finding_records(&FindingQuery::default()).unwrap()[0].id;
    writer
        .transition(&[Transition {
            finding: id,
            to: Some(FindingState::Acknowledged),
            cause: Cause::Reply,
            reference: None,
            by: None,
            note: None,
        }])
        .unwrap();
    assert_ne!(
        reader.findings_stamp().unwrap(),
        stored,
        "a change of state moves it"
    );
}
