//! NVD CVE API 2.0 pages and records, and CISA's KEV catalogue, against hand-written
//! samples of their published formats: each entry read or rejected with its JSON path.

use baken_advisory::{Format, VersionSpec, cvss::CvssVersion, detect, kev, nvd, read};
use serde_json::Value;

fn load(name: &str) -> (Vec<u8>, Value) {
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap();
    let doc = serde_json::from_slice(&bytes).unwrap();
    (bytes, doc)
}

#[test]
fn an_nvd_page_is_read_record_by_record() {
    let (_, doc) = load("nvd-page.json");
    assert_eq!(detect(&doc), Some(Format::Nvd));
    let page = nvd::read_page(&doc);
    // five entries: two read, three rejected, each with its path and field
    assert_eq!(page.records.len() + page.rejected.len(), 5);
    let ids: Vec<&str> = page
        .records
        .iter()
        .map(|r| r.parsed.advisory.id.as_str())
        .collect();
    assert_eq!(ids, ["CVE-2019-19781", "CVE-2019-11510"]);
    let rejected: Vec<(&str, &str)> = page
        .rejected
        .iter()
        .map(|p| (p.path.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [
            (
                "/vulnerabilities/2/cve/vulnStatus",
                "CVE-2019-0001 is rejected: the CVE was withdrawn"
            ),
            (
                "/vulnerabilities/3/cve/id",
                "not a CVE id (CVE-YYYY-NNNN): Some(String(\"GHSA-xxxx-yyyy-zzzz\"))"
            ),
            (
                "/vulnerabilities/4/cve/published",
                "not a time (RFC 3339): \"the day after\""
            ),
        ]
    );

    let citrix = &page.records[0];
    assert_eq!(citrix.path, "/vulnerabilities/0");
    assert_eq!(citrix.exploited.unwrap().to_string(), "2021-11-03");
    assert!(
        citrix.parsed.problems.is_empty(),
        "{:?}",
        citrix.parsed.problems
    );
    let a = &citrix.parsed.advisory;
    assert_eq!(a.format, Format::Nvd);
    assert_eq!(a.cves, ["CVE-2019-19781"]);
    assert!(
        a.title
            .as_deref()
            .unwrap()
            .starts_with("An issue was discovered in Citrix")
    );
    assert_eq!(a.revision.as_deref(), Some("2024-06-27T18:26:56.177"));
    assert_eq!(
        a.initial_release.unwrap().to_rfc3339(),
        "2019-12-27T14:15:10.877+00:00"
    );
    let v = &a.vulnerabilities[0];
    let versions: Vec<Option<CvssVersion>> = v.scores.iter().map(|s| s.version).collect();
    assert_eq!(versions, [Some(CvssVersion::V3_1), Some(CvssVersion::V2)]);
    assert_eq!(a.highest_score().unwrap().value(), 9.8);
    assert_eq!(v.scores[0].source.as_deref(), Some("nvd@nist.gov"));
    // only the vulnerable CPEs, each with its versions
    assert_eq!(v.affected.len(), 2);
    assert_eq!(v.affected[0].vendor.as_deref(), Some("citrix"));
    assert_eq!(
        v.affected[0].product.as_deref(),
        Some("application_delivery_controller_firmware")
    );
    assert_eq!(
        v.affected[0].versions,
        [VersionSpec::Exact {
            version: "10.5".into()
        }]
    );
    assert_eq!(
        v.affected[1].versions,
        [VersionSpec::Range {
            scheme: None,
            introduced: Some("13.0".into()),
            fixed: Some("13.0.47.24".into()),
            last_affected: None
        }]
    );

    let pulse = &page.records[1].parsed.advisory;
    assert_eq!(page.records[1].exploited, None);
    assert_eq!(pulse.highest_score().unwrap().value(), 10.0);
    assert_eq!(pulse.vulnerabilities[0].scores.len(), 2);
}

#[test]
fn a_single_nvd_record_reads_as_its_advisory_and_again_from_its_document() {
    let (bytes, doc) = load("nvd-CVE-2019-11510.json");
    assert_eq!(detect(&doc), Some(Format::Nvd));
    let parsed = read(&bytes).unwrap();
    assert_eq!(parsed.advisory.id, "CVE-2019-11510");
    // the record a page keeps for each entry reads back the same
    let (_, page) = load("nvd-page.json");
    let record = &nvd::read_page(&page).records[1];
    let again = read(&serde_json::to_vec(&record.document).unwrap()).unwrap();
    assert_eq!(again.advisory, record.parsed.advisory);
    // a bare `cve` object too
    let bare = read(&serde_json::to_vec(&doc["cve"]).unwrap()).unwrap();
    assert_eq!(bare.advisory, parsed.advisory);
    // a page of many is not one record
    assert!(read(&serde_json::to_vec(&page).unwrap()).is_err());
}

#[test]
fn a_kev_catalogue_is_read_entry_by_entry() {
    let (_, doc) = load("kev-catalog.json");
    assert!(kev::is_catalog(&doc));
    assert_eq!(detect(&doc), None);
    let c = kev::read(&doc);
    assert_eq!(
        c.name,
        "CISA Catalog of Known Exploited Vulnerabilities 2021.11.03"
    );
    assert_eq!(c.entries.len() + c.rejected.len(), 4);
    let cves: Vec<&str> = c.entries.iter().map(|e| e.cve.as_str()).collect();
    assert_eq!(cves, ["CVE-2019-19781", "CVE-2019-11510"]);
    assert_eq!(c.entries[0].date_added.to_string(), "2021-11-03");
    assert_eq!(c.entries[0].vendor.as_deref(), Some("Citrix"));
    assert_eq!(c.entries[0].ransomware.as_deref(), Some("Known"));
    let paths: Vec<&str> = c.rejected.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/vulnerabilities/2/dateAdded", "/vulnerabilities/3/cveID"]
    );
    assert!(c.rejected[0].message.contains("10 December 2021"));
}
