//! The crisis over days, as a user runs it: follow-ups that tell each recipient only what is
//! new, reruns that send nothing, verification by a later report, reopening, and what
//! recipients say about their findings.

mod common;

use std::path::Path;

use baken_store::{SqliteStore, prelude::*};
use common::{files_with, run, run_ok, s};
use mail_parser::MessageParser;
use serde_json::{Value, json};

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
"#;

fn event(ip: &str, time: &str, identifier: Option<&str>) -> Value {
    common::scan_event(ip, time, identifier)
}

/// Writes a day's report of `events` and ingests it; returns the ingest summary.
fn day(data: &Path, dir: &Path, name: &str, events: &[Value]) -> Value {
    let file = dir.join(format!("{name}-intelmq.jsonl"));
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let out = run_ok(data, &["ingest", "--json", "--feed", "intelmq", s(&file)]);
    serde_json::from_str::<Value>(&out).unwrap()[0].clone()
}

fn citrix_day(data: &Path, dir: &Path, name: &str, time: &str, ips: &[&str]) -> Value {
    let events: Vec<Value> = ips.iter().map(|ip| event(ip, time, None)).collect();
    day(data, dir, name, &events)
}

fn world() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry.toml");
    std::fs::write(&registry, REGISTRY).unwrap();
    run_ok(&data, &["registry", "import", s(&registry)]);
    (dir, data)
}

fn notify(data: &Path) -> Vec<Value> {
    common::notify_digests(data, &[])
}

/// A delivered message as its recipient reads it.
struct Mail {
    subject: String,
    message_id: String,
    in_reply_to: Option<String>,
    body: String,
}

fn eml(data: &Path, key: &str) -> Mail {
    let raw = std::fs::read(data.join("outbox").join(format!("{key}.eml"))).unwrap();
    let parsed = MessageParser::default().parse(&raw).expect("valid MIME");
    Mail {
        subject: parsed.subject().unwrap().to_string(),
        message_id: parsed.message_id().unwrap().to_string(),
        in_reply_to: parsed.in_reply_to().as_text().map(str::to_string),
        body: parsed.body_text(0).unwrap().to_string(),
    }
}

fn states(data: &Path) -> Vec<(String, String)> {
    let out = run_ok(data, &["findings", "--json"]);
    let mut v: Vec<(String, String)> = out
        .lines()
        .map(|l| {
            let f: Value = serde_json::from_str(l).unwrap();
            (
                f["source.ip"].as_str().unwrap().to_string(),
                f["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn pair(ip: &str, state: &str) -> (String, String) {
    (ip.to_string(), state.to_string())
}

#[test]
fn follow_ups_tell_only_what_is_new_and_a_later_report_verifies_fixes() {
    let (dir, data) = world();
    let t1 = "2020-01-10T06:00:00+00:00";
    citrix_day(
        &data,
        dir.path(),
        "day1",
        t1,
        &["198.18.1.1", "198.18.1.2", "198.18.2.1"],
    );
    let first = notify(&data);
    assert_eq!(
        first.len(),
        2,
        "one first notice per organisation: {first:?}"
    );
    assert!(first.iter().all(|d| d["kind"] == "first"));
    let to_a = first.iter().find(|d| d["party"] == "org-a").unwrap();
    let first_key = to_a["key"].as_str().unwrap().to_string();
    let ticket = to_a["ticket"].as_i64().expect("a ticket");
    let first_mail = eml(&data, &first_key);
    let subject = &first_mail.subject;
    assert!(
        subject.starts_with(&format!("[TLP:AMBER] [baken#{ticket}] CVE-2019-19781: ")),
        "the ticket is in the subject: {subject}"
    );
    assert_eq!(
        states(&data),
        vec![
            pair("198.18.1.1", "notified"),
            pair("198.18.1.2", "notified"),
            pair("198.18.2.1", "notified")
        ]
    );

    // a rerun sends nothing, and writes no decision again
    let decisions = |data: &Path| {
        SqliteStore::open(data)
            .unwrap()
            .audit_log()
            .unwrap()
            .iter()
            .filter(|e| e.kind == "decision")
            .count()
    };
    let before = decisions(&data);
    assert!(before > 0);
    assert!(notify(&data).is_empty(), "a rerun sends nothing");
    assert_eq!(
        decisions(&data),
        before,
        "the same decisions are not written twice"
    );
    assert_eq!(files_with(&data.join("outbox"), "eml").len(), 2);

    // day 3: one host of org-a again, one new; org-a's other host and org-b's are gone
    let t3 = "2020-01-12T06:00:00+00:00";
    let summary = citrix_day(&data, dir.path(), "day3", t3, &["198.18.1.1", "198.18.1.3"]);
    assert_eq!(summary["new_findings"], 1, "{summary}");
    assert_eq!(summary["missing"], 2, "{summary}");
    assert_eq!(summary["verified_fixed"], 2, "{summary}");
    assert_eq!(
        states(&data),
        vec![
            pair("198.18.1.1", "notified"),
            pair("198.18.1.2", "verified-fixed"),
            pair("198.18.1.3", "open"),
            pair("198.18.2.1", "verified-fixed")
        ]
    );
    let before = decisions(&data);
    let follow = notify(&data);
    assert_eq!(follow.len(), 1, "only org-a has news: {follow:?}");
    assert!(
        decisions(&data) > before,
        "a decision about new findings is written"
    );
    let f = &follow[0];
    assert_eq!(f["party"], "org-a");
    assert_eq!(f["kind"], "follow-up");
    assert_eq!(f["findings"], 1);
    assert_eq!(f["ticket"].as_i64(), Some(ticket), "the same ticket");
    let mail = eml(&data, f["key"].as_str().unwrap());
    let subject = &mail.subject;
    assert!(subject.contains("1 more system"), "{subject}");
    assert!(subject.contains(&format!("[baken#{ticket}]")), "{subject}");
    assert_eq!(
        mail.in_reply_to.as_deref(),
        Some(first_mail.message_id.as_str()),
        "it threads under the first"
    );
    let body = mail.body.replace('\n', " ");
    assert!(body.contains("198.18.1.3"));
    assert!(
        !body.contains("198.18.1.2"),
        "nothing told before is repeated"
    );
    assert!(
        body.contains(
            "in all, 2 of the systems we have told you about are not yet known to be fixed"
        ),
        "{body}"
    );
    assert!(notify(&data).is_empty(), "a rerun sends nothing");

    // day 4: org-b's host is back: reopened, and told again
    let t4 = "2020-01-13T06:00:00+00:00";
    let summary = citrix_day(
        &data,
        dir.path(),
        "day4",
        t4,
        &["198.18.1.1", "198.18.1.3", "198.18.2.1"],
    );
    assert_eq!(summary["reopened"], 1, "{summary}");
    let again = notify(&data);
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["party"], "org-b");
    assert_eq!(again[0]["kind"], "follow-up");
    assert!(notify(&data).is_empty());

    // the finding's history says who did what, and the audit log holds each change
    let store = SqliteStore::open(&data).unwrap();
    let reopened = store
        .finding_records(&baken_store::FindingQuery::default())
        .unwrap()
        .into_iter()
        .find(|f| f.addr == "198.18.2.1")
        .unwrap();
    let history: Vec<String> = store
        .transitions(reopened.id)
        .unwrap()
        .iter()
        .map(|t| format!("{}>{} {}", t.from.as_str(), t.to.as_str(), t.cause.as_str()))
        .collect();
    assert_eq!(
        history,
        [
            "open>notified message",
            "notified>verified-fixed report",
            "verified-fixed>reopened report",
            "reopened>notified message"
        ]
    );
    let transitions = store
        .audit_log()
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "transition" && e.subject == format!("finding/{}", reopened.id))
        .count();
    assert_eq!(transitions, 4);
}

#[test]
fn incidents_that_read_alike_are_both_delivered() {
    let (dir, data) = world();
    let t = "2020-01-10T06:00:00+00:00";
    day(
        &data,
        dir.path(),
        "ports",
        &[
            event("198.18.1.1", t, Some("open.port")),
            event("198.18.1.2", t, Some("open-port")),
        ],
    );
    let sent = notify(&data);
    let mut keys: Vec<&str> = sent.iter().map(|d| d["key"].as_str().unwrap()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 2, "two incidents, two messages: {sent:?}");
    assert!(
        sent.iter()
            .all(|d| d["state"] == "sent" && d["findings"] == 1)
    );
    let out = run_ok(&data, &["coverage", "--incident", "open-port", "--json"]);
    assert!(out.contains("\"reached\""), "{out}");
}

/// An incident named with a path separator and a space (`a/b c`) once made every message
/// of it fail on its attachment's file name.
#[test]
fn an_incident_named_with_unsafe_characters_is_delivered_with_a_safe_attachment_name() {
    let (dir, data) = world();
    let t = "2020-01-10T06:00:00+00:00";
    day(
        &data,
        dir.path(),
        "odd",
        &[event("198.18.1.1", t, Some("a/b c"))],
    );
    let sent = notify(&data);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["state"], "sent", "{sent:?}");
    let key = sent[0]["key"].as_str().unwrap();
    let raw = std::fs::read(data.join("outbox").join(format!("{key}.eml"))).unwrap();
    let parsed = MessageParser::default().parse(&raw).expect("valid MIME");
    let names: Vec<&str> = parsed
        .attachments()
        .filter_map(|a| mail_parser::MimeHeaders::attachment_name(a))
        .collect();
    assert_eq!(names, ["a-b-c-findings.csv"]);
}

#[test]
fn recipients_and_analysts_say_what_was_done_and_it_is_kept() {
    let (dir, data) = world();
    citrix_day(
        &data,
        dir.path(),
        "day1",
        "2020-01-10T06:00:00+00:00",
        &["198.18.1.1", "198.18.1.2"],
    );
    notify(&data);
    let ids: Vec<String> = run_ok(&data, &["findings", "--json"])
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].to_string())
        .collect();
    let out = run_ok(
        &data,
        &[
            "finding",
            "ack",
            &ids[0],
            &ids[1],
            "--by",
            "soc@alpha.example",
        ],
    );
    assert!(out.contains("notified → acknowledged"), "{out}");
    run_ok(
        &data,
        &[
            "finding",
            "fixed",
            &ids[0],
            "--by",
            "soc@alpha.example",
            "--note",
            "patched to 13.0.47.24",
        ],
    );
    run_ok(
        &data,
        &[
            "finding",
            "note",
            &ids[1],
            "asked for a date",
            "--by",
            "analyst-1",
        ],
    );
    // acknowledging again is no failure; going back from a claim is refused, and says why
    run_ok(&data, &["finding", "ack", &ids[1], "--by", "analyst-1"]);
    let back = run(&data, &["finding", "ack", &ids[0], "--by", "analyst-1"]);
    assert!(!back.status.success());
    let said = String::from_utf8_lossy(&back.stdout);
    assert!(
        said.contains("mitigation-claimed does not become acknowledged"),
        "{said}"
    );
    let unknown = run(&data, &["finding", "ack", "999", "--by", "x"]);
    assert!(!unknown.status.success());

    let show: Value =
        serde_json::from_str(&run_ok(&data, &["finding", "show", &ids[0], "--json"])).unwrap();
    assert_eq!(show["state"], "mitigation-claimed");
    let history = show["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(last["to"], "mitigation-claimed");
    assert_eq!(last["by"], "soc@alpha.example");
    assert_eq!(last["note"], "patched to 13.0.47.24");
    let text = run_ok(&data, &["finding", "show", &ids[1]]);
    assert!(
        text.contains("note (acknowledged), by analyst (analyst-1): asked for a date"),
        "{text}"
    );
    // a claim is not a fix: only a later report without it verifies it
    let summary = citrix_day(
        &data,
        dir.path(),
        "day2",
        "2020-01-11T06:00:00+00:00",
        &["198.18.1.2"],
    );
    assert_eq!(summary["verified_fixed"], 1);
    assert_eq!(
        states(&data),
        vec![
            pair("198.18.1.1", "verified-fixed"),
            pair("198.18.1.2", "acknowledged")
        ]
    );
    let audit = run(&data, &["audit", "verify"]);
    assert!(audit.status.success(), "the audit log verifies");
}

#[test]
fn notify_fails_when_a_message_is_not_delivered() {
    let (dir, data) = world();
    citrix_day(
        &data,
        dir.path(),
        "day1",
        "2020-01-10T06:00:00+00:00",
        &["198.18.1.1"],
    );
    // nothing listens on port 9 of loopback
    let out = run(&data, &["notify", "--smtp", "smtp://127.0.0.1:9?tls=none"]);
    assert!(!out.status.success(), "an undelivered message is a failure");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 message(s) not delivered"), "{err}");
    assert!(err.contains("org-a <soc@alpha.example>"), "{err}");
    // nothing was sent: the finding is still open, and a later run delivers it
    assert_eq!(states(&data), vec![pair("198.18.1.1", "open")]);
    let sent = notify(&data);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["state"], "sent");
    assert_eq!(states(&data), vec![pair("198.18.1.1", "notified")]);
}

const REGISTRY_WITH_CERT: &str = r#"
[[organisation]]
id = "org-a"
name = "Alpha Zorg BV"
sector = "health"
vital = true
cert = "z-cert"
networks = ["198.18.1.0/24"]
contacts = [{ email = "soc@alpha.example", role = "security" }]

[[organisation]]
id = "z-cert"
name = "Z-CERT"
kind = "cert"
contacts = [{ email = "cert@z-cert.example", role = "security" }]
"#;

/// Runs `baken notify --json` with the clock at `at`; returns the digests.
fn notify_at(data: &Path, at: &str) -> Vec<Value> {
    let out = common::baken()
        .arg("--data")
        .arg(data)
        .args(["notify", "--json"])
        .env("BAKEN_CLOCK", at)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcomes: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    outcomes
        .iter()
        .flat_map(|o| o["digests"].as_array().unwrap().clone())
        .collect()
}

fn kinds(digests: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = digests
        .iter()
        .map(|d| {
            (
                d["party"].as_str().unwrap().to_string(),
                d["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn deadlines_bring_reminders_escalations_and_compromise_checks() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry.toml");
    std::fs::write(&registry, REGISTRY_WITH_CERT).unwrap();
    run_ok(&data, &["registry", "import", s(&registry)]);
    let both = ["198.18.1.1", "198.18.1.2"];
    citrix_day(&data, dir.path(), "d10", "2020-01-10T06:00:00+00:00", &both);
    let first = notify_at(&data, "2020-01-10T08:00:00Z");
    assert_eq!(
        kinds(&first),
        [pair("org-a", "first"), pair("z-cert", "first")]
    );
    // 46 hours later: within the 72 hours of a vital provider
    citrix_day(&data, dir.path(), "d12", "2020-01-12T06:00:00+00:00", &both);
    assert!(notify_at(&data, "2020-01-12T08:00:00Z").is_empty());
    // exploitation began on the 11th; on the 13th one host is fixed, one still seen past
    // the deadline (the 13th, 08:00)
    run_ok(
        &data,
        &[
            "incident",
            "exploited",
            "CVE-2019-19781",
            "--since",
            "2020-01-11",
        ],
    );
    citrix_day(
        &data,
        dir.path(),
        "d13",
        "2020-01-13T09:00:00+00:00",
        &["198.18.1.1"],
    );
    let round = notify_at(&data, "2020-01-13T10:00:00Z");
    assert_eq!(
        kinds(&round),
        [
            pair("org-a", "compromise"),
            pair("org-a", "reminder"),
            pair("z-cert", "compromise"),
            pair("z-cert", "reminder"),
        ],
        "{round:?}"
    );
    assert_eq!(
        states(&data),
        [
            pair("198.18.1.1", "overdue"),
            pair("198.18.1.2", "verified-fixed")
        ]
    );
    let reminder = round
        .iter()
        .find(|d| d["party"] == "org-a" && d["kind"] == "reminder")
        .unwrap();
    let mail = eml(&data, reminder["key"].as_str().unwrap());
    assert!(
        mail.subject.contains("reminder: 1 system"),
        "{}",
        mail.subject
    );
    assert!(mail.body.contains("198.18.1.1") && !mail.body.contains("198.18.1.2"));
    let check = round
        .iter()
        .find(|d| d["party"] == "org-a" && d["kind"] == "compromise")
        .unwrap();
    let mail = eml(&data, check["key"].as_str().unwrap());
    assert!(mail.body.contains("198.18.1.2"), "{}", mail.body);
    assert!(mail.body.contains("2020-01-11"), "{}", mail.body);
    assert!(
        notify_at(&data, "2020-01-13T11:00:00Z").is_empty(),
        "a reminder is sent once"
    );
    // still seen more than 72 hours past the deadline: escalated to the CERT only
    citrix_day(
        &data,
        dir.path(),
        "d16",
        "2020-01-16T09:00:00+00:00",
        &["198.18.1.1"],
    );
    let round = notify_at(&data, "2020-01-16T10:00:00Z");
    assert_eq!(kinds(&round), [pair("z-cert", "escalation")], "{round:?}");
    assert_eq!(
        states(&data),
        [
            pair("198.18.1.1", "escalated"),
            pair("198.18.1.2", "verified-fixed")
        ]
    );
    let mail = eml(&data, round[0]["key"].as_str().unwrap());
    assert!(mail.subject.contains("escalation: "), "{}", mail.subject);
    assert!(notify_at(&data, "2020-01-16T11:00:00Z").is_empty());
    // the history names the deadline as the cause, with the replayed times
    let id = run_ok(&data, &["findings", "--state", "escalated", "--json"]);
    let id = serde_json::from_str::<Value>(id.lines().next().unwrap()).unwrap()["id"].to_string();
    let show: Value =
        serde_json::from_str(&run_ok(&data, &["finding", "show", &id, "--json"])).unwrap();
    let causes: Vec<(&str, &str)> = show["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["to"].as_str().unwrap(), t["cause"].as_str().unwrap()))
        .collect();
    assert_eq!(
        causes,
        [
            ("notified", "message"),
            ("overdue", "deadline"),
            ("escalated", "deadline")
        ]
    );
    assert!(
        show["history"][1]["at"]
            .as_str()
            .unwrap()
            .starts_with("2020-01-13T10:00"),
        "{show}"
    );
}

#[test]
fn a_kev_catalogue_records_when_exploitation_began() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let kev = dir.path().join("known_exploited_vulnerabilities.json");
    let catalogue = |date: &str| {
        json!({
            "title": "CISA Catalog of Known Exploited Vulnerabilities",
            "catalogVersion": "2020.01.31",
            "dateReleased": "2020-01-31T00:00:00.000Z",
            "count": 2,
            "vulnerabilities": [
                {"cveID": "CVE-2019-19781", "vendorProject": "Citrix", "product": "ADC",
                 "dateAdded": date, "requiredAction": "Apply updates", "dueDate": "2022-05-03"},
                {"cveID": "CVE-2019-11510", "vendorProject": "Pulse Secure",
                 "product": "Pulse Connect Secure", "dateAdded": "2021-11-03",
                 "requiredAction": "Apply updates", "dueDate": "2022-05-03"}
            ]
        })
        .to_string()
    };
    std::fs::write(&kev, catalogue("2020-01-10")).unwrap();
    let out = run_ok(&data, &["advisory", "import", s(&kev)]);
    assert!(
        out.contains("exploitation dates of 2 CVEs recorded"),
        "{out}"
    );
    let store = SqliteStore::open(&data).unwrap();
    let (since, source) = store.exploitation("cve-2019-19781").unwrap().unwrap();
    assert_eq!(
        baken_store::keys::format_time(since),
        "2020-01-10T00:00:00Z"
    );
    assert!(source.contains("2020.01.31"), "{source}");
    drop(store);
    // a date that cannot be read rejects its entry, named on standard error; the others
    // are recorded
    std::fs::write(&kev, catalogue("10 January")).unwrap();
    let partly = run(&data, &["advisory", "import", s(&kev)]);
    assert!(partly.status.success());
    let err = String::from_utf8_lossy(&partly.stderr);
    assert!(err.contains("/vulnerabilities/0/dateAdded"), "{err}");
    let out = String::from_utf8_lossy(&partly.stdout);
    assert!(out.contains("(2 read, 1 recorded, 1 rejected)"), "{out}");
}

#[test]
fn tlp_red_goes_only_to_the_recipients_named_on_the_command_line_or_in_the_policy() {
    let (dir, data) = world();
    let file = dir.path().join("red-intelmq.jsonl");
    let t = "2020-01-10T06:00:00+00:00";
    let text: String = ["198.18.1.1", "198.18.2.1"]
        .iter()
        .map(|ip| format!("{}\n", event(ip, t, None)))
        .collect();
    std::fs::write(&file, text).unwrap();
    run_ok(
        &data,
        &["ingest", "--feed", "intelmq", "--tlp", "RED", s(&file)],
    );
    assert!(
        notify(&data).is_empty(),
        "TLP:RED with nobody named: nothing"
    );
    let unknown = run(&data, &["notify", "--to", "org-x"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--to org-x"));
    let out = run_ok(&data, &["notify", "--json", "--to", "org-a"]);
    let outcomes: Vec<Value> = serde_json::from_str(&out).unwrap();
    let sent: Vec<&Value> = outcomes
        .iter()
        .flat_map(|o| o["digests"].as_array().unwrap())
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["party"], "org-a");
    let mail = eml(&data, sent[0]["key"].as_str().unwrap());
    assert!(mail.subject.starts_with("[TLP:RED] "), "{}", mail.subject);
    assert!(mail.body.contains("198.18.1.1") && !mail.body.contains("198.18.2.1"));
    // a policy may name recipients of every TLP:RED item too
    let policy = dir.path().join("red.toml");
    let text = baken_policy::Policy::builtin_text("nl-2020").unwrap();
    std::fs::write(
        &policy,
        format!("{text}\n[red]\nrecipients = [\"org-b\"]\n"),
    )
    .unwrap();
    let sent = common::notify_digests(&data, &["--policy", s(&policy)]);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["party"], "org-b");
}

#[test]
fn a_reply_to_a_message_before_a_reopening_does_not_speak_of_the_new_problem() {
    let (dir, data) = world();
    citrix_day(
        &data,
        dir.path(),
        "d1",
        "2020-01-10T06:00:00+00:00",
        &["198.18.1.1"],
    );
    let first = notify(&data);
    let key = first[0]["key"].as_str().unwrap().to_string();
    // fixed, then vulnerable again
    citrix_day(
        &data,
        dir.path(),
        "d2",
        "2020-01-11T06:00:00+00:00",
        &["198.18.2.1"],
    );
    let back = citrix_day(
        &data,
        dir.path(),
        "d3",
        "2020-01-12T06:00:00+00:00",
        &["198.18.1.1", "198.18.2.1"],
    );
    assert_eq!(back["reopened"], 1);
    // a reply to the first message, read only now
    let maildir = dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    std::fs::write(
        maildir.join("new").join("1.eml"),
        format!(
            "From: soc@alpha.example\r\nTo: baken@ncsc.example\r\nSubject: Re: CVE-2019-19781\r\n\
             Message-ID: <late-reply@alpha.example>\r\nIn-Reply-To: <{key}@ncsc.example>\r\n\
             \r\nWe patched it.\r\n"
        ),
    )
    .unwrap();
    let out = run_ok(&data, &["inbox", "import", s(&maildir)]);
    assert!(out.contains("reopened at"), "{out}");
    assert_eq!(
        states(&data),
        vec![pair("198.18.1.1", "reopened"), pair("198.18.2.1", "open")]
    );
}

#[test]
fn a_delivery_whose_transitions_a_kill_cut_off_is_completed_by_the_next_round() {
    let (dir, data) = world();
    citrix_day(
        &data,
        dir.path(),
        "d1",
        "2020-01-10T06:00:00+00:00",
        &["198.18.1.1"],
    );
    // what a run killed right after marking its message sent leaves behind
    let mut store = SqliteStore::open(&data).unwrap();
    let finding = store
        .finding_records(&baken_store::FindingQuery::default())
        .unwrap()[0]
        .id;
    let key = baken_pipeline::notify::message_key("cve-2019-19781", "org-a", 1);
    let ticket = store.ticket("cve-2019-19781", "org-a").unwrap();
    store
        .record_message(
            &baken_store::MessageRecord {
                key: key.clone(),
                ticket: Some(ticket),
                round: 1,
                kind: baken_store::MessageKind::First,
                incident: "cve-2019-19781".into(),
                recipient: "soc@alpha.example".into(),
                party: "org-a".into(),
                path: "direct".into(),
                findings: 1,
                state: baken_store::MessageState::Pending,
                detail: None,
                created_at: baken_store::now(),
                sent_at: None,
            },
            &[baken_store::MessageFinding {
                finding,
                form: "full".into(),
            }],
        )
        .unwrap();
    store
        .set_message_state(&key, baken_store::MessageState::Sent, "outbox")
        .unwrap();
    drop(store);
    assert_eq!(states(&data), vec![pair("198.18.1.1", "open")]);
    let sent = notify(&data);
    assert!(
        sent.iter().all(|d| d["party"] != "org-a"),
        "nothing is sent twice: {sent:?}"
    );
    assert_eq!(states(&data), vec![pair("198.18.1.1", "notified")]);
    let store = SqliteStore::open(&data).unwrap();
    let last = store.transitions(finding).unwrap().pop().unwrap();
    assert_eq!(last.reference.as_deref(), Some(key.as_str()));
}
