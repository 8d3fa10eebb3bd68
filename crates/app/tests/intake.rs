//! The intake directory: what is dropped in is ingested or imported and moved aside; what
//! cannot be read is moved to `failed/` with why; nothing half-written is touched.

mod common;

use baken_app::App;
use baken_store::{FindingQuery, Label, prelude::*};
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
