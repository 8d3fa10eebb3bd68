//! The checks of [`TokenStore`]: tokens kept as hashes, found by hash, revoked once, never
//! deleted.

use crate::TokenStore;

/// One check of [`TokenStore`], on a fresh, empty store.
pub type Check = fn(&mut dyn TokenStore);

/// The checks of [`TokenStore`], by name.
pub const CHECKS: &[(&str, Check)] = &[
    (
        "tokens_are_found_by_hash_and_listed_in_order",
        tokens_are_found_by_hash_and_listed_in_order,
    ),
    (
        "a_token_is_revoked_once_and_stays_listed",
        a_token_is_revoked_once_and_stays_listed,
    ),
    ("a_hash_is_stored_once", a_hash_is_stored_once),
];

fn tokens_are_found_by_hash_and_listed_in_order(store: &mut dyn TokenStore) {
    assert!(store.tokens().unwrap().is_empty());
    let a = store.add_token("org-a", false, "aa11", None).unwrap();
    let b = store
        .add_token("ncsc", true, "bb22", Some("2027-01-01T00:00:00Z"))
        .unwrap();
    assert_ne!(a, b);
    let all = store.tokens().unwrap();
    assert_eq!(all.iter().map(|t| t.id).collect::<Vec<_>>(), [a, b]);
    let found = store.token_by_hash("bb22").unwrap().expect("stored");
    assert_eq!(found.id, b);
    assert_eq!(found.party, "ncsc");
    assert!(found.analyst);
    assert_eq!(found.expires_at.as_deref(), Some("2027-01-01T00:00:00Z"));
    assert_eq!(found.revoked_at, None);
    assert!(!store.token_by_hash("aa11").unwrap().unwrap().analyst);
    assert_eq!(store.token_by_hash("cc33").unwrap(), None);
}

fn a_token_is_revoked_once_and_stays_listed(store: &mut dyn TokenStore) {
    let a = store.add_token("org-a", false, "aa11", None).unwrap();
    assert!(store.revoke_token(a).unwrap());
    assert!(!store.revoke_token(a).unwrap(), "revoked already");
    assert!(!store.revoke_token(a + 1000).unwrap(), "no such token");
    let t = store
        .token_by_hash("aa11")
        .unwrap()
        .expect("kept after revocation");
    assert!(t.revoked_at.is_some());
    assert_eq!(store.tokens().unwrap().len(), 1);
}

fn a_hash_is_stored_once(store: &mut dyn TokenStore) {
    store.add_token("org-a", false, "aa11", None).unwrap();
    assert!(store.add_token("org-b", false, "aa11", None).is_err());
    assert_eq!(store.tokens().unwrap().len(), 1);
}
