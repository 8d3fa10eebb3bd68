//! End-to-end syncs against providers served from a temporary directory on 127.0.0.1,
//! laid out as gocsaf's test providers (shared/data/csaf/discovery/gocsaf-testdata).

mod support;

use baken_csaf_sync::{HashAlgorithm, SkipReason, SyncState, sync};
use support::{DOC, Provider, options};

fn doc_url(p: &Provider) -> String {
    format!("{}/white/{DOC}", p.base)
}

#[test]
fn directory_provider_full_sync() {
    let p = Provider::directory();
    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    assert_eq!(report.skipped, []);
    assert_eq!(report.unchanged, 0);
    assert_eq!(report.fetched.len(), 1);
    let doc = &report.fetched[0];
    assert_eq!(doc.url, doc_url(&p));
    assert_eq!(doc.bytes, p.read(&format!("white/{DOC}")));
    assert_eq!(doc.sha256, support::sha256_hex(&doc.bytes));
    assert_eq!(
        doc.updated.unwrap().to_rfc3339(),
        "2020-01-01T00:00:00+00:00"
    );
    // .sha256 found, so .sha512 is not probed
    assert_eq!(doc.verified_by, [HashAlgorithm::Sha256]);
    assert_eq!(report.provider_metadata, p.metadata_url());
    assert_eq!(report.state.documents[&doc.url].sha256, doc.sha256);
    assert!(baken_advisory::read(&doc.bytes).is_ok());
}

#[test]
fn rolie_provider_full_sync() {
    let p = Provider::rolie(true, true);
    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    assert_eq!(report.skipped, []);
    assert_eq!(report.fetched.len(), 1);
    let doc = &report.fetched[0];
    // the document is the entry's content.src, which gocsaf's feed puts at the root
    assert_eq!(doc.url, format!("{}/{DOC}", p.base));
    assert_eq!(
        doc.verified_by,
        [HashAlgorithm::Sha256, HashAlgorithm::Sha512]
    );
    assert_eq!(
        doc.updated.unwrap().to_rfc3339(),
        "2020-01-01T00:00:00+00:00"
    );
}

#[test]
fn second_sync_fetches_nothing() {
    for p in [Provider::directory(), Provider::rolie(true, false)] {
        let first = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
        assert_eq!(first.fetched.len(), 1);
        // the state goes through its persisted form
        let saved = serde_json::to_string(&first.state).unwrap();
        let state: SyncState = serde_json::from_str(&saved).unwrap();
        p.clear_requests();
        let second = sync(&p.metadata_url(), &state, &options()).unwrap();
        assert_eq!(second.fetched, []);
        assert_eq!(second.skipped, []);
        assert_eq!(second.unchanged, 1);
        assert_eq!(second.state, first.state);
        let requests = p.requests();
        assert!(
            requests.iter().all(|r| !r.contains(DOC)),
            "the document or its hash was fetched again: {requests:?}"
        );
    }
}

#[test]
fn changed_document_is_fetched_again() {
    let p = Provider::directory();
    let first = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    let old = first.fetched[0].sha256.clone();

    let changed = p.read_string(&format!("white/{DOC}")).replace(
        "\"title\": \"Test CSAF document\"",
        "\"title\": \"Test CSAF document, revised\"",
    );
    p.write(&format!("white/{DOC}"), changed.as_bytes());
    p.write_hashes(&format!("white/{DOC}"));
    p.write(
        "white/changes.csv",
        format!("\"{DOC}\",\"2021-06-01T12:00:00+00:00\"\n").as_bytes(),
    );

    let second = sync(&p.metadata_url(), &first.state, &options()).unwrap();
    assert_eq!(second.skipped, []);
    assert_eq!(second.unchanged, 0);
    assert_eq!(second.fetched.len(), 1);
    let doc = &second.fetched[0];
    assert_ne!(doc.sha256, old);
    assert_eq!(doc.bytes, changed.as_bytes());
    assert_eq!(
        doc.updated.unwrap().to_rfc3339(),
        "2021-06-01T12:00:00+00:00"
    );
    assert_eq!(second.state.documents[&doc.url].sha256, doc.sha256);

    // a new timestamp over the same bytes is not a change
    p.write(
        "white/changes.csv",
        format!("\"{DOC}\",\"2022-01-01T00:00:00+00:00\"\n").as_bytes(),
    );
    let third = sync(&p.metadata_url(), &second.state, &options()).unwrap();
    assert_eq!((third.fetched.len(), third.unchanged), (0, 1));
    assert_eq!(
        third.state.documents[&doc.url]
            .updated
            .unwrap()
            .to_rfc3339(),
        "2022-01-01T00:00:00+00:00"
    );
}

#[test]
fn tampered_hash_is_skipped() {
    let p = Provider::directory();
    let wrong = "0".repeat(64);
    p.write(
        &format!("white/{DOC}.sha256"),
        format!("{wrong}  {DOC}\n").as_bytes(),
    );
    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    assert_eq!(report.fetched, []);
    assert_eq!(report.skipped.len(), 1);
    let skipped = &report.skipped[0];
    assert_eq!(skipped.url, doc_url(&p));
    match &skipped.reason {
        SkipReason::HashMismatch {
            algorithm,
            expected,
            actual,
        } => {
            assert_eq!(*algorithm, HashAlgorithm::Sha256);
            assert_eq!(*expected, wrong);
            assert_eq!(
                *actual,
                support::sha256_hex(&p.read(&format!("white/{DOC}")))
            );
        }
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
    assert!(skipped.reason.to_string().contains("SHA-256 mismatch"));
    // not in the state: the next sync tries again
    assert!(report.state.documents.is_empty());
}

#[test]
fn tampered_sha512_in_a_rolie_feed_is_skipped() {
    let p = Provider::rolie(true, true);
    p.write(
        &format!("white/{DOC}.sha512"),
        format!("{}  {DOC}\n", "ab".repeat(64)).as_bytes(),
    );
    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    assert_eq!(report.fetched, []);
    assert!(matches!(
        report.skipped[0].reason,
        SkipReason::HashMismatch {
            algorithm: HashAlgorithm::Sha512,
            ..
        }
    ));
}

#[test]
fn missing_document_is_skipped_with_404() {
    let p = Provider::directory();
    p.write(
        "white/changes.csv",
        format!(
            "\"2021/gone.json\",\"2021-01-01T00:00:00+00:00\"\n\"{DOC}\",\"2020-01-01T00:00:00+00:00\"\n"
        )
        .as_bytes(),
    );
    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    assert_eq!(report.fetched.len(), 1, "the other document still arrives");
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(
        report.skipped[0].url,
        format!("{}/white/2021/gone.json", p.base)
    );
    assert_eq!(report.skipped[0].reason, SkipReason::Http { status: 404 });
    assert_eq!(report.skipped[0].reason.to_string(), "not found (http 404)");
}

#[test]
fn non_json_and_non_csaf_are_skipped() {
    let p = Provider::directory();
    p.write("white/broken.json", b"<html>not json</html>");
    p.write_hashes("white/broken.json");
    p.write(
        "white/osv.json",
        br#"{"id": "OSV-1", "modified": "2020-01-01T00:00:00Z"}"#,
    );
    p.write_hashes("white/osv.json");
    p.write(
        "white/changes.csv",
        format!(
            "\"broken.json\",\"2021-01-01T00:00:00Z\"\n\"osv.json\",\"2021-01-01T00:00:00Z\"\n\"{DOC}\",\"2020-01-01T00:00:00Z\"\n"
        )
        .as_bytes(),
    );
    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    assert_eq!(report.fetched.len(), 1);
    let reasons: Vec<_> = report
        .skipped
        .iter()
        .map(|s| (s.url.rsplit('/').next().unwrap(), &s.reason))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(reasons[0].0, "broken.json");
    assert!(matches!(reasons[0].1, SkipReason::NotJson(_)));
    assert_eq!(reasons[1], ("osv.json", &SkipReason::NotCsaf));
}

#[test]
fn missing_hash_file_is_skipped_unless_accepted() {
    let p = Provider::directory();
    p.remove(&format!("white/{DOC}.sha256"));
    p.remove(&format!("white/{DOC}.sha512"));
    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    assert_eq!(report.fetched, []);
    assert_eq!(report.skipped[0].reason, SkipReason::HashMissing);

    let accepting = baken_csaf_sync::Options {
        accept_unhashed: true,
        ..options()
    };
    let report = sync(&p.metadata_url(), &SyncState::default(), &accepting).unwrap();
    assert_eq!(report.skipped, []);
    assert_eq!(report.fetched.len(), 1);
    assert_eq!(report.fetched[0].verified_by, []);
}

#[test]
fn sha512_alone_is_enough() {
    let p = Provider::directory();
    p.remove(&format!("white/{DOC}.sha256"));
    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    assert_eq!(report.skipped, []);
    assert_eq!(report.fetched[0].verified_by, [HashAlgorithm::Sha512]);
}

#[test]
fn rolie_hash_link_that_is_missing_is_reported() {
    let p = Provider::rolie(true, false);
    p.remove(&format!("white/{DOC}.sha256"));
    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    assert_eq!(report.fetched, []);
    match &report.skipped[0].reason {
        SkipReason::HashUnusable { url, problem } => {
            assert!(url.ends_with(".sha256"), "{url}");
            assert!(problem.contains("404"), "{problem}");
        }
        other => panic!("expected an unusable hash, got {other:?}"),
    }
}

#[test]
fn rolie_feed_without_hash_links_probes_hash_files() {
    // the feed names no hash; .sha256 beside content.src is found by probing
    let p = Provider::rolie(false, false);
    p.write_hashes(DOC);
    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    assert_eq!(report.skipped, []);
    assert_eq!(report.fetched[0].verified_by, [HashAlgorithm::Sha256]);
}

#[test]
fn index_only_document_is_unchanged_by_its_hash() {
    let p = Provider::directory();
    p.write("white/2024/extra.json", &p.read(&format!("white/{DOC}")));
    p.write_hashes("white/2024/extra.json");
    p.write(
        "white/index.txt",
        format!("{DOC}\n2024/extra.json\n").as_bytes(),
    );
    let first = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    assert_eq!(first.skipped, []);
    assert_eq!(first.fetched.len(), 2);
    let extra = &first.fetched[1];
    assert!(extra.url.ends_with("/white/2024/extra.json"));
    assert_eq!(extra.updated, None);

    p.clear_requests();
    let second = sync(&p.metadata_url(), &first.state, &options()).unwrap();
    assert_eq!((second.fetched.len(), second.unchanged), (0, 2));
    let requests = p.requests();
    assert!(requests.contains(&"/white/2024/extra.json.sha256".to_string()));
    assert!(!requests.contains(&"/white/2024/extra.json".to_string()));
}

#[test]
fn oversized_document_is_skipped() {
    let p = Provider::directory();
    let small = baken_csaf_sync::Options {
        max_document_size: 1000,
        ..options()
    };
    let report = sync(&p.metadata_url(), &SyncState::default(), &small).unwrap();
    assert_eq!(report.fetched, []);
    assert_eq!(
        report.skipped[0].reason,
        SkipReason::TooLarge { limit: 1000 }
    );
}

#[test]
fn plain_http_beyond_loopback_is_refused_without_a_request() {
    let p = Provider::directory();
    // synthetic address space: refused by policy before any connection
    let metadata = p
        .read_string("provider-metadata.json")
        .replace(&format!("{}/white/", p.base), "http://198.18.0.1/white/");
    p.write("provider-metadata.json", metadata.as_bytes());
    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    assert_eq!(report.fetched, []);
    assert_eq!(report.skipped.len(), 2, "{:?}", report.skipped);
    assert!(
        report
            .skipped
            .iter()
            .all(|s| s.reason == SkipReason::Insecure && s.url.starts_with("http://198.18.0.1/"))
    );
}

#[test]
fn redirects_are_followed() {
    let p = Provider::directory();
    p.redirect("/moved/provider-metadata.json", "/provider-metadata.json");
    let url = format!("{}/moved/provider-metadata.json", p.base);
    let report = sync(&url, &SyncState::default(), &options()).unwrap();
    assert_eq!(report.fetched.len(), 1);
}

#[test]
fn unreachable_metadata_is_an_error() {
    let p = Provider::directory();
    let err = sync(
        &format!("{}/nothing/provider-metadata.json", p.base),
        &SyncState::default(),
        &options(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");

    p.write("provider-metadata.json", b"{\"distributions\": ");
    let err = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap_err();
    assert!(
        matches!(err, baken_csaf_sync::SyncError::BadMetadata { .. }),
        "{err}"
    );
}
