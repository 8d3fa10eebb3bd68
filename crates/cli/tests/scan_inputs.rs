//! The port scanners' outputs (masscan, nmap) ingested, and NVD records and CISA's KEV
//! catalogue imported, end to end: every row or entry accounted for, the counts
//! reconciling, rows read again from what was kept, and a file of nothing but bad rows
//! failing the command.

mod common;

use std::path::{Path, PathBuf};

use baken_store::{SqliteStore, prelude::*};
use common::{run, run_ok, s};
use serde_json::Value;

fn feed_data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../feeds/tests/data")
        .join(rel)
}

fn advisory_data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../advisory/tests/data")
        .join(rel)
}

fn ingest(data: &Path, feed: &str, file: &Path) -> Value {
    let out = run_ok(data, &["ingest", "--json", "--feed", feed, s(file)]);
    let v: Value = serde_json::from_str(&out).expect("ingest --json prints JSON");
    v[0].clone()
}

fn count(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

#[test]
fn masscan_and_nmap_outputs_ingest_and_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // (feed, file, rows read, quarantined); a row of several ports gives several events
    for (feed, file, read, quarantined) in [
        ("masscan", "masscan/masscan-oJ.json", 8, 5),
        ("masscan", "masscan/masscan-oL.txt", 8, 4),
        ("nmap", "nmap/nmap-oX.xml", 9, 3),
    ] {
        let summary = ingest(&data, feed, &feed_data(file));
        assert_eq!(count(&summary, "read"), read, "{file}: {summary}");
        assert_eq!(
            count(&summary, "quarantined"),
            quarantined,
            "{file}: {summary}"
        );
        assert_eq!(
            count(&summary, "read"),
            count(&summary, "stored")
                + count(&summary, "duplicate")
                + count(&summary, "quarantined"),
            "{file}: counts reconcile: {summary}"
        );
        // each quarantined row is named by file and line, with the field
        for q in summary["quarantine_samples"].as_array().unwrap() {
            let q = q.as_str().unwrap();
            assert!(
                q.starts_with(&format!("{}:", feed_data(file).display())),
                "{q}"
            );
        }
    }
    let store = SqliteStore::open(&data).unwrap();
    let quarantine = store.totals().unwrap().quarantined;
    assert_eq!(quarantine, 12);
    drop(store);

    // an nmap finding, read again from the kept text of its host, is the event it was
    let findings: Vec<Value> = run_ok(&data, &["findings", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ssh = findings
        .iter()
        .find(|f| f["incident"] == "accessible-ssh" && f["source.ip"] == "198.18.3.1")
        .unwrap_or_else(|| panic!("no nmap ssh finding in {findings:?}"));
    let id = ssh["id"].to_string();
    let shown: Value =
        serde_json::from_str(&run_ok(&data, &["finding", "show", &id, "--json"])).unwrap();
    let observation = &shown["observations"][0];
    assert_eq!(observation["line"], 14, "{shown}");
    assert_eq!(observation["feed"], "nmap");
    assert_eq!(observation["event"]["product.name"], "openssh", "{shown}");
    assert_eq!(observation["event"]["product.version"], "8.2p1");
    assert_eq!(observation["event"]["source.fqdn"], "vpn.zorg.example");

    // the same files again: nothing new
    let again = ingest(&data, "nmap", &feed_data("nmap/nmap-oX.xml"));
    assert_eq!(count(&again, "stored"), 0, "{again}");
    assert_eq!(count(&again, "duplicate"), 6, "{again}");
}

#[test]
fn a_file_whose_every_row_is_rejected_fails_the_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("closed.masscan.txt");
    std::fs::write(
        &file,
        "#masscan\nclosed tcp 23 198.18.2.5 1700000106\nopen tcp 99999 198.18.2.6 1700000106\n# end\n",
    )
    .unwrap();
    let out = run(&data, &["ingest", "--feed", "masscan", s(&file)]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("quarantined 2"), "{stdout}");
    assert!(stdout.contains(":3: field \"port\""), "{stdout}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("every row was quarantined"), "{err}");
}

#[test]
fn an_nvd_page_imports_record_by_record_and_marks_the_exploited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run(
        &data,
        &["advisory", "import", s(&advisory_data("nvd-page.json"))],
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("5 records read, 2 stored, 3 rejected; 1 known exploited"),
        "{stdout}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    for path in [
        "/vulnerabilities/2/cve/vulnStatus",
        "/vulnerabilities/3/cve/id",
        "/vulnerabilities/4/cve/published",
    ] {
        assert!(err.contains(path), "{path} in {err}");
    }
    let list = run_ok(&data, &["advisory", "list"]);
    assert!(
        list.contains("CVE-2019-19781") && list.contains("CVE-2019-11510"),
        "{list}"
    );
    let show: Value = serde_json::from_str(&run_ok(
        &data,
        &["advisory", "show", "CVE-2019-19781", "--json"],
    ))
    .unwrap();
    assert_eq!(show["advisory"]["format"], "nvd", "{show}");
    let store = SqliteStore::open(&data).unwrap();
    let (since, _) = store.exploitation("CVE-2019-19781").unwrap().unwrap();
    assert_eq!(
        baken_store::keys::format_time(since),
        "2021-11-03T00:00:00Z"
    );
    drop(store);
    // a single record, and the same page again: nothing new
    run_ok(
        &data,
        &[
            "advisory",
            "import",
            s(&advisory_data("nvd-CVE-2019-11510.json")),
        ],
    );
    let again = run_ok(
        &data,
        &["advisory", "import", s(&advisory_data("nvd-page.json"))],
    );
    assert!(again.matches("already imported").count() == 2, "{again}");
}

#[test]
fn a_kev_catalogue_marks_cves_and_the_advisories_covering_them_exploited_audited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    run_ok(
        &data,
        &[
            "advisory",
            "import",
            s(&advisory_data("csaf-CVE-2019-19781.json")),
        ],
    );
    let out = run(
        &data,
        &["advisory", "import", s(&advisory_data("kev-catalog.json"))],
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("exploitation dates of 2 CVEs recorded (4 read, 2 recorded, 2 rejected)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("advisories marked exploited: SYN-"),
        "{stdout}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/vulnerabilities/2/dateAdded"), "{err}");
    assert!(err.contains("/vulnerabilities/3/cveID"), "{err}");

    let store = SqliteStore::open(&data).unwrap();
    let advisory = store
        .advisories()
        .unwrap()
        .into_iter()
        .find(|a| a.id.starts_with("SYN-"))
        .unwrap();
    let (since, source) = store.exploitation(&advisory.id).unwrap().unwrap();
    assert_eq!(
        baken_store::keys::format_time(since),
        "2021-11-03T00:00:00Z"
    );
    assert!(source.contains("2021.11.03"), "{source}");
    let audit = store.audit_log().unwrap();
    let entry = audit
        .iter()
        .find(|e| e.kind == "exploited")
        .expect("the import is audited");
    assert!(entry.body.contains("CVE-2019-11510"), "{}", entry.body);
    assert!(entry.body.contains(&advisory.id), "{}", entry.body);
    drop(store);
    run_ok(&data, &["audit", "verify"]);

    // a catalogue of nothing but bad entries is rejected, and the command fails
    let bad = dir.path().join("bad-kev.json");
    std::fs::write(
        &bad,
        r#"{"title": "T", "catalogVersion": "1", "vulnerabilities": [{"cveID": "CVE-2021-44228", "dateAdded": "soon"}]}"#,
    )
    .unwrap();
    let out = run(&data, &["advisory", "import", s(&bad)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/vulnerabilities/0/dateAdded"));
}

/// What nmap saw running (product and version, no CVE) is matched against an advisory: the
/// host running the affected version is exposed, by version-inferred evidence, and a version
/// outside the advisory's ranges is not.
#[test]
fn nmap_services_are_matched_against_advisories_by_product_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let registry = dir.path().join("registry.toml");
    std::fs::write(
        &registry,
        "[[organisation]]\nid = \"org-c\"\nname = \"C\"\n\
         networks = [\"198.18.3.0/24\", \"2001:db8:3::/48\"]\n\
         contacts = [{ email = \"soc@c.example\" }]\n",
    )
    .unwrap();
    run_ok(&data, &["registry", "import", s(&registry)]);
    let nmap = feed_data("nmap/nmap-oX.xml");
    run(&data, &["ingest", "--feed", "nmap", s(&nmap)]);
    let exposure = |cve: &str, versions: &str| -> Value {
        run_ok(
            &data,
            &[
                "advisory",
                "new",
                "--cve",
                cve,
                "--product",
                &format!("apache/http_server/{versions}"),
            ],
        );
        let id = format!("BAKEN-{cve}");
        serde_json::from_str(&run_ok(&data, &["exposure", &id, "--json"])).unwrap()
    };
    // Apache httpd 2.4.49 on 2001:db8:3::5 (the CPE nmap gave names it)
    let hit = exposure("CVE-2021-41773", "2.4.49");
    let orgs = hit["organisations"].as_array().unwrap();
    assert_eq!(orgs.len(), 1, "{hit}");
    assert_eq!(orgs[0]["id"], "org-c");
    assert_eq!(orgs[0]["hosts"], serde_json::json!(["2001:db8:3::5"]));
    assert_eq!(orgs[0]["evidence"], serde_json::json!(["version-inferred"]));
    // a later version only: nothing
    let miss = exposure("CVE-2021-42013", ">=2.4.50|<2.4.51");
    assert_eq!(miss["organisations"], serde_json::json!([]), "{miss}");
}
