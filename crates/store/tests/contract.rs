//! The store contract (`baken_store::contract`) on the embedded SQLite store, on disk and in
//! memory: every check of every part on a fresh store of its own.

use baken_store::SqliteStore;
use baken_store::contract;

#[test]
fn the_sqlite_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let ran = contract::check_all(
        |name| {
            SqliteStore::open(&dir.path().join(name.replace('/', "-")))
                .unwrap_or_else(|e| panic!("{name}: the store opens: {e}"))
        },
        |name, store| {
            assert_eq!(
                store.integrity_check().unwrap(),
                Ok(()),
                "{name}: integrity"
            )
        },
    );
    assert_eq!(ran, contract::count());
}

#[test]
fn the_in_memory_store_keeps_the_contract() {
    let ran = contract::check_all(
        |name| SqliteStore::in_memory().unwrap_or_else(|e| panic!("{name}: the store opens: {e}")),
        |name, store| {
            assert_eq!(
                store.integrity_check().unwrap(),
                Ok(()),
                "{name}: integrity"
            )
        },
    );
    assert_eq!(ran, contract::count());
}

#[test]
fn every_part_has_checks() {
    for (part, n) in [
        ("registry", contract::REGISTRY.len()),
        ("findings", contract::FINDINGS.len()),
        ("messages", contract::MESSAGES.len()),
        ("advisories", contract::ADVISORIES.len()),
        ("inventory", contract::INVENTORY.len()),
        ("audit", contract::AUDIT.len()),
        ("timeline", contract::TIMELINE.len()),
        ("sync state", contract::SYNC_STATE.len()),
        ("tokens", contract::TOKENS.len()),
        ("webhooks", contract::WEBHOOKS.len()),
        ("incident reports", contract::INCIDENT_REPORTS.len()),
    ] {
        assert!(n > 0, "{part} has no checks");
    }
}

#[test]
fn in_memory_stores_are_each_their_own() {
    use baken_store::prelude::*;
    let mut a = SqliteStore::in_memory().unwrap();
    let b = SqliteStore::in_memory().unwrap();
    a.put_sync_state("csaf", "{}").unwrap();
    assert_eq!(b.sync_state("csaf").unwrap(), None);
    assert_eq!(a.path(), std::path::Path::new(":memory:"));
}
