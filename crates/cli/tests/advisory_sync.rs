//! `baken advisory sync` against a CSAF provider served from a temporary directory on
//! 127.0.0.1 (Python's http.server), laid out as the standard's directory-based example.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::run_ok;
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
