//! Ingest through workers over NATS JetStream (`ingest --via`, `baken worker`), against the
//! local NATS server at 127.0.0.1:4222: the store ends as a local ingest leaves it, whatever
//! is killed or delivered twice. Each test has queues of its own, deleted afterwards.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use baken_store::SqliteStore;
use common::{baken, run_ok, s, small_world};
use serde_json::Value;

const NATS: &str = "nats://127.0.0.1:4222";

/// A queue of this test's own, deleted when dropped.
struct TestQueue(baken_work::Queue);

impl TestQueue {
    fn new(test: &str) -> Self {
        let name = format!("t{}-{test}", std::process::id());
        let queue = baken_work::Queue::new(NATS, &name).unwrap();
        // a queue left by an earlier run with the same process id starts empty
        queue
            .delete()
            .expect("the NATS server with JetStream at 127.0.0.1:4222 answers");
        TestQueue(queue)
    }

    fn name(&self) -> &str {
        &self.0.name
    }
}

impl Drop for TestQueue {
    fn drop(&mut self) {
        let _ = self.0.delete();
    }
}

/// Workers killed when dropped (a failed assertion leaves none behind).
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for w in &mut self.0 {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

/// A worker of `queue` on `data`; a job it holds goes to another worker two seconds after
/// it stopped answering for it (`extra` may say `--ack-wait` otherwise).
fn worker(data: &Path, queue: &TestQueue, extra: &[&str]) -> Child {
    let ack_wait = if extra.contains(&"--ack-wait") {
        &[][..]
    } else {
        &["--ack-wait", "2"][..]
    };
    baken()
        .arg("--data")
        .arg(data)
        .args(["worker", "--via", NATS, "--queue", queue.name()])
        .args(["--idle-exit", "600"])
        .args(ack_wait)
        .args(extra)
        .env("RUST_LOG", "baken_work=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the baken binary runs")
}

/// Runs `ingest --via` of `file` into `data`, in parts of 20 rows; its JSON summary.
fn ingest_via(data: &Path, queue: &str, file: &Path) -> Value {
    let out = run_ok(
        data,
        &[
            "ingest",
            "--json",
            "--via",
            NATS,
            "--queue",
            queue,
            "--part-rows",
            "20",
            s(file),
        ],
    );
    serde_json::from_str::<Value>(&out).expect("ingest --json prints JSON")[0].clone()
}

fn ingest_here(data: &Path, file: &Path) -> Value {
    let out = run_ok(data, &["ingest", "--json", s(file)]);
    serde_json::from_str::<Value>(&out).expect("ingest --json prints JSON")[0].clone()
}

/// A small world's registry in `data`, and its feed with rows added that the parts must cut
/// around: a record over three lines, and a row repeated (a duplicate within the file).
fn world(dir: &Path, datas: &[&Path]) -> PathBuf {
    let input = dir.join("input");
    let g = small_world(&input, datas[0], 300);
    for data in &datas[1..] {
        run_ok(data, &["registry", "import", s(&g.registry)]);
        run_ok(data, &["registry", "import-routing", s(&g.pfx2as)]);
        run_ok(data, &["registry", "import-rpsl", s(&g.rpsl)]);
    }
    let text = std::fs::read_to_string(&g.feed).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    let mut extra = String::new();
    for row in rows.iter().step_by(17) {
        // the same row again, and once more with a field that spans three lines
        extra.push_str(row);
        extra.push('\n');
        extra.push_str(&row.replacen(",OK,", ",\"O\nK\nagain\",", 1));
        extra.push('\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&g.feed)
        .unwrap();
    f.write_all(extra.as_bytes()).unwrap();
    assert!(extra.contains("\"O\nK"), "the feed has multi-line records");
    g.feed
}

/// What the store holds of findings, observations (each read again as the event it was) and
/// quarantined rows, without store ids.
fn contents(data: &Path) -> Value {
    let store = SqliteStore::open(data).unwrap();
    let attributor = baken_pipeline::attributor_from_store(&store).unwrap();
    let db = rusqlite::Connection::open(store.path()).unwrap();
    let ids: Vec<i64> = db
        .prepare("SELECT id FROM finding")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut findings: Vec<Value> = ids
        .iter()
        .map(|&id| {
            let detail = baken_pipeline::findings::detail(&store, &attributor, id)
                .unwrap()
                .unwrap();
            let mut v = serde_json::to_value(detail).unwrap();
            strip_ids(&mut v);
            v
        })
        .collect();
    findings.sort_by_key(|v| v.to_string());
    let mut quarantine: Vec<Value> = db
        .prepare("SELECT file, line, field, reason, raw FROM quarantine")
        .unwrap()
        .query_map([], |r| {
            Ok(serde_json::json!([
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?
            ]))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    quarantine.sort_by_key(|v| v.to_string());
    let observations: i64 = db
        .query_row("SELECT COUNT(*) FROM observation", [], |r| r.get(0))
        .unwrap();
    serde_json::json!({
        "findings": findings,
        "observations": observations,
        "quarantine": quarantine,
    })
}

/// Removes what differs between two stores of the same rows: ids, times of storing, each
/// ingest's observation time, and the line an observation was read from (of two rows of
/// the same observation in one file, the part stored first keeps its row, which need not
/// be the earlier one; the event read from it is compared all the same).
fn strip_ids(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for key in [
                "id",
                "run",
                "chunk",
                "row",
                "at",
                "finding",
                "time.observation",
                "line",
            ] {
                map.remove(key);
            }
            map.values_mut().for_each(strip_ids);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_ids),
        _ => {}
    }
}

/// Asserts that two stores hold the same, showing the first difference.
fn assert_same(there: &Path, here: &Path) {
    let (a, b) = (contents(there), contents(here));
    if a != b {
        let (fa, fb) = (
            a["findings"].as_array().unwrap(),
            b["findings"].as_array().unwrap(),
        );
        let first = fa.iter().zip(fb).find(|(x, y)| x != y);
        panic!(
            "the stores differ: {} and {} findings, {} and {} observations, {} and {} \
             quarantined; first differing finding:\n{first:#?}",
            fa.len(),
            fb.len(),
            a["observations"],
            b["observations"],
            a["quarantine"].as_array().unwrap().len(),
            b["quarantine"].as_array().unwrap().len(),
        );
    }
}

/// The counts of an ingest summary, which a local and a distributed ingest share.
fn counts(summary: &Value) -> Value {
    let mut v = summary.clone();
    v.as_object_mut().unwrap().remove("file");
    v
}

#[test]
fn two_workers_store_what_a_local_ingest_stores_and_a_rerun_stores_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let (here, there) = (dir.path().join("here"), dir.path().join("there"));
    let feed = world(dir.path(), &[&here, &there]);
    let queue = TestQueue::new("two");

    let local = ingest_here(&here, &feed);
    assert!(local["read"].as_u64().unwrap() > 100, "{local}");
    assert!(local["quarantined"].as_u64().unwrap() > 0, "{local}");
    assert!(local["duplicate"].as_u64().unwrap() > 0, "{local}");

    let _workers = Workers(vec![
        worker(&there, &queue, &[]),
        worker(&there, &queue, &[]),
    ]);
    let distributed = ingest_via(&there, queue.name(), &feed);
    assert_eq!(counts(&distributed), counts(&local));
    assert_same(&there, &here);

    // the coordinator run again (as after a kill): every row is there already
    let again = ingest_via(&there, queue.name(), &feed);
    assert_eq!(again["stored"].as_u64(), Some(0), "{again}");
    assert_eq!(again["new_findings"].as_u64(), Some(0), "{again}");
    assert_eq!(
        again["duplicate"],
        local["stored"].as_u64().unwrap() + local["duplicate"].as_u64().unwrap()
    );
    assert_eq!(again["quarantined"], local["quarantined"]);
    assert_same(&there, &here);
}

#[test]
fn a_killed_worker_and_a_chunk_delivered_twice_lose_and_duplicate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (here, there) = (dir.path().join("here"), dir.path().join("there"));
    let feed = world(dir.path(), &[&here, &there]);
    let queue = TestQueue::new("kill");
    let local = ingest_here(&here, &feed);

    // the coordinator publishes and waits; the first worker stores two parts and dies
    // before it reports or acknowledges the second, which is then delivered again
    let coordinator = {
        let (there, feed, name) = (there.clone(), feed.clone(), queue.name().to_string());
        std::thread::spawn(move || ingest_via(&there, &name, &feed))
    };
    let mut dying = worker(&there, &queue, &["--die-after-store", "2"]);
    let status = dying.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(3),
        "the worker stopped after its second part"
    );

    // the next worker is killed (SIGKILL) once it stored a part, wherever it is then
    let mut killed = worker(&there, &queue, &[]);
    let stderr = BufReader::new(killed.stderr.take().unwrap());
    for line in stderr.lines() {
        if line.unwrap().contains("part stored") {
            break;
        }
    }
    killed.kill().unwrap();
    killed.wait().unwrap();

    let _rest = Workers(vec![worker(&there, &queue, &[])]);
    let distributed = coordinator.join().unwrap();
    assert_eq!(counts(&distributed), counts(&local));
    assert_same(&there, &here);
}

#[test]
fn a_coordinator_killed_and_run_again_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (here, there) = (dir.path().join("here"), dir.path().join("there"));
    let feed = world(dir.path(), &[&here, &there]);
    let queue = TestQueue::new("coord");
    let local = ingest_here(&here, &feed);

    // the coordinator publishes every part and is killed (SIGKILL) while it waits: no
    // worker runs yet
    let mut coordinator = baken()
        .arg("--data")
        .arg(&there)
        .args(["ingest", "--via", NATS, "--queue", queue.name()])
        .args(["--part-rows", "20", s(&feed)])
        .env("RUST_LOG", "baken_work=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(coordinator.stderr.take().unwrap());
    let mut published = false;
    for line in stderr.lines() {
        if line.unwrap().contains("parts published") {
            published = true;
            break;
        }
    }
    assert!(
        published,
        "the coordinator says when it published the parts"
    );
    coordinator.kill().unwrap();
    coordinator.wait().unwrap();

    // workers store the abandoned run's parts while the coordinator, run again, hands out
    // the file once more: each row ends up stored once, in one run or the other
    let _workers = Workers(vec![
        worker(&there, &queue, &[]),
        worker(&there, &queue, &[]),
    ]);
    let again = ingest_via(&there, queue.name(), &feed);
    assert_eq!(again["read"], local["read"]);
    let seen = |v: &Value| v["stored"].as_u64().unwrap() + v["duplicate"].as_u64().unwrap();
    assert_eq!(seen(&again), seen(&local), "{again}");
    assert_eq!(again["quarantined"], local["quarantined"]);
    assert_same(&there, &here);
}

#[test]
fn a_part_its_workers_die_on_ends_the_coordinator_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let there = dir.path().join("there");
    let feed = world(dir.path(), &[&there]);
    let queue = TestQueue::new("dies");

    // one part, which every worker dies on as soon as it has it: twice, as often as the
    // consumer allows
    let mut coordinator = baken()
        .arg("--data")
        .arg(&there)
        .args(["ingest", "--via", NATS, "--queue", queue.name()])
        .args(["--part-rows", "100000", s(&feed)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the workers start once the part waits in the stream
    let started = std::time::Instant::now();
    loop {
        let status = baken()
            .args(["worker", "--via", NATS, "--queue", queue.name(), "--status"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&status.stdout).contains(": 1 chunks not yet stored") {
            break;
        }
        if coordinator.try_wait().unwrap().is_some() {
            let out = coordinator.wait_with_output().unwrap();
            panic!(
                "the coordinator ended before it published its part: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the part was not published within two minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for _ in 0..2 {
        let mut dying = worker(
            &there,
            &queue,
            &["--die-before-store", "--max-deliver", "2"],
        );
        // the worker ends when it has the part; a coordinator that ended first never
        // published it, and says why
        let status = loop {
            if let Some(status) = dying.try_wait().unwrap() {
                break status;
            }
            if coordinator.try_wait().unwrap().is_some() {
                let _ = dying.kill();
                let out = coordinator.wait_with_output().unwrap();
                panic!(
                    "the coordinator ended before the workers died on its part: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert_eq!(status.code(), Some(3));
    }
    // the server gives up on the part when a worker next asks for work
    let _asking = Workers(vec![worker(&there, &queue, &[])]);
    // (a coordinator that never learns of it would wait for ever: it is stopped after five
    // minutes, which fails the test)
    let started = std::time::Instant::now();
    while coordinator.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(300) {
            coordinator.kill().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = coordinator.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("part 0: delivered as often as the workers' consumer allows"),
        "{stderr}"
    );
}

/// What a store says was sent, as a local and a distributed notify must leave it alike:
/// each message (without its ticket number and times, which follow the order recipients
/// were served in), what each carried, and the audit log's entries by kind and subject
/// (decisions with their whole bodies).
fn sent(data: &Path) -> Value {
    use baken_store::{AuditStore, FindingStore, MessageStore};
    let store = SqliteStore::open(data).unwrap();
    let mut messages: Vec<Value> = store
        .messages(None)
        .unwrap()
        .into_iter()
        .map(|m| {
            serde_json::json!([
                m.key,
                m.round,
                m.kind.as_str(),
                m.incident,
                m.recipient,
                m.party,
                m.path,
                m.findings,
                m.state.as_str()
            ])
        })
        .collect();
    messages.sort_by_key(|v| v.to_string());
    let mut carried: Vec<Value> = Vec::new();
    for (incident, _) in store.incidents().unwrap() {
        for d in store.disclosures(&incident).unwrap() {
            carried.push(serde_json::json!([d.message, d.finding, d.form]));
        }
    }
    carried.sort_by_key(|v| v.to_string());
    let mut audit: Vec<Value> = store
        .audit_log()
        .unwrap()
        .into_iter()
        .map(|e| {
            if e.kind == "decision" {
                serde_json::json!([e.kind, e.subject, e.body])
            } else {
                serde_json::json!([e.kind, e.subject])
            }
        })
        .collect();
    audit.sort_by_key(|v| v.to_string());
    serde_json::json!({ "messages": messages, "carried": carried, "audit": audit })
}

/// The outbox's messages by file name.
fn outbox(data: &Path) -> Vec<String> {
    common::files_with(&data.join("outbox"), "eml")
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// What `notify --json` printed, without what follows the order recipients were served in
/// (ticket numbers) or where the outbox is.
fn outcome(json: &str) -> Value {
    let mut v: Value = serde_json::from_str(json).expect("notify --json prints JSON");
    for incident in v.as_array_mut().unwrap() {
        let digests = incident["digests"].as_array_mut().unwrap();
        for d in digests.iter_mut() {
            let d = d.as_object_mut().unwrap();
            d.remove("ticket");
            d.remove("detail");
        }
        digests.sort_by_key(|d| d["key"].to_string());
    }
    v
}

/// Where two JSON values first differ: the path, and each side there.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                first_difference(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                )
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, &format!("{path}[{i}]"))),
        (Value::Array(x), Value::Array(y)) => {
            let only = |x: &Vec<Value>, y: &Vec<Value>| -> Vec<String> {
                x.iter()
                    .filter(|v| !y.contains(v))
                    .map(|v| v.to_string().chars().take(400).collect())
                    .collect()
            };
            Some(format!(
                "at {path}: {} and {} items; only in the first: {:#?}; only in the second: {:#?}",
                x.len(),
                y.len(),
                only(x, y),
                only(y, x)
            ))
        }
        _ if a == b => None,
        _ => {
            let cut = |v: &Value| v.to_string().chars().take(600).collect::<String>();
            Some(format!("at {path}:\n  {}\n  {}", cut(a), cut(b)))
        }
    }
}

/// Asserts that `a` (distributed) and `b` (local) are equal, showing where they differ.
fn assert_json_eq(a: &Value, b: &Value, what: &str) {
    if let Some(d) = first_difference(a, b, what) {
        panic!("{what} differ {d}");
    }
}

/// Two installations with the same registry, feed and pseudonym key, the feed ingested
/// here in each.
fn notify_world(dir: &Path) -> (PathBuf, PathBuf) {
    let (here, there) = (dir.join("here"), dir.join("there"));
    let feed = world(dir, &[&here, &there]);
    ingest_here(&here, &feed);
    ingest_here(&there, &feed);
    for data in [&here, &there] {
        std::fs::write(data.join("pseudonym.key"), [7u8; 32]).unwrap();
    }
    (here, there)
}

/// The ack wait of workers whose notify outcomes are compared.
const NOTIFY_ACK_WAIT: &[&str] = &["--ack-wait", "20"];

fn notify_via(data: &Path, queue: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "notify",
        "--json",
        "--via",
        NATS,
        "--queue",
        queue,
        "--parties-per-job",
        "3",
    ];
    args.extend_from_slice(extra);
    run_ok(data, &args)
}

#[test]
fn two_workers_send_what_a_local_notify_sends_and_a_rerun_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (here, there) = notify_world(dir.path());
    let queue = TestQueue::new("notify");

    let local = outcome(&run_ok(&here, &["notify", "--json"]));
    let messages = outbox(&here);
    assert!(messages.len() > 20, "{} messages", messages.len());

    // a job goes to a second worker only when its first stopped answering for it for 20 s
    // (a worker says it is still at work after each recipient): the outcomes of this run
    // are then the first worker's
    let _workers = Workers(vec![
        worker(&there, &queue, NOTIFY_ACK_WAIT),
        worker(&there, &queue, NOTIFY_ACK_WAIT),
    ]);
    let distributed = outcome(&notify_via(&there, queue.name(), &[]));
    assert_json_eq(&distributed, &local, "outcomes");
    assert_eq!(outbox(&there), messages);
    assert_json_eq(&sent(&there), &sent(&here), "stores");

    // run again: every recipient was told, nothing goes out twice
    let again = outcome(&notify_via(&there, queue.name(), &[]));
    let now: usize = again
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["digests"].as_array().unwrap())
        .filter(|d| d["delivered_now"] == true)
        .count();
    assert_eq!(now, 0, "{again:#}");
    assert_eq!(outbox(&there), messages);
    assert_json_eq(&sent(&there), &sent(&here), "stores");
}

#[test]
fn a_notify_worker_killed_after_sending_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (here, there) = notify_world(dir.path());
    let queue = TestQueue::new("notify-kill");
    run_ok(&here, &["notify"]);

    // the coordinator waits; the first worker delivers one job and dies before it reports
    // or acknowledges it, so the job goes to the next worker, which finds it sent
    let coordinator = {
        let (there, name) = (there.clone(), queue.name().to_string());
        std::thread::spawn(move || notify_via(&there, &name, &[]))
    };
    let mut dying = worker(&there, &queue, &["--die-after-store", "1"]);
    assert_eq!(dying.wait().unwrap().code(), Some(3));
    // the next one is killed (SIGKILL) once it has done a job, wherever it is then; its
    // job comes back two seconds later
    let mut killed = worker(&there, &queue, &[]);
    let stderr = BufReader::new(killed.stderr.take().unwrap());
    for line in stderr.lines() {
        if line.unwrap().contains("notify job done") {
            break;
        }
    }
    killed.kill().unwrap();
    killed.wait().unwrap();
    let _rest = Workers(vec![worker(&there, &queue, &[])]);
    coordinator.join().unwrap();
    assert_eq!(outbox(&there), outbox(&here));
    assert_json_eq(&sent(&there), &sent(&here), "stores");
}

#[test]
fn a_worker_with_another_pseudonym_key_refuses_the_round() {
    let dir = tempfile::tempdir().unwrap();
    let (_, there) = notify_world(dir.path());
    let elsewhere = dir.path().join("elsewhere");
    // the same store, another data directory: another pseudonym key
    std::fs::create_dir_all(&elsewhere).unwrap();
    let queue = TestQueue::new("notify-key");
    let _workers = Workers(vec![worker(
        &elsewhere,
        &queue,
        &[
            "--store",
            &format!("sqlite:{}", s(&there.join("baken.db"))),
            "--max-deliver",
            "1",
        ],
    )]);
    let out = baken()
        .arg("--data")
        .arg(&there)
        .args(["notify", "--via", NATS, "--queue", queue.name()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("pseudonym key"), "{stderr}");
    assert!(outbox(&there).is_empty(), "nothing was sent");
}

/// Starts `args` (a coordinator) on `data` and returns it once its log says `published`,
/// with the rest of its log as it comes.
fn published(
    data: &Path,
    args: &[&str],
    published: &str,
) -> (Child, std::thread::JoinHandle<String>) {
    let mut coordinator = baken()
        .arg("--data")
        .arg(data)
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(coordinator.stderr.take().unwrap());
    let mut lines = stderr.lines();
    let seen = lines.by_ref().any(|l| l.unwrap().contains(published));
    assert!(seen, "the coordinator says {published:?}");
    // the rest of its log is read as it comes, so that it never waits on a full pipe
    let rest = std::thread::spawn(move || lines.map(|l| l.unwrap() + "\n").collect());
    (coordinator, rest)
}

#[test]
fn parts_and_results_a_nats_server_lost_are_published_again() {
    let dir = tempfile::tempdir().unwrap();
    let (here, there) = (dir.path().join("here"), dir.path().join("there"));
    let feed = world(dir.path(), &[&here, &there]);
    let queue = TestQueue::new("lost");
    let local = ingest_here(&here, &feed);

    // every part published, then the server loses its JetStream store (the queue's streams
    // deleted, parts and all) before any worker took one
    let (coordinator, log) = published(
        &there,
        &[
            "ingest",
            "--json",
            "--via",
            NATS,
            "--queue",
            queue.name(),
            "--part-rows",
            "20",
            s(&feed),
        ],
        "parts published",
    );
    queue.0.delete().unwrap();
    let _workers = Workers(vec![worker(&there, &queue, &[])]);
    let out = coordinator.wait_with_output().unwrap();
    let log = log.join().unwrap();
    assert!(out.status.success(), "the coordinator ends well: {log}");
    assert!(log.contains("publishing them again"), "{log}");
    let distributed: Value =
        serde_json::from_slice::<Value>(&out.stdout).expect("ingest --json prints JSON")[0].clone();
    assert_eq!(counts(&distributed), counts(&local));
    assert_same(&there, &here);
}

#[test]
fn a_notify_round_a_nats_server_lost_is_published_again() {
    let dir = tempfile::tempdir().unwrap();
    let (here, there) = notify_world(dir.path());
    let queue = TestQueue::new("notify-lost");
    run_ok(&here, &["notify"]);

    // the round and its jobs published, then lost with the server's JetStream store
    let (coordinator, log) = published(
        &there,
        &["notify", "--via", NATS, "--queue", queue.name()],
        "notify jobs published",
    );
    queue.0.delete().unwrap();
    let _workers = Workers(vec![worker(&there, &queue, NOTIFY_ACK_WAIT)]);
    let out = coordinator.wait_with_output().unwrap();
    let log = log.join().unwrap();
    assert!(out.status.success(), "the coordinator ends well: {log}");
    assert!(log.contains("publishing it again"), "{log}");
    assert_eq!(outbox(&there), outbox(&here));
    assert_json_eq(&sent(&there), &sent(&here), "stores");
}

#[test]
fn a_queue_is_deleted_only_when_no_work_waits_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let there = dir.path().join("there");
    let feed = world(dir.path(), &[&there]);
    let queue = TestQueue::new("delete");
    let status = || {
        let out = baken()
            .args(["worker", "--via", NATS, "--queue", queue.name(), "--status"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    // parts published and no worker: the queue holds work, and is not deleted
    let (mut coordinator, _log) = published(
        &there,
        &[
            "ingest",
            "--via",
            NATS,
            "--queue",
            queue.name(),
            "--part-rows",
            "100",
            s(&feed),
        ],
        "parts published",
    );
    assert!(!status().contains(": 0 chunks"), "{}", status());
    let refused = baken()
        .args([
            "worker",
            "--via",
            NATS,
            "--queue",
            queue.name(),
            "--delete-queue",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("still wait in the queue"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // the parts stored, the queue goes
    let _workers = Workers(vec![worker(&there, &queue, &[])]);
    assert!(coordinator.wait().unwrap().success());
    let deleted = baken()
        .args([
            "worker",
            "--via",
            NATS,
            "--queue",
            queue.name(),
            "--delete-queue",
        ])
        .output()
        .unwrap();
    assert!(
        deleted.status.success(),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    assert!(
        status().contains(": 0 chunks not yet stored"),
        "{}",
        status()
    );
}
