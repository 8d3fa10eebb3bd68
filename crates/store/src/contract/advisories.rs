//! The checks of [`AdvisoryStore`]: every revision kept, the latest by release.

use crate::{AdvisoryPut, AdvisoryRecord, AdvisoryStore, now};

/// One check of [`AdvisoryStore`], on a fresh, empty store.
pub type Check = fn(&mut dyn AdvisoryStore);

/// The checks of [`AdvisoryStore`], by name.
pub const CHECKS: &[(&str, Check)] =
    &[("advisory_revisions_are_kept", advisory_revisions_are_kept)];

fn advisory_revisions_are_kept(store: &mut dyn AdvisoryStore) {
    let rev = |sha: &str, revision: &str, released: &str, score: f64| AdvisoryRecord {
        id: "ncsc-2020-0001".into(),
        sha256: sha.into(),
        revision: Some(revision.into()),
        format: "csaf".into(),
        released: Some(released.into()),
        title: Some("Citrix".into()),
        tlp: Some("CLEAR".into()),
        highest_score: Some(score),
        highest_vector: None,
        source: "f.json".into(),
        imported_at: now(),
        document: b"{}".to_vec(),
    };
    let second = rev("bb", "2", "2020-01-14T00:00:00Z", 9.8);
    assert_eq!(store.put_advisory(&second).unwrap(), AdvisoryPut::New);
    let first = rev("aa", "1", "2019-12-17T00:00:00Z", 7.5);
    assert_eq!(store.put_advisory(&first).unwrap(), AdvisoryPut::Revision);
    assert_eq!(store.put_advisory(&first).unwrap(), AdvisoryPut::Unchanged);
    let history = store.advisory_revisions("ncsc-2020-0001").unwrap();
    let scores: Vec<_> = history.iter().map(|r| r.highest_score).collect();
    assert_eq!(scores, vec![Some(7.5), Some(9.8)], "oldest release first");
    let latest = store.advisories().unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].revision.as_deref(), Some("2"));
}
