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

    // A second run delivers nothing new; its decisions are logged again, as made.
    run_ok(&data, &["notify", "--incident", "cve-2019-19781"]);
    let again = run_ok(&data, &["audit", "export"]);
    let new_deliveries = again
        .lines()
        .skip(entries.len())
        .filter(|l| l.contains("\"kind\":\"delivery\""))
        .count();
    assert_eq!(new_deliveries, 0, "nothing delivered twice");
    assert!(again.lines().count() > entries.len());
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
