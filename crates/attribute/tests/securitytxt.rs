//! Signed security.txt files: a cleartext signature made by GnuPG (the oracle, with the test
//! keys of `baken-deliver`, made for tests only) verifies, a changed text does not, and a
//! signature by a key nobody gave is reported as unchecked.

use std::path::{Path, PathBuf};
use std::process::Command;

use baken_attribute::securitytxt::{Signature, parse};
use baken_openpgp::PublicKey;

fn key_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deliver/tests/data")
        .join(name)
}

const BODY: &str = "Contact: mailto:security@zorg.example\nExpires: 2099-01-01T00:00:00Z\n\
                    Encryption: openpgp4fpr:415C2562CC8829713DC26C3793065E143CA6EA80\n";

/// `BODY` clear-signed by the test sender key, with gpg.
fn clearsigned() -> String {
    let home = tempfile::tempdir().unwrap();
    let gpg = |args: &[&str]| {
        Command::new("gpg")
            .env("GNUPGHOME", home.path())
            .args(["--batch", "--no-tty", "--pinentry-mode", "loopback"])
            .args(["--passphrase", "test-passphrase"])
            .args(args)
            .output()
            .expect("gpg runs (scripts/test-deps.sh installs GnuPG)")
    };
    assert!(
        gpg(&["--import", key_file("sender.sec.asc").to_str().unwrap()])
            .status
            .success()
    );
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("security.txt");
    std::fs::write(&input, BODY).unwrap();
    let out = gpg(&["--clearsign", "--output", "-", input.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn sender() -> Vec<PublicKey> {
    vec![PublicKey::parse(&std::fs::read(key_file("sender.pub.asc")).unwrap()).unwrap()]
}

#[test]
fn a_good_signature_verifies_and_a_changed_text_is_bad() {
    let signed = clearsigned();
    let txt = parse(&signed, &sender());
    assert!(
        matches!(txt.signature, Signature::Good { .. }),
        "{:?}",
        txt.signature
    );
    assert_eq!(txt.mailto_contacts(), ["security@zorg.example"]);
    assert!(txt.usable_at(chrono::Utc::now()).is_ok());

    let changed = signed.replace("security@zorg.example", "attacker@evil.example");
    let txt = parse(&changed, &sender());
    assert!(
        matches!(txt.signature, Signature::Bad { .. }),
        "{:?}",
        txt.signature
    );
    let why = txt.usable_at(chrono::Utc::now()).unwrap_err();
    assert!(why.contains("signature does not verify"), "{why}");
}

#[test]
fn a_signature_by_an_unknown_key_is_unchecked_and_an_unsigned_file_says_so() {
    let signed = clearsigned();
    let other =
        vec![PublicKey::parse(&std::fs::read(key_file("recipient.pub.asc")).unwrap()).unwrap()];
    assert_eq!(parse(&signed, &other).signature, Signature::UnknownKey);
    assert_eq!(parse(&signed, &[]).signature, Signature::UnknownKey);
    assert_eq!(parse(BODY, &sender()).signature, Signature::Unsigned);
}
