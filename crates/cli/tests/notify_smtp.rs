//! The chain end to end through a real SMTP server on 127.0.0.1, under both shipped sharing
//! policies: who received what, and that nobody received what their role forbids.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use baken_deliver::testing::{SinkOptions, SmtpSink};
use baken_model::{OrgKind, Organisation, Owner};
use baken_store::{MessageState, SqliteStore, prelude::*};
use common::{run_ok, s, small_world};
use mail_parser::{MessageParser, MimeHeaders};

const INCIDENT: &str = "cve-2019-19781";

/// What each message carried: recipient organisation → rows (organisation column or the
/// recipient itself, address).
struct Received {
    by_recipient: BTreeMap<String, Vec<(String, IpAddr)>>,
    aggregates: BTreeSet<String>,
}

fn run_policy(
    policy: &str,
) -> (
    Received,
    BTreeMap<String, Organisation>,
    BTreeMap<IpAddr, String>,
) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let g = small_world(&dir.path().join("input"), &data, 300);
    run_ok(&data, &["ingest", s(&g.feed)]);

    let sink = SmtpSink::start(SinkOptions::default());
    let url = format!("{}?tls=none", sink.url());
    let args = [
        "notify",
        "--incident",
        INCIDENT,
        "--smtp",
        &url,
        "--policy",
        policy,
    ];
    run_ok(&data, &args);

    let store = SqliteStore::open(&data).unwrap();
    let registry: BTreeMap<String, Organisation> = store
        .organisations()
        .unwrap()
        .into_iter()
        .map(|o| (o.id.0.clone(), o))
        .collect();
    let by_email: BTreeMap<String, String> = registry
        .values()
        .filter_map(|o| Some((o.notification_contact()?.email.clone(), o.id.0.clone())))
        .collect();
    // Whom each address is about, as attribution decided.
    let mut subject_of = BTreeMap::new();
    let attributor = baken_pipeline::attributor_from_store(&store).unwrap();
    for f in baken_pipeline::findings::of_incident(&store, &attributor, INCIDENT).unwrap() {
        let ip = f.event.source_ip().unwrap();
        let subject = match &f.attribution.owner {
            Owner::Organisation { id } => id.0.clone(),
            // named in messages as the plan's stand-in describes them, never by an internal id
            Owner::Abuse(c) => format!(
                "unregistered holders of addresses in {}",
                c.holder.as_deref().unwrap_or(&c.email)
            ),
            Owner::Unknown => "nobody".into(),
        };
        subject_of.insert(ip, subject);
    }
    let sent = store
        .messages(Some(INCIDENT))
        .unwrap()
        .into_iter()
        .filter(|m| m.state == MessageState::Sent)
        .count();
    let messages = sink.wait_for(sent, Duration::from_secs(30));
    assert_eq!(messages.len(), sent, "every recorded message arrived");

    let mut received = Received {
        by_recipient: BTreeMap::new(),
        aggregates: BTreeSet::new(),
    };
    for m in &messages {
        assert_eq!(m.envelope.rcpt_tos.len(), 1);
        let rcpt = &m.envelope.rcpt_tos[0];
        let recipient = by_email
            .get(rcpt)
            .unwrap_or_else(|| panic!("{rcpt} is nobody's contact"))
            .clone();
        let parsed = MessageParser::default().parse(&m.raw).expect("valid MIME");
        let subject = parsed.subject().unwrap();
        assert!(
            subject.starts_with("[TLP:AMBER] [baken#") && subject.contains("] CVE-2019-19781: "),
            "TLP label, then the ticket, then the vulnerability: {subject}"
        );
        let body = parsed.body_text(0).unwrap();
        assert!(
            !body.contains("unregistered@") && !body.contains("rpsl-abuse:"),
            "internal ids never reach a reader: {body}"
        );
        if registry[&recipient].kind == OrgKind::Dtc {
            assert!(!subject.contains("you represent"), "{subject}");
        }
        assert_eq!(body.lines().next(), Some("TLP:AMBER"), "TLP label first");
        assert!(body.contains("This message is TLP:AMBER."), "{body}");
        assert!(body.contains(&format!("sharing policy {policy}")), "{body}");
        let mut rows = Vec::new();
        for a in parsed.attachments() {
            let name = a.attachment_name().unwrap();
            if name.ends_with("-sectors.csv") {
                received.aggregates.insert(recipient.clone());
                continue;
            }
            assert_eq!(name, "cve-2019-19781-findings.csv");
            let mut reader = csv::Reader::from_reader(a.contents());
            let headers = reader.headers().unwrap().clone();
            let col = |n: &str| headers.iter().position(|h| h == n);
            let (ip_col, org_col) = (col("source.ip").unwrap(), col("organisation"));
            let status_col = col("status").expect("a status column");
            for r in reader.records() {
                let r = r.unwrap();
                assert!(!r.iter().any(|c| c.contains("unregistered@")), "{r:?}");
                assert_eq!(&r[status_col], "confirmed", "scan findings are confirmed");
                let org = org_col
                    .map(|c| r[c].to_string())
                    .unwrap_or_else(|| recipient.clone());
                rows.push((org, r[ip_col].parse().unwrap()));
            }
        }
        assert!(
            received
                .by_recipient
                .insert(recipient.clone(), rows)
                .is_none(),
            "{recipient} received two messages"
        );
    }

    // A second run sends nothing more.
    run_ok(&data, &args);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        sink.messages().len(),
        messages.len(),
        "no duplicate messages"
    );
    (received, registry, subject_of)
}

/// The hoster index of a demo hoster id `hoster-H`, and whether `ip` is in its /20.
fn in_hoster_block(hoster: &str, ip: IpAddr) -> bool {
    let h: u32 = hoster.trim_start_matches("hoster-").parse().unwrap();
    let start = u32::from(std::net::Ipv4Addr::new(198, 19, 0, 0)) + (h << 12);
    matches!(ip, IpAddr::V4(v4) if (start..start + 4096).contains(&u32::from(v4)))
}

/// Every row a recipient got is its own, its constituent's, or in its network, and the
/// organisation column names whom the address is about.
fn check_entitlement(
    received: &Received,
    registry: &BTreeMap<String, Organisation>,
    subject_of: &BTreeMap<IpAddr, String>,
    policy: &str,
) {
    for (recipient, rows) in &received.by_recipient {
        let r = &registry[recipient];
        for (org, ip) in rows {
            let subject = &subject_of[ip];
            assert_eq!(
                org, subject,
                "{recipient}: row {ip} names the wrong organisation"
            );
            let subject_org = registry.get(subject);
            let ok = match r.kind {
                _ if subject == recipient => true,
                OrgKind::Cert => subject_org.is_some_and(|s| {
                    s.cert.as_deref() == Some(recipient.as_str())
                        && (s.vital || policy != "nl-2020")
                }),
                OrgKind::Dtc => policy == "nl-dtc-oktt",
                OrgKind::Hoster => in_hoster_block(recipient, *ip),
                _ => false,
            };
            assert!(
                ok,
                "under {policy}, {recipient} ({:?}) must not receive {ip} about {subject}",
                r.kind
            );
        }
    }
}

#[test]
fn under_nl_2020_only_vital_providers_and_their_certs_get_findings() {
    let (received, registry, subject_of) = run_policy("nl-2020");
    check_entitlement(&received, &registry, &subject_of, "nl-2020");
    assert!(!received.by_recipient.is_empty());
    for (recipient, rows) in &received.by_recipient {
        let r = &registry[recipient];
        assert!(
            r.kind != OrgKind::Organisation || r.vital,
            "non-vital {recipient} was told directly"
        );
        assert!(r.kind != OrgKind::Hoster, "hoster {recipient} was told");
        if r.kind == OrgKind::Dtc {
            assert!(rows.is_empty(), "the DTC gets counts only under nl-2020");
        }
    }
    assert!(
        received.aggregates.contains("dtc"),
        "the DTC gets the sector counts"
    );
}

#[test]
fn under_nl_dtc_oktt_the_dtc_certs_and_hosters_carry_findings_to_non_vital_owners() {
    let (received, registry, subject_of) = run_policy("nl-dtc-oktt");
    check_entitlement(&received, &registry, &subject_of, "nl-dtc-oktt");
    let kinds: BTreeSet<_> = received
        .by_recipient
        .iter()
        .filter(|(_, rows)| !rows.is_empty())
        .map(|(r, _)| format!("{:?}", registry[r].kind))
        .collect();
    for k in ["Dtc", "Cert", "Hoster"] {
        assert!(kinds.contains(k), "no {k} received findings: {kinds:?}");
    }
    // The DTC speaks for organisations no CERT told: none of its rows has a CERT that got it.
    let cert_told: BTreeSet<&String> = received
        .by_recipient
        .iter()
        .filter(|(r, _)| registry[*r].kind == OrgKind::Cert)
        .flat_map(|(_, rows)| rows.iter().map(|(o, _)| o))
        .collect();
    for (o, _) in &received.by_recipient["dtc"] {
        assert!(
            !cert_told.contains(o),
            "{o} went to both its CERT and the DTC"
        );
    }
}
