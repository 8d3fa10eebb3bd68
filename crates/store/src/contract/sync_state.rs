//! The checks of [`SyncStateStore`]: the last state per source, kept as given.

use crate::SyncStateStore;

/// One check of [`SyncStateStore`], on a fresh, empty store.
pub type Check = fn(&mut dyn SyncStateStore);

/// The checks of [`SyncStateStore`], by name.
pub const CHECKS: &[(&str, Check)] = &[(
    "the_last_sync_state_per_source_is_kept",
    the_last_sync_state_per_source_is_kept,
)];

fn the_last_sync_state_per_source_is_kept(store: &mut dyn SyncStateStore) {
    let ncsc = "https://ncsc.example/.well-known/csaf/provider-metadata.json";
    let cert = "https://cert.example/.well-known/csaf/provider-metadata.json";
    assert_eq!(store.sync_state(ncsc).unwrap(), None);
    store.put_sync_state(ncsc, r#"{"seen": ["a"]}"#).unwrap();
    store.put_sync_state(cert, "{}").unwrap();
    // the text is kept as given, not re-encoded
    let later = "{ \"seen\": [\"a\", \"b\"] }";
    store.put_sync_state(ncsc, later).unwrap();
    assert_eq!(store.sync_state(ncsc).unwrap().as_deref(), Some(later));
    assert_eq!(store.sync_state(cert).unwrap().as_deref(), Some("{}"));
    assert_eq!(store.sync_state("elsewhere").unwrap(), None);
}
