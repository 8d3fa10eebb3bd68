//! The store contract (`baken_store::contract`) on the embedded SQLite store, on disk and in
//! memory: every check on a fresh store of its own.

use baken_store::SqliteStore;
use baken_store::contract::CHECKS;

#[test]
fn the_sqlite_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (name, check)) in CHECKS.iter().enumerate() {
        let mut store = SqliteStore::open(&dir.path().join(i.to_string()))
            .unwrap_or_else(|e| panic!("{name}: the store opens: {e}"));
        check(&mut store);
        let integrity = store.integrity_check().unwrap();
        assert_eq!(integrity, Ok(()), "{name}: integrity");
    }
}

#[test]
fn the_in_memory_store_keeps_the_contract() {
    for (name, check) in CHECKS {
        let mut store =
            SqliteStore::in_memory().unwrap_or_else(|e| panic!("{name}: the store opens: {e}"));
        check(&mut store);
        assert_eq!(
            store.integrity_check().unwrap(),
            Ok(()),
            "{name}: integrity"
        );
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
