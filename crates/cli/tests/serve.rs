//! `baken token` and `baken serve` as an operator runs them: a token made on the command
//! line opens the API on a real socket (loopback), and SIGTERM stops the service cleanly.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;

use common::{baken, run, run_ok, s};

fn get(address: &str, path: &str, token: Option<&str>) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn a_token_from_the_command_line_opens_the_api_and_sigterm_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry.toml");
    std::fs::write(
        &registry,
        "[[organisation]]\nid = \"org-a\"\nname = \"Alpha Zorg BV\"\nvital = true\n\
         networks = [\"198.18.1.0/24\"]\ncontacts = [{ email = \"soc@alpha.example\" }]\n",
    )
    .unwrap();
    run_ok(&data, &["registry", "import", s(&registry)]);
    let feed = dir.path().join("scan-intelmq.jsonl");
    let events: String = ["198.18.1.5", "198.18.1.6"]
        .iter()
        .map(|ip| {
            format!(
                "{}\n",
                common::scan_event(ip, "2020-01-10T06:00:00+00:00", None)
            )
        })
        .collect();
    std::fs::write(&feed, events).unwrap();
    run_ok(&data, &["ingest", "--feed", "intelmq", s(&feed)]);

    // the token is the last line; it acts for a registered party only
    let out = run_ok(&data, &["token", "create", "org-a", "--expires", "90d"]);
    let token = out.lines().last().unwrap().to_string();
    assert!(token.starts_with("baken_"), "{out}");
    assert!(!run(&data, &["token", "create", "org-z"]).status.success());
    assert!(
        !run(&data, &["token", "create", "org-a", "--expires", "soon"])
            .status
            .success()
    );
    let list = run_ok(&data, &["token", "list"]);
    assert!(list.contains("org-a") && !list.contains(&token), "{list}");

    // a webhook: its secret is the last line; an unreachable receiver keeps the events queued
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unreachable = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let out = run_ok(&data, &["webhook", "add", "org-a", &unreachable]);
    assert!(out.lines().last().unwrap().starts_with("whsec_"), "{out}");
    assert!(
        !run(&data, &["webhook", "add", "org-z", &unreachable])
            .status
            .success()
    );
    assert!(run_ok(&data, &["webhook", "list"]).contains(&unreachable));
    let pass = run_ok(&data, &["webhook", "deliver"]);
    assert!(
        pass.contains("2 events queued, 0 delivered, 2 failed"),
        "{pass}"
    );
    let again = run_ok(&data, &["webhook", "deliver"]);
    assert!(
        again.contains("0 events queued, 0 delivered, 0 failed"),
        "not due yet: {again}"
    );
    run_ok(&data, &["webhook", "remove", "1"]);
    assert!(!run_ok(&data, &["webhook", "list"]).contains(&unreachable));

    let mut child = baken()
        .args(["--log-format", "json"])
        .arg("--data")
        .arg(&data)
        .env("RUST_LOG", "baken_server=info")
        // schemathesis below sends many requests without a token on purpose
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--max-failed-logins",
            "100000",
        ])
        .args(["--notify-every", "1", "--intake-every", "1"])
        .arg("--intake")
        .arg(dir.path().join("intake"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    // the rest of the log, read as it comes (a full pipe would stop the service)
    let log = std::thread::spawn(move || {
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        rest
    });
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();

    assert!(get(&address, "/healthz", None).starts_with("HTTP/1.1 200"));
    // the service's own notify round tells org-a, into the outbox
    let outbox = data.join("outbox");
    let start = std::time::Instant::now();
    while common::files_with(&outbox, "eml").is_empty() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "no notify round delivered within 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mail = std::fs::read_to_string(&common::files_with(&outbox, "eml")[0]).unwrap();
    assert!(mail.contains("soc@alpha.example"), "{mail}");

    // a feed dropped into the intake directory is taken in
    let intake = dir.path().join("intake");
    let day2 = format!(
        "{}\n",
        common::scan_event("198.18.1.9", "2020-01-11T06:00:00+00:00", None)
    );
    std::fs::write(intake.join("day2-intelmq.jsonl.part"), day2).unwrap();
    std::fs::rename(
        intake.join("day2-intelmq.jsonl.part"),
        intake.join("day2-intelmq.jsonl"),
    )
    .unwrap();
    let start = std::time::Instant::now();
    while !intake.join("ingested/day2-intelmq.jsonl").exists() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the intake took nothing in within 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let me = get(&address, "/api/v1/me", Some(&token));
    assert!(me.starts_with("HTTP/1.1 200"), "{me}");
    assert!(me.contains("\"party\":\"org-a\""), "{me}");
    let refused = get(&address, "/api/v1/me", Some("baken_guess"));
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    assert!(refused.contains("application/problem+json"), "{refused}");

    // schemathesis, from the served OpenAPI document: no server errors, no answer outside
    // the schema, no schema-valid request refused, no schema-violating one accepted
    let python = std::path::PathBuf::from(
        std::env::var("BAKEN_TEST_PYTHON").expect("BAKEN_TEST_PYTHON: run scripts/test.sh"),
    );
    let schemathesis = python.with_file_name("schemathesis");
    let st = std::process::Command::new(&schemathesis)
        .args(["run", &format!("http://{address}/api/v1/openapi.json")])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "all", "--max-examples", "30", "--seed", "2026"])
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/test-venv.sh", schemathesis.display()));
    let report = String::from_utf8_lossy(&st.stdout);
    assert!(
        st.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&st.stderr)
    );
    assert!(
        report.contains("13 passed"),
        "every operation tested: {report}"
    );

    // revoked on the command line while the service runs: refused at once
    run_ok(&data, &["token", "revoke", "1"]);
    assert!(get(&address, "/api/v1/me", Some(&token)).starts_with("HTTP/1.1 401"));

    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "SIGTERM ends the service cleanly: {status:?}"
    );
    // each request was logged by its route, never with its token
    let log = log.join().unwrap();
    assert!(
        log.lines().any(|l| l.contains("\"message\":\"request\"")
            && l.contains("\"route\":\"/api/v1/me\"")
            && l.contains("\"status\":401")),
        "{log}"
    );
    assert!(!log.contains(&token), "a token in the log");
}

#[test]
fn a_settings_file_or_flag_that_cannot_work_stops_the_service_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("baken.toml");
    std::fs::write(
        &config,
        "[serve]\nlisten = \"127.0.0.1:0\"\n\n[notify]\nevry = 60\n",
    )
    .unwrap();
    let out = run(&data, &["serve", "--config", s(&config)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("baken.toml") && err.contains("line 5") && err.contains("evry"),
        "{err}"
    );

    std::fs::write(&config, "[notify]\ndaily = [\"org-z\"]\n").unwrap();
    let out = run(
        &data,
        &["serve", "--config", s(&config), "--listen", "127.0.0.1:0"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--daily org-z"), "{err}");

    let out = run(
        &data,
        &["serve", "--listen", "127.0.0.1:0", "--daily-at", "7am"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("HH:MM"));
}
