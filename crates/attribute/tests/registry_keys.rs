//! Contacts' OpenPGP keys in a registry file: inline or as a path, checked at import.

use std::path::{Path, PathBuf};

use baken_attribute::registry::{RegistryError, load_registry};
use baken_model::ReportFormat;

/// The test keys of `baken-deliver` (made for tests only).
fn key_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deliver/tests/data")
        .join(name)
}

fn registry(dir: &Path, contact: &str) -> PathBuf {
    let path = dir.join("registry.toml");
    std::fs::write(
        &path,
        format!(
            "[[organisation]]\nid = \"org-17\"\nname = \"Zorg\"\nkind = \"hoster\"\n\
             contacts = [\n  {contact},\n]\n"
        ),
    )
    .unwrap();
    path
}

/// Loads a registry whose one contact is `contact` and expects it refused with `needles`.
fn check_refused(contact: &str, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let err = load_registry(&registry(dir.path(), contact)).unwrap_err();
    let RegistryError::Invalid { errors, .. } = &err else {
        panic!("{err}")
    };
    let text = err.to_string();
    assert_eq!(errors[0].line, Some(1), "{text}");
    assert_eq!(
        errors[0].field.as_deref(),
        Some("contacts[0].pgp_key"),
        "{text}"
    );
    for needle in needles {
        assert!(text.contains(needle), "{text:?} lacks {needle:?}");
    }
}

#[test]
fn a_key_given_inline_or_as_a_path_is_stored_armored() {
    let armored = std::fs::read_to_string(key_file("recipient.pub.asc")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("soc.asc"), &armored).unwrap();
    let by_path = registry(
        dir.path(),
        r#"{ email = "soc@zorg.example", pgp_key = "soc.asc", report_format = "xarf" }"#,
    );
    let orgs = load_registry(&by_path).unwrap();
    let contact = &orgs[0].contacts[0];
    assert_eq!(contact.pgp_key.as_deref(), Some(armored.as_str()));
    assert_eq!(contact.report_format, Some(ReportFormat::Xarf));

    let inline = registry(
        dir.path(),
        &format!(r#"{{ email = "soc@zorg.example", pgp_key = """{armored}""" }}"#),
    );
    let orgs = load_registry(&inline).unwrap();
    assert_eq!(
        orgs[0].contacts[0].pgp_key.as_deref(),
        Some(armored.as_str())
    );
}

#[test]
fn expired_sign_only_missing_and_garbled_keys_are_refused_naming_the_field() {
    let expired = key_file("expired.pub.asc");
    check_refused(
        &format!(
            r#"{{ email = "old@expired.example", pgp_key = "{}" }}"#,
            expired.display()
        ),
        &[
            "old@expired.example",
            "expired on 2020-01-02",
            "registry.toml:1",
        ],
    );
    let sign_only = key_file("sender.pub.asc");
    check_refused(
        &format!(
            r#"{{ email = "soc@zorg.example", pgp_key = "{}" }}"#,
            sign_only.display()
        ),
        &["no subkey usable for encryption"],
    );
    check_refused(
        r#"{ email = "soc@zorg.example", pgp_key = "missing.asc" }"#,
        &["cannot read the key file", "missing.asc"],
    );
    check_refused(
        r#"{ email = "soc@zorg.example", pgp_key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5\n-----END PGP PUBLIC KEY BLOCK-----\n" }"#,
        &["unusable OpenPGP key"],
    );
}

#[test]
fn an_unknown_report_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_registry(&registry(
        dir.path(),
        r#"{ email = "soc@zorg.example", report_format = "pdf" }"#,
    ))
    .unwrap_err();
    assert!(err.to_string().contains("pdf"), "{err}");
}
