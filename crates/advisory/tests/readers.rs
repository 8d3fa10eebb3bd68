//! The readers against the shared CSAF examples and the CVE 5 / OSV fixtures.

mod common;

use baken_advisory::{Format, Product, VersionSpec, cvss::CvssVersion, read_value};
use baken_model::Tlp;

fn exact(v: &str) -> VersionSpec {
    VersionSpec::Exact { version: v.into() }
}

fn find<'a>(products: &'a [Product], id: &str) -> &'a Product {
    products
        .iter()
        .find(|p| p.id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no product {id}"))
}

#[test]
fn every_shared_csaf_example_reads_without_problems() {
    for (name, doc) in common::csaf_examples() {
        let parsed = read_value(&doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(parsed.advisory.format, Format::Csaf, "{name}");
        assert!(parsed.problems.is_empty(), "{name}: {:?}", parsed.problems);
        assert!(!parsed.advisory.id.is_empty(), "{name}");
        assert!(!parsed.advisory.vulnerabilities.is_empty(), "{name}");
        for v in &parsed.advisory.vulnerabilities {
            for p in v.affected.iter().chain(&v.fixed).chain(&v.not_affected) {
                assert_ne!(
                    Some(p.name.as_str()),
                    p.id.as_deref(),
                    "{name}: {p:?} unresolved"
                );
            }
        }
    }
}

#[test]
fn bsi_example_resolves_branches_cpes_and_scores() {
    let doc = common::csaf_examples()
        .into_iter()
        .find(|(n, _)| n == "bsi-2022-0001.json")
        .unwrap()
        .1;
    let a = read_value(&doc).unwrap().advisory;
    assert_eq!(a.id, "BSI-2022-0001");
    assert_eq!(a.tlp, Some(Tlp::Clear)); // TLP 1.0 WHITE
    assert_eq!(
        a.publisher.as_deref(),
        Some("Bundesamt für Sicherheit in der Informationstechnik")
    );
    assert_eq!(a.cves, ["CVE-2022-27193"]);
    let v = &a.vulnerabilities[0];
    let p = find(&v.affected, "CSAFPID-0001");
    assert_eq!(p.vendor.as_deref(), Some("CSAF Tools"));
    assert_eq!(p.product.as_deref(), Some("CVRF-CSAF-Converter"));
    assert_eq!(p.versions, [exact("1.0.0-alpha")]);
    // the document gives a CPE 2.2 URI; it is kept as given
    assert_eq!(
        p.cpes,
        ["cpe:/a:csaf-tools:cvrf-csaf-converter:1.0.0-alpha"]
    );
    assert!(!v.fixed.is_empty());
    let s = &v.scores[0];
    assert_eq!(s.version, Some(CvssVersion::V3_1));
    let c = s.computed.as_ref().unwrap();
    assert_eq!(Some(c.base_score), s.stated_base_score);
    assert!(c.temporal_score.is_some()); // E:F/RL:O/RC:C
    assert!(!v.remediations.is_empty());
}

#[test]
fn red_hat_relationships_inherit_the_component() {
    let doc = common::csaf_examples()
        .into_iter()
        .find(|(n, _)| n == "rhsa-2021_5186.json")
        .unwrap()
        .1;
    let a = read_value(&doc).unwrap().advisory;
    let fixed = &a.vulnerabilities[0].fixed;
    assert!(!fixed.is_empty());
    for p in fixed {
        let r = p
            .relationship
            .as_ref()
            .expect("fixed products are relationships");
        assert_eq!(r.category, "default_component_of");
        assert_eq!(r.relates_to, "8Base-RHOSE-4.6");
        assert!(p.name.contains("as a component of Red Hat OpenShift"));
    }
    assert_eq!(a.revision.as_deref(), Some("1"));
    assert_eq!(a.revision_history.len(), 1);
}

#[test]
fn free_text_version_range_is_kept_as_text() {
    let doc = common::csaf_examples()
        .into_iter()
        .find(|(n, _)| n == "sec-vex-2022-0001.json")
        .unwrap()
        .1;
    let a = read_value(&doc).unwrap().advisory;
    let p = &a.vulnerabilities[0].not_affected[0];
    assert_eq!(
        p.versions,
        [VersionSpec::Text {
            text: "<=1.14.0".into()
        }]
    );
}

#[test]
fn synthetic_citrix_csaf_advisory() {
    let a = read_value(&common::fixture("csaf-CVE-2019-19781.json"))
        .unwrap()
        .advisory;
    assert_eq!(a.tlp, Some(Tlp::Amber));
    assert_eq!(a.revision.as_deref(), Some("2"));
    assert_eq!(
        a.current_release.unwrap().to_rfc3339(),
        "2020-01-16T08:00:00+00:00"
    );
    let numbers: Vec<&str> = a
        .revision_history
        .iter()
        .map(|r| r.number.as_str())
        .collect();
    assert_eq!(numbers, ["1", "2"]);
    let v = &a.vulnerabilities[0];
    let adc = find(&v.affected, "ADC-13.0");
    assert_eq!(
        adc.versions,
        [VersionSpec::Vers {
            vers: "vers:generic/>=13.0|<13.0.47.24".into()
        }]
    );
    assert_eq!(
        find(&v.fixed, "ADC-13.0.47.24").versions,
        [exact("13.0.47.24")]
    );
    // the mitigation names a product group: expanded to its products
    assert_eq!(v.remediations[0].product_ids, ["ADC-13.0", "GW-13.0"]);
    let top = a.highest_score().unwrap().computed.as_ref().unwrap();
    assert_eq!((top.base_score, top.severity.as_str()), (9.8, "CRITICAL"));
}

#[test]
fn cve5_citrix_record() {
    let parsed = read_value(&common::fixture("cve5-CVE-2019-19781.json")).unwrap();
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    let a = parsed.advisory;
    assert_eq!((a.format, a.id.as_str()), (Format::Cve5, "CVE-2019-19781"));
    assert_eq!(a.publisher.as_deref(), Some("citrix-synthetic"));
    let v = &a.vulnerabilities[0];
    let names: Vec<&str> = v.affected.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Citrix Application Delivery Controller",
            "Citrix Gateway",
            "Citrix SD-WAN WANOP"
        ]
    );
    assert_eq!(
        v.affected[0].versions,
        [
            VersionSpec::Range {
                scheme: Some("custom".into()),
                introduced: Some("13.0".into()),
                fixed: Some("13.0.47.24".into()),
                last_affected: None
            },
            VersionSpec::Range {
                scheme: Some("custom".into()),
                introduced: Some("12.1".into()),
                fixed: Some("12.1.55.18".into()),
                last_affected: None
            },
            VersionSpec::Range {
                scheme: Some("custom".into()),
                introduced: Some("10.5".into()),
                fixed: None,
                last_affected: Some("10.5.70.12".into())
            },
        ]
    );
    assert_eq!(v.affected[0].cpes.len(), 1);
    assert!(v.affected[2].versions.is_empty()); // defaultStatus affected, no versions
    assert_eq!(v.not_affected[0].versions, [exact("13.0.47.24")]);
    assert_eq!(v.under_investigation[0].versions, [exact("11.1")]);
    let scores: Vec<(Option<&str>, f64)> = v
        .scores
        .iter()
        .map(|s| (s.source.as_deref(), s.computed.as_ref().unwrap().base_score))
        .collect();
    assert_eq!(
        scores,
        [
            (Some("citrix-synthetic"), 9.8),
            (Some("adp-synthetic"), 7.5)
        ]
    );
    let categories: Vec<&str> = v.remediations.iter().map(|r| r.category.as_str()).collect();
    assert_eq!(categories, ["solution", "workaround"]);
}

#[test]
fn osv_ranges_become_intervals() {
    let parsed = read_value(&common::fixture("osv-GHSA-synthetic-0001.json")).unwrap();
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    let a = parsed.advisory;
    assert_eq!(a.format, Format::Osv);
    assert_eq!(a.cves, ["CVE-2024-99001"]);
    assert_eq!(a.aliases, ["PYSEC-2024-0001"]);
    let v = &a.vulnerabilities[0];
    let range =
        |scheme: &str, i: Option<&str>, f: Option<&str>, l: Option<&str>| VersionSpec::Range {
            scheme: Some(scheme.into()),
            introduced: i.map(Into::into),
            fixed: f.map(Into::into),
            last_affected: l.map(Into::into),
        };
    assert_eq!(v.affected[0].purls, ["pkg:pypi/example-widget"]);
    assert_eq!(
        v.affected[0].versions,
        [
            range("ECOSYSTEM", None, Some("1.2.4"), None),
            range("ECOSYSTEM", Some("2.0.0"), None, Some("2.0.3")),
            exact("1.2.3"),
            exact("2.0.3"),
        ]
    );
    assert_eq!(
        v.affected[1].versions,
        [range("SEMVER", Some("3.1.0"), Some("3.1.7"), None)]
    );
    assert_eq!(
        v.affected[2].versions,
        [range("GIT", Some("a1b2c3d4"), None, None)]
    );
    let fixed: Vec<&str> = v.fixed.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        fixed,
        ["PyPI example-widget 1.2.4", "npm @example/widget 3.1.7"]
    );
    let versions: Vec<CvssVersion> = v
        .scores
        .iter()
        .map(|s| s.computed.as_ref().unwrap().version)
        .collect();
    assert_eq!(versions, [CvssVersion::V3_1, CvssVersion::V4_0]);
    // the v4.0 vector is FIRST's 9.3 example; the v3.1 one (UI:R, I:H) is 6.5
    assert_eq!(
        a.highest_score()
            .unwrap()
            .computed
            .as_ref()
            .unwrap()
            .base_score,
        9.3
    );
}

#[test]
fn unknown_json_and_missing_ids_are_errors() {
    assert!(baken_advisory::read(b"not json").is_err());
    assert!(baken_advisory::read(br#"{"hello": 1}"#).is_err());
    let err = read_value(&serde_json::json!({"document": {"csaf_version": "2.0"}})).unwrap_err();
    assert!(err.to_string().contains("/document/tracking/id"), "{err}");
}

#[test]
fn a_bad_vector_is_a_problem_not_a_failure() {
    let mut doc = common::fixture("csaf-CVE-2019-19781.json");
    doc["vulnerabilities"][0]["scores"][0]["cvss_v3"]["vectorString"] = "CVSS:3.1/AV:X".into();
    let parsed = read_value(&doc).unwrap();
    assert_eq!(parsed.problems.len(), 1);
    assert_eq!(
        parsed.problems[0].path,
        "/vulnerabilities/0/scores/0/cvss_v3/vectorString"
    );
    assert!(
        parsed.advisory.vulnerabilities[0].scores[0]
            .computed
            .is_none()
    );
}
