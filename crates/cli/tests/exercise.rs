//! A drill as a user runs it: a scenario printed, edited and run for named participants,
//! one participant answering by reply and one through `finding fixed`, the report with its
//! page, and the end.

mod common;

use common::{files_with, run, run_ok, s};
use serde_json::Value;

const REGISTRY: &str = r#"
[[organisation]]
id = "org-a"
name = "Alpha Zorg BV"
sector = "health"
vital = true
networks = ["198.18.1.0/24"]
contacts = [{ email = "soc@alpha.example", role = "security" }]

[[organisation]]
id = "org-b"
name = "Beta Energie NV"
sector = "energy"
vital = true
networks = ["198.18.2.0/24"]
contacts = [{ email = "csirt@beta.example", role = "security" }]

[[organisation]]
id = "org-c"
name = "Gamma Water NV"
sector = "water"
vital = true
networks = ["198.18.3.0/24"]
contacts = [{ email = "security@gamma.example", role = "security" }]
"#;

#[test]
fn a_drill_runs_is_answered_reported_and_ended_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry.toml");
    std::fs::write(&registry, REGISTRY).unwrap();
    run_ok(&data, &["registry", "import", s(&registry)]);

    let list = run_ok(&data, &["exercise", "scenarios"]);
    for name in ["citrix-adc", "pulse-secure", "supplier"] {
        assert!(list.contains(name), "{list}");
    }
    // a user's copy of a shipped scenario, edited
    let text = run_ok(&data, &["exercise", "scenarios", "citrix-adc"]);
    let scenario = dir.path().join("my-drill.toml");
    std::fs::write(
        &scenario,
        text.replace("hosts_per_participant = 1", "hosts_per_participant = 2"),
    )
    .unwrap();
    let participants = dir.path().join("participants.txt");
    std::fs::write(
        &participants,
        "# the drill's participants\norg-a\norg-b\norg-c\n",
    )
    .unwrap();
    let outbox = dir.path().join("outbox");
    let out = run_ok(
        &data,
        &[
            "exercise",
            "run",
            s(&scenario),
            "--id",
            "drill1",
            "--participants",
            s(&participants),
            "--outbox",
            s(&outbox),
            "--json",
        ],
    );
    let run_json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run_json["incident"], "exercise-drill1-cve-2019-19781");
    assert_eq!(run_json["ingest"]["stored"], 6, "two hosts each");
    let emls = files_with(&outbox, "eml");
    assert_eq!(emls.len(), 3, "one message to each vital participant");

    // org-a replies to its message; org-b says through an analyst that it fixed it
    let a = emls
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .find(|m| m.contains("soc@alpha.example"))
        .unwrap();
    let id = a
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .unwrap()
        .to_string();
    let reply = dir.path().join("reply.eml");
    std::fs::write(
        &reply,
        format!(
            "From: soc@alpha.example\r\nTo: baken@ncsc.example\r\nSubject: Re: exercise\r\n\
             Message-ID: <r1@alpha.example>\r\nIn-Reply-To: {id}\r\n\
             Date: Sun, 6 Dec 2026 10:00:00 +0000\r\n\r\nReceived, we are on it.\r\n"
        ),
    )
    .unwrap();
    run_ok(&data, &["inbox", "import", s(&reply)]);
    let findings = run_ok(
        &data,
        &[
            "findings",
            "--incident",
            "exercise-drill1-cve-2019-19781",
            "--json",
        ],
    );
    let b_ids: Vec<String> = findings
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|f| f["org"] == "org-b")
        .map(|f| f["id"].to_string())
        .collect();
    assert_eq!(b_ids.len(), 2);
    let mut args = vec!["finding", "fixed", "--by", "csirt@beta.example"];
    args.extend(b_ids.iter().map(String::as_str));
    run_ok(&data, &args);

    let html = dir.path().join("drill1.html");
    let report: Value = serde_json::from_str(&run_ok(
        &data,
        &["exercise", "report", "drill1", "--html", s(&html), "--json"],
    ))
    .unwrap();
    let total = &report["total"];
    assert_eq!(total["participants"], 3);
    assert_eq!(total["delivered"], 3);
    assert_eq!(total["acknowledged"], 2);
    assert_eq!(total["mitigation_claimed"], 1);
    assert_eq!(total["never_responded"], 1);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Gamma Water NV") && page.contains("never responded"));

    let end: Value =
        serde_json::from_str(&run_ok(&data, &["exercise", "end", "drill1", "--json"])).unwrap();
    assert_eq!(end["closed"], 6);
    let text = run_ok(&data, &["exercise", "report", "drill1"]);
    assert!(text.contains("ended "), "{text}");
    let list: Value =
        serde_json::from_str(&run_ok(&data, &["exercise", "list", "--json"])).unwrap();
    assert_eq!(list[0]["id"], "drill1");
    assert_eq!(list[0]["findings"], 6);
    assert!(list[0]["ended_at"].is_string());

    // a participant the registry does not hold stops the run before anything is sent
    std::fs::write(&participants, "org-a\nno-such-org\n").unwrap();
    let failed = run(
        &data,
        &[
            "exercise",
            "run",
            "pulse-secure",
            "--participants",
            s(&participants),
            "--outbox",
            s(&outbox),
        ],
    );
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("no-such-org"));
    assert_eq!(files_with(&outbox, "eml").len(), 3);
}
