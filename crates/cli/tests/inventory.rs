//! `baken inventory import --dir` and `--manifest`: many organisations' inventories in one
//! transaction, the same as importing them one by one; all or nothing when a file is bad.

mod common;

use std::path::Path;

use baken_store::{InventoryRecord, SqliteStore, prelude::*};
use common::{run, run_ok, s, small_world};

fn inventory(data: &Path) -> Vec<InventoryRecord> {
    SqliteStore::open(data).unwrap().inventory().unwrap()
}

#[test]
fn bulk_import_from_a_directory_equals_one_import_per_organisation() {
    let dir = tempfile::tempdir().unwrap();
    let one_by_one = dir.path().join("one-by-one");
    let g = small_world(&dir.path().join("input"), &one_by_one, 600);
    assert!(g.inventories.len() >= 5, "{}", g.inventories.len());
    let inventories = dir.path().join("input/inventories");
    // every file the generator wrote there: the Citrix inventories and the others
    let files: Vec<(&str, &Path)> = g
        .inventories
        .iter()
        .map(|(org, path, _)| (org.as_str(), path.as_path()))
        .chain(
            g.other_inventories
                .iter()
                .map(|(org, path)| (org.as_str(), path.as_path())),
        )
        .collect();
    for (org, path) in &files {
        run_ok(&one_by_one, &["inventory", "import", org, s(path)]);
    }

    let bulk = dir.path().join("bulk");
    run_ok(&bulk, &["registry", "import", s(&g.registry)]);
    let out = run_ok(&bulk, &["inventory", "import", "--dir", s(&inventories)]);
    let n = files.len();
    let want = inventory(&one_by_one);
    assert!(want.len() >= 2 * n, "{} entries from {n} files", want.len());
    assert!(
        out.contains(&format!(
            "{} entries imported from {n} files for {n} organisations (0 entries skipped)",
            want.len()
        )),
        "{out}"
    );
    assert_eq!(inventory(&bulk), want);

    // again: each file replaces what it gave before, nothing is added
    run_ok(&bulk, &["inventory", "import", "--dir", s(&inventories)]);
    assert_eq!(inventory(&bulk), want);
}

#[test]
fn manifests_in_csv_and_toml_name_organisations_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let g = small_world(&dir.path().join("input"), &data, 600);
    let (a, b) = (&g.inventories[0], &g.inventories[1]);
    // how many entries each generated file holds, as a one-file import counts them
    let entries = |org: &str, file: &Path| -> usize {
        let scratch = tempfile::tempdir().unwrap();
        let scratch = scratch.path().join("data");
        run_ok(&scratch, &["registry", "import", s(&g.registry)]);
        let out = run_ok(&scratch, &["inventory", "import", org, s(file)]);
        out.split(": ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in {out:?}"))
    };
    let (in_a, in_b) = (entries(&a.0, &a.1), entries(&b.0, &b.1));
    let sbom = dir.path().join("sbom.cdx.json");
    std::fs::write(
        &sbom,
        r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
            {"type": "library", "name": "openssl", "version": "3.0.1",
             "purl": "pkg:generic/openssl@3.0.1"}]}"#,
    )
    .unwrap();
    // relative paths are the manifest's directory's
    let manifest = dir.path().join("manifest.csv");
    std::fs::write(
        &manifest,
        format!("org,file\n{},{}\n{},sbom.cdx.json\n", a.0, s(&a.1), b.0),
    )
    .unwrap();
    let out = run_ok(&data, &["inventory", "import", "--manifest", s(&manifest)]);
    assert!(
        out.contains(&format!(
            "{} entries imported from 2 files for 2 organisations",
            in_a + 1
        )),
        "{out}"
    );
    let stored = inventory(&data);
    assert!(
        stored
            .iter()
            .any(|r| r.org == b.0 && r.name.as_deref() == Some("openssl")),
        "{stored:?}"
    );

    let toml = dir.path().join("manifest.toml");
    std::fs::write(
        &toml,
        format!(
            "[[inventory]]\norg = \"{}\"\nfile = \"{}\"\n\n[[inventory]]\norg = \"{}\"\nfile = \"{}\"\n",
            b.0,
            s(&b.1),
            b.0,
            "sbom.cdx.json"
        ),
    )
    .unwrap();
    let out = run_ok(&data, &["inventory", "import", "--manifest", s(&toml)]);
    assert!(
        out.contains(&format!(
            "{} entries imported from 2 files for 1 organisations",
            in_b + 1
        )),
        "{out}"
    );
    assert_eq!(inventory(&data).len(), in_a + in_b + 1);
}

#[test]
fn unknown_organisations_and_unreadable_files_are_named_and_nothing_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let g = small_world(&dir.path().join("input"), &data, 600);
    let inventories = dir.path().join("input/inventories");
    let (org, _, _) = &g.inventories[0];
    // a good import first: a refused bulk import must leave it as it was
    run_ok(&data, &["inventory", "import", "--dir", s(&inventories)]);
    let before = inventory(&data);

    std::fs::write(
        inventories.join("org-999999.csv"),
        "cpe,version\ncpe:2.3:a:vendor:product:1.0:*:*:*:*:*:*:*,1.0\n",
    )
    .unwrap();
    std::fs::write(
        inventories.join(format!("{org}.json")),
        "{\"not\": \"an sbom\"}",
    )
    .unwrap();
    std::fs::write(inventories.join("notes.txt"), "not an inventory\n").unwrap();
    std::fs::write(
        inventories.join(format!("{org}.csv")),
        "cpe,version\ncpe:2.3:a:vendor:changed:2.0:*:*:*:*:*:*:*,2.0\n",
    )
    .unwrap();

    let out = run(&data, &["inventory", "import", "--dir", s(&inventories)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let refused = |file: &str, why: &str| {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("refused") && l.contains(file) && l.contains(why)),
            "{file}: {why} in\n{stderr}"
        );
    };
    refused("org-999999.csv", "not in the registry");
    refused(&format!("{org}.json"), "not a CSV");
    refused("notes.txt", "not named ORG.csv");
    assert!(
        stderr.contains("3 file(s) refused, so nothing was imported"),
        "{stderr}"
    );
    // the good, changed file was not imported either
    assert_eq!(inventory(&data), before);

    // a manifest naming a missing file
    let manifest = dir.path().join("manifest.csv");
    std::fs::write(&manifest, format!("org,file\n{org},missing.csv\n")).unwrap();
    let out = run(&data, &["inventory", "import", "--manifest", s(&manifest)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("missing.csv") && stderr.contains("cannot read"),
        "{stderr}"
    );
    assert_eq!(inventory(&data), before);
}
