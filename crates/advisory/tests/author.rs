//! An advisory baken authors passes baken's own CSAF validation: the JSON schema, every
//! mandatory test, and reads back as the advisory it describes.

#[allow(dead_code)] // only the schema is used here
mod common;

use baken_advisory::author::{Draft, ProductSpec, csaf};
use baken_advisory::schema::CsafSchema;
use baken_advisory::{VersionSpec, read_value, validate_csaf_report};

fn draft() -> Draft {
    Draft {
        id: "NCSC-NL-2026-0001".into(),
        title: "Remote code execution in Example Gateway".into(),
        cves: vec!["CVE-2019-19781".into(), "cve-2019-11510".into()],
        products: vec![
            ProductSpec::parse("Example/Gateway/13.0,12.1,<13.0.47.24").unwrap(),
            ProductSpec::parse("Example/Connect").unwrap(),
            ProductSpec::parse("Other Vendor/Box/vers:semver/>=2.0.0|<2.4.50").unwrap(),
        ],
        description: None,
        cvss: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into()),
        tlp: "CLEAR".into(),
        publisher_name: "Example CSIRT".into(),
        publisher_namespace: "https://csirt.example".into(),
        released: chrono::DateTime::parse_from_rfc3339("2026-03-24T10:00:00Z")
            .unwrap()
            .into(),
    }
}

#[test]
fn an_authored_advisory_passes_the_schema_and_every_mandatory_test() {
    let doc = csaf(&draft()).unwrap();
    let schema = CsafSchema::new(&common::csaf_schema()).unwrap();
    let report = validate_csaf_report(&schema, &doc);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(doc["document"]["distribution"]["tlp"]["label"], "WHITE");

    let a = read_value(&doc).unwrap().advisory;
    assert_eq!(a.id, "NCSC-NL-2026-0001");
    assert_eq!(a.cves, ["CVE-2019-11510", "CVE-2019-19781"]);
    assert_eq!(a.highest_score().unwrap().value(), 9.8);
    let v = &a.vulnerabilities[0];
    assert_eq!(v.affected.len(), 5);
    assert_eq!(
        v.affected[2].versions,
        [VersionSpec::Vers {
            vers: "vers:generic/<13.0.47.24".into()
        }]
    );
}

#[test]
fn what_cannot_be_written_is_refused() {
    let mut d = draft();
    d.cves = vec!["CVE-19781".into()];
    assert!(csaf(&d).unwrap_err().contains("not a CVE id"));
    let mut d = draft();
    d.tlp = "PURPLE".into();
    assert!(csaf(&d).is_err());
    let mut d = draft();
    d.cvss = Some("CVSS:3.1/AV:X".into());
    assert!(csaf(&d).unwrap_err().starts_with("--cvss"));
}
