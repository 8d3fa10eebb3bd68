//! Output into a pipe whose reader has gone (`baken why … | head`): the command ends quietly,
//! without a panic.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};

use common::{baken, run_ok, s, small_world};

const INCIDENT: &str = "cve-2019-19781";

/// Runs `baken --data DATA ARGS…` with standard output a pipe that nobody reads any more:
/// the pipe's only reader is a process that has already ended, so the first write fails, as
/// in a `| head` that has read its lines.
fn run_into_closed_pipe(data: &Path, args: &[&str]) -> Output {
    let mut reader = std::process::Command::new("sh")
        .args(["-c", "exit 0"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("sh runs");
    let write_end = reader.stdin.take().expect("piped stdin");
    reader.wait().unwrap();
    baken()
        .arg("--data")
        .arg(data)
        .args(args)
        .stdout(Stdio::from(write_end))
        .output()
        .expect("the baken binary runs")
}

/// Regression: every command panicked ("failed printing to stdout: Broken pipe") with a
/// backtrace hint when its reader stopped early.
#[test]
fn commands_end_quietly_when_the_reader_stops_reading() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let g = small_world(&dir.path().join("input"), &data, 150);
    run_ok(&data, &["ingest", s(&g.feed)]);
    run_ok(&data, &["notify", "--incident", INCIDENT]);
    let findings = run_ok(&data, &["findings", "--json"]);
    let first: serde_json::Value =
        serde_json::from_str(findings.lines().next().expect("a finding")).unwrap();
    let ip = first["source.ip"].as_str().expect("an address").to_string();

    let commands: [&[&str]; 6] = [
        &["why", &ip, "--incident", INCIDENT],
        &["coverage", "--incident", INCIDENT],
        &["findings"],
        &["findings", "--json"],
        &["audit", "export"],
        &["registry", "lookup", &ip],
    ];
    for args in commands {
        let out = run_into_closed_pipe(&data, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "baken {args:?} panicked: {stderr}"
        );
        assert!(
            out.status.success(),
            "baken {args:?} ended with {}: {stderr}",
            out.status
        );
        assert!(!stderr.contains("error"), "baken {args:?}: {stderr}");
    }
}
