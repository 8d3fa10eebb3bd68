//! Lookalike domain names through the core: recorded as findings of the protected name's
//! owner, takedown requests to the registrar (RDAP) and the hoster (registry) as the policy
//! allows, each sent once and audited, and closed as taken down by a later check.

use std::path::Path;

use baken_app::App;
use baken_deliver::memory::Recorder;
use baken_model::{Owner, Rule, Tlp};
use baken_pipeline::lookalikes::{Flagged, INCIDENT, Sighting};
use baken_store::{Cause, FindingQuery, FindingState};

const REGISTRY: &str = r#"
[[organisation]]
id = "rivm"
name = "Rijksinstituut Voorbeeld"
sector = "health"
vital = true
domains = ["rivm.example"]
contacts = [{ email = "security@rivm.example", role = "security" }]

[[organisation]]
id = "hoster-1"
name = "Voorbeeld Hosting BV"
kind = "hoster"
networks = ["198.18.9.0/24"]
contacts = [{ email = "abuse@hoster-1.example", role = "abuse" }]
"#;

const RDAP: &str = r#"{
  "objectClassName": "domain",
  "ldhName": "rivm-corona.example",
  "events": [{"eventAction": "registration", "eventDate": "2020-03-12T08:00:00Z"}],
  "entities": [{
    "objectClassName": "entity",
    "roles": ["registrar"],
    "publicIds": [{"type": "IANA Registrar ID", "identifier": "9999"}],
    "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Example Registrar"]]],
    "entities": [{
      "objectClassName": "entity",
      "roles": ["abuse"],
      "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Abuse"],
                                ["email", {}, "text", "Abuse@Registrar.example"]]]
    }]
  }]
}"#;

fn world(dir: &Path) -> App {
    let mut app = App::open(&dir.join("data")).unwrap();
    let registry = dir.join("registry.toml");
    std::fs::write(&registry, REGISTRY).unwrap();
    app.import_registry(&registry, false).unwrap();
    std::fs::create_dir_all(dir.join("rdap")).unwrap();
    std::fs::write(dir.join("rdap/rivm-corona.example.json"), RDAP).unwrap();
    app
}

fn flag(domain: &str) -> Flagged {
    Flagged {
        domain: domain.into(),
        unicode: None,
        protected: "rivm.example".into(),
        owner: Some("rivm".into()),
        kinds: vec!["embedded".into()],
        keywords: vec!["corona".into()],
        score: 90,
    }
}

fn seen(domain: &str, a: &[&str], time: &str) -> Sighting {
    Sighting {
        domain: domain.into(),
        dns_a: a.iter().map(|s| s.to_string()).collect(),
        dns_ns: vec!["ns1.parking.example".into()],
        time: Some(time.into()),
        ..Sighting::default()
    }
}

#[test]
fn a_lookalike_is_its_owners_finding_and_each_desk_is_asked_once_as_the_policy_allows() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = world(dir.path());
    let rdap = dir.path().join("rdap");
    let sightings = [seen(
        "rivm-corona.example",
        &["198.18.9.10", "!ServFail"],
        "2020-03-14T09:00:00+00:00",
    )];

    let done = app
        .record_lookalikes(
            &[flag("rivm-corona.example")],
            &sightings,
            "ct-day-1",
            Tlp::Clear,
        )
        .unwrap();
    assert_eq!((done.new_findings, done.stored, done.duplicate), (1, 1, 0));
    // the same names seen at the same time again store nothing
    let again = app
        .record_lookalikes(
            &[flag("rivm-corona.example")],
            &sightings,
            "ct-day-1",
            Tlp::Clear,
        )
        .unwrap();
    assert_eq!(
        (again.new_findings, again.stored, again.duplicate),
        (0, 0, 1)
    );

    let findings = app
        .store()
        .finding_records(&FindingQuery {
            incident: Some(INCIDENT.into()),
            ..FindingQuery::default()
        })
        .unwrap();
    let [f] = findings.as_slice() else {
        panic!("one finding: {findings:?}")
    };
    assert_eq!(f.addr, "rivm-corona.example");
    assert_eq!(f.attribution.rule, Rule::Lookalike);
    assert!(matches!(&f.attribution.owner, Owner::Organisation { id } if id.0 == "rivm"));
    let detail = app.finding(f.id).unwrap();
    assert!(
        detail.reason.contains("imitates rivm.example"),
        "{}",
        detail.reason
    );

    // the registrar from RDAP and the hoster from the registry, both allowed at TLP:CLEAR
    let plan = app
        .plan_takedowns("nl-2020", Some(&rdap), Tlp::Clear)
        .unwrap();
    let mut desks: Vec<(&str, &str, Option<&str>)> = plan
        .iter()
        .map(|p| {
            (
                p.desk.role.as_str(),
                p.desk.email.as_str(),
                p.decision.rule.as_deref(),
            )
        })
        .collect();
    desks.sort();
    assert_eq!(
        desks,
        [
            (
                "hoster",
                "abuse@hoster-1.example",
                Some("takedown-to-abuse-desk")
            ),
            (
                "registrar",
                "abuse@registrar.example",
                Some("takedown-to-abuse-desk")
            ),
        ]
    );
    let registrar = plan.iter().find(|p| p.desk.role == "registrar").unwrap();
    assert_eq!(
        registrar.desk.via,
        "RDAP: registrar Example Registrar (IANA 9999)"
    );
    assert!(
        registrar
            .evidence
            .contains(&"registered: 2020-03-12T08:00:00Z".to_string())
    );
    assert!(
        registrar
            .evidence
            .contains(&"resolves to: 198.18.9.10".to_string())
    );

    let mut recorder = Recorder::new();
    let sent = app
        .send_takedowns(
            "nl-2020",
            Some(&rdap),
            Tlp::Clear,
            &mut recorder,
            "NCSC <baken@ncsc.example>",
        )
        .unwrap();
    assert!(sent.iter().all(|o| o.outcome == "sent"), "{sent:?}");
    let mails = recorder.take();
    assert_eq!(mails.len(), 2);
    for m in &mails {
        assert!(
            m.subject
                .contains("rivm-corona.example imitates rivm.example"),
            "{}",
            m.subject
        );
        assert!(m.subject.starts_with("[TLP:CLEAR]"), "{}", m.subject);
        assert!(m.text.contains("resolves to: 198.18.9.10"), "{}", m.text);
        assert!(
            m.text.contains("name servers: ns1.parking.example"),
            "{}",
            m.text
        );
    }
    let audited: Vec<_> = app
        .store()
        .audit_log()
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "delivery")
        .map(|e| serde_json::from_str::<serde_json::Value>(&e.body).unwrap())
        .filter(|b| b["kind"] == "takedown")
        .collect();
    assert_eq!(audited.len(), 2);
    assert!(
        audited
            .iter()
            .all(|b| b["rule"] == "takedown-to-abuse-desk"),
        "{audited:?}"
    );

    // a second run sends nothing again
    let second = app
        .send_takedowns(
            "nl-2020",
            Some(&rdap),
            Tlp::Clear,
            &mut recorder,
            "NCSC <baken@ncsc.example>",
        )
        .unwrap();
    assert!(
        second.iter().all(|o| o.outcome == "already-sent"),
        "{second:?}"
    );
    assert!(recorder.take().is_empty());

    // notify tells the owner of it too: a vital provider gets it in full under nl-2020
    let why = app.why("rivm", INCIDENT, "nl-2020", Tlp::Clear).unwrap();
    let direct = why
        .about
        .iter()
        .find(|d| d.recipient == why.party)
        .expect("a decision for the owner itself");
    assert_eq!(direct.decision.form, baken_policy::Form::Full, "{direct:?}");
    assert_eq!(direct.contact, Ok("security@rivm.example".to_string()));

    // a check that no longer resolves it closes it as taken down, and no request follows
    let check = dir.path().join("check.jsonl");
    std::fs::write(
        &check,
        r#"{"domain": "rivm-corona.example", "dns_a": [], "dns_ns": [], "time": "2020-03-20T09:00:00+00:00"}
{"domain": "unrelated.example", "dns_a": ["198.18.9.11"]}
"#,
    )
    .unwrap();
    let rechecked = app.recheck_lookalikes(&check, Tlp::Clear).unwrap();
    assert_eq!(rechecked.taken_down, [f.id]);
    assert_eq!(rechecked.not_recorded, ["unrelated.example"]);
    let now = app.finding(f.id).unwrap();
    assert_eq!(now.finding.state, FindingState::VerifiedFixed.as_str());
    let transitions = app.store().incident_transitions(INCIDENT).unwrap();
    assert!(
        transitions
            .iter()
            .any(|t| t.to == FindingState::VerifiedFixed && t.cause == Cause::TakenDown),
        "{transitions:?}"
    );
    assert!(
        app.plan_takedowns("nl-2020", Some(&rdap), Tlp::Clear)
            .unwrap()
            .is_empty()
    );

    // back up again: reopened
    std::fs::write(
        &check,
        r#"[{"domain": "rivm-corona.example", "dns_a": ["198.18.9.12"], "time": "2020-03-25T09:00:00+00:00"}]"#,
    )
    .unwrap();
    let back = app.recheck_lookalikes(&check, Tlp::Clear).unwrap();
    assert_eq!(back.still_up.reopened, 1);
    assert_eq!(
        app.finding(f.id).unwrap().finding.state,
        FindingState::Reopened.as_str()
    );
}

#[test]
fn a_confidential_lookalike_or_a_policy_without_a_takedown_rule_sends_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = world(dir.path());
    let rdap = dir.path().join("rdap");
    app.record_lookalikes(
        &[flag("rivm-corona.example")],
        &[seen(
            "rivm-corona.example",
            &["198.18.9.10"],
            "2020-03-14T09:00:00+00:00",
        )],
        "tip from a peer",
        Tlp::Amber,
    )
    .unwrap();
    let mut recorder = Recorder::new();
    let out = app
        .send_takedowns(
            "nl-2020",
            Some(&rdap),
            Tlp::Clear,
            &mut recorder,
            "NCSC <baken@ncsc.example>",
        )
        .unwrap();
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|o| o.outcome == "withheld"), "{out:?}");
    assert!(
        out.iter()
            .all(|o| o.request.decision.rule.as_deref() == Some("takedown-confidential")),
        "{out:?}"
    );
    assert!(recorder.take().is_empty());

    // a policy that says nothing of takedown requests gives none
    let policy = dir.path().join("no-takedowns.toml");
    let text = baken_policy::Policy::builtin_text("nl-2020").unwrap();
    let cut = text.find("# ---- takedown requests").unwrap();
    let end = text.find("# ---- following findings").unwrap();
    std::fs::write(&policy, format!("{}{}", &text[..cut], &text[end..])).unwrap();
    let plan = app
        .plan_takedowns(policy.to_str().unwrap(), Some(&rdap), Tlp::Clear)
        .unwrap();
    assert_eq!(plan.len(), 2);
    assert!(
        plan.iter()
            .all(|p| p.decision.form == baken_policy::Form::Nothing
                && p.decision.basis.contains("no rule for this class")),
        "{plan:?}"
    );
}
