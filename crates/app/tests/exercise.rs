//! Exercises through the core: a drill on the same hosts as a real incident leaves that
//! incident's coverage, report, indicators and its advisory's exposure as they were, and
//! neither advisory links the other's findings; every message of it carries the three
//! markers (and its webhook events the exercise); ending it closes its findings.

mod common;

use std::path::{Path, PathBuf};

use baken_app::{App, AppError, ExerciseRequest, NotifyRequest};
use baken_deliver::Outbox;
use baken_feeds::{FeedKind, Options};
use baken_model::Tlp;
use baken_pipeline::NoProgress;
use baken_pipeline::ingest::{Input, Settings};
use baken_pipeline::report::ReportOptions;
use baken_store::{Cause, FindingQuery, FindingState};
use common::scan;

const REAL: &str = "cve-2019-19781";

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
contacts = [{ email = "cert@beta.example", role = "security" }]

[[organisation]]
id = "org-c"
name = "Gamma Winkel BV"
sector = "retail"
networks = ["198.18.3.0/24"]
contacts = [{ email = "it@gamma.example", role = "security" }]

[[organisation]]
id = "org-d"
name = "Delta Zonder Netwerk BV"
sector = "retail"
contacts = [{ email = "it@delta.example", role = "security" }]

[[organisation]]
id = "dtc"
name = "Digital Trust Center"
kind = "dtc"
contacts = [{ email = "dtc@dtc.example", role = "security" }]
"#;

fn world(dir: &Path) -> App {
    let mut app = App::open(&dir.join("data")).unwrap();
    let registry = dir.join("registry.toml");
    std::fs::write(&registry, REGISTRY).unwrap();
    app.import_registry(&registry, false).unwrap();
    // the real incident, on the very hosts the drill will name (the first of each network)
    let feed = dir.join("scan-intelmq.jsonl");
    std::fs::write(
        &feed,
        [scan("198.18.1.1"), scan("198.18.2.1"), scan("198.18.3.1")].concat(),
    )
    .unwrap();
    let summary = app
        .ingest(
            &Input {
                path: feed,
                feed: FeedKind::Intelmq,
            },
            &Options::default(),
            &Settings::default(),
            &NoProgress,
        )
        .unwrap();
    assert_eq!(summary.stored, 3);
    app
}

/// The demo's synthetic advisory of CVE-2019-19781.
const REAL_ADVISORY: &[u8] = include_bytes!("../../demo/src/advisory.json");
const REAL_ADVISORY_ID: &str = "DEMO-2020-0001";

/// The findings of the real advisory's incident, with their states.
fn real_advisory_findings(app: &App) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = app
        .store()
        .finding_records(&FindingQuery {
            incident: Some(REAL_ADVISORY_ID.to_ascii_lowercase()),
            ..FindingQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|f| (f.addr, f.state.as_str().to_string()))
        .collect();
    v.sort();
    v
}

fn notify_request() -> NotifyRequest {
    NotifyRequest {
        incident: None,
        from: "NCSC baken <baken@ncsc.example>".into(),
        tlp: Tlp::Amber,
        policy: "nl-2020".into(),
        named: Vec::new(),
        idempotent_transport: true,
        resend_uncertain: false,
        daily: None,
    }
}

fn drill(id: &str, participants: &[&str]) -> ExerciseRequest {
    ExerciseRequest {
        scenario: "citrix-adc".into(),
        id: Some(id.into()),
        participants: Some(participants.iter().map(|p| p.to_string()).collect()),
        out: None,
        notify: notify_request(),
    }
}

/// Everything a reader sees of the real incident, as JSON.
fn real_view(app: &mut App) -> serde_json::Value {
    let coverage = app.coverage(REAL, "nl-2020", Tlp::Amber).unwrap();
    let report = app
        .report(REAL, "nl-2020", &ReportOptions::default())
        .unwrap();
    let indicators = app.indicators(None).unwrap();
    let mut findings: Vec<(i64, String)> = app
        .store()
        .finding_records(&FindingQuery {
            incident: Some(REAL.into()),
            ..FindingQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|f| (f.id, f.state.as_str().to_string()))
        .collect();
    findings.sort();
    serde_json::json!({
        "coverage": coverage,
        "report": report,
        "indicators": indicators,
        "findings": findings,
        "messages": app.store().messages(Some(REAL)).unwrap().len(),
    })
}

fn emls(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
}

#[test]
fn a_drill_on_the_same_hosts_leaves_the_real_incident_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = world(dir.path());
    let mut outbox = Outbox::new(dir.path().join("outbox")).unwrap();
    // the real advisory, its exposure recorded: its incident links the real findings
    app.import_advisory_bytes(REAL_ADVISORY, "demo-advisory.json", None)
        .unwrap();
    let exposure = app.exposure(REAL_ADVISORY_ID, true).unwrap();
    assert_eq!(exposure.hosts, 3);
    // a round over every (real) incident
    app.notify(&notify_request(), &mut outbox, &NoProgress)
        .unwrap();
    let before = real_view(&mut app);
    let linked_before = real_advisory_findings(&app);

    let run = app
        .exercise_run(
            &drill("drill1", &["org-a", "org-b", "org-c"]),
            &mut outbox,
            &NoProgress,
        )
        .unwrap();
    assert_eq!(run.incident, "exercise-drill1-cve-2019-19781");
    assert_eq!(run.ingest.stored, 3, "{:?}", run.ingest);
    assert!(run.notify.incidents[0].sent() > 0);
    // the same hosts, under the drill's incident only
    let hosts: Vec<String> = app
        .store()
        .finding_records(&FindingQuery {
            incident: Some(run.incident.clone()),
            ..FindingQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|f| f.addr)
        .collect();
    assert_eq!(hosts.len(), 3);
    assert!(hosts.contains(&"198.18.1.1".to_string()));

    // a round over every incident, participants' claims, the drill's end: none of it
    // touches the real incident
    app.notify(&notify_request(), &mut outbox, &NoProgress)
        .unwrap();
    let ids: Vec<i64> = app
        .findings(&FindingQuery {
            incident: Some(run.incident.clone()),
            ..FindingQuery::default()
        })
        .unwrap()
        .iter()
        .map(|f| f.id)
        .collect();
    app.said(&baken_app::Said {
        ids: ids.clone(),
        to: Some(FindingState::MitigationClaimed),
        by: "soc@alpha.example".into(),
        note: None,
    })
    .unwrap();
    app.exercise_end("drill1", "exercise lead").unwrap();
    // the exposure analyses, again: the real advisory links no drill finding, the drill's
    // links no real one
    app.exposure(REAL_ADVISORY_ID, true).unwrap();
    assert_eq!(real_advisory_findings(&app), linked_before);
    let drill_exposure = app.exposure(&run.advisory, true).unwrap();
    assert_eq!(drill_exposure.hosts, 0, "{drill_exposure:?}");
    // (the drill's advisory is its incident's: it holds the drill's three findings, no more)
    assert_eq!(run.advisory.to_ascii_lowercase(), run.incident);
    assert_eq!(
        app.findings(&FindingQuery {
            incident: Some(run.incident.clone()),
            ..FindingQuery::default()
        })
        .unwrap()
        .len(),
        3
    );
    // each incident's messages quote its own advisory
    let context = |incident: &str| {
        baken_pipeline::notify::advisory_context(app.store(), incident)
            .unwrap()
            .map(|c| c.id)
    };
    assert_eq!(context(REAL).as_deref(), Some(REAL_ADVISORY_ID));
    assert_eq!(context(&run.incident), Some(run.advisory.clone()));
    assert_eq!(
        real_view(&mut app),
        before,
        "the real incident's coverage, report, indicators and findings are unchanged"
    );
    // its timeline shows nothing of the drill (a later round adds its own steps only)
    for entry in app.timeline(REAL).unwrap() {
        let text = serde_json::to_string(&entry).unwrap();
        assert!(!text.contains("exercise"), "{text}");
    }
    // and the indicators count the real incidents alone: the CVE and its advisory's
    assert_eq!(app.indicators(None).unwrap().incidents, 2);
}

#[test]
fn every_message_of_a_drill_carries_the_three_markers() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = world(dir.path());
    let real_box = dir.path().join("real");
    let drill_box = dir.path().join("drill");
    let mut real = notify_request();
    real.incident = Some(REAL.into());
    app.notify(&real, &mut Outbox::new(&real_box).unwrap(), &NoProgress)
        .unwrap();
    let run = app
        .exercise_run(
            &drill("drill2", &["org-a", "org-b", "org-c"]),
            &mut Outbox::new(&drill_box).unwrap(),
            &NoProgress,
        )
        .unwrap();
    let files = emls(&drill_box);
    assert!(!files.is_empty());
    assert_eq!(files.len(), run.notify.incidents[0].sent());
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let m = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        let subject = m.subject().unwrap();
        assert!(subject.starts_with("[EXERCISE] "), "{subject}");
        assert_eq!(
            m.header("X-Baken-Exercise").and_then(|h| h.as_text()),
            Some("drill2"),
            "{}",
            file.display()
        );
        let body = m.body_text(0).unwrap();
        assert!(
            body.starts_with("EXERCISE drill2: "),
            "{}: {body}",
            file.display()
        );
    }
    // a webhook event of a drill's finding says so too; a real one does not
    app.add_webhook("org-a", "http://127.0.0.1:9/hook").unwrap();
    app.queue_webhook_events("nl-2020").unwrap();
    let events = app.store().due_webhook_events(i64::MAX, 100).unwrap();
    let mut marked = (0, 0);
    for e in &events {
        let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
        let incident = payload["data"]["incident"].as_str().unwrap();
        if incident == run.incident {
            assert_eq!(payload["exercise"], "drill2", "{payload}");
            marked.0 += 1;
        } else {
            assert!(payload.get("exercise").is_none(), "{payload}");
            marked.1 += 1;
        }
    }
    assert_eq!(marked, (1, 1), "one event each: {events:?}");
    // real messages carry none of them
    for file in emls(&real_box) {
        let bytes = std::fs::read(&file).unwrap();
        let m = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        assert!(!m.subject().unwrap().contains("EXERCISE"));
        assert!(m.header("X-Baken-Exercise").is_none());
        assert!(!m.body_text(0).unwrap().contains("EXERCISE"));
    }
}

#[test]
fn ending_a_drill_closes_its_findings_once_with_the_cause_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = world(dir.path());
    let mut outbox = Outbox::new(dir.path().join("outbox")).unwrap();
    let run = app
        .exercise_run(
            &drill("drill3", &["org-a", "org-c"]),
            &mut outbox,
            &NoProgress,
        )
        .unwrap();
    let end = app.exercise_end("drill3", "exercise lead").unwrap();
    assert_eq!((end.closed, end.already_closed), (2, 0));
    let findings = app
        .store()
        .finding_records(&FindingQuery {
            incident: Some(run.incident.clone()),
            ..FindingQuery::default()
        })
        .unwrap();
    assert!(
        findings
            .iter()
            .all(|f| f.state == FindingState::VerifiedFixed)
    );
    let closing: Vec<_> = app
        .store()
        .incident_transitions(&run.incident)
        .unwrap()
        .into_iter()
        .filter(|t| t.to == FindingState::VerifiedFixed)
        .collect();
    assert_eq!(closing.len(), 2);
    assert!(
        closing
            .iter()
            .all(|t| t.cause == Cause::Exercise && t.by.as_deref() == Some("exercise lead"))
    );
    // the real findings stay open
    assert!(
        app.store()
            .finding_records(&FindingQuery {
                incident: Some(REAL.into()),
                ..FindingQuery::default()
            })
            .unwrap()
            .iter()
            .all(|f| f.state != FindingState::VerifiedFixed)
    );
    let report = app.exercise_report("drill3").unwrap();
    assert_eq!(report.ended_at.as_deref(), Some(end.ended_at.as_str()));
    assert!(matches!(
        app.exercise_end("drill3", "again"),
        Err(AppError::Usage(_))
    ));
    assert!(matches!(
        app.exercise_end("nosuch", "x"),
        Err(AppError::NotFound(_))
    ));
    // an id names one exercise
    assert!(matches!(
        app.exercise_run(&drill("drill3", &["org-a"]), &mut outbox, &NoProgress),
        Err(AppError::Usage(_))
    ));
}
