//! OpenPGP signatures of synced documents, with GnuPG as the oracle: keys are made and
//! documents signed by `gpg` in a temporary GNUPGHOME, the provider is served on
//! 127.0.0.1, and for every signature the sync judges, `gpg --verify` is asked too.

mod support;

use baken_csaf_sync::{SkipReason, SyncReport, SyncState, sync};
use support::gpg::Gpg;
use support::{DOC, Provider, options};

const KEY: &str = "openpgp/pubkey.asc";

/// Publishes `key` at the metadata's key URL with `fingerprint` as its published one.
fn publish(p: &Provider, key: &[u8], fingerprint: &str) {
    p.write(KEY, key);
    let mut meta: serde_json::Value =
        serde_json::from_str(&p.read_string("provider-metadata.json")).unwrap();
    meta["public_openpgp_keys"] = serde_json::json!([
        {"fingerprint": fingerprint, "url": format!("{}/{KEY}", p.base)}
    ]);
    p.write(
        "provider-metadata.json",
        &serde_json::to_vec_pretty(&meta).unwrap(),
    );
}

/// Signs a served document with `gpg` into `<rel>.asc`.
fn sign(gpg: &Gpg, p: &Provider, fingerprint: &str, rel: &str) {
    gpg.sign(fingerprint, &p.path(rel), &p.path(&format!("{rel}.asc")));
}

fn refusal(report: &SyncReport) -> String {
    let refused: Vec<_> = report.refused().collect();
    assert_eq!(refused.len(), 1, "{report:#?}");
    assert!(report.fetched.is_empty(), "{report:#?}");
    match &refused[0].reason {
        SkipReason::BadSignature(why) => why.clone(),
        other => panic!("refused for {other}"),
    }
}

#[test]
fn good_signatures_by_ed25519_and_rsa_keys_are_accepted() {
    let gpg = Gpg::new();
    for (uid, algorithm) in [
        ("csaf-ed25519@provider.example", "ed25519"),
        ("csaf-rsa@provider.example", "rsa2048"),
    ] {
        let fingerprint = gpg.generate(uid, algorithm);
        let p = Provider::directory();
        let rel = format!("white/{DOC}");
        sign(&gpg, &p, &fingerprint, &rel);
        assert!(gpg.verifies(&p.path(&rel), &p.path(&format!("{rel}.asc"))));
        publish(&p, &gpg.export(&fingerprint), &fingerprint.to_lowercase());

        let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
        assert_eq!(report.skipped, [], "{algorithm}");
        assert_eq!(report.fetched.len(), 1, "{algorithm}");
        assert_eq!(
            report.fetched[0].signed_by.as_deref(),
            Some(fingerprint.as_str()),
            "{algorithm}"
        );
        assert_eq!(report.keys.len(), 1);
        assert_eq!(report.keys[0].outcome, Ok(fingerprint.clone()));
        assert_eq!(report.unsigned().count(), 0);
    }
}

#[test]
fn rolie_signature_link_is_followed() {
    let gpg = Gpg::new();
    let fingerprint = gpg.generate("csaf@provider.example", "ed25519");
    let p = Provider::rolie(true, false);
    // the feed's content.src is the copy at the root; its signature link is under white/
    gpg.sign(
        &fingerprint,
        &p.path(DOC),
        &p.path(&format!("white/{DOC}.asc")),
    );
    publish(&p, &gpg.export(&fingerprint), &fingerprint);
    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    assert_eq!(report.skipped, []);
    assert_eq!(
        report.fetched[0].signed_by.as_deref(),
        Some(fingerprint.as_str())
    );
}

#[test]
fn tampered_document_is_refused() {
    let gpg = Gpg::new();
    let fingerprint = gpg.generate("csaf@provider.example", "ed25519");
    let p = Provider::directory();
    let rel = format!("white/{DOC}");
    sign(&gpg, &p, &fingerprint, &rel);
    publish(&p, &gpg.export(&fingerprint), &fingerprint);
    // altered after signing, with hash files that match the altered bytes
    let text = p.read_string(&rel).replacen("\"title\"", "\"title\" ", 1);
    p.write(&rel, text.as_bytes());
    p.write_hashes(&rel);
    assert!(!gpg.verifies(&p.path(&rel), &p.path(&format!("{rel}.asc"))));

    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    let why = refusal(&report);
    assert!(why.contains("BAD signature"), "{why}");
    assert!(why.contains(&fingerprint), "{why}");
    assert!(report.skipped[0].url.ends_with(DOC));
    // refused documents are not remembered: the next sync checks them again
    assert!(report.state.documents.is_empty());
}

#[test]
fn signature_by_another_key_is_refused() {
    let gpg = Gpg::new();
    let published = gpg.generate("csaf@provider.example", "ed25519");
    let other = gpg.generate("mallory@attacker.example", "ed25519");
    let p = Provider::directory();
    let rel = format!("white/{DOC}");
    sign(&gpg, &p, &other, &rel);
    // GnuPG holds it good (it has both keys); the provider did not publish that key
    assert!(gpg.verifies(&p.path(&rel), &p.path(&format!("{rel}.asc"))));
    publish(&p, &gpg.export(&published), &published);

    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    let why = refusal(&report);
    assert!(
        why.contains(&other) && why.contains("not a key the provider publishes"),
        "{why}"
    );
}

#[test]
fn key_with_another_fingerprint_than_published_is_not_used() {
    let gpg = Gpg::new();
    let served = gpg.generate("csaf@provider.example", "ed25519");
    let claimed = gpg.generate("csaf-new@provider.example", "ed25519");
    let p = Provider::directory();
    let rel = format!("white/{DOC}");
    sign(&gpg, &p, &served, &rel);
    assert!(gpg.verifies(&p.path(&rel), &p.path(&format!("{rel}.asc"))));
    // the metadata names one key, its URL serves another
    publish(&p, &gpg.export(&served), &claimed);

    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    let why = refusal(&report);
    assert!(why.contains("no published key is usable"), "{why}");
    assert!(why.contains("fingerprint mismatch"), "{why}");
    let key = &report.keys[0];
    assert_eq!(key.published_fingerprint.as_deref(), Some(claimed.as_str()));
    let problem = key.outcome.as_ref().unwrap_err();
    assert!(
        problem.contains(&claimed) && problem.contains(&served),
        "{problem}"
    );
}

#[test]
fn unsigned_documents_are_reported_and_refused_only_when_signatures_are_required() {
    let gpg = Gpg::new();
    let fingerprint = gpg.generate("csaf@provider.example", "ed25519");
    let p = Provider::directory();
    publish(&p, &gpg.export(&fingerprint), &fingerprint);

    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    assert_eq!(report.skipped, []);
    let unsigned: Vec<_> = report.unsigned().map(|d| d.url.as_str()).collect();
    assert_eq!(unsigned, [format!("{}/white/{DOC}", p.base)]);
    // no signature was found, so no key was fetched
    assert!(report.keys.is_empty());

    let mut strict = options();
    strict.require_signatures = true;
    let report = sync(&p.metadata_url(), &SyncState::default(), &strict).unwrap();
    assert!(report.fetched.is_empty());
    let refused: Vec<_> = report.refused().collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].reason, SkipReason::Unsigned);
}

#[test]
fn garbage_signature_file_is_refused() {
    let gpg = Gpg::new();
    let fingerprint = gpg.generate("csaf@provider.example", "ed25519");
    let p = Provider::directory();
    publish(&p, &gpg.export(&fingerprint), &fingerprint);
    p.write(&format!("white/{DOC}.asc"), b"this is not a signature\n");
    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    let why = refusal(&report);
    assert!(why.contains("signature"), "{why}");
}

#[test]
fn a_key_that_expired_is_not_used_and_says_when() {
    let gpg = Gpg::new();
    // made on 2020-01-01, valid for a year; the document signed while it was valid
    let fingerprint = gpg.generate_at(
        "csaf-old@provider.example",
        "ed25519",
        "sign",
        "1y",
        "20200101T000000",
    );
    let p = Provider::directory();
    let rel = format!("white/{DOC}");
    gpg.sign_at(
        &fingerprint,
        &p.path(&rel),
        &p.path(&format!("{rel}.asc")),
        "20200601T000000",
    );
    // GnuPG: a good signature by a key that has expired since
    let status = gpg.verify_status(&p.path(&rel), &p.path(&format!("{rel}.asc")));
    assert!(status.contains("EXPKEYSIG"), "{status}");
    publish(&p, &gpg.export(&fingerprint), &fingerprint);

    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    let why = refusal(&report);
    assert!(why.contains("no published key is usable"), "{why}");
    let problem = report.keys[0].outcome.as_ref().unwrap_err();
    assert!(
        problem.contains(&format!("key {fingerprint} expired on 2020-12-31")),
        "{problem}"
    );
}

#[test]
fn a_signing_subkey_that_expired_is_refused_and_says_when() {
    let gpg = Gpg::new();
    // a certification-only primary key that never expires, with a signing subkey that did
    let primary = gpg.generate_at(
        "csaf-sub@provider.example",
        "ed25519",
        "cert",
        "never",
        "20200101T000000",
    );
    let subkey = gpg.add_subkey_at(&primary, "ed25519", "sign", "1y", "20200101T000000");
    assert_ne!(primary, subkey);
    let p = Provider::directory();
    let rel = format!("white/{DOC}");
    gpg.sign_at(
        &primary,
        &p.path(&rel),
        &p.path(&format!("{rel}.asc")),
        "20200601T000000",
    );
    let status = gpg.verify_status(&p.path(&rel), &p.path(&format!("{rel}.asc")));
    assert!(status.contains("EXPKEYSIG"), "{status}");
    publish(&p, &gpg.export(&primary), &primary);

    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    // the primary key is usable; the subkey that signed is not
    assert_eq!(report.keys[0].outcome, Ok(primary.clone()));
    let why = refusal(&report);
    assert!(
        why.contains(&format!(
            "subkey {subkey} of key {primary} expired on 2020-12-31"
        )),
        "{why}"
    );
}

#[test]
fn a_signature_dated_after_its_key_expired_is_refused() {
    use pgp::composed::{Deserializable, DetachedSignature, SignedSecretKey, SubpacketConfig};
    use pgp::crypto::hash::HashAlgorithm;
    use pgp::packet::{Subpacket, SubpacketData};
    use pgp::types::{KeyDetails, Password, Timestamp};

    let gpg = Gpg::new();
    // valid from 2020-01-01 for 30 years: usable today
    let fingerprint = gpg.generate_at(
        "csaf-long@provider.example",
        "ed25519",
        "sign",
        "30y",
        "20200101T000000",
    );
    let (key, _) =
        SignedSecretKey::from_armor_single(&gpg.export_secret(&fingerprint)[..]).unwrap();
    let p = Provider::directory();
    let rel = format!("white/{DOC}");
    let document = std::fs::read(p.path(&rel)).unwrap();
    // a signature that says it was made in 2055, after the key's expiry
    let made = Timestamp::from_secs(2_682_374_400);
    let signature = DetachedSignature::sign_binary_data_with_subpackets(
        rand::thread_rng(),
        &key.primary_key,
        &Password::empty(),
        HashAlgorithm::Sha256,
        &document[..],
        SubpacketConfig::UserDefined {
            hashed: vec![
                Subpacket::regular(SubpacketData::SignatureCreationTime(made)).unwrap(),
                Subpacket::regular(SubpacketData::IssuerFingerprint(
                    key.primary_key.fingerprint(),
                ))
                .unwrap(),
            ],
            unhashed: vec![],
        },
    )
    .unwrap();
    p.write(
        &format!("{rel}.asc"),
        signature
            .to_armored_string(Default::default())
            .unwrap()
            .as_bytes(),
    );
    publish(&p, &gpg.export(&fingerprint), &fingerprint);

    let report = sync(&p.metadata_url(), &SyncState::default(), &options()).unwrap();
    assert_eq!(report.keys[0].outcome, Ok(fingerprint.clone()));
    let why = refusal(&report);
    assert!(
        why.contains(&format!(
            "made on 2055-01-01 00:00:00 UTC by key {fingerprint}, which had expired on 2049-"
        )),
        "{why}"
    );
}
