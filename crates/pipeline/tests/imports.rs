//! The attribution index saved by the imports answers as one built from what the store holds,
//! whatever order the registry, routing table and RPSL data come in.

use baken_attribute::Attributor;
use baken_demo::generate::{Params, generate};
use baken_pipeline::imports::{import_registry, import_routing, import_rpsl};
use baken_store::{SqliteStore, prelude::*};

/// Every address of the feed, and a few around it, looked up in both indexes.
fn same_answers(store: &SqliteStore, feed: &std::path::Path) {
    let saved = Attributor::from_snapshot(&store.attribution_index().unwrap().expect("saved"))
        .expect("the saved index loads");
    let built = Attributor::new(
        store.organisations().unwrap(),
        store.routing().unwrap(),
        store.abuse_records().unwrap(),
    )
    .unwrap();
    assert_eq!(saved.stats(), built.stats());
    let text = std::fs::read_to_string(feed).unwrap();
    let mut asked = 0;
    for line in text.lines().skip(1) {
        let Some(ip) = line.split(',').nth(2) else {
            continue;
        };
        let (Ok(a), Ok(b)) = (saved.lookup(ip), built.lookup(ip)) else {
            continue;
        };
        assert_eq!(a, b, "{ip}");
        asked += 1;
    }
    assert!(asked > 100, "only {asked} addresses looked up");
    assert_eq!(saved.organisations(), built.organisations());
}

#[test]
fn the_saved_index_follows_every_import_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let g = generate(&Params { orgs: 400, seed: 3 }, dir.path()).unwrap();
    let orders: [&[u8]; 3] = [b"gpr", b"prg", b"rgp"];
    for (n, order) in orders.iter().enumerate() {
        let mut store = SqliteStore::open(&dir.path().join(format!("store-{n}"))).unwrap();
        for step in order.iter() {
            match step {
                b'g' => {
                    import_registry(&mut store, &g.registry, false).unwrap();
                }
                b'p' => {
                    import_routing(&mut store, &g.pfx2as).unwrap();
                }
                _ => {
                    import_rpsl(&mut store, &[&g.rpsl]).unwrap();
                }
            }
            same_answers(&store, &g.feed);
        }
    }
}

/// A new routing table or RPSL dump replaces those parts of the saved index and keeps its
/// organisations as they were saved: the registry's rows are not read again (at national size
/// they take a gigabyte and most of a minute to decode). Seen here by renaming every
/// organisation in the rows behind the store's back: the index saved after each import still
/// has the names it was saved with, while one built from the rows would not.
#[test]
fn a_routing_or_rpsl_import_keeps_the_saved_organisations() {
    let dir = tempfile::tempdir().unwrap();
    let g = generate(&Params { orgs: 300, seed: 5 }, dir.path()).unwrap();
    let path = dir.path().join("store");
    let mut store = SqliteStore::open(&path).unwrap();
    import_registry(&mut store, &g.registry, false).unwrap();
    let names = |store: &SqliteStore| -> Vec<String> {
        let index = store.attribution_index().unwrap().expect("saved");
        let index = Attributor::from_snapshot(&index).unwrap();
        index
            .organisations()
            .iter()
            .map(|o| o.name.clone())
            .collect()
    };
    let saved = names(&store);
    let db = rusqlite::Connection::open(path.join("baken.db")).unwrap();
    let renamed = db
        .execute(
            "UPDATE organisation SET body = json_set(body, '$.name', 'Renamed')",
            [],
        )
        .unwrap();
    assert_eq!(renamed, saved.len());
    import_routing(&mut store, &g.pfx2as).unwrap();
    assert_eq!(names(&store), saved);
    import_rpsl(&mut store, &[&g.rpsl]).unwrap();
    assert_eq!(names(&store), saved);
    // without a saved index, the rows are all there is
    db.execute("DELETE FROM attribution_index", []).unwrap();
    import_routing(&mut store, &g.pfx2as).unwrap();
    assert!(names(&store).iter().all(|n| n == "Renamed"));
}
