//! Webhooks end to end on loopback: a receiver that checks every signature, is down for a
//! while, and still gets every event of its party, and only its party's, exactly once by id.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use baken_app::{App, Said};
use baken_deliver::webhook;
use baken_feeds::{FeedKind, Options};
use baken_pipeline::NoProgress;
use baken_pipeline::ingest::{Input, Settings};
use baken_store::FindingState;
use common::scan;
use serde_json::Value;

const REGISTRY: &str = r#"
[[organisation]]
id = "org-a"
name = "Alpha Zorg BV"
vital = true
networks = ["198.18.1.0/24"]
contacts = [{ email = "soc@alpha.example" }]

[[organisation]]
id = "org-b"
name = "Beta Energie NV"
vital = true
networks = ["198.18.2.0/24"]
contacts = [{ email = "csirt@beta.example" }]
"#;

/// What the receiver saw: each request's event id, whether its signature held, and the
/// status it answered.
type Seen = Arc<Mutex<Vec<(String, bool, u16, Value)>>>;

/// A receiver on 127.0.0.1 that answers 503 to its first `down` requests, then 204.
fn receiver(secret: Arc<Mutex<String>>, down: usize) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = std::collections::HashMap::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                }
            }
            let length: usize = headers["content-length"].parse().unwrap();
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let body = String::from_utf8(body).unwrap();
            let id = headers["webhook-id"].clone();
            let ts: i64 = headers["webhook-timestamp"].parse().unwrap();
            let valid = webhook::verify(
                &secret.lock().unwrap(),
                &id,
                ts,
                &body,
                &headers["webhook-signature"],
            );
            let mut log = log.lock().unwrap();
            let status = if log.len() < down { 503 } else { 204 };
            log.push((id, valid, status, serde_json::from_str(&body).unwrap()));
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, seen)
}

#[test]
fn every_event_arrives_signed_exactly_once_after_the_receiver_was_down() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open(&dir.path().join("data")).unwrap();
    let registry = dir.path().join("registry.toml");
    std::fs::write(&registry, REGISTRY).unwrap();
    app.import_registry(&registry, false).unwrap();
    let feed = dir.path().join("scan-intelmq.jsonl");
    std::fs::write(
        &feed,
        [scan("198.18.1.5"), scan("198.18.1.6"), scan("198.18.2.5")].concat(),
    )
    .unwrap();
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

    let secret = Arc::new(Mutex::new(String::new()));
    let (url, seen) = receiver(secret.clone(), 3);
    let hook = app.add_webhook("org-a", &url).unwrap();
    assert!(hook.secret.starts_with("whsec_"));
    *secret.lock().unwrap() = hook.secret.clone();
    assert!(
        app.add_webhook("org-z", &url).is_err(),
        "a registered party only"
    );
    assert!(app.add_webhook("org-a", "ftp://x.example/").is_err());

    // the receiver is down for the first three attempts; passes follow the backoff
    let t0 = 1_700_000_000;
    let mut now = t0;
    let first = app.webhook_pass("nl-2020", now).unwrap();
    assert_eq!(first.queued, 2, "org-a's two findings, nothing of org-b's");
    assert_eq!((first.delivered, first.failed), (0, 2));
    for _ in 0..6 {
        now += baken_app::backoff(4);
        let pass = app.webhook_pass("nl-2020", now).unwrap();
        assert_eq!(pass.queued, 0, "nothing changed, nothing queued again");
    }
    let accepted: Vec<(String, Value)> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, _, status, _)| *status == 204)
        .map(|(id, _, _, body)| (id.clone(), body.clone()))
        .collect();
    assert!(
        seen.lock().unwrap().iter().all(|(_, valid, _, _)| *valid),
        "every signature holds"
    );
    let mut ids: Vec<&str> = accepted.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2, "{accepted:?}");
    assert_eq!(accepted.len(), 2, "each delivered once: {accepted:?}");
    let addresses: Vec<&str> = accepted
        .iter()
        .map(|(_, body)| body["data"]["source.ip"].as_str().unwrap())
        .collect();
    assert!(
        addresses.iter().all(|a| a.starts_with("198.18.1.")),
        "{addresses:?}"
    );
    assert!(accepted.iter().all(|(_, b)| b["type"] == "finding.changed"));

    // a change of state is a new event; the unchanged finding is not sent again
    let id = accepted[0].1["data"]["id"].as_i64().unwrap();
    app.said(&Said {
        ids: vec![id],
        to: Some(FindingState::Acknowledged),
        by: "soc@alpha.example".into(),
        note: None,
    })
    .unwrap();
    let pass = app.webhook_pass("nl-2020", now + 1).unwrap();
    assert_eq!((pass.queued, pass.delivered, pass.failed), (1, 1, 0));
    let last = seen.lock().unwrap().last().unwrap().3.clone();
    assert_eq!(last["data"]["state"], "acknowledged");

    // what was queued for the party is in the audit log
    let queued = app
        .audit_log()
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "webhook-queued" && e.subject == "org-a")
        .count();
    assert_eq!(queued, 2);
}
