//! `report_format = "xarf"`: a contact that prefers X-ARF gets one X-ARF v4 report (JSON) per
//! finding instead of the CSV, each sound under the spec's required fields.

mod common;

use baken_pipeline::xarf;
use common::{run_ok, s};
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::Value;

#[test]
fn a_contact_that_prefers_xarf_gets_one_report_per_finding_the_others_csv() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry.toml");
    std::fs::write(
        &registry,
        r#"
[[organisation]]
id = "org-a"
name = "Alpha Hosting BV"
sector = "health"
vital = true
networks = ["198.18.1.0/24"]
contacts = [{ email = "abuse@alpha.example", role = "security", report_format = "xarf" }]

[[organisation]]
id = "org-b"
name = "Beta Energie NV"
sector = "energy"
vital = true
networks = ["198.18.2.0/24"]
contacts = [{ email = "csirt@beta.example", role = "security", report_format = "csv" }]
"#,
    )
    .unwrap();
    run_ok(&data, &["registry", "import", s(&registry)]);
    let file = dir.path().join("scan.jsonl");
    let text: String = ["198.18.1.1", "198.18.1.2", "198.18.2.1"]
        .iter()
        .map(|ip| {
            format!(
                "{}\n",
                common::scan_event(ip, "2020-01-10T06:00:00+00:00", None)
            )
        })
        .collect();
    std::fs::write(&file, text).unwrap();
    run_ok(&data, &["ingest", "--feed", "intelmq", s(&file)]);
    let digests = common::notify_digests(&data, &[]);
    let eml = |party: &str| {
        let d = digests.iter().find(|d| d["party"] == party).unwrap();
        std::fs::read(
            data.join("outbox")
                .join(format!("{}.eml", d["key"].as_str().unwrap())),
        )
        .unwrap()
    };

    let raw = eml("org-a");
    let parsed = MessageParser::default().parse(&raw).unwrap();
    let reports: Vec<Value> = parsed
        .attachments()
        .filter(|a| a.attachment_name().is_some_and(|n| n.contains("xarf-")))
        .map(|a| serde_json::from_slice(a.contents()).unwrap())
        .collect();
    assert_eq!(reports.len(), 2, "one report per finding");
    let mut hosts: Vec<&str> = Vec::new();
    for r in &reports {
        assert_eq!(xarf::check(r), Vec::<String>::new(), "{r:#}");
        assert_eq!(r["category"], "vulnerability");
        assert_eq!(r["sender"]["contact"], "baken@ncsc.example");
        hosts.push(r["source_identifier"].as_str().unwrap());
    }
    hosts.sort();
    assert_eq!(hosts, ["198.18.1.1", "198.18.1.2"]);
    assert!(!parsed.attachments().any(|a| {
        a.attachment_name()
            .is_some_and(|n| n.ends_with("findings.csv"))
    }));

    let raw = eml("org-b");
    let parsed = MessageParser::default().parse(&raw).unwrap();
    assert!(parsed.attachments().any(|a| {
        a.attachment_name()
            .is_some_and(|n| n.ends_with("findings.csv"))
    }));
    assert!(
        !parsed
            .attachments()
            .any(|a| a.attachment_name().is_some_and(|n| n.contains("xarf-")))
    );
}
