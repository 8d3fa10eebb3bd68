//! Crash harness: SIGKILL `baken ingest` and `baken notify` at random points, re-run the
//! killed command until it completes, and compare the result with a clean run.
//!
//! The world is the demo generator's (2,000 organisations); the input is two Shadowserver
//! `scan_http_vulnerable` files, a day apart, each scanning every address several times on
//! three ports (about 31,000 rows, committed in `--batch 2000` transactions so that kills land
//! between and inside transactions). A clean reference run ingests both files and notifies
//! into the outbox. Each kill then starts from a fresh data directory (for ingest a copy of the
//! imported world; for notify a copy of the reference's directory after its clean ingest),
//! kills one command (ingest and notify alternate) after a delay drawn uniformly inside the
//! reference run's duration of that command, re-runs it until it exits 0, finishes the
//! remaining steps and counts against the reference:
//!
//! - **lost**: observations of the reference missing (per finding, `times_seen` below the
//!   reference's, or the finding missing; a finding whose owner or first/last seen differ
//!   counts one), messages missing (from the outbox, the notify outcome or the audit log's
//!   deliveries), audited decisions missing;
//! - **duplicated**: observations above the reference (a row counted twice; a finding the
//!   reference does not have counts its observations), a finding stored twice, messages and
//!   audited decisions the reference does not have, a message delivered fresh more than once;
//! - **corrupt**: the store does not open, `PRAGMA integrity_check` or `baken audit verify`
//!   fails (right after the kill or at the end), a command never completes again, an `.eml`
//!   file is incomplete, or a re-run's counts do not reconcile.
//!
//! Environment: `BAKEN_CRASH_KILLS` (default 4; `bench/crash.sh` runs 100 in a release build),
//! `BAKEN_CRASH_SEED` (default 2020; kill `i` uses seed `SEED + i`, so
//! `BAKEN_CRASH_SEED=<a kill's seed> BAKEN_CRASH_KILLS=1` replays that kill's command and
//! kill point, as a fraction of the run), `BAKEN_CRASH_KEEP=1` keeps the data directories of
//! failed kills.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{BufRead, Write as _};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use baken_store::{SqliteStore, prelude::*};
use common::{SplitMix, baken, env_or, files_with, run, run_ok, s, small_world};
use serde_json::Value;

/// Registered organisations in the world.
const ORGS: u32 = 2_000;
/// Scans of every address per day file (spread over `PORTS`, a minute apart per port).
const COPIES: u32 = 18;
/// The ports the copies cycle through: each is a finding of its own.
const PORTS: [&str; 3] = ["443", "8443", "4443"];
/// Rows per transaction: about 20 transactions per run.
const BATCH: &str = "2000";
/// Every 7th data row of the first day is missing from the second.
const DROP_EVERY: usize = 7;
/// Findings per ingest kill whose observations are compared one by one (`finding show`
/// takes over a second in a debug build).
const SAMPLED_FINDINGS: usize = 1;
/// Re-runs of a killed command before it counts as never completing.
const MAX_RERUNS: u32 = 5;

#[test]
fn kills_during_ingest_and_notify_lose_duplicate_and_corrupt_nothing() {
    let kills: u64 = env_or("BAKEN_CRASH_KILLS", 4);
    let master_seed: u64 = env_or("BAKEN_CRASH_SEED", 2020);
    let keep = std::env::var("BAKEN_CRASH_KEEP").is_ok_and(|v| v == "1");
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let harness = Harness::prepare(dir.path());
    println!(
        "reference: {} observations in {} findings (ingest {} ms), {} messages (notify {} ms); ready after {:.1} s; {kills} kills from seed {master_seed}",
        harness.expected.observations(),
        harness.expected.findings.len(),
        harness.ingest_time.as_millis(),
        harness.expected.digests.len(),
        harness.notify_time.as_millis(),
        started.elapsed().as_secs_f64(),
    );

    let mut total = Tally::default();
    let mut failures = String::new();
    for i in 0..kills {
        let seed = master_seed.wrapping_add(i);
        let data = dir.path().join(format!("kill-{i}"));
        let (tally, line) = harness.kill(seed, &data);
        let line = format!("kill {}/{kills} {line}", i + 1);
        println!("{line}");
        if !tally.is_clean() {
            let _ = writeln!(failures, "{line}");
            for n in tally.notes.iter().take(20) {
                let _ = writeln!(failures, "    {n}");
            }
            if tally.notes.len() > 20 {
                let _ = writeln!(failures, "    … {} more", tally.notes.len() - 20);
            }
            let _ = writeln!(
                failures,
                "    replay: BAKEN_CRASH_SEED={seed} BAKEN_CRASH_KILLS=1 cargo test -p baken --test crash -- --nocapture"
            );
            if keep {
                let kept = std::env::temp_dir().join(format!("baken-crash-{seed}"));
                let _ = std::fs::remove_dir_all(&kept);
                copy_dir(&data, &kept);
                let _ = writeln!(failures, "    data directory kept: {}", kept.display());
            }
        }
        let _ = std::fs::remove_dir_all(&data);
        total.lost += tally.lost;
        total.duplicated += tally.duplicated;
        total.corrupt += tally.corrupt;
    }

    println!(
        "kills {kills}, lost {}, duplicated {}, corrupt {}",
        total.lost, total.duplicated, total.corrupt
    );
    println!("({:.1} s)", started.elapsed().as_secs_f64());
    assert!(
        total.is_clean(),
        "crashes lost, duplicated or corrupted data:\n{failures}"
    );
}

/// The world, the input, and what a clean run leaves.
struct Harness {
    /// A data directory with the world imported and nothing ingested.
    world: PathBuf,
    /// The reference's data directory after its ingest (copied before notify).
    ingested: PathBuf,
    /// The reference's data directory at the end.
    reference: PathBuf,
    ingest_args: Vec<String>,
    notify_args: Vec<String>,
    /// How long the clean ingest and notify took.
    ingest_time: Duration,
    notify_time: Duration,
    /// What the clean run left.
    expected: Outcome,
}

impl Harness {
    /// Generates the world and the input under `dir` and makes the clean reference run.
    fn prepare(dir: &Path) -> Self {
        let world = dir.join("world");
        let g = small_world(&dir.join("generated"), &world, ORGS);
        let inputs = dir.join("input");
        std::fs::create_dir_all(&inputs).unwrap();
        let (day1, day2) = write_feeds(&g.feed, &inputs);
        let ingest_args: Vec<String> = ["ingest", "--json", "--batch", BATCH, s(&day1), s(&day2)]
            .map(String::from)
            .to_vec();
        let notify_args: Vec<String> = vec!["notify".into(), "--json".into()];

        let reference = dir.join("reference");
        copy_dir(&world, &reference);
        let t = Instant::now();
        let out = run_ok(&reference, &strs(&ingest_args));
        let ingest_time = t.elapsed();
        let summary: Value = serde_json::from_str(&out).expect("ingest --json prints JSON");
        assert!(
            reconciles(&summary),
            "the clean ingest does not reconcile: {summary}"
        );
        let ingested = dir.join("ingested");
        copy_dir(&reference, &ingested);
        let t = Instant::now();
        let notified = run_ok(&reference, &strs(&notify_args));
        let notify_time = t.elapsed();
        let expected = match collect(&reference, &notified) {
            Ok(o) => o,
            Err(e) => panic!("the clean reference run is not sound: {e}"),
        };
        let stored: u64 = summary
            .as_array()
            .expect("an array")
            .iter()
            .map(|f| f["stored"].as_u64().unwrap())
            .sum();
        assert_eq!(
            expected.observations(),
            stored,
            "every stored row is one observation"
        );
        assert!(!expected.digests.is_empty(), "the reference sends messages");
        Self {
            world,
            ingested,
            reference,
            ingest_args,
            notify_args,
            ingest_time,
            notify_time,
            expected,
        }
    }

    /// One kill with `seed` in a fresh data directory `data`: its counts and a line saying
    /// what happened.
    fn kill(&self, seed: u64, data: &Path) -> (Tally, String) {
        let mut rng = SplitMix(seed);
        let ingest = seed.is_multiple_of(2);
        let (args, clean) = if ingest {
            (strs(&self.ingest_args), self.ingest_time)
        } else {
            (strs(&self.notify_args), self.notify_time)
        };
        let fraction = rng.fraction();
        let delay = clean.mul_f64(fraction);
        copy_dir(if ingest { &self.world } else { &self.ingested }, data);
        let started = Instant::now();
        let mut tally = Tally::default();

        let ended = kill_after(data, &args, delay);
        check_store(data, "after the kill", &mut tally);
        let left = if tally.corrupt > 0 {
            String::new()
        } else if ingest {
            format!("; {} observations kept", observations_stored(data))
        } else {
            let sent = files_with(&data.join("outbox"), "eml").len();
            format!("; {sent} messages in the outbox")
        };

        let mut reruns = 0;
        let mut notified = None;
        if tally.corrupt == 0 {
            if let Some((out, runs)) = rerun_until_done(data, &args, &mut tally) {
                reruns = runs;
                notified = if ingest {
                    let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
                    if !reconciles(&v) {
                        tally.corrupt += 1;
                        tally.note(format!("the re-run's counts do not reconcile: {v}"));
                    }
                    finish(data, &strs(&self.notify_args), &mut tally)
                } else {
                    Some(out)
                };
            } else {
                reruns = MAX_RERUNS;
            }
        }
        if let Some(notified) = notified {
            match collect(data, &notified) {
                Ok(got) => {
                    compare(&self.expected, &got, &mut tally);
                    if ingest {
                        let keys: Vec<&Key> = self.expected.findings.keys().collect();
                        let picks: Vec<&Key> = (0..SAMPLED_FINDINGS)
                            .map(|_| keys[rng.below(keys.len())])
                            .collect();
                        compare_observations(
                            &self.reference,
                            data,
                            &self.expected,
                            &got,
                            &picks,
                            &mut tally,
                        );
                    }
                }
                Err(e) => {
                    tally.corrupt += 1;
                    tally.note(e);
                }
            }
        }

        let what = if ingest { "ingest" } else { "notify" };
        let when = match ended {
            Ok(()) => "running".to_string(),
            Err(status) => format!("had already ended: {status}"),
        };
        let line = format!(
            "seed {seed}: {what} SIGKILLed at {} ms ({:.0} % of the clean {} ms; {when}{left}); {reruns} re-run(s); lost {}, duplicated {}, corrupt {} ({:.1} s)",
            delay.as_millis(),
            fraction * 100.0,
            clean.as_millis(),
            tally.lost,
            tally.duplicated,
            tally.corrupt,
            started.elapsed().as_secs_f64()
        );
        (tally, line)
    }
}

/// The comparison is not one that cannot fail: a lost observation, a row counted twice, a
/// missing message, an unaudited decision and a truncated `.eml` are each counted.
#[test]
fn the_comparison_counts_what_is_lost_duplicated_or_corrupt() {
    let finding = |times_seen| Finding {
        id: 1,
        org: "org-1".into(),
        first_seen: "2020-01-10T00:00:00Z".into(),
        last_seen: "2020-01-11T00:00:00Z".into(),
        times_seen,
    };
    let key = |ip: &str| {
        (
            "cve-2019-19781".to_string(),
            ip.to_string(),
            443,
            "tcp".to_string(),
        )
    };
    let outcome = |findings: Vec<(Key, Finding)>, messages: &[&str], decisions: &[&str]| {
        let mut o = Outcome::default();
        for (k, f) in findings {
            o.findings.entry(k).or_default().push(f);
        }
        for m in messages {
            o.digests.insert(m.to_string(), "sent".into());
            o.outbox.insert(m.to_string());
            o.deliveries.insert(m.to_string(), 1);
        }
        o.decisions = decisions.iter().map(ToString::to_string).collect();
        o
    };
    let expected = outcome(
        vec![
            (key("192.0.2.1"), finding(3)),
            (key("192.0.2.2"), finding(2)),
        ],
        &["m1", "m2"],
        &["d1", "d2"],
    );
    let check = |got: &Outcome, lost, duplicated, corrupt| {
        let mut t = Tally::default();
        compare(&expected, got, &mut t);
        assert_eq!(
            (t.lost, t.duplicated, t.corrupt),
            (lost, duplicated, corrupt),
            "{:?}",
            t.notes
        );
    };
    let same = outcome(
        vec![
            (key("192.0.2.1"), finding(3)),
            (key("192.0.2.2"), finding(2)),
        ],
        &["m1", "m2"],
        &["d1", "d2"],
    );
    check(&same, 0, 0, 0);
    // One observation lost, one finding missing (two observations), one row counted twice.
    let rows = outcome(
        vec![
            (key("192.0.2.1"), finding(2)),
            (key("192.0.2.3"), finding(1)),
        ],
        &["m1", "m2"],
        &["d1", "d2"],
    );
    check(&rows, 3, 1, 0);
    // A finding stored twice, its owner wrong.
    let mut twice = outcome(
        vec![
            (key("192.0.2.1"), finding(3)),
            (key("192.0.2.2"), finding(2)),
        ],
        &["m1", "m2"],
        &["d1", "d2"],
    );
    twice
        .findings
        .get_mut(&key("192.0.2.1"))
        .unwrap()
        .push(finding(0));
    twice.findings.get_mut(&key("192.0.2.2")).unwrap()[0].org = "org-2".into();
    check(&twice, 1, 1, 0);
    // A message missing from the outbox, one sent twice, one unknown; a decision missing.
    let mut messages = outcome(
        vec![
            (key("192.0.2.1"), finding(3)),
            (key("192.0.2.2"), finding(2)),
        ],
        &["m1", "m2", "m3"],
        &["d1"],
    );
    messages.outbox.remove("m1");
    messages.deliveries.insert("m2".into(), 2);
    messages.bad_eml.push("m2".into());
    check(&messages, 2, 2, 1);
}

// --- the input -------------------------------------------------------------------------------

/// Writes the first day (every well-formed row of the generated feed `COPIES` times, on
/// `PORTS`, a minute later per round; the malformed rows once) and the next day (the first
/// day's text a day later, every `DROP_EVERY`th row dropped). Returns both paths.
fn write_feeds(generated: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let name = generated.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("2020-01-10-scan_http_vulnerable-"),
        "the generator's feed is named by date and report: {name}"
    );
    let day1 = dir.join(name);
    let mut reader = csv::Reader::from_path(generated).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |c: &str| header.iter().position(|h| h == c).unwrap();
    let (ts_col, ip_col, port_col) = (col("timestamp"), col("ip"), col("port"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let mut w = csv::Writer::from_path(&day1).unwrap();
    w.write_record(&header).unwrap();
    for k in 0..COPIES {
        for row in &rows {
            let seconds = parse_time(&row[ts_col]);
            if seconds.is_none() || row[ip_col].parse::<IpAddr>().is_err() {
                if k == 0 {
                    w.write_record(row).unwrap(); // malformed: quarantined, once
                }
                continue;
            }
            let t = (seconds.unwrap() + 60 * (k / PORTS.len() as u32)) % 86_400;
            let ts = format!(
                "2020-01-10 {:02}:{:02}:{:02}",
                t / 3600,
                t / 60 % 60,
                t % 60
            );
            let port = PORTS[k as usize % PORTS.len()];
            let fields: Vec<&str> = row
                .iter()
                .enumerate()
                .map(|(c, f)| match c {
                    c if c == ts_col => ts.as_str(),
                    c if c == port_col => port,
                    _ => f,
                })
                .collect();
            w.write_record(&fields).unwrap();
        }
    }
    w.flush().unwrap();
    drop(w);

    let day2 = dir.join(name.replacen("2020-01-10-", "2020-01-11-", 1));
    let text = std::fs::read_to_string(&day1).unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(&day2).unwrap());
    for (n, line) in text.lines().enumerate() {
        if n > 0 && n % DROP_EVERY == 0 {
            continue;
        }
        let line = line
            .replace("2020-01-10 ", "2020-01-11 ")
            .replace("Fri, 10 Jan 2020", "Sat, 11 Jan 2020");
        writeln!(out, "{line}").unwrap();
    }
    out.flush().unwrap();
    (day1, day2)
}

/// Seconds into the day of a `2020-01-10 HH:MM:SS` timestamp.
fn parse_time(ts: &str) -> Option<u32> {
    let hms = ts.strip_prefix("2020-01-10 ")?;
    let mut parts = hms.split(':').map(|p| p.parse::<u32>().ok());
    let (h, m, sec) = (parts.next()??, parts.next()??, parts.next()??);
    Some(h * 3600 + m * 60 + sec)
}

// --- running and killing ---------------------------------------------------------------------

/// Starts `baken --data DATA ARGS` and SIGKILLs it after `delay`; `Err` with the exit status
/// when it ended before.
fn kill_after(data: &Path, args: &[&str], delay: Duration) -> Result<(), ExitStatus> {
    let mut child = baken()
        .arg("--data")
        .arg(data)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the baken binary starts");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Err(status);
        }
        let elapsed = start.elapsed();
        if elapsed >= delay {
            break;
        }
        std::thread::sleep((delay - elapsed).min(Duration::from_millis(1)));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    Ok(())
}

/// Observations in the store (the sum of `times_seen`), or the error.
fn observations_stored(data: &Path) -> String {
    let out = run(data, &["findings", "--json"]);
    if !out.status.success() {
        return format!("? ({})", String::from_utf8_lossy(&out.stderr).trim());
    }
    let sum: u64 = out
        .stdout
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
        .filter_map(|v| v["times_seen"].as_u64())
        .sum();
    sum.to_string()
}

/// Re-runs a killed command until it exits 0; its stdout and the number of runs, or `None`
/// (counted corrupt) when it never does.
fn rerun_until_done(data: &Path, args: &[&str], tally: &mut Tally) -> Option<(String, u32)> {
    for attempt in 1..=MAX_RERUNS {
        let out = run(data, args);
        if out.status.success() {
            return Some((String::from_utf8_lossy(&out.stdout).into_owned(), attempt));
        }
        tally.note(format!(
            "re-run {attempt} of {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
        std::thread::sleep(Duration::from_millis(100));
    }
    tally.corrupt += 1;
    None
}

/// Runs a remaining step; its stdout, or `None` (counted corrupt) when it fails.
fn finish(data: &Path, args: &[&str], tally: &mut Tally) -> Option<String> {
    let out = run(data, args);
    if out.status.success() {
        return Some(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    tally.corrupt += 1;
    tally.note(format!(
        "{args:?} after a completed re-run failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    ));
    None
}

/// The store opens, passes `PRAGMA integrity_check`, and the audit chain verifies.
fn check_store(data: &Path, when: &str, tally: &mut Tally) {
    match SqliteStore::open(data) {
        Err(e) => {
            tally.corrupt += 1;
            tally.note(format!("{when}: the store does not open: {e}"));
            return;
        }
        Ok(store) => match store.integrity_check() {
            Ok(Ok(())) => {}
            Ok(Err(answer)) => {
                tally.corrupt += 1;
                tally.note(format!("{when}: integrity_check: {answer}"));
                return;
            }
            Err(e) => {
                tally.corrupt += 1;
                tally.note(format!("{when}: integrity_check failed: {e}"));
                return;
            }
        },
    }
    let out = run(data, &["audit", "verify"]);
    if !out.status.success() {
        tally.corrupt += 1;
        tally.note(format!(
            "{when}: audit verify failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
}

// --- what a run left behind ------------------------------------------------------------------

/// A finding's identity: incident, address, port, transport.
type Key = (String, String, u64, String);

/// What `baken findings --json` says about a finding besides its identity.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Finding {
    id: i64,
    org: String,
    first_seen: String,
    last_seen: String,
    times_seen: u64,
}

impl Finding {
    fn same_facts(&self, other: &Self) -> bool {
        (
            &self.org,
            &self.first_seen,
            &self.last_seen,
            self.times_seen,
        ) == (
            &other.org,
            &other.first_seen,
            &other.last_seen,
            other.times_seen,
        )
    }
}

/// The state a completed run left: findings, messages, outbox and audit log.
#[derive(Debug, Default)]
struct Outcome {
    /// Findings by identity (more than one per identity is a duplicate).
    findings: BTreeMap<Key, Vec<Finding>>,
    /// Message key → state, from the completed notify run's outcome.
    digests: BTreeMap<String, String>,
    /// Message keys with an `.eml` file in the outbox.
    outbox: BTreeSet<String>,
    /// `.eml` files that are incomplete.
    bad_eml: Vec<String>,
    /// Message key → delivery entries in the audit log that were fresh deliveries.
    deliveries: BTreeMap<String, u64>,
    /// Subjects of the audited decisions.
    decisions: BTreeSet<String>,
}

impl Outcome {
    /// Observations over all findings (the sum of `times_seen`).
    fn observations(&self) -> u64 {
        self.findings.values().flatten().map(|f| f.times_seen).sum()
    }
}

/// Reads what a completed run left in `data`; `Err` when the store or the audit log is not
/// sound.
fn collect(data: &Path, notify_json: &str) -> Result<Outcome, String> {
    let mut tally = Tally::default();
    check_store(data, "at the end", &mut tally);
    if tally.corrupt > 0 {
        return Err(tally.notes.join("; "));
    }
    let mut o = Outcome::default();

    let out = run(data, &["findings", "--json"]);
    if !out.status.success() {
        return Err(format!(
            "findings --json failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    for line in out.stdout.lines() {
        let line = line.map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&line).map_err(|e| format!("{e}: {line}"))?;
        let text = |k: &str| match &v[k] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let key = (
            text("incident"),
            text("source.ip"),
            v["source.port"].as_u64().unwrap_or(0),
            text("protocol.transport"),
        );
        o.findings.entry(key).or_default().push(Finding {
            id: v["id"].as_i64().unwrap_or(-1),
            org: text("org"),
            first_seen: text("first_seen"),
            last_seen: text("last_seen"),
            times_seen: v["times_seen"].as_u64().unwrap_or(0),
        });
    }

    // `notify --json` lists what its own run delivered; what every run delivered is the
    // store's record of messages
    let _: Value = serde_json::from_str(notify_json)
        .map_err(|e| format!("notify --json is not JSON ({e}): {notify_json}"))?;
    let store = SqliteStore::open(data).map_err(|e| e.to_string())?;
    for m in store.messages(None).map_err(|e| e.to_string())? {
        o.digests.insert(m.key, m.state.as_str().to_string());
    }
    drop(store);

    for eml in files_with(&data.join("outbox"), "eml") {
        let key = eml.file_stem().unwrap().to_string_lossy().into_owned();
        if !complete_eml(&eml, &key) {
            o.bad_eml.push(key.clone());
        }
        o.outbox.insert(key);
    }

    let log = data.join("audit.jsonl");
    run_ok(data, &["audit", "export", "--out", s(&log)]);
    let text = std::fs::read_to_string(&log).map_err(|e| e.to_string())?;
    for line in text.lines() {
        let entry: Value = serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))?;
        let subject = entry["subject"].as_str().unwrap_or_default().to_string();
        match entry["kind"].as_str() {
            Some("decision") => {
                o.decisions.insert(subject);
            }
            Some("delivery") => {
                let body: Value = serde_json::from_str(entry["body"].as_str().unwrap_or("{}"))
                    .unwrap_or_default();
                let fresh = u64::from(body["already_delivered"] != Value::Bool(true));
                *o.deliveries.entry(subject).or_default() += fresh;
            }
            _ => {}
        }
    }
    Ok(o)
}

/// An `.eml` file is complete: it carries its own key and ends with its closing boundary.
fn complete_eml(path: &Path, key: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let boundary = text
        .split("boundary=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next());
    text.contains(&format!("X-Baken-Key: {key}"))
        && boundary.is_some_and(|b| text.trim_end().ends_with(&format!("--{b}--")))
}

// --- comparing -------------------------------------------------------------------------------

/// Counts of one kill, with what was found.
#[derive(Debug, Default)]
struct Tally {
    lost: u64,
    duplicated: u64,
    corrupt: u64,
    notes: Vec<String>,
}

impl Tally {
    fn note(&mut self, n: String) {
        self.notes.push(n);
    }

    fn is_clean(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.corrupt == 0
    }
}

fn compare(expected: &Outcome, got: &Outcome, tally: &mut Tally) {
    // Findings: observations missing or counted twice.
    let keys: BTreeSet<&Key> = expected
        .findings
        .keys()
        .chain(got.findings.keys())
        .collect();
    let (mut ref_sum, mut got_sum) = (0, 0);
    for key in keys {
        let want = expected.findings.get(key).map_or(&[][..], Vec::as_slice);
        let have = got.findings.get(key).map_or(&[][..], Vec::as_slice);
        let want_seen: u64 = want.iter().map(|f| f.times_seen).sum();
        let have_seen: u64 = have.iter().map(|f| f.times_seen).sum();
        ref_sum += want_seen;
        got_sum += have_seen;
        if have_seen != want_seen {
            if have_seen > want_seen {
                tally.duplicated += have_seen - want_seen;
            } else {
                tally.lost += want_seen - have_seen;
            }
            tally.note(format!(
                "finding {key:?}: times_seen {have_seen} in {} finding(s), reference {want_seen}",
                have.len()
            ));
        } else if have.len() > want.len() {
            tally.duplicated += (have.len() - want.len()) as u64;
            tally.note(format!("finding {key:?} stored {} times", have.len()));
        } else if let (Some(w), Some(h)) = (want.first(), have.first())
            && !w.same_facts(h)
        {
            tally.lost += 1;
            tally.note(format!("finding {key:?} differs: {h:?}, reference {w:?}"));
        }
    }
    if ref_sum != got_sum {
        tally.note(format!("sum of times_seen {got_sum}, reference {ref_sum}"));
    }

    // Messages: in the notify outcome (sent), the outbox and the audit log, each once.
    let keys: BTreeSet<&String> = expected
        .digests
        .keys()
        .chain(got.digests.keys())
        .chain(got.outbox.iter())
        .chain(got.deliveries.keys())
        .collect();
    for key in keys {
        let wanted = expected.digests.contains_key(key);
        let state = got.digests.get(key).map(String::as_str);
        let in_outbox = got.outbox.contains(key);
        let fresh = got.deliveries.get(key).copied();
        if !wanted {
            tally.duplicated += 1;
            tally.note(format!(
                "message {key} not in the reference (state {state:?}, outbox {in_outbox}, deliveries {fresh:?})"
            ));
        } else if state != Some("sent") || !in_outbox || fresh.is_none() {
            tally.lost += 1;
            tally.note(format!(
                "message {key}: state {state:?}, in outbox {in_outbox}, audited deliveries {fresh:?}"
            ));
        } else if fresh > Some(1) {
            tally.duplicated += 1;
            tally.note(format!(
                "message {key} delivered fresh {} times",
                fresh.unwrap()
            ));
        }
    }
    if !got.bad_eml.is_empty() {
        tally.corrupt += got.bad_eml.len() as u64;
        tally.note(format!("incomplete .eml files: {:?}", got.bad_eml));
    }

    // Decisions: every one the reference audited.
    for d in expected.decisions.difference(&got.decisions) {
        tally.lost += 1;
        tally.note(format!("decision {d} not audited"));
    }
    for d in got.decisions.difference(&expected.decisions) {
        tally.duplicated += 1;
        tally.note(format!("decision {d} audited, not in the reference"));
    }
}

/// Compares the observations of a few findings one by one (time, file, line), where the
/// finding-level comparison found nothing.
fn compare_observations(
    reference: &Path,
    data: &Path,
    expected: &Outcome,
    got: &Outcome,
    picks: &[&Key],
    tally: &mut Tally,
) {
    for key in picks {
        let (Some([want]), Some([have])) = (
            expected.findings.get(*key).map(Vec::as_slice),
            got.findings.get(*key).map(Vec::as_slice),
        ) else {
            continue; // missing or duplicated: already counted
        };
        if !want.same_facts(have) {
            continue; // already counted
        }
        let want_obs = observations(reference, want.id);
        let have_obs = observations(data, have.id);
        let missing = want_obs.difference(&have_obs).count() as u64;
        let extra = have_obs.difference(&want_obs).count() as u64;
        if missing + extra > 0 {
            tally.lost += missing;
            tally.duplicated += extra;
            tally.note(format!(
                "finding {key:?}: observations {have_obs:?}, reference {want_obs:?}"
            ));
        }
    }
}

/// A finding's observations as (time, file, line), counted (a multiset).
fn observations(data: &Path, id: i64) -> BTreeSet<(String, String, u64, usize)> {
    let out = run_ok(data, &["finding", "show", &id.to_string(), "--json"]);
    let v: Value = serde_json::from_str(&out).expect("finding show --json prints JSON");
    let mut seen = BTreeMap::<(String, String, u64), usize>::new();
    for o in v["observations"].as_array().into_iter().flatten() {
        let k = (
            o["seen_at"].as_str().unwrap_or_default().to_string(),
            o["file"].as_str().unwrap_or_default().to_string(),
            o["line"].as_u64().unwrap_or(0),
        );
        *seen.entry(k).or_default() += 1;
    }
    seen.into_iter()
        .flat_map(|((t, f, l), n)| (0..n).map(move |i| (t.clone(), f.clone(), l, i)))
        .collect()
}

// --- small things ----------------------------------------------------------------------------

/// `read = stored + duplicate + quarantined` for every file of an `ingest --json` summary.
fn reconciles(summary: &Value) -> bool {
    summary.as_array().is_some_and(|files| {
        files.iter().all(|f| {
            let n = |k: &str| f[k].as_u64();
            match (n("read"), n("stored"), n("duplicate"), n("quarantined")) {
                (Some(r), Some(s), Some(d), Some(q)) => r == s + d + q,
                _ => false,
            }
        })
    })
}

/// Copies a directory tree (a data directory no process has open).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}
