//! `baken advisory sync` against a CSAF provider served from a temporary directory on
//! 127.0.0.1 (Python's http.server), laid out as the standard's directory-based example.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{run, run_ok};
use sha2::{Digest, Sha256};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &Path) -> (Server, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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
    (Server(child), port)
}

fn provider(root: &Path, port: u16) {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/csaf/discovery/gocsaf-testdata/simple-directory-provider");
    let url = format!("http://127.0.0.1:{port}");
    std::fs::create_dir_all(root.join("white")).unwrap();
    let meta = std::fs::read_to_string(shared.join("provider-metadata.json"))
        .unwrap()
        .replace("{{.URL}}", &url);
    std::fs::write(root.join("provider-metadata.json"), meta).unwrap();
    for f in ["changes.csv", "index.txt", "avendor-advisory-0004.json"] {
        std::fs::copy(shared.join("white").join(f), root.join("white").join(f)).unwrap();
    }
    hash_file(&root.join("white/avendor-advisory-0004.json"));
}

fn hash_file(doc: &Path) {
    let hex: String = Sha256::digest(std::fs::read(doc).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let name = doc.file_name().unwrap().to_str().unwrap();
    std::fs::write(
        doc.with_extension("json.sha256"),
        format!("{hex}  {name}\n"),
    )
    .unwrap();
}

#[test]
fn sync_imports_verified_documents_once_and_reports_what_it_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    std::fs::create_dir_all(&root).unwrap();
    let (_server, port) = serve(&root);
    provider(&root, port);
    let data = dir.path().join("data");
    let source = format!("http://127.0.0.1:{port}/provider-metadata.json");

    let out = run_ok(&data, &["advisory", "sync", &source]);
    assert!(out.contains("Avendor-advisory-0004 revision 1"), "{out}");
    assert!(
        out.contains("1 fetched (0 rejected), 0 skipped, 0 unchanged"),
        "{out}"
    );
    assert!(run_ok(&data, &["advisory", "list"]).contains("Avendor-advisory-0004"));

    // Nothing changed: nothing is fetched again.
    let out = run_ok(&data, &["advisory", "sync", &source]);
    assert!(
        out.contains("0 fetched (0 rejected), 0 skipped, 1 unchanged"),
        "{out}"
    );

    // A new document whose hash file was tampered with, and one listed but missing.
    let white = root.join("white");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(white.join("avendor-advisory-0004.json")).unwrap())
            .unwrap();
    doc["document"]["tracking"]["id"] = "Avendor-advisory-0005".into();
    std::fs::write(
        white.join("avendor-advisory-0005.json"),
        serde_json::to_vec(&doc).unwrap(),
    )
    .unwrap();
    std::fs::write(
        white.join("avendor-advisory-0005.json.sha256"),
        format!("{}  avendor-advisory-0005.json\n", "0".repeat(64)),
    )
    .unwrap();
    let changes = std::fs::read_to_string(white.join("changes.csv")).unwrap();
    std::fs::write(
        white.join("changes.csv"),
        format!(
            "\"avendor-advisory-0006.json\",\"2020-01-03T00:00:00+00:00\"\n\
             \"avendor-advisory-0005.json\",\"2020-01-02T00:00:00+00:00\"\n{changes}"
        ),
    )
    .unwrap();
    let out = run_ok(&data, &["advisory", "sync", &source]);
    assert!(
        out.contains("0 fetched (0 rejected), 2 skipped, 1 unchanged"),
        "{out}"
    );
    let skipped: Vec<&str> = out.lines().filter(|l| l.contains("skipped")).collect();
    assert!(
        skipped
            .iter()
            .any(|l| l.contains("avendor-advisory-0005.json")
                && l.to_lowercase().contains("sha-256")),
        "{out}"
    );
    assert!(
        skipped
            .iter()
            .any(|l| l.contains("avendor-advisory-0006.json") && l.contains("404")),
        "{out}"
    );
    assert!(!run_ok(&data, &["advisory", "list"]).contains("Avendor-advisory-0005"));
}

/// GnuPG in a temporary home: `(home, fingerprint)` of a new ed25519 signing key.
fn gpg_key(uid: &str) -> (tempfile::TempDir, String) {
    let home = tempfile::Builder::new()
        .prefix("gpg")
        .tempdir_in("/tmp")
        .unwrap();
    gpg(
        home.path(),
        &[
            "--passphrase",
            "",
            "--quick-gen-key",
            uid,
            "ed25519",
            "sign",
            "never",
        ],
    );
    let listing =
        String::from_utf8(gpg(home.path(), &["--with-colons", "--list-keys", uid])).unwrap();
    let fingerprint = listing
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .and_then(|l| l.split(':').nth(9))
        .unwrap()
        .to_string();
    (home, fingerprint)
}

fn gpg(home: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--yes", "--no-tty", "--quiet"])
        .args(args)
        .output()
        .expect("gpg runs (scripts/test-deps.sh installs GnuPG)");
    assert!(
        out.status.success(),
        "gpg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn sync_refuses_badly_signed_documents_and_reports_unsigned_ones() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    std::fs::create_dir_all(&root).unwrap();
    let (_server, port) = serve(&root);
    provider(&root, port);
    let (home, fingerprint) = gpg_key("csaf@provider.example");
    let white = root.join("white");

    // 0004 signed; 0005 signed, then altered (its hash file made anew); 0006 unsigned
    let original = std::fs::read(white.join("avendor-advisory-0004.json")).unwrap();
    for n in ["5", "6"] {
        let mut doc: serde_json::Value = serde_json::from_slice(&original).unwrap();
        doc["document"]["tracking"]["id"] = format!("Avendor-advisory-000{n}").into();
        let path = white.join(format!("avendor-advisory-000{n}.json"));
        std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    }
    for n in ["4", "5"] {
        let doc = white.join(format!("avendor-advisory-000{n}.json"));
        let asc = white.join(format!("avendor-advisory-000{n}.json.asc"));
        gpg(
            home.path(),
            &[
                "--armor",
                "--output",
                asc.to_str().unwrap(),
                "--detach-sign",
                doc.to_str().unwrap(),
            ],
        );
    }
    let tampered = white.join("avendor-advisory-0005.json");
    let text = std::fs::read_to_string(&tampered)
        .unwrap()
        .replacen("0005", "0007", 1);
    std::fs::write(&tampered, text).unwrap();
    for n in ["4", "5", "6"] {
        hash_file(&white.join(format!("avendor-advisory-000{n}.json")));
    }
    let changes = std::fs::read_to_string(white.join("changes.csv")).unwrap();
    std::fs::write(
        white.join("changes.csv"),
        format!(
            "\"avendor-advisory-0006.json\",\"2020-01-03T00:00:00+00:00\"\n\
             \"avendor-advisory-0005.json\",\"2020-01-02T00:00:00+00:00\"\n{changes}"
        ),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("openpgp")).unwrap();
    std::fs::write(
        root.join("openpgp/pubkey.asc"),
        gpg(home.path(), &["--armor", "--export", &fingerprint]),
    )
    .unwrap();
    let meta = std::fs::read_to_string(root.join("provider-metadata.json"))
        .unwrap()
        .replace("A8914CA2F11139C6A69A0018FB3CD9B15DE61596", &fingerprint);
    std::fs::write(root.join("provider-metadata.json"), meta).unwrap();

    let data = dir.path().join("data");
    let source = format!("http://127.0.0.1:{port}/provider-metadata.json");
    let out = run(&data, &["advisory", "sync", &source]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "key http://127.0.0.1:{port}/openpgp/pubkey.asc: {fingerprint}"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 fetched (0 rejected), 0 skipped, 0 unchanged, 1 refused for their signature, 1 unsigned"),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.contains("refused")
            && l.contains("avendor-advisory-0005.json")
            && l.contains("BAD signature")),
        "{stdout}"
    );
    assert!(
        stderr.contains("avendor-advisory-0006.json has no OpenPGP signature"),
        "{stderr}"
    );
    assert!(stderr.contains("1 document(s) refused"), "{stderr}");
    let list = run_ok(&data, &["advisory", "list"]);
    assert!(
        list.contains("Avendor-advisory-0004") && list.contains("Avendor-advisory-0006"),
        "{list}"
    );
    assert!(
        !list.contains("Avendor-advisory-0005") && !list.contains("Avendor-advisory-0007"),
        "{list}"
    );

    // signatures required: the unsigned one would be refused too (a fresh store)
    let strict = dir.path().join("strict");
    let out = run(
        &strict,
        &["advisory", "sync", &source, "--require-signatures"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("1 fetched (0 rejected), 0 skipped, 0 unchanged, 2 refused for their signature, 0 unsigned"), "{stdout}");
    assert!(!run_ok(&strict, &["advisory", "list"]).contains("Avendor-advisory-0006"));
    let _ = gpg_kill(home.path());
}

fn gpg_kill(home: &Path) -> std::io::Result<std::process::Output> {
    Command::new("gpgconf")
        .env("GNUPGHOME", home)
        .args(["--kill", "gpg-agent"])
        .output()
}
