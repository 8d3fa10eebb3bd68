//! The checks of [`AuditStore`]: a chained, append-only log, decisions with their digests,
//! the head and signed checkpoints.

use crate::{AuditStore, now};

/// One check of [`AuditStore`], on a fresh, empty store.
pub type Check = fn(&mut dyn AuditStore);

/// The checks of [`AuditStore`], by name.
pub const CHECKS: &[(&str, Check)] = &[
    (
        "the_audit_log_is_chained_in_the_order_written",
        the_audit_log_is_chained_in_the_order_written,
    ),
    (
        "decisions_are_audited_with_what_was_written",
        decisions_are_audited_with_what_was_written,
    ),
    (
        "the_audit_head_and_checkpoints_are_kept",
        the_audit_head_and_checkpoints_are_kept,
    ),
];

fn decisions_are_audited_with_what_was_written(store: &mut dyn AuditStore) {
    let entry = |n: u32| crate::audit::NewAuditEntry {
        kind: "decision".into(),
        subject: format!("i/org-1/cert-{n}"),
        body: serde_json::json!({ "n": n }).to_string(),
    };
    let mark =
        |n: u32, digest: &str| ("org-1".to_string(), format!("cert-{n}"), digest.to_string());
    store
        .append_decisions("i", &[entry(1), entry(2)], &[mark(1, "a"), mark(2, "b")])
        .unwrap();
    store
        .append_decisions("i", &[entry(1)], &[mark(1, "c")])
        .unwrap();
    let digests = store.decision_digests("i").unwrap();
    assert_eq!(digests.len(), 2);
    assert_eq!(digests[&("org-1".to_string(), "cert-1".to_string())], "c");
    assert!(store.decision_digests("other").unwrap().is_empty());
    assert_eq!(store.audit_log().unwrap().len(), 3);
    assert!(crate::audit::verify(&store.audit_log().unwrap()).is_ok());
}

fn the_audit_head_and_checkpoints_are_kept(store: &mut dyn AuditStore) {
    use crate::audit::{self, Checkpoint, NewAuditEntry};
    assert_eq!(store.audit_head().unwrap(), None);
    let entry = |i: i64| NewAuditEntry {
        kind: "decision".into(),
        subject: format!("s{i}"),
        body: serde_json::json!({ "i": i }).to_string(),
    };
    store.append_audit(&[entry(1), entry(2)]).unwrap();
    let log = store.audit_log().unwrap();
    assert_eq!(
        store.audit_head().unwrap(),
        Some((2, log[1].hash.clone())),
        "the head is the last entry"
    );
    let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
    let first = Checkpoint::sign(&key, &audit::head(&log), &now());
    store.add_audit_checkpoint(&first).unwrap();
    store.append_audit(&[entry(3)]).unwrap();
    let log = store.audit_log().unwrap();
    let second = Checkpoint::sign(&key, &audit::head(&log), &now());
    store.add_audit_checkpoint(&second).unwrap();
    let kept = store.audit_checkpoints().unwrap();
    assert_eq!(kept, [first, second], "kept as made, in order");
    for (n, c) in kept.iter().enumerate() {
        audit::check_checkpoint(&log, c, n + 1).unwrap();
    }
}

fn the_audit_log_is_chained_in_the_order_written(store: &mut dyn AuditStore) {
    use crate::audit::{self, GENESIS, NewAuditEntry};
    assert!(store.audit_log().unwrap().is_empty());
    let entry = |i: i64| NewAuditEntry {
        kind: "delivery".into(),
        subject: format!("message/k{i}"),
        body: serde_json::json!({ "i": i }).to_string(),
    };
    store.append_audit(&[entry(1), entry(2)]).unwrap();
    store.append_audit(&[]).unwrap();
    store.append_audit(&[entry(3)]).unwrap();
    let log = store.audit_log().unwrap();
    let seqs: Vec<i64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        [1, 2, 3],
        "numbered from 1, nothing for an empty append"
    );
    let subjects: Vec<&str> = log.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(subjects, ["message/k1", "message/k2", "message/k3"]);
    assert_eq!(log[0].prev_hash, GENESIS);
    assert_eq!(log[2].prev_hash, log[1].hash, "chained across transactions");
    assert_eq!(log[2].body, r#"{"i":3}"#, "the body as written");
    let verified = audit::verify(&log).unwrap();
    assert_eq!(verified.entries, 3);
    assert_eq!(verified.head, log[2].hash);
}
