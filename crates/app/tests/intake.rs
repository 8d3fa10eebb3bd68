//! The intake directory: what is dropped in is ingested or imported and moved aside; what
//! cannot be read is moved to `failed/` with why; nothing half-written is touched.

mod common;

use baken_app::App;
use baken_store::{FindingQuery, Label};
use common::scan;

#[test]
fn feeds_and_advisories_dropped_in_are_taken_in_once_and_bad_files_set_aside_with_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open(&dir.path().join("data")).unwrap();
    let registry = dir.path().join("registry.toml");
    std::fs::write(
        &registry,
        "[[organisation]]\nid = \"org-a\"\nname = \"A\"\nvital = true\nnetworks = [\"198.18.1.0/24\"]\n",
    )
    .unwrap();
    app.import_registry(&registry, false).unwrap();

    let intake = dir.path().join("intake");
    std::fs::create_dir_all(&intake).unwrap();
    std::fs::write(intake.join("day1-intelmq.jsonl"), scan("198.18.1.5")).unwrap();
    std::fs::write(intake.join("notes.txt"), "not a feed").unwrap();
    std::fs::write(intake.join("broken.json"), "{ not json").unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../demo/src/advisory.json"),
        intake.join("advisory.json"),
    )
    .unwrap();
    // being written: left alone
    std::fs::write(intake.join("day2-intelmq.jsonl.part"), scan("198.18.1.6")).unwrap();
    std::fs::write(intake.join(".day3-intelmq.jsonl"), scan("198.18.1.7")).unwrap();

    let pass = app.intake(&intake, "nl-2020", &Label::default()).unwrap();
    assert_eq!(pass.ingested.len(), 1);
    assert_eq!(pass.ingested[0].stored, 1);
    assert_eq!(pass.advisories, ["advisory.json"]);
    let failed: Vec<&str> = pass.failed.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(failed, ["broken.json", "notes.txt"]);
    assert!(intake.join("ingested/day1-intelmq.jsonl").exists());
    assert!(intake.join("ingested/advisory.json").exists());
    let why = std::fs::read_to_string(intake.join("failed/notes.txt.why")).unwrap();
    assert!(why.contains("neither a feed"), "{why}");
    assert!(intake.join("failed/broken.json").exists());
    assert!(
        intake.join("day2-intelmq.jsonl.part").exists(),
        "half-written: untouched"
    );
    assert!(intake.join(".day3-intelmq.jsonl").exists());
    assert_eq!(app.advisories().unwrap().len(), 1);

    // the writer renames it into place: the next pass takes it, and only it
    std::fs::rename(
        intake.join("day2-intelmq.jsonl.part"),
        intake.join("day2-intelmq.jsonl"),
    )
    .unwrap();
    let pass = app.intake(&intake, "nl-2020", &Label::default()).unwrap();
    assert_eq!(pass.ingested.len(), 1);
    assert!(pass.failed.is_empty() && pass.advisories.is_empty());
    let findings = app
        .store()
        .finding_records(&FindingQuery::default())
        .unwrap();
    assert_eq!(findings.len(), 2);

    // a file put back (a pass killed before it moved the file) stores nothing twice
    std::fs::copy(
        intake.join("ingested/day1-intelmq.jsonl"),
        intake.join("day1-intelmq.jsonl"),
    )
    .unwrap();
    let again = app.intake(&intake, "nl-2020", &Label::default()).unwrap();
    assert_eq!(
        (again.ingested[0].stored, again.ingested[0].duplicate),
        (0, 1)
    );
    assert_eq!(
        app.store()
            .finding_records(&FindingQuery::default())
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn names_dropped_in_lookalike_are_scanned_against_the_protected_list_and_recorded_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut app = App::open(&data).unwrap();
    let registry = dir.path().join("registry.toml");
    std::fs::write(
        &registry,
        "[[organisation]]\nid = \"rivm\"\nname = \"R\"\nvital = true\n\
         domains = [\"rivm.example\", \"rivm-corona.example\"]\n",
    )
    .unwrap();
    app.import_registry(&registry, false).unwrap();
    std::fs::write(data.join(baken_app::PROTECT_FILE), "rivm.example rivm\n").unwrap();
    std::fs::write(
        data.join(baken_app::KEYWORDS_FILE),
        "# crisis words\ncorona\n",
    )
    .unwrap();

    let intake = dir.path().join("intake");
    std::fs::create_dir_all(intake.join("lookalike")).unwrap();
    // the owner's own rivm-corona.example is never flagged
    std::fs::write(
        intake.join("lookalike/ct-1.txt"),
        "rivm-corona.example\nrivm-corona-info.example\nrivn.example\nexample.org\n",
    )
    .unwrap();
    std::fs::write(intake.join("lookalike/zone.part"), "rivm-x.example\n").unwrap();
    std::fs::write(
        intake.join("lookalike/bad.jsonl"),
        "{\"message_type\":\"certificate_update\",\"data\":{}}\n",
    )
    .unwrap();

    let pass = app.intake(&intake, "nl-2020", &Label::default()).unwrap();
    let recorded: Vec<(&str, u64)> = pass
        .lookalikes
        .iter()
        .map(|(f, r)| (f.as_str(), r.new_findings))
        .collect();
    assert_eq!(recorded, [("lookalike/ct-1.txt", 2)]);
    let failed: Vec<&str> = pass.failed.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(failed, ["lookalike/bad.jsonl"]);
    assert!(intake.join("ingested/lookalike-ct-1.txt").exists());
    assert!(intake.join("failed/lookalike-bad.jsonl.why").exists());
    assert!(
        intake.join("lookalike/zone.part").exists(),
        "half-written files stay"
    );

    let mut names: Vec<String> = app
        .store()
        .finding_records(&FindingQuery {
            incident: Some("lookalike".into()),
            ..FindingQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|f| f.addr)
        .collect();
    names.sort();
    assert_eq!(names, ["rivm-corona-info.example", "rivn.example"]);
    let detail = app.finding(
        app.store()
            .finding_records(&FindingQuery {
                incident: Some("lookalike".into()),
                ..FindingQuery::default()
            })
            .unwrap()[0]
            .id,
    );
    let detail = detail.unwrap();
    assert!(detail.reason.contains("rivm.example"), "{}", detail.reason);
    assert_eq!(detail.observations[0].tlp, "TLP:CLEAR");

    // the same file again records nothing new
    std::fs::write(intake.join("lookalike/ct-2.txt"), "rivn.example\n").unwrap();
    let again = app.intake(&intake, "nl-2020", &Label::default()).unwrap();
    assert_eq!(again.lookalikes[0].1.new_findings, 0);
}
