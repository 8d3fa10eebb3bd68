//! A CSAF provider served from a temporary directory on 127.0.0.1 by a tiny static-file
//! HTTP server (std::net, one request per connection), recording every path it is asked.
// each test crate that includes this module uses a part of it
#![allow(dead_code)]

pub mod gpg;

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use baken_csaf_sync::Options;
use sha2::{Digest, Sha256, Sha512};

/// The one document of gocsaf's test providers.
pub const DOC: &str = "avendor-advisory-0004.json";

/// Options for tests: no proxy from the environment, short timeouts.
pub fn options() -> Options {
    Options {
        use_env_proxy: false,
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(20),
        ..Options::default()
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/csaf/discovery/gocsaf-testdata")
}

/// A provider laid out in a temporary directory and served on loopback.
pub struct Provider {
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    server: Server,
}

impl Provider {
    /// gocsaf's `simple-directory-provider`, with `.sha256` and `.sha512` files generated
    /// for its document.
    pub fn directory() -> Self {
        let p = Provider::serve("simple-directory-provider", &[]);
        p.write_hashes(&format!("white/{DOC}"));
        p
    }

    /// gocsaf's `simple-rolie-provider`, its feed listing the `.sha256` / `.sha512` hash
    /// links as asked (and those files generated). The feed's `content.src` names the
    /// document at the root; it is placed there and under `white/`.
    pub fn rolie(sha256: bool, sha512: bool) -> Self {
        let p = Provider::serve(
            "simple-rolie-provider",
            &[(".EnableSha256", sha256), (".EnableSha512", sha512)],
        );
        let doc = fs::read(testdata().join("simple-directory-provider/white").join(DOC)).unwrap();
        p.write(DOC, &doc);
        p.write(&format!("white/{DOC}"), &doc);
        let path = format!("white/{DOC}");
        if sha256 {
            p.write(
                &format!("{path}.sha256"),
                hash_line(&sha256_hex(&doc)).as_bytes(),
            );
        }
        if sha512 {
            let h = hex(&Sha512::digest(&doc));
            p.write(&format!("{path}.sha512"), hash_line(&h).as_bytes());
        }
        p
    }

    fn serve(name: &str, flags: &[(&str, bool)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(dir.path().to_path_buf());
        let base = format!("http://{}", server.addr);
        copy_tree(&testdata().join(name), dir.path(), &|text| {
            expand(text, flags).replace("{{.URL}}", &base)
        });
        Provider { dir, base, server }
    }

    /// The URL of `provider-metadata.json`.
    pub fn metadata_url(&self) -> String {
        format!("{}/provider-metadata.json", self.base)
    }

    /// Where a served file lies on disk.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The bytes of a served file.
    pub fn read(&self, rel: &str) -> Vec<u8> {
        fs::read(self.path(rel)).unwrap()
    }

    /// The text of a served file.
    pub fn read_string(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Writes a served file, creating its folders.
    pub fn write(&self, rel: &str, bytes: &[u8]) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    /// Removes a served file.
    pub fn remove(&self, rel: &str) {
        fs::remove_file(self.path(rel)).unwrap();
    }

    /// Writes `<rel>.sha256` and `<rel>.sha512` for a served file.
    pub fn write_hashes(&self, rel: &str) {
        let bytes = self.read(rel);
        let name = rel.rsplit('/').next().unwrap();
        let h256 = format!("{}  {name}\n", sha256_hex(&bytes));
        let h512 = format!("{}  {name}\n", hex(&Sha512::digest(&bytes)));
        self.write(&format!("{rel}.sha256"), h256.as_bytes());
        self.write(&format!("{rel}.sha512"), h512.as_bytes());
    }

    /// Answers `from` with a 302 to `to`.
    pub fn redirect(&self, from: &str, to: &str) {
        self.server
            .redirects
            .lock()
            .unwrap()
            .insert(from.to_string(), to.to_string());
    }

    /// The paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.server.requests.lock().unwrap().clone()
    }

    /// Forgets the requests so far.
    pub fn clear_requests(&self) {
        self.server.requests.lock().unwrap().clear();
    }
}

fn hash_line(hex: &str) -> String {
    format!("{hex}  {DOC}\n")
}

/// Copies a folder, passing every text file through `fill`.
fn copy_tree(from: &Path, to: &Path, fill: &dyn Fn(&str) -> String) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target, fill);
        } else {
            let bytes = fs::read(entry.path()).unwrap();
            let bytes = match String::from_utf8(bytes) {
                Ok(text) => fill(&text).into_bytes(),
                Err(e) => e.into_bytes(),
            };
            fs::write(target, bytes).unwrap();
        }
    }
}

/// Expands gocsaf's `{{if .Flag}}…{{end}}` blocks (not nested).
fn expand(text: &str, flags: &[(&str, bool)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{if ") {
        out.push_str(&rest[..start]);
        let close = start + rest[start..].find("}}").unwrap();
        let flag = rest[start + 5..close].trim();
        let end = close + rest[close..].find("{{end}}").unwrap();
        let on = flags.iter().any(|(f, v)| *f == flag && *v);
        if on {
            out.push_str(&rest[close + 2..end]);
        }
        rest = &rest[end + "{{end}}".len()..];
    }
    out.push_str(rest);
    out
}

/// A static-file server on 127.0.0.1, stopped when dropped.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<String>>>,
    redirects: Arc<Mutex<HashMap<String, String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(root: PathBuf) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let redirects = Arc::new(Mutex::new(HashMap::new()));
        let thread = {
            let (stop, requests, redirects) = (stop.clone(), requests.clone(), redirects.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        // a broken connection is the client's problem, not the server's
                        let _ = answer(stream, &root, &requests, &redirects);
                    }
                }
            })
        };
        Server {
            addr,
            stop,
            requests,
            redirects,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // wake the accept loop
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(
    mut stream: TcpStream,
    root: &Path,
    requests: &Mutex<Vec<String>>,
    redirects: &Mutex<HashMap<String, String>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/")
        .to_string();
    requests.lock().unwrap().push(path.clone());

    let redirect = redirects.lock().unwrap().get(&path).cloned();
    let file = root.join(path.trim_start_matches('/'));
    let (status, extra, body) = if let Some(to) = redirect {
        ("302 Found", format!("Location: {to}\r\n"), Vec::new())
    } else if path.split('/').any(|c| c == "..") || !file.is_file() {
        ("404 Not Found", String::new(), b"not found".to_vec())
    } else {
        ("200 OK", String::new(), fs::read(&file)?)
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)?;
    stream.flush()
}
