//! A stored value that baken does not write is read as [`StoreError::Corrupt`] naming the
//! table, row, column and value, never as a default: a message state read as `pending` would
//! send a message again, a finding state read as `open` would tell its owner again. One test
//! per stored enum, each writing a bad value with raw SQL as a hand edit (or a newer release)
//! would.

use std::sync::Arc;

use super::*;
use crate::{MessageKind, MessageRecord};

fn store() -> SqliteStore {
    SqliteStore::in_memory().unwrap()
}

fn set(s: &SqliteStore, sql: &str) {
    assert_eq!(
        s.conn.execute(sql, []).unwrap(),
        1,
        "{sql}: one row changed"
    );
}

/// `r` is the error naming `what`, and `table`, `row`, `column` and `value` in its detail.
#[track_caller]
fn assert_unreadable<T: std::fmt::Debug>(
    r: Result<T>,
    what: &str,
    (table, row, column): (&str, &str, &str),
    value: &str,
) {
    match r {
        Err(StoreError::Corrupt { what: w, detail }) => {
            assert_eq!(w, what, "{detail}");
            let named = format!("table {table}, row {row}, column {column}: {value:?}");
            assert!(detail.contains(&named), "{detail:?} names {named:?}");
        }
        other => panic!("expected a corrupt {what}, got {other:?}"),
    }
}

/// One finding (incident `i`, 198.18.0.1:443/tcp, owned by `org-1` by prefix) in run 1.
fn with_finding(s: &mut SqliteStore) -> i64 {
    let mut e = Event::new();
    e.insert("source.ip", "198.18.0.1");
    e.insert("source.port", 443u16);
    e.insert("protocol.transport", "tcp");
    e.insert("time.source", "2026-03-24T06:00:00+00:00");
    let attribution = baken_model::Attribution {
        owner: baken_model::Owner::Organisation {
            id: baken_model::OrgId("org-1".into()),
        },
        rule: baken_model::Rule::Prefix,
        reason: String::new(),
    };
    let incidents: Arc<[String]> = Arc::new(["i".to_string()]);
    let observed = vec![Observed::of(&e, 0, &attribution, incidents)];
    let run = s
        .begin_run("f.csv", &RunSource::default(), &Label::default())
        .unwrap();
    let batch = Batch {
        chunks: vec![KeptChunk::events(1, &[&e], observed).unwrap()],
        quarantined: Vec::new(),
        part: None,
    };
    s.store_batch(run, &batch).unwrap();
    s.finding_records(&FindingQuery::default()).unwrap()[0].id
}

/// Message `k` (ticket of incident `i` and `org-1`), sent, carrying finding 1.
fn with_message(s: &mut SqliteStore) -> i64 {
    let ticket = s.ticket("i", "org-1").unwrap();
    let m = MessageRecord {
        key: "k".into(),
        ticket: Some(ticket),
        round: 1,
        kind: MessageKind::First,
        incident: "i".into(),
        recipient: "soc@org-1.example".into(),
        party: "org-1".into(),
        path: "organisation".into(),
        findings: 1,
        state: MessageState::Pending,
        detail: None,
        created_at: now(),
        sent_at: None,
    };
    let carried = [MessageFinding {
        finding: 1,
        form: "full".into(),
    }];
    s.record_message(&m, &carried).unwrap();
    s.set_message_state("k", MessageState::Sent, "outbox/k.eml")
        .unwrap();
    ticket
}

#[test]
fn an_unreadable_message_state_is_an_error_not_pending() {
    let mut s = store();
    let ticket = with_message(&mut s);
    set(&s, "UPDATE message SET state = 'sent?' WHERE key = 'k'");
    let at = ("message", "key \"k\"", "state");
    assert_unreadable(s.message("k"), "message state", at, "sent?");
    assert_unreadable(s.messages(None), "message state", at, "sent?");
    assert_unreadable(s.messages(Some("i")), "message state", at, "sent?");
    assert_unreadable(s.ticket_messages(ticket), "message state", at, "sent?");
    assert_unreadable(s.disclosures("i"), "message state", at, "sent?");
    // recording the message again (a rerun) reads the stored one back: an error too
    let again = s.conn.query_row(
        &format!("SELECT {MESSAGE_COLUMNS} FROM message WHERE key = 'k'"),
        [],
        message_from_row,
    );
    assert_unreadable(again.map_err(s.wrap()), "message state", at, "sent?");
}

#[test]
fn an_unreadable_message_kind_is_an_error_not_a_first_message() {
    let mut s = store();
    let ticket = with_message(&mut s);
    set(&s, "UPDATE message SET kind = 'nudge' WHERE key = 'k'");
    let at = ("message", "key \"k\"", "kind");
    assert_unreadable(s.message("k"), "message kind", at, "nudge");
    assert_unreadable(s.messages(None), "message kind", at, "nudge");
    assert_unreadable(s.ticket_messages(ticket), "message kind", at, "nudge");
}

#[test]
fn an_unreadable_finding_state_is_an_error_not_open() {
    let mut s = store();
    let id = with_finding(&mut s);
    set(&s, "UPDATE finding SET state = 'fixed'");
    let at = ("finding", &*id.to_string(), "state");
    assert_unreadable(
        s.finding_records(&FindingQuery::default()),
        "finding state",
        at,
        "fixed",
    );
    // a change asked for reads the state first: refused as corrupt, nothing recorded
    let change = Transition {
        finding: id,
        to: Some(FindingState::Notified),
        cause: Cause::Message,
        reference: None,
        by: None,
        note: None,
    };
    assert_unreadable(s.transition(&[change]), "finding state", at, "fixed");
    assert!(s.transitions(id).unwrap().is_empty());
    assert!(s.audit_log().unwrap().is_empty());
}

#[test]
fn an_unreadable_transition_is_an_error() {
    for (column, what, value) in [
        ("from_state", "finding state", "opened"),
        ("to_state", "finding state", "done"),
        ("cause", "cause", "rumour"),
    ] {
        let mut s = store();
        let id = with_finding(&mut s);
        let change = Transition {
            finding: id,
            to: Some(FindingState::Acknowledged),
            cause: Cause::Analyst,
            reference: None,
            by: Some("analyst@ncsc.example".into()),
            note: None,
        };
        s.transition(&[change]).unwrap();
        set(&s, &format!("UPDATE transition SET {column} = '{value}'"));
        let at = ("transition", "1", column);
        assert_unreadable(s.transitions(id), what, at, value);
        assert_unreadable(s.incident_transitions("i"), what, at, value);
    }
}

#[test]
fn an_unreadable_chunk_kind_is_an_error() {
    let mut s = store();
    with_finding(&mut s);
    set(&s, "UPDATE chunk SET kind = 'csv'");
    assert_unreadable(s.chunk(1), "chunk kind", ("chunk", "1", "kind"), "csv");
}

#[test]
fn an_unreadable_owner_is_an_error_not_unknown() {
    for (column, sql, value) in [
        ("owner_kind", "UPDATE finding SET owner_kind = 'org'", "org"),
        ("rule", "UPDATE finding SET rule = 'guess'", "guess"),
        (
            "owner",
            "UPDATE finding SET owner_kind = 'abuse', owner = 'abuse@'",
            "abuse@",
        ),
    ] {
        let mut s = store();
        let id = with_finding(&mut s);
        set(&s, sql);
        assert_unreadable(
            s.finding_records(&FindingQuery::default()),
            "finding owner",
            ("finding", &id.to_string(), column),
            value,
        );
    }
}

#[test]
fn an_unreadable_run_label_or_start_is_an_error_not_a_default() {
    let mut s = store();
    with_finding(&mut s);
    set(&s, "UPDATE ingest_run SET tlp = 'PURPLE'");
    assert_unreadable(s.run(1), "TLP label", ("ingest_run", "1", "tlp"), "PURPLE");
    // a run's start stands in for the time of rows without one: never the epoch
    set(&s, "UPDATE ingest_run SET started_at = 'yesterday'");
    assert_unreadable(
        s.store_batch(1, &Batch::default()),
        "run start",
        ("ingest_run", "1", "started_at"),
        "yesterday",
    );
}
