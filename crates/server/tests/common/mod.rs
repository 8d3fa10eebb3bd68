//! The world the service's tests run in: a registry of five parties, six findings of
//! CVE-2019-19781 among three organisations, two advisories and a token per party.
#![allow(dead_code)] // each test file uses its part

use std::path::Path;

use baken_app::App;
use baken_feeds::{FeedKind, Options};
use baken_pipeline::NoProgress;
use baken_pipeline::ingest::{Input, Settings};

pub const REGISTRY: &str = r#"
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

[[organisation]]
id = "org-c"
name = "Gamma Winkel BV"
sector = "retail"
networks = ["198.18.3.0/24"]
contacts = [{ email = "it@gamma.example", role = "security" }]

[[organisation]]
id = "cert-x"
name = "Sector CERT X"
kind = "cert"
contacts = [{ email = "cert@x.example", role = "security" }]

[[organisation]]
id = "dtc"
name = "Digital Trust Center"
kind = "dtc"
contacts = [{ email = "dtc@dtc.example", role = "security" }]
"#;

pub const ADDRESSES: [&str; 6] = [
    "198.18.1.5",
    "198.18.1.6",
    "198.18.1.7",
    "198.18.2.5",
    "198.18.2.6",
    "198.18.3.5",
];

pub fn scan(ip: &str) -> String {
    format!(
        "{{\"feed.name\":\"scan-citrix\",\"time.source\":\"2020-01-10T06:00:00+00:00\",\
         \"source.ip\":\"{ip}\",\"source.port\":443,\"protocol.transport\":\"tcp\",\
         \"classification.taxonomy\":\"vulnerable\",\"classification.type\":\"vulnerable-system\",\
         \"classification.identifier\":\"citrix\",\"product.vulnerabilities\":\"CVE-2019-19781\"}}\n"
    )
}

pub struct World {
    pub _dir: tempfile::TempDir,
    pub router: axum::Router,
    pub org_a: String,
    pub org_b: String,
    pub dtc: String,
    pub cert: String,
    pub analyst: String,
    pub revoked: String,
    /// org-a's, valid for two seconds from `world()`.
    pub expiring: String,
}

pub fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut app = App::open(&data).unwrap();
    let registry = dir.path().join("registry.toml");
    std::fs::write(&registry, REGISTRY).unwrap();
    app.import_registry(&registry, false).unwrap();
    let feed = dir.path().join("scan-intelmq.jsonl");
    std::fs::write(&feed, ADDRESSES.map(scan).concat()).unwrap();
    ingest(&mut app, &feed);
    let token = |app: &mut App, party: &str, analyst: bool| {
        app.create_token(party, analyst, None).unwrap().1
    };
    let org_a = token(&mut app, "org-a", false);
    let org_b = token(&mut app, "org-b", false);
    let dtc = token(&mut app, "dtc", false);
    let cert = token(&mut app, "cert-x", false);
    let analyst = token(&mut app, "ncsc", true);
    let revoked = token(&mut app, "org-a", false);
    // one advisory anyone may read (TLP:WHITE), one for analysts only (TLP:AMBER)
    let csaf = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../demo/src/advisory.json"
    ))
    .unwrap();
    let amber = csaf
        .replace("DEMO-2020-0001", "DEMO-2020-0002")
        .replace("\"WHITE\"", "\"AMBER\"");
    for (doc, name) in [(csaf, "white.json"), (amber, "amber.json")] {
        let outcome = app
            .import_advisory_bytes(doc.as_bytes(), name, None)
            .unwrap();
        assert!(
            matches!(
                outcome,
                baken_pipeline::advisories::ImportOutcome::Imported { .. }
            ),
            "{outcome:?}"
        );
    }
    let id = app.tokens().unwrap().last().unwrap().id;
    app.revoke_token(id).unwrap();
    let expiring = app
        .create_token("org-a", false, Some(chrono::Duration::seconds(2)))
        .unwrap()
        .1;
    World {
        _dir: dir,
        router: baken_server::router(baken_server::State::new(app, "nl-2020")),
        org_a,
        org_b,
        dtc,
        cert,
        analyst,
        revoked,
        expiring,
    }
}

pub fn ingest(app: &mut App, feed: &Path) {
    let summary = app
        .ingest(
            &Input {
                path: feed.to_path_buf(),
                feed: FeedKind::Intelmq,
            },
            &Options::default(),
            &Settings::default(),
            &NoProgress,
        )
        .unwrap();
    assert!(summary.reconciles());
}
