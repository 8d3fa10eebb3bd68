//! `why`, `whatif`, `coverage`, `prune` and policy files, end to end.

mod common;

use common::{run, run_ok, s, small_world};
use serde_json::Value;

const INCIDENT: &str = "cve-2019-19781";

fn json(data: &std::path::Path, args: &[&str]) -> Value {
    serde_json::from_str(&run_ok(data, args)).expect("JSON output")
}

#[test]
fn coverage_why_whatif_and_prune_read_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let g = small_world(&dir.path().join("input"), &data, 300);
    run_ok(&data, &["ingest", s(&g.feed)]);

    // Before anything is sent nobody is reached, and the reason says so.
    let before = json(&data, &["coverage", "--incident", INCIDENT, "--json"]);
    assert_eq!(before["reached"], 0);
    let parties = before["parties"].as_array().unwrap();
    assert!(parties.iter().any(|p| {
        p["coverage"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("nothing has been sent yet"))
    }));

    run_ok(&data, &["notify", "--incident", INCIDENT]);
    let cov = json(&data, &["coverage", "--incident", INCIDENT, "--json"]);
    let (affected, reached, unreachable) = (
        cov["affected"].as_u64().unwrap(),
        cov["reached"].as_u64().unwrap(),
        cov["unreachable"].as_u64().unwrap(),
    );
    assert_eq!(affected, reached + unreachable);
    assert!(reached > 0 && unreachable > 0);
    let listed = cov["parties"].as_array().unwrap();
    assert_eq!(
        listed.len() as u64,
        affected,
        "every affected party is listed"
    );
    for p in listed {
        match p["coverage"]["status"].as_str().unwrap() {
            "reached" => assert!(!p["coverage"]["paths"].as_array().unwrap().is_empty()),
            "unreachable" => assert!(!p["coverage"]["reason"].as_str().unwrap().is_empty()),
            other => panic!("unknown status {other}"),
        }
        // Under nl-2020 no non-vital organisation is reached.
        if p["vital"] == false && p["coverage"]["status"] == "reached" {
            panic!("non-vital {} reached under nl-2020", p["id"]);
        }
    }
    let by_path = cov["by_path"].as_object().unwrap();
    assert!(by_path.contains_key("direct"));
    assert!(!by_path.contains_key("dtc") && !by_path.contains_key("hoster"));

    // why: a non-vital organisation is told nothing, by which rule and on what basis.
    let non_vital = listed
        .iter()
        .find(|p| p["vital"] == false && p["id"].as_str().unwrap().starts_with("org-"))
        .unwrap();
    let id = non_vital["id"].as_str().unwrap();
    let why = run_ok(&data, &["why", id, "--incident", INCIDENT]);
    assert!(why.contains("rule own-findings-non-vital-2020"), "{why}");
    assert!(why.contains("basis: Wbni"), "{why}");
    assert!(why.contains("TLP:AMBER"), "{why}");
    assert!(why.contains("unreachable"), "{why}");
    // … and for a finding, by its address: the attribution first.
    let store = baken_store::SqliteStore::open(&data).unwrap();
    let ip = baken_store::FindingStore::finding_records(
        &store,
        &baken_store::FindingQuery {
            incident: Some(INCIDENT.into()),
            ..Default::default()
        },
    )
    .unwrap()[0]
        .addr
        .clone();
    let why = run_ok(&data, &["why", &ip, "--incident", INCIDENT]);
    assert!(why.contains("is attributed by rule"), "{why}");

    // whatif: the DTC as OKTT reaches more, loses nobody, and says through whom.
    let w = json(
        &data,
        &[
            "whatif",
            "--policy",
            "nl-dtc-oktt",
            "--incident",
            INCIDENT,
            "--json",
        ],
    );
    assert!(w["reached_after"].as_u64() > w["reached_before"].as_u64());
    assert!(w["lost"].as_array().unwrap().is_empty());
    let gained = w["gained"].as_array().unwrap();
    assert!(!gained.is_empty());
    assert!(gained.iter().all(|g| {
        g["through"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p != "direct")
    }));
    // in text, a list cut short says how much was left out
    assert!(gained.len() > 10, "the world gains more than a screenful");
    let text = run_ok(
        &data,
        &["whatif", "--policy", "nl-dtc-oktt", "--incident", INCIDENT],
    );
    assert!(
        text.contains(&format!("… {} more", gained.len() - 10)),
        "{text}"
    );
    // whatif sends nothing.
    let after = json(&data, &["coverage", "--incident", INCIDENT, "--json"]);
    assert_eq!(after["reached"], cov["reached"]);

    // prune counts from the scans' own time (10 January 2020), not from when they were
    // ingested: 179 days on nothing is older than the retention period; today everything is.
    let out = run_ok(&data, &["prune", "--now", "2020-07-07T00:00:00Z"]);
    assert!(
        out.starts_with("pruned 0 observations, 0 findings"),
        "{out}"
    );
    let findings = run_ok(&data, &["findings", "--json"]).lines().count();
    assert!(findings > 0);
    let dry = run_ok(&data, &["prune", "--dry-run"]);
    assert!(dry.starts_with("would prune "), "{dry}");
    assert!(dry.trim_end().ends_with("nothing changed"), "{dry}");
    let count = |out: &str, what: &str| -> u64 {
        let words: Vec<&str> = out.split_whitespace().collect();
        let i = words
            .iter()
            .position(|w| w.trim_end_matches(',') == what)
            .unwrap();
        words[i - 1].parse().unwrap()
    };
    assert_eq!(count(&dry, "findings"), findings as u64, "{dry}");
    assert_eq!(
        run_ok(&data, &["findings", "--json"]).lines().count(),
        findings,
        "a dry run changes nothing"
    );
    let out = run_ok(&data, &["prune"]);
    assert_eq!(
        count(&out, "observations"),
        count(&dry, "observations"),
        "{out}"
    );
    assert_eq!(count(&out, "findings"), findings as u64, "{out}");
    assert!(count(&out, "chunks") > 0, "{out}");
    assert!(out.contains("keep 180 days"), "{out}");
    let gone = run(&data, &["coverage", "--incident", INCIDENT]);
    assert!(!gone.status.success(), "no findings left after pruning");
    // The audit log survives pruning.
    assert!(run_ok(&data, &["audit", "verify"]).starts_with("audit log sound"));
}

#[test]
fn a_contradictory_policy_file_is_rejected_with_the_rule_names() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let g = small_world(&dir.path().join("input"), &data, 50);
    run_ok(&data, &["ingest", s(&g.feed)]);
    let text = baken_policy::Policy::builtin_text("nl-2020")
        .unwrap()
        .to_string()
        + r#"
[[rule]]
name = "dtc-gets-everything"
class = "third-party-finding-non-vital"
tlp = "AMBER"
role = "dtc"
form = "full"
basis = "a wish"
"#;
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, text).unwrap();
    let out = run(
        &data,
        &["whatif", "--policy", s(&file), "--incident", INCIDENT],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("dtc-gets-everything"), "{err}");
    assert!(
        err.contains("non-vital-findings-dtc-aggregate-2020"),
        "{err}"
    );
    assert!(err.contains("contradict"), "{err}");
    assert!(err.contains("bad.toml"), "{err}");
}

#[test]
fn findings_carry_their_tlp_label_and_tlp_limits_what_goes_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let g = small_world(&dir.path().join("input"), &data, 300);
    // Supplied by a peer under TLP:AMBER+STRICT: only the organisation a finding is about may
    // hear of it — not its CERT, not the DTC, not its hoster — whatever the policy allows.
    run_ok(
        &data,
        &[
            "ingest",
            "--tlp",
            "AMBER+STRICT",
            "--supplied-by",
            "peer CSIRT",
            s(&g.feed),
        ],
    );
    let outbox = dir.path().join("outbox");
    run_ok(
        &data,
        &[
            "notify",
            "--incident",
            INCIDENT,
            "--policy",
            "nl-dtc-oktt",
            "--outbox",
            s(&outbox),
        ],
    );
    let cov = json(
        &data,
        &[
            "coverage",
            "--incident",
            INCIDENT,
            "--policy",
            "nl-dtc-oktt",
            "--json",
        ],
    );
    let by_path = cov["by_path"].as_object().unwrap();
    assert!(by_path.contains_key("direct"), "{cov}");
    for p in ["cert", "dtc", "hoster"] {
        assert!(
            !by_path.contains_key(p),
            "AMBER+STRICT went through {p}: {cov}"
        );
    }
    let mails = common::files_with(&outbox, "eml");
    assert!(!mails.is_empty());
    for m in &mails {
        let text = std::fs::read_to_string(m).unwrap();
        assert!(text.contains("Subject: [TLP:AMBER+STRICT]"), "{text}");
    }
    let cert_member = cov["parties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["vital"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let why = run_ok(
        &data,
        &[
            "why",
            &cert_member,
            "--incident",
            INCIDENT,
            "--policy",
            "nl-dtc-oktt",
        ],
    );
    assert!(why.contains("TLP:AMBER+STRICT"), "{why}");
    assert!(
        why.contains("peer CSIRT") || why.contains("limited by"),
        "{why}"
    );

    // TLP:RED names no recipient here, so nothing at all goes out.
    let red = dir.path().join("red");
    small_world(&dir.path().join("input-red"), &red, 100);
    run_ok(&red, &["ingest", "--tlp", "RED", s(&g.feed)]);
    let out = run_ok(
        &red,
        &["notify", "--incident", INCIDENT, "--policy", "nl-dtc-oktt"],
    );
    assert!(out.contains("0 messages sent"), "{out}");
    let cov = json(&red, &["coverage", "--incident", INCIDENT, "--json"]);
    assert!(cov["affected"].as_u64().unwrap() > 0);
    assert_eq!(cov["reached"], 0);
}
