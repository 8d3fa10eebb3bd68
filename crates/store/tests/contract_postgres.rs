//! The store contract (`baken_store::contract`) on the PostgreSQL store: every check of each
//! part it has on a fresh database of its own, on the server `$BAKEN_TEST_POSTGRES` names
//! (default: the local one). Then what only a server shared by several processes can get
//! wrong: an audit log that refuses changes from any client, and records written by
//! concurrent processes at the same moment.

use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use baken_store::audit::{self, NewAuditEntry};
use baken_store::contract;
use baken_store::postgres::testing::TempDatabase;
use baken_store::prelude::*;
use baken_store::{MessageKind, MessageRecord, MessageState, PostgresStore, StoreError};

fn fresh(name: &str) -> (TempDatabase, PostgresStore) {
    let db = TempDatabase::new(name)
        .unwrap_or_else(|e| panic!("{name}: a test database (BAKEN_TEST_POSTGRES): {e}"));
    let store = db
        .store()
        .unwrap_or_else(|e| panic!("{name}: the store opens: {e}"));
    (db, store)
}

#[test]
fn the_postgres_store_keeps_the_contract() {
    // every check of every part, each on a fresh database of its own, kept until the check
    // and the engine's own checks are done
    let mut databases = Vec::new();
    let ran = contract::check_all(
        |name| {
            let (db, store) = fresh(name);
            databases.push(db);
            store
        },
        |name, store| {
            let head = store.audit_head().unwrap();
            let log = store.audit_log().unwrap();
            assert!(audit::verify(&log).is_ok(), "{name}: the audit chain");
            assert_eq!(
                head,
                log.last().map(|e| (e.seq, e.hash.clone())),
                "{name}: head"
            );
        },
    );
    assert_eq!(ran, contract::count());
}

fn client(db: &TempDatabase) -> postgres::Client {
    postgres::Client::connect(db.url(), postgres::NoTls).expect("a plain client connects")
}

fn entry(writer: usize, n: usize) -> NewAuditEntry {
    NewAuditEntry {
        kind: "test".into(),
        subject: format!("writer-{writer}"),
        body: serde_json::json!({ "n": n }).to_string(),
    }
}

/// Runs `work(i, store)` on `n` threads at once, each with a store (a pool) of its own, as
/// `n` processes on one database would.
fn at_once<T: Send + 'static>(
    db: &TempDatabase,
    n: usize,
    work: impl Fn(usize, &mut PostgresStore) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let work = Arc::new(work);
    let start = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let mut store = db.store().expect("the store opens");
            let (work, start) = (work.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                work(i, &mut store)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn the_audit_log_refuses_changes_from_any_client() {
    let (db, mut store) = fresh("audit_refuses");
    store.append_audit(&[entry(0, 0), entry(0, 1)]).unwrap();
    let mut psql = client(&db);
    for sql in [
        "UPDATE audit SET subject = 'someone else' WHERE seq = 1",
        "DELETE FROM audit WHERE seq = 2",
        "TRUNCATE audit",
    ] {
        let err = psql.batch_execute(sql).expect_err(sql);
        assert!(
            err.as_db_error()
                .is_some_and(|e| e.message().contains("audit is append-only")),
            "{sql}: {err}"
        );
    }
    let log = store.audit_log().unwrap();
    assert_eq!(log.len(), 2, "nothing changed");
    assert_eq!(audit::verify(&log).unwrap().entries, 2);
}

#[test]
fn concurrent_writers_make_one_audit_chain() {
    const WRITERS: usize = 4;
    const APPENDS: usize = 25;
    let (db, store) = fresh("audit_concurrent");
    at_once(&db, WRITERS, |w, store| {
        for n in 0..APPENDS {
            // one entry, or two in one transaction
            let entries: Vec<_> = (0..=n % 2).map(|k| entry(w, 2 * n + k)).collect();
            store.append_audit(&entries).unwrap();
        }
    });
    let log = store.audit_log().unwrap();
    let per_writer = (0..APPENDS).map(|n| n % 2 + 1).sum::<usize>();
    let verified = audit::verify(&log).unwrap_or_else(|e| panic!("one chain: {e}"));
    assert_eq!(verified.entries as usize, WRITERS * per_writer);
    let written: HashSet<(String, String)> = log
        .iter()
        .map(|e| (e.subject.clone(), e.body.clone()))
        .collect();
    for w in 0..WRITERS {
        for n in 0..APPENDS {
            for k in 0..=n % 2 {
                let body = serde_json::json!({ "n": 2 * n + k }).to_string();
                assert!(
                    written.contains(&(format!("writer-{w}"), body.clone())),
                    "entry {body} of writer {w} is in the log"
                );
            }
        }
    }
}

fn message(key: &str, ticket: i64) -> MessageRecord {
    MessageRecord {
        key: key.into(),
        ticket: Some(ticket),
        round: 1,
        kind: MessageKind::First,
        incident: "open-http".into(),
        recipient: "soc@org-1.example".into(),
        party: "org-1".into(),
        path: "organisation".into(),
        findings: 1,
        state: MessageState::Pending,
        detail: None,
        created_at: baken_store::now(),
        sent_at: None,
    }
}

#[test]
fn processes_recording_at_once_store_one_ticket_message_delivery_and_report() {
    const PROCESSES: usize = 4;
    let (db, mut store) = fresh("at_once");
    let hook = store
        .add_webhook("org-1", "https://org-1.example/hook", "whsec_test")
        .unwrap();
    let answers = at_once(&db, PROCESSES, move |i, store| {
        let ticket = store.ticket("open-http", "org-1").unwrap();
        let carried = [baken_store::MessageFinding {
            finding: i as i64 + 1,
            form: "full".into(),
        }];
        let recorded = store
            .record_message(&message("open-http/org-1/1", ticket), &carried)
            .unwrap();
        let queued = store
            .enqueue_webhook_event(hook, "evt-1", &format!("{{\"from\":{i}}}"))
            .unwrap();
        let filed = store
            .add_report_stage(&baken_store::NewReportStage {
                organisation: "org-1".into(),
                reference: "R-1".into(),
                stage: "early-warning".into(),
                by: "org-1 (API)".into(),
                tlp: "AMBER".into(),
                body: "{}".into(),
            })
            .unwrap();
        (ticket, recorded, queued, filed)
    });
    let tickets: HashSet<i64> = answers.iter().map(|a| a.0).collect();
    assert_eq!(tickets.len(), 1, "one ticket: {tickets:?}");
    assert!(
        answers.iter().all(|a| a.1 == answers[0].1),
        "every process reads back the one message stored"
    );
    assert_eq!(store.messages(None).unwrap().len(), 1);
    assert_eq!(
        store.message_findings("open-http/org-1/1").unwrap().len(),
        1,
        "the findings of the one record that was stored"
    );
    assert_eq!(answers.iter().filter(|a| a.2).count(), 1, "queued once");
    assert_eq!(store.due_webhook_events(0, 10).unwrap().len(), 1);
    assert_eq!(
        answers.iter().filter(|a| a.3.is_some()).count(),
        1,
        "filed once"
    );
    assert_eq!(store.report_stages().unwrap().len(), 1);
    assert_eq!(store.audit_log().unwrap().len(), 1, "audited once");
}

/// `r` is the error naming the message `k`'s `column` and its `value`.
#[track_caller]
fn assert_unreadable<T: std::fmt::Debug>(r: baken_store::Result<T>, column: &str, value: &str) {
    match r {
        Err(StoreError::Corrupt { detail, .. }) => {
            let named = format!("table message, row key \"k\", column {column}: {value:?}");
            assert!(detail.contains(&named), "{detail:?} names {named:?}");
        }
        other => panic!("expected a corrupt message {column}, got {other:?}"),
    }
}

#[test]
fn an_unreadable_message_state_or_kind_is_an_error_not_a_default() {
    let (db, mut store) = fresh("unreadable");
    let ticket = store.ticket("open-http", "org-1").unwrap();
    store.record_message(&message("k", ticket), &[]).unwrap();
    let mut psql = client(&db);
    psql.batch_execute("UPDATE message SET state = 'sent?' WHERE key = 'k'")
        .unwrap();
    assert_unreadable(store.message("k"), "state", "sent?");
    assert_unreadable(store.messages(None), "state", "sent?");
    assert_unreadable(store.ticket_messages(ticket), "state", "sent?");
    assert_unreadable(store.message_states(), "state", "sent?");
    assert_unreadable(
        store.record_message(&message("k", ticket), &[]),
        "state",
        "sent?",
    );
    psql.batch_execute("UPDATE message SET state = 'sent', kind = 'nudge' WHERE key = 'k'")
        .unwrap();
    assert_unreadable(store.message("k"), "kind", "nudge");
    assert_unreadable(store.messages(Some("open-http")), "kind", "nudge");
}
