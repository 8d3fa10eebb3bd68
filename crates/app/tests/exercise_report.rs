//! The exercise report's figures on a scripted drill: one participant acknowledges by
//! reply, one acknowledges and then claims a fix, one is told and never answers, and two
//! cannot be reached (the policy tells nobody about one, the other has no network). The
//! replayed clock sets when each answer comes.

use std::path::Path;

use baken_app::{App, ExerciseRequest, NotifyRequest, Said};
use baken_deliver::Outbox;
use baken_model::Tlp;
use baken_pipeline::NoProgress;
use baken_store::{FindingQuery, FindingState};
use chrono::{DateTime, Duration, Utc};

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
id = "org-e"
name = "Epsilon Ziekenhuis"
sector = "health"
vital = true
networks = ["2001:db8:5::/48"]
contacts = [{ email = "soc@epsilon.example", role = "security" }]

[[organisation]]
id = "dtc"
name = "Digital Trust Center"
kind = "dtc"
contacts = [{ email = "dtc@dtc.example", role = "security" }]
"#;

fn at(t0: DateTime<Utc>, hours: i64) {
    baken_store::set_clock(Some(t0 + Duration::hours(hours)));
}

fn ids_of(app: &App, incident: &str, org: &str) -> Vec<i64> {
    app.store()
        .finding_records(&FindingQuery {
            incident: Some(incident.into()),
            ..FindingQuery::default()
        })
        .unwrap()
        .into_iter()
        .filter(|f| {
            matches!(&f.attribution.owner,
                baken_model::Owner::Organisation { id } if id.0 == org)
        })
        .map(|f| f.id)
        .collect()
}

fn reply(dir: &Path, key: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(format!("reply-{key}.eml"));
    std::fs::write(
        &path,
        format!(
            "From: cert@beta.example\r\nTo: baken@ncsc.example\r\nSubject: Re: exercise\r\n\
             Message-ID: <reply-{key}@beta.example>\r\nIn-Reply-To: <{key}@ncsc.example>\r\n\
             Date: Sun, 6 Dec 2026 10:00:00 +0000\r\n\r\n{text}\r\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn the_report_measures_who_answered_when_and_who_could_not_be_reached() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open(&dir.path().join("data")).unwrap();
    let registry = dir.path().join("registry.toml");
    std::fs::write(&registry, REGISTRY).unwrap();
    app.import_registry(&registry, false).unwrap();

    let t0 = DateTime::parse_from_rfc3339("2026-03-24T08:00:00Z")
        .unwrap()
        .to_utc();
    at(t0, 0);
    let mut outbox = Outbox::new(dir.path().join("outbox")).unwrap();
    let run = app
        .exercise_run(
            &ExerciseRequest {
                scenario: "pulse-secure".into(),
                id: Some("pulse1".into()),
                participants: Some(
                    ["org-a", "org-b", "org-c", "org-d", "org-e"]
                        .map(String::from)
                        .to_vec(),
                ),
                out: Some(dir.path().join("drill")),
                notify: NotifyRequest {
                    incident: None,
                    from: "NCSC baken <baken@ncsc.example>".into(),
                    tlp: Tlp::Amber,
                    policy: "nl-2020".into(),
                    named: Vec::new(),
                    idempotent_transport: true,
                    resend_uncertain: false,
                    daily: None,
                },
            },
            &mut outbox,
            &NoProgress,
        )
        .unwrap();
    assert_eq!(run.incident, "exercise-pulse1-cve-2019-11510");
    let hosts: Vec<&str> = run
        .participants
        .iter()
        .flat_map(|p| p.hosts.iter().map(String::as_str))
        .collect();
    assert_eq!(
        hosts,
        ["198.18.1.1", "198.18.2.1", "198.18.3.1", "2001:db8:5::1"]
    );

    // org-b acknowledges by reply an hour later
    at(t0, 1);
    let key = app
        .store()
        .messages(Some(&run.incident))
        .unwrap()
        .into_iter()
        .find(|m| m.party == "org-b")
        .expect("org-b was told")
        .key;
    let imported = app
        .import_replies(&[reply(dir.path(), &key, "Thank you, we received this.")])
        .unwrap();
    assert_eq!(imported.totals.applied, 1, "{imported:?}");
    // org-a acknowledges after two hours and claims the fix after six, through an analyst
    at(t0, 2);
    let a = ids_of(&app, &run.incident, "org-a");
    let said = |to| Said {
        ids: a.clone(),
        to: Some(to),
        by: "soc@alpha.example".into(),
        note: None,
    };
    app.said(&said(FindingState::Acknowledged)).unwrap();
    at(t0, 6);
    app.said(&said(FindingState::MitigationClaimed)).unwrap();
    at(t0, 24);
    app.exercise_end("pulse1", "exercise lead").unwrap();

    let r = app.exercise_report("pulse1").unwrap();
    baken_store::set_clock(None);
    let by_id = |id: &str| r.participants.iter().find(|p| p.id == id).unwrap();
    let a = by_id("org-a");
    assert_eq!(
        (a.hours_to_acknowledge, a.hours_to_mitigation_claimed),
        (Some(2.0), Some(6.0))
    );
    assert!(!a.never_responded && a.unreachable.is_none());
    let b = by_id("org-b");
    assert_eq!(
        (b.hours_to_acknowledge, b.hours_to_mitigation_claimed),
        (Some(1.0), None)
    );
    let e = by_id("org-e");
    assert!(e.delivered_at.is_some() && e.never_responded, "{e:?}");
    assert_eq!(e.hours_to_mitigation_claimed, None, "closing is no claim");
    let c = by_id("org-c");
    assert!(c.delivered_at.is_none());
    assert!(c.unreachable.is_some(), "{c:?}");
    let d = by_id("org-d");
    assert_eq!(
        d.unreachable.as_deref(),
        Some("no registered network to generate a scan row for")
    );

    let t = &r.total;
    assert_eq!(
        (
            t.participants,
            t.delivered,
            t.acknowledged,
            t.mitigation_claimed,
            t.never_responded,
            t.unreachable
        ),
        (5, 3, 2, 1, 1, 2)
    );
    assert_eq!(t.median_hours_to_acknowledge, Some(1.5));
    let health = r.sectors.iter().find(|g| g.group == "health").unwrap();
    assert_eq!(
        (
            health.participants,
            health.delivered,
            health.never_responded
        ),
        (2, 2, 1)
    );
    assert_eq!(health.median_hours_to_acknowledge, Some(2.0));
    let retail = r.sectors.iter().find(|g| g.group == "retail").unwrap();
    assert_eq!((retail.participants, retail.unreachable), (2, 2));
    // every participant is delivered to or unreachable, never both
    for p in &r.participants {
        assert!(p.delivered_at.is_some() != p.unreachable.is_some(), "{p:?}");
    }
    let html = r.html();
    assert!(html.contains("<svg") && html.contains("EXERCISE pulse1"));
    assert!(!html.contains("<script"));
}
