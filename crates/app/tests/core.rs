//! The application core without the binary: a registry and a day's scan in, a notify round
//! out through an outbox, and the plan read back by `coverage`, `why` and `whatif`.

mod common;

use std::path::{Path, PathBuf};

use baken_app::{App, AppError, NotifyRequest, Said, SaidResult, Viewer};
use baken_deliver::Outbox;
use baken_feeds::{FeedKind, Options};
use baken_model::{OrgId, Party, Tlp};
use baken_pipeline::NoProgress;
use baken_pipeline::ingest::{Input, Settings};
use baken_pipeline::plan::Coverage;
use baken_store::{FindingQuery, FindingState};
use common::scan;

const INCIDENT: &str = "cve-2019-19781";

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
name = "Beta Winkel BV"
sector = "retail"
networks = ["198.18.2.0/24"]
contacts = [{ email = "it@beta.example", role = "security" }]

[[organisation]]
id = "dtc"
name = "Digital Trust Center"
kind = "dtc"
contacts = [{ email = "dtc@dtc.example", role = "security" }]
"#;

/// An application over a fresh data directory with the registry and one scan of a vital
/// (org-a) and a non-vital (org-b) organisation's hosts.
fn world(dir: &Path) -> App {
    let data = dir.join("data");
    let mut app = App::open(&data).unwrap();
    let registry = dir.join("registry.toml");
    std::fs::write(&registry, REGISTRY).unwrap();
    let imported = app.import_registry(&registry, false).unwrap();
    assert_eq!(imported.organisations, 3);
    let feed = dir.join("scan-intelmq.jsonl");
    std::fs::write(
        &feed,
        [scan("198.18.1.5"), scan("198.18.1.6"), scan("198.18.2.5")].concat(),
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
    assert!(summary.reconciles());
    assert_eq!(summary.stored, 3);
    app
}

fn request(policy: &str) -> NotifyRequest {
    NotifyRequest {
        incident: Some(INCIDENT.into()),
        from: "NCSC baken <baken@ncsc.example>".into(),
        tlp: Tlp::Amber,
        policy: policy.into(),
        named: Vec::new(),
        idempotent_transport: true,
        resend_uncertain: false,
        daily: None,
    }
}

fn outbox(dir: &Path) -> (Outbox, PathBuf) {
    let path = dir.join("outbox");
    (Outbox::new(&path).unwrap(), path)
}

#[test]
fn a_round_tells_each_reachable_party_once_and_coverage_follows_what_was_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = world(dir.path());

    let before = app.coverage(INCIDENT, "nl-2020", Tlp::Amber).unwrap();
    assert_eq!((before.affected, before.reached), (2, 0));

    let (mut transport, path) = outbox(dir.path());
    let report = app
        .notify(&request("nl-2020"), &mut transport, &NoProgress)
        .unwrap();
    assert!(report.undelivered.is_empty(), "{:?}", report.undelivered);
    let [incident] = report.incidents.as_slice() else {
        panic!("one incident: {:?}", report.incidents)
    };
    let told: Vec<(&str, usize, bool)> = incident
        .digests
        .iter()
        .map(|d| (d.party.as_str(), d.findings, d.aggregate))
        .collect();
    assert_eq!(
        told,
        [("dtc", 0, true), ("org-a", 2, false)],
        "nl-2020 tells the vital provider its findings, and the DTC counts only"
    );
    assert_eq!(report.sent_in_all, [2]);
    assert_eq!(std::fs::read_dir(&path).unwrap().count(), 2);

    let after = app.coverage(INCIDENT, "nl-2020", Tlp::Amber).unwrap();
    assert_eq!(
        (after.affected, after.reached, after.unreachable),
        (2, 1, 1)
    );
    assert_eq!(after.by_path.get("direct"), Some(&1));
    let b = after
        .parties
        .iter()
        .find(|a| a.id == Party::Registered(OrgId("org-b".into())))
        .unwrap();
    assert!(
        matches!(&b.coverage, Coverage::Unreachable { .. })
            && b.unreachable_reason().is_some_and(|r| !r.is_empty()),
        "{b:?}"
    );

    // a second round has nothing new to say
    let again = app
        .notify(&request("nl-2020"), &mut transport, &NoProgress)
        .unwrap();
    assert!(
        again.incidents[0].digests.iter().all(|d| !d.delivered_now),
        "{:?}",
        again.incidents[0].digests
    );
    assert_eq!(std::fs::read_dir(&path).unwrap().count(), 2);
}

#[test]
fn why_and_whatif_explain_the_plan_without_sending() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = world(dir.path());

    // by address: the finding, then its owner's decisions
    let why = app
        .why("198.18.2.5", INCIDENT, "nl-2020", Tlp::Amber)
        .unwrap();
    assert_eq!(why.party, Party::Registered(OrgId("org-b".into())));
    let finding = why.finding.as_ref().expect("the address names a finding");
    assert_eq!(finding.address.as_deref(), Some("198.18.2.5"));
    assert!(!why.about.is_empty());
    assert!(why.about.iter().all(|d| d.subject == why.party));
    assert!(
        why.labels.iter().any(|l| l.starts_with("TLP:AMBER")),
        "{:?}",
        why.labels
    );
    assert!(matches!(
        why.affected.as_ref().map(|a| &a.coverage),
        Some(Coverage::Unreachable { .. })
    ));
    // the JSON the front ends print: parties by key, contacts as an address or why none
    let json = serde_json::to_value(&why).unwrap();
    assert_eq!(json["party"], "org-b");
    assert_eq!(json["finding"]["address"], "198.18.2.5");
    let direct = json["about"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == "direct")
        .expect("a decision about telling org-b itself");
    assert_eq!(direct["recipient"], "org-b");
    assert_eq!(
        direct["contact"],
        serde_json::json!({"address": "it@beta.example"})
    );
    assert!(direct["decision"]["rule"].is_string(), "{direct}");
    // the DTC is asked about as a recipient
    let dtc = app.why("dtc", INCIDENT, "nl-dtc-oktt", Tlp::Amber).unwrap();
    assert!(dtc.affected.is_none());
    assert!(!dtc.as_recipient.is_empty());
    assert!(
        dtc.as_recipient
            .iter()
            .all(|d| d.recipient == Party::Registered(OrgId("dtc".into())))
    );
    // neither affected nor a recipient
    assert!(matches!(
        app.why("org-z", INCIDENT, "nl-2020", Tlp::Amber),
        Err(AppError::NotFound(_))
    ));

    // the DTC as an OKTT reaches the non-vital organisation nl-2020 leaves alone
    let w = app
        .whatif("nl-dtc-oktt", "nl-2020", INCIDENT, Tlp::Amber)
        .unwrap();
    assert_eq!((w.affected, w.reached_before), (2, 1));
    assert!(w.reached_after > w.reached_before, "{w:?}");
    assert!(
        w.gained
            .iter()
            .any(|g| g.id == Party::Registered(OrgId("org-b".into()))),
        "{w:?}"
    );
    assert!(w.lost.is_empty(), "{w:?}");
    // nothing was sent by asking
    assert!(app.store().messages(None).unwrap().is_empty());

    // an incident without findings is not found
    assert!(matches!(
        app.coverage("cve-1999-0001", "nl-2020", Tlp::Amber),
        Err(AppError::NotFound(_))
    ));
}

#[test]
fn what_people_say_moves_findings_through_the_lifecycle_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = world(dir.path());
    let findings = app
        .findings(&FindingQuery {
            incident: Some("CVE-2019-19781".into()),
            ..FindingQuery::default()
        })
        .unwrap();
    assert_eq!(findings.len(), 3, "the incident is matched in any case");
    let ids: Vec<i64> = findings.iter().map(|f| f.id).collect();

    let said = |to, ids: Vec<i64>| Said {
        ids,
        to,
        by: "soc@alpha.example".into(),
        note: Some("patched".into()),
    };
    let out = app
        .said(&said(
            Some(FindingState::Acknowledged),
            vec![ids[0], 999_999],
        ))
        .unwrap();
    assert!(matches!(
        out[0].result,
        SaidResult::Applied {
            from: FindingState::Open,
            to: FindingState::Acknowledged
        }
    ));
    assert_eq!(out[1].result, SaidResult::NoSuchFinding);
    assert!(out[1].failed() && !out[0].failed());
    // saying it again is no failure
    let again = app
        .said(&said(Some(FindingState::Acknowledged), vec![ids[0]]))
        .unwrap();
    assert!(matches!(again[0].result, SaidResult::Already { .. }));
    assert!(!again[0].failed());

    let detail = app.finding(ids[0]).unwrap();
    assert_eq!(detail.finding.state, "acknowledged");
    assert_eq!(detail.history.len(), 1);
    assert_eq!(detail.history[0].by.as_deref(), Some("soc@alpha.example"));
    assert!(matches!(app.finding(999_999), Err(AppError::NotFound(_))));
}

#[test]
fn a_party_sees_exactly_what_the_policy_may_send_it_and_each_read_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = world(dir.path());
    let (_, a_token) = app.create_token("org-a", false, None).unwrap();
    let (_, analyst) = app.create_token("ncsc", true, None).unwrap();
    assert!(a_token.starts_with(baken_app::TOKEN_PREFIX));
    let org_a = app.authenticate(&a_token).unwrap();
    assert_eq!(org_a, Viewer::Party(OrgId("org-a".into())));
    assert_eq!(app.authenticate(&analyst).unwrap(), Viewer::Analyst);
    // a party's token needs a registered party
    assert!(matches!(
        app.create_token("org-z", false, None),
        Err(AppError::NotFound(_))
    ));

    let all = app
        .visible(&Viewer::Analyst, None, "nl-2020", "test")
        .unwrap();
    assert_eq!(all.findings.len(), 3);
    let mine = app.visible(&org_a, None, "nl-2020", "test").unwrap();
    let addresses: Vec<&str> = mine
        .findings
        .iter()
        .map(|f| f.finding.source_ip.as_deref().unwrap())
        .collect();
    assert_eq!(addresses, ["198.18.1.5", "198.18.1.6"]);
    assert!(
        mine.findings
            .iter()
            .all(|f| f.form == baken_policy::Form::Full || f.form == baken_policy::Form::OwnAssets)
    );
    assert!(mine.counts.is_empty());
    // org-b's finding is not found for org-a, as if it did not exist
    let b_id = all
        .findings
        .iter()
        .find(|f| f.finding.source_ip.as_deref() == Some("198.18.2.5"))
        .unwrap()
        .finding
        .id;
    assert!(matches!(
        app.visible_finding(&org_a, b_id, "nl-2020", "test"),
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        app.visible_finding(&org_a, 999_999, "nl-2020", "test"),
        Err(AppError::NotFound(_))
    ));
    // the DTC gets counts, never findings
    let dtc = Viewer::Party(OrgId("dtc".into()));
    let counts = app.visible(&dtc, None, "nl-2020", "test").unwrap();
    assert!(counts.findings.is_empty());
    assert!(!counts.counts.is_empty());
    // published as the mail publishes them: one organisation is below nl-2020's threshold
    // of 5, and so are its findings
    assert!(
        counts
            .counts
            .iter()
            .all(|c| c.organisations == "<5" && c.findings == "<5"),
        "{:?}",
        counts.counts
    );
    // the non-vital organisation sees nothing under nl-2020, its own under nl-dtc-oktt
    let org_b = Viewer::Party(OrgId("org-b".into()));
    assert!(
        app.visible(&org_b, None, "nl-2020", "test")
            .unwrap()
            .findings
            .is_empty()
    );

    // every party read is in the audit log, naming the findings by id
    let reads: Vec<_> = app
        .audit_log()
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "api-read" && e.subject == "org-a")
        .collect();
    assert_eq!(reads.len(), 2, "{reads:?}");
    let body: serde_json::Value = serde_json::from_str(&reads[0].body).unwrap();
    assert_eq!(body["findings"].as_array().unwrap().len(), 2);

    // revoked and expired tokens are refused
    let tokens = app.tokens().unwrap();
    let a_id = tokens.iter().find(|t| t.party == "org-a").unwrap().id;
    app.revoke_token(a_id).unwrap();
    assert!(matches!(
        app.authenticate(&a_token),
        Err(AppError::Unauthorized(_))
    ));
    assert!(matches!(app.revoke_token(a_id), Err(AppError::NotFound(_))));
    let (_, old) = app
        .create_token("org-a", false, Some(chrono::Duration::hours(-1)))
        .unwrap();
    assert!(matches!(
        app.authenticate(&old),
        Err(AppError::Unauthorized(_))
    ));
    assert!(matches!(
        app.authenticate("baken_guess"),
        Err(AppError::Unauthorized(_))
    ));
    // no token is stored, only its hash
    let stored = app.tokens().unwrap();
    assert!(
        stored
            .iter()
            .all(|t| t.hash != a_token && !t.hash.starts_with("baken_"))
    );
}

#[test]
fn a_daily_digest_party_is_told_once_a_day_and_then_everything_it_was_not_told() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = world(dir.path());
    let (mut transport, _) = outbox(dir.path());
    // the day's digest time passed a minute ago: org-a, never told, is due
    let at = (chrono::Utc::now() - chrono::Duration::minutes(1)).time();
    let daily = |parties: &[&str]| NotifyRequest {
        daily: Some(baken_app::DailyDigest {
            parties: parties.iter().map(|p| p.to_string()).collect(),
            at,
        }),
        ..request("nl-2020")
    };
    let first = app
        .notify(&daily(&["org-a"]), &mut transport, &NoProgress)
        .unwrap();
    let parties: Vec<&str> = first.incidents[0]
        .digests
        .iter()
        .filter(|d| d.delivered_now)
        .map(|d| d.party.as_str())
        .collect();
    assert_eq!(parties, ["dtc", "org-a"]);

    // a host of org-a found later: the next round holds its follow-up until tomorrow's digest
    let feed = dir.path().join("later-intelmq.jsonl");
    std::fs::write(&feed, scan("198.18.1.7")).unwrap();
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
    let held = app
        .notify(&daily(&["org-a"]), &mut transport, &NoProgress)
        .unwrap();
    assert!(
        held.incidents[0].digests.iter().all(|d| d.party != "org-a"),
        "{:?}",
        held.incidents[0].digests
    );
    let later = app
        .findings(&FindingQuery {
            incident: Some(INCIDENT.into()),
            ..FindingQuery::default()
        })
        .unwrap()
        .into_iter()
        .find(|f| f.source_ip.as_deref() == Some("198.18.1.7"))
        .unwrap();
    assert_eq!(later.state, "open", "not told yet");

    // without the digest (or when it is due) the follow-up goes out with just the new host
    let told = app
        .notify(&request("nl-2020"), &mut transport, &NoProgress)
        .unwrap();
    let to_a: Vec<_> = told.incidents[0]
        .digests
        .iter()
        .filter(|d| d.party == "org-a" && d.delivered_now)
        .collect();
    assert_eq!(to_a.len(), 1, "{to_a:?}");
    assert_eq!(to_a[0].findings, 1);

    // a daily party must be in the registry
    assert!(matches!(
        app.notify(&daily(&["org-z"]), &mut transport, &NoProgress),
        Err(AppError::NotFound(_))
    ));
}

#[test]
fn a_kept_plan_is_reused_until_the_findings_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = world(dir.path());
    let first = app.plan_kept(INCIDENT, "nl-2020", Tlp::Amber).unwrap();
    let again = app.plan_kept(INCIDENT, "nl-2020", Tlp::Amber).unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &again), "nothing changed");
    // a party's read (an audit entry) changes no finding
    app.visible(
        &Viewer::Party(OrgId("org-a".into())),
        Some(INCIDENT),
        "nl-2020",
        "test",
    )
    .unwrap();
    let read = app.plan_kept(INCIDENT, "nl-2020", Tlp::Amber).unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &read));
    // a change of state makes a new plan
    let id = app.findings(&FindingQuery::default()).unwrap()[0].id;
    app.said(&Said {
        ids: vec![id],
        to: Some(FindingState::Acknowledged),
        by: "test".into(),
        note: None,
    })
    .unwrap();
    let changed = app.plan_kept(INCIDENT, "nl-2020", Tlp::Amber).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&first, &changed));
    // so does a new finding
    let feed = dir.path().join("more-intelmq.jsonl");
    std::fs::write(&feed, scan("198.18.1.9")).unwrap();
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
    let grown = app.plan_kept(INCIDENT, "nl-2020", Tlp::Amber).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&changed, &grown));
    assert_eq!(
        grown.affected.iter().map(|a| a.findings).sum::<usize>(),
        4,
        "the new finding is in the new plan"
    );
}
