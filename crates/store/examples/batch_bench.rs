//! How fast each engine stores batches: `BATCHES` batches of `ROWS` rows into a fresh store,
//! SQLite (a file in a temporary directory) and PostgreSQL (a fresh database on the server
//! `$BAKEN_TEST_POSTGRES` names, by default the local one).
//!
//! ```sh
//! cargo run --release -p baken-store --example batch_bench [BATCHES] [ROWS]
//! ```
//!
//! Rows are Shadowserver-like: hosts of 198.18.0.0/15 on port 443, one incident (a fifth of
//! them two), the first half of the batches of one day and the second half of the next, so
//! that the second half mostly observes known findings again.

use std::sync::Arc;
use std::time::Instant;

use baken_model::{OrgId, Owner, Rule};
use baken_store::postgres::testing::TempDatabase;
use baken_store::{Batch, FindingStore, KeptChunk, Label, Observed, RunSource, SqliteStore};

fn batches(n: usize, rows: u32) -> Vec<Batch> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let one: Arc<[String]> = Arc::from(vec!["cve-2019-19781".to_string()]);
    let two: Arc<[String]> = Arc::from(vec![
        "cve-2023-46805".to_string(),
        "cve-2024-21887".to_string(),
    ]);
    (0..n)
        .map(|b| {
            let day = if b < n / 2 {
                "2026-03-24"
            } else {
                "2026-03-25"
            };
            let time = baken_store::keys::parse_time(&format!("{day}T06:00:00+00:00"));
            let mut text = Vec::new();
            let observed = (0..rows)
                .map(|row| {
                    let host = next() % 131_072;
                    let addr = format!(
                        "198.{}.{}.{}",
                        18 + host / 65_536,
                        host / 256 % 256,
                        host % 256
                    );
                    text.extend_from_slice(
                        format!("\"{day} 06:00:00\",{addr},443,tcp,example\n").as_bytes(),
                    );
                    Observed {
                        row,
                        addr,
                        port: 443,
                        transport: "tcp".into(),
                        seen_at: time,
                        owner: Owner::Organisation {
                            id: OrgId(format!("org-{}", host % 10_000)),
                        },
                        rule: Rule::Prefix,
                        incidents: if host % 5 == 0 {
                            two.clone()
                        } else {
                            one.clone()
                        },
                    }
                })
                .collect();
            Batch {
                chunks: vec![KeptChunk::text(2, 0, rows, &text, observed).unwrap()],
                quarantined: Vec::new(),
                part: None,
            }
        })
        .collect()
}

fn run(name: &str, store: &mut dyn FindingStore, batches: &[Batch]) {
    let run = store
        .begin_run("bench.csv", &RunSource::default(), &Label::default())
        .unwrap();
    let rows: usize = batches.iter().map(Batch::rows).sum();
    let clock = Instant::now();
    let mut stored = 0;
    for b in batches {
        stored += store.store_batch(run, b).unwrap().stored;
    }
    let secs = clock.elapsed().as_secs_f64();
    let totals = store.totals().unwrap();
    println!(
        "{name}: {rows} rows in {secs:.2} s: {:.0} rows/s ({stored} stored, {} findings, {} observations)",
        rows as f64 / secs,
        totals.findings,
        totals.observations
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(50, |a| a.parse().expect("BATCHES"));
    let rows: u32 = args.next().map_or(20_000, |a| a.parse().expect("ROWS"));
    let batches = batches(n, rows);

    let dir = tempfile::tempdir().unwrap();
    let mut lite = SqliteStore::open(dir.path()).unwrap();
    run("sqlite", &mut lite, &batches);
    drop(lite);

    let db = TempDatabase::new("bench").expect("a PostgreSQL server (BAKEN_TEST_POSTGRES)");
    let mut pg = db.store().unwrap();
    run("postgres", &mut pg, &batches);
}
