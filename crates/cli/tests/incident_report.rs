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

/// A message from `from` with `doc` attached as `report.toml`.
fn mail_with_report(from: &str, doc: &str) -> String {
    format!(
        "From: {from}\r\nTo: meldingen@ncsc.example\r\nSubject: incident notification\r\n\
         Message-ID: <{}@alpha.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nOur notification is attached.\r\n\
         --b1\r\nContent-Type: application/toml\r\n\
         Content-Disposition: attachment; filename=\"report.toml\"\r\n\r\n{doc}\r\n--b1--\r\n",
        from.len() * 7919 + doc.len()
    )
}

#[test]
fn a_report_mailed_by_a_registered_contact_is_filed_and_one_from_anyone_else_is_refused() {
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
    let aware = (chrono::Utc::now() - chrono::Duration::hours(5)).to_rfc3339();
    let doc = format!(
        "organisation = \"org-a\"\nreference = \"AZ-9\"\nstage = \"early-warning\"\n\
         aware_at = \"{aware}\"\nsuspected_cause = \"unknown\"\n"
    );
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(
        inbox.join("1.eml"),
        mail_with_report("SOC@alpha.example", &doc),
    )
    .unwrap();
    std::fs::write(
        inbox.join("2.eml"),
        mail_with_report("someone@elsewhere.example", &doc.replace("AZ-9", "AZ-10")),
    )
    .unwrap();
    let out = run_ok(&data, &["inbox", "import", s(&inbox)]);
    assert!(
        out.contains("incident report filed") && out.contains("incident report refused"),
        "{out}"
    );
    assert!(out.contains("1 stages filed, 1 refused"), "{out}");

    let json: serde_json::Value =
        serde_json::from_str(&run_ok(&data, &["incident-report", "list", "--json"])).unwrap();
    let reports = json.as_array().unwrap();
    assert_eq!(reports.len(), 1, "{json}");
    assert_eq!(reports[0]["reference"], "AZ-9");
    assert_eq!(reports[0]["stages"][0]["status"], "complete");
    assert_eq!(
        reports[0]["stages"][0]["by"],
        "soc@alpha.example (org-a, mail)"
    );
}
