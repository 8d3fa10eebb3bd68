//! Incident reports through the core: filed stage by stage by an organisation or its CERT,
//! read back with their deadlines, joined to the incident they cite, and shown to other
//! parties only as the sharing policy allows.

mod common;

use std::path::Path;

use baken_app::{App, AppError, Viewer};
use baken_feeds::{FeedKind, Options};
use baken_model::OrgId;
use baken_pipeline::NoProgress;
use baken_pipeline::incident_reports::{ReportDocument, ReportStage, StageStatus};
use baken_pipeline::ingest::{Input, Settings};
use common::scan;

const REGISTRY: &str = r#"
[[organisation]]
id = "org-a"
name = "Alpha Zorg BV"
sector = "health"
vital = true
supervisor = "igj"
cert = "z-cert"
networks = ["198.18.1.0/24"]
contacts = [{ email = "soc@alpha.example", role = "security" }]

[[organisation]]
id = "org-b"
name = "Beta Winkel BV"
sector = "retail"
cert = "z-cert"
networks = ["198.18.2.0/24"]
contacts = [{ email = "it@beta.example", role = "security" }]

[[organisation]]
id = "z-cert"
name = "Z-CERT"
kind = "cert"
contacts = [{ email = "cert@z-cert.example", role = "security" }]

[[organisation]]
id = "igj"
name = "Inspectie"
kind = "supervisor"
contacts = [{ email = "toezicht@igj.example", role = "security" }]
"#;

fn world(dir: &Path) -> App {
    let mut app = App::open(&dir.join("data")).unwrap();
    let registry = dir.join("registry.toml");
    std::fs::write(&registry, REGISTRY).unwrap();
    app.import_registry(&registry, false).unwrap();
    let feed = dir.join("scan-intelmq.jsonl");
    std::fs::write(&feed, [scan("198.18.1.5"), scan("198.18.2.5")].concat()).unwrap();
    app.ingest(
        &Input {
            path: feed,
            feed: FeedKind::Intelmq,
        },
        &Options::default(),
        &Settings::default(),
        &NoProgress,
    )
    .unwrap();
    app
}

fn doc(org: &str, reference: &str, stage: &str, extra: &str) -> ReportDocument {
    ReportDocument::parse(
        &format!(
            "organisation = \"{org}\"\nreference = \"{reference}\"\nstage = \"{stage}\"\n{extra}"
        ),
        "test.toml",
    )
    .unwrap()
}

fn party(id: &str) -> Viewer {
    Viewer::Party(OrgId(id.into()))
}

fn hours_ago(h: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(h)).to_rfc3339()
}

#[test]
fn stages_are_filed_by_whom_may_and_their_deadlines_followed() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = world(dir.path());
    // aware 30 hours ago: the early warning, filed now, is late; the notification is due
    let first = doc(
        "org-a",
        "A-2026-1",
        "early-warning",
        &format!(
            "aware_at = \"{}\"\nsuspected_cause = \"malicious\"\ncompromised = true\n\
             cves = [\"CVE-2019-19781\"]\n",
            hours_ago(30)
        ),
    );
    let (report, new) = app
        .submit_incident_report(&first, &party("org-a"), "org-a (API)")
        .unwrap();
    assert!(new);
    let status = |r: &baken_pipeline::incident_reports::IncidentReport, s: ReportStage| {
        r.stages.iter().find(|v| v.stage == s).map(|v| v.status)
    };
    assert_eq!(
        status(&report, ReportStage::EarlyWarning),
        Some(StageStatus::Late)
    );
    assert_eq!(
        status(&report, ReportStage::CsirtReply),
        Some(StageStatus::Due)
    );
    assert_eq!(
        status(&report, ReportStage::Notification),
        Some(StageStatus::Due)
    );
    assert_eq!(status(&report, ReportStage::Final), Some(StageStatus::Due));
    assert!(!report.overdue);
    assert_eq!(report.incidents, ["cve-2019-19781"]);
    assert_eq!(report.open_findings, 1, "org-a's finding of that incident");

    // the same document again changes nothing
    let (_, again) = app
        .submit_incident_report(&first, &party("org-a"), "org-a (API)")
        .unwrap();
    assert!(!again);

    // another organisation may not file for it; its CERT may file for a constituent
    let err = app
        .submit_incident_report(
            &doc(
                "org-a",
                "X-1",
                "early-warning",
                &format!("aware_at = \"{}\"\n", hours_ago(1)),
            ),
            &party("org-b"),
            "org-b (API)",
        )
        .unwrap_err();
    assert!(matches!(err, AppError::Usage(_)), "{err:?}");
    let for_b = doc(
        "org-b",
        "B-7",
        "notification",
        &format!("aware_at = \"{}\"\n", hours_ago(100)),
    );
    let (b, _) = app
        .submit_incident_report(&for_b, &party("z-cert"), "Jan (z-cert, API)")
        .unwrap();
    // a notification filed first covers the early warning; filed 100 h after awareness, late
    assert_eq!(
        status(&b, ReportStage::EarlyWarning),
        Some(StageStatus::Late)
    );
    assert_eq!(
        status(&b, ReportStage::Notification),
        Some(StageStatus::Late)
    );

    // an unknown organisation, a later stage of a report never begun without aware_at
    assert!(matches!(
        app.submit_incident_report(
            &doc(
                "org-z",
                "Z",
                "early-warning",
                &format!("aware_at = \"{}\"\n", hours_ago(1))
            ),
            &Viewer::Analyst,
            "analyst (CLI)"
        ),
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        app.submit_incident_report(&doc("org-a", "NEW", "final", ""), &Viewer::Analyst, "analyst (CLI)"),
        Err(AppError::Usage(m)) if m.contains("aware_at")
    ));

    // the CSIRT answers; a report long past its notification deadline is overdue
    let replied = app
        .reply_incident_report("org-a", "A-2026-1", "analyst (CLI)", Some("received"))
        .unwrap();
    assert_eq!(
        status(&replied, ReportStage::CsirtReply),
        Some(StageStatus::Complete)
    );
    app.submit_incident_report(
        &doc(
            "org-a",
            "A-OLD",
            "early-warning",
            &format!("aware_at = \"{}\"\n", hours_ago(80)),
        ),
        &party("org-a"),
        "org-a (API)",
    )
    .unwrap();
    let all = app
        .incident_reports(&Viewer::Analyst, "nl-2020", "test")
        .unwrap()
        .reports;
    let old = all.iter().find(|r| r.reference == "A-OLD").unwrap();
    assert!(old.overdue);
    assert_eq!(
        status(old, ReportStage::Notification),
        Some(StageStatus::Overdue)
    );
    assert!(matches!(
        app.reply_incident_report("org-a", "NONE", "analyst (CLI)", None),
        Err(AppError::NotFound(_))
    ));

    // the report joins the incident's record
    let evaluation = app
        .report(
            "cve-2019-19781",
            "nl-2020",
            &baken_pipeline::report::ReportOptions::default(),
        )
        .unwrap();
    assert_eq!(evaluation.incident_reports.total, 1);
    assert_eq!(evaluation.incident_reports.compromised, 1);
    assert_eq!(
        evaluation
            .incident_reports
            .vital_compromised_with_open_findings,
        [("org-a/A-2026-1".to_string(), 1)]
    );
    let indicators = app.indicators(None).unwrap();
    assert_eq!(indicators.incident_reports.get("health"), Some(&2));
    assert_eq!(indicators.incident_reports.get("retail"), Some(&1));
}

#[test]
fn other_parties_read_reports_only_as_the_policy_allows_and_every_read_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = world(dir.path());
    let aware = format!("aware_at = \"{}\"\n", hours_ago(2));
    app.submit_incident_report(
        &doc("org-a", "A-1", "early-warning", &aware),
        &party("org-a"),
        "org-a (API)",
    )
    .unwrap();
    app.submit_incident_report(
        &doc("org-b", "B-1", "early-warning", &aware),
        &party("org-b"),
        "org-b (API)",
    )
    .unwrap();
    app.submit_incident_report(
        &doc(
            "org-a",
            "A-RED",
            "early-warning",
            &format!("{aware}tlp = \"RED\"\n"),
        ),
        &party("org-a"),
        "org-a (API)",
    )
    .unwrap();
    let read = |app: &mut App, who: &str| {
        let v = app
            .incident_reports(&party(who), "nl-2020", "test")
            .unwrap();
        let mut refs: Vec<String> = v.reports.iter().map(|r| r.reference.clone()).collect();
        refs.sort();
        (refs, v.counts)
    };
    // each organisation its own (TLP:RED too: it wrote it)
    assert_eq!(read(&mut app, "org-a").0, ["A-1", "A-RED"]);
    assert_eq!(read(&mut app, "org-b").0, ["B-1"]);
    // nl-2020: a CERT reads a vital constituent's report in full, a non-vital one's as a count;
    // TLP:RED goes to nobody the source did not name
    let (refs, counts) = read(&mut app, "z-cert");
    assert_eq!(refs, ["A-1"]);
    assert_eq!(counts.get("retail"), Some(&1));
    // a supervisor sees counts per sector, never whose
    let (refs, counts) = read(&mut app, "igj");
    assert!(refs.is_empty(), "{refs:?}");
    assert_eq!(counts.get("health"), Some(&1));

    let log = app.audit_log().unwrap();
    let reads: Vec<_> = log.iter().filter(|e| e.kind == "report-read").collect();
    assert_eq!(reads.len(), 4);
    assert!(
        reads
            .iter()
            .any(|e| e.subject == "z-cert" && e.body.contains("org-a/A-1"))
    );
    assert_eq!(
        log.iter().filter(|e| e.kind == "incident-report").count(),
        3,
        "every stage filed is audited"
    );
}
