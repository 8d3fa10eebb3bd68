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

fn worker(data: &Path, queue: &TestQueue, extra: &[&str]) -> Child {
    baken()
        .arg("--data")
        .arg(data)
        .args(["worker", "--via", NATS, "--queue", queue.name()])
        .args(["--idle-exit", "600", "--ack-wait", "2"])
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
