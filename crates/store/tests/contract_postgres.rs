//! The store contract (`baken_store::contract`) on the PostgreSQL store: every check of each
//! part it has on a fresh database of its own, on the server `$BAKEN_TEST_POSTGRES` names
//! (default: the local one).

use baken_store::contract;
use baken_store::postgres::testing::TempDatabase;

fn fresh(name: &str) -> (TempDatabase, baken_store::PostgresStore) {
    let db = TempDatabase::new(name)
        .unwrap_or_else(|e| panic!("{name}: a test database (BAKEN_TEST_POSTGRES): {e}"));
    let store = db
        .store()
        .unwrap_or_else(|e| panic!("{name}: the store opens: {e}"));
    (db, store)
}

#[test]
fn the_audit_part_keeps_the_contract() {
    for (name, check) in contract::AUDIT {
        let (_db, mut store) = fresh(name);
        check(&mut store);
    }
}

#[test]
fn the_registry_part_keeps_the_contract() {
    for (name, check) in contract::REGISTRY {
        let (_db, mut store) = fresh(name);
        check(&mut store);
    }
}

#[test]
fn the_findings_part_keeps_the_contract() {
    for (name, check) in contract::FINDINGS {
        let (_db, mut store) = fresh(name);
        check(&mut store);
    }
}
