//! The audit log after a notify run: sound, exportable, and tampering is named.

mod common;

use common::{run, run_ok, s, small_world};

#[test]
fn notify_writes_a_verifiable_audit_log_and_tampering_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let g = small_world(&dir.path().join("input"), &data, 150);
    run_ok(&data, &["ingest", s(&g.feed)]);
    run_ok(&data, &["notify", "--incident", "cve-2019-19781"]);

    let ok = run_ok(&data, &["audit", "verify"]);
    assert!(ok.starts_with("audit log sound: "), "{ok}");
    let head = ok.trim().rsplit(' ').next().unwrap().to_string();
    let export = run_ok(&data, &["audit", "export"]);
    let entries: Vec<serde_json::Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let digests = std::fs::read_dir(data.join("outbox")).unwrap().count();
    let deliveries = entries.iter().filter(|e| e["kind"] == "delivery").count();
    assert_eq!(deliveries, digests, "one delivery entry per digest");
    // decisions refer to parties by id: host addresses are counted, not listed, and the
    // recipient's mail address is left to the delivery entry
    for e in entries.iter().filter(|e| e["kind"] == "decision") {
        let text = e["body"].as_str().unwrap();
        assert!(
            !text.contains("198.18.") && !text.contains("2001:db8"),
            "{text}"
        );
        let body: serde_json::Value = serde_json::from_str(text).unwrap();
        assert!(body["addresses"].is_u64(), "{text}");
        assert!(body.get("contact").is_none(), "{text}");
    }
    let decisions = entries.iter().filter(|e| e["kind"] == "decision").count();
    assert!(
        decisions > digests,
        "decisions include those to tell nobody"
    );
    assert_eq!(entries.last().unwrap()["hash"], head.as_str());

    // A second run delivers nothing new and decides as the first: it writes nothing.
    run_ok(&data, &["notify", "--incident", "cve-2019-19781"]);
    let again = run_ok(&data, &["audit", "export"]);
    let new_deliveries = again
        .lines()
        .skip(entries.len())
        .filter(|l| l.contains("\"kind\":\"delivery\""))
        .count();
    assert_eq!(new_deliveries, 0, "nothing delivered twice");
    assert_eq!(
        again.lines().count(),
        entries.len(),
        "the same decisions are not written again"
    );
    let ok = run_ok(&data, &["audit", "verify", "--head", &head]);
    assert!(
        ok.contains("appended since") || ok.contains("sound"),
        "{ok}"
    );

    // Edit entry 3 as someone with the database file could.
    let conn = rusqlite::Connection::open(data.join("baken.db")).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_no_update; UPDATE audit SET subject = 'someone-else' WHERE seq = 3;",
    )
    .unwrap();
    drop(conn);
    let bad = run(&data, &["audit", "verify"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("audit log broken at entry 3"), "{err}");
    assert!(err.contains("edited"), "{err}");
}

/// A notified world whose head was checkpointed; returns the data directory and a delivered
/// message.
fn notified_and_checkpointed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = dir.join("data");
    let g = small_world(&dir.join("input"), &data, 150);
    run_ok(&data, &["ingest", s(&g.feed)]);
    run_ok(&data, &["notify", "--incident", "cve-2019-19781"]);
    let out = run_ok(&data, &["audit", "checkpoint"]);
    assert!(out.starts_with("checkpoint of entry "), "{out}");
    let eml = common::files_with(&data.join("outbox"), "eml")
        .into_iter()
        .next()
        .expect("a delivered message");
    (data, eml)
}

/// The head a message carries, as `(seq, hash)`.
fn head_of(eml: &std::path::Path) -> (i64, String) {
    let raw = std::fs::read(eml).unwrap();
    let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let value = parsed
        .header_raw("X-Baken-Audit-Head")
        .expect("every message carries the audit head");
    let mut words = value.split_whitespace();
    let (seq, hash) = (words.next().unwrap(), words.next().unwrap());
    (
        seq.parse().unwrap_or_else(|_| panic!("{value:?}")),
        hash.to_string(),
    )
}

fn verify_fails(data: &std::path::Path, args: &[&str]) -> String {
    let mut all = vec!["audit", "verify"];
    all.extend_from_slice(args);
    let out = run(data, &all);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "verify {args:?} passed: {err}");
    err
}

/// Deleting the last entries leaves a sound chain; the checkpoint and the head a recipient
/// holds still find it.
#[test]
fn truncation_is_found_by_a_checkpoint_and_by_a_recipients_witness() {
    let dir = tempfile::tempdir().unwrap();
    let (data, eml) = notified_and_checkpointed(dir.path());
    let (seq, hash) = head_of(&eml);
    let export = run_ok(&data, &["audit", "export"]);
    let entry: serde_json::Value =
        serde_json::from_str(export.lines().nth(seq as usize - 1).unwrap()).unwrap();
    assert_eq!(
        entry["hash"],
        hash.as_str(),
        "the header names entry SEQ's hash"
    );
    let ok = run_ok(&data, &["audit", "verify", "--witness-eml", s(&eml)]);
    assert!(ok.contains("1 checkpoints and 1 witnesses hold"), "{ok}");

    let conn = rusqlite::Connection::open(data.join("baken.db")).unwrap();
    conn.execute_batch(&format!(
        "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq >= {seq};"
    ))
    .unwrap();
    drop(conn);
    let err = verify_fails(&data, &[]);
    assert!(err.contains("truncated below checkpoint 1"), "{err}");
    let err = verify_fails(&data, &["--witness", &format!("{seq}:{hash}")]);
    assert!(err.contains("truncated below the witness"), "{err}");
    let err = verify_fails(&data, &["--witness-eml", s(&eml)]);
    assert!(err.contains("truncated below the witness"), "{err}");
}

/// Rewriting an entry and recomputing every hash after it leaves a sound chain; the
/// checkpoint and the head a recipient holds still find it.
#[test]
fn a_rewritten_log_is_found_by_a_checkpoint_and_by_a_recipients_witness() {
    let dir = tempfile::tempdir().unwrap();
    let (data, eml) = notified_and_checkpointed(dir.path());
    let (seq, _) = head_of(&eml);
    let conn = rusqlite::Connection::open(data.join("baken.db")).unwrap();
    conn.execute_batch("DROP TRIGGER audit_no_update;").unwrap();
    let entries: Vec<(i64, String, String, String, String)> = conn
        .prepare("SELECT seq, at, kind, subject, body FROM audit ORDER BY seq")
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut prev = baken_store::audit::GENESIS.to_string();
    for (n, at, kind, mut subject, body) in entries {
        if n == 1 {
            subject = "someone-else".into();
        }
        let hash = baken_store::audit::entry_hash(&prev, n, &at, &kind, &subject, &body);
        conn.execute(
            "UPDATE audit SET subject = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
            rusqlite::params![subject, prev, hash, n],
        )
        .unwrap();
        prev = hash;
    }
    drop(conn);
    let err = verify_fails(&data, &[]);
    assert!(err.contains("rewritten since checkpoint 1"), "{err}");
    assert!(!err.contains("broken"), "the chain itself is sound: {err}");
    let err = verify_fails(&data, &["--witness-eml", s(&eml)]);
    assert!(
        err.contains(&format!("entry {seq} rewritten since the witness")),
        "{err}"
    );
}
