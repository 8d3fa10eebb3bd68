//! Opening a data directory from several processes or threads at once.

use baken_store::SqliteStore;
use baken_store::prelude::*;

/// Regression: two processes opening a new data directory at the same moment both ran the
/// migrations, and one failed ("duplicate column name"), or SQLite refused the second
/// writer ("database is locked"); a test that polled the store while `baken ingest`
/// created it failed now and then.
#[test]
fn stores_opened_at_once_on_a_new_directory_all_open_and_migrate_once() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let opened: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|_| s.spawn(|| SqliteStore::open(&data).map(|st| st.totals().is_ok())))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (i, o) in opened.iter().enumerate() {
            assert!(
                matches!(o, Ok(true)),
                "round {round}, opener {i}: {:?}",
                o.as_ref().err().map(|e| e.to_string())
            );
        }
        let store = SqliteStore::open(&data).unwrap();
        assert_eq!(store.totals().unwrap().observations, 0);
    }
}
