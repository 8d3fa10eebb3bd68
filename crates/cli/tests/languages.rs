//! Message languages as a user meets them: a registry contact's `language` chooses Dutch or
//! English, the policy's `[messages] language` is the default, and a language baken does
//! not write is refused at import with the file, line and field.

mod common;

use std::path::Path;

use common::{run, run_ok, s};
use mail_parser::MessageParser;
use serde_json::Value;

const REGISTRY: &str = r#"
[[organisation]]
id = "org-a"
name = "Alpha Zorg BV"
sector = "health"
vital = true
networks = ["198.18.1.0/24"]
contacts = [{ email = "soc@alpha.example", role = "security", language = "nl" }]

[[organisation]]
id = "org-b"
name = "Beta Energie NV"
sector = "energy"
vital = true
networks = ["198.18.2.0/24"]
contacts = [{ email = "csirt@beta.example", role = "security" }]
"#;

/// A registry of two vital providers and one scan finding for each, ingested.
fn world() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry.toml");
    std::fs::write(&registry, REGISTRY).unwrap();
    run_ok(&data, &["registry", "import", s(&registry)]);
    let file = dir.path().join("day1-intelmq.jsonl");
    let text: String = ["198.18.1.1", "198.18.2.1"]
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
    (dir, data)
}

/// The message to `party`: its Content-Language, subject and text.
fn mail_to(data: &Path, digests: &[Value], party: &str) -> (String, String, String) {
    let key = digests
        .iter()
        .find(|d| d["party"] == party)
        .unwrap_or_else(|| panic!("no message to {party}: {digests:?}"))["key"]
        .as_str()
        .unwrap()
        .to_string();
    let raw = std::fs::read(data.join("outbox").join(format!("{key}.eml"))).unwrap();
    let parsed = MessageParser::default().parse(&raw).expect("valid MIME");
    let language = parsed
        .header_raw("Content-Language")
        .expect("a Content-Language header")
        .trim()
        .to_string();
    (
        language,
        parsed.subject().unwrap().to_string(),
        parsed.body_text(0).unwrap().to_string(),
    )
}

#[test]
fn a_contact_with_language_nl_is_written_to_in_dutch_the_others_in_the_policy_default() {
    let (_dir, data) = world();
    let digests = common::notify_digests(&data, &[]);
    let (language, subject, body) = mail_to(&data, &digests, "org-a");
    assert_eq!(language, "nl");
    assert!(
        subject.starts_with("[TLP:AMBER] [baken#")
            && subject.contains("1 systeem van Alpha Zorg BV"),
        "{subject}"
    );
    assert!(
        body.starts_with("TLP:AMBER") && body.contains("Geachte Alpha Zorg BV,"),
        "{body}"
    );
    for heading in [
        "WAT ER IS GEVONDEN",
        "WAAROM DIT BELANGRIJK IS",
        "WAT U KUNT DOEN",
        "WAAROM U DIT ONTVANGT",
    ] {
        assert!(body.contains(heading), "{heading}: {body}");
    }
    assert!(
        body.contains("Bij uw organisatie hebben wij 1 systeem gevonden dat kwetsbaar is voor"),
        "{body}"
    );
    assert!(
        body.contains("Dit bericht is TLP:AMBER. Beperkte verspreiding"),
        "{body}"
    );
    // the contact without a language reads the policy's default, English under nl-2020
    let (language, subject, body) = mail_to(&data, &digests, "org-b");
    assert_eq!(language, "en");
    assert!(subject.contains("1 system of Beta Energie NV"), "{subject}");
    assert!(body.contains("Dear Beta Energie NV,"), "{body}");
}

#[test]
fn the_policy_sets_the_language_of_contacts_that_name_none() {
    let (dir, data) = world();
    let text = baken_policy::Policy::builtin_text("nl-2020")
        .unwrap()
        .replace("language = \"en\"", "language = \"nl\"");
    let policy = dir.path().join("dutch.toml");
    std::fs::write(&policy, text).unwrap();
    let digests = common::notify_digests(&data, &["--policy", s(&policy)]);
    for party in ["org-a", "org-b"] {
        let (language, _, body) = mail_to(&data, &digests, party);
        assert_eq!(language, "nl", "{party}");
        assert!(body.contains("Geachte "), "{party}: {body}");
    }
}

#[test]
fn a_language_baken_does_not_write_is_refused_at_import_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry.csv");
    std::fs::write(
        &registry,
        "id,name,contacts,language\norg-a,Alpha,soc@alpha.example,nl\norg-b,Beta,soc@beta.example,fr\n",
    )
    .unwrap();
    let out = run(&data, &["registry", "import", s(&registry)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:3: organisation org-b: field `language`: unknown message language `fr`",
            registry.display()
        )),
        "{err}"
    );
    let registry = dir.path().join("registry.toml");
    std::fs::write(
        &registry,
        REGISTRY.replace("language = \"nl\"", "language = \"\""),
    )
    .unwrap();
    let out = run(&data, &["registry", "import", s(&registry)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:8: ", registry.display()))
            && err.contains("unknown message language \"\" in field `language`"),
        "{err}"
    );
}
