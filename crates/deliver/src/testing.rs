//! A real SMTP server on 127.0.0.1 for tests (cargo feature `testing`).
//!
//! [`SmtpSink::start`] runs `tests/support/smtp_sink.py` (aiosmtpd) on a port the OS picks and
//! collects what it receives in a temporary directory; dropping the sink stops the server.
//! The Python interpreter is `$BAKEN_TEST_PYTHON`, else the workspace's
//! `target/test-venv/bin/python`, which `scripts/test.sh` (through `scripts/test-venv.sh`)
//! creates. Without a Python that has aiosmtpd, or without the `openssl` command for
//! TLS certificates, [`SmtpSink::start`] panics and says what to do: the tests fail
//! rather than pass without having run.
//!
//! ```no_run
//! use baken_deliver::testing::{SinkOptions, SmtpSink};
//! use std::time::Duration;
//!
//! let sink = SmtpSink::start(SinkOptions::default());
//! let url = format!("{}?tls=none&helo=test.example", sink.url());
//! // ... deliver something to `url` ...
//! let received = sink.wait_for(1, Duration::from_secs(10));
//! assert_eq!(received[0].envelope.rcpt_tos, ["abuse@org.example"]);
//! ```
//!
//! Helpers here panic instead of returning errors: they are for tests only.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What the test server should do beyond accepting mail.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// Require AUTH (PLAIN or LOGIN) with this user and password; allowed without TLS.
    pub auth: Option<(String, String)>,
    /// Offer STARTTLS with a fresh self-signed certificate for `localhost` and `127.0.0.1`
    /// (made with the `openssl` command); clients need `insecure=true`.
    pub starttls: bool,
    /// Speak TLS from the first byte (implicit TLS, for `smtps://`) with such a certificate.
    /// Excludes `starttls`.
    pub implicit_tls: bool,
    /// Answer `550` to RCPT TO for these addresses.
    pub reject: Vec<String>,
}

/// The SMTP envelope and session facts of one received message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct SinkEnvelope {
    /// The MAIL FROM address.
    pub mail_from: String,
    /// The accepted RCPT TO addresses.
    pub rcpt_tos: Vec<String>,
    /// The user that authenticated, if any.
    pub auth_user: Option<String>,
    /// Whether the session was upgraded with STARTTLS.
    pub starttls: bool,
    /// Whether the session was encrypted, by STARTTLS or implicit TLS.
    pub tls: bool,
}

/// One message the test server accepted.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    /// Envelope and session facts.
    pub envelope: SinkEnvelope,
    /// The message bytes as received after DATA (CRLF line endings).
    pub raw: Vec<u8>,
}

/// A running aiosmtpd server on 127.0.0.1, stopped when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    /// The port it listens on.
    pub port: u16,
    /// The directory it writes `<n>.eml` and `<n>.json` into.
    pub dir: PathBuf,
    child: Child,
    log: PathBuf,
    _temp: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts a server; panics with instructions if Python with aiosmtpd (or, for STARTTLS,
    /// the `openssl` command) is missing, or if the server does not come up.
    pub fn start(options: SinkOptions) -> SmtpSink {
        let python = python();
        let temp = tempfile::tempdir().expect("create a temporary directory for the smtp sink");
        let dir = temp.path().join("mail");
        let log = temp.path().join("sink.log");
        let mut cmd = Command::new(python);
        cmd.arg("-u")
            .arg(script())
            .arg(&dir)
            .arg("--exit-on-stdin-eof");
        if let Some((user, password)) = &options.auth {
            cmd.arg("--auth").arg(format!("{user}:{password}"));
        }
        assert!(
            !(options.starttls && options.implicit_tls),
            "SinkOptions: starttls and implicit_tls exclude each other"
        );
        if options.starttls || options.implicit_tls {
            let (cert, key) = self_signed_certificate(temp.path());
            let flag = if options.starttls {
                "--starttls"
            } else {
                "--tls"
            };
            cmd.arg(flag).arg(cert).arg(key);
        }
        for rcpt in &options.reject {
            cmd.arg("--reject").arg(rcpt);
        }
        let log_file = std::fs::File::create(&log).expect("create the smtp sink's log file");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));

        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse::<u16>().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the smtp sink did not start (first line {line:?}); its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        SmtpSink {
            port,
            dir,
            child,
            log,
            _temp: temp,
        }
    }

    /// `smtp://127.0.0.1:<port>`; add query parameters as needed.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, in order of arrival.
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        let mut numbers: Vec<u64> = std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let name = e.file_name().into_string().ok()?;
                        name.strip_suffix(".json")?.parse().ok()
                    })
                    .collect()
            })
            .unwrap_or_default();
        numbers.sort_unstable();
        numbers
            .into_iter()
            .map(|n| {
                let json = self.dir.join(format!("{n}.json"));
                let text = std::fs::read_to_string(&json)
                    .unwrap_or_else(|e| panic!("read {}: {e}", json.display()));
                let envelope = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("parse {}: {e}", json.display()));
                let eml = self.dir.join(format!("{n}.eml"));
                let raw =
                    std::fs::read(&eml).unwrap_or_else(|e| panic!("read {}: {e}", eml.display()));
                ReceivedMessage { envelope, raw }
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived and returns them all; panics after `timeout`.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMessage> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the smtp sink received {} message(s) within {timeout:?}, expected {n}; its log:\n{}",
                    messages.len(),
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The workspace root (this crate is `crates/deliver`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn script() -> PathBuf {
    workspace_root().join("tests/support/smtp_sink.py")
}

/// The Python interpreter with aiosmtpd; panics with instructions when there is none.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let (python, source) = match std::env::var_os("BAKEN_TEST_PYTHON") {
            Some(p) => (PathBuf::from(p), "$BAKEN_TEST_PYTHON"),
            None => (
                workspace_root().join("target/test-venv/bin/python"),
                "the default test venv",
            ),
        };
        let ok = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            panic!(
                "no Python with aiosmtpd at {} ({source}): run the tests with scripts/test.sh, \
                 which creates target/test-venv, or point BAKEN_TEST_PYTHON at a Python that has \
                 aiosmtpd",
                python.display()
            );
        }
        python
    })
}

/// Makes a self-signed certificate for `localhost` and `127.0.0.1` with the openssl command.
fn self_signed_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let output = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "the STARTTLS test needs the openssl command to make a certificate, and it \
                 could not run ({e}); install it (Debian: apt-get install openssl)"
            )
        });
    assert!(
        output.status.success(),
        "openssl could not make a test certificate: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (cert, key)
}
