//! `baken incident-report` as an analyst runs it: a report filed from a TOML file, listed
//! with its deadlines (late and overdue stages called so), answered, and counted in the
//! incident's report.

mod common;

use common::{run, run_ok, s};

#[test]
fn a_report_is_filed_listed_with_its_deadlines_and_answered() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry.toml");
    std::fs::write(
        &registry,
        "[[organisation]]\nid = \"org-a\"\nname = \"Alpha Zorg BV\"\nsector = \"health\"\n\
         vital = true\nnetworks = [\"198.18.1.0/24\"]\ncontacts = [{ email = \"soc@alpha.example\" }]\n",
    )
    .unwrap();
    run_ok(&data, &["registry", "import", s(&registry)]);
    let feed = dir.path().join("scan-intelmq.jsonl");
    std::fs::write(
        &feed,
        format!(
            "{}\n",
            common::scan_event("198.18.1.5", "2020-01-10T06:00:00+00:00", None)
        ),
    )
    .unwrap();
    run_ok(&data, &["ingest", "--feed", "intelmq", s(&feed)]);

    // aware four days ago, an early warning only: the notification is overdue
    let aware = (chrono::Utc::now() - chrono::Duration::hours(96)).to_rfc3339();
    let file = dir.path().join("early-warning.toml");
    std::fs::write(
        &file,
        format!(
            "organisation = \"org-a\"\nreference = \"AZ-2026-04\"\nstage = \"early-warning\"\n\
             aware_at = \"{aware}\"\nsuspected_cause = \"malicious\"\ncompromised = true\n\
             cves = [\"CVE-2019-19781\"]\nservices = [\"remote access\"]\n"
        ),
    )
    .unwrap();
    let out = run_ok(
        &data,
        &["incident-report", "submit", s(&file), "--by", "Jan"],
    );
    assert!(out.contains("filed") && out.contains("AZ-2026-04"), "{out}");
    assert!(
        out.contains("early-warning") && out.contains("LATE"),
        "{out}"
    );
    let again = run_ok(&data, &["incident-report", "submit", s(&file)]);
    assert!(again.contains("already filed"), "{again}");

    let list = run_ok(&data, &["incident-report", "list", "--overdue"]);
    assert!(
        list.contains("AZ-2026-04") && list.contains("OVERDUE"),
        "{list}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&run_ok(&data, &["incident-report", "list", "--json"])).unwrap();
    assert_eq!(json[0]["organisation"], "org-a");
    assert_eq!(json[0]["overdue"], true);
    assert_eq!(json[0]["stages"][0]["by"], "Jan (CLI)");

    let replied = run_ok(
        &data,
        &[
            "incident-report",
            "reply",
            "org-a",
            "AZ-2026-04",
            "--note",
            "call scheduled",
        ],
    );
    assert!(replied.contains("csirt-reply"), "{replied}");
    assert!(
        !run(&data, &["incident-report", "reply", "org-a", "NOPE"])
            .status
            .success()
    );

    // the report is part of the incident's record
    let report = run_ok(&data, &["report", "cve-2019-19781"]);
    assert!(report.contains("incident reports citing it: 1"), "{report}");
    assert!(
        report.contains("vital provider compromised with 1 findings still open: org-a/AZ-2026-04"),
        "{report}"
    );

    // a bad document names the file and the field, and files nothing
    std::fs::write(
        &file,
        "organisation = \"org-a\"\nreference = \"R\"\nstage = \"soon\"\n",
    )
    .unwrap();
    let bad = run(&data, &["incident-report", "submit", s(&file)]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("early-warning.toml") && err.contains("stage"),
        "{err}"
    );
}
