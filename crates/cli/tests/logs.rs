//! Logs: `RUST_LOG` says what is logged, `--log-format json` writes one JSON object a line
//! on standard error; by default nothing below a warning is.

mod common;

use std::path::Path;
use std::process::Output;

use common::{baken, s, small_world};
use serde_json::Value;

fn logged(data: &Path, rust_log: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = baken();
    cmd.env_remove("RUST_LOG");
    if let Some(level) = rust_log {
        cmd.env("RUST_LOG", level);
    }
    let out = cmd
        .args(["--log-format", "json", "--data"])
        .arg(data)
        .args(args)
        .output()
        .expect("the baken binary runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every line of standard error as JSON, asserting each is one.
fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?} is not JSON: {e}")))
        .collect()
}

fn event<'a>(lines: &'a [Value], message: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["fields"]["message"] == message)
        .unwrap_or_else(|| panic!("no {message:?} event in {lines:#?}"))
}

#[test]
fn rust_log_and_json_format_log_ingest_notify_and_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let g = small_world(&dir.path().join("input"), &data, 60);

    // a fresh store is migrated, and says so
    let fresh = dir.path().join("fresh");
    let lines = json_lines(&logged(&fresh, Some("info"), &["audit", "verify"]));
    let migrated = event(&lines, "store schema migrated");
    assert_eq!(migrated["level"], "INFO");
    assert_eq!(migrated["fields"]["from"], 0);
    assert!(migrated["fields"]["to"].as_u64() > Some(0));

    let lines = json_lines(&logged(&data, Some("info"), &["ingest", s(&g.feed)]));
    for l in &lines {
        assert!(l["timestamp"].is_string() && l["target"].is_string(), "{l}");
    }
    let ingested = event(&lines, "ingested");
    assert_eq!(ingested["level"], "INFO");
    assert_eq!(ingested["fields"]["file"], s(&g.feed));
    let rows = ingested["fields"]["rows"].as_u64().unwrap();
    assert!(rows > 0, "{ingested}");
    assert!(ingested["fields"]["stored"].as_u64() <= Some(rows));
    assert!(
        !lines
            .iter()
            .any(|l| l["fields"]["message"] == "batch stored"),
        "batches are logged at debug"
    );

    let lines = json_lines(&logged(
        &data,
        Some("baken_pipeline=debug"),
        &["notify", "--incident", "cve-2019-19781"],
    ));
    let notified = event(&lines, "notified");
    assert_eq!(notified["fields"]["incident"], "cve-2019-19781");
    assert!(notified["fields"]["first"].as_u64() > Some(0), "{notified}");
    assert_eq!(notified["fields"]["follow_up"], 0);
    assert!(notified["fields"]["elapsed_ms"].is_u64(), "{notified}");
    assert_eq!(notified["span"]["name"], "notify", "{notified}");
    event(&lines, "decisions audited");
    // the plan, with its counts and how long it took
    let planned = event(&lines, "planned");
    assert!(
        planned["fields"]["affected"].as_u64() > Some(0),
        "{planned}"
    );
    assert!(
        planned["fields"]["decisions"].as_u64() > Some(0),
        "{planned}"
    );
    assert!(planned["fields"]["elapsed_ms"].is_u64(), "{planned}");
    // one event per message, with what it carried and what became of it
    let messages: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "message")
        .collect();
    assert_eq!(
        messages.len() as u64,
        notified["fields"]["messages"].as_u64().unwrap(),
        "{messages:#?}"
    );
    assert!(messages.iter().all(|m| m["fields"]["state"] == "sent"));

    // each policy decision, at trace level, names its rule
    let lines = json_lines(&logged(
        &data,
        Some("baken_policy=trace"),
        &["coverage", "--incident", "cve-2019-19781"],
    ));
    let decided = event(&lines, "decided");
    assert_eq!(decided["level"], "TRACE");
    for field in ["subject", "recipient", "path", "form", "rule", "tlp"] {
        assert!(decided["fields"][field].is_string(), "{field}: {decided}");
    }

    // the feed as opened, and the ingest's span and duration
    let lines = json_lines(&logged(
        &data,
        Some("baken_feeds=debug,baken_pipeline=info,baken_store=trace"),
        &["ingest", s(&g.feed)],
    ));
    let opened = event(&lines, "feed opened");
    assert_eq!(opened["fields"]["feed"], "shadowserver");
    let ingested = event(&lines, "ingested");
    assert!(ingested["fields"]["elapsed_ms"].is_u64(), "{ingested}");
    // the store: each batch's counts and time, and the absences a later report reveals
    let committed = event(&lines, "batch committed");
    assert!(
        committed["fields"]["rows"].as_u64() > Some(0),
        "{committed}"
    );
    assert!(committed["fields"]["elapsed_us"].is_u64(), "{committed}");
    let absences = event(&lines, "absences counted");
    assert_eq!(
        absences["fields"]["missing"], 0,
        "the same report again misses nothing"
    );
    assert_eq!(ingested["span"]["name"], "ingest", "{ingested}");

    // without RUST_LOG only warnings and errors are logged
    let quiet = logged(&data, None, &["ingest", s(&g.feed)]);
    assert!(json_lines(&quiet).is_empty());
}
