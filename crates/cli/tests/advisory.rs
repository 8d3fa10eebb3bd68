//! Advisory import end to end: the shipped examples, rejection with JSON paths, revisions.

mod common;

use common::{run, run_ok, s};
use serde_json::Value;

fn shared_csaf() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/csaf")
}

fn synthetic() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../advisory/tests/data/csaf-CVE-2019-19781.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn every_shared_csaf_example_imports() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(dir.path(), &["advisory", "import", s(&shared_csaf())]);
    assert!(out.contains(", 0 rejected"), "{out}");
    let list = run_ok(dir.path(), &["advisory", "list"]);
    for id in [
        "2022-EVD-UC-01-A-001",
        "BSI-2022-0001",
        "cisco-sa-20180328-smi2",
        "RHSA-2021:5186",
        "SEC-VEX-2022-0001",
        "Avendor-advisory-0004",
    ] {
        assert!(list.contains(id), "{id} missing from:\n{list}");
    }
}

#[test]
fn an_invalid_csaf_document_is_rejected_whole_with_json_paths() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = synthetic();
    // Two problems: a score that does not match its vector (mandatory test 6.1.9) and a
    // missing required field (schema).
    doc["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseScore"] = Value::from(5.0);
    doc["document"].as_object_mut().unwrap().remove("publisher");
    let file = dir.path().join("bad.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = run(&dir.path().join("data"), &["advisory", "import", s(&file)]);
    assert!(
        !out.status.success(),
        "a rejected document fails the command"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rejected, nothing imported"), "{err}");
    assert!(
        err.contains("/vulnerabilities/0/scores/0/cvss_v3/baseScore"),
        "{err}"
    );
    assert!(err.contains("/document"), "{err}");
    let list = run_ok(&dir.path().join("data"), &["advisory", "list"]);
    assert!(list.trim().is_empty(), "nothing half-imported: {list}");
}

#[test]
fn a_newer_revision_keeps_the_severity_history() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Revision 1: as first published, with a lower score (CVSS 3.1 C:H/I:N/A:N = 7.5).
    let mut v1 = synthetic();
    let t = &mut v1["document"]["tracking"];
    t["version"] = "1".into();
    t["current_release_date"] = "2019-12-17T18:00:00Z".into();
    t["revision_history"].as_array_mut().unwrap().truncate(1);
    let score = &mut v1["vulnerabilities"][0]["scores"][0]["cvss_v3"];
    score["vectorString"] = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N".into();
    score["baseScore"] = Value::from(7.5);
    score["baseSeverity"] = "HIGH".into();
    let f1 = dir.path().join("rev1.json");
    std::fs::write(&f1, serde_json::to_vec(&v1).unwrap()).unwrap();
    let f2 = dir.path().join("rev2.json");
    std::fs::write(&f2, serde_json::to_vec(&synthetic()).unwrap()).unwrap();

    let out = run_ok(&data, &["advisory", "import", s(&f2)]);
    assert!(out.contains("SYN-2019-0001 revision 2 imported"), "{out}");
    let out = run_ok(&data, &["advisory", "import", s(&f1)]);
    assert!(out.contains("imported as a new revision"), "{out}");
    let out = run_ok(&data, &["advisory", "import", s(&f1)]);
    assert!(out.contains("already imported"), "{out}");

    let shown: Value = serde_json::from_str(&run_ok(
        &data,
        &["advisory", "show", "SYN-2019-0001", "--json"],
    ))
    .unwrap();
    let history: Vec<(String, f64)> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_str().unwrap().to_string(),
                r["highest_score"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(history, vec![("1".into(), 7.5), ("2".into(), 9.8)]);
    assert_eq!(
        shown["advisory"]["revision"], "2",
        "show presents the latest"
    );
    let text = run_ok(&data, &["advisory", "show", "SYN-2019-0001"]);
    assert!(text.contains("CVSS v3.1 base score 9.8 (CRITICAL) on a scale of 0.0 to 10.0"));
    assert_eq!(
        run_ok(&data, &["advisory", "show", "syn-2019-0001"]),
        text,
        "ids in any case"
    );
    assert!(text.contains("AV:N — Attack Vector: attackable over the network"));
}

#[test]
fn cvss_prints_scores_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let v: Value = serde_json::from_str(&run_ok(
        dir.path(),
        &[
            "cvss",
            "--json",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        ],
    ))
    .unwrap();
    assert_eq!(v["version"], "3.1");
    assert_eq!(v["base_score"], 9.8);
    assert_eq!(v["severity"], "CRITICAL");
    // v3.x vectors have all three scores, as FIRST's calculators show them
    assert_eq!(
        (&v["temporal_score"], &v["environmental_score"]),
        (&9.8.into(), &9.8.into())
    );
    let bad = run(dir.path(), &["cvss", "CVSS:3.1/AV:X"]);
    assert!(!bad.status.success());
}

#[test]
fn cvss_explains_an_environmental_score_above_the_base_score() {
    let dir = tempfile::tempdir().unwrap();
    let text = run_ok(
        dir.path(),
        &["cvss", "CVSS:3.1/AV:P/AC:L/PR:H/UI:R/S:C/C:H/I:H/A:H"],
    );
    assert!(text.contains("base score 7.0 (HIGH)"), "{text}");
    assert!(text.contains("environmental score 7.1 (HIGH)"), "{text}");
    assert!(
        text.contains("note: the environmental score is 7.1"),
        "{text}"
    );
}
