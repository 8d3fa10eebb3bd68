//! `baken demo citrix-2020` end to end on a small registry.

mod common;

use common::{files_with, run_ok, s};
use serde_json::Value;

/// Runs `baken demo citrix-2020 --orgs 500 --json` with `extra` options; the summary.
fn demo(data: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "demo",
        "citrix-2020",
        "--orgs",
        "500",
        "--out",
        s(out),
        "--json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(run_ok(data, &args).trim()).expect("--json prints one JSON object")
}

#[test]
fn the_citrix_demo_runs_the_whole_chain_and_its_figures_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("out");
    let v = demo(&data, &out, &[]);
    let n = |k: &str| {
        v[k].as_u64()
            .unwrap_or_else(|| panic!("key {k} missing or not a count in {v}"))
    };
    for key in [
        "rows_read",
        "rows_stored",
        "rows_quarantined",
        "affected_orgs",
        "notified_orgs",
        "unreachable_orgs",
        "messages",
    ] {
        n(key);
    }
    assert!(v["seconds_to_last_notification"].as_f64().unwrap() > 0.0);
    // The replay starts from the advisory: its severity explained, its exposure from scans
    // and declared inventories.
    assert_eq!(v["advisory"], "DEMO-2020-0001");
    assert_eq!(v["incident"], "demo-2020-0001");
    assert!(
        v["severity"]
            .as_str()
            .unwrap()
            .starts_with("9.8 CRITICAL on a scale of 0.0 to 10.0")
    );
    assert!(
        v["exposure_by_evidence"]["scan-confirmed"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(
        v["exposure_by_evidence"]["inventory-declared"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(
        n("exposure_affected_orgs"),
        n("affected_orgs") - n("exposure_unknown_orgs"),
        "every affected organisation is one the exposure analysis found (or one of unknown status)"
    );
    assert_eq!(
        n("rows_read"),
        n("rows_stored") + n("rows_duplicate") + n("rows_quarantined")
    );
    // the reasons account for every unreachable party, and each policy's parties reconcile
    let reasons: u64 = v["unreachable_reasons"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    let groups_unreached = n("unregistered_holders") - n("unregistered_reached");
    assert_eq!(
        reasons,
        n("unreachable_orgs") + groups_unreached + n("unattributed_hosts"),
        "{v}"
    );
    for (name, p) in v["policies"].as_object().unwrap() {
        let c = |k: &str| p[k].as_u64().unwrap();
        assert_eq!(c("affected"), c("organisations") + c("others"), "{name}");
        assert_eq!(c("affected"), c("reached") + c("unreachable"), "{name}");
        assert_eq!(
            c("organisations"),
            n("affected_orgs"),
            "{name}: one count of organisations"
        );
    }
    assert!(
        v["unreachable_reasons"]
            .as_object()
            .unwrap()
            .keys()
            .all(|r| !r.contains("<address> <AS>")),
        "reasons keep their punctuation"
    );
    assert!(n("rows_quarantined") > 0, "the feed carries malformed rows");
    assert!(n("affected_orgs") > 50, "{v}");
    assert_eq!(
        n("affected_orgs"),
        n("notified_orgs") + n("unreachable_orgs")
    );
    assert_eq!(
        n("affected_orgs"),
        n("affected_vital") + n("affected_non_vital")
    );
    assert!(n("affected_vital") > 0 && n("affected_non_vital") > n("affected_vital"));
    assert!(n("unreachable_orgs") > 0 && n("unattributed_hosts") > 0);
    assert_eq!(
        v["policy"], "nl-2020",
        "the conservative policy is the default"
    );
    // Under nl-2020 only vital providers hear anything specific (the 2020 situation).
    let p2020 = &v["policies"]["nl-2020"];
    let poktt = &v["policies"]["nl-dtc-oktt"];
    assert_eq!(p2020["non_vital_reached"], 0, "{p2020}");
    assert!(n("notified_orgs") <= n("affected_vital"));
    assert_eq!(
        p2020["registered_reached"].as_u64(),
        Some(n("notified_orgs"))
    );
    // Designating the DTC as OKTT reaches far more, through the DTC, CERTs and hosters.
    assert!(poktt["reached"].as_u64() > p2020["reached"].as_u64());
    assert!(poktt["by_path"]["dtc"].as_u64().unwrap() > 0);
    assert!(poktt["by_path"]["hoster"].as_u64().unwrap() > 0);
    assert!(poktt["non_vital_reached"].as_u64().unwrap() > 0);
    let sectors = v["by_sector"].as_object().unwrap();
    let by_sector: u64 = sectors
        .values()
        .map(|r| r["affected"].as_u64().unwrap())
        .sum();
    assert_eq!(by_sector, n("affected_orgs"));

    // The outbox holds exactly the digests; the report has the figures and a chart.
    let eml = files_with(&out.join("outbox"), "eml");
    assert_eq!(eml.len() as u64, n("messages"));
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        report.contains("<svg"),
        "the report carries the timeline chart"
    );
    assert!(report.contains(&format!("{} organisations affected", n("affected_orgs"))));

    // Sent under the other policy, the demo reaches what that policy's plan said.
    let oktt = demo(&data, &out, &["--policy", "nl-dtc-oktt"]);
    assert_eq!(oktt["policy"], "nl-dtc-oktt");
    assert_eq!(
        oktt["notified_orgs"], v["policies"]["nl-dtc-oktt"]["registered_reached"],
        "delivered reach equals planned reach"
    );

    // Running it again starts afresh and gives the same figures (deterministic generator).
    let again = demo(&data, &out, &[]);
    for key in ["rows_read", "affected_orgs", "notified_orgs", "messages"] {
        assert_eq!(again[key], v[key], "{key}");
    }
}

#[test]
fn the_crisis_replayed_over_days_follows_findings_until_fixed_under_both_policies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("out");
    let v = demo(&data, &out, &["--days", "45"]);
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    assert_eq!(n("days"), 45);
    let hosts = n("hosts");
    assert!(hosts > 100, "{v}");
    // every host is a finding, and each is either verified fixed or still open
    let lead = &v["policies"]["nl-2020"];
    assert_eq!(
        n("verified_fixed"),
        lead["verified_fixed"].as_u64().unwrap()
    );
    assert_eq!(
        n("verified_fixed") + n("still_open") + lead["never_found"].as_u64().unwrap(),
        hosts,
        "{v}"
    );
    assert!(
        n("follow_up_messages") > 0,
        "hosts found later bring follow-ups: {v}"
    );
    assert!(v["escalations"].is_u64());
    assert!(v["median_hours_to_fix"].get("direct").is_some(), "{v}");
    // the DTC as an OKTT reaches the non-vital organisations: less exposure, and theirs
    let exposure = |p: &str| v["exposure_host_days"][p].as_f64().unwrap();
    assert!(exposure("nl-dtc-oktt") < exposure("nl-2020"), "{v}");
    let non_vital = |p: &str| {
        v["policies"][p]["exposure_host_days_non_vital"]
            .as_f64()
            .unwrap()
    };
    assert!(non_vital("nl-dtc-oktt") < non_vital("nl-2020"));
    let oktt = &v["policies"]["nl-dtc-oktt"];
    assert!(oktt["median_hours_to_fix"]["dtc"].is_f64(), "{oktt}");
    assert!(oktt["replies"].as_u64().unwrap() > 0);
    // the record holds the replies, the reports' verifications and the messages
    let store = baken_store::SqliteStore::open(
        &data
            .join("demo")
            .join("citrix-2020-days")
            .join("nl-dtc-oktt"),
    )
    .unwrap();
    use baken_store::prelude::*;
    let causes: std::collections::BTreeSet<String> = store
        .incident_transitions("cve-2019-19781")
        .unwrap()
        .iter()
        .map(|t| format!("{}:{}", t.to.as_str(), t.cause.as_str()))
        .collect();
    let revisions = store.advisory_revisions("DEMO-2020-0001").unwrap();
    assert_eq!(
        revisions
            .iter()
            .map(|r| r.revision.clone().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["1", "2"],
        "the advisory as first released, then its revision of 16 January"
    );
    for expected in [
        "notified:message",
        "mitigation-claimed:reply",
        "verified-fixed:report",
    ] {
        assert!(causes.contains(expected), "{expected} in {causes:?}");
    }
    // the assumptions are part of the report, with a self-contained chart
    assert!(v["assumptions"].as_array().unwrap().len() >= 5);
    let page = std::fs::read_to_string(v["report"].as_str().unwrap()).unwrap();
    assert!(page.contains("<svg") && page.contains("What the demo assumes"));
    assert!(!page.contains("src=\"http"), "no outside resources");
}

#[test]
fn hosts_told_under_the_advisory_are_not_told_again_under_its_cve() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("out");
    let v = demo(&data, &out, &[]);
    assert!(v["messages"].as_u64().unwrap() > 0);
    // the demo told the advisory's incident; a round over every incident follows
    let store = data.join("demo").join("citrix-2020");
    let outbox = dir.path().join("second-round");
    let round: Vec<Value> = serde_json::from_str(&run_ok(
        &store,
        &["notify", "--outbox", outbox.to_str().unwrap(), "--json"],
    ))
    .unwrap();
    let of = |incident: &str| {
        round
            .iter()
            .find(|o| o["incident"] == incident)
            .unwrap_or_else(|| panic!("{incident} in {round:?}"))["digests"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(of("demo-2020-0001"), 0, "a rerun sends nothing");
    assert_eq!(
        of("cve-2019-19781"),
        0,
        "the same hosts under the CVE the advisory covers are not told again"
    );
    assert!(of("cve-2019-11510") > 0, "other incidents are told");
    // and their findings under the CVE count as notified
    let notified: Vec<Value> = run_ok(
        &store,
        &[
            "findings",
            "--incident",
            "cve-2019-19781",
            "--state",
            "notified",
            "--json",
        ],
    )
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    assert!(!notified.is_empty());
}
