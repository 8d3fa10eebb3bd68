//! `notify --sign-key`: every message signed (PGP/MIME), encrypted to the contacts whose
//! registry entry holds a `pgp_key`; what was encrypted is in the summary and the record.
//! GnuPG is the oracle (a temporary home; the test keys of `baken-deliver`, made for tests).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{baken, run_ok, s};
use serde_json::Value;

fn key(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deliver/tests/data")
        .join(name)
}

/// org-a's contact has a key (given as a path), org-b's has none.
fn world() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry.toml");
    std::fs::copy(key("recipient.pub.asc"), dir.path().join("soc-alpha.asc")).unwrap();
    std::fs::write(
        &registry,
        r#"
[[organisation]]
id = "org-a"
name = "Alpha Zorg BV"
sector = "health"
vital = true
networks = ["198.18.1.0/24"]
contacts = [{ email = "soc@alpha.example", role = "security", pgp_key = "soc-alpha.asc" }]

[[organisation]]
id = "org-b"
name = "Beta Energie NV"
sector = "energy"
vital = true
networks = ["198.18.2.0/24"]
contacts = [{ email = "csirt@beta.example", role = "security" }]
"#,
    )
    .unwrap();
    run_ok(&data, &["registry", "import", s(&registry)]);
    let file = dir.path().join("scan.jsonl");
    let text: String = ["198.18.1.1", "198.18.2.1"]
        .iter()
        .map(|ip| {
            format!(
                "{}\n",
                common::scan_event(ip, "2020-01-10T06:00:00+00:00", None)
            )
        })
        .collect();
    std::fs::write(&file, text).unwrap();
    run_ok(&data, &["ingest", "--feed", "intelmq", s(&file)]);
    (dir, data)
}

fn gpg(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new("gpg")
        .env("GNUPGHOME", home)
        .args([
            "--batch",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ])
        .args(args)
        .output()
        .expect("gpg runs (scripts/test-deps.sh installs GnuPG)")
}

#[test]
fn notify_signs_every_message_and_encrypts_to_contacts_with_a_key() {
    let (dir, data) = world();
    let out = baken()
        .arg("--data")
        .arg(&data)
        .args(["notify", "--sign-key", s(&key("sender.sec.asc")), "--json"])
        .env("BAKEN_SIGN_KEY_PASSPHRASE", "test-passphrase")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let incidents: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let digests = incidents[0]["digests"].as_array().unwrap();
    let of = |party: &str| {
        digests
            .iter()
            .find(|d| d["party"] == party)
            .unwrap()
            .clone()
    };
    let (a, b) = (of("org-a"), of("org-b"));
    assert_eq!(a["protection"], "signed+encrypted");
    assert_eq!(b["protection"], "signed");
    assert!(
        a["detail"]
            .as_str()
            .unwrap()
            .ends_with("(OpenPGP signed+encrypted)")
    );

    let eml = |d: &Value| {
        std::fs::read(
            data.join("outbox")
                .join(format!("{}.eml", d["key"].as_str().unwrap())),
        )
        .unwrap()
    };
    let (ea, eb) = (eml(&a), eml(&b));
    let text_a = String::from_utf8_lossy(&ea);
    assert!(text_a.contains("multipart/encrypted"), "{text_a}");
    assert!(!text_a.contains("198.18.1.1"), "the finding is encrypted");
    assert!(String::from_utf8_lossy(&eb).contains("multipart/signed"));

    // the recipient decrypts its message with gpg and finds its finding
    let home = dir.path().join("gnupg");
    std::fs::create_dir(&home).unwrap();
    for k in ["recipient.sec.asc", "sender.pub.asc"] {
        assert!(gpg(&home, &["--import", s(&key(k))]).status.success());
    }
    let armored_at = text_a.find("-----BEGIN PGP MESSAGE-----").unwrap();
    let armored_end = text_a.find("-----END PGP MESSAGE-----").unwrap() + 25;
    let c = dir.path().join("a.asc");
    std::fs::write(&c, &text_a[armored_at..armored_end]).unwrap();
    let clear = gpg(&home, &["--decrypt", s(&c)]);
    assert!(clear.status.success(), "{clear:?}");
    let inner = String::from_utf8_lossy(&clear.stdout);
    assert!(inner.contains("multipart/signed"), "{inner}");
    assert!(
        inner.contains("Alpha Zorg BV") || inner.contains("org-a"),
        "{inner}"
    );
}

#[test]
fn a_wrong_passphrase_is_refused_before_anything_is_sent() {
    let (_dir, data) = world();
    let out = baken()
        .arg("--data")
        .arg(&data)
        .args(["notify", "--sign-key", s(&key("sender.sec.asc"))])
        .env("BAKEN_SIGN_KEY_PASSPHRASE", "wrong")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("passphrase"), "{err}");
    assert!(
        !data.join("outbox").exists()
            || std::fs::read_dir(data.join("outbox")).unwrap().count() == 0
    );
}

#[test]
fn the_text_summary_counts_signed_and_encrypted_messages() {
    let (_dir, data) = world();
    let out = baken()
        .arg("--data")
        .arg(&data)
        .args(["notify", "--sign-key", s(&key("sender.sec.asc"))])
        .env("BAKEN_SIGN_KEY_PASSPHRASE", "test-passphrase")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("OpenPGP: 1 signed+encrypted, 1 signed"),
        "{text}"
    );
}
