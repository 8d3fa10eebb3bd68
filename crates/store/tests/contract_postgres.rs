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
fn the_messages_part_keeps_the_contract() {
    for (name, check) in contract::MESSAGES {
        let (_db, mut store) = fresh(name);
        check(&mut store);
    }
}

#[test]
fn the_advisories_part_keeps_the_contract() {
    for (name, check) in contract::ADVISORIES {
        let (_db, mut store) = fresh(name);
        check(&mut store);
    }
}

#[test]
fn the_inventory_part_keeps_the_contract() {
    for (name, check) in contract::INVENTORY {
        let (_db, mut store) = fresh(name);
        check(&mut store);
    }
}

#[test]
fn the_audit_part_keeps_the_contract() {
    for (name, check) in contract::AUDIT {
        let (_db, mut store) = fresh(name);
        check(&mut store);
    }
}

#[test]
fn the_timeline_part_keeps_the_contract() {
    for (name, check) in contract::TIMELINE {
        let (_db, mut store) = fresh(name);
        check(&mut store);
    }
}

#[test]
fn the_sync_state_part_keeps_the_contract() {
    for (name, check) in contract::SYNC_STATE {
        let (_db, mut store) = fresh(name);
        check(&mut store);
    }
}

#[test]
fn the_tokens_part_keeps_the_contract() {
    for (name, check) in contract::TOKENS {
        let (_db, mut store) = fresh(name);
        check(&mut store);
    }
}

#[test]
fn the_webhooks_part_keeps_the_contract() {
    for (name, check) in contract::WEBHOOKS {
        let (_db, mut store) = fresh(name);
        check(&mut store);
    }
}

#[test]
fn the_incident_reports_part_keeps_the_contract() {
    for (name, check) in contract::INCIDENT_REPORTS {
        let (_db, mut store) = fresh(name);
        check(&mut store);
    }
}
