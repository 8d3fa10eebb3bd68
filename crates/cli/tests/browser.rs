//! `baken serve`'s pages in a real browser: headless Chromium, driven through ChromeDriver
//! (Debian's `chromium` and `chromium-driver`, installed by `scripts/test-deps.sh`). A party
//! logs in with its token, sees its findings and no one else's, acknowledges one and sees its
//! state change; an analyst logs in and sees the incident's remediation curve. Screenshots
//! are written under the target directory (`tmp/browser/`), not kept in the repository.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{baken, run_ok, s};
use fantoccini::{Client, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Kills a child process when dropped (a failed assertion leaves no browser behind).
struct Killed(Child);

impl Drop for Killed {
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

/// Starts ChromeDriver on loopback and waits until it answers.
fn chromedriver() -> (Killed, String) {
    assert!(
        std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists(),
        "the browser test needs {CHROMIUM} and {CHROMEDRIVER}: run scripts/test-deps.sh"
    );
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (Killed(child), format!("http://127.0.0.1:{port}"))
}

async fn browser(driver: &str) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--no-proxy-server"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("a ChromeDriver session")
}

fn screenshot(name: &str, png: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

/// The element `search` finds once it is there; fails after 20 s.
async fn wait_for(
    c: &Client,
    search: Locator<'_>,
) -> Result<fantoccini::elements::Element, fantoccini::error::CmdError> {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(search)
        .await
}

async fn log_in(c: &Client, base: &str, token: &str) {
    c.goto(&format!("{base}/")).await.unwrap();
    assert!(c.current_url().await.unwrap().path() == "/login");
    c.find(Locator::Css("#token"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    c.find(Locator::Css("form.card button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, Locator::Css("form.logout")).await.unwrap();
}

async fn log_out(c: &Client) {
    c.find(Locator::Css("form.logout button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, Locator::Css("#token")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_acknowledges_in_a_browser_and_an_analyst_sees_the_curve() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry.toml");
    std::fs::write(
        &registry,
        "[[organisation]]\nid = \"org-a\"\nname = \"Alpha Zorg BV\"\nsector = \"health\"\n\
         vital = true\nnetworks = [\"198.18.1.0/24\"]\ncontacts = [{ email = \"soc@alpha.example\" }]\n\n\
         [[organisation]]\nid = \"org-b\"\nname = \"Beta Energie NV\"\nsector = \"energy\"\n\
         networks = [\"198.18.2.0/24\"]\ncontacts = [{ email = \"soc@beta.example\" }]\n",
    )
    .unwrap();
    run_ok(&data, &["registry", "import", s(&registry)]);
    // two days of scans: the curve has a shape
    for (day, ips) in [
        (
            "2020-01-10T06:00:00+00:00",
            ["198.18.1.5", "198.18.1.6", "198.18.2.5"].as_slice(),
        ),
        (
            "2020-01-11T06:00:00+00:00",
            ["198.18.1.5", "198.18.2.5"].as_slice(),
        ),
    ] {
        let feed = dir
            .path()
            .join(format!("scan-{}-intelmq.jsonl", &day[..10]));
        let events: String = ips
            .iter()
            .map(|ip| format!("{}\n", common::scan_event(ip, day, None)))
            .collect();
        std::fs::write(&feed, events).unwrap();
        run_ok(&data, &["ingest", "--feed", "intelmq", s(&feed)]);
    }
    run_ok(&data, &["notify", "--from", "cert@ncsc.example"]);
    let party = run_ok(&data, &["token", "create", "org-a"]);
    let party = party.lines().last().unwrap().to_string();
    let analyst = run_ok(&data, &["token", "create", "ncsc", "--analyst"]);
    let analyst = analyst.lines().last().unwrap().to_string();

    let mut child = baken()
        .arg("--data")
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let server = Killed(child);
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    // the service's log goes to the test's output (shown when it fails)
    std::thread::spawn(move || {
        for line in stderr.lines() {
            match line {
                Ok(l) => eprintln!("serve: {l}"),
                Err(_) => break,
            }
        }
    });
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    let base = format!("http://{address}");

    let (_driver, driver_url) = chromedriver();
    let c = browser(&driver_url).await;

    // the party: its findings, never another's
    log_in(&c, &base, &party).await;
    assert_eq!(c.current_url().await.unwrap().path(), "/findings");
    let page = c.source().await.unwrap();
    assert!(
        page.contains("198.18.1.5") && page.contains("198.18.1.6"),
        "{page}"
    );
    assert!(!page.contains("198.18.2.5"), "another party's address");
    // the stylesheet loaded under the Content-Security-Policy
    let header = c
        .execute(
            "return getComputedStyle(document.querySelector('header.top')).backgroundColor;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(header, serde_json::json!("rgb(29, 35, 43)"));
    screenshot("party-findings.png", &c.screenshot().await.unwrap());

    // open the first finding and acknowledge it
    c.find(Locator::Css("a[href^='/findings/']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let state = wait_for(&c, Locator::Css("dd .state")).await.unwrap();
    assert_eq!(state.text().await.unwrap(), "notified");
    c.find(Locator::Css("button[value=acknowledge]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let done = wait_for(&c, Locator::Css("p.done")).await.unwrap();
    assert!(done.text().await.unwrap().contains("acknowledged"));
    let state = c.find(Locator::Css("dd .state")).await.unwrap();
    assert_eq!(state.text().await.unwrap(), "acknowledged");
    screenshot("party-acknowledged.png", &c.screenshot().await.unwrap());

    // readable on a phone: nothing wider than the screen
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{base}/findings")).await.unwrap();
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "the page scrolls sideways by {overflow}"
    );
    screenshot("party-phone.png", &c.screenshot().await.unwrap());
    c.set_window_size(1280, 1000).await.unwrap();
    log_out(&c).await;

    // the analyst: the incident with its remediation curve
    log_in(&c, &base, &analyst).await;
    assert_eq!(c.current_url().await.unwrap().path(), "/incidents");
    c.find(Locator::Css("a[href='/incidents/cve-2019-19781']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let curve = match wait_for(&c, Locator::Css("#curve svg")).await {
        Ok(e) => e,
        Err(e) => panic!("no curve ({e}) on {}", c.source().await.unwrap_or_default()),
    };
    let size = c
        .execute(
            "const r = document.querySelector('#curve svg').getBoundingClientRect(); return [r.width, r.height];",
            vec![],
        )
        .await
        .unwrap();
    let (w, h) = (size[0].as_f64().unwrap(), size[1].as_f64().unwrap());
    assert!(w > 300.0 && h > 100.0, "the curve is drawn: {w}x{h}");
    screenshot("analyst-incident.png", &curve.screenshot().await.unwrap());
    screenshot("analyst-incident-page.png", &c.screenshot().await.unwrap());
    // the party's word is on the analyst's page of that finding
    c.goto(&format!("{base}/findings?state=acknowledged"))
        .await
        .unwrap();
    let page = c.source().await.unwrap();
    assert!(page.contains("acknowledged 1"), "{page}");

    c.close().await.unwrap();
    drop(server);
}
