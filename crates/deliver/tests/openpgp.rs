//! PGP/MIME messages (RFC 3156) checked with GnuPG as an independent oracle: gpg verifies the
//! signature over the signed part exactly as an outbox `.eml` holds it, refuses it once a byte
//! changed, and decrypts the encrypted form to the signed message with the finding in it.
//!
//! The keys under `tests/data/` were made for these tests only (see its README); gpg runs
//! with a temporary home (`GNUPGHOME`) and `--batch`. `scripts/test-deps.sh` installs gpg.

use std::path::{Path, PathBuf};

use mail_parser::MimeHeaders;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use baken_deliver::{
    Attachment, OpenPgp, Outbox, OutgoingMessage, Protection, PublicKey, SigningKey, Transport,
};

const FINDING: &str = "198.18.4.7,443,tcp,CVE-2019-19781";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn signer() -> Arc<SigningKey> {
    let bytes = std::fs::read(data("sender.sec.asc")).unwrap();
    Arc::new(SigningKey::parse(&bytes, Some("test-passphrase"), SystemTime::now()).unwrap())
}

fn recipient() -> Arc<PublicKey> {
    let text = std::fs::read_to_string(data("recipient.pub.asc")).unwrap();
    Arc::new(PublicKey::for_encryption(&text, SystemTime::now()).unwrap())
}

fn msg(key: &str, encrypt: bool) -> OutgoingMessage {
    OutgoingMessage {
        key: key.into(),
        from: "baken NCSC <baken@ncsc.example>".into(),
        to: vec!["soc@zorg.example".into()],
        subject: "[TLP:AMBER] 1 vulnerable host (CVE-2019-19781)".into(),
        // trailing spaces, a line starting with "From " and a non-ASCII word: what relays
        // like to change, and what the signed part must carry unchanged
        text: "TLP:AMBER  \nDear colleagues,\nFrom our scans: één host.\n".into(),
        attachments: vec![Attachment::csv(
            "findings.csv",
            format!("ip,port,transport,cve\n{FINDING}\n").into_bytes(),
        )],
        headers: vec![("Content-Language".into(), "en".into())],
        date: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        openpgp: Some(OpenPgp {
            signer: signer(),
            encrypt_to: encrypt.then(recipient),
        }),
    }
}

/// A GnuPG home of its own with the given keys imported.
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn with_keys(keys: &[&str]) -> Self {
        let home = tempfile::tempdir().unwrap();
        let gpg = Gpg { home };
        for key in keys {
            let out = gpg.run(&["--import", data(key).to_str().unwrap()]);
            assert!(out.status.success(), "gpg --import {key}: {out:?}");
        }
        gpg
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--no-tty", "--pinentry-mode", "loopback"])
            .args(["--passphrase", ""])
            .args(args)
            .output()
            .expect("gpg runs (scripts/test-deps.sh installs GnuPG)")
    }

    /// `gpg --verify SIG DATA`: whether gpg reports a good signature.
    fn verifies(&self, signed: &[u8], signature: &[u8]) -> bool {
        let dir = tempfile::tempdir().unwrap();
        let (d, s) = (dir.path().join("signed"), dir.path().join("signature.asc"));
        std::fs::write(&d, signed).unwrap();
        std::fs::write(&s, signature).unwrap();
        let out = self.run(&[
            "--status-fd",
            "1",
            "--verify",
            s.to_str().unwrap(),
            d.to_str().unwrap(),
        ]);
        let status = String::from_utf8_lossy(&out.stdout);
        let good = out.status.success() && status.contains("[GNUPG:] GOODSIG");
        if !good {
            eprintln!(
                "gpg --verify: {status}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        good
    }

    fn decrypt(&self, armored: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("encrypted.asc");
        std::fs::write(&c, armored).unwrap();
        let out = self.run(&["--decrypt", c.to_str().unwrap()]);
        assert!(out.status.success(), "gpg --decrypt: {out:?}");
        out.stdout
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The value of `boundary="…"` in the first Content-Type of `entity`.
fn boundary(entity: &[u8]) -> String {
    let text = String::from_utf8_lossy(entity);
    let at = text.find("boundary=\"").expect("a multipart boundary") + "boundary=\"".len();
    text[at..].split('"').next().unwrap().to_string()
}

/// The parts of a multipart entity, each exactly the bytes between its delimiter line and the
/// CRLF before the next delimiter (RFC 2046 section 5.1.1).
fn parts(entity: &[u8]) -> Vec<Vec<u8>> {
    let b = boundary(entity);
    let open = format!("--{b}\r\n");
    let next = format!("\r\n--{b}");
    let mut out = Vec::new();
    let mut at = find(entity, open.as_bytes()).expect("a first delimiter") + open.len();
    while let Some(end) = find(&entity[at..], next.as_bytes()) {
        out.push(entity[at..at + end].to_vec());
        let after = at + end + next.len();
        if entity[after..].starts_with(b"--") {
            break;
        }
        at = after + 2; // the delimiter line's CRLF
    }
    out
}

/// The body of a part (after the blank line ending its header).
fn body(part: &[u8]) -> &[u8] {
    &part[find(part, b"\r\n\r\n").expect("a header") + 4..]
}

fn header_of(entity: &[u8]) -> String {
    String::from_utf8_lossy(&entity[..find(entity, b"\r\n\r\n").unwrap()]).into_owned()
}

fn outbox_eml(msg: &OutgoingMessage) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::new(dir.path()).unwrap();
    let receipt = outbox.deliver(msg).unwrap();
    std::fs::read(&receipt.destination).unwrap()
}

/// Checks a `multipart/signed` entity with gpg; returns the signed part.
fn check_signed(gpg: &Gpg, entity: &[u8]) -> Vec<u8> {
    let head = header_of(entity);
    assert!(head.contains("multipart/signed"), "{head}");
    assert!(
        head.contains("protocol=\"application/pgp-signature\""),
        "{head}"
    );
    // a MIME parameter value may be quoted (RFC 2045 section 5.1)
    assert!(
        head.contains("micalg=\"pgp-sha256\"") || head.contains("micalg=pgp-sha256"),
        "{head}"
    );
    let parts = parts(entity);
    assert_eq!(parts.len(), 2, "a signed part and a signature");
    assert!(header_of(&parts[1]).contains("application/pgp-signature"));
    assert!(
        gpg.verifies(&parts[0], body(&parts[1])),
        "gpg does not verify the signature"
    );
    parts[0].clone()
}

#[test]
fn gpg_verifies_the_signed_part_of_an_outbox_message_and_not_a_changed_one() {
    let msg = msg("signed-1", false);
    assert_eq!(msg.protection(), Protection::Signed);
    let eml = outbox_eml(&msg);
    let gpg = Gpg::with_keys(&["sender.pub.asc"]);
    let signed = check_signed(&gpg, &eml);
    // the signed part holds the text and the findings
    assert!(header_of(&signed).contains("multipart/mixed"));
    let inner = parts(&signed);
    assert_eq!(inner.len(), 2);
    assert!(header_of(&inner[0]).contains("quoted-printable"));
    assert!(header_of(&inner[1]).contains("base64"));
    use base64::Engine;
    let csv: Vec<u8> = body(&inner[1])
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let csv = base64::engine::general_purpose::STANDARD
        .decode(csv)
        .unwrap();
    assert!(String::from_utf8(csv).unwrap().contains(FINDING));

    // one changed byte of the text: gpg must refuse the signature
    let signature = body(&parts(&eml)[1]).to_vec();
    let mut tampered = signed.clone();
    let at = find(&tampered, b"Dear").unwrap();
    tampered[at] = b'N';
    assert!(!gpg.verifies(&tampered, &signature));
    // and an unknown key does not verify either
    let stranger = Gpg::with_keys(&["recipient.pub.asc"]);
    assert!(!stranger.verifies(&signed, &signature));
}

#[test]
fn gpg_decrypts_the_encrypted_message_to_the_signed_one_with_the_finding() {
    let msg = msg("encrypted-1", true);
    assert_eq!(msg.protection(), Protection::SignedEncrypted);
    let eml = outbox_eml(&msg);
    let head = header_of(&eml);
    assert!(head.contains("multipart/encrypted"), "{head}");
    assert!(
        head.contains("protocol=\"application/pgp-encrypted\""),
        "{head}"
    );
    // the finding is not readable in the message as sent
    assert!(find(&eml, b"198.18.4.7").is_none());
    assert!(find(&eml, b"Dear colleagues").is_none());
    let outer = parts(&eml);
    assert_eq!(outer.len(), 2);
    assert!(header_of(&outer[0]).contains("application/pgp-encrypted"));
    assert_eq!(body(&outer[0]), b"Version: 1\r\n");
    assert!(header_of(&outer[1]).contains("application/octet-stream"));

    let gpg = Gpg::with_keys(&["recipient.sec.asc", "sender.pub.asc"]);
    let clear = gpg.decrypt(body(&outer[1]));
    // signed, then encrypted: inside is the multipart/signed message, and its signature holds
    let signed = check_signed(&gpg, &clear);
    let text = String::from_utf8_lossy(&signed);
    assert!(text.contains("Dear colleagues"), "{text}");
    use base64::Engine;
    let inner = parts(&signed);
    let csv: Vec<u8> = body(&inner[1])
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let csv = base64::engine::general_purpose::STANDARD
        .decode(csv)
        .unwrap();
    assert!(String::from_utf8(csv).unwrap().contains(FINDING));
    // a key that is not the recipient's cannot decrypt it
    let other = Gpg::with_keys(&["sender.pub.asc"]);
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("encrypted.asc");
    std::fs::write(&c, body(&outer[1])).unwrap();
    assert!(
        !other
            .run(&["--decrypt", c.to_str().unwrap()])
            .status
            .success()
    );
}

#[test]
fn a_signed_message_without_attachments_signs_its_text_part() {
    let mut msg = msg("signed-2", false);
    msg.attachments.clear();
    let eml = baken_deliver::render(&msg).unwrap();
    let gpg = Gpg::with_keys(&["sender.pub.asc"]);
    let signed = check_signed(&gpg, &eml);
    assert!(header_of(&signed).contains("text/plain"));
    // with a fixed date, signing is deterministic (EdDSA) and so is the whole message
    assert_eq!(eml, baken_deliver::render(&msg).unwrap());
}

#[test]
fn the_mime_structure_reads_back_with_an_independent_parser() {
    let eml = baken_deliver::render(&msg("signed-3", false)).unwrap();
    let parsed = mail_parser::MessageParser::default().parse(&eml).unwrap();
    assert_eq!(
        parsed.subject(),
        Some("[TLP:AMBER] 1 vulnerable host (CVE-2019-19781)")
    );
    let text = parsed.body_text(0).unwrap();
    assert!(text.contains("From our scans: één host."), "{text}");
    assert!(
        parsed
            .attachments()
            .any(|a| a.attachment_name() == Some("findings.csv"))
    );
}
