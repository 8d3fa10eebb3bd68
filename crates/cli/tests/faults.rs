//! Fault harness beyond one machine: ingest through NATS JetStream workers into PostgreSQL,
//! then notify through the same workers, while a fault strikes at a random moment of one or
//! the other — a worker killed with SIGKILL, the
//! NATS server killed and started again, or every PostgreSQL connection of the installation
//! dropped (`pg_terminate_backend`). What failed is run again, as an operator would (a worker
//! that exits is started again; a coordinator or notify that exits non-zero is run again),
//! and the result is compared with a clean single-machine run on SQLite of the same inputs:
//!
//! - **lost**: observations of the clean run missing (per finding, `times_seen` below it, or
//!   the finding missing), messages missing;
//! - **duplicated**: observations above the clean run, findings or messages it does not have.
//!
//! Each fault runs on a fresh schema of the test PostgreSQL server (`$BAKEN_TEST_POSTGRES`)
//! and a NATS server of its own (`nats-server` from the PATH, on a free loopback port, its
//! JetStream store in a temporary directory), so that restarting it touches nothing else.
//!
//! Environment: `BAKEN_FAULTS` (default 3; `bench/faults.sh` runs 100 in a release build),
//! `BAKEN_FAULTS_SEED` (default 2020; fault `i` uses seed `SEED + i`).

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use baken_demo::generate::{Generated, Params, generate};
use baken_store::postgres::testing::{TempDatabase, admin_url};
use baken_store::prelude::*;
use baken_store::{FindingQuery, PostgresStore, SqliteStore, Store};
use common::{SplitMix, baken, env_or, s};

/// Registered organisations in the world.
const ORGS: u32 = 2_000;
/// Rows per part: the file is cut into many parts, so a fault lands among them.
const PART_ROWS: &str = "20";
/// Workers kept running.
const WORKERS: usize = 2;
/// Runs of a failed coordinator or notify before the fault counts as unrecoverable.
const MAX_RERUNS: u32 = 6;
/// How long a coordinator may run before the harness takes it for stalled.
const STALLED: Duration = Duration::from_secs(60);

#[test]
fn faults_during_distributed_ingest_and_notify_lose_and_duplicate_nothing() {
    let faults: u64 = env_or("BAKEN_FAULTS", 3);
    let seed: u64 = env_or("BAKEN_FAULTS_SEED", 2020);
    let dir = tempfile::tempdir().unwrap();
    let g = generate(
        &Params {
            orgs: ORGS,
            seed: 7,
        },
        &dir.path().join("world"),
    )
    .unwrap();

    // the clean run: one process, the embedded store
    let clean_data = dir.path().join("clean");
    prepare(&clean_data, None, &g);
    ok(&clean_data, None, &["ingest", "--json", s(&g.feed)]);
    ok(&clean_data, None, &["notify", "--json"]);
    let expected = Outcome::of(&SqliteStore::open(&clean_data).unwrap());
    println!(
        "clean run: {} findings, {} observations, {} messages",
        expected.findings.len(),
        expected.observations(),
        expected.messages.len(),
    );

    let mut nats = Nats::start(&dir.path().join("nats"));
    // a clean distributed run, without a fault: it stores what the local run stores, and
    // its duration is where the faults strike
    let distributed = {
        let db = TempDatabase::new("faultless").expect("the test PostgreSQL server");
        let data = dir.path().join("faultless");
        prepare(&data, Some(db.url()), &g);
        let queue = format!("faults{}xclean", std::process::id());
        let mut workers: Vec<Child> = (0..WORKERS)
            .map(|_| worker(&data, db.url(), &nats, &queue))
            .collect();
        let t0 = Instant::now();
        ok(
            &data,
            Some(db.url()),
            &["ingest", "--json", "--via", &nats.url(), "--queue", &queue]
                .into_iter()
                .chain(["--part-rows", PART_ROWS, s(&g.feed)])
                .collect::<Vec<_>>(),
        );
        let ingest_took = t0.elapsed();
        let t0 = Instant::now();
        ok(
            &data,
            Some(db.url()),
            &["notify", "--json", "--via", &nats.url(), "--queue", &queue],
        );
        let notify_took = t0.elapsed();
        for w in workers.iter_mut() {
            let _ = w.kill();
            let _ = w.wait();
        }
        let got = Outcome::of(&PostgresStore::connect(db.url()).unwrap());
        let (l, d, notes) = expected.compare(&got);
        assert_eq!(
            (l, d),
            (0, 0),
            "the distributed run without faults: {notes:?}"
        );
        (ingest_took, notify_took)
    };
    println!(
        "distributed run without faults: the same outcome; ingest {} ms, notify {} ms",
        distributed.0.as_millis(),
        distributed.1.as_millis()
    );
    let (mut lost, mut duplicated) = (0u64, 0u64);
    let mut failures = Vec::new();
    for i in 0..faults {
        let mut rng = SplitMix(seed.wrapping_add(i));
        // the kinds in turn, so that a few faults try each
        let kind = Fault::ALL[(i % 3) as usize];
        let db = TempDatabase::new(&format!("fault{i}")).expect("the test PostgreSQL server");
        let app = format!("baken_fault_{}_{i}", std::process::id());
        let url = format!("{}&application_name={app}", db.url());
        let data = dir.path().join(format!("fault-{i}"));
        prepare(&data, Some(&url), &g);
        let queue = format!("faults{}x{i}", std::process::id());
        // the fault strikes during the ingest or the notify, somewhere inside the faultless
        // distributed run's duration of it
        // (the first NATS restart always falls between the ingest and the notify: workers
        // that asked for work as the server went down must ask again)
        let between = kind == Fault::RestartNats && i < 3;
        let during_notify = !between && rng.next().is_multiple_of(2);
        let span = if during_notify {
            distributed.1
        } else {
            distributed.0
        };
        let at = if between {
            Duration::MAX
        } else {
            Duration::from_millis(rng.next() % (span.as_millis() as u64).max(1))
        };
        let mut run = Run {
            data: &data,
            url: &url,
            queue: &queue,
            app: &app,
            kind,
            workers: (0..WORKERS)
                .map(|_| worker(&data, &url, &nats, &queue))
                .collect(),
            struck: false,
        };
        let ingest = ["ingest", "--json", "--via", &nats.url(), "--queue", &queue]
            .into_iter()
            .chain(["--part-rows", PART_ROWS, s(&g.feed)])
            .map(String::from)
            .collect::<Vec<_>>();
        let (runs, stalls) = run.until_done(&mut nats, &ingest, (!during_notify).then_some(at));
        // a fault meant for the ingest that finished first strikes before notify
        let after_ingest = !run.struck && !during_notify;
        if after_ingest {
            run.strike(&mut nats);
        }
        let notify = ["notify", "--json", "--via", &nats.url(), "--queue", &queue]
            .map(String::from)
            .to_vec();
        let (notify_runs, notify_stalls) =
            run.until_done(&mut nats, &notify, during_notify.then_some(at));
        let notify_missed = during_notify && !run.struck;
        drop(run);
        let got = Outcome::of(&PostgresStore::connect(db.url()).unwrap());
        let (l, d, notes) = expected.compare(&got);
        let verified = baken_store::audit::verify(
            &PostgresStore::connect(db.url())
                .unwrap()
                .audit_log()
                .unwrap(),
        )
        .is_ok();
        let line = format!(
            "fault {}/{faults} (seed {}): {} {}, ingest run {runs} time(s) ({stalls} stalled), notify {notify_runs} ({notify_stalls} stalled): lost {l}, duplicated {d}{}",
            i + 1,
            seed.wrapping_add(i),
            kind.name(),
            if notify_missed {
                "never (notify ended first)".to_string()
            } else if during_notify {
                format!("at {} ms of notify", at.as_millis())
            } else if between {
                "between the ingest and the notify".to_string()
            } else if after_ingest {
                "after ingest (it ended first)".to_string()
            } else {
                format!("at {} ms of ingest", at.as_millis())
            },
            if verified { "" } else { ", AUDIT CHAIN BROKEN" }
        );
        println!("{line}");
        if l + d > 0 || !verified {
            failures.push(format!("{line}\n    {}", notes.join("\n    ")));
        }
        lost += l;
        duplicated += d + u64::from(!verified);
    }
    println!("faults {faults}, lost {lost}, duplicated {duplicated}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    KillWorker,
    RestartNats,
    DropConnections,
}

impl Fault {
    const ALL: [Fault; 3] = [
        Fault::KillWorker,
        Fault::RestartNats,
        Fault::DropConnections,
    ];

    fn name(self) -> &'static str {
        match self {
            Fault::KillWorker => "worker killed (SIGKILL)",
            Fault::RestartNats => "NATS killed and started again",
            Fault::DropConnections => "PostgreSQL connections dropped",
        }
    }
}

/// One fault's installation: its workers, kept running as an operator's supervisor would,
/// and whether the fault has struck.
struct Run<'a> {
    data: &'a Path,
    url: &'a str,
    queue: &'a str,
    app: &'a str,
    kind: Fault,
    workers: Vec<Child>,
    struck: bool,
}

impl Run<'_> {
    /// Runs `args` (a coordinator: `ingest --via` or `notify --via`) until it succeeds, as
    /// an operator would, striking the fault once `at` into its first run: how many runs it
    /// took, and how many of them were stopped as stalled.
    fn until_done(&mut self, nats: &mut Nats, args: &[String], at: Option<Duration>) -> (u32, u32) {
        let (mut runs, mut stalls) = (0, 0);
        let t0 = Instant::now();
        loop {
            runs += 1;
            let mut coordinator = command(self.data, Some(self.url))
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let run_started = Instant::now();
            let status = loop {
                if let Some(status) = coordinator.try_wait().unwrap() {
                    break status;
                }
                // a coordinator still waiting long after a faultless run's time waits for
                // work or a result the restarted NATS server lost: the operator stops it
                // and runs it again (what was stored or sent is not done twice)
                if run_started.elapsed() > STALLED {
                    stalls += 1;
                    let _ = coordinator.kill();
                    break coordinator.wait().unwrap();
                }
                if !self.struck && at.is_some_and(|at| t0.elapsed() >= at) {
                    self.strike(nats);
                }
                // an operator's supervisor: a worker that ended is started again
                for w in self.workers.iter_mut() {
                    if w.try_wait().unwrap().is_some() {
                        *w = worker(self.data, self.url, nats, self.queue);
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            if status.success() || runs >= MAX_RERUNS {
                return (runs, stalls);
            }
        }
    }

    fn strike(&mut self, nats: &mut Nats) {
        self.struck = true;
        strike(self.kind, &mut self.workers, nats, self.app);
    }
}

impl Drop for Run<'_> {
    fn drop(&mut self) {
        for w in self.workers.iter_mut() {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

fn strike(kind: Fault, workers: &mut [Child], nats: &mut Nats, app: &str) {
    match kind {
        Fault::KillWorker => {
            if let Some(w) = workers.first_mut() {
                let _ = w.kill(); // SIGKILL
            }
        }
        Fault::RestartNats => nats.restart(),
        Fault::DropConnections => {
            let mut admin = postgres::Client::connect(&admin_url(), postgres::NoTls).unwrap();
            admin
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                    &[&app],
                )
                .unwrap();
        }
    }
}

/// The world imported into a store, the advisory too.
fn prepare(data: &Path, store: Option<&str>, g: &Generated) {
    ok(data, store, &["registry", "import", s(&g.registry)]);
    ok(data, store, &["registry", "import-routing", s(&g.pfx2as)]);
    ok(data, store, &["registry", "import-rpsl", s(&g.rpsl)]);
    ok(data, store, &["advisory", "import", s(&g.advisory)]);
}

fn command(data: &Path, store: Option<&str>) -> Command {
    let mut cmd = baken();
    cmd.arg("--data").arg(data).env_remove("BAKEN_STORE");
    if let Some(url) = store {
        cmd.arg("--store").arg(url);
    }
    cmd
}

fn ok(data: &Path, store: Option<&str>, args: &[&str]) -> String {
    let out = command(data, store).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "baken {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn worker(data: &Path, url: &str, nats: &Nats, queue: &str) -> Child {
    command(data, Some(url))
        .args(["worker", "--via", &nats.url(), "--queue", queue])
        .args(["--ack-wait", "2", "--idle-exit", "600"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A NATS server with JetStream of the test's own.
struct Nats {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Nats {
    fn start(dir: &Path) -> Nats {
        std::fs::create_dir_all(dir).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Self::spawn(dir, port);
        Nats {
            child,
            port,
            dir: dir.to_path_buf(),
        }
    }

    fn spawn(dir: &Path, port: u16) -> Child {
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server on the PATH (Debian's nats-server)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Self::spawn(&self.dir, self.port);
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a run left: findings by key with how often each was seen, messages by recipient.
struct Outcome {
    findings: BTreeMap<String, (String, u64)>,
    messages: BTreeMap<String, u64>,
}

impl Outcome {
    fn of(store: &dyn Store) -> Outcome {
        let mut findings = BTreeMap::new();
        for f in store.finding_records(&FindingQuery::default()).unwrap() {
            let key = format!("{} {} {} {}", f.incident, f.addr, f.port, f.transport);
            let what = format!(
                "{:?} {:?} {} {}",
                f.attribution.owner, f.state, f.first_seen, f.last_seen
            );
            let before = findings.insert(key, (what, f.times_seen));
            assert!(before.is_none(), "a finding stored twice");
        }
        let mut messages = BTreeMap::new();
        for m in store.messages(None).unwrap() {
            let key = format!(
                "{} {} {} {:?} {:?}",
                m.incident, m.recipient, m.findings, m.state, m.kind
            );
            *messages.entry(key).or_insert(0) += 1;
        }
        Outcome { findings, messages }
    }

    fn observations(&self) -> u64 {
        self.findings.values().map(|(_, n)| n).sum()
    }

    /// Lost and duplicated, with what differs.
    fn compare(&self, got: &Outcome) -> (u64, u64, Vec<String>) {
        let (mut lost, mut dup, mut notes) = (0, 0, Vec::new());
        for (key, (what, n)) in &self.findings {
            match got.findings.get(key) {
                None => {
                    lost += n;
                    notes.push(format!("finding missing: {key}"));
                }
                Some((w, m)) => {
                    if m < n {
                        lost += n - m;
                    }
                    if m > n {
                        dup += m - n;
                    }
                    if w != what || m != n {
                        notes.push(format!("{key}: {what} ×{n}, got {w} ×{m}"));
                    }
                }
            }
        }
        for (key, (_, m)) in &got.findings {
            if !self.findings.contains_key(key) {
                dup += m;
                notes.push(format!("finding the clean run does not have: {key}"));
            }
        }
        for (key, n) in &self.messages {
            let m = got.messages.get(key).copied().unwrap_or(0);
            if m < *n {
                lost += n - m;
                notes.push(format!("message missing: {key}"));
            }
        }
        for (key, m) in &got.messages {
            let n = self.messages.get(key).copied().unwrap_or(0);
            if *m > n {
                dup += m - n;
                notes.push(format!("message the clean run does not have: {key}"));
            }
        }
        notes.truncate(20);
        (lost, dup, notes)
    }
}
