//! Ingest and notify as library calls, without the binary, a mail server or Python: a small
//! Shadowserver report into an in-memory store, notify rounds through a recording transport.
//! Who received which findings, what a second round sends (nothing new), and a recipient that
//! cannot be reached for a while.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use baken_deliver::OutgoingMessage;
use baken_deliver::memory::{Failure, Recorder};
use baken_feeds::{FeedKind, Options};
use baken_model::Organisation;
use baken_pipeline::ingest::{Input, Settings, ingest_file};
use baken_pipeline::notify::{IncidentOutcome, NotifyOptions, notify};
use baken_pipeline::{NoProgress, attributor_from_store, load_policy};
use baken_store::prelude::*;
use baken_store::{FindingState, MessageState, SqliteStore};

const HEADER: &str = "timestamp,severity,ip,protocol,port,hostname,tag,asn,geo,region,city,naics,hostname_source,sector,http,http_code,http_reason,content_type,connection,www_authenticate,set_cookie,server,content_length,transfer_encoding,http_date,version,build_date,detail,build_branch";

const ZORG: &str = "soc@zorg.example";
const ZCERT: &str = "cert@z-cert.example";
const ENERGIE: &str = "csirt@energie.example";

/// Two vital organisations, the CERT of one of them, and nothing registered for 198.19.0.0/16.
fn registry() -> Vec<Organisation> {
    let orgs = serde_json::json!([
        {
            "id": "org-17", "name": "Example Zorg BV", "sector": "health", "vital": true,
            "cert": "z-cert", "networks": ["198.18.4.0/24"],
            "contacts": [{"email": ZORG, "role": "security"}]
        },
        {
            "id": "org-18", "name": "Example Energie NV", "sector": "energy", "vital": true,
            "networks": ["198.18.8.0/24"],
            "contacts": [{"email": ENERGIE}]
        },
        {
            "id": "z-cert", "name": "Z-CERT", "kind": "cert",
            "contacts": [{"email": ZCERT}]
        }
    ]);
    serde_json::from_value(orgs).unwrap()
}

/// One row of a Citrix scan of `ip`, `minutes` ago (well inside every deadline).
fn row(ip: &str, minutes: i64) -> String {
    let seen = chrono::Utc::now() - chrono::Duration::minutes(minutes);
    format!(
        "{},critical,{ip},tcp,443,,citrix;cve-2019-19781,,NL,,,0,,,HTTP/1.1,200,OK,text/html,,,,Apache,1000,,,13.0,,,",
        seen.format("%Y-%m-%d %H:%M:%S")
    )
}

/// An in-memory store holding the registry and a report of `ips`.
fn ingested(ips: &[&str]) -> SqliteStore {
    let mut store = SqliteStore::in_memory().unwrap();
    store
        .replace_organisations(&mut registry().iter().map(Cow::Borrowed))
        .unwrap();
    ingest(&mut store, ips, 60);
    store
}

/// Ingests a Shadowserver report of `ips` seen `minutes` ago.
fn ingest(store: &mut SqliteStore, ips: &[&str], minutes: i64) {
    let attributor = attributor_from_store(store).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("2026-03-24-scan_http_vulnerable-nl-geo-asn.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "{HEADER}").unwrap();
    for ip in ips {
        writeln!(f, "{}", row(ip, minutes)).unwrap();
    }
    drop(f);
    let options = Options {
        observation_time: Some(chrono::Utc::now().to_rfc3339()),
        strict: true,
        ..Options::default()
    };
    let input = Input {
        path,
        feed: FeedKind::Shadowserver,
    };
    let summary = ingest_file(
        store,
        &attributor,
        &input,
        &options,
        &Settings::default(),
        &NoProgress,
    )
    .unwrap();
    assert!(summary.reconciles());
    assert_eq!(summary.stored, ips.len() as u64);
}

/// One notify round under nl-2020 through `transport`.
fn round(store: &mut SqliteStore, transport: &mut Recorder) -> Vec<IncidentOutcome> {
    let attributor = attributor_from_store(store).unwrap();
    let mut options = NotifyOptions::new(load_policy("nl-2020").unwrap(), vec![7; 32]);
    // the recorder keeps every copy, as SMTP would deliver it
    options.idempotent_transport = false;
    notify(store, &attributor, transport, &options, &NoProgress).unwrap()
}

/// The addresses each recipient was sent, read from the findings CSV of its messages.
fn told(messages: &[OutgoingMessage]) -> BTreeMap<String, BTreeSet<String>> {
    let mut told: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in messages {
        assert_eq!(m.to.len(), 1, "one recipient a message");
        let to = m.to[0].clone();
        let csv = m
            .attachments
            .iter()
            .find(|a| a.filename.ends_with("findings.csv"))
            .unwrap_or_else(|| panic!("{to}: a message of findings carries them as CSV"));
        let mut reader = csv::Reader::from_reader(&csv.body[..]);
        let ip = reader
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "source.ip")
            .expect("a source.ip column");
        let ips = told.entry(to).or_default();
        for r in reader.records() {
            ips.insert(r.unwrap()[ip].to_string());
        }
    }
    told
}

/// Two hosts of org-17, one of org-18, and one of nobody's (told to nobody).
const HOSTS: &[&str] = &["198.18.4.10", "198.18.4.11", "198.18.8.5", "198.19.200.1"];

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn each_recipient_gets_what_the_policy_allows_once() {
    let mut store = ingested(HOSTS);
    let recorder = Recorder::new();
    let mut transport = recorder.clone();

    let first = round(&mut store, &mut transport);
    let sent = recorder.take();
    let expected = BTreeMap::from([
        // a vital provider is told its own findings, and its designated CERT is told them too
        (ZORG.to_string(), set(&["198.18.4.10", "198.18.4.11"])),
        (ZCERT.to_string(), set(&["198.18.4.10", "198.18.4.11"])),
        (ENERGIE.to_string(), set(&["198.18.8.5"])),
    ]);
    assert_eq!(told(&sent), expected);
    assert_eq!(first.iter().map(|o| o.sent()).sum::<usize>(), 3);
    for m in &sent {
        assert!(m.subject.starts_with("[TLP:AMBER]"), "{}", m.subject);
    }
    // what the store recorded is what the transport was given, each message sent
    let recorded = store.messages(None).unwrap();
    assert_eq!(recorded.len(), 3);
    assert!(recorded.iter().all(|m| m.state == MessageState::Sent));
    let keys: BTreeSet<&str> = sent.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(
        keys,
        recorded.iter().map(|m| m.key.as_str()).collect(),
        "one delivery per recorded message"
    );
    for f in store.finding_records(&Default::default()).unwrap() {
        let expected = if f.addr == "198.19.200.1" {
            FindingState::Open
        } else {
            FindingState::Notified
        };
        assert_eq!(f.state, expected, "{}", f.addr);
    }

    // a second round: nobody is told anything again
    round(&mut store, &mut transport);
    assert!(recorder.take().is_empty(), "nothing new, nothing sent");
    assert_eq!(store.messages(None).unwrap().len(), 3);

    // the next report: the same hosts and a new one of a provider already told; a follow-up
    // to it and its CERT, of the new host only
    ingest(&mut store, &[HOSTS, &["198.18.4.12"]].concat(), 30);
    round(&mut store, &mut transport);
    let follow_up = recorder.take();
    let expected = BTreeMap::from([
        (ZORG.to_string(), set(&["198.18.4.12"])),
        (ZCERT.to_string(), set(&["198.18.4.12"])),
    ]);
    assert_eq!(told(&follow_up), expected);
    assert!(
        follow_up.iter().all(|m| !keys.contains(m.key.as_str())),
        "a new message each, not one sent before"
    );
    round(&mut store, &mut transport);
    assert!(recorder.take().is_empty());
}

#[test]
fn a_recipient_out_of_reach_is_told_when_it_can_be_reached() {
    let mut store = ingested(&["198.18.4.10", "198.18.8.5"]);
    let recorder = Recorder::new();
    let mut transport = recorder.clone();
    recorder.fail(ZORG, Failure::Transient);

    round(&mut store, &mut transport);
    let first = told(&recorder.take());
    assert!(!first.contains_key(ZORG), "refused for now: {first:?}");
    assert_eq!(first[ENERGIE], set(&["198.18.8.5"]));
    assert_eq!(recorder.refused().len(), 1);
    let pending: Vec<_> = store
        .messages(None)
        .unwrap()
        .into_iter()
        .filter(|m| m.state == MessageState::Pending)
        .collect();
    assert_eq!(pending.len(), 1, "kept to try again");
    assert_eq!(pending[0].recipient, ZORG);

    // still out of reach: tried again, nothing else sent
    round(&mut store, &mut transport);
    assert!(recorder.take().is_empty());
    assert_eq!(recorder.refused().len(), 2);

    // reachable again: the message that waited goes, under its own key, and only it
    recorder.recover(ZORG);
    round(&mut store, &mut transport);
    let sent = recorder.take();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].key, pending[0].key);
    assert_eq!(told(&sent)[ZORG], set(&["198.18.4.10"]));

    round(&mut store, &mut transport);
    assert!(recorder.take().is_empty(), "nothing twice");
}

#[test]
fn a_recipient_that_refuses_for_good_is_recorded_as_failed_and_tells_nothing() {
    let mut store = ingested(&["198.18.8.5"]);
    let recorder = Recorder::new();
    let mut transport = recorder.clone();
    recorder.fail(ENERGIE, Failure::Permanent);

    round(&mut store, &mut transport);
    assert!(recorder.take().is_empty());
    let messages = store.messages(None).unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].state, MessageState::Failed);
    assert!(
        messages[0].detail.as_deref().unwrap_or("").contains("550"),
        "{:?}",
        messages[0].detail
    );
    let finding = &store.finding_records(&Default::default()).unwrap()[0];
    assert_eq!(
        finding.state,
        FindingState::Open,
        "a failed message told nothing"
    );
}

/// More recipients than the outbox takes in one group (256): every message is in the
/// outbox once, recorded sent under the path written, its findings notified; nothing is
/// left half-written, and a second round writes nothing.
#[test]
fn an_outbox_round_of_several_groups_records_every_message_it_wrote() {
    const ORGS: usize = 600;
    let mut orgs = Vec::new();
    let mut ips = Vec::new();
    for i in 0..ORGS {
        let (third, fourth) = (i / 16, (i % 16) * 16);
        orgs.push(serde_json::json!({
            "id": format!("org-{i}"), "name": format!("Example {i} BV"), "sector": "health",
            "vital": true, "networks": [format!("198.18.{third}.{fourth}/28")],
            "contacts": [{"email": format!("soc@org-{i}.example")}]
        }));
        ips.push(format!("198.18.{third}.{}", fourth + 1));
    }
    let mut store = SqliteStore::in_memory().unwrap();
    let orgs: Vec<Organisation> = serde_json::from_value(serde_json::Value::Array(orgs)).unwrap();
    store
        .replace_organisations(&mut orgs.iter().map(Cow::Borrowed))
        .unwrap();
    let ips: Vec<&str> = ips.iter().map(String::as_str).collect();
    ingest(&mut store, &ips, 60);

    let dir = tempfile::tempdir().unwrap();
    let mut outbox = baken_deliver::Outbox::new(dir.path()).unwrap();
    let attributor = attributor_from_store(&store).unwrap();
    let options = NotifyOptions::new(load_policy("nl-2020").unwrap(), vec![7; 32]);
    let outcomes = notify(&mut store, &attributor, &mut outbox, &options, &NoProgress).unwrap();
    let digests: Vec<_> = outcomes.iter().flat_map(|o| &o.digests).collect();
    assert_eq!(digests.len(), ORGS);
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert!(
        files.iter().all(|f| f.ends_with(".eml")),
        "left over: {files:?}"
    );
    assert_eq!(files.len(), ORGS);
    let stored = store.messages(None).unwrap();
    assert_eq!(stored.len(), ORGS);
    for d in &digests {
        assert_eq!(d.state, MessageState::Sent, "{d:?}");
        assert!(d.delivered_now, "{d:?}");
        let path = outbox.path_for(&d.key);
        assert!(d.detail.starts_with(&path.display().to_string()), "{d:?}");
        let eml = std::fs::read_to_string(&path).unwrap();
        assert!(
            eml.contains(&d.recipient),
            "{} is not in {}",
            d.recipient,
            d.key
        );
        let m = stored.iter().find(|m| m.key == d.key).unwrap();
        assert_eq!(m.state, MessageState::Sent);
        assert_eq!(m.recipient, d.recipient);
    }
    let findings = store.finding_records(&Default::default()).unwrap();
    assert_eq!(findings.len(), ORGS);
    assert!(
        findings.iter().all(|f| f.state == FindingState::Notified),
        "every finding told is notified"
    );
    let audit = store.audit_log().unwrap();
    let deliveries = audit.iter().filter(|e| e.kind == "delivery").count();
    assert_eq!(deliveries, ORGS, "one delivery entry a message");

    let again = notify(&mut store, &attributor, &mut outbox, &options, &NoProgress).unwrap();
    assert!(
        again
            .iter()
            .flat_map(|o| &o.digests)
            .all(|d| !d.delivered_now),
        "nothing twice"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), ORGS);
}
