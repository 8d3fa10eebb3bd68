//! The store contract (`baken_store::contract`) on the embedded SQLite store: every check on
//! a fresh store of its own.

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
