//! `registry discover-contacts`: security contacts from security.txt files (RFC 9116), from
//! a directory and over HTTPS from a loopback server with a self-signed certificate.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{run, run_ok, s};
use serde_json::Value;

const REGISTRY: &str = r#"
[[organisation]]
id = "org-a"
name = "Alpha Zorg BV"
sector = "health"
vital = true
networks = ["198.18.1.0/24"]
domains = ["alpha.example"]

[[organisation]]
id = "org-b"
name = "Beta BV"
networks = ["198.18.2.0/24"]
domains = ["beta.example"]
contacts = [{ email = "abuse@beta.example", role = "abuse" }]

[[organisation]]
id = "org-c"
name = "Gamma BV"
domains = ["gamma.example"]

[[organisation]]
id = "org-d"
name = "Delta BV"
domains = ["delta.example"]

[[organisation]]
id = "org-e"
name = "Epsilon BV"
domains = ["epsilon.example"]
contacts = [{ email = "soc@epsilon.example", role = "security" }]
"#;

fn key_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deliver/tests/data")
        .join(name)
}

/// A cleartext signature of `text` by the test sender key, made with gpg.
fn clearsign(text: &str) -> String {
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
        gpg(&["--import", s(&key_file("sender.sec.asc"))])
            .status
            .success()
    );
    let f = home.path().join("in.txt");
    std::fs::write(&f, text).unwrap();
    let out = gpg(&["--clearsign", "--output", "-", s(&f)]);
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The files of the world: alpha signed and good, beta unsigned (CRLF), gamma expired,
/// delta signed and then changed, epsilon never read (it has a contact).
fn files(dir: &Path) {
    std::fs::create_dir_all(dir.join("alpha.example")).unwrap();
    std::fs::write(
        dir.join("alpha.example/security.txt"),
        clearsign(
            "# Alpha\nContact: mailto:csirt@alpha.example\nContact: https://alpha.example/report\n\
             Expires: 2099-01-01T00:00:00Z\nPreferred-Languages: nl\n",
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("beta.example.txt"),
        "Contact: mailto:security@beta.example\r\nExpires: 2099-01-01T00:00:00Z\r\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("gamma.example.txt"),
        "Contact: mailto:security@gamma.example\nExpires: 2021-01-01T00:00:00Z\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("delta.example.txt"),
        clearsign("Contact: mailto:security@delta.example\nExpires: 2099-01-01T00:00:00Z\n")
            .replace("security@delta", "attacker@delta"),
    )
    .unwrap();
    std::fs::write(
        dir.join("epsilon.example.txt"),
        "Contact: mailto:other@epsilon.example\nExpires: 2099-01-01T00:00:00Z\n",
    )
    .unwrap();
}

fn world() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry.toml");
    std::fs::write(&registry, REGISTRY).unwrap();
    run_ok(&data, &["registry", "import", s(&registry)]);
    files(&dir.path().join("txt"));
    (dir, data)
}

fn outcome<'a>(report: &'a Value, org: &str) -> &'a Value {
    report["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["organisation"] == org)
        .unwrap_or_else(|| panic!("no outcome for {org}: {report:#}"))
}

#[test]
fn contacts_from_a_directory_are_recorded_with_provenance_and_the_bad_ones_are_not() {
    let (dir, data) = world();
    let out = run_ok(
        &data,
        &[
            "registry",
            "discover-contacts",
            "--from",
            s(&dir.path().join("txt")),
            "--keyring",
            s(&key_file("sender.pub.asc")),
            "--json",
        ],
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["organisations_without_contact"], 4, "{report:#}");
    assert_eq!(report["added"], 2, "{report:#}");
    let a = outcome(&report, "org-a");
    assert_eq!(a["added"], serde_json::json!(["csirt@alpha.example"]));
    assert_eq!(a["signature"]["status"], "good");
    assert!(
        a["notes"][0]
            .as_str()
            .unwrap()
            .contains("https://alpha.example/report is not an e-mail address")
    );
    let b = outcome(&report, "org-b");
    assert_eq!(b["added"], serde_json::json!(["security@beta.example"]));
    assert_eq!(b["signature"]["status"], "unsigned");
    let c = outcome(&report, "org-c");
    assert!(
        c["skipped"]
            .as_str()
            .unwrap()
            .contains("expired on 2021-01-01"),
        "{c}"
    );
    let d = outcome(&report, "org-d");
    assert!(
        d["skipped"]
            .as_str()
            .unwrap()
            .contains("signature does not verify"),
        "{d}"
    );
    assert!(
        report["domains"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["organisation"] != "org-e")
    );

    // recorded with provenance and expiry, and audited
    let lookup: Value = serde_json::from_str(&run_ok(
        &data,
        &["registry", "lookup", "198.18.1.7", "--json"],
    ))
    .unwrap();
    let text = lookup.to_string();
    assert!(text.contains("csirt@alpha.example"), "{text}");
    let audit = run_ok(&data, &["audit", "export"]);
    let discovered: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["kind"] == "contact-discovered")
        .collect();
    assert_eq!(discovered.len(), 2, "{audit}");
    let alpha = discovered.iter().find(|e| e["subject"] == "org-a").unwrap();
    // the body is kept as the JSON text that was hashed
    let body: Value = serde_json::from_str(alpha["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["via"], "security.txt");
    assert_eq!(body["signature"]["status"], "good");
    assert!(
        body["location"]
            .as_str()
            .unwrap()
            .ends_with("alpha.example/security.txt")
    );
    run_ok(&data, &["audit", "verify"]);

    // running again adds nothing: the organisations have a security contact now
    let again: Value = serde_json::from_str(&run_ok(
        &data,
        &[
            "registry",
            "discover-contacts",
            "--from",
            s(&dir.path().join("txt")),
            "--keyring",
            s(&key_file("sender.pub.asc")),
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(again["added"], 0);

    // importing the same registry file again keeps what was discovered: nothing changed
    let reimport = run_ok(
        &data,
        &["registry", "import", s(&dir.path().join("registry.toml"))],
    );
    assert!(reimport.contains("0 changed"), "{reimport}");

    // a finding of org-a goes to the discovered contact, and `why` says where it came from
    let scan = dir.path().join("scan.jsonl");
    std::fs::write(
        &scan,
        format!(
            "{}\n",
            common::scan_event("198.18.1.7", "2020-01-10T06:00:00+00:00", None)
        ),
    )
    .unwrap();
    run_ok(&data, &["ingest", "--feed", "intelmq", s(&scan)]);
    let why = run_ok(&data, &["why", "--incident", "cve-2019-19781", "org-a"]);
    assert!(why.contains("<csirt@alpha.example>"), "{why}");
    assert!(why.contains("contact from security.txt "), "{why}");
    assert!(why.contains("until 2099-01-01T00:00:00Z"), "{why}");
    let digests = common::notify_digests(&data, &[]);
    assert!(
        digests
            .iter()
            .any(|d| d["party"] == "org-a" && d["recipient"] == "csirt@alpha.example"),
        "{digests:?}"
    );
}

#[test]
fn the_text_output_says_why_a_file_was_not_used() {
    let (dir, data) = world();
    let out = run(
        &data,
        &[
            "registry",
            "discover-contacts",
            "--from",
            s(&dir.path().join("txt")),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    // without the keyring, signatures cannot be checked: delta's changed file is used too
    assert!(text.contains("3 security contacts recorded"), "{text}");
    assert!(
        text.contains("org-c gamma.example: its contacts are not used: it expired on 2021-01-01"),
        "{text}"
    );
    // without the keyring, alpha's signature cannot be checked and says so
    assert!(
        text.contains("signed by a key not in the keyring: not checked"),
        "{text}"
    );
}

/// A Python HTTPS server on 127.0.0.1 with a fresh self-signed certificate (openssl),
/// serving `root`; `/moved/...` redirects to the same path without `/moved`, `/away/...`
/// redirects to another host. Killed on drop.
struct HttpsServer {
    child: Child,
    port: u16,
    cert: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SERVER: &str = r#"
import http.server, ssl, sys, os
root, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=root, **k)
    def do_GET(self):
        if self.path.startswith("/moved/"):
            self.send_response(301); self.send_header("Location", self.path[len("/moved"):]); self.end_headers(); return
        if self.path.startswith("/away/"):
            self.send_response(302); self.send_header("Location", "https://other.example" + self.path[len("/away"):]); self.end_headers(); return
        return super().do_GET()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, key)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

impl HttpsServer {
    fn start(root: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // a test CA, and the server's certificate for 127.0.0.1 signed by it
        let p = |name: &str| dir.path().join(name);
        let (ca, ca_key, cert, key) = (p("ca.pem"), p("ca.key"), p("cert.pem"), p("key.pem"));
        std::fs::write(
            p("leaf.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        let openssl = |args: &[&str]| {
            let made = Command::new("openssl")
                .current_dir(dir.path())
                .args(args)
                .output()
                .expect("the openssl command makes the test certificates");
            assert!(made.status.success(), "{made:?}");
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &["-days", "2", "-subj", "/CN=baken test CA"],
                &["-keyout", "ca.key", "-out", "ca.pem"],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req"][..],
                &ec,
                &[
                    "-subj",
                    "/CN=127.0.0.1",
                    "-keyout",
                    "key.pem",
                    "-out",
                    "leaf.csr",
                ],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
            "-out",
            "cert.pem",
        ]);
        let _ = ca_key;
        let python = std::env::var("BAKEN_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(python)
            .args(["-c", SERVER])
            .arg(root)
            .arg(&cert)
            .arg(&key)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python runs");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let port = line.trim().parse().expect("the server prints its port");
        HttpsServer {
            child,
            port,
            cert: ca,
            _dir: dir,
        }
    }
}

/// Runs discover-contacts --fetch against `server` with the URL template `template`.
fn fetch(data: &Path, server: &HttpsServer, template: &str) -> Value {
    let template = template.replace("PORT", &server.port.to_string());
    serde_json::from_str(&run_ok(
        data,
        &[
            "registry",
            "discover-contacts",
            "--fetch",
            "--test-ca-cert",
            s(&server.cert),
            "--test-url-template",
            &template,
            "--json",
        ],
    ))
    .unwrap()
}

#[test]
fn fetched_over_https_following_same_host_redirects_only() {
    let (dir, data) = world();
    let served = dir.path().join("served");
    // served as /<domain>/.well-known/security.txt
    for (domain, file) in [
        ("alpha.example", "alpha.example/security.txt"),
        ("beta.example", "beta.example.txt"),
    ] {
        let target = served.join(domain).join(".well-known");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::copy(
            dir.path().join("txt").join(file),
            target.join("security.txt"),
        )
        .unwrap();
    }
    // beta names its canonical place, which is not where the test serves it
    let beta = served.join("beta.example/.well-known/security.txt");
    let text = std::fs::read_to_string(&beta).unwrap();
    std::fs::write(
        &beta,
        format!("{text}Canonical: https://beta.example/.well-known/security.txt\r\n"),
    )
    .unwrap();
    let server = HttpsServer::start(&served);

    // a redirect to another host is refused
    let away = fetch(
        &data,
        &server,
        "https://127.0.0.1:PORT/away/{domain}/.well-known/security.txt",
    );
    assert_eq!(away["added"], 0, "{away:#}");
    assert!(
        outcome(&away, "org-b")["skipped"]
            .as_str()
            .unwrap()
            .contains("same host only"),
        "{away:#}"
    );
    // plain http is refused
    let plain = run(
        &data,
        &[
            "registry",
            "discover-contacts",
            "--fetch",
            "--test-url-template",
            &format!(
                "http://127.0.0.1:{}/{{domain}}/.well-known/security.txt",
                server.port
            ),
            "--json",
        ],
    );
    let plain: Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert!(
        outcome(&plain, "org-b")["skipped"]
            .as_str()
            .unwrap()
            .contains("https only"),
        "{plain:#}"
    );
    // a same-host redirect is followed; the file's URL is its provenance
    let got = fetch(
        &data,
        &server,
        "https://127.0.0.1:PORT/moved/{domain}/.well-known/security.txt",
    );
    assert_eq!(got["added"], 2, "{got:#}");
    let b = outcome(&got, "org-b");
    assert_eq!(
        b["location"],
        format!(
            "https://127.0.0.1:{}/beta.example/.well-known/security.txt",
            server.port
        )
    );
    assert!(
        b["notes"][0]
            .as_str()
            .unwrap()
            .contains("not among its Canonical URIs"),
        "{b}"
    );
    // a domain without a file says so
    assert_eq!(outcome(&got, "org-c")["skipped"], "no security.txt");
}
