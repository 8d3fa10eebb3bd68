//! Issue 3 end to end: the shared CSAF examples and the demo's CSAF advisory for
//! CVE-2019-19781, a generated registry with inventories and a scan feed; the exposure
//! figures checked against what the generator planted, and the findings notified.

mod common;

use std::collections::BTreeSet;

use baken_demo::generate::Planted;
use baken_model::Owner;
use baken_store::{SqliteStore, prelude::*};
use common::{files_with, run_ok, s, small_world};
use serde_json::Value;

#[test]
fn exposure_counts_scanned_and_declared_systems_and_notify_carries_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let g = small_world(&dir.path().join("input"), &data, 600);
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/csaf");
    let out = run_ok(&data, &["advisory", "import", s(&shared), s(&g.advisory)]);
    assert!(out.contains(", 0 rejected"), "{out}");
    for (org, path, _) in &g.inventories {
        run_ok(&data, &["inventory", "import", org, s(path)]);
    }
    run_ok(&data, &["ingest", s(&g.feed)]);

    // Ground truth: who the scans saw (as attributed) and what the inventories declare.
    let store = SqliteStore::open(&data).unwrap();
    let scanned: BTreeSet<String> = store
        .finding_records(&baken_store::FindingQuery {
            incident: Some("cve-2019-19781".into()),
            ..Default::default()
        })
        .unwrap()
        .iter()
        .filter_map(|f| match &f.attribution.owner {
            Owner::Organisation { id } => Some(id.0.clone()),
            _ => None,
        })
        .collect();
    drop(store);
    let planted = |p: Planted| -> BTreeSet<String> {
        g.inventories
            .iter()
            .filter(|(_, _, x)| *x == p)
            .map(|(o, _, _)| o.clone())
            .collect()
    };
    let (declared, unknown) = (planted(Planted::Affected), planted(Planted::Unknown));
    assert!(!declared.is_empty() && !unknown.is_empty() && !planted(Planted::Fixed).is_empty());
    let expected: BTreeSet<String> = scanned.union(&declared).cloned().collect();

    let v: Value =
        serde_json::from_str(&run_ok(&data, &["exposure", "DEMO-2020-0001", "--json"])).unwrap();
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    assert_eq!(n("affected_orgs") as usize, expected.len());
    assert_eq!(n("vital") + n("non_vital"), n("affected_orgs"));
    assert_eq!(
        n("unknown_orgs") as usize,
        unknown.difference(&expected).count(),
        "unparseable builds are reported as unknown, not as affected or safe"
    );
    assert_eq!(
        v["by_evidence"]["scan-confirmed"].as_u64(),
        Some(g.citrix_rows)
    );
    assert_eq!(
        v["by_evidence"]["inventory-declared"].as_u64(),
        Some((declared.len() + unknown.len()) as u64),
        "fixed builds are not matched"
    );
    assert_eq!(v["highest_score"], 9.8);
    assert_eq!(v["severity"], "CRITICAL");
    let sectors: u64 = v["by_sector"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(sectors, n("affected_orgs"));
    // Re-running records nothing new.
    let again: Value =
        serde_json::from_str(&run_ok(&data, &["exposure", "DEMO-2020-0001", "--json"])).unwrap();
    assert_eq!(again["recorded"], 0);
    assert_eq!(again["affected_orgs"], v["affected_orgs"]);

    // The advisory's findings go out as one message per recipient; a declared-only
    // organisation appears with its inventory evidence.
    let outbox = dir.path().join("outbox");
    run_ok(
        &data,
        &[
            "notify",
            "--incident",
            "demo-2020-0001",
            "--policy",
            "nl-dtc-oktt",
            "--outbox",
            s(&outbox),
        ],
    );
    let declared_only: Vec<&String> = declared.difference(&scanned).collect();
    assert!(!declared_only.is_empty());
    let mails: Vec<String> = files_with(&outbox, "eml")
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        mails
            .iter()
            .all(|m| m.contains("Severity: CVSS v3.1 base score 9.8 (CRITICAL)"))
    );
    assert!(mails.iter().any(|m| m.contains("DEMO-2020-0001")));
    let cov: Value = serde_json::from_str(&run_ok(
        &data,
        &[
            "coverage",
            "--incident",
            "demo-2020-0001",
            "--policy",
            "nl-dtc-oktt",
            "--json",
        ],
    ))
    .unwrap();
    let parties = cov["parties"].as_array().unwrap();
    for org in declared_only {
        let p = parties
            .iter()
            .find(|p| p["id"] == org.as_str())
            .unwrap_or_else(|| panic!("{org} not affected"));
        assert_eq!(p["coverage"]["status"], "reached", "{p}");
    }
}
