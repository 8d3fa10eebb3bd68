//! `baken advisory new` and `baken advisory publish` end to end: an authored advisory is
//! published as a CSAF 2.0 provider directory, served on 127.0.0.1 (Python's http.server),
//! and `baken advisory sync` of it into another data directory checks every hash and
//! signature and imports it; GnuPG verifies a signature on its own.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use baken_store::{SqliteStore, prelude::*};
use common::{run, run_ok, s};
use sha2::{Digest, Sha512};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(dir: &Path, port: u16) -> Server {
    let python = std::env::var("BAKEN_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let child = Command::new(python)
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs http.server");
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "http.server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server(child)
}

/// A temporary GnuPG home (short path: the agent's socket), its agent stopped when dropped.
struct Gpg(tempfile::TempDir);

impl Gpg {
    fn new() -> Gpg {
        Gpg(tempfile::Builder::new()
            .prefix("gpg")
            .tempdir_in("/tmp")
            .unwrap())
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("gpg")
            .env("GNUPGHOME", self.0.path())
            .args(["--batch", "--yes", "--no-tty", "--quiet"])
            .args(args)
            .output()
            .expect("gpg runs (scripts/test-deps.sh installs GnuPG)")
    }

    fn ok(&self, args: &[&str]) -> Vec<u8> {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.0.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

/// A signing key made by GnuPG, its secret exported armored without a passphrase.
fn secret_key(gpg: &Gpg, file: &Path) {
    gpg.ok(&[
        "--passphrase",
        "",
        "--quick-gen-key",
        "csaf@csirt.example",
        "ed25519",
        "sign",
        "never",
    ]);
    let secret = gpg.ok(&[
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
        "--armor",
        "--export-secret-keys",
        "csaf@csirt.example",
    ]);
    std::fs::write(file, secret).unwrap();
}

fn new_advisory(data: &Path, id: &str, tlp: &str) {
    run_ok(
        data,
        &[
            "advisory",
            "new",
            "--id",
            id,
            "--cve",
            "CVE-2019-19781",
            "--product",
            "Citrix/ADC/13.0,<13.0.47.24",
            "--product",
            "Citrix/Gateway/12.1",
            "--cvss",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "--tlp",
            tlp,
        ],
    );
}

#[test]
fn a_published_directory_syncs_with_hashes_and_signatures_checked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gpg = Gpg::new();
    let key = dir.path().join("secret.asc");
    secret_key(&gpg, &key);

    // authored, validated, stored; written out too
    let written = dir.path().join("authored.json");
    let out = run_ok(
        &data,
        &[
            "advisory",
            "new",
            "--id",
            "NCSC-2026-0001",
            "--cve",
            "CVE-2019-19781",
            "--product",
            "Citrix/ADC/13.0,<13.0.47.24",
            "--out",
            s(&written),
        ],
    );
    assert!(
        out.contains("NCSC-2026-0001: CSAF 2.0 advisory, TLP:WHITE, stored"),
        "{out}"
    );
    // an edited document is stored as a new revision
    let mut edited: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&written).unwrap()).unwrap();
    edited["document"]["title"] = "Citrix ADC: remote code execution (edited)".into();
    edited["document"]["tracking"]["version"] = "2".into();
    edited["document"]["tracking"]["current_release_date"] = "2030-01-01T00:00:00Z".into();
    edited["document"]["tracking"]["revision_history"]
        .as_array_mut()
        .unwrap()
        .push(
            serde_json::json!({"number": "2", "date": "2030-01-01T00:00:00Z", "summary": "Title."}),
        );
    std::fs::write(&written, serde_json::to_vec(&edited).unwrap()).unwrap();
    let out = run_ok(&data, &["advisory", "new", "--from", s(&written)]);
    assert!(out.contains("stored as a new revision"), "{out}");
    new_advisory(&data, "NCSC-2026-0002", "CLEAR");

    let web = dir.path().join("web");
    let root = web.join(".well-known/csaf");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/.well-known/csaf");
    let out = run_ok(
        &data,
        &[
            "advisory",
            "publish",
            "NCSC-2026-0001",
            "NCSC-2026-0002",
            "--out",
            s(&root),
            "--base-url",
            &base,
            "--key",
            s(&key),
        ],
    );
    assert!(out.contains("2 published now, 2 listed"), "{out}");
    let year = chrono::Utc::now().format("%Y").to_string();
    let doc = root.join(format!("white/{year}/ncsc-2026-0001.json"));
    for suffix in ["", ".sha256", ".sha512", ".asc"] {
        let mut p = doc.clone().into_os_string();
        p.push(suffix);
        assert!(PathBuf::from(&p).exists(), "{p:?}");
    }
    let sha512 =
        std::fs::read_to_string(root.join(format!("white/{year}/ncsc-2026-0001.json.sha512")))
            .unwrap();
    let hex: String = Sha512::digest(std::fs::read(&doc).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sha512, format!("{hex}  ncsc-2026-0001.json\n"));
    let index = std::fs::read_to_string(root.join("white/index.txt")).unwrap();
    assert_eq!(
        index,
        format!("white/{year}/ncsc-2026-0001.json\nwhite/{year}/ncsc-2026-0002.json\n")
            .replace("white/", "")
    );
    let changes = std::fs::read_to_string(root.join("white/changes.csv")).unwrap();
    // newest first: the edited revision is dated 2030
    assert!(
        changes.starts_with(&format!(
            "\"{year}/ncsc-2026-0001.json\",\"2030-01-01T00:00:00.000Z\"\n"
        )),
        "{changes}"
    );
    let feed: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("white/csaf-feed-tlp-white.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(feed["feed"]["entry"].as_array().unwrap().len(), 2);
    let metadata: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("provider-metadata.json")).unwrap())
            .unwrap();
    assert_eq!(metadata["role"], "csaf_provider");
    let fingerprint = metadata["public_openpgp_keys"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();

    // GnuPG, knowing only the published public key, holds the signature good
    let verifier = Gpg::new();
    verifier.ok(&[
        "--import",
        s(&root.join(format!("openpgp/{fingerprint}.asc"))),
    ]);
    let mut asc = doc.clone().into_os_string();
    asc.push(".asc");
    let verified = verifier.run(&["--verify", asc.to_str().unwrap(), s(&doc)]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );

    // another baken syncs it, every hash and signature checked
    let _server = serve(&web, port);
    let other = dir.path().join("other");
    let out = run_ok(
        &other,
        &[
            "advisory",
            "sync",
            &format!("{base}/provider-metadata.json"),
            "--require-signatures",
        ],
    );
    assert!(
        out.contains(&format!(
            "key {base}/openpgp/{fingerprint}.asc: {fingerprint}"
        )),
        "{out}"
    );
    assert!(out.contains("NCSC-2026-0001 revision 2"), "{out}");
    assert!(out.contains("NCSC-2026-0002 revision 1"), "{out}");
    assert!(out.contains("0 refused"), "{out}");
    let list = run_ok(&other, &["advisory", "list"]);
    assert!(list.contains("(edited)"), "{list}");

    // publishing is audited
    let store = SqliteStore::open(&data).unwrap();
    let entry = store
        .audit_log()
        .unwrap()
        .into_iter()
        .find(|e| e.kind == "advisory-published")
        .expect("publishing is audited");
    assert!(entry.body.contains("NCSC-2026-0002"), "{}", entry.body);
    assert!(entry.body.contains(&fingerprint), "{}", entry.body);
}

#[test]
fn only_tlp_white_advisories_go_to_a_public_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gpg = Gpg::new();
    let key = dir.path().join("secret.asc");
    secret_key(&gpg, &key);
    new_advisory(&data, "NCSC-2026-0003", "AMBER");
    let root = dir.path().join("csaf");
    let out = run(
        &data,
        &[
            "advisory",
            "publish",
            "NCSC-2026-0003",
            "--out",
            s(&root),
            "--base-url",
            "https://csirt.example/.well-known/csaf",
            "--key",
            s(&key),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("NCSC-2026-0003 is TLP:AMBER"), "{err}");
    assert!(!root.exists(), "nothing written");
    // what cannot be written as CSAF is refused before anything is stored
    let bad = run(
        &data,
        &["advisory", "new", "--cve", "CVE-19781", "--product", "a/b"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a CVE id"));
}
