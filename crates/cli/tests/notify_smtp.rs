//! The chain end to end through a real SMTP server on 127.0.0.1: who received what.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use baken_deliver::testing::{SinkOptions, SmtpSink};
use baken_model::Owner;
use baken_store::{MessageState, SqliteStore, Store};
use common::{run_ok, s, small_world};
use mail_parser::{MessageParser, MimeHeaders};

const INCIDENT: &str = "cve-2019-19781";

#[test]
fn digests_reach_each_recipient_with_only_its_own_findings_and_are_sent_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let g = small_world(&dir.path().join("input"), &data, 250);
    run_ok(&data, &["ingest", s(&g.feed)]);

    let sink = SmtpSink::start(SinkOptions::default());
    let url = format!("{}?tls=none", sink.url());
    let out = run_ok(&data, &["notify", "--incident", INCIDENT, "--smtp", &url]);
    assert!(out.contains("digests sent"), "{out}");

    // What baken decided: the owner of every finding, and the messages it recorded.
    let store = SqliteStore::open(&data).unwrap();
    let mut ips_by_recipient: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let registry: BTreeMap<_, _> = store
        .organisations()
        .unwrap()
        .into_iter()
        .map(|o| (o.id.clone(), o))
        .collect();
    let mut unreachable = 0;
    for f in store.findings(INCIDENT).unwrap() {
        let ip = f.event.get_str("source.ip").unwrap().to_string();
        let recipient = match &f.attribution.owner {
            Owner::Organisation { id } => match registry[id].notification_contact() {
                Some(c) => c.email.clone(),
                None => {
                    unreachable += 1;
                    continue;
                }
            },
            Owner::Abuse(c) => c.email.clone(),
            Owner::Unknown => {
                unreachable += 1;
                continue;
            }
        };
        ips_by_recipient.entry(recipient).or_default().insert(ip);
    }
    assert!(
        unreachable > 0,
        "the generated world has unreachable findings"
    );
    assert!(
        ips_by_recipient.keys().any(|r| r.contains("hoster")),
        "some digests go to hosting providers' abuse contacts"
    );
    let messages = store.messages(Some(INCIDENT)).unwrap();
    assert!(messages.iter().all(|m| m.state == MessageState::Sent));
    assert_eq!(messages.len(), ips_by_recipient.len());

    let received = sink.wait_for(messages.len(), Duration::from_secs(30));
    assert_eq!(received.len(), messages.len(), "one message per recipient");
    let mut seen = BTreeSet::new();
    for m in &received {
        assert_eq!(m.envelope.rcpt_tos.len(), 1);
        let rcpt = m.envelope.rcpt_tos[0].clone();
        assert!(seen.insert(rcpt.clone()), "{rcpt} received two digests");
        let parsed = MessageParser::default().parse(&m.raw).expect("valid MIME");
        let subject = parsed.subject().unwrap();
        assert!(
            subject.starts_with("[TLP:AMBER] CVE-2019-19781: "),
            "{subject}"
        );
        let body = parsed.body_text(0).unwrap();
        assert_eq!(body.lines().next(), Some("TLP:AMBER"), "TLP label first");
        assert!(body.contains("This message is TLP:AMBER."), "{body}");
        assert!(body.contains("WHAT TO DO"));
        // The attachment holds exactly this recipient's addresses.
        let attachment = parsed.attachment(0).expect("a CSV attachment");
        assert_eq!(
            attachment.attachment_name(),
            Some("cve-2019-19781-findings.csv")
        );
        let mut reader = csv::Reader::from_reader(attachment.contents());
        let ip_col = reader
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "source.ip")
            .unwrap();
        let ips: BTreeSet<String> = reader
            .records()
            .map(|r| r.unwrap()[ip_col].to_string())
            .collect();
        assert_eq!(
            Some(&ips),
            ips_by_recipient.get(&rcpt),
            "{rcpt} got exactly its own findings"
        );
    }

    // A second run sends nothing: every digest is recorded as sent.
    let again = run_ok(&data, &["notify", "--incident", INCIDENT, "--smtp", &url]);
    assert!(again.contains("(0 now)"), "{again}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        sink.messages().len(),
        received.len(),
        "no duplicate digests"
    );
}
