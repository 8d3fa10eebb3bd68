//! The PostgreSQL store opens a fresh database, migrates it once, and opens it again.

use baken_store::postgres::testing::TempDatabase;

#[test]
fn a_fresh_database_is_migrated_once_and_opens_again() {
    let db = TempDatabase::new("open").expect("the test PostgreSQL server (BAKEN_TEST_POSTGRES)");
    let first = db.store().expect("first opening");
    assert_eq!(first.url(), db.url());
    drop(first);
    // a second opening finds the schema in place and changes nothing
    db.store().expect("second opening");
    // openings at the same moment migrate one after the other
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let url = db.url().to_string();
            std::thread::spawn(move || baken_store::PostgresStore::connect(&url).map(drop))
        })
        .collect();
    for h in handles {
        h.join().unwrap().expect("concurrent opening");
    }
}

#[test]
fn passwords_never_appear_in_messages() {
    assert_eq!(
        baken_store::postgres::shown_url("postgres://baken:s3cret@db.example:5432/baken"),
        "postgres://baken:***@db.example:5432/baken"
    );
    let err = baken_store::PostgresStore::connect("postgres://baken:s3cret@127.0.0.1:1/baken")
        .err()
        .expect("nothing listens on port 1");
    let text = err.to_string();
    assert!(!text.contains("s3cret"), "{text}");
    assert!(text.contains("127.0.0.1:1"), "{text}");
}
